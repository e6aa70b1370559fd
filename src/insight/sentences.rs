//! Sentences out of speech: segmentation that copes with transcripts of people talking, and the
//! clean-up that turns a spoken sentence into readable text while the quote stays verbatim.

use crate::model::Segment;

/// A sentence as a byte range of one segment's text, with its estimated time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentence {
    pub segment: usize,
    pub range: std::ops::Range<usize>,
    /// Seconds from the start of the episode.
    pub start: f64,
    pub end: f64,
}

impl Sentence {
    pub fn text<'a>(&self, segments: &'a [Segment]) -> &'a str {
        &segments[self.segment].text[self.range.clone()]
    }
}

const ABBREVIATIONS: &[&str] =
    &["dr", "e.g", "etc", "i.e", "jr", "mr", "mrs", "ms", "prof", "sr", "st", "vs", "u.s", "inc", "approx", "no"];

/// Splits every segment into sentences. Times are interpolated by word position in the segment.
pub fn split(segments: &[Segment]) -> Vec<Sentence> {
    let mut out = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        let total_words = seg.text.split_whitespace().count().max(1) as f64;
        let span = (seg.end - seg.start).max(0.0);
        let mut words_before = 0usize;
        for range in boundaries(&seg.text) {
            let words = seg.text[range.clone()].split_whitespace().count();
            let start = seg.start + span * words_before as f64 / total_words;
            words_before += words;
            let end = seg.start + span * words_before as f64 / total_words;
            out.push(Sentence { segment: i, range, start, end });
        }
    }
    out
}

/// Byte ranges of the sentences in `text`, trimmed of surrounding whitespace.
fn boundaries(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        if matches!(c, '.' | '?' | '!' | '…') {
            // Take the whole run of terminators and closing quotes/brackets.
            let mut j = i + 1;
            while j < chars.len() && matches!(chars[j].1, '.' | '?' | '!' | '…' | '"' | '”' | '\'' | ')' | ']') {
                j += 1;
            }
            let at_end = j >= chars.len();
            let followed_by_space = !at_end && chars[j].1.is_whitespace();
            if at_end || followed_by_space {
                let mut k = j;
                while k < chars.len() && chars[k].1.is_whitespace() {
                    k += 1;
                }
                let next = chars.get(k).map(|&(_, c)| c);
                let ellipsis = c == '…' || (c == '.' && chars.get(i + 1).is_some_and(|&(_, n)| n == '.'));
                let next_starts_sentence = next.is_none_or(|n| {
                    n.is_uppercase() || n.is_ascii_digit() || matches!(n, '"' | '“' | '[' | '(' | '\'')
                        // Speech transcripts often drop capitals after a question or exclamation.
                        || (matches!(c, '?' | '!') && n.is_lowercase())
                });
                let abbreviation = c == '.' && !ellipsis && is_abbreviation(&text[start..pos]);
                if next_starts_sentence && !abbreviation {
                    let end = if at_end { text.len() } else { chars[j].0 };
                    push_trimmed(&mut out, text, start, end);
                    start = chars.get(k).map(|&(p, _)| p).unwrap_or(text.len());
                    i = k;
                    continue;
                }
            }
            i = j;
            continue;
        }
        i += 1;
    }
    push_trimmed(&mut out, text, start, text.len());
    out
}

fn push_trimmed(out: &mut Vec<std::ops::Range<usize>>, text: &str, start: usize, end: usize) {
    let s = &text[start..end];
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    if start + lead < end - trail {
        out.push(start + lead..end - trail);
    }
}

fn is_abbreviation(before: &str) -> bool {
    let last = before.split_whitespace().last().unwrap_or("").to_lowercase();
    let last = last.trim_start_matches(|c: char| !c.is_alphanumeric());
    // Single initials ("Robert C. Martin") and known abbreviations.
    (last.chars().count() == 1 && last.chars().all(|c| c.is_alphabetic())) || ABBREVIATIONS.contains(&last)
}

