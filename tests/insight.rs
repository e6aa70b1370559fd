//! The insight engine on real transcripts: extraction quality guards, verbatim quotes,
//! clustering of one claim made twice, stable digests, and grounded answers.

mod common;

use chrono::{Duration, Utc};
use podsift::ask::{self, QuoteAnswerer};
use podsift::config::{Config, DigestConfig};
use podsift::ingest::{IngestOptions, Quiet};
use podsift::insight::digest;
use podsift::insight::extract::OfflineExtractor;
use podsift::insight::sentences;
use podsift::insight::terms::{self, Corpus};
use podsift::model::{DigestEntry, Episode, Feed, Insight, Transcript, TranscriptSource};
use podsift::store::Store;

fn episode(id: &str, title: &str) -> Episode {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z").unwrap().into();
    let mut e = Episode::new(id, &format!("file:///{id}.xml"), title, at);
    e.podcast_title = Some("Go Time".into());
    e.guid = Some(id.into());
    e.link = Some(format!("https://changelog.com/{id}"));
    e.published = Some(at);
    e
}

fn changelog(name: &str) -> Transcript {
    let path = format!("{}/tests/fixtures/changelog/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(path).unwrap();
    Transcript {
        episode_id: name.into(),
        source: TranscriptSource::Text,
        url: None,
        fetched_at: Utc::now(),
        segments: podsift::ingest::transcript::parse(TranscriptSource::Text, &bytes).unwrap(),
    }
}

const FIXTURES: &[&str] = &["go-time-1.md", "go-time-108.md", "go-time-118.md", "js-party-154.md"];

/// Real intro, outro, subscribe and sponsor phrases that occur in the fixture transcripts.
const BOILERPLATE_PHRASES: &[&str] = &[
    "brought to you by",
    "welcome to",
    "thanks for listening",
    "subscribe",
    "it's go time",
    "weekly podcast",
    "sponsor",
];

fn extract_all() -> Vec<(Transcript, Vec<Insight>)> {
    let transcripts: Vec<Transcript> = FIXTURES.iter().map(|f| changelog(f)).collect();
    let mut corpus = Corpus::default();
    for t in &transcripts {
        let mut ts: Vec<String> = t.segments.iter().flat_map(|s| terms::terms(&s.text)).collect();
        ts.sort();
        ts.dedup();
        corpus.add(&ts);
    }
    let ex = OfflineExtractor { config: Default::default() };
    transcripts
        .into_iter()
        .map(|t| {
            let ins = ex.extract_now(&episode(&t.episode_id, &t.episode_id), &t, &corpus);
            (t, ins)
        })
        .collect()
}

#[test]
fn no_sponsor_read_intro_or_outro_among_the_insights() {
    let mut boilerplate_seen = 0;
    for (t, insights) in extract_all() {
        assert!(insights.len() >= 5, "{}: only {} insights", t.episode_id, insights.len());
        let sents = sentences::split(&t.segments);
        let boilerplate: Vec<&str> = sents
            .iter()
            .map(|s| s.text(&t.segments))
            .filter(|s| BOILERPLATE_PHRASES.iter().any(|p| s.to_lowercase().contains(p)))
            .collect();
        boilerplate_seen += boilerplate.len();
        for i in &insights {
            for b in &boilerplate {
                assert!(
                    !i.quote.contains(b) && !b.contains(i.quote.as_str()),
                    "{}: boilerplate picked: {:?}",
                    t.episode_id,
                    i.quote
                );
            }
            assert!(!i.text.ends_with('?'), "a question was picked: {}", i.text);
        }
    }
    // The fixtures really contain such phrases, so the assertion above means something.
    assert!(boilerplate_seen >= 8, "only {boilerplate_seen} boilerplate sentences in the fixtures");
}

#[test]
fn every_quote_is_verbatim_and_timed_within_the_episode() {
    for (t, insights) in extract_all() {
        let end = t.segments.iter().map(|s| s.end).fold(0.0, f64::max);
        for i in &insights {
            let seg = t.segments.iter().find(|s| s.text.contains(i.quote.as_str()));
            let seg = seg.unwrap_or_else(|| panic!("{}: quote not in transcript: {:?}", t.episode_id, i.quote));
            assert!(
                i.start_seconds >= seg.start - 0.1 && i.start_seconds <= seg.end + 0.1,
                "{}: {} outside its segment",
                t.episode_id,
                i.start_seconds
            );
            assert!(
                i.start_seconds >= 0.0 && i.start_seconds <= end,
                "{}: {} outside 0..{end}",
                t.episode_id,
                i.start_seconds
            );
            assert_eq!(i.speaker, seg.speaker);
            let words = i.text.split_whitespace().count();
            assert!((8..=60).contains(&words), "{words} words: {}", i.text);
            assert!(!i.text.contains(" um ") && !i.text.contains(" uh "), "{}", i.text);
        }
    }
}

#[test]
fn extraction_is_deterministic() {
    let a = extract_all();
    let b = extract_all();
    for ((_, x), (_, y)) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
}

// ---- the whole pipeline on local feeds ----

fn vtt(lines: &[(&str, &str)]) -> String {
    let mut s = String::from("WEBVTT\n\n");
    let mut t = 0.0;
    for (speaker, text) in lines {
        let d = text.split_whitespace().count() as f64 / 2.5;
        let ts = |x: f64| format!("00:{:02}:{:06.3}", (x / 60.0) as u64, x % 60.0);
        s.push_str(&format!("{} --> {}\n<v {speaker}>{text}\n\n", ts(t), ts(t + d)));
        t += d + 1.0;
    }
    s
}

/// Writes a one-episode feed with a VTT transcript into `dir`; returns its file:// URL.
fn local_feed(dir: &std::path::Path, name: &str, podcast: &str, hours_ago: i64, lines: &[(&str, &str)]) -> String {
    let vtt_path = dir.join(format!("{name}.vtt"));
    std::fs::write(&vtt_path, vtt(lines)).unwrap();
    let vtt_url = url::Url::from_file_path(&vtt_path).unwrap();
    let date = (Utc::now() - Duration::hours(hours_ago)).to_rfc2822();
    let feed = format!(
        "<rss version=\"2.0\" xmlns:podcast=\"https://podcastindex.org/namespace/1.0\"><channel><title>{podcast}</title>\
         <item><title>{podcast}: {name}</title><guid>{name}</guid><link>https://example.com/{name}</link><pubDate>{date}</pubDate>\
         <podcast:transcript url=\"{vtt_url}\" type=\"text/vtt\"/></item></channel></rss>"
    );
    let feed_path = dir.join(format!("{name}.xml"));
    std::fs::write(&feed_path, feed).unwrap();
    url::Url::from_file_path(&feed_path).unwrap().to_string()
}

const CLOUD: &[(&str, &str)] = &[
    ("Host", "Welcome to Cloud Weekly, the show about running things in the cloud."),
    (
        "Dana",
        "The outage last Tuesday came from a bad config push that reached every region at once, because the canary stage was skipped.",
    ),
    ("Host", "Yeah, totally."),
    (
        "Dana",
        "Our team moved the billing service from Postgres to CockroachDB and cut failover time from ten minutes to under thirty seconds.",
    ),
    (
        "Dana",
        "Kubernetes upgrades used to take our platform team three full weeks, but with blue-green clusters it now takes two days.",
    ),
    ("Host", "Thanks for listening, and subscribe wherever you get your podcasts."),
];
const INFRA: &[(&str, &str)] = &[
    (
        "Lee",
        "A bad config push reached every region at once last Tuesday, and that is what caused the outage, since nobody ran the canary stage.",
    ),
    (
        "Lee",
        "Rewriting our edge proxies in Rust reduced memory use by sixty percent compared with the old Java services.",
    ),
    (
        "Lee",
        "Most incident reviews fail because teams write them to assign blame instead of finding the missing safeguard.",
    ),
];
const DATA: &[(&str, &str)] = &[
    (
        "Kim",
        "Columnar storage made our analytics queries twelve times faster than the row-based warehouse we had in 2021.",
    ),
    (
        "Kim",
        "Data contracts between producer and consumer teams stopped most of the silent schema breakages in our pipelines.",
    ),
];

/// One ingest-and-extract run at the current time with the default config.
async fn ingest_now(store: &Store) -> (podsift::ingest::IngestSummary, usize) {
    podsift::pipeline::ingest_and_extract(
        store,
        &Config::default(),
        IngestOptions { now: Utc::now(), force: false },
        &Quiet,
    )
    .await
    .unwrap()
}

async fn pipeline_store(dir: &std::path::Path) -> Store {
    let store = Store::open(&dir.join("data")).unwrap();
    for (name, podcast, ago, lines) in
        [("cloud-1", "Cloud Weekly", 3, CLOUD), ("infra-7", "Infra Talk", 5, INFRA), ("data-2", "Data Days", 7, DATA)]
    {
        let url = local_feed(dir, name, podcast, ago, lines);
        store.put_feed(&Feed::new(&url, Utc::now())).unwrap();
    }
    ingest_now(&store).await;
    store
}

/// A show's own feed and its network's feed list the same episode (the network's with a
/// tracking prefix before the same audio file): one episode in the digest, never its own
/// "also on another podcast".
#[tokio::test]
async fn one_episode_in_two_feeds_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    let own = local_feed(dir.path(), "cloud-1", "Cloud Weekly", 3, CLOUD);
    let own_url = own.clone();
    let own_path = url::Url::parse(&own).unwrap().to_file_path().unwrap();
    let text = std::fs::read_to_string(&own_path).unwrap();
    let with_audio = |text: &str, audio: &str| {
        text.replace("</item>", &format!("<enclosure url=\"{audio}\" type=\"audio/mpeg\"/></item>"))
    };
    std::fs::write(&own_path, with_audio(&text, "https://cdn.example/shows/cloud-1.mp3")).unwrap();
    let network = dir.path().join("network.xml");
    let relisted = with_audio(&text, "https://track.example/redirect.mp3/cdn.example/shows/cloud-1.mp3?src=all")
        .replace("<title>Cloud Weekly</title>", "<title>All Our Shows</title>");
    std::fs::write(&network, relisted).unwrap();
    let others = [
        local_feed(dir.path(), "infra-7", "Infra Talk", 5, INFRA),
        local_feed(dir.path(), "data-2", "Data Days", 7, DATA),
    ];
    for url in [own, url::Url::from_file_path(&network).unwrap().to_string()].iter().chain(&others) {
        store.put_feed(&Feed::new(url, Utc::now())).unwrap();
    }
    ingest_now(&store).await;
    assert_eq!(store.episodes().unwrap().len(), 4, "both feeds list the episode");
    // Its words are counted once: the digest does not depend on how many feeds list a show.
    assert_eq!(store.corpus().unwrap().docs, 3, "the episode's words were counted twice");
    let cfg = DigestConfig::default();
    let now = Utc::now();
    let d = digest::build_or_get(&store, &cfg, digest::today(&cfg, now), now).unwrap();
    for e in &d.insights {
        assert!(e.also_in.iter().all(|a| a.episode != e.episode), "an episode is its own corroboration: {e:#?}");
    }
    let shown: Vec<&str> = d.insights.iter().map(|e| e.episode.as_str()).collect();
    assert_eq!(shown.iter().filter(|t| **t == "Cloud Weekly: cloud-1").count(), 1, "{shown:?}");
    let outage: Vec<&DigestEntry> = d.insights.iter().filter(|e| e.text.contains("config push")).collect();
    assert_eq!(outage.len(), 1, "{:#?}", d.insights);
    assert_eq!(outage[0].also_in.len(), 1, "said on two podcasts, not three: {:#?}", outage[0]);

    // The network's feed added after the show's episode was counted: not counted again.
    let later = Store::open(&dir.path().join("later")).unwrap();
    for url in [&own_url].into_iter().chain(&others) {
        later.put_feed(&Feed::new(url, Utc::now())).unwrap();
    }
    ingest_now(&later).await;
    later.put_feed(&Feed::new(url::Url::from_file_path(&network).unwrap().as_ref(), Utc::now())).unwrap();
    ingest_now(&later).await;
    assert_eq!(later.episodes().unwrap().len(), 4);
    assert_eq!(later.corpus().unwrap().docs, 3, "the copy was counted again");
}

