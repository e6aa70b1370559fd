//! Transcripts: pick the richest format an episode offers and parse it into timed segments.
//!
//! Each format has its own small parser (`json`, `vtt`, `srt`, `html`, `text`); all of them
//! return the same `Segment`s, with times in seconds and the speaker when the format names one.
//! Input is untrusted: parsers never panic, skip what they cannot read, and fail only when
//! nothing usable is left.

pub mod html;
mod json;
mod srt;
mod text;
mod vtt;

use crate::model::{Segment, TranscriptLink, TranscriptSource};

pub use html::html_to_text;

/// Spoken words per second, for estimating times where a transcript gives none (~150 wpm).
pub const WORDS_PER_SECOND: f64 = 2.5;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TranscriptError {
    #[error("transcript is not valid {format}: {reason}")]
    Invalid { format: &'static str, reason: String },
    #[error("transcript ({format}) holds no text")]
    Empty { format: &'static str },
    #[error("transcript type {0:?} is not supported (json, vtt, srt, html and plain text are)")]
    Unsupported(String),
}

/// The format a transcript link declares, from its MIME type (or its URL's extension).
pub fn source_of(link: &TranscriptLink) -> Option<TranscriptSource> {
    let mime = link.mime.split(';').next().unwrap_or("").trim();
    let by_mime = match mime {
        "application/json" | "application/x-json" | "text/json" => Some(TranscriptSource::Json),
        "text/vtt" | "text/webvtt" => Some(TranscriptSource::Vtt),
        "application/x-subrip" | "application/srt" | "text/srt" | "text/x-srt" => Some(TranscriptSource::Srt),
        "text/html" | "application/xhtml+xml" => Some(TranscriptSource::Html),
        "text/plain" | "text/markdown" => Some(TranscriptSource::Text),
        _ => None,
    };
    by_mime.or_else(|| {
        let path = link.url.split(['?', '#']).next().unwrap_or("");
        let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(TranscriptSource::Json),
            "vtt" => Some(TranscriptSource::Vtt),
            "srt" => Some(TranscriptSource::Srt),
            "html" | "htm" => Some(TranscriptSource::Html),
            "txt" | "md" => Some(TranscriptSource::Text),
            _ => None,
        }
    })
}

/// Preference among formats: richer timing and speaker data first.
fn rank(source: TranscriptSource) -> u8 {
    match source {
        TranscriptSource::Json => 0,
        TranscriptSource::Vtt => 1,
        TranscriptSource::Srt => 2,
        TranscriptSource::Html => 3,
        TranscriptSource::Text => 4,
        TranscriptSource::ShowNotes | TranscriptSource::SpeechToText => 9,
    }
}

/// The episode's transcript links that podsift can read, best first.
pub fn ranked_links(links: &[TranscriptLink]) -> Vec<(TranscriptSource, &TranscriptLink)> {
    let mut out: Vec<_> = links.iter().filter_map(|l| source_of(l).map(|s| (s, l))).collect();
    out.sort_by_key(|(s, _)| rank(*s));
    out
}

/// Parses a transcript of the given format into segments ordered by start time.
pub fn parse(source: TranscriptSource, bytes: &[u8]) -> Result<Vec<Segment>, TranscriptError> {
    let text = decode(bytes);
    let text = text.trim_start_matches('\u{feff}');
    // Compressed or audio bytes read as Windows-1252 are "text" too: stored, their noise would
    // become insights and end the episode's attempts.
    if let Some(what) = binary(bytes, text) {
        return Err(TranscriptError::Invalid {
            format: source.key(),
            reason: format!("the server sent {what}, not text; the link may point at the wrong file"),
        });
    }
    let (format, segments) = match source {
        TranscriptSource::Json => ("json", json::parse(text)?),
        TranscriptSource::Vtt => ("vtt", vtt::parse(text)?),
        TranscriptSource::Srt => ("srt", srt::parse(text)?),
        TranscriptSource::Html => {
            let words = html_to_text(text);
            // An error or challenge page served with 200 is no transcript: stored, it would end
            // the episode's attempts with a page's words for insights.
            if let Some(title) = error_page_title(text, &words) {
                return Err(TranscriptError::Invalid {
                    format: "html",
                    reason: format!(
                        "the server sent a short page titled {title:?} (an error or sign-in page?), not a transcript"
                    ),
                });
            }
            ("html", text::parse(&words))
        }
        // A plain-text link answered with a web page is a sign-in or "not found" page served
        // with 200, not the episode's words: storing it would end the episode's attempts.
        TranscriptSource::Text if html::is_html_page(text) => {
            return Err(TranscriptError::Invalid {
                format: "text",
                reason: "the server sent a web page (an error or sign-in page?), not a plain-text transcript".into(),
            });
        }
        TranscriptSource::Text | TranscriptSource::ShowNotes | TranscriptSource::SpeechToText => {
            ("text", text::parse(text))
        }
    };
    let segments = finish(segments);
    if segments.is_empty() {
        return Err(TranscriptError::Empty { format });
    }
    Ok(segments)
}

/// Drops empty segments, orders them, and gives every segment a sensible end time.
fn finish(mut segments: Vec<Segment>) -> Vec<Segment> {
    segments.retain(|s| !s.text.trim().is_empty() && s.start.is_finite() && s.start >= 0.0);
    segments.sort_by(|a, b| a.start.total_cmp(&b.start));
    let starts: Vec<f64> = segments.iter().map(|s| s.start).collect();
    for (i, seg) in segments.iter_mut().enumerate() {
        if !(seg.end.is_finite() && seg.end > seg.start) {
            let spoken = seg.text.split_whitespace().count() as f64 / WORDS_PER_SECOND;
            let next = starts.get(i + 1).copied().filter(|n| *n > seg.start);
            seg.end = next.unwrap_or(seg.start + spoken.max(1.0));
        }
    }
    segments
}

/// The cue blocks of an SRT or VTT file: runs of lines between blank ones. A line of spaces
/// counts as blank (editors leave them), or two cues would run together, the second's number and
/// timing read as words of the first.
fn cue_blocks(text: &str) -> Vec<String> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut blocks = vec![String::new()];
    for line in text.lines() {
        if line.trim().is_empty() {
            if blocks.last().is_some_and(|b| !b.is_empty()) {
                blocks.push(String::new());
            }
        } else if let Some(b) = blocks.last_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    blocks.retain(|b| !b.is_empty());
    blocks
}

/// Reads `hh:mm:ss.mmm`, `hh:mm:ss,mmm`, `mm:ss` or `h:mm:ss` as seconds.
pub fn parse_timestamp(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut total = 0.0;
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() > 3 || parts.len() < 2 {
        return None;
    }
    for (i, part) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        let value: f64 = if last {
            let p = part.replace(',', ".");
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit() || c == '.') {
                return None;
            }
            p.parse().ok()?
        } else {
            if part.is_empty() || !part.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()?
        };
        if i > 0 && value >= 60.0 {
            return None;
        }
        total = total * 60.0 + value;
    }
    Some(total)
}

