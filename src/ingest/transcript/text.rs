//! Plain-text transcripts (also Markdown, and HTML once reduced to text): one paragraph per
//! speaker turn, `Name:` or `**Name:**` labels, and `[hh:mm:ss]` / `\[mm:ss\]` markers every
//! few minutes. Times between markers are interpolated by word count, past the last marker
//! extrapolated at the transcript's own speaking rate.

use super::html::decode_entities;
use super::{WORDS_PER_SECOND, parse_timestamp, split_speaker};
use crate::model::Segment;

struct Piece {
    speaker: Option<String>,
    text: String,
    marker: Option<f64>,
}

pub fn parse(text: &str) -> Vec<Segment> {
    let mut pieces: Vec<Piece> = Vec::new();
    let mut speaker: Option<String> = None;
    let mut pending_marker: Option<f64> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') && line.trim_start_matches('#').starts_with(' ') {
            continue; // blank lines and Markdown headings
        }
        let (label, rest) = split_label(line);
        if let Some(name) = label {
            speaker = Some(name);
        }
        for (i, (marker, chunk)) in split_markers(rest).into_iter().enumerate() {
            let chunk = decode_entities(&unescape_markdown(chunk.trim()));
            let marker = marker.or(if i == 0 { pending_marker.take() } else { None });
            if chunk.is_empty() {
                // A label line such as "Sarah: 00:01" carries the time of the text below it.
                if marker.is_some() {
                    pending_marker = marker;
                }
                continue;
            }
            pieces.push(Piece { speaker: speaker.clone(), text: chunk, marker });
        }
    }
    time_pieces(pieces)
}

/// Splits a leading speaker label (`**Name:**`, `**Name**:` or `Name:`) off a line.
fn split_label(line: &str) -> (Option<String>, &str) {
    if let Some(body) = line.strip_prefix("**") {
        if let Some(end) = body.find("**") {
            let label = body[..end].trim();
            let after = body[end + 2..].trim_start();
            let (name, rest) = match label.strip_suffix(':') {
                Some(n) => (n.trim(), after),
                None => match after.strip_prefix(':') {
                    Some(r) => (label, r.trim_start()),
                    None => return (None, line),
                },
            };
            if !name.is_empty() && name.len() <= 48 {
                return (Some(unescape_markdown(name)), rest);
            }
        }
        return (None, line);
    }
    match split_speaker(line) {
        Some((name, rest)) => (Some(name.to_string()), rest),
        None => (None, line),
    }
}

/// Splits a line at time markers (`[12:34]`, `\[01:02:03\]`, `(12:34)`, or a leading bare
/// `12:34`). Each chunk carries the marker that precedes it.
fn split_markers(line: &str) -> Vec<(Option<f64>, String)> {
    let mut out: Vec<(Option<f64>, String)> = vec![(None, String::new())];
    let mut rest = line;
    if let Some((first, after)) = line.split_once(char::is_whitespace).or(Some((line, ""))) {
        if first.contains(':') {
            if let Some(t) = parse_timestamp(first) {
                out[0].0 = Some(t);
                rest = after;
            }
        }
    }
    let mut i = 0;
    while i < rest.len() {
        let c = rest[i..].chars().next().unwrap_or(' ');
        if c == '[' || c == '(' {
            let close = if c == '[' { ']' } else { ')' };
            // Looked for only as far as a marker reaches: a line of many '[' stays linear.
            if let Some(j) = rest.as_bytes()[i + 1..].iter().take(15).position(|b| *b == close as u8) {
                let inner = rest[i + 1..i + 1 + j].trim_end_matches('\\');
                if let Some(t) = parse_timestamp(inner) {
                    let cur = &mut out.last_mut().expect("never empty").1;
                    if cur.ends_with('\\') {
                        cur.pop();
                    }
                    out.push((Some(t), String::new()));
                    i += j + 2;
                    continue;
                }
            }
        }
        out.last_mut().expect("never empty").1.push(c);
        i += c.len_utf8();
    }
    out
}

