//! Ingestion against a fake feed server on 127.0.0.1: conditional GET, backoff, timeouts,
//! size caps, redirects, transcript selection and fallbacks.

mod common;

use std::time::Duration;

use chrono::{Timelike, Utc};
use common::{FakeServer, Reply, VTT, rss};
use podsift::config::IngestConfig;
use podsift::ingest::{FeedOutcome, IngestOptions, IngestSummary, Quiet, ingest};
use podsift::model::{Feed, TranscriptSource, TranscriptStatus};
use podsift::store::Store;

fn config() -> IngestConfig {
    IngestConfig { timeout_secs: 2, connect_timeout_secs: 2, backoff_base_secs: 60, ..IngestConfig::default() }
}

/// The clock of an ingest `n` days after the first: past any wait between transcript attempts.
fn day(n: i64) -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::days(n)
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

fn add(store: &Store, url: &str) {
    store.put_feed(&Feed::new(url, Utc::now())).unwrap();
}

async fn run(store: &Store, config: &IngestConfig, now: chrono::DateTime<Utc>) -> IngestSummary {
    ingest(store, config, IngestOptions { now, force: false }, &Quiet).await.unwrap()
}

fn outcome<'a>(s: &'a IngestSummary, url: &str) -> &'a FeedOutcome {
    &s.feeds.iter().find(|f| f.url == url).unwrap().outcome
}

#[tokio::test]
async fn conditional_get_makes_a_second_run_free() {
    let server = FakeServer::start().await;
    let feed = rss(
        &server.base,
        "Cache Talk",
        &[("e1", "One", Some(("/t/e1.vtt", "text/vtt"))), ("e2", "Two", Some(("/t/e2.vtt", "text/vtt")))],
    );
    server
        .route("/feed", vec![Reply::ok(feed).etag("\"v1\"").header("last-modified", "Sat, 28 Nov 2026 09:00:00 GMT")]);
    server.route("/t/e1.vtt", vec![Reply::ok(VTT)]);
    server.route("/t/e2.vtt", vec![Reply::ok(VTT)]);
    let (_dir, store) = open();
    add(&store, &server.url("/feed"));

    let first = run(&store, &config(), Utc::now()).await;
    assert_eq!((first.feeds_fetched, first.new_episodes), (1, 2));
    assert_eq!(first.transcripts.get("vtt"), Some(&2));
    let ua = server.requests("/feed")[0].user_agent.clone().unwrap();
    assert!(ua.starts_with("podsift/"), "{ua}");

    let second = run(&store, &config(), Utc::now()).await;
    assert_eq!(second.feeds_unchanged, 1);
    assert_eq!(second.new_episodes, 0);
    let reqs = server.requests("/feed");
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].if_none_match, None);
    assert_eq!(reqs[1].if_none_match.as_deref(), Some("\"v1\""));
    assert_eq!(reqs[1].if_modified_since.as_deref(), Some("Sat, 28 Nov 2026 09:00:00 GMT"));
    // Transcripts of episodes already seen are not fetched again.
    assert_eq!(server.requests("/t/e1.vtt").len(), 1);
    assert_eq!(store.episodes().unwrap().len(), 2);
}

#[tokio::test]
async fn reparsing_a_changed_feed_adds_only_the_new_episode() {
    let server = FakeServer::start().await;
    let v1 = rss(&server.base, "P", &[("e1", "One", None)]);
    let v2 = rss(&server.base, "P", &[("e2", "Two", None), ("e1", "One (retitled)", None)]);
    server.route("/feed", vec![Reply::ok(v1), Reply::ok(v2)]);
    let (_dir, store) = open();
    add(&store, &server.url("/feed"));
    assert_eq!(run(&store, &config(), Utc::now()).await.new_episodes, 1);
    let second = run(&store, &config(), Utc::now()).await;
    assert_eq!(second.new_episodes, 1);
    let mut titles: Vec<_> = store.episodes().unwrap().into_iter().map(|e| e.title).collect();
    titles.sort();
    assert_eq!(titles, ["One", "Two"]);
}

/// An item whose guid changed but whose audio is the same (a host migration, a CMS that
/// rewrites guids) is the episode already stored, not a new one to fetch and show again.
#[tokio::test]
async fn a_new_guid_on_the_same_audio_is_not_a_new_episode() {
    let server = FakeServer::start().await;
    let v1 = rss(&server.base, "P", &[("e1", "One", None)]);
    let v2 = v1.replace("<guid>e1</guid>", "<guid>https://new-host.example/e1</guid>");
    let two = rss(&server.base, "P", &[("e2", "Two", None)]);
    let item_two = &two[two.find("<item>").unwrap()..two.find("</channel>").unwrap()];
    let v3 = v2.replacen("<item>", &format!("{item_two}<item>"), 1);
    server.route("/feed", vec![Reply::ok(v1), Reply::ok(v2), Reply::ok(v3)]);
    let (_dir, store) = open();
    add(&store, &server.url("/feed"));
    assert_eq!(run(&store, &config(), Utc::now()).await.new_episodes, 1);
    assert_eq!(run(&store, &config(), Utc::now()).await.new_episodes, 0, "the re-guided item was stored again");
    assert_eq!(run(&store, &config(), Utc::now()).await.new_episodes, 1, "a really new episode was missed");
    let mut titles: Vec<_> = store.episodes().unwrap().into_iter().map(|e| e.title).collect();
    titles.sort();
    assert_eq!(titles, ["One", "Two"]);
}

/// Guids that restart each season: the new season's first episode carries the guid of the first
/// season's. It is a new episode all the same, and the operator is told why.
#[tokio::test]
async fn items_that_share_a_guid_are_told_apart() {
    let server = FakeServer::start().await;
    let date = (Utc::now() - chrono::Duration::hours(6)).to_rfc2822();
    let item = |title: &str, audio: &str| {
        format!(
            "<item><title>{title}</title><guid isPermaLink=\"false\">1</guid><pubDate>{date}</pubDate><enclosure url=\"{}/{audio}\" type=\"audio/mpeg\"/></item>",
            server.base
        )
    };
    let doc = |items: &[String]| {
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Seasons</title>{}</channel></rss>",
            items.concat()
        )
    };
    let v1 = doc(&[item("S1E1", "s1e1.mp3?token=a")]);
    // The host signs its audio anew at each fetch: only the title and the address without its
    // query say S1E1 is the episode stored under the guid before.
    let v2 = doc(&[item("S2E1", "s2e1.mp3?token=b"), item("S1E1", "s1e1.mp3?token=c")]);
    let v3 = doc(&[item("S2E1", "s2e1.mp3?token=d"), item("S1E1", "s1e1.mp3?token=e")]);
    server.route("/feed", vec![Reply::ok(v1), Reply::ok(v2), Reply::ok(v3)]);
    let (_dir, store) = open();
    add(&store, &server.url("/feed"));
    assert_eq!(run(&store, &config(), Utc::now()).await.new_episodes, 1);
    let second = run(&store, &config(), Utc::now()).await;
    assert_eq!(second.new_episodes, 1, "the new season's first episode was taken for the old one");
    let said = format!("{:?}", second.feeds[0].outcome);
    assert!(said.contains("shared by several items"), "{said}");
    assert_eq!(run(&store, &config(), Utc::now()).await.new_episodes, 0, "stored again");
    let mut titles: Vec<_> = store.episodes().unwrap().into_iter().map(|e| e.title).collect();
    titles.sort();
    assert_eq!(titles, ["S1E1", "S2E1"]);
}

