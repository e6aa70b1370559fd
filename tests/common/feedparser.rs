//! feedparser's feed test corpus (../shared/fixtures/feedparser) as a conformance check of
//! podsift's feed reading: every file served from a loopback server and read through
//! `podsift::ingest::read_feed`, the path of a fetched feed, then its entry count and first title
//! compared with what the file's `Expect:` lines say feedparser reads.
//!
//! Only expectations that can be compared honestly are: `len(entries) == N`, a reference to
//! `entries[i]` (feedparser read at least i+1 entries) and `entries[0]['title'] == '...'` (or
//! `title_detail['value']`). Files saying nothing of the kind are counted apart, never as agreement.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{FakeServer, Reply};
use podsift::config::IngestConfig;
use podsift::ingest::fetch::{Fetcher, Validators};

/// Bound of one file's fetch and parse: the corpus holds no file a reader should spend longer on.
pub const PER_FILE: Duration = Duration::from_secs(10);

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/feedparser")
}

/// What a file's `Expect:` lines say about its entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub count: Option<Count>,
    pub title: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Count {
    Exactly(usize),
    AtLeast(usize),
}

impl Count {
    pub fn holds(self, n: usize) -> bool {
        match self {
            Count::Exactly(m) => n == m,
            Count::AtLeast(m) => n >= m,
        }
    }
}

/// A corpus file: its path under the corpus, its bytes and its expectations.
pub struct CorpusFile {
    pub path: String,
    pub bytes: Vec<u8>,
    pub expect: Expectation,
}

/// Every `.xml` file of the corpus, sorted by path.
pub fn load() -> Vec<CorpusFile> {
    let root = corpus_dir();
    let mut paths = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let p = entry.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "xml") {
                paths.push(p);
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            let path = p.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
            let expect = expectation(&String::from_utf8_lossy(&bytes));
            CorpusFile { path, bytes, expect }
        })
        .collect()
}

/// Reads the `Expect:` lines of a file's header comment.
pub fn expectation(text: &str) -> Expectation {
    let header = text.split("-->").next().unwrap_or("");
    let mut count = None;
    let mut title = None;
    for line in header.lines().filter_map(|l| l.trim_start().strip_prefix("Expect:")) {
        if let Some(n) = line.split("len(entries) == ").nth(1).and_then(leading_number) {
            count = Some(Count::Exactly(n));
        }
        let highest = line.split("entries[").skip(1).filter_map(leading_number).max();
        if let (None, Some(i)) = (count, highest) {
            count = Some(Count::AtLeast(i + 1));
        }
        for key in ["entries[0]['title'] == ", "entries[0]['title_detail']['value'] == "] {
            if let Some(rest) = line.split(key).nth(1) {
                title = python_string(rest);
            }
        }
    }
    Expectation { count, title }
}