/// Splits a leading `Name:` speaker label off a line, when it looks like a name (1-4 capitalised
/// words, no sentence punctuation). Returns (speaker, rest).
pub fn split_speaker(line: &str) -> Option<(&str, &str)> {
    let (name, rest) = line.split_once(':')?;
    let name = name.trim();
    // "https://..." and "10:30" are not speakers.
    if rest.starts_with("//") || name.is_empty() || name.len() > 48 {
        return None;
    }
    let words: Vec<&str> = name.split_whitespace().collect();
    if words.is_empty() || words.len() > 4 {
        return None;
    }
    // "At 10:30 we shipped": a time of day, not a speaker called "At 10".
    let time = words.last().is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()))
        && rest.starts_with(|c: char| c.is_ascii_digit());
    if time {
        return None;
    }
    let looks_like_name = words.iter().all(|w| {
        let first = w.chars().next().unwrap_or(' ');
        (first.is_uppercase() || first.is_ascii_digit() && words.len() > 1)
            && w.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '\'' | '-' | '’'))
    });
    if !looks_like_name {
        return None;
    }
    Some((name, rest.trim_start()))
}

/// What `bytes` are when they are no text: a known file signature, or control characters
/// (other than line breaks and tabs) in more than 1% of the first 64 KB once decoded, where a
/// transcript has none.
fn binary(bytes: &[u8], text: &str) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x1f\x8b", "gzip-compressed data"),
        (b"PK\x03\x04", "a zip archive"),
        (b"ID3", "MP3 audio"),
        (b"\xff\xfb", "MP3 audio"),
        (b"\xff\xf3", "MP3 audio"),
        (b"OggS", "Ogg audio"),
        (b"fLaC", "FLAC audio"),
        (b"RIFF", "WAV audio"),
        (b"\x89PNG", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"%PDF", "a PDF document"),
    ];
    if let Some((_, what)) = SIGNATURES.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return Some(what);
    }
    if bytes.get(4..8) == Some(b"ftyp") {
        return Some("MP4 audio or video");
    }
    let (mut chars, mut control) = (0usize, 0usize);
    for c in text.chars().take(65_536) {
        chars += 1;
        if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
            control += 1;
        }
    }
    (control * 100 > chars).then_some("binary data")
}

