//! Words as the insight engine and question answering compare them: lower-cased tokens with
//! stop words removed and a light suffix stemmer, plus corpus statistics for weighting rare,
//! specific words above common ones (IDF, as in TF-IDF and BM25).

pub use crate::model::Corpus;

/// Words too common to say anything about a claim's subject, including spoken fillers.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "absolutely",
    "actually",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "anyway",
    "are",
    "aren't",
    "as",
    "at",
    "basically",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "bit",
    "both",
    "but",
    "by",
    "can",
    "can't",
    "cannot",
    "could",
    "couldn't",
    "definitely",
    "did",
    "didn't",
    "do",
    "does",
    "doesn't",
    "doing",
    "don't",
    "down",
    "during",
    "each",
    "even",
    "ever",
    "every",
    "exactly",
    "few",
    "for",
    "from",
    "further",
    "get",
    "gets",
    "getting",
    "go",
    "goes",
    "going",
    "gonna",
    "got",
    "gotta",
    "guess",
    "had",
    "hadn't",
    "has",
    "hasn't",
    "have",
    "haven't",
    "having",
    "he",
    "he'd",
    "he'll",
    "he's",
    "her",
    "here",
    "here's",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "hmm",
    "how",
    "how's",
    "i",
    "i'd",
    "i'll",
    "i'm",
    "i've",
    "if",
    "in",
    "into",
    "is",
    "isn't",
    "it",
    "it's",
    "its",
    "itself",
    "just",
    "kind",
    "know",
    "let",
    "let's",
    "like",
    "literally",
    "lot",
    "lots",
    "make",
    "many",
    "may",
    "maybe",
    "me",
    "mean",
    "mhm",
    "might",
    "mm",
    "more",
    "most",
    "much",
    "must",
    "mustn't",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "oh",
    "ok",
    "okay",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "ought",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "pretty",
    "probably",
    "quite",
    "really",
    "right",
    "said",
    "same",
    "say",
    "says",
    "see",
    "she",
    "she'd",
    "she'll",
    "she's",
    "should",
    "shouldn't",
    "so",
    "some",
    "something",
    "sort",
    "still",
    "stuff",
    "such",
    "sure",
    "talk",
    "talked",
    "talking",
    "tell",
    "than",
    "that",
    "that's",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "they'd",
    "they'll",
    "they're",
    "they've",
    "thing",
    "things",
    "think",
    "this",
    "those",
    "though",
    "through",
    "to",
    "told",
    "too",
    "totally",
    "uh",
    "um",
    "under",
    "until",
    "up",
    "us",
    "very",
    "wanna",
    "want",
    "was",
    "wasn't",
    "way",
    "we",
    "we'd",
    "we'll",
    "we're",
    "we've",
    "well",
    "were",
    "weren't",
    "what",
    "what's",
    "when",
    "when's",
    "where",
    "where's",
    "which",
    "while",
    "who",
    "who's",
    "whom",
    "why",
    "why's",
    "will",
    "with",
    "won't",
    "would",
    "wouldn't",
    "yeah",
    "yes",
    "you",
    "you'd",
    "you'll",
    "you're",
    "you've",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

pub fn is_stop_word(w: &str) -> bool {
    STOP_WORDS.binary_search(&w).is_ok()
}

/// Every stop word, sorted.
pub fn stop_words() -> &'static [&'static str] {
    STOP_WORDS
}

/// Where the words of `text` are, as byte ranges: runs of letters and digits with inner
/// apostrophes and hyphens, without the punctuation around them. The one tokenizer: terms,
/// passages and the quote check all read words through it.
pub fn word_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let is_word = |c: char| c.is_alphanumeric() || c == '\'' || c == '’' || c == '-';
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        loop {
            let (start, _) = chars.find(|&(_, c)| is_word(c))?;
            let mut end = text.len();
            while let Some(&(i, c)) = chars.peek() {
                if !is_word(c) {
                    end = i;
                    break;
                }
                chars.next();
            }
            let word = &text[start..end];
            let trimmed = word.trim_start_matches(|c: char| !c.is_alphanumeric());
            let s = start + (word.len() - trimmed.len());
            let e = s + trimmed.trim_end_matches(|c: char| !c.is_alphanumeric()).len();
            if e > s {
                return Some((s, e));
            }
        }
    })
}

/// Lower-cased word tokens (letters, digits, inner apostrophes and hyphens kept).
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    word_spans(text).map(|(s, e)| text[s..e].replace('’', "'").to_lowercase())
}

/// Content terms: tokens without stop words, stemmed. The unit of comparison everywhere.
pub fn terms(text: &str) -> Vec<String> {
    tokens(text)
        .filter(|w| !is_stop_word(w) && (w.len() > 1 || w.chars().all(|c| c.is_ascii_digit())))
        .map(|w| stem(&w))
        .collect()
}