/// Words and phrases that carry no content in speech.
pub const FILLERS: &[&str] = &["um", "uh", "erm", "uhm", "hmm", "mm", "mhm", "ah"];
const LEADING_FILLERS: &[&str] = &[
    "and",
    "but",
    "so",
    "yeah",
    "yes",
    "well",
    "okay",
    "ok",
    "oh",
    "right",
    "like",
    "now",
    "also",
    "i mean",
    "you know",
    "actually",
    "basically",
    "honestly",
    "look",
    "see",
];
/// Leading words that say something unless a comma sets them off: "Right now", "Now that ...",
/// "Like most people", "See how ...", "Actually the cache ...".
const FILLERS_ONLY_BEFORE_A_COMMA: &[&str] =
    &["right", "like", "now", "also", "actually", "basically", "honestly", "look", "see"];
/// Words a leading "so" or "well" belongs with: "so far", "so many", "well known".
const BOUND_AFTER: &[(&str, &[&str])] = &[
    ("so", &["far", "much", "many", "long", "often", "few", "little", "what", "called", "to"]),
    ("well", &["known", "over", "enough", "before", "after", "ahead", "done", "said", "worth", "beyond", "into"]),
];

/// Whether `rest` opens with the leading filler `f`, set off from what follows.
fn opens_with_filler(rest: &str, f: &str) -> bool {
    let opens = rest.as_bytes().get(..f.len()).is_some_and(|head| head.eq_ignore_ascii_case(f.as_bytes()));
    // Something must follow it.
    if !opens || rest.len() <= f.len() + 1 {
        return false;
    }
    // Compared byte for byte with an ASCII word: the slice starts on a character boundary.
    let after = &rest[f.len()..];
    if after.starts_with(',') {
        return true;
    }
    if !after.starts_with(' ') || FILLERS_ONLY_BEFORE_A_COMMA.contains(&f) {
        return false;
    }
    let next =
        after.split_whitespace().next().unwrap_or("").trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
    !BOUND_AFTER.iter().any(|(w, bound)| *w == f && bound.contains(&next.as_str()))
}

/// Readable text of a spoken sentence: stage directions, fillers, stutters and false starts
/// removed, first letter capitalised, ending punctuation kept.
pub fn clean(text: &str) -> String {
    let mut s = strip_brackets(text);
    // False start: "The third -- I tried to ..." keeps what follows a short abandoned opening.
    if let Some(i) = s.find(" -- ") {
        if s[..i].split_whitespace().count() <= 4 {
            s = s[i + 4..].to_string();
        }
    }
    let mut words: Vec<String> = Vec::new();
    for w in s.split_whitespace() {
        let bare = w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
        if FILLERS.contains(&bare.as_str()) {
            // Keep punctuation that ended the sentence.
            if w.ends_with(['.', '?', '!']) {
                if let Some(last) = words.last_mut() {
                    last.push(w.chars().last().unwrap_or('.'));
                }
            }
            continue;
        }
        // "the the" / "I I": stutters.
        if let Some(prev) = words.last() {
            let prev_bare = prev.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
            if prev_bare == bare && !bare.is_empty() && !prev.ends_with([',', '.', '?', '!', ';', ':']) {
                continue;
            }
        }
        words.push(w.to_string());
    }
    let mut s = words.join(" ");
    s = s.replace("you know, ", "").replace(", you know,", ",").replace(", you know", "");
    // Leading conjunctions and interjections ("So, yeah, the thing is ...").
    // Compared byte for byte: lower-casing may change lengths ('\u{212A}', the Kelvin sign, is
    // "k"), so an index into a lower-cased copy is no index into `s`.
    // A cursor, not a copy per filler: a line of thousands of "so and so and" stays linear.
    let mut rest = s.as_str();
    while let Some(f) = LEADING_FILLERS.iter().find(|f| opens_with_filler(rest, f)) {
        rest = rest[f.len()..].trim_start_matches([',', ' ']);
    }
    let s = rest.trim().trim_end_matches([',', ';', ':', '-']).trim().to_string();
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => {
            let mut out: String = first.to_uppercase().collect();
            out.push_str(chars.as_str());
            if !out.ends_with(['.', '?', '!', '…', '"', '”']) {
                out.push('.');
            }
            out
        }
        None => String::new(),
    }
}

