//! Ingest throughput: feed parsing in MB/s on a generated 2,000-item feed, and transcript
//! parsing time for one hour of speech (a real Changelog transcript, ~9,000 words).

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

criterion_group!(benches, feeds, transcripts);
criterion_main!(benches);