/// A guid used again for another episode once the first left the feed (numbers restarting in
/// a later season): another title, other audio and another date make it a new episode; a title
/// edited, or the audio moved, on the same episode does not.
#[tokio::test]
async fn a_guid_used_again_for_another_episode_is_a_new_episode() {
    let server = FakeServer::start().await;
    let item = |title: &str, audio: &str, days_ago: i64| {
        let date = (Utc::now() - chrono::Duration::days(days_ago)).to_rfc2822();
        format!(
            "<item><title>{title}</title><guid isPermaLink=\"false\">1</guid><pubDate>{date}</pubDate><enclosure url=\"{}/{audio}\" type=\"audio/mpeg\"/></item>",
            server.base
        )
    };
    let doc = |item: String| format!("<rss version=\"2.0\"><channel><title>Seasons</title>{item}</channel></rss>");
    let v1 = doc(item("S1E1", "s1e1.mp3", 200));
    let edited = doc(item("S1E1 (remastered)", "s1e1.mp3", 200));
    let moved = doc(item("S1E1 (remastered)", "cdn/s1e1-v2.mp3", 200));
    let v2 = doc(item("S3E1", "s3e1.mp3", 0));
    server
        .route("/feed", vec![Reply::ok(v1), Reply::ok(edited), Reply::ok(moved), Reply::ok(v2.clone()), Reply::ok(v2)]);
    let (_dir, store) = open();
    add(&store, &server.url("/feed"));
    assert_eq!(run(&store, &config(), Utc::now()).await.new_episodes, 1);
    assert_eq!(run(&store, &config(), Utc::now()).await.new_episodes, 0, "a title edited is the same episode");
    assert_eq!(run(&store, &config(), Utc::now()).await.new_episodes, 0, "audio moved is the same episode");
    assert_eq!(
        run(&store, &config(), Utc::now()).await.new_episodes,
        1,
        "the new season's episode was taken for the old"
    );
    assert_eq!(run(&store, &config(), Utc::now()).await.new_episodes, 0, "stored again");
    let mut titles: Vec<_> = store.episodes().unwrap().into_iter().map(|e| e.title).collect();
    titles.sort();
    assert_eq!(titles, ["S1E1", "S3E1"]);
}

