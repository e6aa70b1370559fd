//! Finding the passage that answers a question, not the one that repeats it.
//!
//! Passages follow speaker turns: a long turn is cut into overlapping windows, and a turn that
//! replies to another speaker carries the end of that speaker's turn as its prompt, because
//! the words of a question are usually in the question, not in its answer. Ranking is BM25
//! with document frequencies from the passages searched (a word related to one of the
//! question's, from the `related` module, counting for a share of it), plus a share of the best
//! score of the passages just before (the answer tends to follow where the topic was named),
//! raised by how much of the question's topic one place in the passage holds
//! ([`Scored::local`], also what decides whether the question is covered), and a few general
//! cues: a passage that asks is not an answer, a "how many" question wants a number said about
//! what it counts, "how much money" an amount of money, "when" a time, a "why" question a
//! reason, a question naming a speaker wants that speaker.

use std::collections::{HashMap, HashSet};

use super::related;
use crate::insight::sentences;
use crate::insight::terms::{self, Corpus};
use crate::model::{Episode, Transcript};

const K1: f64 = 1.2;
const B: f64 = 0.75;
/// Speaking rate used to turn `passage_seconds` into a passage length in words.
const WORDS_PER_SECOND: f64 = 2.6;
/// How much of the prompt (the question replied to) counts towards a passage.
const PROMPT_WEIGHT: f64 = 0.4;
/// How much of the best of the passages just before (about the last two minutes of talk)
/// counts towards a passage.
const LEAD_WEIGHT: f64 = 0.5;
const LEAD_PASSAGES: usize = 4;
/// Score kept by a passage that mostly asks.
const ASKS_FACTOR: f64 = 0.3;
/// Score kept by a passage that says more but ends its turn asking someone who replies: a
/// host's long question repeats the words a reader asks with, the reply answers them (0.4 to
/// 0.8 measure the same on the labelled questions).
const HANDS_OVER_FACTOR: f64 = 0.6;
/// A word in more than this share of an episode's passages is its subject, not a detail.
const SPECIFIC_SHARE: f64 = 0.05;
/// Weight kept by a word of the episode's subject in [`Scored::local`].
const SUBJECT_FACTOR: f64 = 0.3;
/// Weight of the words of a question's lead-in.
const LEAD_IN_WEIGHT: f64 = 0.5;
/// How much a passage's best local coverage raises its score.
const LOCAL_WEIGHT: f64 = 1.0;
/// The first sentences of a reply, which are read with the question they reply to.
const PROMPT_SENTENCES: usize = 3;
/// Boost for a passage with the kind of content the question wants (a number, a reason, the
/// speaker it names).
const CUE_BOOST: f64 = 1.5;
/// How much a related word ("price" for "cost") counts of the question's word, times their
/// closeness: other words for a thing are weaker evidence than the thing named.
const RELATED_WEIGHT: f64 = 0.7;

/// A stretch of one speaker turn.
#[derive(Debug, Clone)]
pub struct Passage {
    pub episode_id: String,
    pub podcast: String,
    pub episode: String,
    /// The episode's page, for links that open it at a passage.
    pub url: Option<String>,
    /// Read from the show notes: the start times are no times in the episode.
    pub untimed: bool,
    /// The sentences with their speaker and start time.
    pub sentences: Vec<(Option<String>, f64, String)>,
    /// The end of the other speaker's turn this passage replies to, when it opens a turn.
    pub prompt: Vec<(Option<String>, f64, String)>,
    /// Mostly questions: someone asking, which is never the answer to what they ask.
    pub asks: bool,
    /// Ends its speaker's turn with a question someone replies to: the reply is the answer.
    pub hands_over: bool,
    /// Index of the first sentence in the episode, to tell overlapping passages apart.
    pub first: usize,
    /// Sentences the reader already has (the insight itself): not searched, not quoted.
    pub known: Vec<bool>,
    terms: Vec<String>,
    prompt_terms: Vec<String>,
    /// The words of the sentences the reader has: not quoted, but what the passage goes on
    /// about, so a question repeating them ("what did he say about Zoom?") is read with them
    /// as it is with the question a reply answers.
    known_terms: Vec<String>,
    has_number: bool,
    gives_reason: bool,
    describes: bool,
    names_maker: bool,
    /// Each sentence's words and cues, computed once per episode (sentences are shared by the
    /// overlapping passages).
    analysed: Vec<std::sync::Arc<Analysed>>,
}

/// What search needs to know of one sentence.
#[derive(Debug)]
struct Analysed {
    terms: Vec<String>,
    has_number: bool,
    gives_reason: bool,
    describes: bool,
    names_maker: bool,
    /// The kinds of amount the sentence states ([`Amount`] flags).
    amounts: u8,
    /// What its counts count: the roots of the noun after each number ("a hundred *people*"),
    /// `None` when a number stands without one ("up to 200"), which may count anything.
    counts_of: Option<Vec<String>>,
}

impl Analysed {
    fn of(text: &str) -> Analysed {
        Analysed {
            terms: search_terms(text),
            has_number: has_number(text),
            gives_reason: gives_reason(text),
            describes: describes(text),
            names_maker: names_maker(text),
            amounts: amounts(text),
            counts_of: counts_of(text),
        }
    }
}

impl Passage {
    pub fn start(&self) -> f64 {
        self.sentences.first().map(|s| s.1).unwrap_or(0.0)
    }

    pub fn speaker(&self) -> Option<&str> {
        self.sentences.first().and_then(|s| s.0.as_deref())
    }

    /// How many words it says.
    pub fn words(&self) -> usize {
        self.sentences.iter().map(|l| l.2.split_whitespace().count()).sum()
    }

    /// Whether it opens a speaker's turn (its later windows carry no prompt; the episode's
    /// first passage has none to carry).
    pub fn opens_turn(&self) -> bool {
        !self.prompt.is_empty() || self.first == 0
    }

    /// Marks the sentences the reader has already seen (contained in `quote`) and searches
    /// only the rest.
    pub fn mask(&mut self, quote: &str) {
        let quote = normalise(quote);
        if quote.split_whitespace().count() < 4 {
            return;
        }
        self.known = self
            .sentences
            .iter()
            .map(|(_, _, t)| {
                let n = normalise(t);
                n.split_whitespace().count() >= 3 && (quote.contains(&n) || n.contains(&quote))
            })
            .collect();
        if self.known.iter().any(|k| *k) {
            self.index_terms();
        }
    }

    /// Searches the whole passage again, the insight included: when nothing else answers,
    /// what the insight itself says is the answer.
    pub fn unmask(&mut self) {
        if self.known.iter().any(|k| *k) {
            self.known = vec![false; self.sentences.len()];
            self.index_terms();
        }
    }

    /// The passage from the sentence before the first one the reader has (the insight) on,
    /// searched whole: what was said around the insight, from its lead-in. None when it does
    /// not hold the insight.
    pub fn from_insight(&self) -> Option<Passage> {
        let at = self.known.iter().position(|k| *k)?.saturating_sub(1);
        Some(self.from_sentence(at))
    }

    /// The passage from its sentence `at` on, searched whole.
    pub fn from_sentence(&self, at: usize) -> Passage {
        let at = at.min(self.sentences.len().saturating_sub(1));
        let mut p = self.clone();
        p.sentences.drain(..at);
        p.analysed.drain(..at);
        p.first += at;
        if at > 0 {
            // No longer the opening of its turn: the question it replied to is further back.
            p.prompt.clear();
            p.prompt_terms.clear();
        }
        p.known = vec![false; p.sentences.len()];
        p.index_terms();
        p
    }

    fn index_terms(&mut self) {
        let unknown = || self.analysed.iter().zip(&self.known).filter(|(_, k)| !**k).map(|(a, _)| a);
        self.terms = unknown().flat_map(|a| a.terms.iter().cloned()).collect();
        // A passage that is nothing but the insight has nothing to say about it.
        self.known_terms = if self.known.iter().all(|k| *k) {
            Vec::new()
        } else {
            self.analysed.iter().zip(&self.known).filter(|(_, k)| **k).flat_map(|(a, _)| a.terms.clone()).collect()
        };
        self.has_number = unknown().any(|a| a.has_number);
        self.gives_reason = unknown().any(|a| a.gives_reason);
        self.describes = unknown().any(|a| a.describes);
        self.names_maker = unknown().any(|a| a.names_maker);
    }
}

/// `text` with every mention of `name` (lower case) blanked out.
fn without_name(text: &str, name: Option<&str>) -> String {
    let Some(name) = name.filter(|n| !n.is_empty()) else { return text.to_string() };
    // ASCII lower-casing keeps every byte where it was, so ranges found in it cut the original.
    let lower = text.to_ascii_lowercase();
    let mut out = text.to_string();
    for (at, _) in lower.match_indices(&name.to_ascii_lowercase()) {
        out.replace_range(at..at + name.len(), &" ".repeat(name.len()));
    }
    out
}

/// Cuts a transcript into passages: speaker turns, long ones in overlapping windows of about
/// `window_secs` of speech.
pub fn passages(episode: &Episode, transcript: &Transcript, window_secs: f64) -> Vec<Passage> {
    let segs = &transcript.segments;
    let sents = sentences::split(segs);
    let max_words = (window_secs * WORDS_PER_SECOND).max(20.0) as usize;
    // Turns: runs of sentences by one speaker.
    let mut turns: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, s) in sents.iter().enumerate() {
        match turns.last_mut() {
            Some(t) if segs[sents[t.start].segment].speaker == segs[s.segment].speaker => t.end = i + 1,
            _ => turns.push(i..i + 1),
        }
    }
    let line = |i: usize| {
        let s = &sents[i];
        (segs[s.segment].speaker.clone(), s.start, s.text(segs).to_string())
    };
    let words = |i: usize| sents[i].text(segs).split_whitespace().count();
    let podcast = episode.podcast_title.clone().unwrap_or_else(|| episode.feed_url.clone());
    // The show saying its own name ("welcome to Founders Talk") says nothing about "who founded
    // it?" or "how much time ...".
    let show = crate::insight::extract::show_name(episode);
    let analysed: Vec<std::sync::Arc<Analysed>> =
        sents.iter().map(|s| std::sync::Arc::new(Analysed::of(&without_name(s.text(segs), show.as_deref())))).collect();
    let mut out = Vec::new();
    for (ti, turn) in turns.iter().enumerate() {
        let prompt_range = match ti.checked_sub(1).map(|p| &turns[p]) {
            Some(prev) => prev.end.saturating_sub(2).max(prev.start)..prev.end,
            None => 0..0,
        };
        let prompt: Vec<_> = prompt_range.clone().map(line).collect();
        let replied = ti + 1 < turns.len();
        let mut anchor = turn.start;
        loop {
            let mut end = anchor;
            let mut n = 0;
            while end < turn.end && (end == anchor || n + words(end) <= max_words) {
                n += words(end);
                end += 1;
            }
            // A short rest of the turn joins the window: the end of a turn is often where its
            // point is made, and a window of its own would hold it without what leads to it.
            let rest: usize = (end..turn.end).map(words).sum();
            if rest > 0 && rest <= max_words / 2 {
                n += rest;
                end = turn.end;
            }
            let lines: Vec<_> = (anchor..end).map(line).collect();
            let own: Vec<_> = (anchor..end).map(|i| analysed[i].clone()).collect();
            let questions = lines.iter().filter(|l| is_question(&l.2)).count();
            let ends_turn_asking = end == turn.end && replied && lines.last().is_some_and(|l| is_question(&l.2));
            let mut p = Passage {
                episode_id: episode.id.clone(),
                podcast: podcast.clone(),
                episode: episode.title.clone(),
                url: episode.link.clone(),
                untimed: transcript.source == crate::model::TranscriptSource::ShowNotes,
                known: vec![false; lines.len()],
                asks: questions * 2 > lines.len() || ends_turn_asking && n < max_words / 2,
                hands_over: ends_turn_asking,
                first: anchor,
                prompt_terms: if anchor == turn.start {
                    prompt_range.clone().flat_map(|i| analysed[i].terms.iter().cloned()).collect()
                } else {
                    Vec::new()
                },
                prompt: if anchor == turn.start { prompt.clone() } else { Vec::new() },
                sentences: lines,
                terms: Vec::new(),
                known_terms: Vec::new(),
                has_number: false,
                gives_reason: false,
                describes: false,
                names_maker: false,
                analysed: own,
            };
            p.index_terms();
            out.push(p);
            if end >= turn.end {
                break;
            }
            // Half a window on: an answer that straddles a boundary is still found whole.
            let mut next = anchor;
            let mut moved = 0;
            while next < end && moved < max_words / 2 {
                moved += words(next);
                next += 1;
            }
            anchor = next.clamp(anchor + 1, end);
        }
    }
    out
}

