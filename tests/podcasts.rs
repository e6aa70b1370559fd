//! Each chat's own podcasts: `/podcasts` lists, adds by name (a fake iTunes-style directory:
//! results, none, a 500, a slow answer) or by address, removes by number; bad input changes
//! nothing; chats with different lists get different digests from one ingest while chats with
//! the same list share one; a feed many chats follow is fetched once per ingest; a failing
//! podcast is reported to the chats that follow it, once.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use common::{FakeServer, Reply};
use podsift::adapters::console::ConsoleAdapter;
use podsift::config::Config;
use podsift::deliver::commands::{Core, parse_line};
use podsift::deliver::fanout::Deliverer;
use podsift::deliver::{Adapter, Destination, Message, Request, Sender};
use podsift::ingest::Quiet;
use podsift::metrics::Metrics;
use podsift::store::Store;

#[derive(Clone, Default)]
struct Screen(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Screen {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn day() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap()
}

struct Setup {
    store: Store,
    core: Core,
    deliverer: Arc<Deliverer>,
    directory: FakeServer,
    screen: Screen,
    /// Last, so the store is closed before its directory is deleted: sled flushing into a
    /// deleted directory waits forever.
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    podsift::demo::ingest_demo(&store, &Config::default(), day(), &Quiet).await.unwrap();
    let directory = FakeServer::start().await;
    let mut config = Config::default();
    config.podcasts.directory_url = directory.url("/search");
    config.podcasts.directory_timeout_secs = 1;
    config.podcasts.max_per_destination = 3;
    // The fake feeds live on this machine, which readers may not name unless the operator says so.
    config.podcasts.allowed_hosts = vec!["127.0.0.1".into()];
    config.ingest.timeout_secs = 2;
    let screen = Screen::default();
    let console: Arc<dyn Adapter> = Arc::new(ConsoleAdapter::new(Box::new(screen.clone())));
    let metrics = Arc::new(Metrics::default());
    let deliverer = Arc::new(Deliverer::new(
        store.clone(),
        vec![console],
        config.delivery.clone(),
        config.digest.clone(),
        metrics.clone(),
    ));
    let answerer = Arc::new(podsift::ask::QuoteAnswerer { max_citations: 3 });
    let core = Core::new(store.clone(), config, deliverer.clone(), metrics, answerer).with_clock(Arc::new(day));
    Setup { _dir: dir, store, core, deliverer, directory, screen }
}

async fn say(s: &Setup, chat: &str, line: &str, can_manage: Option<bool>) -> String {
    let command = parse_line(line).unwrap_or_else(|e| panic!("{line}: {e}")).unwrap();
    // One reader a chat: each has their own hourly numbers.
    let sender = Sender { id: format!("reader in {chat}"), can_manage };
    let request =
        Request { destination: Destination::new("console", chat), sender, reply_to: None, notice_to: None, command };
    match s.core.handle(&request, day()).await.unwrap() {
        Some(Message::Notice(text)) => text,
        // The matches are offered as buttons too, each standing for `podcasts add N`.
        Some(Message::Choices { text, choices }) => {
            for (i, c) in choices.iter().enumerate() {
                assert!(c.command.starts_with("podcasts add ") && c.command.ends_with(&format!(":{}", i + 1)), "{c:?}");
                assert!(c.label.starts_with(&format!("{}. ", i + 1)));
            }
            text
        }
        other => panic!("{line}: {other:?}"),
    }
}

fn list(s: &Setup, chat: &str) -> Option<Vec<String>> {
    s.store.podcast_list(&Destination::new("console", chat).key()).unwrap()
}

fn itunes(results: &[(&str, &str, &str)]) -> String {
    let results: Vec<serde_json::Value> = results
        .iter()
        .map(|(name, artist, feed)| {
            serde_json::json!({"wrapperType": "track", "kind": "podcast", "collectionName": name,
                "artistName": artist, "feedUrl": feed, "trackCount": 100})
        })
        .collect();
    serde_json::json!({"resultCount": results.len(), "results": results}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_finds_adds_and_removes_its_podcasts_and_bad_input_changes_nothing() {
    let s = setup().await;
    let feeds = FakeServer::start().await;
    feeds.route(
        "/caching.xml",
        vec![Reply::ok(common::rss(&feeds.base, "Caching Weekly", &[("c1", "Episode 1", None)]))],
    );
    feeds.route("/page.html", vec![Reply::ok("<html><body>Just a web page</body></html>")]);

    let default = say(&s, "a", "/podcasts", None).await;
    assert!(default.contains("the operator chose (8)") && default.contains("Go Time"), "{default}");

    s.directory.route(
        "/search",
        vec![
            Reply::ok(itunes(&[
                ("Caching Weekly", "Cache People", &feeds.url("/caching.xml")),
                ("A Web Page", "Nobody", &feeds.url("/page.html")),
            ])),
            Reply::ok(itunes(&[])),
            Reply::status(500),
            Reply::ok(itunes(&[])).delay(Duration::from_secs(3)),
        ],
    );
    let found = say(&s, "a", "/podcasts add caching weekly", None).await;
    assert!(found.contains("1. Caching Weekly — Cache People") && found.contains("/podcasts add 1"), "{found}");
    let asked = &s.directory.requests("/search")[0];
    let q = |k: &str| asked.query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!((q("term").as_deref(), q("media").as_deref()), (Some("caching weekly"), Some("podcast")));

    assert!(say(&s, "a", "/podcasts add 7", None).await.contains("Choose a number from 1 to 2"));
    assert!(say(&s, "a", "/podcasts add 2", None).await.contains("is not a podcast feed"));
    assert_eq!(list(&s, "a"), None, "a page that is not a feed was added");
    let added = say(&s, "a", "/podcasts add 1", None).await;
    assert!(added.contains("Added Caching Weekly") && added.contains("its 1 podcast(s)"), "{added}");
    assert_eq!(list(&s, "a"), Some(vec![feeds.url("/caching.xml")]));
    let feed = s.store.feed(&feeds.url("/caching.xml")).unwrap().unwrap();
    assert!(feed.reader_added, "a reader's feed joined the operator's list");
    assert!(say(&s, "a", "/podcasts add 1", None).await.contains("already in this chat's podcasts"));
    // Another spelling of the same address is the same podcast, not a second copy of it.
    let respelt = format!("{}/", feeds.url("/caching.xml").replacen("http://", "https://", 1));
    let again = say(&s, "a", &format!("/podcasts add {respelt}"), None).await;
    assert!(again.contains("already in this chat's podcasts"), "{again}");
    assert_eq!(s.store.feeds().unwrap().iter().filter(|f| f.reader_added).count(), 1);

    assert!(say(&s, "a", "/podcasts add nothing at all", None).await.contains("No podcast called \"nothing at all\""));
    assert!(say(&s, "a", "/podcasts add more", None).await.contains("could not be searched"));
    let slow = say(&s, "a", "/podcasts add slow", None).await;
    assert!(slow.contains("could not be searched (timed out after 1 s"), "{slow}");

    let unreachable = say(&s, "a", "/podcasts add http://127.0.0.1:9/gone.xml", None).await;
    assert!(unreachable.starts_with("Not added:"), "{unreachable}");
    let private = say(&s, "b", "/podcasts add http://10.1.2.3/feed.xml", None).await;
    assert!(private.contains("not allowed here"), "{private}");
    let local = say(&s, "b", "/podcasts add file:///etc/passwd", None).await;
    assert!(local.contains("only http(s) feeds"), "{local}");
    assert_eq!(list(&s, "b"), None);
    assert!(
        say(&s, "a", "/podcasts add http://127.0.0.1:9/x.xml", Some(false))
            .await
            .contains("Only people who can manage")
    );
    assert!(parse_line("/podcasts remove two").unwrap_err().contains("takes a number"));

    let listed = say(&s, "a", "/podcasts", None).await;
    assert!(listed.contains("1. Caching Weekly"), "{listed}");
    assert!(say(&s, "a", "/podcasts remove 3", None).await.contains("Choose a number from 1 to 1"));
    let removed = say(&s, "a", "/podcasts remove 1", None).await;
    assert!(removed.contains("gets the operator's again"), "{removed}");
    assert_eq!(list(&s, "a"), None);
    assert!(s.store.feed(&feeds.url("/caching.xml")).unwrap().is_none(), "a feed nobody follows is still fetched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_lists_get_different_digests_and_the_same_list_shares_one() {
    let s = setup().await;
    let set = |chat: &str, feeds: &[&str]| {
        let feeds: Vec<String> = feeds.iter().map(|f| f.to_string()).collect();
        s.store.put_podcast_list(&Destination::new("console", chat).key(), &feeds).unwrap();
        common::subscribe_at(&s.store, Destination::new("console", chat), day(), 0, day() - chrono::Duration::days(1));
    };
    set("go", &["demo:gotime", "demo:jsparty"]);
    set("go-again", &["demo:jsparty", "demo:gotime", "demo:gotime"]);
    set("ops", &["demo:shipit", "demo:rfc"]);
    common::subscribe_at(&s.store, Destination::new("console", "default"), day(), 0, day() - chrono::Duration::days(1));
    let summary = s.deliverer.tick(day() + chrono::Duration::minutes(1)).await.unwrap();
    assert_eq!(summary.delivered, 4, "{summary:?}");
    let digests = s.store.digests().unwrap();
    assert_eq!(
        digests.len(),
        3,
        "one digest per distinct list: {:?}",
        digests.iter().map(|d| &d.list).collect::<Vec<_>>()
    );
    let podcasts = |list: Option<&[&str]>| -> Vec<String> {
        let id = list.map(|l| podsift::model::list_id(&l.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
        let d = s.store.digest_of(day().date_naive(), id.as_deref()).unwrap().unwrap();
        d.insights.iter().map(|e| e.podcast.clone()).collect()
    };
    let go = podcasts(Some(&["demo:gotime", "demo:jsparty"]));
    assert!(!go.is_empty() && go.iter().all(|p| p == "Go Time" || p == "JS Party"), "{go:?}");
    let ops = podcasts(Some(&["demo:shipit", "demo:rfc"]));
    assert!(!ops.is_empty() && ops.iter().all(|p| p == "Ship It!" || p == "Request For Commits"), "{ops:?}");
    let all = podcasts(None);
    assert_eq!(all.len(), 5);
    assert!(all.iter().any(|p| p != "Go Time" && p != "JS Party"), "{all:?}");

    // A question about #1 in a chat is about that chat's #1.
    let command = parse_line("/ask 1 what was said?").unwrap().unwrap();
    let request = Request::new(Destination::new("console", "ops"), Sender::owner("reader"), command);
    match s.core.handle(&request, day()).await.unwrap() {
        Some(Message::Answer { entry, .. }) => assert_eq!(entry.podcast, ops[0]),
        other => panic!("{other:?}"),
    }
    // The chat changes its list after the digest went out: #1 still means the #1 it was sent.
    let ops_key = Destination::new("console", "ops").key();
    s.store.put_podcast_list(&ops_key, &["demo:gotime".to_string()]).unwrap();
    match s.core.handle(&request, day()).await.unwrap() {
        Some(Message::Answer { entry, .. }) => assert_eq!(entry.podcast, ops[0], "answered about another digest"),
        other => panic!("{other:?}"),
    }
    // A chat that was sent nothing today asks about its current list's digest.
    s.store.put_podcast_list(&Destination::new("console", "fresh").key(), &["demo:gotime".to_string()]).unwrap();
    let fresh = Request { destination: Destination::new("console", "fresh"), ..request.clone() };
    match s.core.handle(&fresh, day()).await.unwrap() {
        Some(Message::Answer { entry, .. }) => assert_eq!(entry.podcast, "Go Time"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_that_adds_a_podcast_is_not_sent_yesterdays_insights_again() {
    let s = setup().await;
    let chat = Destination::new("console", "go");
    let narrower = Destination::new("console", "narrower");
    let feeds = |list: &[&str]| list.iter().map(|f| f.to_string()).collect::<Vec<_>>();
    for c in [&chat, &narrower] {
        s.store.put_podcast_list(&c.key(), &feeds(&["demo:gotime", "demo:jsparty"])).unwrap();
        common::subscribe_at(&s.store, c.clone(), day(), 0, day() - chrono::Duration::days(1));
    }
    assert_eq!(s.deliverer.tick(day() + chrono::Duration::minutes(1)).await.unwrap().delivered, 2);
    let first = s.store.delivery(&chat.key(), day().date_naive()).unwrap().unwrap();
    let sent: Vec<String> = first.sent_insights().map(String::from).collect();
    assert!(!sent.is_empty());

    // The next morning the chat adds a podcast: its digest now comes from another list, which
    // has no history; the day before's episodes are still within the window.
    let longer = feeds(&["demo:gotime", "demo:jsparty", "demo:rfc"]);
    s.store.put_podcast_list(&chat.key(), &longer).unwrap();
    // Another chat keeps only one of its podcasts: the point of it that chat was sent is not
    // sent again; the podcast's next point, from the list digest's reserve, comes instead.
    s.store.put_podcast_list(&narrower.key(), &feeds(&["demo:gotime"])).unwrap();
    let tomorrow = day() + chrono::Duration::days(1);
    let summary = s.deliverer.tick(tomorrow + chrono::Duration::minutes(1)).await.unwrap();
    assert_eq!((summary.delivered, summary.skipped), (2, 0), "{summary:?}");
    let narrow = s.store.delivery(&narrower.key(), tomorrow.date_naive()).unwrap().unwrap();
    assert_eq!(narrow.shown.len(), 1, "{narrow:?}");
    assert!(!sent.contains(&narrow.shown[0]), "sent again: {narrow:?}");
    let gotime = s.store.digest_of(tomorrow.date_naive(), Some(&podsift::model::list_id(&feeds(&["demo:gotime"]))));
    let gotime = gotime.unwrap().unwrap();
    assert!(sent.contains(&gotime.insights[0].id), "the list's own first point was new: this test shows nothing");
    assert_eq!(gotime.reserve[0].id, narrow.shown[0]);
    let digest_again = Request::new(narrower.clone(), Sender::owner("reader"), parse_line("/digest").unwrap().unwrap());
    match s.core.handle(&digest_again, tomorrow).await.unwrap() {
        Some(Message::Digest(d)) => {
            assert_eq!(d.insights.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), narrow.shown)
        }
        other => panic!("{other:?}"),
    }
    let list_digest =
        s.store.digest_of(tomorrow.date_naive(), Some(&podsift::model::list_id(&longer))).unwrap().unwrap();
    assert!(
        list_digest.insights.iter().any(|e| sent.contains(&e.id)),
        "the new list's digest holds none of yesterday's insights: this test shows nothing"
    );
    let second = s.store.delivery(&chat.key(), tomorrow.date_naive()).unwrap().unwrap();
    assert!(!second.shown.is_empty());
    let again: Vec<&String> = second.shown.iter().filter(|id| sent.contains(id)).collect();
    assert!(again.is_empty(), "sent again: {again:?}");
    // What was left out is made up from the points ranked next: a full digest, not leftovers.
    let new_in_top = list_digest.insights.iter().filter(|e| !sent.contains(&e.id)).count();
    let new_in_all = list_digest.entries().filter(|e| !sent.contains(&e.id)).count();
    assert!(new_in_top < list_digest.insights.len(), "nothing was left out: this test shows nothing");
    assert_eq!(second.shown.len(), new_in_all.min(list_digest.insights.len()), "{new_in_top} new in the top");
    assert!(second.shown.len() > new_in_top, "the reserve filled nothing");
    // Numbered from 1 without gaps, and the numbers mean what was shown.
    let asked =
        Request::new(chat.clone(), Sender::owner("reader"), parse_line("/ask 1 what was said?").unwrap().unwrap());
    match s.core.handle(&asked, tomorrow).await.unwrap() {
        Some(Message::Answer { entry, .. }) => assert_eq!(entry.id, second.shown[0]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_many_chats_follow_is_fetched_once_per_ingest_and_its_failure_reported_once() {
    let s = setup().await;
    let feeds = FakeServer::start().await;
    feeds.route("/shared.xml", vec![Reply::ok(common::rss(&feeds.base, "Shared Show", &[("s1", "One", None)]))]);
    let url = feeds.url("/shared.xml");
    assert!(say(&s, "chat0", &format!("/podcasts add {url}"), None).await.contains("Added Shared Show"));
    let mut config = Config::default();
    config.ingest.timeout_secs = 2;
    podsift::ingest::ingest(
        &s.store,
        &config.ingest,
        podsift::ingest::IngestOptions { now: day(), force: true },
        &Quiet,
    )
    .await
    .unwrap();
    for i in 1..50 {
        assert!(say(&s, &format!("chat{i}"), &format!("/podcasts add {url}"), None).await.contains("Added"));
    }
    let before = feeds.requests("/shared.xml").len();
    podsift::ingest::ingest(
        &s.store,
        &config.ingest,
        podsift::ingest::IngestOptions { now: day(), force: true },
        &Quiet,
    )
    .await
    .unwrap();
    assert_eq!(feeds.requests("/shared.xml").len(), before + 1, "fetched more than once for 50 chats");
    assert_eq!(before, 2, "the first add reads the feed once, then the first ingest; later adds read nothing");

    // Failing for longer than podcasts.failing_days: each following chat that takes digests is
    // told, once; chat0 unsubscribed and hears nothing.
    for i in 1..50 {
        common::subscribe_at(&s.store, Destination::new("console", &format!("chat{i}")), day(), 0, day());
    }
    let mut feed = s.store.feed(&url).unwrap().unwrap();
    feed.last_ok_at = Some(day() - chrono::Duration::days(4));
    feed.last_error = Some("HTTP 404".into());
    feed.consecutive_failures = 9;
    s.store.put_feed(&feed).unwrap();
    s.core.report_failing_feeds().await;
    let told = String::from_utf8(s.screen.0.lock().unwrap().clone()).unwrap();
    assert_eq!(told.matches("Shared Show has not been readable since 2026-11-24 (HTTP 404)").count(), 49, "{told}");
    s.core.report_failing_feeds().await;
    let again = String::from_utf8(s.screen.0.lock().unwrap().clone()).unwrap();
    assert_eq!(again.len(), told.len(), "told twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_only_paused_chats_follow_is_not_read_until_one_resumes() {
    let s = setup().await;
    let feeds = FakeServer::start().await;
    feeds.route("/quiet.xml", vec![Reply::ok(common::rss(&feeds.base, "Quiet Show", &[("q1", "One", None)]))]);
    let url = feeds.url("/quiet.xml");
    assert!(say(&s, "left", &format!("/podcasts add {url}"), None).await.contains("Added Quiet Show"));
    let chat = Destination::new("console", "left");
    common::subscribe_at(&s.store, chat.clone(), day(), 0, day());
    let mut config = Config::default();
    config.ingest.timeout_secs = 2;
    let ingest = || {
        podsift::ingest::ingest(
            &s.store,
            &config.ingest,
            podsift::ingest::IngestOptions { now: day(), force: true },
            &Quiet,
        )
    };
    let reads = || feeds.requests("/quiet.xml").len();
    ingest().await.unwrap();
    let before = reads();
    // The chat is gone (its subscription paused as such): its podcast is not read for nobody.
    let mut sub = s.store.subscription(&chat.key()).unwrap().unwrap();
    sub.paused = Some("destination gone: chat not found".into());
    s.store.put_subscription(&sub).unwrap();
    ingest().await.unwrap();
    assert_eq!(reads(), before, "read for a paused chat alone");
    // Nor does it take a digest asked for: one built now would lack that podcast, for the day.
    let asked = say(&s, "left", "/digest", None).await;
    assert!(asked.contains("Digests here are paused: podsift could not post here (chat not found)"), "{asked}");
    let question = say(&s, "left", "/ask 1 what was said?", None).await;
    assert!(question.contains("No digest") || question.contains("no digest"), "{question}");
    assert!(s.store.digests().unwrap().is_empty(), "a digest was built for a paused chat");
    // Another chat follows it without a subscription (it asks for digests now and then): read.
    assert!(say(&s, "asks", &format!("/podcasts add {url}"), None).await.contains("Added"));
    let added = reads();
    ingest().await.unwrap();
    assert_eq!(reads(), added + 1);
    // And once the first resumes, whatever the others do.
    s.store.put_podcast_list(&Destination::new("console", "asks").key(), &[]).unwrap();
    sub.paused = None;
    s.store.put_subscription(&sub).unwrap();
    let resumed = reads();
    ingest().await.unwrap();
    assert_eq!(reads(), resumed + 1);
}

/// A chat back from a pause, whose own podcasts nobody read meanwhile, is told so; its digest
/// waits for the ingest that reads them (not built without them, for the day), within half the
/// catch-up window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_back_from_a_pause_waits_for_its_podcasts_to_be_read() {
    let s = setup().await;
    let feeds = FakeServer::start().await;
    feeds.route("/quiet.xml", vec![Reply::ok(common::rss(&feeds.base, "Quiet Show", &[("q1", "One", None)]))]);
    let url = feeds.url("/quiet.xml");
    assert!(say(&s, "back", &format!("/podcasts add {url}"), None).await.contains("Added Quiet Show"));
    let chat = Destination::new("console", "back");
    // The store's last ingest began at 08:00; the chat comes back after it, due at 08:05.
    let resumed_at = day() + chrono::Duration::minutes(1);
    let due = day() + chrono::Duration::minutes(5);
    common::subscribe_at(&s.store, chat.clone(), due, 0, day() - chrono::Duration::days(3));
    let mut sub = s.store.subscription(&chat.key()).unwrap().unwrap();
    sub.paused = Some("holiday".into());
    s.store.put_subscription(&sub).unwrap();
    let resume = Request::new(chat.clone(), Sender::owner("reader"), parse_line("/subscribe").unwrap().unwrap());
    match s.core.handle(&resume, resumed_at).await.unwrap() {
        Some(Message::Notice(text)) => {
            assert!(
                text.starts_with("Resumed") && text.contains("were not read while its digests were paused"),
                "{text}"
            );
            assert!(text.contains("Its next digest waits for that ingest, up to 180 minutes past its time."), "{text}");
        }
        other => panic!("{other:?}"),
    }
    // Due at 08:05: no digest is built until an ingest reads its podcasts, asked for or not.
    assert_eq!(s.deliverer.tick(due + chrono::Duration::minutes(1)).await.unwrap().delivered, 0);
    let rec = s.store.delivery(&chat.key(), day().date_naive()).unwrap();
    assert!(rec.is_none(), "{rec:?}");
    let asked = Request::new(chat.clone(), Sender::owner("reader"), podsift::deliver::Command::DigestNow);
    match s.core.handle(&asked, due + chrono::Duration::minutes(2)).await.unwrap() {
        Some(Message::Notice(text)) => assert!(text.contains("were not read") && !text.contains("subscribe"), "{text}"),
        other => panic!("{other:?}"),
    }
    assert!(s.store.digests().unwrap().is_empty(), "a digest was built without the chat's podcast");
    // An ingest that began before the chat came back read nothing for it: still waiting.
    s.store.set_state(podsift::store::LAST_INGEST_BEGAN, &day()).unwrap();
    s.deliverer.tick(due + chrono::Duration::minutes(179)).await.unwrap();
    assert!(s.store.delivery(&chat.key(), day().date_naive()).unwrap().is_none(), "did not wait");
    // No ingest in half the catch-up window: the day goes on without them rather than be lost.
    s.deliverer.tick(due + chrono::Duration::minutes(181)).await.unwrap();
    assert!(s.store.delivery(&chat.key(), day().date_naive()).unwrap().is_some(), "waited past half the window");
}

/// A chat that left keeps its podcast list, and its podcasts are read while it still asks for
/// digests now and then; after a month with no request they are read no more (nothing is built
/// without them), until it asks again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_that_left_long_ago_stops_costing_reads_until_it_asks_again() {
    let s = setup().await;
    let feeds = FakeServer::start().await;
    feeds.route("/quiet.xml", vec![Reply::ok(common::rss(&feeds.base, "Quiet Show", &[("q1", "One", None)]))]);
    let url = feeds.url("/quiet.xml");
    assert!(say(&s, "left", &format!("/podcasts add {url}"), None).await.contains("Added Quiet Show"));
    let mut config = Config::default();
    config.ingest.timeout_secs = 2;
    let ingest = |now: DateTime<Utc>| {
        podsift::ingest::ingest(&s.store, &config.ingest, podsift::ingest::IngestOptions { now, force: true }, &Quiet)
    };
    let reads = || feeds.requests("/quiet.xml").len();
    // Asked something a day ago: still a reader.
    let before = reads();
    ingest(day() + chrono::Duration::days(1)).await.unwrap();
    assert_eq!(reads(), before + 1);
    // A month and more later, nobody there has asked anything: not read.
    let later = day() + chrono::Duration::days(31);
    ingest(later).await.unwrap();
    assert_eq!(reads(), before + 1, "read for a chat that left a month ago");
    // Its digest asked for then is not built without that podcast: said, and reading resumes.
    let key = Destination::new("console", "left").key();
    let asked = Request::new(
        Destination::new("console", "left"),
        Sender::owner("reader"),
        parse_line("/digest").unwrap().unwrap(),
    );
    let woken = || async {
        match s.core.handle(&asked, later + chrono::Duration::minutes(1)).await.unwrap() {
            Some(Message::Notice(text)) => text.contains("were not read while nobody here asked for one"),
            _ => false,
        }
    };
    match s.core.handle(&asked, later).await.unwrap() {
        Some(Message::Notice(text)) => {
            assert!(
                text.contains("were not read while nobody here asked for one")
                    && text.contains("next ingest (every 60 minutes)"),
                "{text}"
            )
        }
        other => panic!("{other:?}"),
    }
    // Asked again before an ingest has read them: the same, still nothing built. An ingest
    // that began before the chat came back (and finished after) read nothing for it.
    assert!(woken().await);
    let before_return = podsift::ingest::IngestOptions { now: later - chrono::Duration::minutes(1), force: true };
    podsift::pipeline::ingest_and_extract(&s.store, &config, before_return, &Quiet).await.unwrap();
    assert!(woken().await, "an ingest begun before the chat came back counted as reading for it");
    assert!(s.store.digests().unwrap().is_empty(), "a digest was built without the chat's podcast");
    assert!(!s.store.idle_since(&key, later).unwrap());
    // The next ingest reads them; after it, digests are built for the chat again.
    let opts = podsift::ingest::IngestOptions { now: later + chrono::Duration::seconds(30), force: true };
    let read = reads();
    podsift::pipeline::ingest_and_extract(&s.store, &config, opts, &Quiet).await.unwrap();
    assert_eq!(reads(), read + 1);
    assert!(!woken().await);
}

/// A feed only readers' lists brought in stays out of the operator's digest, and stays in theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_readers_added_stay_out_of_the_operators_digest() {
    let s = setup().await;
    let config = Config::default();
    let date = day().date_naive();
    let before = podsift::insight::digest::build(&s.store, &config.digest, date, day()).unwrap();
    assert!(before.insights.iter().any(|e| e.podcast == "Go Time"), "the demo's digest has no Go Time to begin with");
    let mut go = s.store.feed("demo:gotime").unwrap().unwrap();
    go.reader_added = true;
    s.store.put_feed(&go).unwrap();
    let after = podsift::insight::digest::build(&s.store, &config.digest, date, day()).unwrap();
    assert!(after.insights.iter().all(|e| e.podcast != "Go Time"), "{:?}", after.insights);
    let list = vec!["demo:gotime".to_string()];
    let theirs = podsift::insight::digest::build_for(&s.store, &config.digest, date, day(), Some(&list)).unwrap();
    assert!(!theirs.insights.is_empty() && theirs.insights.iter().all(|e| e.podcast == "Go Time"));
}

/// `podsift feeds search` asks the configured directory; `subs ls` shows a chat's own list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_searches_the_directory_and_shows_each_chats_list() {
    let directory = FakeServer::start().await;
    directory.route(
        "/search",
        vec![Reply::ok(itunes(&[("Go Time", "Changelog Media", "https://changelog.com/gotime/feed")]))],
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("podsift.toml");
    std::fs::write(&config, format!("[podcasts]\ndirectory_url = \"{}\"\n", directory.url("/search"))).unwrap();
    let data = dir.path().join("data");
    let data_dir = data.clone();
    {
        let store = Store::open(&data).unwrap();
        let chat = Destination::new("console", "team");
        common::subscribe_at(&store, chat.clone(), day(), 0, day());
        store.put_podcast_list(&chat.key(), &["https://changelog.com/gotime/feed".to_string()]).unwrap();
        store.put_feed(&podsift::model::Feed::new("https://changelog.com/gotime/feed", day())).unwrap();
        store.flush().unwrap();
    }
    let search_config = config.clone();
    let run = move |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_podsift"))
            .arg("--data")
            .arg(&data)
            .arg("--config")
            .arg(&config)
            .args(args)
            .env_remove("PODSIFT_ADMIN_TOKEN")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let found = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(&["feeds", "search", "go", "time"])
    })
    .await
    .unwrap();
    assert!(found.contains("1. Go Time — Changelog Media") && found.contains("https://changelog.com/gotime/feed"));
    assert_eq!(directory.requests("/search")[0].query.iter().find(|(k, _)| k == "term").unwrap().1, "go time");
    // A search needs no store, and leaves none behind.
    let nowhere = dir.path().join("no-store-here");
    let searched = tokio::task::spawn_blocking({
        let (nowhere, config) = (nowhere.clone(), search_config);
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_podsift"))
                .arg("--data")
                .arg(&nowhere)
                .arg("--config")
                .arg(&config)
                .args(["feeds", "search", "go", "time"])
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(searched.status.success(), "{}", String::from_utf8_lossy(&searched.stderr));
    assert!(!nowhere.exists(), "a search created a store");
    let subs = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(&["subs", "ls"])
    })
    .await
    .unwrap();
    assert!(subs.contains("podcasts (1): https://changelog.com/gotime/feed"), "{subs}");
    let json = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(&["subs", "ls", "--json"])
    })
    .await
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json[0]["podcasts"], serde_json::json!(["https://changelog.com/gotime/feed"]), "{json}");
    // The operator removing the feed takes it out of the chats' lists too.
    let removed =
        tokio::task::spawn_blocking(move || run(&["feeds", "rm", "https://changelog.com/gotime/feed"])).await.unwrap();
    assert!(removed.contains("and from the podcasts of 1 chat(s)"), "{removed}");
    let store = Store::open(&data_dir).unwrap();
    assert_eq!(store.podcast_list(&Destination::new("console", "team").key()).unwrap(), None);
}

/// A feed a reader named from a host the operator did not allow is fetched from public
/// addresses only at every ingest, not just when it was added; the operator's own are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_feeds_stay_on_public_addresses_at_every_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let server = FakeServer::start().await;
    server.route("/inside.xml", vec![Reply::ok(common::rss(&server.base, "Inside", &[("i1", "One", None)]))]);
    let url = server.url("/inside.xml");
    let reader =
        podsift::model::Feed { reader_added: true, public_only: true, ..podsift::model::Feed::new(&url, day()) };
    store.put_feed(&reader).unwrap();
    let config = Config::default();
    let opts = || podsift::ingest::IngestOptions { now: day(), force: true };
    podsift::ingest::ingest(&store, &config.ingest, opts(), &Quiet).await.unwrap();
    assert!(server.requests("/inside.xml").is_empty(), "a reader's feed reached a private address");
    let error = store.feed(&url).unwrap().unwrap().last_error.unwrap_or_default();
    assert!(!error.is_empty(), "the refusal is not recorded on the feed");
    // The operator adding the same address makes it theirs: then it is fetched.
    let operators =
        podsift::model::Feed { reader_added: false, public_only: false, ..store.feed(&url).unwrap().unwrap() };
    store.put_feed(&operators).unwrap();
    podsift::ingest::ingest(&store, &config.ingest, opts(), &Quiet).await.unwrap();
    assert_eq!(server.requests("/inside.xml").len(), 1);
}

/// A feed removed (or made the operator's) while an ingest is fetching it stays as the command
/// left it: the ingest does not bring it back or undo the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingest_does_not_undo_what_commands_changed_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let server = FakeServer::start().await;
    let slow = |title: &str| {
        Reply::ok(common::rss(&server.base, title, &[("x1", "One", None)])).delay(Duration::from_millis(800))
    };
    server.route("/gone.xml", vec![slow("Gone")]);
    server.route("/kept.xml", vec![slow("Kept")]);
    let (gone, kept) = (server.url("/gone.xml"), server.url("/kept.xml"));
    store.put_feed(&podsift::model::Feed::new(&gone, day())).unwrap();
    store.put_feed(&podsift::model::Feed { reader_added: true, ..podsift::model::Feed::new(&kept, day()) }).unwrap();
    let config = Config::default();
    let ingest = {
        let store = store.clone();
        let config = config.clone();
        tokio::spawn(async move {
            let opts = podsift::ingest::IngestOptions { now: day(), force: true };
            podsift::ingest::ingest(&store, &config.ingest, opts, &Quiet).await.unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(store.remove_feed(&gone).unwrap());
    let mut operators = store.feed(&kept).unwrap().unwrap();
    operators.reader_added = false;
    store.put_feed(&operators).unwrap();
    ingest.await.unwrap();
    assert!(store.feed(&gone).unwrap().is_none(), "the ingest brought a removed feed back");
    let kept = store.feed(&kept).unwrap().unwrap();
    assert!(!kept.reader_added && kept.last_ok_at.is_some(), "{kept:?}");
}

/// A button names its own search: pressed after a newer search in the same chat, it still adds
/// the podcast it showed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_adds_what_it_showed_after_a_newer_search() {
    let s = setup().await;
    let feeds = FakeServer::start().await;
    feeds.route("/one.xml", vec![Reply::ok(common::rss(&feeds.base, "First Show", &[("a", "A", None)]))]);
    feeds.route("/two.xml", vec![Reply::ok(common::rss(&feeds.base, "Second Show", &[("b", "B", None)]))]);
    s.directory.route(
        "/search",
        vec![
            Reply::ok(itunes(&[("First Show", "One", &feeds.url("/one.xml"))])),
            Reply::ok(itunes(&[("Second Show", "Two", &feeds.url("/two.xml"))])),
        ],
    );
    let offer = |line: &str| {
        let command = parse_line(line).unwrap().unwrap();
        Request::new(Destination::new("console", "c"), Sender::owner("r"), command)
    };
    let first = match s.core.handle(&offer("/podcasts add first"), day()).await.unwrap() {
        Some(Message::Choices { choices, .. }) => choices,
        other => panic!("{other:?}"),
    };
    s.core.handle(&offer("/podcasts add second"), day()).await.unwrap();
    let pressed = format!("/{}", first[0].command);
    assert!(say(&s, "c", &pressed, None).await.contains("Added First Show"));
    // A typed number means the latest search.
    assert!(say(&s, "c", "/podcasts add 1", None).await.contains("Added Second Show"));
}

/// A reader's podcast searches and feed reads, and a chat's digests posted again, are counted by
/// the hour: past the number, the reply says when the next may come, and nothing is fetched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_and_digests_again_are_counted_by_the_hour() {
    let s = setup().await;
    for i in 0..10 {
        let reply = say(&s, "busy", &format!("/podcasts add http://127.0.0.1:9/nothing-{i}.xml"), None).await;
        assert!(reply.starts_with("Not added"), "{reply}");
    }
    let refused = say(&s, "busy", "/podcasts add http://127.0.0.1:9/one-more.xml", None).await;
    assert!(refused.contains("10 podcast lookups within the hour"), "{refused}");
    // A choice counts too: it reads a feed not read yet (or one removed since) again.
    let choice = say(&s, "busy", "/podcasts add 1", None).await;
    assert!(choice.contains("within the hour"), "{choice}");
    // Another reader elsewhere looks up on.
    assert!(!say(&s, "calm", "/podcasts add http://127.0.0.1:9/x.xml", None).await.contains("within the hour"));
}