/// An episode record that cannot be read (a disk fault, a half-written file) fails its own feed
/// this time, with the way out; the other feeds are fetched as ever.
#[tokio::test]
async fn one_unreadable_record_fails_its_feed_only() {
    let server = FakeServer::start().await;
    let a1 = rss(&server.base, "A", &[("a1", "One", None)]);
    let a2 = rss(&server.base, "A", &[("a2", "Two", None), ("a1", "One", None)]);
    let b = rss(&server.base, "B", &[("b1", "Bee", None)]);
    server.route("/a", vec![Reply::ok(a1), Reply::ok(a2)]);
    server.route("/b", vec![Reply::ok(b.clone()), Reply::ok(b.replace("b1", "b2"))]);
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (server.url("/a"), server.url("/b"));
    let broken = {
        let store = Store::open(dir.path()).unwrap();
        add(&store, &a);
        add(&store, &b);
        assert_eq!(run(&store, &config(), Utc::now()).await.new_episodes, 2);
        let one = store.episodes().unwrap().into_iter().find(|e| e.title == "One").unwrap().id;
        store.flush().unwrap();
        one
    };
    // Written past podsift, as a fault would: a record that is no episode.
    let store = common::write_past_podsift(dir.path(), "episodes", broken.as_bytes(), b"\x01{not an episode");
    let summary = run(&store, &config(), Utc::now()).await;
    match outcome(&summary, &a) {
        FeedOutcome::Failed { error, .. } => {
            assert!(error.contains("unreadable") && error.contains("podsift feeds rm"), "{error}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(outcome(&summary, &b), FeedOutcome::Fetched { new_episodes: 1, .. }), "{summary:?}");
    // The advice works: the feed goes, unreadable record and all, and comes back whole.
    assert!(store.remove_feed(&a).unwrap());
    add(&store, &a);
    let again = run(&store, &config(), Utc::now()).await;
    assert!(matches!(outcome(&again, &a), FeedOutcome::Fetched { new_episodes: 2, .. }), "{again:?}");
}

#[tokio::test]
async fn server_error_backs_off_then_recovers() {
    let server = FakeServer::start().await;
    let good = rss(&server.base, "Flaky", &[("e1", "One", None)]);
    server.route("/feed", vec![Reply::status(500), Reply::ok(good)]);
    let (_dir, store) = open();
    let url = server.url("/feed");
    add(&store, &url);
    let t0 = Utc::now();

    let first = run(&store, &config(), t0).await;
    assert_eq!(first.feeds_failed, 1);
    let feed = store.feed(&url).unwrap().unwrap();
    assert_eq!(feed.consecutive_failures, 1);
    assert!(feed.last_error.as_deref().unwrap().contains("HTTP 500"), "{:?}", feed.last_error);
    assert_eq!(feed.next_attempt_at, Some(t0 + chrono::Duration::seconds(60)));

    // Within the backoff window the feed is not fetched at all.
    let during = run(&store, &config(), t0 + chrono::Duration::seconds(30)).await;
    assert_eq!(during.feeds_skipped, 1);
    assert_eq!(server.requests("/feed").len(), 1);

    let after = run(&store, &config(), t0 + chrono::Duration::seconds(61)).await;
    assert_eq!((after.feeds_fetched, after.new_episodes), (1, 1));
    let feed = store.feed(&url).unwrap().unwrap();
    assert_eq!(feed.consecutive_failures, 0);
    assert_eq!(feed.last_error, None);
    assert_eq!(feed.next_attempt_at, None);
}

/// A feed its host says is gone for good (410) is asked again weekly, and the error says how to
/// remove it.
#[tokio::test]
async fn a_feed_gone_for_good_is_asked_weekly() {
    let server = FakeServer::start().await;
    server.route("/gone", vec![Reply::status(410)]);
    let (_dir, store) = open();
    let url = server.url("/gone");
    add(&store, &url);
    let t0 = Utc::now();
    run(&store, &config(), t0).await;
    let feed = store.feed(&url).unwrap().unwrap();
    assert_eq!(feed.next_attempt_at, Some(t0 + chrono::Duration::days(7)));
    assert!(feed.last_error.as_deref().unwrap().contains("removed for good"), "{:?}", feed.last_error);
    assert!(feed.last_error.as_deref().unwrap().contains("podsift feeds rm"), "{:?}", feed.last_error);
}

#[tokio::test]
async fn consecutive_failures_double_the_wait() {
    let server = FakeServer::start().await;
    server.route("/feed", vec![Reply::status(503)]);
    let (_dir, store) = open();
    let url = server.url("/feed");
    add(&store, &url);
    let t0 = Utc::now();
    run(&store, &config(), t0).await;
    let t1 = t0 + chrono::Duration::seconds(61);
    run(&store, &config(), t1).await;
    let feed = store.feed(&url).unwrap().unwrap();
    assert_eq!(feed.consecutive_failures, 2);
    assert_eq!(feed.next_attempt_at, Some(t1 + chrono::Duration::seconds(120)));
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = FakeServer::start().await;
    server.route("/feed", vec![Reply::status(429).header("retry-after", "7200")]);
    let (_dir, store) = open();
    let url = server.url("/feed");
    add(&store, &url);
    let t0 = Utc::now();
    let s = run(&store, &config(), t0).await;
    match outcome(&s, &url) {
        FeedOutcome::Failed { next_attempt_at, error } => {
            assert_eq!(*next_attempt_at, t0 + chrono::Duration::seconds(7200));
            assert!(error.contains("429"), "{error}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_slow_feed_times_out_without_stopping_the_others() {
    let server = FakeServer::start().await;
    server
        .route("/slow", vec![Reply::ok(rss(&server.base, "Slow", &[("s1", "S", None)])).delay(Duration::from_secs(5))]);
    server.route("/fast", vec![Reply::ok(rss(&server.base, "Fast", &[("f1", "F", None)]))]);
    server.route("/broken", vec![Reply::ok("<html><body>Not a feed</body></html>")]);
    let (_dir, store) = open();
    for p in ["/slow", "/fast", "/broken"] {
        add(&store, &server.url(p));
    }
    let cfg = IngestConfig { timeout_secs: 1, ..config() };
    let started = std::time::Instant::now();
    let s = run(&store, &cfg, Utc::now()).await;
    assert!(started.elapsed() < Duration::from_secs(4), "the timeout was not enforced");
    match outcome(&s, &server.url("/slow")) {
        FeedOutcome::Failed { error, .. } => assert!(error.contains("timed out"), "{error}"),
        other => panic!("{other:?}"),
    }
    match outcome(&s, &server.url("/broken")) {
        FeedOutcome::Failed { error, .. } => {
            assert!(error.contains("not a readable feed"), "{error}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(outcome(&s, &server.url("/fast")), FeedOutcome::Fetched { new_episodes: 1, .. }));
}

#[tokio::test]
async fn oversize_bodies_are_cut_off_with_or_without_content_length() {
    let server = FakeServer::start().await;
    let mut big = rss(&server.base, "Big", &[("b1", "B", None)]);
    big.push_str(&"<!-- padding -->".repeat(1000));
    server.route("/sized", vec![Reply::ok(big.clone())]);
    server.route("/streamed", vec![Reply::ok(big).chunked()]);
    let (_dir, store) = open();
    add(&store, &server.url("/sized"));
    add(&store, &server.url("/streamed"));
    let cfg = IngestConfig { max_feed_bytes: 4096, ..config() };
    let s = run(&store, &cfg, Utc::now()).await;
    for p in ["/sized", "/streamed"] {
        match outcome(&s, &server.url(p)) {
            FeedOutcome::Failed { error, .. } => {
                assert!(error.contains("larger than the 4096 byte limit"), "{p}: {error}");
                assert!(error.contains("raise ingest.max_feed_bytes") && !error.contains("transcript"), "{p}: {error}");
            }
            other => panic!("{p}: {other:?}"),
        }
    }
    assert!(store.episodes().unwrap().is_empty());
}

#[tokio::test]
async fn permanent_redirects_are_remembered_temporary_ones_not() {
    let server = FakeServer::start().await;
    let feed = rss(&server.base, "Moved", &[("m1", "M", None)]);
    server.route("/old", vec![Reply::status(301).header("location", "/new")]);
    server.route("/new", vec![Reply::ok(feed.clone())]);
    server.route("/tmp", vec![Reply::status(302).header("location", "/other")]);
    server.route("/other", vec![Reply::ok(feed.clone())]);
    // Moved for good, then through a temporary hop (a CDN's signed address): the feed's new
    // home is the address before that hop.
    server.route("/gone", vec![Reply::status(301).header("location", "/home")]);
    server.route("/home", vec![Reply::status(302).header("location", "/cdn")]);
    server.route("/cdn", vec![Reply::ok(feed.clone())]);
    // A temporary hop first: nothing after it is the feed's address for good.
    server.route("/short", vec![Reply::status(302).header("location", "/long")]);
    server.route("/long", vec![Reply::status(301).header("location", "/other")]);
    let (_dir, store) = open();
    for path in ["/old", "/tmp", "/gone", "/short"] {
        add(&store, &server.url(path));
    }
    run(&store, &config(), Utc::now()).await;
    let fetch_url = |path: &str| store.feed(&server.url(path)).unwrap().unwrap().fetch_url;
    assert_eq!(fetch_url("/old"), server.url("/new"));
    assert_eq!(fetch_url("/tmp"), server.url("/tmp"));
    assert_eq!(fetch_url("/gone"), server.url("/home"));
    assert_eq!(fetch_url("/short"), server.url("/short"));
    run(&store, &config(), Utc::now()).await;
    assert_eq!(server.requests("/old").len(), 1, "the permanent redirect was followed again");
    assert_eq!(server.requests("/new").len(), 2);
    assert_eq!(server.requests("/tmp").len(), 2);
    assert_eq!(server.requests("/gone").len(), 1, "a move followed by a temporary hop was not remembered");
    assert_eq!(server.requests("/home").len(), 2);
    assert_eq!(server.requests("/short").len(), 2);
}

/// A feed that moves for good to a feed subscribed already (added under both addresses, or the
/// old one added after the show was ingested) is that show: merged into it, fetched and stored
/// once, and the chats that picked the old address get the show.
#[tokio::test]
async fn a_feed_that_moves_to_one_subscribed_already_is_merged_into_it() {
    let server = FakeServer::start().await;
    let feed = rss(&server.base, "Show", &[("s1", "S1", None)]);
    server.route("/show", vec![Reply::ok(feed)]);
    server.route("/alias", vec![Reply::status(301).header("location", "/show")]);
    server.route("/later", vec![Reply::status(308).header("location", "/show")]);
    let (_dir, store) = open();
    add(&store, &server.url("/show"));
    add(&store, &server.url("/alias"));
    store.put_podcast_list("telegram:1", &[server.url("/alias")]).unwrap();
    store.put_podcast_list("telegram:2", &[server.url("/alias"), server.url("/show")]).unwrap();
    let summary = run(&store, &config(), Utc::now()).await;
    assert_eq!(summary.new_episodes, 1, "{summary:?}");
    let merged: Vec<_> = summary.feeds.iter().filter(|r| matches!(r.outcome, FeedOutcome::Merged { .. })).collect();
    assert_eq!(merged.len(), 1, "{summary:?}");
    assert_eq!(merged[0].url, server.url("/alias"));
    let urls: Vec<String> = store.feeds().unwrap().into_iter().map(|f| f.url).collect();
    assert_eq!(urls, [server.url("/show")]);
    assert_eq!(store.episodes().unwrap().len(), 1);
    assert_eq!(store.podcast_list("telegram:1").unwrap().unwrap(), [server.url("/show")]);
    assert_eq!(store.podcast_list("telegram:2").unwrap().unwrap(), [server.url("/show")]);

    // Its old address added after the show was ingested: merged at its first fetch.
    add(&store, &server.url("/later"));
    let summary = run(&store, &config(), Utc::now()).await;
    assert_eq!(summary.new_episodes, 0, "{summary:?}");
    assert_eq!(store.feeds().unwrap().len(), 1);
    assert_eq!(store.episodes().unwrap().len(), 1);
    run(&store, &config(), Utc::now()).await;
    assert_eq!(server.requests("/alias").len(), 1, "a merged feed is not fetched again");
    assert_eq!(server.requests("/later").len(), 1, "a merged feed is not fetched again");
}

/// A feed that moves after its first fetch answers 304 at the new address (the validators
/// still match its content): the move is remembered all the same.
#[tokio::test]
async fn a_permanent_move_answered_with_not_modified_is_remembered() {
    let server = FakeServer::start().await;
    let feed = rss(&server.base, "Moved", &[("m1", "M", None)]);
    server.route("/old", vec![Reply::ok(feed.clone()).etag("\"v1\""), Reply::status(301).header("location", "/new")]);
    server.route("/new", vec![Reply::ok(feed).etag("\"v1\"")]);
    let (_dir, store) = open();
    add(&store, &server.url("/old"));
    run(&store, &config(), Utc::now()).await;
    run(&store, &config(), Utc::now()).await;
    let new = server.requests("/new");
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].if_none_match.as_deref(), Some("\"v1\""), "no conditional GET: not the case under test");
    assert_eq!(store.feed(&server.url("/old")).unwrap().unwrap().fetch_url, server.url("/new"));
    run(&store, &config(), Utc::now()).await;
    assert_eq!(server.requests("/old").len(), 2, "the move was not remembered");
}

#[tokio::test]
async fn richest_transcript_wins_and_failures_fall_back_to_show_notes() {
    let server = FakeServer::start().await;
    let mut feed = rss(
        &server.base,
        "Formats",
        &[
            ("a", "A", Some(("/t/a.srt", "application/x-subrip"))),
            ("b", "B", Some(("/t/b.vtt", "text/vtt"))),
            ("c", "C", None),
        ],
    );
    // Episode a offers SRT and a better (JSON) format that is broken.
    feed = feed.replacen(
        "<podcast:transcript",
        &format!("<podcast:transcript url=\"{}/t/a.json\" type=\"application/json\"/><podcast:transcript", server.base),
        1,
    );
    server.route("/feed", vec![Reply::ok(feed)]);
    server.route("/t/a.json", vec![Reply::ok("{not json")]);
    server.route("/t/a.srt", vec![Reply::ok("1\n00:00:01,000 --> 00:00:03,000\nAna: Hello there.\n")]);
    server.route("/t/b.vtt", vec![Reply::status(404)]);
    let (_dir, store) = open();
    add(&store, &server.url("/feed"));
    let cfg = IngestConfig { transcript_attempts: 2, ..config() };
    let s = run(&store, &cfg, day(0)).await;
    assert_eq!(s.transcripts.get("srt"), Some(&1));
    assert_eq!(s.transcripts.get("show_notes"), Some(&1));
    assert_eq!(s.transcripts_failed, 1);
    let by_title = |t: &str| store.episodes().unwrap().into_iter().find(|e| e.title == t).unwrap();
    assert!(matches!(by_title("A").transcript, TranscriptStatus::Stored { source: TranscriptSource::Srt, .. }));
    assert!(matches!(by_title("C").transcript, TranscriptStatus::Stored { source: TranscriptSource::ShowNotes, .. }));
    let c = store.transcript(&by_title("C").id).unwrap().unwrap();
    assert_eq!(c.segments[0].text, "Notes for C. We talk about caching.");
    match by_title("B").transcript {
        TranscriptStatus::Failed { attempts: 1, error, .. } => {
            // The advice is a transcript's, not a feed's.
            assert!(error.contains("404") && error.contains("the feed links a transcript"), "{error}");
            assert!(!error.contains("feed's address"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    // The next run retries B once more, then settles for its show notes.
    run(&store, &cfg, day(1)).await;
    assert_eq!(server.requests("/t/b.vtt").len(), 2);
    assert!(matches!(by_title("B").transcript, TranscriptStatus::Stored { source: TranscriptSource::ShowNotes, .. }));
    run(&store, &cfg, day(2)).await;
    assert_eq!(server.requests("/t/b.vtt").len(), 2, "a settled episode was processed again");
}

/// A transcript link that answers with compressed data or audio (served as text, or declared
/// as a transcript format) is a failed attempt, never a stored transcript whose noise would
/// become the day's insights.
#[tokio::test]
async fn a_link_answering_binary_data_stores_no_transcript() {
    let server = FakeServer::start().await;
    let feed = rss(
        &server.base,
        "Binary",
        &[("g", "G", Some(("/t/g.txt", "text/plain"))), ("m", "M", Some(("/t/m.vtt", "text/vtt")))],
    )
    .replace("&lt;p&gt;Notes for G. We talk about caching.&lt;/p&gt;", "")
    .replace("&lt;p&gt;Notes for M. We talk about caching.&lt;/p&gt;", "");
    server.route("/feed", vec![Reply::ok(feed)]);
    let mut gzip = vec![0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00];
    gzip.extend((0..3000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    server.route("/t/g.txt", vec![Reply::ok(gzip)]);
    let mut mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec();
    mp3.extend((0..3000u32).map(|i| (i.wrapping_mul(40_503) >> 3) as u8));
    server.route("/t/m.vtt", vec![Reply::ok(mp3)]);
    let (_dir, store) = open();
    add(&store, &server.url("/feed"));
    let s = run(&store, &config(), day(0)).await;
    assert_eq!(s.transcripts_failed, 2, "{s:?}");
    for (title, what) in [("G", "gzip-compressed data"), ("M", "MP3 audio")] {
        let ep = store.episodes().unwrap().into_iter().find(|e| e.title == title).unwrap();
        match &ep.transcript {
            TranscriptStatus::Failed { error, .. } => assert!(error.contains(what), "{title}: {error}"),
            other => panic!("{title}: {other:?}"),
        }
        assert!(store.transcript(&ep.id).unwrap().is_none());
    }
}

/// An episode whose every attempt failed and that has no show notes to stand in is given up:
/// shown as such, and not looked at again by later ingests.
#[tokio::test]
async fn an_episode_out_of_attempts_is_given_up_and_left_alone() {
    let server = FakeServer::start().await;
    let feed = rss(&server.base, "Quiet", &[("q1", "Q", Some(("/t/q.vtt", "text/vtt")))])
        .replace("&lt;p&gt;Notes for Q. We talk about caching.&lt;/p&gt;", "");
    server.route("/feed", vec![Reply::ok(feed)]);
    server.route("/t/q.vtt", vec![Reply::status(404)]);
    let (_dir, store) = open();
    add(&store, &server.url("/feed"));
    let cfg = IngestConfig { transcript_attempts: 2, ..config() };
    for d in 0..4 {
        run(&store, &cfg, day(d)).await;
    }
    assert_eq!(server.requests("/t/q.vtt").len(), 2);
    let ep = store.episodes().unwrap().pop().unwrap();
    match &ep.transcript {
        TranscriptStatus::Skipped { reason } => {
            assert!(reason.starts_with("given up after 2 attempt(s)") && reason.contains("404"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(!ep.wants_transcript() && !ep.wants_extraction());
}

/// Failed transcripts wait between attempts, doubling from `transcript_retry_secs`, so an ingest
/// every few minutes does not spend every attempt within the hour a host takes to publish one;
/// a link that appears in the feed meanwhile is tried at once.
#[tokio::test]
async fn failed_transcripts_wait_between_attempts_unless_a_new_link_appears() {
    let server = FakeServer::start().await;
    let broken = rss(&server.base, "Spaced", &[("s1", "S", Some(("/t/s.vtt", "text/vtt")))]);
    let fixed = broken.replace("/t/s.vtt", "/t/s2.vtt");
    server.route("/feed", vec![Reply::ok(broken.clone())]);
    server.route("/t/s.vtt", vec![Reply::status(503)]);
    server.route("/t/s2.vtt", vec![Reply::ok(VTT)]);
    let (_dir, store) = open();
    add(&store, &server.url("/feed"));
    let cfg = IngestConfig { transcript_attempts: 4, transcript_retry_secs: 1800, ..config() };
    let t0 = Utc::now();
    let minutes = |m: i64| t0 + chrono::Duration::minutes(m);
    let status = || store.episodes().unwrap().pop().unwrap().transcript;
    let tries = || server.requests("/t/s.vtt").len();

    run(&store, &cfg, minutes(0)).await;
    assert_eq!(tries(), 1);
    match status() {
        TranscriptStatus::Failed { attempts: 1, retry_at: Some(at), .. } => assert_eq!(at, minutes(30)),
        other => panic!("{other:?}"),
    }
    // Ingests every ten minutes: the second attempt waits its half hour (an ingest a minute
    // early is on time), the third an hour more.
    for m in [10, 20] {
        run(&store, &cfg, minutes(m)).await;
    }
    assert_eq!(tries(), 1, "tried again before its wait was over");
    run(&store, &cfg, minutes(29)).await;
    assert_eq!(tries(), 2);
    for m in [40, 60, 80] {
        run(&store, &cfg, minutes(m)).await;
    }
    assert_eq!(tries(), 2, "the second wait did not double");
    match status() {
        TranscriptStatus::Failed { attempts: 2, retry_at: Some(at), .. } => assert_eq!(at, minutes(89)),
        other => panic!("{other:?}"),
    }
    // `ingest --force` does not wait.
    let forced = IngestOptions { now: minutes(81), force: true };
    ingest(&store, &cfg, forced, &Quiet).await.unwrap();
    assert_eq!(tries(), 3);

    // A host that signs its links anew on every read: the same link, not one to try at once.
    server.route("/feed", vec![Reply::ok(broken.replace("/t/s.vtt", "/t/s.vtt?sig=83"))]);
    run(&store, &cfg, minutes(83)).await;
    assert_eq!(tries(), 3, "a link whose signature changed was taken for a new one");
    let links = store.episodes().unwrap().pop().unwrap().transcripts;
    assert!(links[0].url.ends_with("/t/s.vtt?sig=83"), "the fresh signature is kept: {links:?}");

    // The host fixes its link: the next ingest takes it up without waiting.
    server.route("/feed", vec![Reply::ok(fixed)]);
    run(&store, &cfg, minutes(85)).await;
    assert_eq!(tries(), 3);
    assert_eq!(server.requests("/t/s2.vtt").len(), 1);
    assert!(matches!(status(), TranscriptStatus::Stored { source: TranscriptSource::Vtt, .. }), "{:?}", status());
}

#[tokio::test]
async fn local_files_and_file_urls_work() {
    let dir = tempfile::tempdir().unwrap();
    let feed_path = dir.path().join("feed.xml");
    let vtt_path = dir.path().join("e.vtt");
    std::fs::write(&vtt_path, VTT).unwrap();
    let vtt_url = url::Url::from_file_path(&vtt_path).unwrap().to_string();
    let feed = rss("", "Local", &[("l1", "L", None)])
        .replace("</item>", &format!("<podcast:transcript url=\"{vtt_url}\" type=\"text/vtt\"/></item>"));
    std::fs::write(&feed_path, feed).unwrap();
    let (_d, store) = open();
    add(&store, url::Url::from_file_path(&feed_path).unwrap().as_ref());
    let s = run(&store, &config(), Utc::now()).await;
    assert_eq!((s.new_episodes, s.transcripts.get("vtt")), (1, Some(&1)));
    let ep = &store.episodes().unwrap()[0];
    let t = store.transcript(&ep.id).unwrap().unwrap();
    assert_eq!(t.segments[0].speaker.as_deref(), Some("Ana"));
}

#[tokio::test]
async fn unreachable_feed_is_a_clear_error() {
    let (_d, store) = open();
    // Port 9 on loopback: nothing listens there.
    add(&store, "http://127.0.0.1:9/feed");
    add(&store, "/definitely/not/here.xml");
    let s = run(&store, &config(), Utc::now()).await;
    match outcome(&s, "http://127.0.0.1:9/feed") {
        FeedOutcome::Failed { error, .. } => assert!(error.contains("could not reach"), "{error}"),
        other => panic!("{other:?}"),
    }
    match outcome(&s, "/definitely/not/here.xml") {
        FeedOutcome::Failed { error, .. } => assert!(error.contains("cannot read"), "{error}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn gzip_encoded_feeds_are_decompressed_and_the_cap_applies_to_the_result() {
    use std::io::Write;
    let server = FakeServer::start().await;
    let feed = rss(&server.base, "Zipped", &[("z1", "Z", None)]);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(feed.as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    server.route("/feed", vec![Reply::ok(gz.clone()).header("content-encoding", "gzip")]);
    // A small compressed body that inflates past the limit (a "zip bomb") is cut off.
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    bomb.write_all(&vec![b' '; 64 * 1024]).unwrap();
    server.route("/bomb", vec![Reply::ok(bomb.finish().unwrap()).header("content-encoding", "gzip")]);
    let (_dir, store) = open();
    add(&store, &server.url("/feed"));
    add(&store, &server.url("/bomb"));
    let cfg = IngestConfig { max_feed_bytes: 8 * 1024, ..config() };
    let s = run(&store, &cfg, Utc::now()).await;
    assert!(matches!(outcome(&s, &server.url("/feed")), FeedOutcome::Fetched { new_episodes: 1, .. }), "{s:?}");
    match outcome(&s, &server.url("/bomb")) {
        FeedOutcome::Failed { error, .. } => assert!(error.contains("byte limit"), "{error}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_back_catalogue_is_listed_without_downloading_old_transcripts() {
    let server = FakeServer::start().await;
    let feed = rss(
        &server.base,
        "Archive",
        &[("new", "New", Some(("/t/new.vtt", "text/vtt"))), ("old", "Old", Some(("/t/old.vtt", "text/vtt")))],
    );
    // The second item is from 2019.
    let marker = "<guid>old</guid><pubDate>";
    let at = feed.find(marker).unwrap() + marker.len();
    let end = at + feed[at..].find("</pubDate>").unwrap();
    let feed = format!("{}Mon, 07 Jan 2019 10:00:00 +0000{}", &feed[..at], &feed[end..]);
    server.route("/feed", vec![Reply::ok(feed)]);
    server.route("/t/new.vtt", vec![Reply::ok(VTT)]);
    server.route("/t/old.vtt", vec![Reply::ok(VTT)]);
    let (_dir, store) = open();
    add(&store, &server.url("/feed"));
    let s = run(&store, &config(), Utc::now()).await;
    assert_eq!(s.new_episodes, 2);
    assert_eq!(s.transcripts.get("vtt"), Some(&1));
    assert!(server.requests("/t/old.vtt").is_empty(), "an old transcript was downloaded");
    let old = store.episodes().unwrap().into_iter().find(|e| e.title == "Old").unwrap();
    assert!(matches!(old.transcript, TranscriptStatus::Skipped { .. }), "{:?}", old.transcript);
}

/// A newly added feed without dates: only its first item is taken as new (transcript and
/// digest); the rest is back catalogue. An undated item that appears later is new.
#[tokio::test]
async fn a_new_feeds_undated_items_are_back_catalogue_but_later_ones_are_new() {
    let server = FakeServer::start().await;
    type Items<'a> = [(&'a str, &'a str, Option<(&'a str, &'a str)>)];
    let undated = |items: &Items| {
        let feed = rss(&server.base, "Undated", items);
        let (mut out, mut rest) = (String::new(), feed.as_str());
        while let Some(at) = rest.find("<pubDate>") {
            out.push_str(&rest[..at]);
            rest = &rest[at + rest[at..].find("</pubDate>").unwrap() + "</pubDate>".len()..];
        }
        out + rest
    };
    let t = |name: &'static str| Some((name, "text/vtt"));
    let first =
        undated(&[("c", "Third", t("/t/c.vtt")), ("b", "Second", t("/t/b.vtt")), ("a", "First", t("/t/a.vtt"))]);
    assert!(!first.contains("pubDate"));
    let later = undated(&[
        ("d", "Fourth", t("/t/d.vtt")),
        ("c", "Third", t("/t/c.vtt")),
        ("b", "Second", t("/t/b.vtt")),
        ("a", "First", t("/t/a.vtt")),
    ]);
    server.route("/feed", vec![Reply::ok(first), Reply::ok(later)]);
    for name in ["a", "b", "c", "d"] {
        server.route(&format!("/t/{name}.vtt"), vec![Reply::ok(VTT)]);
    }
    let (_dir, store) = open();
    let url = server.url("/feed");
    add(&store, &url);
    let s = run(&store, &config(), Utc::now()).await;
    assert_eq!(s.new_episodes, 3, "every item is listed");
    assert!(matches!(transcript_status(&store, &url, "Third"), TranscriptStatus::Stored { .. }));
    for old in ["Second", "First"] {
        match transcript_status(&store, &url, old) {
            TranscriptStatus::Skipped { reason } => assert!(reason.contains("back catalogue"), "{reason}"),
            other => panic!("{old}: {other:?}"),
        }
    }
    assert!(server.requests("/t/a.vtt").is_empty() && server.requests("/t/b.vtt").is_empty());

    let s = run(&store, &config(), day(1)).await;
    assert_eq!(s.new_episodes, 1);
    let fourth = transcript_status(&store, &url, "Fourth");
    assert!(matches!(fourth, TranscriptStatus::Stored { .. }), "{fourth:?}");
}

/// Atom and JSON Feed over HTTP, a brotli-encoded feed, and a 308 permanent redirect that is
/// remembered: each as the README promises.
#[tokio::test]
async fn atom_json_feed_brotli_and_a_permanent_redirect() {
    let server = FakeServer::start().await;
    let atom = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Cast</title><id>urn:a</id><updated>2026-11-28T06:00:00Z</updated>
<entry><title>Atom One</title><id>urn:a:1</id><updated>2026-11-28T06:00:00Z</updated>
<link rel="alternate" href="{0}/a1"/><link rel="enclosure" type="audio/mpeg" href="{0}/a1.mp3"/><summary>Show notes of the Atom episode, long enough to keep.</summary></entry></feed>"#,
        server.base
    );
    let json_feed = serde_json::json!({"version": "https://jsonfeed.org/version/1.1", "title": "JSON Cast",
        "items": [{"id": "j1", "title": "JSON One", "url": format!("{}/j1", server.base),
            "content_text": "Show notes of the JSON Feed episode, long enough to keep.",
            "date_published": "2026-11-28T06:00:00Z",
            "attachments": [{"url": format!("{}/j1.mp3", server.base), "mime_type": "audio/mpeg"}]}]})
    .to_string();
    let plain = rss(&server.base, "Brotli Cast", &[("b1", "Brotli One", Some(("/t/b1.vtt", "text/vtt")))]);
    let mut compressed = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut compressed, 4096, 9, 22);
        std::io::Write::write_all(&mut w, plain.as_bytes()).unwrap();
    }
    server.route("/atom", vec![Reply::ok(atom).header("content-type", "application/atom+xml")]);
    server.route("/json", vec![Reply::ok(json_feed).header("content-type", "application/feed+json")]);
    server.route("/br", vec![Reply::ok(compressed).header("content-encoding", "br")]);
    server.route("/t/b1.vtt", vec![Reply::ok(VTT)]);
    server.route("/old", vec![Reply::status(308).header("location", &server.url("/atom"))]);
    let (_dir, store) = open();
    for p in ["/json", "/br", "/old"] {
        add(&store, &server.url(p));
    }
    let s = run(&store, &config(), Utc::now()).await;
    assert_eq!((s.feeds_fetched, s.feeds_failed), (3, 0), "{s:?}");
    let titles: Vec<String> = store.episodes().unwrap().into_iter().map(|e| e.title).collect();
    for t in ["Atom One", "JSON One", "Brotli One"] {
        assert!(titles.contains(&t.to_string()), "{t} missing from {titles:?}");
    }
    // (Brotli One could only be read if the body was decompressed.)
    // The 308 is remembered: the next fetch goes straight to the new address.
    let moved = store.feed(&server.url("/old")).unwrap().unwrap();
    assert_eq!(moved.fetch_url, server.url("/atom"));
    run(&store, &config(), Utc::now()).await;
    assert_eq!(server.requests("/old").len(), 1, "the permanent redirect was followed again");
}

/// The seam of the address guard: 127.0.0.1 plays a public address, the rest of loopback and the
/// private ranges stay private.
fn loopback_one_is_public() -> podsift::ingest::fetch::AddressClass {
    std::sync::Arc::new(|ip: std::net::IpAddr| {
        ip != std::net::IpAddr::from([127, 0, 0, 1]) && podsift::ingest::fetch::is_private_address(ip)
    })
}

async fn run_through(store: &Store, config: &IngestConfig) -> IngestSummary {
    let fetcher = podsift::ingest::fetch::Fetcher::with_address_class(config, loopback_one_is_public()).unwrap();
    let opts = IngestOptions { now: Utc::now(), force: false };
    podsift::ingest::ingest_through(store, config, &fetcher, opts, &Quiet, None).await.unwrap()
}

fn transcript_status(store: &Store, feed: &str, title: &str) -> TranscriptStatus {
    let ids = store.episode_ids_of_feed(feed).unwrap();
    let episodes: Vec<_> = ids.iter().filter_map(|id| store.episode(id).unwrap()).collect();
    episodes.into_iter().find(|e| e.title == title).unwrap().transcript
}

/// SSRF: a feed on a public address names transcripts on a private one, directly and through a
/// redirect from a public address. Those episodes fail with a clear error and the private server
/// hears nothing; the public transcript of the same feed is still stored.
#[tokio::test]
async fn a_public_feed_cannot_point_podsift_at_private_addresses() {
    let public = FakeServer::start().await;
    let private = FakeServer::start_on("127.0.0.2").await;
    private.route("/t/e1.vtt", vec![Reply::ok(VTT)]);
    private.route("/t/e2.vtt", vec![Reply::ok(VTT)]);
    public.route("/r/e2.vtt", vec![Reply::status(302).header("location", &private.url("/t/e2.vtt"))]);
    public.route("/t/e3.vtt", vec![Reply::ok(VTT)]);
    let items = [
        ("e1", "Direct", Some(("/t/e1.vtt", "text/vtt"))),
        ("e2", "Redirected", Some(("/r/e2.vtt", "text/vtt"))),
        ("e3", "Public", Some(("/t/e3.vtt", "text/vtt"))),
    ];
    let feed = rss(&public.base, "Stranger", &items).replace(&public.url("/t/e1.vtt"), &private.url("/t/e1.vtt"));
    public.route("/feed", vec![Reply::ok(feed)]);
    let (_dir, store) = open();
    let url = public.url("/feed");
    add(&store, &url);
    let config = IngestConfig { transcript_attempts: 3, ..config() };

    let summary = run_through(&store, &config).await;
    assert_eq!((summary.new_episodes, summary.transcripts.get("vtt"), summary.transcripts_failed), (3, Some(&1), 2));
    for title in ["Direct", "Redirected"] {
        match transcript_status(&store, &url, title) {
            TranscriptStatus::Failed { error, .. } => {
                assert!(error.contains("refused") && error.contains("127.0.0.2"), "{title}: {error}")
            }
            other => panic!("{title}: {other:?}"),
        }
    }
    assert!(private.requests("/t/e1.vtt").is_empty() && private.requests("/t/e2.vtt").is_empty());
    assert_eq!(public.requests("/r/e2.vtt").len(), 1);
    assert!(matches!(transcript_status(&store, &url, "Public"), TranscriptStatus::Stored { .. }));
}

/// Through an HTTP proxy the peer is the proxy, often on a private network of its own: a public
/// feed's links still go through it, and a name that resolves to a private address here is
/// refused before any request is sent.
#[tokio::test]
async fn through_a_proxy_links_are_checked_by_what_their_names_resolve_to() {
    use podsift::ingest::fetch::{Document, FetchError, Fetched, Fetcher, Limit, Validators, is_private_address};
    let proxy = FakeServer::start_on("127.0.0.4").await;
    proxy.route("/t/e1.vtt", vec![Reply::ok(VTT)]);
    let fetcher = Fetcher::with_proxy(&config(), std::sync::Arc::new(is_private_address), &proxy.base)
        .unwrap()
        .for_links_of(false);
    // A public address (TEST-NET-3) goes to the proxy, which answers from loopback.
    match fetcher
        .fetch(
            "http://203.0.113.7/t/e1.vtt",
            &Validators::default(),
            Limit { bytes: 1 << 20, what: Document::Transcript },
        )
        .await
    {
        Ok(Fetched::Body(body)) => assert!(!body.private_origin && body.bytes.starts_with(b"WEBVTT")),
        other => panic!("{other:?}"),
    }
    let seen = proxy.requests("/t/e1.vtt");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].host.as_deref(), Some("203.0.113.7"), "sent to the proxy for the address asked");
    // Names that resolve to loopback here, and a private address given as such: refused, and
    // the proxy hears nothing more.
    for url in ["http://localhost/t/e1.vtt", "http://10.1.2.3/t/e1.vtt"] {
        match fetcher.fetch(url, &Validators::default(), Limit { bytes: 1 << 20, what: Document::Transcript }).await {
            Err(e @ FetchError::Refused { .. }) => {
                assert!(e.to_string().contains("resolves to") || e.to_string().contains("private"), "{e}")
            }
            other => panic!("{url}: {other:?}"),
        }
    }
    assert_eq!(proxy.requests("/t/e1.vtt").len(), 1);
}

/// The operator's own feed on a private address may name private addresses (local setups, the
/// demo).
#[tokio::test]
async fn a_private_feed_may_point_at_private_addresses() {
    let private = FakeServer::start_on("127.0.0.2").await;
    let other = FakeServer::start_on("127.0.0.3").await;
    other.route("/t/e1.vtt", vec![Reply::ok(VTT)]);
    let feed = rss(&other.base, "Home lab", &[("e1", "Local", Some(("/t/e1.vtt", "text/vtt")))]);
    private.route("/feed", vec![Reply::ok(feed)]);
    let (_dir, store) = open();
    let url = private.url("/feed");
    add(&store, &url);

    let summary = run_through(&store, &config()).await;
    assert_eq!((summary.new_episodes, summary.transcripts.get("vtt")), (1, Some(&1)));
    assert!(store.feeds().unwrap()[0].private_origin);
}

/// A feed that links transcripts often adds an episode's link a little after the episode: the
/// episode waits for it over the next ingests instead of settling for its show notes at once,
/// and takes it when it comes; one whose link never comes gets its show notes in the end.
#[tokio::test]
async fn a_transcript_link_added_after_the_episode_is_taken_up() {
    let server = FakeServer::start().await;
    let first = rss(&server.base, "P", &[("e1", "One", Some(("/t/e1.vtt", "text/vtt")))]);
    let without = rss(
        &server.base,
        "P",
        &[("e1", "One", Some(("/t/e1.vtt", "text/vtt"))), ("e2", "Two", None), ("e3", "Three", None)],
    );
    let linked = rss(
        &server.base,
        "P",
        &[
            ("e1", "One", Some(("/t/e1.vtt", "text/vtt"))),
            ("e2", "Two", Some(("/t/e2.vtt", "text/vtt"))),
            ("e3", "Three", None),
        ],
    );
    server.route("/feed", vec![Reply::ok(first), Reply::ok(without.clone()), Reply::ok(without), Reply::ok(linked)]);
    server.route("/t/e1.vtt", vec![Reply::ok(VTT)]);
    server.route("/t/e2.vtt", vec![Reply::ok(VTT)]);
    let (_dir, store) = open();
    add(&store, &server.url("/feed"));
    let cfg = IngestConfig { transcript_attempts: 3, ..config() };
    let by_title = |t: &str| store.episodes().unwrap().into_iter().find(|e| e.title == t).unwrap();
    run(&store, &cfg, day(0)).await;
    assert!(matches!(by_title("One").transcript, TranscriptStatus::Stored { source: TranscriptSource::Vtt, .. }));
    for d in 1..3 {
        run(&store, &cfg, day(d)).await;
        match by_title("Two").transcript {
            TranscriptStatus::Failed { error, .. } => assert!(error.contains("no transcript link yet"), "{error}"),
            other => panic!("settled without waiting for its link: {other:?}"),
        }
    }
    run(&store, &cfg, day(3)).await;
    assert!(
        matches!(by_title("Two").transcript, TranscriptStatus::Stored { source: TranscriptSource::Vtt, .. }),
        "{:?}",
        by_title("Two").transcript
    );
    assert!(matches!(
        by_title("Three").transcript,
        TranscriptStatus::Stored { source: TranscriptSource::ShowNotes, .. }
    ));
}

/// A slow transcript host costs one feed at most its time budget per ingest: the episodes left
/// wait for the next ingest instead of holding up the run.
#[tokio::test]
async fn a_feeds_transcripts_stop_at_their_time_budget_and_resume_next_time() {
    let server = FakeServer::start().await;
    let items: Vec<_> = ["a", "b", "c"].iter().map(|g| (*g, *g, Some((format!("/t/{g}.vtt"), "text/vtt")))).collect();
    let items: Vec<_> = items.iter().map(|(g, t, l)| (*g, *t, l.as_ref().map(|(p, m)| (p.as_str(), *m)))).collect();
    server.route("/feed", vec![Reply::ok(rss(&server.base, "Slow", &items))]);
    for g in ["a", "b", "c"] {
        server.route(&format!("/t/{g}.vtt"), vec![Reply::ok(VTT).delay(Duration::from_millis(1500))]);
    }
    let (_dir, store) = open();
    add(&store, &server.url("/feed"));
    let cfg = IngestConfig { transcripts_budget_secs: 1, ..config() };
    let stored = |s: &IngestSummary| s.transcripts.values().sum::<usize>();
    for expected_total in 1..=3 {
        let s = run(&store, &cfg, Utc::now()).await;
        assert_eq!(stored(&s), 1, "one transcript per ingest within a 1 s budget of 1.5 s downloads");
        let done = store
            .episodes()
            .unwrap()
            .iter()
            .filter(|e| matches!(e.transcript, TranscriptStatus::Stored { source: TranscriptSource::Vtt, .. }))
            .count();
        assert_eq!(done, expected_total);
    }
}

/// Items a feed lists that are no episode to take insights from (a post without audio, an item
/// whose only enclosure is a picture), and dates no episode can have (a CMS writing "no date" as
/// 1970, a year typed wrong): the first are left out, the second read as undated, each said in
/// the feed's warnings.
#[tokio::test]
async fn posts_without_audio_are_skipped_and_impossible_dates_read_as_none() {
    let server = FakeServer::start().await;
    let item = |guid: &str, date: &str, enclosure: &str| {
        format!(
            "<item><guid>{guid}</guid><title>{guid}</title><pubDate>{date}</pubDate><description>Notes.</description>{enclosure}</item>"
        )
    };
    let audio = |guid: &str| format!("<enclosure url=\"{}/audio/{guid}.mp3\" type=\"audio/mpeg\"/>", server.base);
    let now = Utc::now();
    let recent = (now - chrono::Duration::hours(3)).to_rfc2822();
    let feed = |items: &[String]| {
        format!("<rss version=\"2.0\"><channel><title>Odd</title>{}</channel></rss>", items.concat())
    };
    let first = item("regular", &recent, &audio("regular"));
    let later = [
        item("null-date", "Thu, 01 Jan 1970 00:00:00 +0000", &audio("null-date")),
        item("typo", "Mon, 01 Jan 2205 10:00:00 +0000", &audio("typo")),
        item("break", &recent, ""),
        item("cover", &recent, &format!("<enclosure url=\"{}/cover.jpg\" type=\"image/jpeg\"/>", server.base)),
        first.clone(),
    ];
    server.route("/feed", vec![Reply::ok(feed(std::slice::from_ref(&first))), Reply::ok(feed(&later))]);
    let (_dir, store) = open();
    let url = server.url("/feed");
    add(&store, &url);
    run(&store, &config(), now).await;
    let seen = now + chrono::Duration::hours(1);
    let s = run(&store, &config(), seen).await;
    assert_eq!(s.new_episodes, 2, "{:?}", outcome(&s, &url));
    let mut titles: Vec<String> = store.episodes().unwrap().into_iter().map(|e| e.title).collect();
    titles.sort();
    assert_eq!(titles, ["null-date", "regular", "typo"]);
    for odd in ["null-date", "typo"] {
        let e = store.episodes().unwrap().into_iter().find(|e| e.title == odd).unwrap();
        assert_eq!(e.published, None, "{odd}");
        assert_eq!(e.published_or_seen(), seen, "{odd} is new when first seen");
        assert!(
            matches!(
                e.transcript,
                TranscriptStatus::Pending | TranscriptStatus::Stored { .. } | TranscriptStatus::Failed { .. }
            ),
            "{odd}: {:?}",
            e.transcript
        );
    }
    match outcome(&s, &url) {
        FeedOutcome::Fetched { warnings, .. } => {
            assert!(
                warnings.iter().any(|w| w.contains("2 new item(s) with neither audio nor a transcript skipped")),
                "{warnings:?}"
            );
            assert!(
                warnings.iter().any(|w| w.contains("2 new item(s) dated before 2000 or over a year ahead")),
                "{warnings:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// A feed that failed for days lists, once back, the episodes it published meanwhile: dated
/// before the digest's window, they count as new from when podsift first saw them, or no
/// digest would ever show them. A new feed's archive, and anything older than a week, is not
/// news.
#[tokio::test]
async fn episodes_listed_days_late_count_from_when_they_were_seen() {
    let server = FakeServer::start().await;
    let now = Utc::now();
    let item = |guid: &str, date: chrono::DateTime<Utc>| {
        format!(
            "<item><guid>{guid}</guid><title>{guid}</title><pubDate>{}</pubDate><enclosure url=\"{}/audio/{guid}.mp3\" type=\"audio/mpeg\"/></item>",
            date.to_rfc2822(),
            server.base
        )
    };
    let feed = |items: &[String]| {
        format!("<rss version=\"2.0\"><channel><title>Late</title>{}</channel></rss>", items.concat())
    };
    let days = |n: i64| now - chrono::Duration::days(n);
    let first = vec![item("archive", days(3))];
    let later = vec![
        item("during-outage", days(3)),
        item("old", days(20)),
        item("fresh", now),
        item("ahead", days(-3)),
        first[0].clone(),
    ];
    server.route("/feed", vec![Reply::ok(feed(&first)), Reply::ok(feed(&later))]);
    let (_dir, store) = open();
    add(&store, &server.url("/feed"));
    run(&store, &config(), now).await;
    let back = now + chrono::Duration::hours(1);
    let summary = run(&store, &config(), back).await;
    let said = summary.feeds.iter().any(|f| match &f.outcome {
        FeedOutcome::Fetched { warnings, .. } => {
            warnings.iter().any(|w| w.starts_with("1 new item(s) dated ahead of now"))
        }
        _ => false,
    });
    assert!(said, "{summary:?}");
    let episode = |title: &str| store.episodes().unwrap().into_iter().find(|e| e.title == title).unwrap();
    let late = episode("during-outage");
    assert!(late.arrived_late);
    assert_eq!(late.published, Some(days(3)).map(|d| d.with_nanosecond(0).unwrap()), "its own date is kept");
    assert_eq!(late.published_or_seen(), back);
    for on_time in ["archive", "old", "fresh"] {
        assert!(!episode(on_time).arrived_late, "{on_time}");
    }
    // Dated three days ahead: new when it came, not days later.
    let ahead = episode("ahead");
    assert!(ahead.arrived_late && ahead.published.is_some_and(|d| d > back), "{ahead:?}");
    assert_eq!(ahead.published_or_seen(), back);
    // Found where a digest's window looks for the hour it was seen.
    let found =
        store.episodes_published_between(back - chrono::Duration::minutes(1), back + chrono::Duration::minutes(1));
    let mut titles: Vec<String> = found.unwrap().into_iter().map(|e| e.title).collect();
    titles.sort();
    assert_eq!(titles, ["ahead", "during-outage"]);
}

/// `podsift feeds add` reads a web feed once before adding it, as it does a local file: an
/// address with no feed behind it (a 404, a web page) is named and nothing is added; one that
/// cannot be reached now is added with a warning, for ingest to try again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_add_reads_a_web_feed_before_adding_it() {
    let server = FakeServer::start().await;
    server.route("/feed.xml", vec![Reply::ok(rss(&server.base, "Show", &[("s1", "S1", None)]))]);
    server.route("/page", vec![Reply::ok("<!doctype html><html><body>A blog</body></html>")]);
    server.route("/gone", vec![Reply::status(404)]);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let add = move |urls: Vec<String>| {
        let data = data.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_podsift"))
                .arg("--data")
                .arg(&data)
                .args(["feeds", "add"])
                .args(&urls)
                .env_remove("PODSIFT_CONFIG")
                .output()
                .unwrap()
        })
    };
    for bad in ["/gone", "/page"] {
        let out = add(vec![server.url("/feed.xml"), server.url(bad)]).await.unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(err.contains("nothing was added") && err.contains(bad), "{err}");
    }
    assert_eq!(server.requests("/gone").len(), 1);
    let out = add(vec![server.url("/feed.xml"), "http://127.0.0.1:9/down.xml".into()]).await.unwrap();
    let (said, err) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{err}");
    assert!(
        said.contains(&format!("added {}", server.url("/feed.xml")))
            && said.contains("added http://127.0.0.1:9/down.xml"),
        "{said}"
    );
    assert!(err.contains("warning: could not reach http://127.0.0.1:9/down.xml"), "{err}");
    // A feed subscribed already is not fetched again.
    let before = server.requests("/feed.xml").len();
    let out = add(vec![server.url("/feed.xml")]).await.unwrap();
    assert!(out.status.success());
    assert_eq!(server.requests("/feed.xml").len(), before);
}