/// Whether a sentence asks.
pub fn is_question(s: &str) -> bool {
    let end = s.trim_end_matches(['"', '”', '\'', ')', ']']);
    // A tag ("..., right?", "..., you know?") asks nothing.
    end.ends_with('?') && ![", right?", ", you know?"].iter().any(|tag| end.to_lowercase().ends_with(tag))
}

/// Chat shorthand and the words it stands for: "did any1 disagree w/ him" asks about anyone
/// disagreeing with him, not about a word "any1" the episode never says.
const SHORTHAND: &[(&str, &str)] = &[
    ("any1", "anyone"),
    ("some1", "someone"),
    ("every1", "everyone"),
    ("no1", "no one"),
    ("w/", "with"),
    ("w/o", "without"),
    ("b/c", "because"),
    ("bc", "because"),
    ("cuz", "because"),
    ("coz", "because"),
    ("u", "you"),
    ("ur", "your"),
    ("ppl", "people"),
    ("abt", "about"),
    ("wat", "what"),
    ("wut", "what"),
    ("tho", "though"),
    ("thru", "through"),
    ("smth", "something"),
    ("sth", "something"),
    ("govt", "government"),
];

/// `question` with chat shorthand ([`SHORTHAND`]) spelt out; everything else as it was ("r"
/// stays: it is the language as often as "are").
pub fn spelt_out(question: &str) -> String {
    question
        .split(' ')
        .map(|w| {
            let bare = w.trim_end_matches(['?', '!', '.', ',', ';', ':']);
            match SHORTHAND.iter().find(|(short, _)| bare.eq_ignore_ascii_case(short)) {
                Some((_, long)) => format!("{long}{}", &w[bare.len()..]),
                None => w.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lower case, letters and digits only, single spaces: how spans are compared.
pub fn normalise(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_alphanumeric() { c.to_lowercase().next().unwrap_or(c) } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

const NUMBER_WORDS: &[(&str, &str)] = &[
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
    ("eleven", "11"),
    ("twelve", "12"),
    ("twenty", "20"),
    ("thirty", "30"),
    ("forty", "40"),
    ("fifty", "50"),
    ("hundred", "100"),
    ("thousand", "1000"),
    ("million", "1000000"),
    ("billion", "1000000000"),
];

const AMOUNT_WORDS: &[&str] = &["couple", "dozen", "half", "percent", "dozens", "hundreds", "thousands", "millions"];

/// Words of `text` as search compares them: stop words out, forms joined by [`terms::root`],
/// "UTF-8", "UTF8" and "utf 8" alike, "1,000" one number, "ten" and "10" the same.
pub fn search_terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in raw_words(text) {
        let lower = raw.replace('’', "'").to_lowercase();
        let parts: Vec<&str> = lower.split(['-', '/', '.']).filter(|p| !p.is_empty()).collect();
        let mut push = |w: &str| {
            let w = w.trim_matches('\'');
            let w = w.strip_suffix("'s").unwrap_or(w);
            let w = NUMBER_WORDS.iter().find(|(n, _)| *n == w).map(|(_, d)| *d).unwrap_or(w);
            if w.is_empty()
                || terms::is_stop_word(w)
                || (w.chars().count() < 2 && !w.chars().all(|c| c.is_ascii_digit()))
            {
                return;
            }
            out.push(terms::root(w));
        };
        if parts.len() == 2 {
            push(&parts.concat());
        }
        for p in &parts {
            push(p);
        }
    }
    out
}

/// Which of `text`'s [`raw_words`] begin a sentence: the first, and each after a word that
/// ends in full stops, question or exclamation marks ("Really?!", "Hmm...", a closing quote or
/// bracket after them allowed).
fn sentence_starts(text: &str) -> HashSet<usize> {
    let mut starts = HashSet::from([0]);
    let mut words = 0;
    for token in text.split_whitespace() {
        words += raw_words(token).len();
        if token.trim_end_matches(['"', '\'', '’', '”', ')', ']']).ends_with(['.', '?', '!']) {
            starts.insert(words);
        }
    }
    starts
}

/// Words with their inner punctuation ("UTF-8", "Moment.js", "1,000" as "1000"), outer
/// punctuation removed, original case kept.
pub fn raw_words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let inner = matches!(c, '-' | '/' | '.' | '\'' | '’' | ',')
            && i > 0
            && chars[i - 1].is_alphanumeric()
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if c.is_alphanumeric() || inner {
            if c == ',' {
                // A thousands separator ("1,000") joins; a comma between words ends a word.
                if chars[i - 1].is_ascii_digit() && chars[i + 1].is_ascii_digit() {
                    continue;
                }
            } else {
                cur.push(c);
                continue;
            }
        }
        if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn has_number(text: &str) -> bool {
    text.contains(['$', '%', '€', '£'])
        || raw_words(text).iter().any(|w| {
            let w = w.to_lowercase();
            w.chars().any(|c| c.is_ascii_digit())
                || NUMBER_WORDS.iter().any(|(n, _)| *n == w)
                || AMOUNT_WORDS.contains(&w.as_str())
        })
}

/// Kinds of amount a sentence can state, as bit flags: what a "how many", "how long" or "how
/// much money" question needs to find next to its words.
pub struct Amount;

impl Amount {
    /// A count: digits, a number word, "dozens".
    pub const COUNT: u8 = 1;
    /// Money: a currency sign or word.
    pub const MONEY: u8 = 2;
    /// A time or duration: a unit ("days", "hours"), a year, a month, "ago".
    pub const TIME: u8 = 4;
    /// A share: "%", "percent", "half".
    pub const SHARE: u8 = 8;
    /// A rank or version: "second", "number two", "1.11".
    pub const RANK: u8 = 16;
}

const TIME_UNITS: &[&str] = &[
    "second", "seconds", "minute", "minutes", "hour", "hours", "day", "days", "week", "weeks", "month", "months",
    "year", "years", "decade", "decades",
];
const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
/// Words ending in "s" that name no things counted.
const NOT_PLURALS: &[&str] =
    &["this", "thus", "does", "goes", "plus", "always", "perhaps", "unless", "across", "whereas"];
const MONEY_WORDS: &[&str] = &["dollar", "dollars", "bucks", "euro", "euros", "cents", "grand", "usd", "eur"];
const ORDINALS: &[&str] = &["second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"];

/// The kinds of amount `text` states. A duration needs its number ("three days", "a year from
/// now", "within hours"): "years after" alone times nothing.
fn amounts(text: &str) -> u8 {
    // "[unintelligible 00:25:31.24]", "[laughter]": transcription marks, not what was said.
    let said: String = text.split('[').map(|part| part.split_once(']').map_or(part, |(_, after)| after)).collect();
    let words: Vec<String> = raw_words(&said).iter().map(|w| w.to_lowercase()).collect();
    // "If you were doing 25% of the exports, it would be a two billion dollar run rate": an
    // amount supposed, not one stated.
    let supposes = words.iter().position(|w| w == "if").is_some_and(|i| {
        words[i + 1..].iter().take(4).any(|w| matches!(w.as_str(), "you" | "we" | "they" | "i"))
            && words[i + 1..].iter().any(|w| matches!(w.as_str(), "would" | "it'd" | "you'd" | "we'd" | "that'd"))
    });
    if supposes {
        return 0;
    }
    let mut out = 0;
    if said.contains(['$', '€', '£']) {
        out |= Amount::MONEY | Amount::COUNT;
    }
    if said.contains('%') {
        out |= Amount::SHARE | Amount::COUNT;
    }
    let is_count = |w: &str| {
        w.chars().any(|c| c.is_ascii_digit()) || NUMBER_WORDS.iter().any(|(n, _)| *n == w) || AMOUNT_WORDS.contains(&w)
    };
    for (i, w) in words.iter().enumerate() {
        let digits = w.chars().any(|c| c.is_ascii_digit());
        let before = |k: usize| i.checked_sub(k).map(|j| words[j].as_str()).unwrap_or("");
        // "Two weeks" is how long, not how many.
        let duration = words.get(i + 1).is_some_and(|n| TIME_UNITS.contains(&n.as_str()));
        let year = is_year(w);
        // "In 2018" is when; "2000 users" is how many.
        let counts_things = words.get(i + 1).is_some_and(|n| names_things(n));
        if is_count(w) && !duration && (!year || counts_things) {
            out |= Amount::COUNT;
        }
        if digits && (w.contains('.') || w.starts_with('v'))
            || ORDINALS.contains(&w.as_str())
            || digits && ["st", "nd", "rd", "th"].iter().any(|s| w.ends_with(s))
            || is_count(w) && ["number", "version", "release", "generation", "gen"].contains(&before(1))
        {
            out |= Amount::RANK;
        }
        let counted = |k: usize| {
            let b = before(k);
            is_count(b) || ["a", "an", "few", "several", "within", "next", "couple"].contains(&b)
        };
        if year
            || MONTHS.contains(&w.as_str())
            || w == "ago"
            || TIME_UNITS.contains(&w.as_str()) && (counted(1) || counted(2))
        {
            out |= Amount::TIME;
        }
        if MONEY_WORDS.contains(&w.as_str()) {
            out |= Amount::MONEY;
        }
        if ["percent", "percentage", "half", "majority"].contains(&w.as_str()) {
            out |= Amount::SHARE;
        }
    }
    out
}

/// Whether `w` is a year of the last two centuries ("1999", "2018").
fn is_year(w: &str) -> bool {
    w.len() == 4 && (w.starts_with("19") || w.starts_with("20")) && w.chars().all(|c| c.is_ascii_digit())
}

/// Whether the lower-case word `n` names things one counts: a plural ("users") or "people".
fn names_things(n: &str) -> bool {
    let plural = n.len() > 3 && n.ends_with('s') && !n.ends_with("ss") && !NOT_PLURALS.contains(&n);
    n.chars().all(|c| c.is_alphabetic()) && (plural || n == "people")
}

/// The roots of the things `text`'s numbers count ("ten million *machines*", "a hundred
/// *people*"), or `None` when one of its numbers names nothing after it. A version ("Hoodie
/// 1.0") counts nothing.
fn counts_of(text: &str) -> Option<Vec<String>> {
    let words: Vec<String> = raw_words(text).iter().map(|w| w.to_lowercase()).collect();
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let digits = w.chars().any(|c| c.is_ascii_digit());
        let number = |w: &str| {
            NUMBER_WORDS.iter().any(|(n, _)| *n == w) || AMOUNT_WORDS.contains(&w) && !["half", "percent"].contains(&w)
        };
        let year = is_year(w);
        // Money and shares may answer "how many" whatever follows them.
        if w.contains(['$', '%']) || ["half", "percent"].contains(&w.as_str()) {
            return None;
        }
        if !(digits || number(w)) || year {
            continue;
        }
        // Past the number's own words: "ten million machines", "two or three servers", "a
        // couple of weeks".
        let rest = words[i + 1..].iter().skip_while(|n| number(n) || *n == "or" || *n == "of");
        // The head of the noun after it: "a hundred pull *requests*", "200 Go *meetups*".
        match rest.take(3).take_while(|n| !terms::is_stop_word(n)).find(|n| names_things(n)) {
            Some(n) => out.extend(search_terms(n)),
            // "Hoodie 1.0": a version, which counts nothing.
            None if digits && w.contains('.') => {}
            None => return None,
        }
    }
    out.dedup();
    Some(out)
}

fn gives_reason(text: &str) -> bool {
    says_any(text, &["because", "reason", "reasons", "so that", "that's why", "due to", "cause"])
}

/// "It's a nonprofit that offers ...": says what something is or does.
fn describes(text: &str) -> bool {
    says_any(text, &["it's a", "it is a", "it's an", "it is an", "is a", "is an", "offers", "provides", "lets you"])
}

/// Verbs of making something, as a "who ...?" question asks them and an answer says them.
const MAKING: &[&str] = &[
    "built",
    "build",
    "builds",
    "wrote",
    "write",
    "writes",
    "written",
    "created",
    "create",
    "creates",
    "founded",
    "found",
    "started",
    "start",
    "starts",
    "made",
    "make",
    "makes",
    "designed",
    "design",
    "invented",
    "invent",
    "developed",
    "develop",
    "maintains",
    "maintain",
    "runs",
    "run",
    "leads",
    "lead",
    "came",
    "come",
    "owns",
    "own",
];

/// Who made something, as a question asks for them ("who were the founders?") and an answer
/// names them ("my co-founder").
const MAKERS: &[&str] = &[
    "founder",
    "founders",
    "cofounder",
    "cofounders",
    "co-founder",
    "co-founders",
    "creator",
    "creators",
    "author",
    "authors",
    "inventor",
];

/// What someone did who made something ("we build software" is no maker of anything asked).
const MADE: &[&str] =
    &["built", "wrote", "created", "founded", "started", "made", "designed", "invented", "developed", "came"];

/// "My co-founder and I", "full credit to Robert", "we built it", "Rob wrote it": says who
/// made something.
fn names_maker(text: &str) -> bool {
    if says_any(text, MAKERS)
        || says_any(
            text,
            &[
                "credit to",
                "built by",
                "written by",
                "created by",
                "made by",
                "designed by",
                "invented by",
                "started by",
                "founded by",
                "developed by",
                "the person who",
                "the people who",
                "the team that",
            ],
        )
    {
        return true;
    }
    // Someone as the subject of a verb of making: "I", "we" or a name ("Robert wrote").
    let words: Vec<String> = raw_words(text);
    words.windows(2).any(|w| {
        let lower = w[0].to_lowercase();
        let name = w[0].chars().next().is_some_and(char::is_uppercase) && !terms::is_stop_word(&lower);
        let maker = lower == "i" || lower == "we" || name && w[0].chars().count() > 1;
        maker && MADE.contains(&w[1].to_lowercase().as_str())
    })
}

/// What someone says of their own work and past: how a guest whom the host greeted by name
/// alone says who they are.
const SELF_DESCRIBING: &[&str] = &[
    "my background",
    "my co-founder",
    "my cofounder",
    "i co-founded",
    "i cofounded",
    "i founded",
    "i started the company",
    "i joined",
    "i worked at",
    "i worked for",
    "i used to work",
    "i work at",
    "i work for",
    "i'm the founder",
    "i'm the ceo",
    "i'm the cto",
    "i'm a software",
    "i'm an engineer",
    "i teach",
    "i run",
    "i lead",
    "my job",
    "my role",
];

/// Whether `text` says what its speaker does or did ("my background is in design", "I joined
/// GitHub in 2013").
pub fn describes_self(text: &str) -> bool {
    says_any(text, SELF_DESCRIBING)
}

/// Whether `text` says one of `phrases` as whole words, case, punctuation and apostrophes aside.
fn says_any(text: &str, phrases: &[&str]) -> bool {
    let t = format!(" {} ", normalise(text));
    phrases.iter().any(|p| t.contains(&format!(" {} ", normalise(p))))
}

/// What a question wants, beyond its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wants {
    /// How many, how much, how long, when: a number or a time.
    Amount,
    /// Why: a reason.
    Reason,
    /// What is X, what does X do: a description of X.
    Description,
    /// Who made X ("who built it?", "who founded Rewatch?"): someone named as its maker.
    Maker,
    Other,
}

/// What a question asks of the others' response to the insight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// What the others said next ("how did the host react?", "did anyone respond?").
    Reply,
    /// Whether anyone objected ("did anyone disagree?", "any pushback on that?"): a reply that
    /// takes issue, not just the next one.
    Pushback,
    /// Whether anyone agreed ("did anyone agree?", "who else agreed?"): a reply that does not
    /// take issue; an objection is no answer to it.
    Agreement,
    /// The question the insight answers ("what was the question?", "what was she asked?").
    Prompt,
}

/// One word of a question as search uses it.
#[derive(Debug, Clone)]
pub struct QueryTerm {
    /// The root compared with passages.
    pub root: String,
    /// The stem the stored corpus statistics are keyed by.
    pub stem: String,
    pub weight: f64,
    /// Counts towards coverage; a compound's joined form ("utf8" of "UTF-8") does not, its
    /// parts do.
    pub counts: bool,
    /// Roots of other words for the same thing, each with the share of this word it counts as.
    pub related: Vec<(String, f64)>,
}

impl QueryTerm {
    /// How much of this word `has` finds: all of it for the word itself, a share for a
    /// related word, nothing otherwise.
    fn found(&self, has: impl Fn(&str) -> bool) -> f64 {
        if has(&self.root) {
            return 1.0;
        }
        self.related.iter().filter(|(r, _)| has(r)).map(|(_, w)| *w).fold(0.0, f64::max)
    }
}

/// A question analysed for search.
#[derive(Debug, Clone)]
pub struct Query {
    pub terms: Vec<QueryTerm>,
    /// Names and other proper words of the question (capitalised, with digits), as roots per
    /// word: if one never occurs where we search, the question is about something else.
    pub names: Vec<(String, Vec<String>)>,
    /// Speakers the question names ("what does Amal want ..."): their passages come first.
    pub speakers: Vec<String>,
    pub wants: Wants,
    /// The kinds of amount ([`Amount`] flags) an answer must state; 0 when it asks for none.
    pub needs: u8,
    /// Roots of what a "how many" question counts: the number must be said about it.
    pub counted: Vec<String>,
    /// When the question has no words of its own ("what did he mean by that?"): the time of the
    /// insight it is about, whose words then stand in.
    pub near: Option<f64>,
    /// When the question asks where else the insight's subject comes up ("what else did she say
    /// about it?"): the passages around the insight do not answer it.
    pub elsewhere: bool,
    /// When the question asks how the others took the insight ("did anyone push back on
    /// that?", "how did the host react?"): the turns right after it answer, not its words.
    pub response: Option<Response>,
    /// The question as asked.
    pub text: String,
}

impl Query {
    /// `speakers` are the names of the people heard in the searched episodes; `insight` the
    /// text and start time of the insight asked about.
    pub fn new(question: &str, speakers: &[String], insight: (&str, f64)) -> Query {
        let words = raw_words(question);
        // A speaker counts as named by any part of their name of three letters or more.
        let mut named: Vec<String> = Vec::new();
        let mut name_roots: HashSet<String> = HashSet::new();
        for s in speakers {
            let parts: Vec<String> = raw_words(s)
                .iter()
                .map(|p| p.to_lowercase())
                .filter(|p| p.chars().count() >= 3 && !terms::is_stop_word(p))
                .collect();
            let hit = words.iter().any(|w| {
                let w = w.to_lowercase().replace('’', "'");
                let w = w.strip_suffix("'s").unwrap_or(&w);
                parts.iter().any(|p| p == w)
            });
            if hit && !named.contains(s) {
                named.push(s.clone());
            }
            for p in parts {
                name_roots.extend(search_terms(&p));
            }
        }
        let mut terms: Vec<QueryTerm> = Vec::new();
        let mut names: Vec<(String, Vec<String>)> = Vec::new();
        let lead_in = lead_in_words(question);
        let sentence_starts = sentence_starts(question);
        for (i, w) in words.iter().enumerate() {
            let lower = w.to_lowercase();
            // "How does that work?": the verb after a pointer at the insight asks nothing of its own.
            let pointed = i > 0
                && matches!(words[i - 1].to_lowercase().as_str(), "this" | "that" | "it")
                && POINTED_FILLERS.contains(&lower.as_str());
            let roots =
                if QUESTION_FILLERS.contains(&lower.as_str()) || pointed { Vec::new() } else { search_terms(w) };
            // Two capitals ("UI", "CI", "AI") abbreviate common words, which an episode may
            // spell out; they are no names to insist on.
            // A sentence's first word is capitalised whatever it is ("Interesting. Explain how").
            let proper = ((!sentence_starts.contains(&i) && w.chars().next().is_some_and(char::is_uppercase))
                || w.chars().filter(|c| c.is_uppercase()).count() > 1)
                && w.chars().count() > 2
                || w.chars().any(|c| c.is_ascii_digit());
            let speaker = roots.iter().any(|r| name_roots.contains(r));
            if proper && w != "I" && !terms::is_stop_word(&lower) && !roots.is_empty() && !speaker {
                names.push((w.clone(), roots.clone()));
            }
            // Each part of "top-of-the-line" is looked up in the corpus by its own stem: the
            // whole, rarely written so, would weigh like a word never heard.
            let lower = lower.replace('’', "'");
            let parts: Vec<(String, String)> = lower
                .split(['-', '/', '.'])
                .flat_map(|part| search_terms(part).into_iter().map(move |r| (r, terms::stem(part))))
                .collect();
            for r in roots {
                if name_roots.contains(&r) || terms.iter().any(|t| t.root == r) {
                    continue;
                }
                let part = parts.iter().find(|(root, _)| *root == r);
                let joined = part.is_none();
                let stem = part.map(|(_, stem)| stem.clone()).unwrap_or_else(|| r.clone());
                let weight = if joined { 0.5 } else { 1.0 } * if i < lead_in { LEAD_IN_WEIGHT } else { 1.0 };
                terms.push(QueryTerm { stem, weight, counts: !joined, root: r, related: Vec::new() });
            }
        }
        let about_the_insight: HashSet<String> = ABOUT_THE_INSIGHT.iter().flat_map(|w| search_terms(w)).collect();
        // "Did anyone push back on that?" names nothing to search for: it asks what the others
        // said to the insight. With words of its own ("did anyone disagree about the pricing?")
        // it is searched as any question.
        let response = response_asked(&words, !named.is_empty()).filter(|_| {
            let responding: HashSet<String> = RESPONSE_WORDS
                .iter()
                .chain(PUSHBACK_WORDS)
                .chain(AGREEMENT_WORDS)
                .chain(RESPONDENTS)
                .chain(PROMPT_WORDS)
                .chain(PROMPT_NOUNS)
                .chain(LED_TO)
                .flat_map(|w| search_terms(w))
                .collect();
            terms.iter().all(|t| about_the_insight.contains(&t.root) || responding.contains(&t.root))
        });
        // "What's an example?" asks for one of the insight's: searched on its words, near it as
        // much as away from it (an example follows the point as often as not).
        let illustrating: HashSet<String> = ILLUSTRATES.iter().flat_map(|w| search_terms(w)).collect();
        let illustrated = response.is_none()
            && terms.iter().any(|t| illustrating.contains(&t.root))
            && terms.iter().all(|t| about_the_insight.contains(&t.root));
        if !illustrated && (response.is_some() || terms.iter().all(|t| about_the_insight.contains(&t.root))) {
            terms.clear();
        }
        let (mut near, mut elsewhere) = (None, false);
        // A question pointing at the insight and naming nothing else ("did anyone push back on
        // this?", "how does that work in practice?") is asked of its subject: the insight's
        // words join the question's for a share, without counting towards whether it is
        // covered (what it asks must still be said).
        let share = if terms.is_empty() {
            // "What else did he say about it?" asks where else its subject comes up: searched on
            // the insight's words away from it, not read at its moment.
            elsewhere = response.is_none() && words.iter().any(|w| ELSEWHERE.contains(&w.to_lowercase().as_str()));
            near = (!elsewhere).then_some(insight.1);
            Some((1.0, true))
        } else if illustrated {
            // Its subject is what the example must be about; the word "example" itself is
            // seldom said with one, and counts for a share.
            for t in terms.iter_mut() {
                (t.weight, t.counts) = (INSIGHT_SHARE, false);
            }
            Some((1.0, true))
        } else if names.is_empty() && points_at_insight(&words, terms.len()) {
            Some((INSIGHT_SHARE, false))
        } else {
            None
        };
        if let Some((weight, counts)) = share {
            for w in raw_words(insight.0) {
                for r in search_terms(&w) {
                    if !terms.iter().any(|t| t.root == r) {
                        terms.push(QueryTerm {
                            stem: terms::stem(&w.to_lowercase()),
                            root: r,
                            weight,
                            counts,
                            related: Vec::new(),
                        });
                    }
                }
            }
        }
        // Other words for the question's common words; names have none.
        let own: HashSet<String> = terms.iter().map(|t| t.root.clone()).collect();
        let proper: HashSet<&String> = names.iter().flat_map(|(_, roots)| roots).collect();
        for t in terms.iter_mut().filter(|t| t.counts && !proper.contains(&t.root)) {
            t.related = related::related(&t.root)
                .iter()
                .filter(|(r, _)| !own.contains(r))
                .map(|(r, sim)| (r.clone(), sim * RELATED_WEIGHT))
                .collect();
        }
        let (needs, mut counted) = amount_asked(question);
        for c in counted.clone() {
            counted.extend(related::related(&c).iter().map(|(r, _)| r.clone()));
        }
        Query {
            terms,
            names,
            speakers: named,
            // "What's an example?" wants one, not a description.
            wants: if illustrated { Wants::Other } else { wants(question) },
            needs,
            counted,
            near,
            elsewhere,
            response,
            text: question.to_string(),
        }
    }

    /// The question read against the words said in `passages`: a misspelt word ("writting",
    /// "frist") becomes the episode's word one or two letters away, and a misspelt stop word
    /// ("abuot") stops counting. A question mostly in words podsift cannot read (another
    /// language: the offline engine compares words, it does not translate) is searched by the
    /// words it shares with the episode ("IDE", "Go") alone, so that the rest does not make
    /// it "not covered" when the episode says what it asks.
    pub fn read_against<'p>(&mut self, passages: impl IntoIterator<Item = &'p Passage>) {
        let passages: Vec<&Passage> = passages.into_iter().collect();
        let mut said: HashMap<&str, usize> = HashMap::new();
        for p in &passages {
            for t in p.terms.iter().chain(&p.prompt_terms).chain(&p.known_terms) {
                *said.entry(t.as_str()).or_default() += 1;
            }
        }
        // A name ("Kubernets") is corrected only to another name or term of the episode
        // ("Kubernetes"), never to a common word: "Helm" is no typo of "help", and a name never
        // said is what makes a question not covered.
        let proper: std::collections::HashSet<String> =
            self.names.iter().flat_map(|(_, roots)| roots.iter().cloned()).collect();
        let typo_of = |root: &str, word: &str| -> bool {
            match root.chars().count() {
                0..=3 => false,
                // Short words are too near each other ("rust" and "just"): only two letters
                // swapped ("waht") reads as a slip.
                4 => swapped(root, word),
                5..=7 => edits_within(root, word, 1).is_some(),
                _ => edits_within(root, word, 2).is_some(),
            }
        };
        let unknown =
            |root: &str| !said.contains_key(root) && !related::known(root) && !root.chars().any(|c| c.is_ascii_digit());
        let fix = |root: &str| -> Option<String> {
            if !unknown(root) {
                return None;
            }
            let name = proper.contains(root);
            let most = if root.chars().count() >= 8 { 2 } else { 1 };
            said.iter()
                .filter(|(w, _)| typo_of(root, w) && !(name && related::known(w)))
                .filter_map(|(w, n)| edits_within(root, w, most).map(|d| (d, std::cmp::Reverse(*n), *w)))
                .min()
                .map(|(_, _, w)| w.to_string())
        };
        self.join_compounds(&said, &unknown, &proper, &passages);
        let mut corrected: HashMap<String, String> = HashMap::new();
        for t in &mut self.terms {
            if !t.counts && t.weight == 0.0 {
                continue;
            }
            if let Some(w) = fix(&t.root) {
                corrected.insert(t.root.clone(), w.clone());
                t.stem = w.clone();
                t.related = related::related(&w).iter().map(|(r, sim)| (r.clone(), sim * RELATED_WEIGHT)).collect();
                t.root = w;
            } else if unknown(&t.root)
                && !proper.contains(&t.root)
                && terms::stop_words().iter().any(|s| typo_of(&t.root, s))
            {
                t.counts = false;
                t.weight = 0.0;
            }
        }
        for (_, roots) in &mut self.names {
            for r in roots.iter_mut() {
                if let Some(w) = corrected.get(r) {
                    *r = w.clone();
                }
            }
        }
        // Another language: no English function word of three letters or more ("for", "the",
        // "how": an English question has one), and most words neither English nor the
        // episode's.
        let words: Vec<String> = raw_words(&self.text).iter().map(|w| w.to_lowercase().replace('’', "'")).collect();
        let readable = |w: &String| {
            terms::is_stop_word(w) || search_terms(w).iter().any(|r| said.contains_key(r.as_str()) || related::known(r))
        };
        let english = words.iter().any(|w| w.chars().count() >= 3 && terms::is_stop_word(w));
        let foreign = !english && words.len() >= 3 && words.iter().filter(|w| readable(w)).count() * 2 < words.len();
        if foreign {
            for t in self.terms.iter_mut().filter(|t| !said.contains_key(t.root.as_str())) {
                t.counts = false;
                t.weight = 0.0;
            }
            self.names.retain(|(_, roots)| roots.iter().any(|r| said.contains_key(r.as_str())));
        }
    }

    /// Compounds written the other way than the episode writes them: "gofmt" asked where "go
    /// fmt" is said is searched as "fmt" ("go" is too common to search for), and "run book" asked
    /// where "runbook" is said as "runbook". Only words the episode does not say are read so, and
    /// never a name, so "TypeScript" is still never mentioned where "type" and "script" are.
    fn join_compounds(
        &mut self,
        said: &HashMap<&str, usize>,
        unknown: &dyn Fn(&str) -> bool,
        proper: &HashSet<String>,
        passages: &[&Passage],
    ) {
        let is_said = |w: &str| said.contains_key(w);
        // Said as two words side by side, in any form: "go fmt", "laying out" for "layout", not
        // "build" somewhere and "up" elsewhere. The episode's text is read only for a question
        // with a word to split.
        let spoken = std::cell::OnceCell::new();
        // The weight of the parts: said in another form ("laying out" for "layout") they count
        // half, as the verb and its particle may mean something else there.
        let side_by_side = |a: &str, b: &str| -> Option<f64> {
            let (ra, rb) = (search_terms(a), search_terms(b));
            let is = |(word, root): &(String, Option<String>), w: &str, r: &[String]| {
                word == w || root.as_ref().is_some_and(|root| r.first() == Some(root))
            };
            let sentences = spoken.get_or_init(|| {
                passages
                    .iter()
                    .flat_map(|p| &p.sentences)
                    .map(|(_, _, text)| {
                        let words = normalise(text);
                        words.split_whitespace().map(|w| (w.to_string(), search_terms(w).pop())).collect()
                    })
                    .collect::<Vec<Vec<(String, Option<String>)>>>()
            });
            let pairs = || sentences.iter().flat_map(|s| s.windows(2));
            if pairs().any(|pair| pair[0].0 == a && pair[1].0 == b) {
                Some(1.0)
            } else {
                pairs().any(|pair| is(&pair[0], a, &ra) && is(&pair[1], b, &rb)).then_some(SPLIT_FORM_WEIGHT)
            }
        };
        let mut split: Vec<(String, String, f64)> = Vec::new();
        // A name is never split: "TypeScript" is not said where "type" and "script" are. A word
        // of the related-words table the episode does not say ("layout" where "laying out" is)
        // keeps its share of its related words' ("layouts").
        let unsaid = |r: &str| unknown(r) || !is_said(r) && related::known(r);
        for t in self.terms.iter_mut().filter(|t| t.counts && unsaid(&t.root) && !proper.contains(&t.root)) {
            let chars: Vec<char> = t.root.chars().collect();
            if chars.len() < 5 {
                continue;
            }
            let parts = (2..chars.len() - 1).find_map(|k| {
                let (a, b): (String, String) = (chars[..k].iter().collect(), chars[k..].iter().collect());
                let (ra, rb) = (search_terms(&a), search_terms(&b));
                // A part is a word the episode says, or a stop word (the "go" of "gofmt") when
                // the other part is said and long enough to search for on its own; and the two
                // are said together.
                let part_ok = |r: &[String], other: &[String], other_len: usize| match (r, other) {
                    ([r], _) => is_said(r),
                    ([], [o]) => other_len >= 3 && is_said(o),
                    _ => false,
                };
                let with_stems = |r: Vec<String>, w: &str, weight: f64| {
                    r.into_iter().map(|r| (r, terms::stem(w), weight)).collect::<Vec<_>>()
                };
                if !(part_ok(&ra, &rb, b.len()) && part_ok(&rb, &ra, a.len())) {
                    return None;
                }
                // Other forms only for a word of the related-words table: one podsift does not
                // know ("buildup") is split where it is said apart as such, since "seven years
                // builds up to" took the answer's place for it on the labelled questions.
                let weight = side_by_side(&a, &b).filter(|w| *w == 1.0 || !unknown(&t.root))?;
                Some(with_stems(ra, &a, weight).into_iter().chain(with_stems(rb, &b, weight)).collect::<Vec<_>>())
            });
            if let Some(parts) = parts {
                t.counts = false;
                if unknown(&t.root) {
                    t.weight = 0.0;
                }
                split.extend(parts);
            }
        }
        for (root, stem, weight) in split {
            if !self.terms.iter().any(|t| t.root == root && t.counts) {
                self.terms.push(QueryTerm { stem, root, weight, counts: true, related: Vec::new() });
            }
        }
        // Two words of the question one word in the episode.
        let words: Vec<String> = raw_words(&self.text).iter().map(|w| w.to_lowercase()).collect();
        for pair in words.windows(2) {
            let joined = search_terms(&pair.concat());
            let [joined] = joined.as_slice() else { continue };
            let parts: Vec<String> = pair.iter().flat_map(|w| search_terms(w)).collect();
            // Both parts said apart ("web site" in an episode saying "web" and "site" too) need
            // no joining.
            if !is_said(joined) || parts.is_empty() || parts.iter().all(|p| is_said(p)) {
                continue;
            }
            for t in self.terms.iter_mut().filter(|t| parts.contains(&t.root)) {
                t.counts = false;
                t.weight = 0.0;
            }
            if !self.terms.iter().any(|t| t.root == *joined && t.counts) {
                let stem = terms::stem(&pair.concat());
                let term = QueryTerm { stem, root: joined.clone(), weight: 1.0, counts: true, related: Vec::new() };
                self.terms.push(term);
            }
            for (_, roots) in &mut self.names {
                if roots.iter().any(|r| parts.contains(r)) {
                    roots.push(joined.clone());
                }
            }
        }
    }

    /// The stems to look up in the stored corpus.
    pub fn stems(&self) -> Vec<String> {
        self.terms.iter().map(|t| t.stem.clone()).collect()
    }
}