/// `\[laughs\]` -> `[laughs]`: Markdown escapes are not part of what was said.
fn unescape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&n) = chars.peek() {
                if n.is_ascii_punctuation() {
                    out.push(n);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

fn time_pieces(pieces: Vec<Piece>) -> Vec<Segment> {
    // Word offsets at which each piece starts, and the anchors (offset, time) markers give.
    let mut offsets = Vec::with_capacity(pieces.len());
    let mut anchors: Vec<(f64, f64)> = Vec::new();
    let mut words = 0usize;
    for p in &pieces {
        offsets.push(words as f64);
        if let Some(t) = p.marker {
            // Markers that run backwards are typos; the earlier ones win.
            if anchors.last().is_none_or(|&(_, last)| t >= last) {
                anchors.push((words as f64, t));
            }
        }
        words += p.text.split_whitespace().count();
    }
    if anchors.first().is_none_or(|&(w, _)| w > 0.0) {
        anchors.insert(0, (0.0, 0.0));
    }
    let rate = match (anchors.first(), anchors.last()) {
        (Some(&(w0, t0)), Some(&(w1, t1))) if t1 > t0 && w1 > w0 => ((w1 - w0) / (t1 - t0)).clamp(0.5, 6.0),
        _ => WORDS_PER_SECOND,
    };
    let time_at = |w: f64| -> f64 {
        let i = anchors.partition_point(|&(aw, _)| aw <= w).saturating_sub(1);
        let (aw, at) = anchors[i];
        match anchors.get(i + 1) {
            Some(&(bw, bt)) if bw > aw => at + (w - aw) / (bw - aw) * (bt - at),
            _ => at + (w - aw) / rate,
        }
    };
    pieces
        .into_iter()
        .zip(offsets)
        .map(|(p, off)| {
            let n = p.text.split_whitespace().count() as f64;
            let start = p.marker.unwrap_or_else(|| time_at(off));
            let end = time_at(off + n).max(start);
            Segment { start, end, speaker: p.speaker, text: p.text }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changelog_markdown_turns_and_markers() {
        let md = "**Erik St. Martin:** It's Go Time! Welcome to the show.\n\n**Brian Ketelsen:** Hello.\n\nA second paragraph of Brian.\n\n**Rob Pike:** \\[04:22\\] 45 minutes. \\[laughs\\]\n\n\\[08:23\\] So we had worked together.\n";
        let segs = parse(md);
        assert_eq!(segs.len(), 5);
        assert_eq!(segs[0].speaker.as_deref(), Some("Erik St. Martin"));
        assert_eq!(segs[0].start, 0.0);
        assert_eq!(segs[2].speaker.as_deref(), Some("Brian Ketelsen"));
        assert_eq!(segs[2].text, "A second paragraph of Brian.");
        assert_eq!(segs[3].speaker.as_deref(), Some("Rob Pike"));
        assert_eq!(segs[3].text, "45 minutes. [laughs]");
        assert_eq!(segs[3].start, 262.0);
        assert_eq!(segs[4].start, 503.0);
        assert_eq!(segs[4].speaker.as_deref(), Some("Rob Pike"));
        // Interpolated times lie between the anchors and increase.
        assert!(segs[1].start > 0.0 && segs[1].start < segs[2].start && segs[2].start < 262.0);
    }

    #[test]
    fn html_style_label_lines_carry_their_time() {
        let text = "Kevin: 0:00\nWelcome to the show.\nJen: 0:05\nThanks for having me.\n";
        let segs = parse(text);
        assert_eq!(segs.len(), 2);
        assert_eq!((segs[0].speaker.as_deref(), segs[0].start), (Some("Kevin"), 0.0));
        assert_eq!((segs[1].speaker.as_deref(), segs[1].start), (Some("Jen"), 5.0));
        assert_eq!(segs[1].text, "Thanks for having me.");
    }

    #[test]
    fn no_markers_estimates_from_speaking_rate() {
        let segs = parse("one two three four five\nsix seven eight nine ten\n");
        assert_eq!(segs[1].start, 5.0 / WORDS_PER_SECOND);
    }
}
