//! Ingest throughput: feed parsing in MB/s on a generated 2,000-item feed, transcript parsing
//! time for one hour of speech (a real Changelog transcript, ~9,000 words), and what finding the
//! work left costs an ingest in a store with years of episodes: through the feed index that
//! says what each episode still wants, beside reading every episode (what each ingest did
//! before, as did every digest build), in the same run.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use podsift::ingest::feed::parse_feed;
use podsift::ingest::transcript;
use podsift::model::TranscriptSource;

fn generated_feed(items: usize) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\" xmlns:podcast=\"https://podcastindex.org/namespace/1.0\"><channel><title>Bench</title>\n",
    );
    for i in 0..items {
        s.push_str(&format!(
            "<item><title>Episode {i}: a title of typical length</title><guid isPermaLink=\"false\">guid-{i}</guid>\
             <pubDate>Sat, 28 Nov 2026 10:00:00 +0000</pubDate><link>https://example.com/ep/{i}</link>\
             <description><![CDATA[<p>Show notes for episode {i}, with <a href=\"https://example.com\">links</a> and a paragraph of text about what was discussed in this episode of the show.</p>]]></description>\
             <enclosure url=\"https://cdn.example.com/{i}.mp3\" length=\"50000000\" type=\"audio/mpeg\"/><itunes:duration>1:02:03</itunes:duration>\
             <podcast:transcript url=\"https://example.com/{i}.vtt\" type=\"text/vtt\" language=\"en\"/>\
             <podcast:person role=\"guest\">Guest {i}</podcast:person></item>\n"
        ));
    }
    s.push_str("</channel></rss>");
    s
}

fn feeds(c: &mut Criterion) {
    let feed = generated_feed(2000);
    let mut g = c.benchmark_group("feed_parse");
    g.throughput(Throughput::Bytes(feed.len() as u64));
    g.sample_size(10);
    g.bench_function("2000_items", |b| {
        b.iter(|| {
            let parsed = parse_feed(feed.as_bytes(), "https://example.com/feed").unwrap();
            assert_eq!(parsed.episodes.len(), 2000);
        })
    });
    g.finish();
}

fn transcripts(c: &mut Criterion) {
    let (_, hour) = podsift::demo::TRANSCRIPTS.iter().find(|(n, _)| *n == "go-time-100.md").unwrap();
    let mut g = c.benchmark_group("transcript_parse");
    g.throughput(Throughput::Bytes(hour.len() as u64));
    g.bench_function("one_hour_markdown", |b| {
        b.iter(|| transcript::parse(TranscriptSource::Text, hour.as_bytes()).unwrap())
    });
    // The same hour as WebVTT cues, the most common caption format.
    let segs = transcript::parse(TranscriptSource::Text, hour.as_bytes()).unwrap();
    let mut vtt = String::from("WEBVTT\n\n");
    for s in &segs {
        let t = |x: f64| format!("{:02}:{:02}:{:06.3}", (x / 3600.0) as u64, ((x % 3600.0) / 60.0) as u64, x % 60.0);
        vtt.push_str(&format!(
            "{} --> {}\n<v {}>{}\n\n",
            t(s.start),
            t(s.end),
            s.speaker.as_deref().unwrap_or("X"),
            s.text
        ));
    }
    g.throughput(Throughput::Bytes(vtt.len() as u64));
    g.bench_function("one_hour_vtt", |b| b.iter(|| transcript::parse(TranscriptSource::Vtt, vtt.as_bytes()).unwrap()));
    g.finish();
}

fn pending_work(c: &mut Criterion) {
    use podsift::model::{Episode, TranscriptStatus};
    let dir = tempfile::tempdir().unwrap();
    let store = podsift::store::Store::open(dir.path()).unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
    // 100 feeds of 200 episodes, every one done, with show notes of a typical 2 KB.
    let notes = "Show notes with links and a paragraph about what was discussed. ".repeat(32);
    for f in 0..100 {
        let feed = format!("https://feeds.example/{f}");
        for e in 0..200 {
            let mut ep = Episode::new(&format!("{f:03}-{e:03}"), &feed, &format!("Episode {e}"), at);
            ep.show_notes = notes.clone();
            ep.transcript = TranscriptStatus::Stored { source: TranscriptSource::Vtt, bytes: 50_000, segments: 600 };
            ep.insights_extracted = true;
            store.put_insights(&ep, &[], Some(&[])).unwrap();
        }
    }
    store.flush().unwrap();
    let mut g = c.benchmark_group("pending_work_20k_episodes");
    g.sample_size(10);
    g.bench_function("through_the_index", |b| {
        b.iter(|| {
            assert!(store.episodes_wanting_extraction().unwrap().is_empty());
            for f in 0..100 {
                assert!(
                    store.episode_ids_wanting_transcript(&format!("https://feeds.example/{f}")).unwrap().is_empty()
                );
            }
        })
    });
    // A day's digest long after those episodes: its window holds none of them.
    let cfg = podsift::config::Config::default().digest;
    let later = at + chrono::Duration::days(300);
    g.bench_function("digest_build_through_the_date_index", |b| {
        b.iter(|| {
            let d = podsift::insight::digest::build(&store, &cfg, later.date_naive(), later).unwrap();
            assert!(d.insights.is_empty());
        })
    });
    g.bench_function("reading_every_episode", |b| {
        b.iter(|| {
            let all = store.episodes().unwrap();
            assert!(all.iter().all(|e| !e.wants_extraction() && !e.wants_transcript()));
        })
    });
    g.finish();
}

criterion_group!(benches, feeds, transcripts, pending_work);
criterion_main!(benches);