/// The weight of the parts of a question's word the episode says apart in another form ("lay"
/// of "layout" where "laying out" is said).
const SPLIT_FORM_WEIGHT: f64 = 0.5;

/// Whether `b` is `a` with two neighbouring letters swapped ("waht" and "what").
fn swapped(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len() != b.len() {
        return false;
    }
    let differ: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    matches!(differ.as_slice(), [i, j] if *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i])
}

/// The number of edits (a letter added, dropped, changed, or two swapped) between `a` and `b`,
/// when it is at most `most`.
fn edits_within(a: &str, b: &str, most: usize) -> Option<usize> {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > most {
        return None;
    }
    // Optimal string alignment: three rows of the table are enough.
    let mut before: Vec<usize> = Vec::new();
    let mut last: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (last[j] + 1).min(row[j - 1] + 1).min(last[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        if row.iter().min().copied().unwrap_or(0) > most {
            return None;
        }
        before = std::mem::replace(&mut last, row);
    }
    let d = last[b.len()];
    (d <= most).then_some(d)
}

/// Words a question is phrased with that say nothing of its topic: answers rarely repeat them.
const QUESTION_FILLERS: &[&str] = &[
    "actually",
    "usually",
    "really",
    "ever",
    "still",
    "among",
    "typical",
    "typically",
    "realistically",
    "exactly",
    "basically",
    "generally",
    "main",
    "mostly",
    "instead",
    "nowadays",
    "currently",
    "days",
    "anymore",
];

/// Words that ask for more of the insight itself ("can you elaborate?", "what was the
/// context?"): a question of these alone names nothing to search for but the insight. With
/// other words ("how big is the context window?") they are searched as any word.
const ABOUT_THE_INSIGHT: &[&str] = &[
    "elaborate",
    "explain",
    "expand",
    "clarify",
    "context",
    "detail",
    "details",
    "specifically",
    "verbatim",
    "exact",
    "quote",
    "words",
    // "What's the source for that?", "why does that matter?": asked of the insight, not of
    // whatever else is a source or matters ([`ELSEWHERE`] too: what backs it is said away from it).
    "matter",
    "matters",
    "meant",
    "significance",
    "source",
    "sources",
    "evidence",
    "example",
    "examples",
    "saying",
    // "Who is the Robert she refers to?": whom the insight names, not a word to find.
    "refers",
    "referring",
    "mentions",
    "mentioned",
    "else",
    "others",
    "besides",
    "elsewhere",
    "anything",
];

/// Search terms from which a question's closing "it" or "that" refers to its own words.
const SAYS_ITS_OWN_SUBJECT: usize = 4;

/// What a word of the insight a question points at counts for, of one of the question's own.
const INSIGHT_SHARE: f64 = 0.5;

/// Whether a question points at the insight it is asked about: it ends on "this", "that" or
/// "it" ("did anyone push back on this?"), asks whether "that" (or "it") holds, works or
/// matters, or speaks of a "he" or "she". A question saying enough of its own (`own` search
/// terms) ends on a word that points back within it: "a way to word things in a disagreement so
/// you own your side of it" asks about the disagreement, not the insight.
fn points_at_insight(words: &[String], own: usize) -> bool {
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    lower.last().is_some_and(|w| points(w) && (own < SAYS_ITS_OWN_SUBJECT || !matches!(w.as_str(), "it" | "that")))
        || lower.windows(2).any(|p| {
            let verb = p[1].as_str();
            (matches!(p[0].as_str(), "this" | "that") && POINTED_VERBS.contains(&verb))
                // "Is it ever...", "did it take...": only a verb of its own makes "it" point.
                || (p[0] == "it" && POINTED_VERBS.contains(&verb) && !matches!(verb, "is" | "was" | "does" | "did"))
        })
        || speaks_of_someone(words)
}

/// Whether a question speaks of a "he" or "she" ("what else did he say?").
pub fn speaks_of_someone(words: &[String]) -> bool {
    words.iter().any(|w| w.eq_ignore_ascii_case("he") || w.eq_ignore_ascii_case("she"))
}

/// Verbs that follow a "this" or "that" standing for something said ("does that work?").
const POINTED_VERBS: &[&str] = &[
    "is", "was", "does", "did", "work", "works", "mean", "means", "happen", "happened", "apply", "applies", "compare",
    "compares", "hold", "holds", "scale", "scales", "matter", "matters", "cost", "costs", "help", "helps",
];

/// Of [`POINTED_VERBS`], those that name nothing to find ("how does that work?", "what does it
/// mean?", "did that happen?").
const POINTED_FILLERS: &[&str] =
    &["work", "works", "mean", "means", "happen", "happened", "apply", "applies", "hold", "holds"];

/// Words that ask for more of the insight's subject elsewhere in the episode ("what else did he
/// say about it?", "anything other than that?", "what's the evidence for that?", "why does that
/// matter?") rather than for its own moment: what backs a claim or follows from it is seldom in
/// the sentence that makes it (readers rated the insight's own words weaker there).
/// Words asking for an example of what was said ("what's an example?").
const ILLUSTRATES: &[&str] = &["example", "examples", "instance"];

const ELSEWHERE: &[&str] = &[
    "else",
    "other",
    "others",
    "besides",
    "elsewhere",
    "source",
    "sources",
    "evidence",
    "example",
    "examples",
    "matter",
    "matters",
    "significance",
];

/// Words asking what the others said to something ("how did she react?", "any response?").
const RESPONSE_WORDS: &[&str] = &[
    "react",
    "reacted",
    "reaction",
    "reactions",
    "respond",
    "responded",
    "response",
    "responses",
    "reply",
    "replied",
    "replies",
    "say",
    "said",
];

/// Words asking whether anyone agreed with something ("did anyone agree?").
const AGREEMENT_WORDS: &[&str] = &["agree", "agreed", "agrees", "agreement", "concur", "concurred"];

/// Words asking whether anyone took issue with something ("did anyone push back?").
const PUSHBACK_WORDS: &[&str] = &[
    "disagree",
    "disagreed",
    "disagrees",
    "disagreement",
    "pushback",
    "push",
    "pushed",
    "back",
    "object",
    "objected",
    "objection",
    "objections",
    "argue",
    "argued",
    "counter",
    "countered",
    "challenge",
    "challenged",
    "contradict",
    "contradicted",
    "dispute",
    "disputed",
    "skeptical",
    "sceptical",
    "doubt",
    "doubted",
    "question",
    "questioned",
    "criticism",
    "criticised",
    "criticized",
    "critique",
];

/// Words asking for the question the insight answers.
const PROMPT_WORDS: &[&str] = &["asked", "answering", "prompted"];

/// Words that say how a question led to the insight ("... that led to this answer?"), naming
/// nothing to search for.
const LED_TO: &[&str] = &["led", "lead", "leads", "answer"];

/// The question asked, as a noun ("what was the question?").
const PROMPT_NOUNS: &[&str] = &["question", "questions"];

/// Who a question about a response may name besides the speakers ("did anyone", "the host").
const RESPONDENTS: &[&str] = &[
    "anyone", "anybody", "someone", "somebody", "everyone", "others", "other", "host", "hosts", "guest", "guests",
    "panel", "co", "cohost", "people", "one", "with",
];

/// Whether a question asks how the others took what was said, and how: a word of objection
/// ("disagree", "push back") asks for one; a word of response ("react", "respond", "agree")
/// for the reply. Only a question that says whose response (anyone, the others, the host, a
/// speaker by name: `names_someone`) or to what ("... to that?", "... with this?") is read so,
/// and only one with no words of its own (see [`Query::new`]): "why is she skeptical?" and
/// "what did he argue?" ask for the speaker's own words.
fn response_asked(words: &[String], names_someone: bool) -> Option<Response> {
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    // "The question" is a noun: asked for ("what was the question?") or answered, not an
    // objection ("did anyone question that?").
    let noun = lower.windows(2).any(|p| {
        matches!(p[0].as_str(), "the" | "a" | "what" | "which" | "that" | "this")
            && PROMPT_NOUNS.contains(&p[1].as_str())
    });
    let to_it = lower.windows(2).any(|p| matches!(p[0].as_str(), "to" | "on" | "with") && points(&p[1]));
    let whose = names_someone || lower.iter().any(|w| RESPONDENTS.contains(&w.as_str()) && w != "with");
    let agrees = lower.iter().any(|w| AGREEMENT_WORDS.contains(&w.as_str()));
    let objects_in_words =
        lower.iter().any(|w| !matches!(w.as_str(), "push" | "pushed" | "back") && PUSHBACK_WORDS.contains(&w.as_str()));
    // "Who else agreed?", "who agreed with that?": asked of whoever replied.
    if agrees && !objects_in_words && (to_it || whose || lower.iter().any(|w| w == "who")) {
        return Some(Response::Agreement);
    }
    // "How did she answer?" asks for her words; "this answer" is the insight.
    let how_answered = lower.iter().enumerate().any(|(i, w)| {
        matches!(w.as_str(), "answer" | "answered")
            && !i
                .checked_sub(1)
                .is_some_and(|j| matches!(lower[j].as_str(), "this" | "that" | "the" | "her" | "his" | "an"))
    });
    // "What did the host ask?", "what did they ask him?": whose question it was says nothing
    // of a response.
    let wh = lower.first().is_some_and(|w| matches!(w.as_str(), "what" | "who" | "which"));
    let asked = lower.iter().any(|w| matches!(w.as_str(), "ask" | "asked") || PROMPT_NOUNS.contains(&w.as_str()));
    if wh && asked && !how_answered && !objects_in_words {
        return Some(Response::Prompt);
    }
    if !(to_it || whose) {
        // "What was the question?", "what was she asked?", "who asked that?": what the insight
        // answers, whoever asked it; not how it was answered ("how did she answer the
        // question?" asks for her words).
        let prompt = noun || lower.iter().any(|w| PROMPT_WORDS.contains(&w.as_str()));
        return (prompt && !how_answered).then_some(Response::Prompt);
    }
    let pushed_back = lower.windows(2).any(|p| p[0].starts_with("push") && p[1] == "back");
    // "Push" and "back" object only together; "the question" is a noun.
    let said_alone = |w: &str| matches!(w, "push" | "pushed" | "back") || (noun && w == "question");
    let objects = lower.iter().any(|w| !said_alone(w) && PUSHBACK_WORDS.contains(&w.as_str()));
    if pushed_back || objects {
        return Some(Response::Pushback);
    }
    // "Say" asks for a response only as "say to that" ("what did Jerod say to that?").
    let responds = lower.iter().any(|w| RESPONSE_WORDS.contains(&w.as_str()) && !matches!(w.as_str(), "say" | "said"))
        || lower.windows(3).any(|p| matches!(p[0].as_str(), "say" | "said") && p[1] == "to" && points(&p[2]));
    responds.then_some(Response::Reply)
}

/// Openings of a sentence that asks for an answer without a question mark ("Describe the
/// model.", "Tell us about the launch.", "Walk us through it.").
const REQUESTS: &[&str] = &[
    "describe",
    "explain",
    "tell us",
    "tell me",
    "walk us through",
    "walk me through",
    "talk us through",
    "take us through",
    "take us to",
    "talk about",
    "give us",
    "let's hear",
    "let's have a look",
    "let's start with",
];

/// Whether a sentence asks for an answer in the imperative ([`REQUESTS`]).
pub fn requests(sentence: &str) -> bool {
    opens_with(sentence, REQUESTS)
}

/// Whether a word stands for what was said ("that", "it", "this").
fn points(w: &str) -> bool {
    matches!(w, "this" | "that" | "it" | "these" | "those")
}

/// Cues of a reply that takes issue with what it answers, wherever it says them:
/// disagreement said outright, a risk or a contradiction raised against it.
const PUSHBACK_CUES: &[&str] = &[
    "disagree",
    "don't agree",
    "do not agree",
    "push back",
    "pushback",
    "devil's advocate",
    "counterpoint",
    "the flip side",
    "the risk is",
    "the downside",
    "not convinced",
    "i'm not so sure",
    "i'm not sure that",
    "i doubt",
    "i'm skeptical",
    "i'm sceptical",
    "i wouldn't expect",
    "that's not true",
    "that's not always",
    "contradiction",
];

/// Words that take issue only where a reply opens with them ("But ...", "Yeah, but ...", "Not
/// necessarily"): later in it, they qualify its own point.
const PUSHBACK_OPENINGS: &[&str] = &[
    "but",
    "yeah but",
    "yes but",
    "sure but",
    "true but",
    "well but",
    "not necessarily",
    "not really",
    "i don't know",
    "i don't think so",
    "i'm not sure",
    "to be fair",
    "on the other hand",
    "the problem is",
    "the problem with",
];

/// Whether a reply takes issue with what it answers ([`PUSHBACK_CUES`] anywhere, or an opening
/// of [`PUSHBACK_OPENINGS`]).
pub fn pushes_back(reply: &str) -> bool {
    // "I don't disagree": agreement said through a denial, which takes no issue by itself.
    let agreeing = ["don't disagree", "do not disagree", "wouldn't disagree", "can't disagree"];
    says_any(&without(reply, &agreeing), PUSHBACK_CUES) || opens_with(reply, PUSHBACK_OPENINGS)
}

/// `text` normalised, with `phrases` taken out: a cue said only inside one of them ("disagree"
/// in "I don't disagree") does not count.
fn without(text: &str, phrases: &[&str]) -> String {
    let mut said = format!(" {} ", normalise(text));
    for p in phrases {
        said = said.replace(&format!(" {} ", normalise(p)), " ");
    }
    said
}

/// Whether `text` opens with one of `phrases`, after words that only lead in ("so", "well",
/// "okay", "and"), case and punctuation aside.
fn opens_with(text: &str, phrases: &[&str]) -> bool {
    let normal = normalise(text);
    let mut rest: &str = &normal;
    while let Some((first, after)) = rest.split_once(' ') {
        if !matches!(first, "so" | "now" | "okay" | "ok" | "well" | "and" | "alright" | "yeah") {
            break;
        }
        rest = after;
    }
    let rest = format!(" {rest} ");
    phrases.iter().any(|p| rest.starts_with(&format!(" {} ", normalise(p))))
}

/// Words with which a turn's first sentence takes up what was just said ("That's a pretty cool
/// feature.", "You've put that perfectly.", "I'll say this as a response to that").
const REACTION_CUES: &[&str] = &[
    "cool",
    "interesting",
    "fascinating",
    "wow",
    "makes sense",
    "make sense",
    "good point",
    "great point",
    "fair point",
    "fair enough",
    "i agree",
    "agreed",
    "exactly",
    "absolutely",
    "totally",
    "perfectly",
    "well said",
    "love that",
    "like that",
    "that's true",
    "that's right",
    "so true",
    "response to that",
    "to that point",
    "to your point",
];

/// Whether a sentence opening a turn reacts to what was just said ([`REACTION_CUES`]).
pub fn reacts(first_sentence: &str) -> bool {
    let negated = ["doesn't make sense", "does not make sense", "don't make sense", "not interesting", "not cool"];
    says_any(&without(first_sentence, &negated), REACTION_CUES)
}

/// The passages nearest the moment `at`, as ranked: the one that starts at or just before it
/// first (it holds what was said there and goes on from it), then outwards.
pub fn around(passages: &[Passage], at: f64) -> Vec<Scored<'_>> {
    let mut near: Vec<&Passage> = passages.iter().collect();
    // Starting after the moment, a passage misses its opening: later than any that hold it.
    let distance = |p: &Passage| if p.start() <= at + 0.5 { at - p.start() } else { 3600.0 + p.start() - at };
    near.sort_by(|a, b| distance(a).total_cmp(&distance(b)));
    near.into_iter()
        .map(|p| Scored {
            passage: p,
            score: 1.0 / (1.0 + distance(p) / 60.0),
            coverage: 1.0,
            local: 1.0,
            chosen: false,
        })
        .collect()
}

