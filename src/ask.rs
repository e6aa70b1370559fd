//! Follow-up questions about an insight, answered from what was actually said.
//!
//! Each transcript is cut into overlapping passages of about 30-60 seconds of speech, ranked
//! with BM25 against the question (IDF from the whole corpus). The insight's own episode is
//! searched first, then the other episodes of its cluster. When the best passage does not hold
//! enough of the question's specific words the answer says plainly that the episode does not
//! cover it, instead of making something up. The [`Answerer`] seam lets an LLM write the answer
//! from the same passages.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use serde::Serialize;

use crate::config::{AskConfig, DigestConfig};
use crate::insight::sentences;
use crate::insight::terms::{self, Corpus};
use crate::model::{Digest, DigestEntry, Episode, Transcript, hms};
use crate::store::{Store, StoreError};

const K1: f64 = 1.2;
const B: f64 = 0.75;

/// A stretch of an episode's speech.
#[derive(Debug, Clone)]
pub struct Passage {
    pub episode_id: String,
    pub podcast: String,
    pub episode: String,
    /// The sentences with their speaker and start time.
    pub sentences: Vec<(Option<String>, f64, String)>,
    terms: Vec<String>,
}

impl Passage {
    pub fn start(&self) -> f64 {
        self.sentences.first().map(|s| s.1).unwrap_or(0.0)
    }
}

/// Cuts a transcript into overlapping passages of about `window_secs` each.
pub fn passages(episode: &Episode, transcript: &Transcript, window_secs: f64) -> Vec<Passage> {
    let segs = &transcript.segments;
    let sents = sentences::split(segs);
    let mut out = Vec::new();
    let mut anchor = 0;
    while anchor < sents.len() {
        let start = sents[anchor].start;
        let mut end = anchor;
        let mut words = 0;
        while end < sents.len() && (end == anchor || sents[end].start - start < window_secs) && words < 180 {
            words += sents[end].text(segs).split_whitespace().count();
            end += 1;
        }
        let sentences: Vec<(Option<String>, f64, String)> = sents[anchor..end]
            .iter()
            .map(|s| (segs[s.segment].speaker.clone(), s.start, s.text(segs).to_string()))
            .collect();
        let terms = sentences.iter().flat_map(|s| terms::terms(&s.2)).collect();
        out.push(Passage {
            episode_id: episode.id.clone(),
            podcast: episode.podcast_title.clone().unwrap_or_else(|| episode.feed_url.clone()),
            episode: episode.title.clone(),
            sentences,
            terms,
        });
        if end >= sents.len() {
            break;
        }
        // Half a window on: every sentence appears in two passages, so an answer that straddles
        // a boundary is still found whole.
        let half = start + window_secs / 2.0;
        let next = (anchor + 1..end).find(|&i| sents[i].start >= half).unwrap_or(end);
        anchor = next.max(anchor + 1);
    }
    out
}

/// One cited piece of speech.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Citation {
    pub podcast: String,
    pub episode: String,
    pub speaker: Option<String>,
    pub start_seconds: f64,
    pub text: String,
}

/// The answer to a follow-up question.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Answer {
    pub answer: String,
    /// False when the searched episodes do not cover the question.
    pub covered: bool,
    pub citations: Vec<Citation>,
}

/// A passage with its relevance to the question.
#[derive(Debug, Clone)]
pub struct Scored<'a> {
    pub passage: &'a Passage,
    pub score: f64,
    /// Share (0-1) of the question's IDF mass the passage contains.
    pub coverage: f64,
}

/// Earlier questions and answers in the same thread, oldest first, so a follow-up can refer
/// to what was asked before.
pub type History = [(String, String)];

/// Writes an answer from ranked passages. The offline one quotes; an LLM may paraphrase.
pub trait Answerer: Send + Sync {
    fn answer<'a>(
        &'a self,
        question: &'a str,
        about: &'a DigestEntry,
        ranked: &'a [Scored<'a>],
        covered: bool,
        history: &'a History,
    ) -> BoxFuture<'a, Answer>;
}

