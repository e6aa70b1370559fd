//! Hostile sizes are handled or refused: inputs that once took quadratic time complete (what
//! they cost is printed by `cargo bench --bench hostile`, not asserted here), and the question
//! limit is enforced with a message that says it.

use podsift::ask::{self, AskError, MAX_QUESTION_CHARS, QuoteAnswerer};
use podsift::config::Config;
use podsift::deliver::Command;
use podsift::deliver::commands::parse_line;
use podsift::ingest::{opml, transcript};
use podsift::model::{DigestEntry, TranscriptSource};
use podsift::store::Store;

fn entry() -> DigestEntry {
    DigestEntry {
        rank: 1,
        id: "i".into(),
        episode_id: "e".into(),
        text: "Caching cut latency.".into(),
        quote: String::new(),
        podcast: "P".into(),
        episode: "E".into(),
        episode_url: None,
        speaker: None,
        start_seconds: 0.0,
        untimed: false,
        link: None,
        score: 1.0,
        also_in: vec![],
    }
}

#[tokio::test]
async fn a_100_kb_chat_message_asking_10000_words_is_refused_with_the_limit() {
    let question = ["why", "did", "caching", "help"].iter().cycle().take(10_000).copied().collect::<Vec<_>>().join(" ");
    let message = format!("/ask 1 {question}");
    assert!(message.len() > 40_000);
    let Ok(Some(Command::Ask { question, .. })) = parse_line(&message) else { panic!("not an ask") };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let got =
        ask::ask(&store, &Config::default().ask, &entry(), &question, &QuoteAnswerer { max_citations: 3 }, &[]).await;
    let Err(e @ AskError::TooLong(n)) = got else { panic!("a 10,000-word question was not refused") };
    assert_eq!(n, question.chars().count());
    assert!(e.to_string().contains(&MAX_QUESTION_CHARS.to_string()), "{e}");
    let at_limit = "w".repeat(MAX_QUESTION_CHARS);
    let got =
        ask::ask(&store, &Config::default().ask, &entry(), &at_limit, &QuoteAnswerer { max_citations: 3 }, &[]).await;
    assert!(!matches!(got, Err(AskError::TooLong(_))), "a question at the limit is asked");
}

#[test]
fn a_text_transcript_line_of_open_brackets_completes() {
    let line = "[".repeat(100_000);
    let segments = transcript::parse(TranscriptSource::Text, line.as_bytes()).unwrap();
    assert_eq!(segments.len(), 1);
    assert_eq!(segments[0].text.len(), 100_000);
}

#[test]
fn html_with_many_ampersands_and_script_tags_completes() {
    let html = format!("{}{}<p>said</p>", "&".repeat(100_000), "<SCRIPT>x</script>".repeat(5_000));
    let text = transcript::html_to_text(&html);
    assert!(text.starts_with(&"&".repeat(100)) && text.ends_with("said\n"), "{}", &text[text.len() - 20..]);
}

#[test]
fn an_opml_file_of_10000_outlines_is_read_whole_and_without_duplicates() {
    let mut text = String::from("<opml version=\"2.0\"><body>\n");
    for i in 0..10_000 {
        text.push_str(&format!("<outline text=\"F{i}\" xmlUrl=\"https://feeds.example/{}.xml\"/>\n", i % 9_000));
    }
    text.push_str("</body></opml>");
    let feeds = opml::parse(&text).unwrap();
    assert_eq!(feeds.len(), 9_000);
    assert_eq!(feeds[8_999].url, "https://feeds.example/8999.xml");
}