/// How many words open the question with a short lead-in ("Without Kubernetes, how ...",
/// "If Go isn't used for web apps in Octant, what ..."): they set the scene, the answer is
/// about what follows.
fn lead_in_words(question: &str) -> usize {
    let Some((head, rest)) = question.split_once(',') else { return 0 };
    let asks = normalise(rest).split_whitespace().next().is_some_and(|w| {
        ["what", "how", "which", "who", "where", "when", "why", "does", "do", "did", "is", "are", "can", "should"]
            .contains(&w)
    });
    let n = raw_words(head).len();
    if asks && n <= 12 { n } else { 0 }
}

/// The question as asked, and the question proper after a short lead-in ("According to Dave,
/// how many ...", "Without Kubernetes, how ..."), normalised, without a leading "so" or "and".
fn question_forms(question: &str) -> Vec<String> {
    let mut forms = vec![normalise(question)];
    if let Some((head, rest)) = question.split_once(',') {
        if head.split_whitespace().count() <= 8 {
            forms.push(normalise(rest));
        }
    }
    forms
        .into_iter()
        .map(|f| {
            ["so ", "and ", "but ", "ok ", "okay ", "then "]
                .iter()
                .find_map(|p| f.strip_prefix(p))
                .map(str::to_string)
                .unwrap_or(f)
        })
        .collect()
}