/// Ranks passages by BM25 against the query terms; `weights` scales each term (question terms
/// count fully, the insight's own terms less).
pub fn rank<'a>(
    passages: &'a [Passage],
    weights: &HashMap<String, f64>,
    question_terms: &[String],
    corpus: &Corpus,
) -> Vec<Scored<'a>> {
    if passages.is_empty() {
        return Vec::new();
    }
    let avgdl = passages.iter().map(|p| p.terms.len()).sum::<usize>() as f64 / passages.len() as f64;
    let q_mass: f64 = question_terms.iter().map(|t| corpus.idf(t)).sum();
    let mut out: Vec<Scored> = passages
        .iter()
        .map(|p| {
            let mut tf: HashMap<&str, f64> = HashMap::new();
            for t in &p.terms {
                if weights.contains_key(t) {
                    *tf.entry(t.as_str()).or_default() += 1.0;
                }
            }
            let dl = p.terms.len() as f64;
            let score = weights
                .iter()
                .map(|(t, w)| {
                    let f = tf.get(t.as_str()).copied().unwrap_or(0.0);
                    w * corpus.idf(t) * f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * dl / avgdl.max(1.0)))
                })
                .sum();
            let matched: f64 =
                question_terms.iter().filter(|t| tf.contains_key(t.as_str())).map(|t| corpus.idf(t)).sum();
            Scored { passage: p, score, coverage: if q_mass > 0.0 { matched / q_mass } else { 1.0 } }
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.passage.start().total_cmp(&b.passage.start())));
    out
}

#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("{0:?} is not an insight reference: use N (today's insight N) or YYYY-MM-DD#N, e.g. 3 or 2026-11-28#3")]
    BadRef(String),
    #[error(
        "there is no digest with insights for {0}: `podsift ingest` new episodes, then `podsift digest --date {0}` shows it"
    )]
    NoDigest(NaiveDate),
    #[error("there is no insight #{n} in the digest of {date}; valid: {valid}")]
    UnknownInsight { date: NaiveDate, n: usize, valid: String },
    #[error("the question is empty: ask something about the insight, e.g. \"what exactly was said about that?\"")]
    EmptyQuestion,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Finds the digest entry a reference points at: `3` (today's #3) or `2026-11-28#3`.
/// Today's digest is built if it does not exist yet.
pub fn resolve(
    store: &Store,
    config: &DigestConfig,
    reference: &str,
    now: DateTime<Utc>,
) -> Result<(Digest, DigestEntry), AskError> {
    let reference = reference.trim();
    let bad = || AskError::BadRef(reference.to_string());
    let (date, n) = match reference.split_once('#') {
        Some((d, n)) => (
            NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| bad())?,
            n.trim().parse::<usize>().map_err(|_| bad())?,
        ),
        None => {
            (crate::insight::digest::today(config, now), reference.trim_start_matches('#').parse().map_err(|_| bad())?)
        }
    };
    let digest = if date == crate::insight::digest::today(config, now) {
        crate::insight::digest::build_or_get(store, config, date, now)?
    } else {
        store.digest(date)?.ok_or(AskError::NoDigest(date))?
    };
    if digest.insights.is_empty() {
        return Err(AskError::NoDigest(date));
    }
    match digest.insights.iter().find(|e| e.rank == n) {
        Some(e) => Ok((digest.clone(), e.clone())),
        None => Err(AskError::UnknownInsight {
            date,
            n,
            valid: format!("1-{} (or {date}#1 to {date}#{})", digest.insights.len(), digest.insights.len()),
        }),
    }
}