#[tokio::test]
async fn one_claim_in_two_podcasts_is_one_entry_with_also_in() {
    let dir = tempfile::tempdir().unwrap();
    let store = pipeline_store(dir.path()).await;
    let cfg = DigestConfig::default();
    let now = Utc::now();
    let d = digest::build_or_get(&store, &cfg, digest::today(&cfg, now), now).unwrap();
    let outage: Vec<&DigestEntry> = d.insights.iter().filter(|e| e.text.contains("config push")).collect();
    assert_eq!(outage.len(), 1, "{:#?}", d.insights);
    let e = outage[0];
    assert_eq!(e.also_in.len(), 1, "{e:#?}");
    assert_ne!(e.also_in[0].podcast, e.podcast);
    assert!(["Cloud Weekly", "Infra Talk"].contains(&e.also_in[0].podcast.as_str()));
    assert!(e.also_in[0].quote.contains("config push"));
    // Three episodes, one insight each at most: three entries, numbered 1-3, no banter.
    assert_eq!(d.insights.iter().map(|e| e.rank).collect::<Vec<_>>(), [1, 2, 3]);
    for e in &d.insights {
        assert!(
            !e.text.contains("Welcome") && !e.text.contains("Thanks for listening") && !e.text.contains("totally"),
            "{}",
            e.text
        );
        assert_eq!(
            e.link.as_deref(),
            Some(format!("{}#t={}", e.episode_url.as_deref().unwrap(), e.start_seconds as u64).as_str())
        );
    }
    let text = podsift::render::digest(&d, cfg.size);
    assert!(text.contains("also on 1 other podcast(s)"), "{text}");
    assert!(text.contains("Only 3 distinct insight(s)"), "{text}");

    // A follow-up answered only in the other episode of the point's cluster draws on it.
    let other = e.also_in[0].podcast.clone();
    let question = if other == "Infra Talk" {
        "how much memory did rewriting the edge proxies in Rust save?"
    } else {
        "how fast is failover since billing moved to CockroachDB?"
    };
    let answer =
        ask::ask(&store, &Config::default().ask, e, question, &QuoteAnswerer { max_citations: 3 }, &[]).await.unwrap();
    assert!(answer.covered, "{answer:?}");
    assert_eq!(answer.citations[0].podcast, other, "{answer:?}");
}

