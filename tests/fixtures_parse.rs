//! Every fixture feed and transcript format, parsed with asserted content.

use podsift::ingest::feed::parse_feed;
use podsift::ingest::transcript;
use podsift::model::TranscriptSource;

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn podcast_namespace_example() {
    let feed = parse_feed(&fixture("feeds/podcast-namespace_example.xml"), "https://example.com/feed.xml").unwrap();
    assert_eq!(feed.title.as_deref(), Some("Podcasting 2.0 Namespace Example"));
    let titles: Vec<_> = feed.episodes.iter().map(|e| e.title.clone().unwrap()).collect();
    assert_eq!(titles, ["Episode 3 - The Future", "Episode 2 - The Present", "Episode 1 - The Past"]);
    let ep3 = &feed.episodes[0];
    assert_eq!(ep3.guid.as_deref(), Some("https://example.com/ep0003"));
    assert_eq!(ep3.chapters_url.as_deref(), Some("https://example.com/ep3_chapters.json"));
    assert_eq!(ep3.transcripts.len(), 1);
    assert_eq!(ep3.transcripts[0].url, "https://example.com/ep3/transcript.txt");
    assert_eq!(ep3.transcripts[0].mime, "text/plain");
    let people: Vec<_> = ep3.persons.iter().map(|p| (p.name.as_str(), p.role.as_deref())).collect();
    assert_eq!(people, [("Adam Curry", None), ("Dave Jones", Some("guest"))]);
    assert!(feed.warnings.is_empty(), "{:?}", feed.warnings);
}

#[test]
fn transistor_feed_keeps_duration_and_all_transcripts() {
    let feed = parse_feed(&fixture("feeds/feed-rs_rss_2.0_transistorfm.xml"), "https://feeds.transistor.fm/x").unwrap();
    assert_eq!(feed.title.as_deref(), Some("Oxide and Friends"));
    assert_eq!(feed.episodes.len(), 1);
    let ep = &feed.episodes[0];
    assert_eq!(ep.title.as_deref(), Some("Lip-Bu Tan's Intel"));
    assert_eq!(ep.guid.as_deref(), Some("f59c0c51-94a1-415e-9d9e-739f5132aac4"));
    assert_eq!(ep.duration_secs, Some(4968));
    let mimes: Vec<_> = ep.transcripts.iter().map(|t| t.mime.as_str()).collect();
    assert_eq!(mimes, ["text/vtt", "application/x-subrip", "application/json", "text/plain", "text/html"]);
    assert_eq!(ep.transcripts[0].rel.as_deref(), Some("captions"));
    // The richest format is picked first.
    let ranked = transcript::ranked_links(&ep.transcripts);
    assert_eq!(ranked[0].0, TranscriptSource::Json);
    assert!(ranked[0].1.url.ends_with("transcription.json"));
    let hosts: Vec<_> = ep.persons.iter().map(|p| p.name.as_str()).collect();
    assert!(hosts.contains(&"Bryan Cantrill") && hosts.contains(&"Adam Leventhal"), "{hosts:?}");
    assert!(ep.published.is_some());
}

#[test]
fn feed_missing_channel_still_gives_its_episodes() {
    let feed = parse_feed(&fixture("feeds/podcast-feed-parser_bc-sample-bad.xml"), "https://x/rss").unwrap();
    assert_eq!(feed.episodes.len(), 4);
    assert_eq!(feed.episodes[0].title.as_deref(), Some("Confidential Business Information under TSCA"));
    assert_eq!(feed.episodes[0].guid.as_deref(), Some("9a7e7418443444538633719efdfbe7fa"));
    assert_eq!(feed.title.as_deref(), Some("All Things Chemical"));
    assert!(feed.episodes.iter().all(|e| e.enclosure_url.is_some()));
}

#[test]
fn undeclared_podcast_prefix_still_yields_the_transcript_link() {
    let feed = parse_feed(&fixture("feeds/podcastparser_episode_podcast_transcript.rss"), "https://x/rss").unwrap();
    assert_eq!(feed.episodes.len(), 1);
    let ep = &feed.episodes[0];
    assert_eq!(ep.title.as_deref(), Some("Episode"));
    assert_eq!(ep.transcripts.len(), 1);
    assert_eq!(ep.transcripts[0].url, "https://example.com/1/transcript.txt");
    assert_eq!(ep.transcripts[0].mime, "text/plain");
    assert_eq!(ep.enclosure_url.as_deref(), Some("http://example.org/example.mp3"));
}