/// A light English suffix stemmer: enough to match "caching" with "cache" and "outages" with
/// "outage", without a dictionary.
pub fn stem(w: &str) -> String {
    let w = w.strip_suffix("'s").unwrap_or(w);
    if w.len() <= 4 || w.chars().any(|c| c.is_ascii_digit()) {
        return w.to_string();
    }
    for (suffix, replacement) in [
        ("ational", "ate"),
        ("ization", "ize"),
        ("fulness", "ful"),
        ("iveness", "ive"),
        ("ements", ""),
        ("ement", ""),
        ("ments", ""),
        ("ment", ""),
        ("ingly", ""),
        ("ings", ""),
        ("ing", ""),
        ("edly", ""),
        ("ies", "y"),
        ("ied", "y"),
        ("ers", ""),
        ("er", ""),
        ("ed", ""),
        ("es", ""),
        ("ly", ""),
        ("s", ""),
        ("e", ""),
    ] {
        if let Some(base) = w.strip_suffix(suffix) {
            if base.len() >= 3 && !(suffix == "s" && base.ends_with('s')) {
                return format!("{base}{replacement}");
            }
        }
    }
    w.to_string()
}

/// A root that joins more forms of a word than [`stem`] does: "spinning" and "spin",
/// "engineering" and "engineers", "submitted" and "submit". Search uses it to match a question
/// with the answer's wording; stored corpus statistics stay keyed by [`stem`].
pub fn root(w: &str) -> String {
    let once = stem(w);
    if once == w.strip_suffix("'s").unwrap_or(w) {
        return once;
    }
    let mut s = once;
    // "spinn" -> "spin": the doubled consonant came from the suffix, not the word.
    let b = s.as_bytes();
    if b.len() >= 4 {
        let (x, y) = (b[b.len() - 1], b[b.len() - 2]);
        if x == y && x.is_ascii_alphabetic() && !b"aeioulsz".contains(&x) {
            s.pop();
        }
    }
    // Until nothing more comes off, so that every form lands on the same root.
    for _ in 0..3 {
        let next = stem(&s);
        if next == s || next.len() < 4 {
            break;
        }
        s = next;
    }
    s
}

impl Corpus {
    /// Counts one document's distinct terms.
    pub fn add<'a>(&mut self, terms: impl IntoIterator<Item = &'a String>) {
        self.docs += 1;
        let mut seen = std::collections::HashSet::new();
        for t in terms {
            if seen.insert(t) {
                *self.df.entry(t.clone()).or_default() += 1;
            }
        }
    }

    /// BM25's inverse document frequency: high for rare terms, never negative.
    pub fn idf(&self, term: &str) -> f64 {
        let n = self.docs as f64;
        let df = self.df.get(term).copied().unwrap_or(0) as f64;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_found_without_their_punctuation() {
        let text = "“Well-known,” she said: 'rock’n’roll' -- UTF-8... ok";
        let words: Vec<&str> = word_spans(text).map(|(s, e)| &text[s..e]).collect();
        assert_eq!(words, ["Well-known", "she", "said", "rock’n’roll", "UTF-8", "ok"]);
        assert_eq!(tokens("Don’t STOP").collect::<Vec<_>>(), ["don't", "stop"]);
        assert_eq!(word_spans("-- ... ''").count(), 0);
    }

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        let mut sorted = STOP_WORDS.to_vec();
        sorted.sort();
        assert_eq!(sorted, STOP_WORDS);
    }

    #[test]
    fn terms_drop_fillers_and_stem() {
        assert_eq!(terms("Um, caching cut our latencies by 40%, you know."), ["cach", "cut", "latency", "40"]);
        assert_eq!(stem("outages"), stem("outage"));
        assert_eq!(stem("configs"), stem("config"));
        assert_eq!(stem("caching"), stem("cached"));
    }

    #[test]
    fn roots_join_more_forms() {
        for (a, b) in [("spinning", "spin"), ("engineering", "engineers"), ("submitted", "submit"), ("running", "run")]
        {
            assert_eq!(root(a), root(b), "{a} / {b}");
        }
        assert_ne!(root("process"), root("proceed"));
        assert_eq!(root("all"), "all");
    }

    #[test]
    fn rare_terms_weigh_more() {
        let mut c = Corpus::default();
        c.add(&["go".to_string(), "slice".to_string()]);
        c.add(&["go".to_string()]);
        c.add(&["go".to_string()]);
        assert!(c.idf("slice") > c.idf("go"));
        assert!(c.idf("unseen") > c.idf("slice"));
        assert!(c.idf("go") > 0.0);
    }
}