/// Words that make a question ask for money.
const MONEY_ASKED: &[&str] = &[
    "money",
    "cost",
    "costs",
    "charge",
    "charges",
    "price",
    "priced",
    "pay",
    "pays",
    "paid",
    "spend",
    "spent",
    "raise",
    "raised",
    "revenue",
    "fee",
    "fees",
    "salary",
    "valuation",
    "funding",
    "budget",
    "arr",
    "mrr",
];

/// What kinds of amount ([`Amount`] flags) the question asks for, 0 for none, and the roots of
/// what it counts ("how many *servers*"), which the sentence stating the number must be about.
fn amount_asked(question: &str) -> (u8, Vec<String>) {
    let money = normalise(question).split_whitespace().any(|w| MONEY_ASKED.contains(&w));
    for f in question_forms(question) {
        let starts = |ps: &[&str]| ps.iter().any(|p| f.starts_with(p));
        if let Some(rest) = f.strip_prefix("how many ") {
            // The head of "weekly npm downloads", "tokens per second": what is counted.
            let head = rest.split_whitespace().take_while(|w| !terms::is_stop_word(w) && *w != "per").last();
            return (Amount::COUNT, head.map(search_terms).unwrap_or_default());
        }
        if starts(&["how much ", "by how much "]) {
            return (if money { Amount::MONEY } else { Amount::COUNT | Amount::MONEY | Amount::SHARE }, Vec::new());
        }
        if starts(&[
            "how long ",
            "how quickly ",
            "how fast ",
            "how soon ",
            "how often ",
            "when ",
            "what year ",
            "which year ",
        ]) {
            return (Amount::TIME, Vec::new());
        }
        if starts(&["how big ", "how large ", "how old ", "how far "]) {
            return (Amount::COUNT | Amount::RANK | Amount::SHARE | Amount::TIME, Vec::new());
        }
        // "Where did Docker rank ...": a place in an order.
        if f.split_whitespace().any(|w| ["rank", "ranked", "ranking"].contains(&w)) {
            return (Amount::RANK, Vec::new());
        }
        if starts(&["by what "]) {
            return (Amount::COUNT | Amount::SHARE | Amount::MONEY, Vec::new());
        }
        if starts(&["what ", "which "]) {
            // "What share of ...", "Which Postgres version ...", "What was their revenue ...":
            // the thing asked for is among the first words.
            let head: Vec<&str> = f.split_whitespace().skip(1).take(8).collect();
            let has = |ws: &[&str]| head.iter().any(|w| ws.contains(w));
            if has(&["share", "percentage", "percent", "portion", "fraction", "proportion", "rate"]) {
                return (Amount::SHARE, Vec::new());
            }
            if has(&["version", "release", "generation", "number"]) {
                return (Amount::RANK, Vec::new());
            }
            if has(&["revenue", "price", "cost", "salary", "valuation", "budget", "arr", "mrr"]) {
                return (Amount::MONEY, Vec::new());
            }
        }
    }
    (0, Vec::new())
}