fn leading_number(s: &str) -> Option<usize> {
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Reads a Python string expression: literals (`'..'`, `"..'`, `u'..'`) joined by `+`.
pub fn python_string(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.trim_start().chars().peekable();
    loop {
        if chars.peek() == Some(&'u') {
            chars.next();
        }
        let quote = chars.next().filter(|c| *c == '\'' || *c == '"')?;
        loop {
            match chars.next()? {
                c if c == quote => break,
                '\\' => match chars.next()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'x' => out.push(hex_char(&mut chars, 2)?),
                    'u' => out.push(hex_char(&mut chars, 4)?),
                    'U' => out.push(hex_char(&mut chars, 8)?),
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        if chars.peek() != Some(&'+') {
            return Some(out);
        }
        chars.next();
        while chars.peek() == Some(&' ') {
            chars.next();
        }
    }
}

fn hex_char(chars: &mut impl Iterator<Item = char>, n: usize) -> Option<char> {
    let digits: String = chars.take(n).collect();
    char::from_u32(u32::from_str_radix(&digits, 16).ok()?)
}

/// What podsift read from one file: its episode count and first title, or the error.
#[derive(Debug, Clone)]
pub struct Read {
    pub path: String,
    pub result: Result<(usize, Option<String>), String>,
}

/// Serves every file from one loopback server and reads each through `read_feed`, a few at a
/// time. A read that takes longer than [`PER_FILE`] is reported as a hang.
pub async fn read_all_over_http(files: &[CorpusFile]) -> Vec<Read> {
    use futures_util::StreamExt;
    let server = FakeServer::start().await;
    for f in files {
        server.route(&format!("/{}", f.path), vec![Reply::ok(f.bytes.clone())]);
    }
    let config = IngestConfig::default();
    let fetcher = Fetcher::new(&config).unwrap();
    let (fetcher, server) = (&fetcher, &server);
    let mut reads: Vec<Read> = futures_util::stream::iter(files)
        .map(|f| async move {
            let url = server.url(&format!("/{}", f.path));
            let none = Validators::default();
            let read = podsift::ingest::read_feed(fetcher, &url, &none, config.max_feed_bytes);
            let result = match tokio::time::timeout(PER_FILE, read).await {
                Err(_) => Err(format!("HANG: no answer within {} s", PER_FILE.as_secs())),
                Ok(Err(e)) => Err(e.to_string()),
                Ok(Ok(podsift::ingest::FeedRead::Unchanged { .. })) => Err("unexpected 304".to_string()),
                Ok(Ok(podsift::ingest::FeedRead::Read(_, parsed))) => {
                    Ok((parsed.episodes.len(), parsed.episodes.first().and_then(|e| e.title.clone())))
                }
            };
            Read { path: f.path.clone(), result }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    reads.sort_by(|a, b| a.path.cmp(&b.path));
    reads
}

/// Agreement figures: (agreeing, compared) for counts and titles, and the files left out.
#[derive(Debug, Default)]
pub struct Figures {
    pub files: usize,
    pub counts: (usize, usize),
    pub titles: (usize, usize),
    pub counts_not_comparable: usize,
    pub titles_not_comparable: usize,
    pub disagreements: Vec<String>,
}

impl Figures {
    pub fn count_pct(&self) -> f64 {
        pct(self.counts)
    }
    pub fn title_pct(&self) -> f64 {
        pct(self.titles)
    }
}

fn pct((agree, of): (usize, usize)) -> f64 {
    if of == 0 { 100.0 } else { 100.0 * agree as f64 / of as f64 }
}

/// Titles are compared as text: feedparser keeps sanitized HTML where the title was HTML and
/// plain text where it was text, podsift always plain text. The Expect line does not say which
/// feedparser's is, so podsift's title agrees when it equals feedparser's either as it stands or
/// with its markup removed, both with runs of whitespace collapsed.
pub fn same_title(ours: &str, expected: &str) -> bool {
    let ours = collapse(ours);
    ours == collapse(expected) || ours == as_text(expected)
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An HTML fragment's text, with runs of whitespace collapsed.
pub fn as_text(s: &str) -> String {
    let text =
        if s.contains('<') || s.contains('&') { podsift::ingest::transcript::html_to_text(s) } else { s.to_string() };
    collapse(&text)
}

pub fn figures(files: &[CorpusFile], reads: &[Read]) -> Figures {
    let mut f = Figures { files: files.len(), ..Figures::default() };
    for (file, read) in files.iter().zip(reads) {
        assert_eq!(file.path, read.path);
        let (n, title) = match &read.result {
            Ok((n, title)) => (*n, title.clone()),
            Err(_) => (0, None),
        };
        match file.expect.count {
            Some(count) => {
                f.counts.1 += 1;
                if count.holds(n) {
                    f.counts.0 += 1;
                } else {
                    let why = read.result.as_ref().err().map(|e| format!(" ({e})")).unwrap_or_default();
                    f.disagreements.push(format!("{}: count {n}, expected {count:?}{why}", file.path));
                }
            }
            None => f.counts_not_comparable += 1,
        }
        match &file.expect.title {
            Some(expected) => {
                f.titles.1 += 1;
                let ours = title.as_deref().unwrap_or("");
                if same_title(ours, expected) {
                    f.titles.0 += 1;
                } else {
                    f.disagreements.push(format!("{}: title {ours:?}, expected {:?}", file.path, as_text(expected)));
                }
            }
            None => f.titles_not_comparable += 1,
        }
    }
    f
}

/// The figures as a few lines for a person.
pub fn report(f: &Figures) -> String {
    format!(
        "feedparser corpus: {} files\n\
         entry counts: {}/{} agree ({:.2}%); {} files state no entry count\n\
         first titles: {}/{} agree ({:.2}%); {} files state no first title",
        f.files,
        f.counts.0,
        f.counts.1,
        f.count_pct(),
        f.counts_not_comparable,
        f.titles.0,
        f.titles.1,
        f.title_pct(),
        f.titles_not_comparable,
    )
}