#[test]
fn undeclared_prefix_chapters() {
    let feed = parse_feed(&fixture("feeds/podcastparser_episode_podcast_chapters.rss"), "https://x/rss").unwrap();
    assert_eq!(feed.episodes[0].chapters_url.as_deref(), Some("https://example.com/1/chapters.json"));
}

#[test]
fn item_without_guid_or_title_gets_a_stable_identity() {
    let bytes = fixture("feeds/podcastparser_no_guid.rss");
    let a = parse_feed(&bytes, "https://x/rss").unwrap();
    let b = parse_feed(&bytes, "https://x/rss").unwrap();
    assert_eq!(a.episodes.len(), 1);
    let ep = &a.episodes[0];
    assert_eq!(ep.guid, None);
    assert_eq!(ep.title, None);
    assert_eq!(ep.enclosure_url.as_deref(), Some("http://example.com/test.ogg"));
    assert_eq!(ep.link.as_deref(), Some("http://example.com/episode/1"));
    let id_a = podsift::ingest::episode_id("https://x/rss", &a.episodes[0]);
    let id_b = podsift::ingest::episode_id("https://x/rss", &b.episodes[0]);
    assert_eq!(id_a, id_b);
}

#[test]
fn html_in_cdata_description_becomes_text() {
    let feed = parse_feed(&fixture("feeds/podcastparser_html_in_description.rss"), "https://x/rss").unwrap();
    assert_eq!(feed.title.as_deref(), Some("HTML Podcast"));
    assert_eq!(feed.episodes[0].show_notes.trim(), "This is a test");
}

#[test]
fn srt_fixture() {
    let segs = transcript::parse(TranscriptSource::Srt, &fixture("transcripts/example.srt")).unwrap();
    assert_eq!(segs[0].speaker.as_deref(), Some("Travis"));
    assert!(segs[0].text.starts_with("When you first get started in podcasting, it's almost guaranteed"));
    assert!((segs[0].start - 0.179).abs() < 1e-9);
    let speakers: std::collections::BTreeSet<_> = segs.iter().filter_map(|s| s.speaker.as_deref()).collect();
    assert_eq!(speakers.into_iter().collect::<Vec<_>>(), ["Gilon", "Sarah", "Travis"]);
    assert!(segs.windows(2).all(|w| w[0].start <= w[1].start));
    assert!(segs.iter().all(|s| s.end >= s.start));
}

#[test]
fn vtt_fixture_with_crlf_and_voices() {
    let segs = transcript::parse(TranscriptSource::Vtt, &fixture("transcripts/docs_example.vtt")).unwrap();
    assert_eq!(segs[0].speaker.as_deref(), Some("Sarah"));
    assert_eq!(segs[0].start, 0.0);
    assert!(
        segs[0].text.starts_with("In today's episode, you'll learn whether or not you should have a podcast trailer.")
    );
    assert!(segs.iter().any(|s| s.speaker.as_deref() == Some("Gillian")));
    assert!(segs.iter().all(|s| !s.text.contains('\r') && !s.text.contains("<v")));
    assert!(segs.iter().any(|s| s.text.contains("Q&A")));
}

#[test]
fn json_fixture_merges_words() {
    let segs = transcript::parse(TranscriptSource::Json, &fixture("transcripts/example.json")).unwrap();
    assert_eq!(segs[0].speaker.as_deref(), Some("Darth Vader"));
    assert_eq!(segs[0].text, "I am your father.");
    assert_eq!(segs[0].start, 0.5);
    assert_eq!(segs[1].speaker.as_deref(), Some("Luke"));
}

#[test]
fn changelog_markdown_transcript() {
    let (_, text) = podsift::demo::TRANSCRIPTS.iter().find(|(n, _)| *n == "go-time-100.md").unwrap();
    let segs = transcript::parse(TranscriptSource::Text, text.as_bytes()).unwrap();
    assert_eq!(segs[0].speaker.as_deref(), Some("Carmen Andoh"));
    assert_eq!(segs[0].start, 0.0);
    assert!(segs[0].text.starts_with("Welcome, everybody, to Go Time!"));
    let pike = segs.iter().find(|s| s.text == "45 minutes.").unwrap();
    assert_eq!(pike.speaker.as_deref(), Some("Rob Pike"));
    assert_eq!(pike.start, 4.0 * 60.0 + 22.0);
    assert!(segs.windows(2).all(|w| w[0].start <= w[1].start));
    assert!(segs.iter().all(|s| !s.text.contains("\\[")));
}
