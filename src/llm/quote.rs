//! The hallucination guard: finds a model's quote in the transcript, tolerant of case,
//! punctuation, whitespace and spoken fillers, and returns where it really is and what was
//! really said there.

use crate::insight::sentences::FILLERS;
use crate::model::Segment;

/// Shorter "quotes" match too easily to prove anything.
const MIN_TOKENS: usize = 4;
/// A "quote" longer than this is not a quote (and would make the search slow).
const MAX_TOKENS: usize = 200;

/// A word of the transcript: normalized form and where it stands.
struct Token {
    norm: String,
    segment: usize,
    start: usize,
    end: usize,
}

/// The words of `text` (through the one tokenizer) in the form quotes are compared in: letters
/// and digits only, lower-cased, fillers left out; with where each stands.
fn tokens_of(text: &str) -> Vec<(String, usize, usize)> {
    crate::insight::terms::word_spans(text)
        .filter_map(|(s, e)| {
            let norm: String =
                text[s..e].chars().filter(|c| c.is_alphanumeric()).flat_map(|c| c.to_lowercase()).collect();
            (!norm.is_empty() && !FILLERS.contains(&norm.as_str())).then_some((norm, s, e))
        })
        .collect()
}

/// Where a quote was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The transcript's own words for the quoted span.
    pub verbatim: String,
    pub segment: usize,
    /// Seconds from the start of the episode, interpolated within the segment.
    pub start_seconds: f64,
}

/// Finds `quote` in the segments (it may run across consecutive segments); the first place
/// it was said.
pub fn find(segments: &[Segment], quote: &str) -> Option<Found> {
    find_said_by(segments, quote, "")
}

/// Finds `quote` as [`find`] does, preferring where `speaker` said it: words said more than
/// once (a catchphrase, a point repeated at the end) take the speaker and time of the one the
/// model meant, when its speaker is a transcript's name; else the first.
pub fn find_said_by(segments: &[Segment], quote: &str, speaker: &str) -> Option<Found> {
    let wanted: Vec<String> = tokens_of(quote).into_iter().map(|t| t.0).collect();
    if wanted.len() < MIN_TOKENS || wanted.len() > MAX_TOKENS {
        return None;
    }
    let all: Vec<Token> = segments
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            tokens_of(&s.text).into_iter().map(move |(norm, start, end)| Token { norm, segment: i, start, end })
        })
        .collect();
    let name = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let speaker = name(speaker);
    let said_by = |at: usize| {
        segments[all[at].segment].speaker.as_deref().is_some_and(|s| !speaker.is_empty() && name(s) == speaker)
    };
    let mut places =
        all.windows(wanted.len()).enumerate().filter(|(_, w)| w.iter().zip(&wanted).all(|(t, q)| t.norm == *q));
    let earliest = places.next()?.0;
    let at =
        if said_by(earliest) { earliest } else { places.map(|(i, _)| i).find(|&i| said_by(i)).unwrap_or(earliest) };
    let (first, last) = (&all[at], &all[at + wanted.len() - 1]);
    let verbatim = if first.segment == last.segment {
        segments[first.segment].text[first.start..last.end].to_string()
    } else {
        let mut parts = vec![&segments[first.segment].text[first.start..]];
        parts.extend(segments[first.segment + 1..last.segment].iter().map(|s| s.text.as_str()));
        parts.push(&segments[last.segment].text[..last.end]);
        parts.join(" ")
    };
    let seg = &segments[first.segment];
    let words_before = all[..at].iter().filter(|t| t.segment == first.segment).count();
    let words_in = all.iter().filter(|t| t.segment == first.segment).count().max(1);
    let start_seconds = seg.start + (seg.end - seg.start).max(0.0) * words_before as f64 / words_in as f64;
    Some(Found { verbatim, segment: first.segment, start_seconds })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start: f64, end: f64, text: &str) -> Segment {
        Segment { start, end, speaker: None, text: text.into() }
    }

    #[test]
    fn finds_quotes_despite_case_punctuation_and_fillers() {
        let segs = [
            seg(0.0, 10.0, "Welcome back."),
            seg(10.0, 20.0, "So, um, caching at the EDGE cut our p99 latency by 40%."),
        ];
        let f = find(&segs, "caching at the edge cut our P99 latency").unwrap();
        assert_eq!(f.verbatim, "caching at the EDGE cut our p99 latency");
        assert_eq!(f.segment, 1);
        assert!(f.start_seconds > 10.0 && f.start_seconds < 20.0);
        assert!(find(&segs, "caching at the edge doubled our latency").is_none());
        assert!(find(&segs, "welcome back").is_none(), "too short to prove anything");
    }

    #[test]
    fn a_quote_said_twice_is_placed_where_its_speaker_said_it() {
        let mut segments = vec![
            seg(10.0, 20.0, "Ship small changes often, that is the whole trick."),
            seg(20.0, 30.0, "Right. Ship small changes often, that is the whole trick, and measure."),
        ];
        segments[0].speaker = Some("Host Name".into());
        segments[1].speaker = Some("Guest Name".into());
        let quote = "ship small changes often, that is the whole trick";
        assert_eq!(find(&segments, quote).unwrap().segment, 0);
        let found = find_said_by(&segments, quote, " guest   name ").unwrap();
        assert_eq!((found.segment, found.verbatim.as_str()), (1, "Ship small changes often, that is the whole trick"));
        assert!(found.start_seconds > 20.0);
        // A speaker who said it nowhere, or none named: the first place.
        assert_eq!(find_said_by(&segments, quote, "Someone Else").unwrap().segment, 0);
        assert_eq!(find_said_by(&segments, quote, "").unwrap().segment, 0);
    }

    #[test]
    fn an_overlong_quote_is_no_quote() {
        let long = (0..250).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        let segs = [seg(0.0, 100.0, &long)];
        assert!(find(&segs, &long).is_none());
        let part = long.split(' ').take(50).collect::<Vec<_>>().join(" ");
        assert!(find(&segs, &part).is_some());
    }

    #[test]
    fn quotes_may_run_across_segments() {
        let segs = [seg(0.0, 2.0, "When you first get"), seg(2.0, 4.0, "started in podcasting, it's hard.")];
        let f = find(&segs, "when you first get started in podcasting").unwrap();
        assert_eq!(f.verbatim, "When you first get started in podcasting");
        assert_eq!(f.start_seconds, 0.0);
    }
}