#[tokio::test]
async fn a_digest_is_built_once_and_a_later_ingest_does_not_reshuffle_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = pipeline_store(dir.path()).await;
    let cfg = DigestConfig::default();
    let now = Utc::now();
    let date = digest::today(&cfg, now);
    let first = digest::build_or_get(&store, &cfg, date, now).unwrap();
    let again = digest::build_or_get(&store, &cfg, date, now + Duration::minutes(5)).unwrap();
    assert_eq!(first, again);

    // A new episode with a strong claim arrives later the same day.
    let url = local_feed(
        dir.path(),
        "late-1",
        "Late Show",
        1,
        &[(
            "Ann",
            "Switching our CI to remote build caching cut average build times from forty minutes to six minutes across 300 repositories.",
        )],
    );
    store.put_feed(&Feed::new(&url, Utc::now())).unwrap();
    let (summary, extracted) = ingest_now(&store).await;
    assert_eq!((summary.new_episodes, extracted > 0), (1, true));
    let after = digest::build_or_get(&store, &cfg, date, now + Duration::hours(1)).unwrap();
    assert_eq!(first, after);
    // Built fresh (not stored), the new episode would have been a candidate.
    let fresh = digest::build(&store, &cfg, date, now + Duration::hours(1)).unwrap();
    assert_eq!(fresh.episodes, 4);
}

