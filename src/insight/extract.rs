//! Offline extraction: score every statement of a transcript for being an insight and keep the
//! best few per episode.
//!
//! A statement scores for being specific and self-contained (numbers, comparisons, causal and
//! contrast language, named entities, generalising claims), for its words being distinctive
//! against the whole corpus (IDF), and for coming from whoever carries the substance (long turns,
//! not host banter). Intros, outros, sponsor reads, calls to subscribe, housekeeping, questions
//! and fragments that need context are dropped. A sentence that leans on its neighbour ("That's
//! why ...") is joined with it when the pair stays short enough.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

use super::Extractor;
use super::sentences::{self, Sentence};
use super::terms::{self, Corpus};
use crate::config::InsightConfig;
use crate::model::{Episode, Insight, Segment, Transcript, TranscriptSource};

/// Phrases of sponsor reads, intros, outros and housekeeping: never an insight.
const BOILERPLATE: &[&str] = &[
    "brought to you by",
    "sponsored by",
    "our sponsor",
    "sponsor of",
    "sponsors",
    "our partners",
    "partner of ours",
    "promo code",
    "use the code",
    "use code",
    "discount code",
    "free trial",
    "sign up at",
    "sign up today",
    "check them out",
    "check it out at",
    "changelog++",
    "changelog plus plus",
    "welcome to",
    "welcome back",
    "thanks for listening",
    "thank you for listening",
    "thanks for having me",
    "thank you for having me",
    "thanks for coming",
    "thank you for coming",
    "thanks for joining",
    "great to have you",
    "glad to be here",
    "happy to be here",
    "good to be here",
    "subscribe",
    "rate us",
    "review us",
    "leave a review",
    "newsletter",
    "follow us",
    "on twitter",
    "see you next",
    "that's our show",
    "that's all for",
    "bye",
    "let's get started",
    "let's dive in",
    "let's get into",
    "before we get started",
    "stay tuned",
    "be right back",
    "coming up",
    "this episode",
    "on this show",
    "on the show",
    "this week's",
    "your host",
    "my name is",
    "our guest",
    "joined by",
    "joining us",
    "with me today",
    "with us today",
    "i'm joined",
    "show notes",
    "episode",
    "listeners",
    "podcast",
    "shout out",
    "shout-out",
    "let's talk about",
    "let's move on",
    "next question",
    "plug",
    "where can people find",
    "link in",
];

const NUMBER_WORDS: &[&str] = &[
    "percent",
    "million",
    "millions",
    "billion",
    "billions",
    "thousand",
    "thousands",
    "hundred",
    "hundreds",
    "twice",
    "half",
    "double",
    "triple",
    "dozen",
    "ten",
    "twenty",
    "thirty",
    "fifty",
    "hundredfold",
    "tenfold",
];
const COMPARISONS: &[&str] = &[
    "more", "less", "fewer", "than", "faster", "slower", "better", "worse", "bigger", "smaller", "cheaper", "harder",
    "easier", "most", "least", "best", "worst", "instead", "versus", "vs", "compared",
];
const CAUSAL: &[&str] = &[
    "because",
    "therefore",
    "means",
    "leads",
    "led",
    "caused",
    "causes",
    "cause",
    "due",
    "result",
    "results",
    "reason",
    "why",
    "but",
    "however",
    "although",
    "whereas",
    "unless",
    "turns",
    "since",
    "so",
];
const CLAIMS: &[&str] = &[
    "always",
    "never",
    "every",
    "key",
    "problem",
    "trick",
    "secret",
    "lesson",
    "important",
    "should",
    "need",
    "must",
    "mistake",
    "rule",
    "biggest",
    "matters",
    "works",
    "fails",
    "wrong",
];
const HEDGES: &[(&str, f64)] = &[
    ("i don't know", 0.8),
    ("i guess", 0.4),
    ("kind of", 0.3),
    ("sort of", 0.3),
    ("i think", 0.15),
    ("i mean", 0.2),
    ("haha", 0.5),
    ("lol", 0.5),
    ("funny", 0.3),
    ("i feel like", 0.3),
    ("whatever", 0.4),
    ("or something", 0.5),
];
/// Openings that point back at something said before.
const NEEDS_CONTEXT: &[&str] = &[
    "it",
    "it's",
    "that",
    "that's",
    "this",
    "these",
    "those",
    "they",
    "they're",
    "he",
    "she",
    "which",
    "there",
    "then",
    "also",
    "and",
    "but",
    "so",
    "or",
    "because",
    "exactly",
    "same",
    "yes",
    "no",
    "yeah",
    "right",
    "instead",
    "although",
    "though",
    "plus",
    "again",
    "otherwise",
    "anyway",
    "what",
    "who",
    "even",
    "whereas",
    "him",
    "her",
    "them",
    "both",
    "such",
    "he's",
    "she's",
    "they've",
    "they'd",
    "it'll",
    "that'll",
    "he'd",
    "she'd",
    "that'd",
    "it'd",
];