fn wants(question: &str) -> Wants {
    if amount_asked(question).0 != 0 {
        return Wants::Amount;
    }
    for f in &question_forms(question) {
        if f.starts_with("why ") || f.starts_with("how come ") || f.starts_with("what s the reason ") {
            return Wants::Reason;
        }
        let words = f.split_whitespace().count();
        let what_is = ["what is ", "what s ", "what are ", "who is ", "who are "].iter().any(|p| f.starts_with(p));
        let what_do = ["what does ", "what do "].iter().any(|p| f.starts_with(p)) && f.ends_with(" do");
        let asked: Vec<&str> = f.split_whitespace().collect();
        // "Who is behind goimports?" asks for its maker too.
        let maker_named = asked.iter().any(|w| MAKERS.contains(w) || *w == "behind");
        if asked.first() == Some(&"who") && (asked.get(1).is_some_and(|verb| MAKING.contains(verb)) || maker_named) {
            return Wants::Maker;
        }
        if what_do || what_is && words <= 6 {
            return Wants::Description;
        }
    }
    Wants::Other
}

/// A passage with its relevance to the question.
#[derive(Debug, Clone)]
pub struct Scored<'a> {
    pub passage: &'a Passage,
    pub score: f64,
    /// Share (0-1) of the question's weight (rare words weigh more) found in the passage, the
    /// question it replies to and the passages just before it.
    pub coverage: f64,
    /// Share (0-1) of what the question is about (its specific words, the episode's subject
    /// counting little) found together in the best few consecutive sentences of the passage
    /// (with the question it replies to, for its first sentences); for a question asking for
    /// an amount, only around a sentence that states one. Whether a question is covered is
    /// decided on this: an answer is said in one place, not spread over minutes of talk.
    pub local: f64,
    /// Chosen for what it is, not for the question's words (an introduction, what someone says
    /// of themselves): quoted whether or not it repeats them.
    pub chosen: bool,
}