#[tokio::test]
async fn extraction_runs_once_per_episode() {
    let dir = tempfile::tempdir().unwrap();
    let store = pipeline_store(dir.path()).await;
    let docs = store.corpus().unwrap().docs;
    assert_eq!(docs, 3);
    let (_, extracted) = ingest_now(&store).await;
    assert_eq!(extracted, 0);
    assert_eq!(store.corpus().unwrap().docs, 3);
}

// ---- follow-up questions on a real episode ----

async fn demo_store(dir: &std::path::Path) -> Store {
    let store = Store::open(dir).unwrap();
    podsift::demo::ingest_demo(&store, &Config::default(), Utc::now(), &Quiet).await.unwrap();
    store
}

/// A digest entry for one of an episode's insights, as the digest would hold it.
fn entry_for(store: &Store, episode_title: &str) -> DigestEntry {
    let ep = store.episodes().unwrap().into_iter().find(|e| e.title == episode_title).unwrap();
    let i = store.insights_of(&ep.id).unwrap().remove(0);
    DigestEntry::from_insight(1, &i, i.score, vec![])
}

/// Asks a question about the first insight of Go Time #100 in a fresh demo store.
async fn ask_go_time(question: &str) -> (tempfile::TempDir, Store, DigestEntry, ask::Answer) {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path()).await;
    let entry = entry_for(&store, "Go Time #100");
    let a = ask::ask(&store, &Config::default().ask, &entry, question, &QuoteAnswerer { max_citations: 3 }, &[])
        .await
        .unwrap();
    (dir, store, entry, a)
}

#[tokio::test]
async fn ask_finds_the_passage_that_answers() {
    // Located by hand: Rob Pike lists Go's version control history around 00:19-00:21.
    let (_dir, store, entry, a) =
        ask_go_time("Which content management systems did the project go through before Git?").await;
    assert!(a.covered, "{a:#?}");
    let hit = a.citations.iter().find(|c| c.text.contains("Mercurial")).unwrap_or_else(|| panic!("{a:#?}"));
    assert_eq!(hit.speaker.as_deref(), Some("Rob Pike"));
    assert!((17.0 * 60.0..22.0 * 60.0).contains(&hit.start_seconds), "{}", hit.start_seconds);
    assert!(a.answer.contains("Rob Pike at [00:"), "{}", a.answer);
    // Every citation is verbatim transcript text.
    let t = store.transcript(&entry.episode_id).unwrap().unwrap();
    let all: String = t.segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
    for c in &a.citations {
        for sentence in
            sentences::split(&[podsift::model::Segment { start: 0.0, end: 1.0, speaker: None, text: c.text.clone() }])
        {
            let s = &c.text[sentence.range];
            assert!(all.contains(s), "not verbatim: {s}");
        }
    }
}

#[tokio::test]
async fn an_unrelated_question_is_not_covered() {
    let (_dir, _store, _entry, a) = ask_go_time("What is a good recipe for banana bread with walnuts?").await;
    assert!(!a.covered, "{a:#?}");
    assert!(a.citations.is_empty());
    assert!(a.answer.starts_with("Not covered"), "{}", a.answer);
}

#[tokio::test]
async fn a_question_about_the_insight_itself_quotes_its_context() {
    let (_dir, _store, entry, a) = ask_go_time("What exactly did he say about that?").await;
    assert!(a.covered);
    let first = &a.citations[0];
    assert!((first.start_seconds - entry.start_seconds).abs() < 90.0, "{a:#?}\n{entry:#?}");
}

#[tokio::test]
async fn references_resolve_or_list_the_valid_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path()).await;
    let cfg = DigestConfig::default();
    let now = Utc::now();
    let (d, e) = ask::resolve(&store, &cfg, "2", now).unwrap();
    assert_eq!(e.rank, 2);
    let (_, e2) = ask::resolve(&store, &cfg, &format!("{}#2", d.date), now).unwrap();
    assert_eq!(e, e2);
    let err = ask::resolve(&store, &cfg, "9", now).unwrap_err().to_string();
    assert!(err.contains("no insight #9") && err.contains("valid: 1-5"), "{err}");
    let err = ask::resolve(&store, &cfg, "banana", now).unwrap_err().to_string();
    assert!(err.contains("YYYY-MM-DD#N"), "{err}");
    let err = ask::resolve(&store, &cfg, "2001-01-01#1", now).unwrap_err().to_string();
    assert!(err.contains("no digest with insights for 2001-01-01"), "{err}");
    // Said to chats too: no operator command in it.
    assert!(!err.contains("podsift "), "{err}");
}

// ---- the same episodes from other addresses ----