/// The offline extractor.
pub struct OfflineExtractor {
    pub config: InsightConfig,
}

/// A scored stretch of one or two sentences.
struct Unit {
    first: usize,
    last: usize,
    score: f64,
    terms: HashSet<String>,
}

impl Extractor for OfflineExtractor {
    fn extract<'a>(
        &'a self,
        episode: &'a Episode,
        transcript: &'a Transcript,
        corpus: &'a Corpus,
    ) -> futures_util::future::BoxFuture<'a, Vec<Insight>> {
        Box::pin(async move { self.extract_now(episode, transcript, corpus) })
    }
}

impl OfflineExtractor {
    /// The extraction itself: plain CPU work, no waiting.
    pub fn extract_now(&self, episode: &Episode, transcript: &Transcript, corpus: &Corpus) -> Vec<Insight> {
        let segments = &transcript.segments;
        if segments.is_empty() {
            return Vec::new();
        }
        let sents = sentences::split(segments);
        let duration = episode
            .duration_secs
            .map(|d| d as f64)
            .unwrap_or(0.0)
            .max(segments.iter().map(|s| s.end).fold(0.0, f64::max));
        let substance = speaker_substance(segments, episode);
        let max_idf = corpus.idf("\u{0}never-seen").max(1e-9);
        let mut units = Vec::new();
        for i in 0..sents.len() {
            if let Some(u) = self.unit_at(i, &sents, segments, corpus, max_idf, duration, &substance, transcript.source)
            {
                units.push(u);
            }
        }
        units.sort_by(|a, b| b.score.total_cmp(&a.score));
        // Keep the best few, never overlapping and never the same point twice in one episode.
        let mut chosen: Vec<Unit> = Vec::new();
        for u in units {
            if chosen.len() >= self.config.candidates_per_episode {
                break;
            }
            let overlaps = chosen.iter().any(|c| u.first <= c.last && c.first <= u.last);
            let repeats = chosen.iter().any(|c| jaccard(&c.terms, &u.terms) >= 0.5);
            if !overlaps && !repeats {
                chosen.push(u);
            }
        }
        chosen.into_iter().map(|u| to_insight(episode, transcript, &sents, &u)).collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn unit_at(
        &self,
        i: usize,
        sents: &[Sentence],
        segments: &[Segment],
        corpus: &Corpus,
        max_idf: f64,
        duration: f64,
        substance: &HashMap<Option<String>, f64>,
        source: TranscriptSource,
    ) -> Option<Unit> {
        let s = &sents[i];
        let text = s.text(segments);
        let lead = first_word(&sentences::clean(text));
        let (mut first, last) = (i, i);
        let same_segment = |j: usize| sents.get(j).is_some_and(|o| o.segment == s.segment);
        if NEEDS_CONTEXT.contains(&lead.as_str()) {
            // Only a sentence whose predecessor is in the same turn can borrow its context.
            if i == 0 || !same_segment(i - 1) {
                return None;
            }
            first = i - 1;
            // Borrowing from a sentence that itself leans on what came before does not help.
            let prev_lead = first_word(&sentences::clean(sents[first].text(segments)));
            if NEEDS_CONTEXT.contains(&prev_lead.as_str()) {
                return None;
            }
        }
        let words = |a: usize, b: usize| -> usize {
            let seg = &segments[sents[a].segment].text;
            seg[sents[a].range.start..sents[b].range.end].split_whitespace().count()
        };
        let n_words = words(first, last);
        if n_words < self.config.min_words || n_words > self.config.max_words {
            return None;
        }
        let seg_text = &segments[s.segment].text;
        let raw = &seg_text[sents[first].range.start..sents[last].range.end];
        let lower = raw.to_lowercase();
        // Questions, boilerplate, and stretches that cut a quotation in half.
        let quotes = raw.matches(['"', '“', '”']).count();
        if raw.trim_end().ends_with('?') || quotes % 2 == 1 || BOILERPLATE.iter().any(|b| lower.contains(b)) {
            return None;
        }
        let cleaned = sentences::clean(raw);
        let toks: Vec<String> = terms::tokens(&cleaned).collect();
        let term_list = terms::terms(&cleaned);
        if term_list.len() < 4 {
            return None;
        }
        let count_in = |list: &[&str]| toks.iter().filter(|t| list.contains(&t.as_str())).count() as f64;
        let numbers =
            toks.iter().filter(|t| t.chars().any(|c| c.is_ascii_digit())).count() as f64 + count_in(NUMBER_WORDS);
        let entities = cleaned
            .split_whitespace()
            .skip(1)
            .filter(|w| {
                let w = w.trim_matches(|c: char| !c.is_alphanumeric());
                w.len() > 1 && w.chars().next().is_some_and(char::is_uppercase) && w != "I'm" && w != "I've"
            })
            .count() as f64;
        let hedge: f64 = HEDGES.iter().filter(|(h, _)| lower.contains(h)).map(|(_, p)| p).sum();
        // Distinctiveness: the mean IDF of the most specific words, against the whole corpus.
        let mut idfs: Vec<f64> = term_list.iter().map(|t| corpus.idf(t)).collect();
        idfs.sort_by(|a, b| b.total_cmp(a));
        idfs.truncate(8);
        let distinct = idfs.iter().sum::<f64>() / idfs.len() as f64 / max_idf;
        let density = term_list.len() as f64 / toks.len().max(1) as f64;
        let length_fit = if (15..=45).contains(&n_words) { 0.5 } else { 0.0 };
        let mut score = 1.0
            + (numbers * 0.8).min(1.6)
            + (count_in(COMPARISONS) * 0.5).min(1.0)
            + (count_in(CAUSAL) * 0.4).min(1.0)
            + (count_in(CLAIMS) * 0.4).min(0.8)
            + (entities * 0.3).min(1.2)
            + distinct * 2.5
            + density * 1.5
            + length_fit
            - hedge;
        score *= substance.get(&segments[s.segment].speaker).copied().unwrap_or(1.0);
        if raw.trim_end().ends_with("...") || raw.trim_end().ends_with('…') || raw.contains(" -- ") {
            // Trailing off or breaking off mid-thought.
            score *= 0.85;
        }
        if first != i {
            // Borrowed context reads less cleanly than a sentence that stands alone.
            score *= 0.9;
        }
        let position = if duration > 0.0 { sents[first].start / duration } else { 0.5 };
        if !(0.03..=0.97).contains(&position) {
            score *= 0.6;
        }
        if source == TranscriptSource::ShowNotes {
            score *= 0.7;
        }
        Some(Unit { first, last, score: score.max(0.0), terms: term_list.into_iter().collect() })
    }
}

fn first_word(s: &str) -> String {
    terms::tokens(s).next().unwrap_or_default()
}

/// How much each speaker carries the substance: long average turns (guests explaining) weigh
/// more than short ones (hosts steering). 1.0 is the median speaker.
fn speaker_substance(segments: &[Segment], episode: &Episode) -> HashMap<Option<String>, f64> {
    let mut turns: HashMap<Option<String>, (usize, usize)> = HashMap::new();
    for s in segments {
        let e = turns.entry(s.speaker.clone()).or_default();
        e.0 += 1;
        e.1 += s.text.split_whitespace().count();
    }
    let mut avgs: Vec<f64> = turns.values().map(|(t, w)| *w as f64 / (*t).max(1) as f64).collect();
    avgs.sort_by(f64::total_cmp);
    let median = avgs.get(avgs.len() / 2).copied().unwrap_or(1.0).max(1.0);
    let hosts: HashSet<&str> = episode
        .persons
        .iter()
        .filter(|p| p.role.as_deref().is_some_and(|r| r.eq_ignore_ascii_case("host")))
        .map(|p| p.name.as_str())
        .collect();
    // Without credits, whoever opens the show is taken for its host.
    let opener = segments.first().and_then(|s| s.speaker.clone());
    turns
        .into_iter()
        .map(|(speaker, (t, w))| {
            let mut f = (w as f64 / t.max(1) as f64 / median).clamp(0.75, 1.3);
            let is_host = match &speaker {
                Some(name) => hosts.contains(name.as_str()) || (hosts.is_empty() && opener.as_ref() == Some(name)),
                None => false,
            };
            if is_host && avgs.len() > 1 {
                f *= 0.9;
            }
            (speaker, f)
        })
        .collect()
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let inter = a.intersection(b).count() as f64;
    let union = (a.len() + b.len()) as f64 - inter;
    if union == 0.0 { 0.0 } else { inter / union }
}

fn to_insight(episode: &Episode, transcript: &Transcript, sents: &[Sentence], u: &Unit) -> Insight {
    let first = &sents[u.first];
    let last = &sents[u.last];
    let seg = &transcript.segments[first.segment];
    let quote = seg.text[first.range.start..last.range.end].to_string();
    let mut h = Sha256::new();
    h.update(episode.id.as_bytes());
    h.update(first.segment.to_le_bytes());
    h.update(first.range.start.to_le_bytes());
    let id: String = h.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect();
    Insight {
        id,
        episode_id: episode.id.clone(),
        feed_url: episode.feed_url.clone(),
        podcast: episode.podcast_title.clone().unwrap_or_else(|| episode.feed_url.clone()),
        episode: episode.title.clone(),
        episode_url: episode.link.clone().or_else(|| episode.enclosure_url.clone()),
        speaker: seg.speaker.clone(),
        start_seconds: (first.start * 10.0).round() / 10.0,
        text: sentences::clean(&quote),
        quote,
        score: (u.score * 100.0).round() / 100.0,
        published: episode.published_or_seen(),
        source: transcript.source,
        embedding: None,
    }
}

/// Extracts insights for every episode that has a transcript and none extracted yet, counting
/// each into the corpus statistics. Returns how many insights were stored.
///
/// Every pending episode is counted into the document frequencies before any of them is scored:
/// scored one by one as each is stored, an episode's scores would depend on how many of the same
/// ingest's episodes came before it, and that order follows ids derived from feed addresses.
pub async fn extract_pending(
    store: &crate::store::Store,
    extractor: &dyn Extractor,
) -> Result<usize, crate::store::StoreError> {
    let mut corpus = store.corpus()?;
    let mut pending: Vec<(Episode, Vec<String>)> = Vec::new();
    for episode in store.episodes()? {
        if episode.insights_extracted {
            continue;
        }
        let Some(transcript) = store.transcript(&episode.id)? else {
            continue;
        };
        let doc_terms = document_terms(&transcript);
        corpus.add(&doc_terms);
        pending.push((episode, doc_terms));
    }
    let mut stored = 0;
    for (mut episode, doc_terms) in pending {
        // Read again rather than held: a back catalogue's transcripts need not all fit in memory.
        let Some(transcript) = store.transcript(&episode.id)? else {
            continue;
        };
        let insights = extractor.extract(&episode, &transcript, &corpus).await;
        episode.insights_extracted = true;
        store.put_insights(&episode, &insights, &doc_terms)?;
        stored += insights.len();
    }
    Ok(stored)
}

/// A transcript's distinct terms, sorted: what one document adds to the corpus statistics.
pub fn document_terms(transcript: &Transcript) -> Vec<String> {
    let mut set: Vec<String> = transcript.segments.iter().flat_map(|s| terms::terms(&s.text)).collect();
    set.sort();
    set.dedup();
    set
}
