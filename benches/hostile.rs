//! Hostile input, measured: a transcript of a million tiny segments (each format), a feed of
//! 100,000 items, one of 200,000 elements never closed, a 10,000-line OPML file, a 100 KB chat message and a 10,000-word question.
//! Prints, for each, the time and the peak heap it took at the full size and at half of it: the
//! ratio of the two times says how the work grows (about 2 when linear, 4 when quadratic).
//! Nothing here fails on a figure; the machine is shared and timings are noisy.
//!
//! `cargo bench --bench hostile`

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use chrono::Utc;
use podsift::adapters::{discord, slack, telegram};
use podsift::ask::{self, QuoteAnswerer};
use podsift::config::Config;
use podsift::deliver::commands::parse_line;
use podsift::deliver::parts::split_text;
use podsift::deliver::{Part, TextUnit};
use podsift::ingest::transcript;
use podsift::model::TranscriptSource;

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            let now = if new_size >= layout.size() {
                IN_USE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size()
            } else {
                IN_USE.fetch_sub(layout.size() - new_size, Ordering::Relaxed) - (layout.size() - new_size)
            };
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `work` on the input `make(n)` builds, for n and n / 2, and prints seconds, peak heap
/// above what the input itself holds, and the growth of the time.
fn measure<T>(what: &str, n: usize, make: impl Fn(usize) -> T, work: impl Fn(&T) -> String) {
    let mut times = Vec::new();
    let mut line = String::new();
    for size in [n / 2, n] {
        let input = make(size);
        let base = IN_USE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let start = Instant::now();
        let outcome = work(&input);
        let secs = start.elapsed().as_secs_f64();
        let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
        times.push(secs);
        let _ = writeln!(line, "  n={size:>9}: {secs:>8.3} s, peak {:>7.1} MB ({outcome})", peak as f64 / 1e6);
    }
    println!("{what}\n{line}  time(n) / time(n/2) = {:.2}", times[1] / times[0].max(1e-9));
}

fn json_transcript(n: usize) -> Vec<u8> {
    let mut s = String::from("{\"version\":\"1.0.0\",\"segments\":[");
    for i in 0..n {
        let t = i as f64 * 0.3;
        let _ = write!(
            s,
            "{}{{\"speaker\":\"A\",\"startTime\":{t:.1},\"endTime\":{:.1},\"body\":\"w{}\"}}",
            if i > 0 { "," } else { "" },
            t + 0.2,
            i % 97
        );
    }
    s.push_str("]}");
    s.into_bytes()
}

fn cues(n: usize, vtt: bool) -> Vec<u8> {
    let mut s = String::from(if vtt { "WEBVTT\n\n" } else { "" });
    let sep = if vtt { '.' } else { ',' };
    for i in 0..n {
        let (a, b) = (i * 300, i * 300 + 200);
        let ts = |ms: usize| {
            format!("{:02}:{:02}:{:02}{sep}{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
        };
        let _ = write!(s, "{}\n{} --> {}\nw{}.\n\n", i + 1, ts(a), ts(b), i % 97);
    }
    s.into_bytes()
}

fn text_transcript(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| {
            if i % 500 == 0 {
                format!("[{:02}:{:02}] w.\n", i / 200 / 60 % 60, i / 200 % 60)
            } else {
                format!("w{}.\n", i % 97)
            }
        })
        .collect::<String>()
        .into_bytes()
}

fn feed(n: usize) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\"><channel><title>Big</title>",
    );
    for i in 0..n {
        let _ = write!(
            s,
            "<item><title>Episode {i}</title><guid>g{i}</guid><pubDate>Sat, 28 Nov 2026 06:00:00 GMT</pubDate><itunes:duration>12:34</itunes:duration><enclosure url=\"/a/{i}.mp3\" type=\"audio/mpeg\"/><description>Notes &amp; more</description></item>"
        );
    }
    s.push_str("</channel></rss>");
    s.into_bytes()
}

/// An item whose notes open `n` elements and close none: each would be a level deeper.
fn unclosed_feed(n: usize) -> Vec<u8> {
    let mut s = String::from("<rss><channel><title>Deep</title><item><title>One</title><description>");
    s.push_str(&"<a>x".repeat(n));
    s.push_str("</description></item></channel></rss>");
    s.into_bytes()
}

fn opml(n: usize) -> String {
    let mut s = String::from("<?xml version=\"1.0\"?><opml version=\"2.0\"><body>\n");
    for i in 0..n {
        let _ = writeln!(s, "<outline type=\"rss\" text=\"Feed {i}\" xmlUrl=\"https://feeds.example/{i}.xml\"/>");
    }
    s.push_str("</body></opml>");
    s
}