/// Writes the changelog fixture `name` and a one-episode feed pointing at it into `dir`, dated
/// `published`; returns the feed's file:// URL.
fn fixture_feed(dir: &std::path::Path, name: &str, podcast: &str, published: chrono::DateTime<Utc>) -> String {
    let md = std::fs::read(format!("{}/tests/fixtures/changelog/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let md_path = dir.join(name);
    std::fs::write(&md_path, md).unwrap();
    let md_url = url::Url::from_file_path(&md_path).unwrap();
    let feed = format!(
        "<rss version=\"2.0\" xmlns:podcast=\"https://podcastindex.org/namespace/1.0\"><channel><title>{podcast}</title>\
         <item><title>{name}</title><guid>{name}</guid><link>https://example.com/{name}</link><pubDate>{}</pubDate>\
         <podcast:transcript url=\"{md_url}\" type=\"text/markdown\"/></item></channel></rss>",
        published.to_rfc2822()
    );
    let feed_path = dir.join(format!("{name}.xml"));
    std::fs::write(&feed_path, feed).unwrap();
    url::Url::from_file_path(&feed_path).unwrap().to_string()
}

/// What a reader sees of a digest entry: everything but ids and links, which follow addresses.
fn seen(d: &podsift::model::Digest) -> Vec<String> {
    d.insights
        .iter()
        .map(|e| {
            let also: Vec<String> = e.also_in.iter().map(|a| format!("{} {}", a.podcast, a.quote)).collect();
            format!(
                "#{} {} | {} | {} | {:?} | {:.1} | {:.2} | {also:?}",
                e.rank, e.text, e.quote, e.podcast, e.speaker, e.start_seconds, e.score
            )
        })
        .collect()
}

/// Ingests the fixtures as feeds under `dir/prefix` into a fresh store at `now`; returns the
/// digest of that day and the episodes' titles in the order the store keeps them.
async fn digest_under(
    dir: &std::path::Path,
    prefix: &str,
    now: chrono::DateTime<Utc>,
) -> (podsift::model::Digest, Vec<String>) {
    let root = dir.join(prefix);
    std::fs::create_dir_all(&root).unwrap();
    let store = Store::open(&root.join("data")).unwrap();
    for (i, name) in FIXTURES.iter().enumerate() {
        let url = fixture_feed(&root, name, &format!("Show {i}"), now - Duration::hours(2 + i as i64));
        store.put_feed(&Feed::new(&url, now)).unwrap();
    }
    podsift::pipeline::ingest_and_extract(&store, &Config::default(), IngestOptions { now, force: false }, &Quiet)
        .await
        .unwrap();
    let cfg = DigestConfig::default();
    let d = digest::build(&store, &cfg, digest::today(&cfg, now), now).unwrap();
    let order = store.episodes().unwrap().into_iter().map(|e| e.title).collect();
    (d, order)
}

#[tokio::test]
async fn the_same_episodes_from_other_addresses_give_the_same_digest() {
    let dir = tempfile::tempdir().unwrap();
    // A fixed clock, late in the day: the whole run follows it, not the time the test runs.
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-28T23:30:00Z").unwrap().with_timezone(&Utc);
    let (first, first_order) = digest_under(dir.path(), "a", now).await;
    assert_eq!(first.insights.len(), FIXTURES.len(), "{first:#?}");
    // Other addresses give other episode ids, so the store holds (and one ingest extracts) the
    // episodes in another order; find addresses where it really differs.
    let mut other = None;
    for prefix in ["mirror-b", "mirror-c", "mirror-d", "mirror-e", "mirror-f", "mirror-g"] {
        let (d, order) = digest_under(dir.path(), prefix, now).await;
        if order != first_order {
            other = Some(d);
            break;
        }
    }
    let other = other.expect("some addresses change the order of episodes");
    assert_eq!(seen(&first), seen(&other));
    assert_ne!(first.insights[0].id, other.insights[0].id, "ids follow addresses");
}

// ---- one point, many shows ----

#[test]
fn a_point_six_shows_make_in_their_own_words_takes_one_slot() {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z").unwrap().with_timezone(&Utc);
    let same_point = [
        "Shipping small changes many times a day is far safer than one big quarterly release, because each deploy carries less risk.",
        "Big-bang releases are where outages come from; deploy small increments often and every change stays easy to roll back.",
        "The safest way to release software is to deploy tiny changes frequently rather than batching them into huge launches.",
        "When we moved from monthly releases to deploying small changes daily, our incident rate dropped by half.",
        "Frequent small deployments reduce risk: a large release bundles hundreds of changes, so finding the one that broke production takes days.",
        "Deploy often and deploy small; the bigger the batch of changes in a release, the riskier it gets.",
    ];
    let other_points = [
        "Deploy previews let designers review a change in the browser before anyone merges it.",
        "Rust's borrow checker catches data races at compile time, long before they reach production.",
        "Columnar storage made our analytics queries twelve times faster than the old row-based warehouse.",
        "Data contracts between producer and consumer teams stopped most silent schema breakages in our pipelines.",
        "Most incident reviews fail because teams write them to assign blame instead of finding the missing safeguard.",
    ];
    let mut candidates = Vec::new();
    for (i, text) in same_point.iter().chain(&other_points).enumerate() {
        let score = if i < same_point.len() { 6.0 - i as f64 * 0.1 } else { 5.0 - i as f64 * 0.05 };
        candidates.push(Insight {
            id: format!("i{i}"),
            episode_id: format!("e{i}"),
            feed_url: format!("https://show{i}.example/feed"),
            podcast: format!("Show {i}"),
            episode: format!("Episode {i}"),
            episode_url: None,
            speaker: None,
            start_seconds: 60.0,
            text: text.to_string(),
            quote: text.to_string(),
            score,
            published: at,
            source: TranscriptSource::Text,
            embedding: None,
        });
    }
    let cfg = DigestConfig::default();
    let entries =
        digest::rank(&candidates, &[], &Default::default(), &cfg, at - Duration::hours(40), at + Duration::hours(8));
    let texts: Vec<&str> = entries.iter().map(|e| e.text.as_str()).collect();
    let slots = texts.iter().filter(|t| same_point.contains(t)).count();
    assert_eq!(slots, 1, "{texts:#?}");
    assert_eq!(entries.len(), cfg.size, "{texts:#?}");
    // A different point on the same subject keeps its own slot.
    assert!(texts.contains(&other_points[0]), "{texts:#?}");
}

#[test]
fn ten_thousand_candidates_do_not_chain_into_a_giant_cluster() {
    // Real sentences of the demo transcripts, each repeated with four words swapped for words from
    // elsewhere: about five near-copies of each, and nothing that makes two sentences one point.
    let mut pool = Vec::new();
    for (_, text) in podsift::demo::TRANSCRIPTS {
        let segments = podsift::ingest::transcript::parse(TranscriptSource::Text, text.as_bytes()).unwrap();
        for s in sentences::split(&segments) {
            let t = s.text(&segments);
            if (12..=60).contains(&t.split_whitespace().count()) {
                pool.push(t.to_string());
            }
        }
    }
    let vocab: Vec<&str> = pool.iter().flat_map(|s| s.split_whitespace()).collect();
    let mut seed: u64 = 42;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let n = 10_000;
    let texts: Vec<String> = (0..n)
        .map(|i| {
            let mut words: Vec<&str> = pool[i % pool.len()].split_whitespace().collect();
            if i >= pool.len() {
                for _ in 0..4 {
                    let at = next() % words.len();
                    words[at] = vocab[next() % vocab.len()];
                }
            }
            words.join(" ")
        })
        .collect();
    let groups: Vec<String> = (0..n).map(|i| format!("ep{}", i / 8)).collect();
    let group_refs: Vec<&str> = groups.iter().map(String::as_str).collect();
    let v = podsift::insight::cluster::vectors(texts.iter().map(String::as_str));
    let clusters = podsift::insight::cluster::cluster(&v, &group_refs, 0.4);
    let largest = clusters.iter().map(Vec::len).max().unwrap_or(0);
    assert!(largest <= 50, "largest cluster {largest} of {n}");
    assert!(
        clusters.len() >= pool.len().min(n) / 2,
        "{} clusters for {} distinct sentences",
        clusters.len(),
        pool.len()
    );
}

/// The demo's episodes, published in the hours before 07:00 UTC on 2026-11-28, in a fresh store.
async fn demo_at_morning() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let morning = chrono::DateTime::parse_from_rfc3339("2026-11-28T07:00:00Z").unwrap().with_timezone(&Utc);
    podsift::demo::ingest_demo(&store, &Config::default(), morning, &Quiet).await.unwrap();
    (dir, store)
}

fn day(d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn build(store: &Store, config: &DigestConfig, d: u32) -> podsift::model::Digest {
    let at = day(d).and_hms_opt(12, 0, 0).unwrap().and_utc();
    digest::build_or_get(store, config, day(d), at).unwrap()
}

#[tokio::test]
async fn recency_window_hours_decides_which_episodes_a_day_draws_from() {
    let (_dir, store) = demo_at_morning().await;
    let default = DigestConfig::default();
    assert_eq!(default.recency_window_hours, 48);
    assert!(!build(&store, &default, 28).insights.is_empty());
    // Two days later the episodes are outside the default 48 hours...
    assert!(build(&store, &default, 30).insights.is_empty(), "episodes older than the window were drawn");
    // ...and inside a window of a week.
    let (_dir2, store3) = demo_at_morning().await;
    let week = DigestConfig { recency_window_hours: 7 * 24, ..DigestConfig::default() };
    assert_eq!(build(&store3, &week, 30).insights.len(), 5);
}

#[tokio::test]
async fn reader_feedback_tilts_a_later_digest_and_never_by_more_than_thirty_percent() {
    let config = DigestConfig {
        recency_window_hours: 96,
        novelty_days: 0,
        size: 60,
        max_per_episode: 20,
        ..DigestConfig::default()
    };
    let mut scores = Vec::new();
    for votes in [0, 1, 100] {
        let (_dir, store) = demo_at_morning().await;
        let first =
            build(&store, &DigestConfig { recency_window_hours: 96, novelty_days: 0, ..DigestConfig::default() }, 28);
        let liked = first.insights.last().unwrap().clone();
        for v in 0..votes {
            store.put_feedback(&format!("telegram:1|telegram:{v}"), &liked.id, true).unwrap();
        }
        let second = build(&store, &config, 29);
        let same = second.insights.iter().find(|e| e.podcast == liked.podcast).map(|e| e.score).unwrap_or(0.0);
        scores.push(same);
    }
    assert!(scores[1] > scores[0], "one 👍 did not lift the podcast: {scores:?}");
    let ratio = scores[2] / scores[0];
    assert!((ratio - 1.3).abs() < 0.02, "a hundred 👍 must lift by the cap of 30%, not {ratio:.3}");
    let one = scores[1] / scores[0];
    assert!((one - 1.05).abs() < 0.02, "one 👍 is a 5% tilt, not {one:.3}");
}

#[tokio::test]
async fn novelty_days_weighs_down_a_point_sent_in_the_last_days() {
    let mut scores = Vec::new();
    for novelty_days in [0u64, 7] {
        let dir = tempfile::tempdir().unwrap();
        let store = pipeline_store(dir.path()).await;
        let now = Utc::now();
        let cfg = DigestConfig { recency_window_hours: 96, novelty_days, ..DigestConfig::default() };
        let today = digest::today(&cfg, now);
        let first = digest::build_or_get(&store, &cfg, today, now).unwrap();
        assert!(first.insights.iter().any(|e| e.text.contains("config push")));
        // The next day, every remaining candidate shown: the other podcast's telling of the
        // same point is still a candidate.
        let wide = DigestConfig { size: 60, max_per_episode: 20, ..cfg.clone() };
        let next = digest::build(&store, &wide, today.succ_opt().unwrap(), now + Duration::days(1)).unwrap();
        let again = next.insights.iter().find(|e| e.text.contains("config push")).map(|e| e.score).unwrap();
        scores.push(again);
    }
    let ratio = scores[1] / scores[0];
    assert!((ratio - 0.35).abs() < 0.02, "a point sent yesterday should keep 35% of its score, kept {ratio:.3}");
}

/// Stores one episode of podcast `show`, published at `published`, with `text` as its one
/// candidate.
fn put_candidate(store: &Store, show: &str, published: chrono::DateTime<Utc>, text: &str) -> String {
    common::candidates::put_candidate(store, show, show, published, text, 3.0)
}

/// A reader ahead of the operator's timezone (Tokyo, the digest's day in UTC) has each day's
/// digest built the evening before: an episode published between two such builds is in the
/// next digest, not in neither.
#[test]
fn an_episode_between_two_early_builds_is_in_the_next_digest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let cfg = DigestConfig::default();
    let utc = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let early = put_candidate(
        &store,
        "early",
        utc("2026-11-28T20:00:00Z"),
        "Most outages start with a configuration change that skipped the canary stage entirely.",
    );
    // 07:00 in Tokyo on the 29th.
    let d29 = digest::build_or_get(&store, &cfg, day(29), utc("2026-11-28T22:00:00Z")).unwrap();
    assert_eq!(d29.insights.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), [early.as_str()]);
    let late = put_candidate(
        &store,
        "late",
        utc("2026-11-28T23:00:00Z"),
        "Columnar storage made the analytics queries twelve times faster than the row store.",
    );
    let d30 = digest::build_or_get(&store, &cfg, day(30), utc("2026-11-29T22:00:00Z")).unwrap();
    assert_eq!(
        d30.insights.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        [late.as_str()],
        "the episode published between the two builds was in no digest"
    );
}