/// A transcript's bytes as text: by its byte-order mark (UTF-8, UTF-16 from Windows subtitle
/// tools), else UTF-8 when it is, else Windows-1252 (what a file that is neither mostly is),
/// so accented names do not become U+FFFD in stored quotes.
fn decode(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding.decode_without_bom_handling(&bytes[bom..]).0;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => {
            // A UTF-8 file with a stray byte (a pasted quote mark) stays UTF-8, the odd byte
            // replaced: more of its non-ASCII letters read as UTF-8 than fail to. In a
            // Windows-1252 file nearly none do.
            let lossy = String::from_utf8_lossy(bytes);
            let bad = lossy.matches('\u{FFFD}').count();
            let good = lossy.chars().filter(|c| !c.is_ascii() && *c != '\u{FFFD}').count();
            if good > bad {
                std::borrow::Cow::Owned(lossy.into_owned())
            } else {
                encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0
            }
        }
    }
}

/// The title of a page that says it is an error, a block or a sign-in rather than content, when
/// the page is also short (under 300 words): a transcript titled "Error handling in Go" is long.
fn error_page_title(html: &str, text: &str) -> Option<String> {
    let start = html::find_ascii_ci(html, "<title", 0)?;
    let open = html::find_ascii_ci(html, ">", start)? + 1;
    let close = html::find_ascii_ci(html, "</title", open)?;
    let title = html::decode_entities(html[open..close].trim());
    const SAYS_ERROR: &[&str] = &[
        "not found",
        "404",
        "403",
        "forbidden",
        "access denied",
        "just a moment",
        "attention required",
        "sign in",
        "log in",
        "login",
        "error",
        "unavailable",
        "expired",
    ];
    let t = title.to_lowercase();
    // A single word counts as a word of the title ("Terror stories" is no error page).
    let words: Vec<&str> = t.split(|c: char| !c.is_alphanumeric()).collect();
    let says = |w: &&str| if w.contains(' ') { t.contains(*w) } else { words.contains(w) };
    (SAYS_ERROR.iter().any(says) && text.split_whitespace().count() < 300).then_some(title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcripts_in_other_encodings_keep_their_accents() {
        let srt = "1\n00:00:01,000 --> 00:00:03,000\nJosé: Ça marche très bien.\n";
        let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain(srt.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        let (cp1252, _, _) = encoding_rs::WINDOWS_1252.encode(srt);
        for bytes in [srt.as_bytes().to_vec(), utf16, cp1252.into_owned()] {
            let segments = parse(TranscriptSource::Srt, &bytes).unwrap();
            assert!(segments[0].text.contains("Ça marche très bien."), "{:?}", segments[0]);
        }
        // UTF-8 with one stray Windows-1252 byte (a pasted quote mark) stays UTF-8.
        let mut stray = srt.replace("José:", "José: it\u{0}s").into_bytes();
        let at = stray.iter().position(|b| *b == 0).unwrap();
        stray[at] = 0x92;
        let segments = parse(TranscriptSource::Srt, &stray).unwrap();
        assert!(segments[0].text.contains("Ça marche très bien."), "{:?}", segments[0]);
    }

    #[test]
    fn binary_data_is_no_transcript() {
        let text = "Adam: Today we talk about caching.\n\nJerod: Caching is hard, because invalidation is.\n";
        assert!(parse(TranscriptSource::Text, text.as_bytes()).is_ok());
        let mut gz = vec![0x1f, 0x8b, 0x08, 0x00];
        gz.extend_from_slice(text.as_bytes());
        let e = parse(TranscriptSource::Text, &gz).unwrap_err();
        assert!(e.to_string().contains("gzip-compressed data"), "{e}");
        let e = parse(TranscriptSource::Vtt, b"ID3\x04\x00\x00WEBVTT").unwrap_err();
        assert!(e.to_string().contains("MP3 audio"), "{e}");
        // Noise without a known signature (pseudo-random bytes, as an encrypted or unknown
        // compressed file is): read as Windows-1252 it is full of control characters.
        let mut x: u32 = 12345;
        let noise: Vec<u8> = (0..4000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (x >> 16) as u8
            })
            .collect();
        let e = parse(TranscriptSource::Text, &noise).unwrap_err();
        assert!(e.to_string().contains("binary data"), "{e}");
        // A stray control character or two in a long transcript is no reason to refuse it.
        let long = format!("{}\u{7}{}", text.repeat(20), text.repeat(20));
        assert!(parse(TranscriptSource::Text, long.as_bytes()).is_ok());
    }

    #[test]
    fn a_web_page_is_no_plain_text_transcript() {
        let page = "\n  <!DOCTYPE html><html><head><title>Not found</title></head><body>Sorry</body></html>";
        let e = parse(TranscriptSource::Text, page.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("web page"), "{e}");
        assert!(parse(TranscriptSource::Text, b"<HTML><body>Sign in</body></HTML>").is_err());
        // Declared as HTML, a short page titled as an error is none either; a long page whose
        // title only mentions errors is a transcript; words about HTML stay one.
        let e = parse(TranscriptSource::Html, page.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("\"Not found\""), "{e}");
        let challenge = "<html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>";
        assert!(parse(TranscriptSource::Html, challenge.as_bytes()).is_err());
        let short = "<html><head><title>Terror stories</title></head><body>Ana: it was dark.</body></html>";
        assert!(parse(TranscriptSource::Html, short.as_bytes()).is_ok());
        // Characters whose lower case is longer or shorter than they are, before the title.
        let turkish = "<html><head><meta name=\"x\" content=\"İstanbul\"><TITLE>Çok güzel</TITLE></head><body>Ana: merhaba.</body></html>";
        assert!(parse(TranscriptSource::Html, turkish.as_bytes()).is_ok());
        let talk = format!(
            "<html><head><title>Error handling in Go</title></head><body><p>{}</p></body></html>",
            "Ana: errors are values, so we wrap them with context. ".repeat(40)
        );
        assert!(parse(TranscriptSource::Html, talk.as_bytes()).is_ok());
        assert!(parse(TranscriptSource::Text, b"Ana: <html> tags are where it starts.").is_ok());
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("00:00:02,399"), Some(2.399));
        assert_eq!(parse_timestamp("01:02:03.500"), Some(3723.5));
        assert_eq!(parse_timestamp("12:34"), Some(754.0));
        assert_eq!(parse_timestamp("1:02:03"), Some(3723.0));
        assert_eq!(parse_timestamp("12:75"), None);
        assert_eq!(parse_timestamp("ab:cd"), None);
        assert_eq!(parse_timestamp("5"), None);
    }

    #[test]
    fn speakers() {
        assert_eq!(split_speaker("Travis: When you"), Some(("Travis", "When you")));
        assert_eq!(split_speaker("Erik St. Martin: It's Go Time!"), Some(("Erik St. Martin", "It's Go Time!")));
        assert_eq!(split_speaker("the reason is: this"), None);
        assert_eq!(split_speaker("see https://example.com"), None);
        assert_eq!(split_speaker("At 10:30 we shipped it"), None);
        assert_eq!(split_speaker("Jerod Santo: 2023 was the year"), Some(("Jerod Santo", "2023 was the year")));
    }

    #[test]
    fn links_are_ranked_richest_first() {
        let link =
            |url: &str, mime: &str| TranscriptLink { url: url.into(), mime: mime.into(), language: None, rel: None };
        let links = vec![
            link("a.txt", "text/plain"),
            link("a.srt", "application/x-subrip"),
            link("a", "text/html"),
            link("a.json", "application/json"),
            link("a.vtt", "text/vtt"),
            link("a.pdf", "application/pdf"),
        ];
        let order: Vec<_> = ranked_links(&links).into_iter().map(|(s, _)| s).collect();
        use TranscriptSource::*;
        assert_eq!(order, vec![Json, Vtt, Srt, Html, Text]);
    }
}