/// Answers a question about a digest entry: its episode first, then its cluster's others.
pub async fn ask(
    store: &Store,
    config: &AskConfig,
    entry: &DigestEntry,
    question: &str,
    answerer: &dyn Answerer,
    history: &History,
) -> Result<Answer, AskError> {
    if question.trim().is_empty() {
        return Err(AskError::EmptyQuestion);
    }
    // Names say who, not what: "what did Rob Pike say about X" is a question about X.
    let names: Vec<String> = entry.speaker.iter().flat_map(|s| terms::terms(s)).collect();
    let question_terms: Vec<String> =
        dedup(terms::terms(question)).into_iter().filter(|t| !names.contains(t)).collect();
    // The insight itself is context: "what did she mean by that?" is about its words.
    let mut weights: HashMap<String, f64> = dedup(terms::terms(&entry.text)).into_iter().map(|t| (t, 0.3)).collect();
    for t in &question_terms {
        weights.insert(t.clone(), 1.0);
    }
    let all_terms: Vec<String> = weights.keys().cloned().collect();
    let corpus = store.corpus_for(&all_terms)?;
    let mut episode_ids = vec![entry.episode_id.clone()];
    episode_ids.extend(entry.also_in.iter().map(|a| a.episode_id.clone()));
    let mut pool: Vec<Passage> = Vec::new();
    let mut best: Option<(f64, f64)> = None;
    for id in &episode_ids {
        let (Some(ep), Some(tr)) = (store.episode(id)?, store.transcript(id)?) else {
            continue;
        };
        pool.extend(passages(&ep, &tr, config.passage_seconds));
        let ranked = rank(&pool, &weights, &question_terms, &corpus);
        best = ranked.first().map(|s| (s.score, s.coverage));
        if best.is_some_and(|(_, c)| c >= config.min_coverage) {
            break;
        }
    }
    let ranked = rank(&pool, &weights, &question_terms, &corpus);
    let covered = best.is_some_and(|(score, c)| score > 0.0 && c >= config.min_coverage);
    Ok(answerer.answer(question, entry, &ranked, covered, history).await)
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// The offline answerer: quotes the most relevant sentences with speaker and timestamp.
pub struct QuoteAnswerer {
    pub max_citations: usize,
}

impl Answerer for QuoteAnswerer {
    fn answer<'a>(
        &'a self,
        question: &'a str,
        about: &'a DigestEntry,
        ranked: &'a [Scored<'a>],
        covered: bool,
        _history: &'a History,
    ) -> BoxFuture<'a, Answer> {
        Box::pin(async move { self.answer_now(question, about, ranked, covered) })
    }
}

impl QuoteAnswerer {
    /// Quotes the best sentences of the best passages; no waiting.
    pub fn answer_now(&self, question: &str, about: &DigestEntry, ranked: &[Scored], covered: bool) -> Answer {
        if !covered {
            let words = terms::tokens(question).filter(|w| !terms::is_stop_word(w)).collect::<Vec<_>>().join(" ");
            return Answer {
                answer: format!(
                    "Not covered: {} — {} does not talk about {}. Nothing said there answers this, so there is nothing to quote.",
                    about.podcast,
                    about.episode,
                    if words.is_empty() { "that".to_string() } else { format!("\"{words}\"") }
                ),
                covered: false,
                citations: Vec::new(),
            };
        }
        let q: Vec<String> = terms::terms(question).into_iter().chain(terms::terms(&about.text)).collect();
        let mut citations: Vec<Citation> = Vec::new();
        // Passages far below the best one are noise, not support.
        let floor = ranked.first().map(|s| s.score * 0.5).unwrap_or(0.0);
        for s in ranked.iter().filter(|s| s.score > 0.0 && s.score >= floor) {
            if citations.len() >= self.max_citations {
                break;
            }
            // The best sentence of the passage, with the one after it when it continues the thought.
            let p = s.passage;
            let hits = |text: &str| terms::terms(text).iter().filter(|t| q.contains(t)).count();
            let Some((i, _)) =
                p.sentences.iter().enumerate().max_by_key(|(i, (_, _, t))| (hits(t), std::cmp::Reverse(*i)))
            else {
                continue;
            };
            let (speaker, start, text) = &p.sentences[i];
            let mut quote = text.clone();
            if let Some((next_speaker, _, next)) = p.sentences.get(i + 1) {
                if next_speaker == speaker && quote.split_whitespace().count() < 25 {
                    quote = format!("{quote} {next}");
                }
            }
            let overlaps = citations.iter().any(|c| {
                c.episode == p.episode && (c.start_seconds - start).abs() < 1.0 || c.text.contains(text.as_str())
            });
            if !overlaps {
                citations.push(Citation {
                    podcast: p.podcast.clone(),
                    episode: p.episode.clone(),
                    speaker: speaker.clone(),
                    start_seconds: (*start * 10.0).round() / 10.0,
                    text: quote,
                });
            }
        }
        let mut answer = String::new();
        for c in &citations {
            answer.push_str(&format!(
                "{} at [{}] ({} — {}): \"{}\"\n",
                c.speaker.as_deref().unwrap_or("A speaker"),
                hms(c.start_seconds),
                c.podcast,
                c.episode,
                sentences::clean(&c.text).trim_end_matches('.')
            ));
        }
        Answer { answer: answer.trim_end().to_string(), covered: !citations.is_empty(), citations }
    }
}