/// A weekday schedule: Friday's digest, then Monday's. The weekend's episodes, older than the
/// 48-hour window on Monday, are in Monday's digest rather than in none.
#[test]
fn a_digest_after_a_weekend_without_one_takes_in_the_weekend() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let cfg = DigestConfig::default();
    let utc = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let friday = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    put_candidate(
        &store,
        "thursday",
        utc("2026-11-26T20:00:00Z"),
        "Most outages start with a configuration change that skipped the canary stage entirely.",
    );
    digest::build_or_get(&store, &cfg, friday, utc("2026-11-27T13:00:00Z")).unwrap();
    let weekend = put_candidate(
        &store,
        "saturday",
        utc("2026-11-28T10:00:00Z"),
        "Columnar storage made the analytics queries twelve times faster than the row store.",
    );
    let d = digest::build_or_get(&store, &cfg, monday, utc("2026-11-30T13:00:00Z")).unwrap();
    let ids: Vec<&str> = d.insights.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, [weekend.as_str()], "the weekend's episode was in no digest");
}

/// A weekday schedule beside a daily one on the same podcasts: the daily reader's Saturday and
/// Sunday digests were built (and sent to it), so Monday's digest holds only Monday's episodes.
/// The weekday reader's Monday copy still has the weekend's best, on their scores with
/// Monday's, and a question about one of them finds it; the daily reader's copy is Monday's.
#[test]
fn a_weekday_reader_has_the_weekends_best_when_a_daily_reader_had_them() {
    use podsift::deliver::{Delivery, DeliveryState, Destination, Schedule, Subscription};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let cfg = DigestConfig::default();
    let utc = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let put = |show: &str, at: &str, text: &str, score: f64| {
        common::candidates::put_candidate(&store, show, show, utc(at), text, score)
    };
    let thu = put(
        "thu",
        "2026-11-26T20:00:00Z",
        "Most outages start with a configuration change that skipped the canary.",
        3.0,
    );
    let fri = digest::build_or_get(&store, &cfg, day(27), utc("2026-11-27T13:00:00Z")).unwrap();
    let sat =
        put("sat", "2026-11-28T09:00:00Z", "Columnar storage made the analytics queries twelve times faster.", 5.0);
    let d28 = digest::build_or_get(&store, &cfg, day(28), utc("2026-11-28T13:00:00Z")).unwrap();
    let sun = put("sun", "2026-11-29T09:00:00Z", "Rust's borrow checker catches data races before they ship.", 1.0);
    let d29 = digest::build_or_get(&store, &cfg, day(29), utc("2026-11-29T13:00:00Z")).unwrap();
    let mon =
        put("mon", "2026-11-30T09:00:00Z", "Hiring junior developers and training them pays back within a year.", 3.0);
    let monday = digest::build_or_get(&store, &cfg, day(30), utc("2026-11-30T13:00:00Z")).unwrap();
    let ids = |d: &podsift::model::Digest| d.insights.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&monday), std::slice::from_ref(&mon));

    let sent = |to: &Destination, d: &podsift::model::Digest| Delivery {
        destination: to.clone(),
        date: d.date,
        state: DeliveryState::Sent { at: utc("2026-11-30T00:00:00Z") },
        attempts: 1,
        sent: (1..=d.insights.len()).map(|r| (Some(r), format!("m{r}"))).collect(),
        updated_at: utc("2026-11-30T00:00:00Z"),
        list: None,
        shown: ids(d),
        retry_at: None,
        reserve_points: vec![],
        last_error: None,
    };
    let since = utc("2026-11-01T00:00:00Z");
    let daily_to = Destination::new("console", "daily");
    let daily = Subscription::new(daily_to.clone(), Schedule::daily("13:00", "UTC").unwrap(), "t", since);
    let weekday_to = Destination::new("console", "weekday");
    let weekday =
        Subscription::new(weekday_to.clone(), Schedule::cron("0 0 13 * * Mon-Fri", "UTC").unwrap(), "t", since);
    let daily_had = [sent(&daily_to, &fri), sent(&daily_to, &d28), sent(&daily_to, &d29)];
    assert_eq!(ids(&daily.filter(&monday, &daily_had, cfg.novelty_days, cfg.size)), std::slice::from_ref(&mon));
    let copy = weekday.filter(&monday, &[sent(&weekday_to, &fri)], cfg.novelty_days, cfg.size);
    assert_eq!(ids(&copy), [sat.clone(), mon.clone(), sun.clone()], "Thursday's reached it on Friday");
    assert_eq!(copy.insights.iter().map(|e| e.rank).collect::<Vec<_>>(), [1, 2, 3]);
    // The numbers it was shown find the same insights again (a question about #1).
    assert_eq!(ids(&monday.as_shown(&ids(&copy))), ids(&copy));
    assert!(!ids(&copy).contains(&thu));
    // On Tuesday what the weekend left over is not brought again: only days since its last
    // digest are carried.
    let tue = put("tue", "2026-11-30T20:00:00Z", "Feature flags let teams ship dark and roll back in seconds.", 3.0);
    let december_1 = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let tuesday = digest::build_or_get(&store, &cfg, december_1, utc("2026-12-01T13:00:00Z")).unwrap();
    let had = [sent(&weekday_to, &fri), Delivery { shown: ids(&copy), ..sent(&weekday_to, &monday) }];
    assert_eq!(ids(&weekday.filter(&tuesday, &had, cfg.novelty_days, cfg.size)), std::slice::from_ref(&tue));
    // A chat subscribed on Sunday after that day's digest time was first owed Monday's: no
    // Sunday digest is carried to it.
    let late_to = Destination::new("console", "late");
    let late = Subscription::new(late_to, Schedule::daily("13:00", "UTC").unwrap(), "t", utc("2026-11-29T14:00:00Z"));
    assert_eq!(ids(&late.filter(&monday, &[], cfg.novelty_days, cfg.size)), std::slice::from_ref(&mon));
    // A chat paused as gone on Saturday and resumed since had neither weekend day.
    let gone = Delivery {
        state: DeliveryState::Failed { error: "destination gone: HTTP 410".into() },
        sent: vec![],
        ..sent(&weekday_to, &d28)
    };
    let back = weekday.filter(&monday, &[sent(&weekday_to, &fri), gone], cfg.novelty_days, cfg.size);
    assert_eq!(ids(&back), [sat.clone(), mon.clone(), sun.clone()]);
    // A chat that subscribed on Monday is owed nothing from before.
    let new_to = Destination::new("console", "new");
    let new = Subscription::new(new_to, Schedule::daily("13:00", "UTC").unwrap(), "t", utc("2026-11-30T10:00:00Z"));
    assert_eq!(ids(&new.filter(&monday, &[], cfg.novelty_days, cfg.size)), std::slice::from_ref(&mon));
    // A day whose digest is still being sent (retried after a failure) is not carried into the
    // next one's copy: the retry posts it.
    let stuck =
        Delivery { state: DeliveryState::Failed { error: "HTTP 503".into() }, sent: vec![], ..sent(&daily_to, &d29) };
    let copy = daily.filter(
        &monday,
        &[sent(&daily_to, &fri), sent(&daily_to, &d28), stuck.clone()],
        cfg.novelty_days,
        cfg.size,
    );
    assert_eq!(ids(&copy), std::slice::from_ref(&mon));
    // Also while it has shown nothing yet (waiting for the day's insights when it was tried).
    let waiting = Delivery { shown: vec![], ..stuck };
    let copy =
        daily.filter(&monday, &[sent(&daily_to, &fri), sent(&daily_to, &d28), waiting], cfg.novelty_days, cfg.size);
    assert_eq!(ids(&copy), std::slice::from_ref(&mon));
}

/// A question about an insight whose feed was removed says so, rather than "not covered".
#[tokio::test]
async fn asking_about_a_removed_feeds_insight_says_it_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path()).await;
    let entry = entry_for(&store, "Go Time #100");
    let feed = store.episode(&entry.episode_id).unwrap().unwrap().feed_url;
    assert!(store.remove_feed(&feed).unwrap());
    assert!(store.insights_of(&entry.episode_id).unwrap().is_empty(), "the removed feed's insights were left behind");
    let got = ask::ask(
        &store,
        &Config::default().ask,
        &entry,
        "what about go fmt?",
        &QuoteAnswerer { max_citations: 3 },
        &[],
    )
    .await;
    match got {
        Err(e @ ask::AskError::EpisodeGone(_)) => {
            let text = e.to_string();
            assert!(text.contains("Go Time #100") && text.contains("adding the podcast again"), "{text}");
        }
        other => panic!("answered from a removed episode: {other:?}"),
    }
}
