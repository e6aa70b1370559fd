//! feedparser's 2,106-file test corpus read over HTTP, the way ingest reads a fetched feed: no
//! file may panic a reader or hang it, and agreement with feedparser's entry counts and first
//! titles may not fall below what it is now. `cargo bench --bench feed_agreement` prints the
//! figures and every disagreement.
//!
//! Disagreements kept on purpose are listed in tests/fixtures/README.md with their reason.

mod common;

use common::feedparser::{self, PER_FILE};

/// The agreement reached (percent, rounded down); raise them when the reader gets better.
const MIN_COUNT_AGREEMENT: f64 = 100.0;
const MIN_TITLE_AGREEMENT: f64 = 99.3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feedparser_corpus_reads_over_http_without_panic_or_hang_and_agrees_with_feedparser() {
    let files = feedparser::load();
    assert!(files.len() > 2000, "the corpus is missing: {}", feedparser::corpus_dir().display());
    let started = std::time::Instant::now();
    let reads = feedparser::read_all_over_http(&files).await;
    let broken: Vec<_> = reads
        .iter()
        .filter_map(|r| {
            r.result.as_ref().err().filter(|e| e.contains("HANG") || e.contains("parser failed")).map(|e| (r, e))
        })
        .map(|(r, e)| format!("{}: {e}", r.path))
        .collect();
    assert!(broken.is_empty(), "panics or hangs (bound {} s each):\n{}", PER_FILE.as_secs(), broken.join("\n"));
    let figures = feedparser::figures(&files, &reads);
    eprintln!("{}\nread in {:.1} s", feedparser::report(&figures), started.elapsed().as_secs_f64());
    assert!(
        figures.count_pct() >= MIN_COUNT_AGREEMENT && figures.title_pct() >= MIN_TITLE_AGREEMENT,
        "agreement fell:\n{}\n{}",
        feedparser::report(&figures),
        figures.disagreements.join("\n")
    );
}

#[test]
fn expect_lines_are_read_like_python_would() {
    let e = feedparser::expectation(
        "<!--\nExpect: not bozo and entries[1]['title'] == u'a' and entries[0]['title'] == 'x\\'y' + \"-\\u00e9\"\n-->",
    );
    assert_eq!(e.count, Some(feedparser::Count::AtLeast(2)));
    assert_eq!(e.title.as_deref(), Some("x'y-é"));
    let e = feedparser::expectation("<!--\nExpect: len(entries) == 0\n-->");
    assert_eq!((e.count, e.title), (Some(feedparser::Count::Exactly(0)), None));
    let e = feedparser::expectation("<!--\nExpect: not bozo and feed['title'] == 'x'\n-->");
    assert_eq!((e.count, e.title), (None, None));
}