fn message(n: usize) -> String {
    // Markup, escapes and emoji, so every renderer escapes and counts wide characters.
    "ask 2 why <b>&amp; 😀 [laughs] ".chars().cycle().take(n).collect()
}

fn main() {
    println!("hostile input: time and peak heap at n/2 and n\n");
    for (source, name) in [
        (TranscriptSource::Json, "JSON"),
        (TranscriptSource::Vtt, "VTT"),
        (TranscriptSource::Srt, "SRT"),
        (TranscriptSource::Text, "text"),
    ] {
        let make = |n| match source {
            TranscriptSource::Json => json_transcript(n),
            TranscriptSource::Vtt => cues(n, true),
            TranscriptSource::Srt => cues(n, false),
            _ => text_transcript(n),
        };
        measure(&format!("{name} transcript of a million one-word segments"), 1_000_000, make, |bytes| {
            let segments = transcript::parse(source, bytes).map(|s| s.len()).unwrap_or(0);
            format!("{:.0} MB in, {segments} segments", bytes.len() as f64 / 1e6)
        });
    }
    measure(
        "text transcript line of 100 KB of '[' (no closing bracket)",
        100_000,
        |n| "[".repeat(n),
        |t| {
            format!(
                "{} segments",
                transcript::parse(TranscriptSource::Text, t.as_bytes()).map(|s| s.len()).unwrap_or(0)
            )
        },
    );
    measure(
        "HTML transcript of 100 KB of '&' and of <script> pairs",
        100_000,
        |n| format!("{}{}", "&".repeat(n), "<script>x</script>".repeat(n / 18)),
        |t| format!("{} bytes of text", transcript::html_to_text(t).len()),
    );
    measure("feed of 100,000 items", 100_000, feed, |bytes| {
        let parsed = podsift::ingest::feed::parse_feed(bytes, "https://feeds.example/big.xml");
        format!("{:.0} MB in, {} episodes", bytes.len() as f64 / 1e6, parsed.map(|f| f.episodes.len()).unwrap_or(0))
    });
    measure("feed of 200,000 elements opened and never closed", 200_000, unclosed_feed, |bytes| {
        let parsed = podsift::ingest::feed::parse_feed(bytes, "https://feeds.example/deep.xml");
        format!("{:.1} MB in, {} episodes", bytes.len() as f64 / 1e6, parsed.map(|f| f.episodes.len()).unwrap_or(0))
    });
    measure("OPML of 10,000 outlines", 10_000, opml, |text| {
        format!("{} feeds", podsift::ingest::opml::parse(text).map(|f| f.len()).unwrap_or(0))
    });
    measure("chat message of 100 KB: command, split and rendered for each platform", 100_000, message, |text| {
        let command = parse_line(&format!("/{text}")).is_ok();
        let mut parts = 0;
        for (max, unit) in [
            (telegram::MAX_TEXT, TextUnit::Utf16),
            (discord::MAX_CONTENT, TextUnit::Chars),
            (slack::MAX_SECTION, TextUnit::Chars),
        ] {
            for piece in split_text(text, max, unit) {
                let part = Part::Text(piece);
                let _ = (telegram::render(&part), discord::render(&part), slack::render(&part));
                parts += 1;
            }
        }
        format!("command parsed: {command}, {parts} parts")
    });

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = podsift::store::Store::open(dir.path()).unwrap();
    let config = Config::default();
    let now = Utc::now();
    runtime.block_on(podsift::demo::ingest_demo(&store, &config, now, &podsift::ingest::Quiet)).unwrap();
    let digest = podsift::insight::digest::build_or_get(
        &store,
        &config.digest,
        podsift::insight::digest::today(&config.digest, now),
        now,
    )
    .unwrap();
    let entry = digest.insights[0].clone();
    let answerer = QuoteAnswerer { max_citations: 3 };
    let words = ["caching", "latency", "why", "the", "team", "said", "about", "numbers"];
    let question = |n: usize| words.iter().cycle().take(n).copied().collect::<Vec<_>>().join(" ");
    let ask = |q: &String| match runtime.block_on(ask::ask(&store, &config.ask, &entry, q, &answerer, &Vec::new())) {
        Ok(a) => format!("answered, {} citation(s)", a.citations.len()),
        Err(e) => format!("refused: {}", e.to_string().chars().take(60).collect::<String>()),
    };
    measure("question of 10,000 words (over the limit)", 10_000, question, ask);
    measure("question at the limit (about 300 words)", 300, question, ask);
}