/// Ranks passages for a question, best first. `corpus` holds episode-level statistics for
/// weighting what the question asks about; ranking itself uses statistics of `passages`.
pub fn rank<'a>(passages: &'a [Passage], query: &Query, corpus: &Corpus) -> Vec<Scored<'a>> {
    if passages.is_empty() {
        return Vec::new();
    }
    let n = passages.len() as f64;
    let mut df: HashMap<&str, f64> = HashMap::new();
    for t in &query.terms {
        df.insert(t.root.as_str(), 0.0);
        for (r, _) in &t.related {
            df.insert(r.as_str(), 0.0);
        }
    }
    for p in passages {
        let mut seen: HashSet<&str> = HashSet::new();
        for t in &p.terms {
            if let Some(d) = df.get_mut(t.as_str()) {
                if seen.insert(t.as_str()) {
                    *d += 1.0;
                }
            }
        }
    }
    let idf = |t: &str| {
        let d = df.get(t).copied().unwrap_or(0.0);
        (1.0 + (n - d + 0.5) / (d + 0.5)).ln()
    };
    let avgdl = (passages.iter().map(|p| p.terms.len()).sum::<usize>() as f64 / n).max(1.0);
    let bm25 = |terms: &[String], dl: f64| -> f64 {
        let mut tf: HashMap<&str, f64> = HashMap::new();
        for t in terms {
            if df.contains_key(t.as_str()) {
                *tf.entry(t.as_str()).or_default() += 1.0;
            }
        }
        query
            .terms
            .iter()
            .map(|q| {
                let f = tf.get(q.root.as_str()).copied().unwrap_or(0.0)
                    + q.related.iter().map(|(r, w)| w * tf.get(r.as_str()).copied().unwrap_or(0.0)).sum::<f64>();
                q.weight * idf(&q.root) * f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * dl / avgdl))
            })
            .sum()
    };
    let raw: Vec<f64> = passages
        .iter()
        .map(|p| {
            bm25(&p.terms, p.terms.len() as f64)
                + PROMPT_WEIGHT * bm25(&p.prompt_terms, p.prompt_terms.len() as f64)
                + if query.elsewhere { 0.0 } else { PROMPT_WEIGHT * bm25(&p.known_terms, p.known_terms.len() as f64) }
        })
        .collect();
    // What the question is about, weighted by how specific each word is across episodes.
    let weight = |t: &QueryTerm| {
        let w = if corpus.docs > 0 { corpus.idf(&t.stem) } else { idf(&t.root) };
        t.weight * w.max(0.01)
    };
    let mass: f64 = query.terms.iter().filter(|t| t.counts).map(weight).sum();
    // The episode's subject is said everywhere: finding it next to a sentence says little.
    let topic: Vec<(&QueryTerm, f64)> = query
        .terms
        .iter()
        .filter(|t| t.counts)
        .map(|t| {
            let share = df.get(t.root.as_str()).copied().unwrap_or(0.0) / n;
            (t, weight(t) * if share > SPECIFIC_SHARE { SUBJECT_FACTOR } else { 1.0 })
        })
        .collect();
    let same = |i: usize, j: usize| passages[i].episode_id == passages[j].episode_id;
    let mut out: Vec<Scored> = passages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let before: Vec<usize> = (i.saturating_sub(LEAD_PASSAGES)..i).filter(|&j| same(i, j)).collect();
            let lead = before.iter().map(|&j| raw[j]).fold(0.0, f64::max);
            let mut score = raw[i] + LEAD_WEIGHT * lead;
            // Where the reader's insight is, is not "where else".
            if p.asks || (query.elsewhere && p.known.iter().any(|k| *k)) {
                score *= ASKS_FACTOR;
            } else if p.hands_over {
                score *= HANDS_OVER_FACTOR;
            }
            let local = local_coverage(p, query, &topic);
            score *= 1.0 + LOCAL_WEIGHT * local;
            let cue = match query.wants {
                Wants::Amount => p.analysed.iter().zip(&p.known).any(|(a, k)| !k && a.amounts & query.needs != 0),
                Wants::Reason => p.gives_reason,
                Wants::Description => p.describes,
                Wants::Maker => p.names_maker,
                Wants::Other => false,
            };
            if cue {
                score *= CUE_BOOST;
            }
            if p.speaker().is_some_and(|s| query.speakers.iter().any(|n| n == s)) {
                score *= CUE_BOOST;
            }
            if let Some(t) = query.near {
                score *= 1.0 + 1.0 / (1.0 + (p.start() - t).abs() / 60.0);
            }
            let known: &[String] = if query.elsewhere { &[] } else { &p.known_terms };
            let mut around: HashSet<&str> =
                p.terms.iter().chain(&p.prompt_terms).chain(known).map(String::as_str).collect();
            for &j in &before {
                around.extend(passages[j].terms.iter().map(String::as_str));
            }
            let matched: f64 =
                query.terms.iter().filter(|t| t.counts).map(|t| weight(t) * t.found(|r| around.contains(r))).sum();
            Scored { passage: p, score, coverage: if mass > 0.0 { matched / mass } else { 1.0 }, local, chosen: false }
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.passage.start().total_cmp(&b.passage.start())));
    out
}

/// The best share of the question's topic weight found around one sentence of the passage:
/// the sentence and its neighbours, and the question replied to for a turn's first sentences.
/// For a question asking for an amount the sentence must state one of the kind asked, and a
/// "how many" question's counted words must be among those around it.
fn local_coverage(p: &Passage, query: &Query, topic: &[(&QueryTerm, f64)]) -> f64 {
    let mass: f64 = topic.iter().map(|t| t.1).sum();
    if mass <= 0.0 {
        return 1.0;
    }
    let open = |i: usize| !p.known.get(i).copied().unwrap_or(false);
    let mut best: f64 = 0.0;
    for (i, a) in p.analysed.iter().enumerate() {
        if !open(i) || query.needs != 0 && a.amounts & query.needs == 0 {
            continue;
        }
        let mut around: HashSet<&str> = HashSet::new();
        // A neighbour the reader has counts as context, as the question replied to does.
        for j in i.saturating_sub(1)..(i + 2).min(p.analysed.len()) {
            around.extend(p.analysed[j].terms.iter().map(String::as_str));
        }
        if i < PROMPT_SENTENCES {
            around.extend(p.prompt_terms.iter().map(String::as_str));
        }
        // A number said about something else ("three companies" for "how many servers") does
        // not answer, even though the counted thing may go by another name ("machines").
        if !query.counted.is_empty() && !query.counted.iter().any(|c| around.contains(c.as_str())) {
            continue;
        }
        // Nor does one that names what it counts, something else ("a hundred people" for "how
        // many contributors"), whatever the sentences beside it are about.
        if query.needs == Amount::COUNT
            && !query.counted.is_empty()
            && a.counts_of.as_ref().is_some_and(|of| !of.iter().any(|n| query.counted.contains(n)))
        {
            continue;
        }
        // The question replied to names the topic; the reply must say something about it too
        // ("It's on my list to read" answers nothing).
        let own = (i.saturating_sub(1)..(i + 2).min(p.analysed.len()))
            .filter(|&j| open(j))
            .any(|j| topic.iter().any(|(t, _)| t.found(|r| p.analysed[j].terms.iter().any(|w| w == r)) > 0.0));
        if !own {
            continue;
        }
        let found: f64 = topic.iter().map(|(t, w)| w * t.found(|r| around.contains(r))).sum();
        best = best.max(found / mass);
    }
    best
}

/// Function words of other languages that are no English words: two of them make a question
/// another language's ("Was hat er über Zoom gesagt?", "¿Qué dijo sobre el audio?").
const OTHER_LANGUAGE_WORDS: &[&str] = &[
    // German
    "über",
    "gesagt",
    "nicht",
    "warum",
    "wieso",
    "ist",
    "und",
    "sagt",
    "sie",
    "ihr",
    "wer",
    "wie",
    "dass",
    "eine",
    "der",
    "den",
    "dem",
    "hatte",
    "haben",
    "viele",
    "im",
    "mit",
    "auf",
    "nach",
    // Spanish and Portuguese
    "qué",
    "dijo",
    "sobre",
    "cómo",
    "quién",
    "dónde",
    "cuándo",
    "por",
    "ella",
    "él",
    "del",
    "não",
    "você",
    "disse",
    "porque",
    "isso",
    "los",
    "las",
    "una",
    "con",
    "para",
    "que",
    // French
    "pourquoi",
    "quoi",
    "elle",
    "dit",
    "est-ce",
    "qu'est-ce",
    "qu'il",
    "sur",
    "les",
    "des",
    "une",
    "avec",
    "pour",
    "dans",
    // Italian and Dutch
    "perché",
    "cosa",
    "detto",
    "della",
    "waarom",
    "zei",
    "hij",
    "het",
    "een",
    "niet",
];

/// Whether a question is written in another language than the passages: mostly in a script
/// they do not use (Chinese, Cyrillic, ...), or built on another language's function words that
/// they never say. The offline engine compares words and does not translate, so a refusal
/// says so rather than that nothing there answers.
pub fn other_language<'p>(question: &str, passages: impl IntoIterator<Item = &'p Passage>) -> bool {
    // Latin letters, accented ones included, end before U+0250.
    let other_script = |c: char| c.is_alphabetic() && c as u32 >= 0x250;
    let letters = question.chars().filter(|c| c.is_alphabetic()).count();
    let foreign_letters = question.chars().filter(|&c| other_script(c)).count();
    let words: HashSet<String> = raw_words(question).iter().map(|w| w.to_lowercase().replace('’', "'")).collect();
    let function_words: Vec<&str> = OTHER_LANGUAGE_WORDS.iter().copied().filter(|w| words.contains(*w)).collect();
    let by_script = letters > 0 && foreign_letters * 2 > letters;
    if !by_script && function_words.len() < 2 {
        return false;
    }
    // The episode may be in that language itself.
    let mut script_said = 0;
    let mut said: HashSet<String> = HashSet::new();
    for p in passages {
        for (_, _, text) in &p.sentences {
            script_said += text.chars().filter(|&c| other_script(c)).count();
            said.extend(raw_words(text).iter().map(|w| w.to_lowercase().replace('’', "'")));
        }
    }
    if by_script {
        script_said < foreign_letters.max(20)
    } else {
        function_words.iter().filter(|w| !said.contains(**w)).count() >= 2
    }
}