/// Removes `[laughs]`, `(laughter)` and similar stage directions, and bare links.
fn strip_brackets(text: &str) -> String {
    let text = text
        .split_whitespace()
        .filter(|w| !w.trim_start_matches(['(', '[']).starts_with("http"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = String::with_capacity(text.len());
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    let mut s = out;
    for direction in ["(laughs)", "(laughter)", "(laughing)", "(inaudible)", "(crosstalk)"] {
        s = s.replace(direction, "");
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_that_lower_case_to_other_lengths_are_cleaned_without_a_panic() {
        // The Kelvin sign lower-cases to "k": "O\u{212A}" lower-cased reads as "ok", a leading
        // filler, three bytes long where "ok" is two.
        assert_eq!(clean("O\u{212A}, so the cache is key."), "O\u{212A}, so the cache is key.");
        assert_eq!(clean("İ think the cache is key"), "İ think the cache is key.");
        assert_eq!(clean("So, yeah, the cache is key"), "The cache is key.");
    }

    #[test]
    fn a_long_run_of_leading_fillers_is_taken_off_in_one_pass() {
        let line = "so and ".repeat(50_000) + "the cache is key";
        assert_eq!(clean(&line), "The cache is key.");
    }

    fn seg(text: &str, start: f64, end: f64) -> Segment {
        Segment { start, end, speaker: None, text: text.into() }
    }

    #[test]
    fn splits_speech_into_sentences() {
        let s =
            seg("We shipped it in 2019. Mr. Smith agreed... and then? no idea! Robert C. Martin wrote it.", 0.0, 17.0);
        let segs = [s];
        let texts: Vec<_> = split(&segs).iter().map(|x| x.text(&segs).to_string()).collect();
        assert_eq!(
            texts,
            ["We shipped it in 2019.", "Mr. Smith agreed... and then?", "no idea!", "Robert C. Martin wrote it."]
        );
    }

    #[test]
    fn times_are_interpolated_by_words() {
        let segs = [seg("One two three four. Five six seven eight.", 10.0, 18.0)];
        let s = split(&segs);
        assert_eq!((s[0].start, s[0].end), (10.0, 14.0));
        assert_eq!((s[1].start, s[1].end), (14.0, 18.0));
    }

    #[test]
    fn clean_removes_disfluencies() {
        assert_eq!(clean("um, so the the cache uh cut latency by half [laughs]"), "The cache cut latency by half.");
        assert_eq!(clean("The third -- I tried to get the hattrick."), "I tried to get the hattrick.");
        assert_eq!(clean("Yeah, you know, it was fast"), "It was fast.");
    }

    #[test]
    fn a_leading_word_that_says_something_stays() {
        // Fillers, set off or not.
        assert_eq!(clean("So the cache is key"), "The cache is key.");
        assert_eq!(clean("Well, now, the cache is key"), "The cache is key.");
        assert_eq!(clean("Actually, the cache is key"), "The cache is key.");
        // Words of the sentence.
        assert_eq!(
            clean("But so far it's only happened in a few courses."),
            "So far it's only happened in a few courses."
        );
        assert_eq!(clean("And now that Python has won, it's hard"), "Now that Python has won, it's hard.");
        assert_eq!(clean("Right now we cache everything"), "Right now we cache everything.");
        assert_eq!(clean("Like most people, I cache everything"), "Like most people, I cache everything.");
        assert_eq!(clean("Well known tools cache everything"), "Well known tools cache everything.");
        // A word said again after a semicolon is no stutter.
        assert_eq!(
            clean("no question about it; it took several years"),
            "No question about it; it took several years."
        );
    }
}