/// The question's names that occur in none of the passages: it asks about something the
/// episodes never mention.
pub fn absent_names<'q, 'p>(query: &'q Query, passages: impl IntoIterator<Item = &'p Passage>) -> Vec<&'q str> {
    let mut present: HashSet<&str> = HashSet::new();
    for p in passages {
        // The insight's own sentences count here: what it names was said.
        present.extend(p.analysed.iter().flat_map(|a| &a.terms).chain(&p.prompt_terms).map(String::as_str));
    }
    // "VPNs" is said where "VPN" is: a short plural, which the stemmer leaves alone.
    let said = |r: &str| {
        present.contains(r)
            || r.strip_suffix('s').is_some_and(|one| present.contains(one))
            || present.contains(format!("{r}s").as_str())
    };
    query.names.iter().filter(|(_, roots)| roots.iter().all(|r| !said(r))).map(|(w, _)| w.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closing_it_points_at_the_insight_only_when_the_question_names_little_of_its_own() {
        let asks = |q: &str| {
            let words = raw_words(q);
            let own = search_terms(q).len();
            points_at_insight(&words, own)
        };
        assert!(asks("Did anyone push back on this?"));
        assert!(asks("What did the others make of it?"));
        assert!(!asks("What's a practical way to word things in a disagreement so you own your side of it?"));
        // "This" points at what was said, however much the question says of its own.
        assert!(asks("How would a small startup team go about applying this?"));
        // The verb after a pointer still points, however much else the question says.
        assert!(asks("How does that work for a small team running Postgres replicas?"));
    }

    #[test]
    fn edits_are_counted_with_swaps_as_one() {
        assert_eq!(edits_within("abuot", "about", 1), Some(1));
        assert_eq!(edits_within("frist", "first", 1), Some(1));
        assert_eq!(edits_within("writting", "writing", 1), Some(1));
        assert_eq!(edits_within("invalidaton", "invalidation", 2), Some(1));
        assert_eq!(edits_within("cache", "cache", 0), Some(0));
        assert_eq!(edits_within("tried", "tired", 1), Some(1));
        assert_eq!(edits_within("memcached", "cached", 2), None);
        assert_eq!(edits_within("kubernetes", "kubectl", 2), None);
        assert_eq!(edits_within("ab", "", 1), None);
        assert!(swapped("waht", "what") && !swapped("rust", "just") && !swapped("helm", "help"));
    }

    #[test]
    fn search_terms_normalise_spelling() {
        assert_eq!(search_terms("UTF-8"), ["utf8", "utf", "8"]);
        assert_eq!(search_terms("utf8"), ["utf8"]);
        assert!(search_terms("It costs $1,000 a month").contains(&"1000".to_string()));
        assert!(search_terms("ten servers").contains(&"10".to_string()));
        assert_eq!(search_terms("spinning disks"), search_terms("spin disk"));
    }

    #[test]
    fn a_sentences_first_word_is_no_name_to_insist_on() {
        let names = |q: &str| Query::new(q, &[], ("", 0.0)).names.into_iter().map(|(w, _)| w).collect::<Vec<_>>();
        assert_eq!(names("Interesting. Explain how they warm up the Redis cache after a deploy?"), ["Redis"]);
        assert_eq!(names("Great! Why v1.2? Because Postgres said so."), ["v1.2", "Postgres"]);
        for opening in ["Really?!", "Hmm...", "\"Interesting.\"", "(Fine.)"] {
            assert_eq!(names(&format!("{opening} Explain how they warm the Redis cache?")), ["Redis"], "{opening}");
        }
        assert_eq!(names("What did they say about Redis"), ["Redis"]);
        assert!(sentence_starts("A b. C d? E").is_superset(&HashSet::from([0, 2, 4])));
    }

    #[test]
    fn what_a_question_wants() {
        assert_eq!(wants("How many Go meetups are there?"), Wants::Amount);
        assert_eq!(wants("According to Dave, when did it launch?"), Wants::Amount);
        assert_eq!(wants("Why is X harder than Y?"), Wants::Reason);
        assert_eq!(wants("Which tool do they use?"), Wants::Other);
        assert_eq!(wants("What does Code The Dream do?"), Wants::Description);
        assert_eq!(wants("What's the downside of funding an open source project by selling support?"), Wants::Other);
        assert_eq!(wants("Who founded Rewatch?"), Wants::Maker);
        assert_eq!(wants("So who built it?"), Wants::Maker);
        assert_eq!(wants("Who came up with go fmt?"), Wants::Maker);
        assert_eq!(wants("Who else agreed?"), Wants::Other);
        assert_eq!(wants("Who were the founders of Rewatch?"), Wants::Maker);
        assert_eq!(wants("Who is behind goimports?"), Wants::Maker);
    }

    #[test]
    fn who_made_something_is_read_off_the_sentence() {
        for said in [
            "My co-founder and I, Scott, were kicking around ideas.",
            "Full credit to Robert for making it happen.",
            "We built the first version in a weekend.",
            "Robert wrote most of the formatter.",
            "It was written by a team at Google.",
        ] {
            assert!(names_maker(said), "{said}");
        }
        for said in ["We build software for banks.", "The formatter was fantastic.", "Rewatch is a video hub."] {
            assert!(!names_maker(said), "{said}");
        }
    }

    /// Words that ask for more of the insight name nothing alone, and are searched beside others.
    #[test]
    fn a_question_about_the_insight_itself_names_nothing() {
        let insight = ("Distributed invalidation is much harder.", 120.0);
        for q in ["What exactly did she say about that?", "why?", "Can you elaborate?", "What was the context?"] {
            let query = Query::new(q, &[], insight);
            assert_eq!(query.near, Some(120.0), "{q}");
        }
        // Where else it comes up, or what backs it: searched on the insight's words, not read at
        // its moment.
        for q in ["What else did she say about it?", "Why does that matter?", "What's the source for that?"] {
            let elsewhere = Query::new(q, &[], insight);
            assert_eq!((elsewhere.near, elsewhere.elsewhere), (None, true), "{q}");
            assert!(elsewhere.terms.iter().any(|t| t.root.starts_with("invalid")), "{q}: {:?}", elsewhere.terms);
        }
        // How the others took it: read after it, whatever words the reply uses.
        for (q, kind) in [
            ("Did anyone push back on that?", Response::Pushback),
            ("Did anyone disagree?", Response::Pushback),
            ("Any objections to this?", Response::Pushback),
            ("How did the others react?", Response::Reply),
            ("What did the host say to that?", Response::Reply),
            ("Did anyone agree with her?", Response::Agreement),
            ("Who else agreed?", Response::Agreement),
            ("Did the host agree with that?", Response::Agreement),
            ("What was the question?", Response::Prompt),
            ("What was she asked?", Response::Prompt),
            ("Who asked that?", Response::Prompt),
            ("What were the questions?", Response::Prompt),
            ("What did the host ask?", Response::Prompt),
            ("What did they ask him?", Response::Prompt),
            ("What did the hosts ask that led to this answer?", Response::Prompt),
            ("Did anyone question that?", Response::Pushback),
            ("How did the host react to the question?", Response::Reply),
        ] {
            let query = Query::new(q, &[], insight);
            assert_eq!(query.response, Some(kind), "{q}");
            assert!(!query.elsewhere, "{q}");
        }
        // With words of its own, it is searched as any question.
        for q in [
            "Did anyone disagree about the pricing?",
            "What did she say?",
            "How do they respond to outages?",
            "Why is she skeptical?",
            "What does he object to?",
            "What was the reaction?",
            "What question did they ask about pricing?",
            "How did she answer the question?",
        ] {
            assert_eq!(Query::new(q, &[], insight).response, None, "{q}");
        }
        let query = Query::new("How big is the context window?", &[], insight);
        assert_eq!(query.near, None);
        let roots: Vec<&str> = query.terms.iter().map(|t| t.root.as_str()).collect();
        assert!(
            roots.iter().any(|r| r.starts_with("context")) && roots.iter().any(|r| r.starts_with("window")),
            "{roots:?}"
        );
    }

    #[test]
    fn a_reply_that_takes_issue() {
        for reply in [
            "But the risk is that nobody keeps it up.",
            "Yeah, but that only holds for small teams.",
            "I'd push back on that a little.",
            "Not necessarily. We saw the opposite.",
            "I wouldn't expect you to say that.",
            "I think there's an interesting contradiction there.",
        ] {
            assert!(pushes_back(reply), "{reply}");
        }
        for reply in [
            "Yeah, absolutely, we saw the same thing.",
            "We tried it and it was not necessarily easy, but it worked.",
            "That's a great point about teams.",
            "Butter is what the recipe needs.",
            "I don't disagree with any of that.",
        ] {
            assert!(!pushes_back(reply), "{reply}");
        }
        assert!(requests("Describe the model.") && requests("So, tell us about the launch."));
        assert!(pushes_back("I don't disagree with the aim, but the risk is the cost."));
        assert!(!reacts("That doesn't make sense to me."));
        assert!(!requests("I can describe it later.") && !requests("The talk about it was long."));
        // Taking up what was said, before asking on.
        for first in
            ["That's a pretty cool feature.", "You've put that perfectly.", "I'll say this as a response to that."]
        {
            assert!(reacts(first), "{first}");
        }
        for first in ["In prep for this I ask a couple of questions.", "Let's talk about hiring."] {
            assert!(!reacts(first), "{first}");
        }
    }

    #[test]
    fn chat_shorthand_is_spelt_out() {
        assert_eq!(spelt_out("did any1 disagree w/ him?"), "did anyone disagree with him?");
        assert_eq!(spelt_out("why were ppl mad abt it, b/c of u?"), "why were people mad about it, because of you?");
        // Only whole words: "bcrypt", "used" and R the language stay.
        assert_eq!(spelt_out("is bcrypt used in R?"), "is bcrypt used in R?");
    }

    #[test]
    fn what_a_number_counts() {
        let of = counts_of;
        assert_eq!(of("it spread to ten million machines"), Some(search_terms("machines")));
        assert_eq!(of("I've got a hundred pull requests"), Some(search_terms("requests")));
        assert_eq!(of("a couple of weeks of review"), Some(search_terms("weeks")));
        assert_eq!(of("we were up to 200, now 109"), None);
        assert_eq!(of("once we've released Hoodie 1.0"), Some(Vec::new()));
        assert_eq!(of("in 2018 we had 300 people"), Some(search_terms("people")));
        assert_eq!(of("about 10% of them"), None);
    }

    #[test]
    fn amounts_said_and_asked() {
        assert_eq!(amounts("It starts at $2,000.") & Amount::MONEY, Amount::MONEY);
        assert_eq!(amounts("We raised 1.3 million dollars") & Amount::MONEY, Amount::MONEY);
        assert_eq!(amounts("two or three days later it was back") & Amount::TIME, Amount::TIME);
        assert_eq!(amounts("like in a year from now") & Amount::TIME, Amount::TIME);
        assert_eq!(amounts("we put it into market in 2013") & Amount::TIME, Amount::TIME);
        assert_eq!(amounts("it was years after I started") & Amount::TIME, 0);
        // How long, not how many.
        assert_eq!(amounts("our download numbers over the last two weeks were tanking") & Amount::COUNT, 0);
        assert_eq!(amounts("it spread to ten million machines") & Amount::COUNT, Amount::COUNT);
        // Supposed, not stated.
        assert_eq!(
            amounts("If you were doing 25% of the exports, it would be a two billion dollar a year run rate."),
            0
        );
        assert_eq!(amounts("If we hit our numbers, we'd be at 40 people next year."), 0);
        assert_eq!(amounts("It would cost about $2,000 if it ran all month.") & Amount::MONEY, Amount::MONEY);
        // A year is when, not how many; a number shaped like one may still count things.
        assert_eq!(amounts("So I think that was 2018 as well"), Amount::TIME);
        assert_eq!(amounts("we put it into market in 2013."), Amount::TIME);
        assert_eq!(amounts("we have 2000 users") & Amount::COUNT, Amount::COUNT);
        assert_eq!(amounts("Number two answer, Docker") & Amount::RANK, Amount::RANK);
        assert_eq!(amounts("[unintelligible 00:25:31.24] it made sense"), 0);
        assert_eq!(
            amount_asked("How many weekly npm downloads does it get?"),
            (Amount::COUNT, vec!["download".into()])
        );
        assert_eq!(amount_asked("How much money did they raise?").0, Amount::MONEY);
        assert_eq!(amount_asked("What was their annual revenue last year?").0, Amount::MONEY);
        assert_eq!(amount_asked("Which Postgres version do they run?").0, Amount::RANK);
        assert_eq!(amount_asked("What share of customers came from Gmail?").0, Amount::SHARE);
        assert_eq!(amount_asked("Why is it harder?").0, 0);
    }

    #[test]
    fn names_and_speakers_in_a_question() {
        let q = Query::new("Does Amal recommend Cloudflare Workers or Netlify?", &["Amal Hussein".into()], ("", 0.0));
        assert_eq!(q.speakers, ["Amal Hussein"]);
        let names: Vec<&str> = q.names.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(names, ["Cloudflare", "Workers", "Netlify"]);
        assert!(q.terms.iter().all(|t| t.root != "amal"));
    }

    /// The insight's words count around it only where something else was said: a passage that
    /// is nothing but the insight has nothing to add, and scores nothing.
    #[test]
    fn the_insight_alone_is_no_passage_to_find() {
        use crate::model::{Segment, TranscriptSource};
        let said = "Zoom is great at prioritizing the audio, because that is what matters most between people.";
        let seg = |start: f64, speaker: &str, text: &str| Segment {
            start,
            end: start + 20.0,
            speaker: Some(speaker.into()),
            text: text.into(),
        };
        let episode = Episode::new("e", "https://feeds.example/show", "Async video", chrono::Utc::now());
        let transcript = Transcript {
            episode_id: "e".into(),
            source: TranscriptSource::Text,
            url: None,
            fetched_at: chrono::Utc::now(),
            segments: vec![
                seg(0.0, "Connor", said),
                seg(900.0, "Host", "Let us move on to hiring."),
                seg(
                    1800.0,
                    "Connor",
                    &format!("We hired slowly. When I use Zoom I see its priorities. {said} The picture may stutter."),
                ),
            ],
        };
        let mut found = passages(&episode, &transcript, 90.0);
        found.iter_mut().for_each(|p| p.mask(said));
        let query = Query::new("What did Connor say about prioritizing and Zoom?", &[], (said, 0.0));
        let ranked = rank(&found, &query, &Corpus::default());
        let score = |at: f64| ranked.iter().find(|s| s.passage.start() == at).map(|s| s.score);
        assert_eq!(score(0.0), Some(0.0), "{ranked:#?}");
        assert!(score(1800.0).is_some_and(|s| s > 0.0), "{ranked:#?}");
    }
}
