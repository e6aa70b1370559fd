//! Follow-up questions about an insight, answered from what was actually said.
//!
//! Transcripts are cut into passages along speaker turns and ranked against the question
//! ([`retrieve`]): the insight's own episode first, then the other episodes of its cluster when
//! the first does not cover the question. A question is covered when one of the best passages
//! holds enough of what it asks about (its specific words, weighted by rarity) in one place,
//! around one sentence (for "how many", "how much", "when": a sentence stating such an amount),
//! and every name it mentions occurs where we searched; otherwise the answer says plainly that
//! the episode does not cover it, instead of making something up. The [`Answerer`] seam lets an LLM
//! write the answer from the same passages; [`QuoteAnswerer`] quotes them.

mod offline;
mod related;
pub mod retrieve;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use serde::Serialize;

use crate::config::{AskConfig, DigestConfig};
use crate::insight::terms::Corpus;
use crate::model::{Digest, DigestEntry};
use crate::store::{Store, StoreError};

pub use offline::{QuoteAnswerer, cited};
pub use retrieve::{Passage, Query, Scored, passages, rank};

/// One cited piece of speech.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Citation {
    pub podcast: String,
    pub episode: String,
    pub speaker: Option<String>,
    pub start_seconds: f64,
    /// Quoted from the show notes: `start_seconds` is no time in the episode.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub untimed: bool,
    pub text: String,
    /// The episode's page opened at the passage (`#t=SECONDS`), when the feed gives a page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// The answer to a follow-up question.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Answer {
    pub answer: String,
    /// False when the searched episodes do not cover the question.
    pub covered: bool,
    pub citations: Vec<Citation>,
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

    /// Reorders the best passages by meaning as well as words (an embedding model, when one is
    /// configured); by default the word ranking stands. Whether the question is covered is
    /// decided before, on words, so that no model is ever required.
    fn rerank<'a>(&'a self, _question: &'a str, ranked: Vec<Scored<'a>>) -> BoxFuture<'a, Vec<Scored<'a>>> {
        Box::pin(async move { ranked })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AskError {
    // Said in chats and on the command line alike: no operator command in them.
    #[error(
        "{0:?} is not an insight reference: use N (insight N of the latest digest) or YYYY-MM-DD#N, e.g. 3 or \
         2026-11-28#3"
    )]
    BadRef(String),
    #[error(
        "there is no digest with insights for {0} here: no episode with a transcript was new that day (or none \
         yet, for today), digests here are paused, or that day's digest is too old to be kept; ask about \
         an insight of a digest that was sent"
    )]
    NoDigest(NaiveDate),
    #[error(
        "{0} is no longer stored (its podcast was removed), so there is nothing to answer from; adding the podcast \
         again brings its episodes back"
    )]
    EpisodeGone(String),
    #[error("there is no insight #{n} in the digest of {date}; valid: {valid}")]
    UnknownInsight { date: NaiveDate, n: usize, valid: String },
    #[error("the question is empty: ask something about the insight, e.g. \"what exactly was said about that?\"")]
    EmptyQuestion,
    #[error("the question is {0} characters long; ask in at most {MAX_QUESTION_CHARS} (a sentence or two)")]
    TooLong(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Longest question answered. Every word of a question is ranked against every passage, so a
/// pasted page would cost seconds per question; nobody asks one in more than a paragraph.
pub const MAX_QUESTION_CHARS: usize = 2_000;

/// Finds the digest entry a reference points at: `3` (today's #3) or `2026-11-28#3`.
/// Today's digest is built if it does not exist yet.
pub fn resolve(
    store: &Store,
    config: &DigestConfig,
    reference: &str,
    now: DateTime<Utc>,
) -> Result<(Digest, DigestEntry), AskError> {
    let today = crate::insight::digest::today(config, now);
    let scope = Scope { today, latest: today, list: None, may_build: true, delivered: &|_| None, seen: &|_, d| d };
    resolve_in(store, config, reference, now, &scope)
}

/// How one chat reads insight numbers: which day a bare number means, the digest it was sent,
/// and the insights as it was shown them.
pub struct Scope<'a> {
    /// The chat's own day (its schedule's timezone): that day's digest may be built on demand.
    pub today: NaiveDate,
    /// The day a bare number ("2") refers to: the last digest the chat was sent, else `today`.
    pub latest: NaiveDate,
    /// The chat's own podcast list, when it has one.
    pub list: Option<&'a [String]>,
    /// Whether today's digest may be built on demand: not for a paused chat, whose podcasts
    /// may not have been read meanwhile (a digest built now would lack them, for the day).
    pub may_build: bool,
    /// For a day, the list id of the digest sent to the chat that day, when one was sent.
    pub delivered: &'a dyn Fn(NaiveDate) -> Option<Option<String>>,
    /// A stored digest of a day as the chat was shown it (its filters, renumbered), so that
    /// "#2" is the insight the reader saw as #2.
    pub seen: &'a dyn Fn(NaiveDate, Digest) -> Digest,
}

/// [`resolve`] for a chat: in the digest it was sent that day, else in the one drawn from its
/// podcast list.
pub fn resolve_in(
    store: &Store,
    config: &DigestConfig,
    reference: &str,
    now: DateTime<Utc>,
    scope: &Scope,
) -> Result<(Digest, DigestEntry), AskError> {
    let reference = reference.trim();
    let bad = || AskError::BadRef(reference.to_string());
    let (date, n) = match reference.split_once('#') {
        Some((d, n)) => (
            NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| bad())?,
            n.trim().parse::<usize>().map_err(|_| bad())?,
        ),
        None => (scope.latest, reference.trim_start_matches('#').parse().map_err(|_| bad())?),
    };
    let digest = if let Some(sent_list) = (scope.delivered)(date) {
        store.digest_of(date, sent_list.as_deref())?.ok_or(AskError::NoDigest(date))?
    } else if date == scope.today && scope.may_build {
        crate::insight::digest::build_or_get_for(store, config, date, now, scope.list)?
    } else {
        let id = scope.list.map(crate::model::list_id);
        store.digest_of(date, id.as_deref())?.ok_or(AskError::NoDigest(date))?
    };
    let digest = (scope.seen)(date, digest);
    if digest.insights.is_empty() {
        return Err(AskError::NoDigest(date));
    }
    match digest.insights.iter().find(|e| e.rank == n) {
        Some(e) => Ok((digest.clone(), e.clone())),
        None => Err(AskError::UnknownInsight {
            date,
            n,
            valid: match digest.insights.len() {
                1 => format!("only 1 (or {date}#1)"),
                n => format!("1-{n} (or {date}#1 to {date}#{n})"),
            },
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
    // Counted no further than the limit: a 100 KB message costs no more than a long question.
    if question.chars().nth(MAX_QUESTION_CHARS).is_some() {
        return Err(AskError::TooLong(question.chars().count()));
    }
    let question = &retrieve::spelt_out(question);
    // One episode listed by two feeds is stored under each: with the feed the digest took it
    // from removed, the other feed's copy answers as well.
    let copied;
    let entry = match stored_copy(store, entry)? {
        Some(id) => {
            copied = DigestEntry { episode_id: id, ..entry.clone() };
            &copied
        }
        None => entry,
    };
    let mut episode_ids = vec![entry.episode_id.clone()];
    episode_ids.extend(entry.also_in.iter().map(|a| a.episode_id.clone()));
    let mut pool: Vec<Passage> = Vec::new();
    let mut state: Option<(Query, Corpus)> = None;
    let mut covered = false;
    let mut any = false;
    for (i, id) in episode_ids.iter().enumerate() {
        let (Some(ep), Some(tr)) = (store.episode(id)?, store.transcript(id)?) else {
            continue;
        };
        any = true;
        let mut found = passages(&ep, &tr, config.passage_seconds);
        if i == 0 {
            // The reader has the insight already: its own sentence is no answer.
            for p in &mut found {
                p.mask(&entry.quote);
            }
        }
        pool.extend(found);
        if state.is_none() {
            let mut q = Query::new(question, &speakers(&pool), (&entry.text, entry.start_seconds));
            // "What else did he say about it?": a he or she of a question naming nobody is the
            // insight's speaker, whose passages then come first.
            if q.speakers.is_empty() && retrieve::speaks_of_someone(&retrieve::raw_words(question)) {
                q.speakers.extend(entry.speaker.clone());
            }
            q.read_against(&pool);
            let c = store.corpus_for(&q.stems())?;
            state = Some((q, c));
        }
        let Some((query, stats)) = &state else { continue };
        // "What did Kevin say?" of an insight Kevin did not say, naming nothing else: "what did
        // Kevin say to that?" when he replied to it, else searched as before.
        let other = query.speakers.iter().find(|s| entry.speaker.as_deref() != Some(s.as_str()));
        let names_nothing_else = i == 0 && query.response.is_none() && query.near.is_some();
        // "Who is she?", "who is Rob Pike?", "who's Kevin?": where someone else first introduces
        // them (the insight's speaker, or the one named).
        let who = other.map(String::as_str).or(entry.speaker.as_deref());
        if let Some(who) = who.filter(|_| names_nothing_else)
            && let Some(intro) = introduction(&pool, entry, question, who)
        {
            let ranked = in_order(&intro);
            // "Who is she?" is asked of them by name: their reply to the introduction says it.
            let asked = format!("Who is {who}?");
            return Ok(answerer.answer(&asked, entry, &ranked, true, history).await);
        }
        // "Who is Jenn?" of someone named in the episode who does not speak in it: where they
        // are first named in more than a greeting ("We actually have Jenn Turner who does the
        // newsletter"), not where the name is said most.
        if i == 0
            && query.speakers.is_empty()
            && query.response.is_none()
            && let Some(name) = only_a_name_asked(question, query)
            && let Some(intro) = introduction(&pool, entry, question, &name)
        {
            let ranked = in_order(&intro);
            return Ok(answerer.answer(question, entry, &ranked, true, history).await);
        }
        let of_another = names_nothing_else && other.is_some();
        // "Did anyone push back on that?", "how did the host react?", "what was the question?":
        // the others' turns right after the insight, or the question before it, answer, whatever
        // words they use. Where the insight is not found in its episode, nothing says who took
        // it how or what it answered: not covered, rather than the insight itself or another
        // episode's words on its subject.
        let read_around = query.response.or(of_another.then_some(retrieve::Response::Reply)).map(|kind| {
            match (i, kind) {
                (0, retrieve::Response::Prompt) => question_before_insight(&pool, entry),
                (0, _) => reply_to_insight(&pool, entry, query, kind),
                _ => None,
            }
            .unwrap_or((None, false))
        });
        if let Some((reply, found)) = read_around.filter(|(_, found)| *found || !of_another) {
            // A reply asking in objection ("but isn't that a loss?") is quoted, as is the
            // question that ended the exchange, shown as no answer.
            let reply: Option<Passage> = reply.cloned().map(|mut p| {
                p.asks = false;
                p
            });
            let mut ranked =
                reply.as_ref().map(|p| retrieve::around(std::slice::from_ref(p), p.start())).unwrap_or_default();
            if !found {
                // The rest of the episode, unscored, so that a refusal does not say a speaker
                // who did not reply ("what did Emma say to that?") is never heard there.
                let rest = pool.iter().filter(|p| p.episode_id == entry.episode_id);
                ranked.extend(rest.map(|p| retrieve::Scored {
                    passage: p,
                    score: 0.0,
                    coverage: 0.0,
                    local: 0.0,
                    chosen: false,
                }));
            }
            return Ok(answerer.answer(question, entry, &ranked, found, history).await);
        }
        // The question names nothing of its own ("what exactly did she say?", "why?", "can you
        // elaborate?") nor anyone but the insight's speaker: it asks for the insight itself, as
        // it was said, in the words around it. Searching on the insight's own words would find
        // whoever repeated them, a host's question minutes before as readily as the speaker.
        let about_the_insight = query.near.is_some()
            && i == 0
            && query.speakers.iter().all(|s| entry.speaker.as_deref() == Some(s.as_str()));
        if about_the_insight {
            // Overlapping windows that hold the insight are cut to start a sentence before it;
            // the one that then starts earliest has its lead-in (a window opening on the insight
            // itself has none), and of those the longest goes on furthest.
            let episode = || pool.iter().filter(|p| p.episode_id == entry.episode_id);
            let cut: Vec<Passage> = episode().filter_map(Passage::from_insight).collect();
            let best = cut.iter().min_by(|a, b| a.first.cmp(&b.first).then(b.sentences.len().cmp(&a.sentences.len())));
            // When its words are not found as such (a quote cleaned past recognition), the
            // passages nearest its moment.
            let own: Vec<Passage> = match best {
                Some(p) => vec![p.clone()],
                None => episode()
                    .cloned()
                    .map(|mut p| {
                        p.unmask();
                        p
                    })
                    .collect(),
            };
            let ranked = retrieve::around(&own, entry.start_seconds);
            return Ok(answerer.answer(question, entry, &ranked, true, history).await);
        }
        covered = is_covered(&pool, query, stats, config.min_coverage);
        if !covered && i == 0 {
            // Unless nothing else answers: then what the insight itself says is the answer.
            pool.iter_mut().for_each(Passage::unmask);
            covered = is_covered(&pool, query, stats, config.min_coverage);
            if !covered {
                pool.iter_mut().for_each(|p| p.mask(&entry.quote));
            }
        }
        if covered {
            break;
        }
    }
    if !any {
        // Without a transcript any answer would be made up: "not covered" would claim the
        // episode never said it.
        return Err(AskError::EpisodeGone(format!("{} — {}", entry.podcast, entry.episode)));
    }
    let (query, corpus) =
        state.unwrap_or_else(|| (Query::new(question, &[], (&entry.text, entry.start_seconds)), Corpus::default()));
    let ranked = rank(&pool, &query, &corpus);
    // Reordering by meaning (an embeddings request) is worth it only for an answer to write.
    let ranked = if covered { answerer.rerank(question, ranked).await } else { ranked };
    Ok(answerer.answer(question, entry, &ranked, covered, history).await)
}

/// For an insight whose episode is no longer stored, the id of a stored copy of it: an episode
/// of the same title whose transcript says the insight's quote word for word.
fn stored_copy(store: &Store, entry: &DigestEntry) -> Result<Option<String>, StoreError> {
    if store.episode(&entry.episode_id)?.is_some() {
        return Ok(None);
    }
    let quote = retrieve::normalise(&entry.quote);
    let title = entry.episode.trim().to_lowercase();
    for ep in store.episodes()? {
        if ep.id == entry.episode_id || ep.title.trim().to_lowercase() != title || quote.is_empty() {
            continue;
        }
        let Some(tr) = store.transcript(&ep.id)? else { continue };
        let text: Vec<&str> = tr.segments.iter().map(|s| s.text.as_str()).collect();
        if retrieve::normalise(&text.join(" ")).contains(&quote) {
            return Ok(Some(ep.id));
        }
    }
    Ok(None)
}

/// How long after the insight the others' replies to it are looked for.
const REPLY_SECONDS: f64 = 240.0;

/// How soon after the insight someone else must take the word for it to be a reply to it: a
/// speaker who goes on for longer has moved to other points, which the reply answers (unless it
/// opens by reacting, which takes up the whole turn).
const REPLY_GAP_SECONDS: f64 = 60.0;

/// Of the others' turns after the insight (not counting a bare "yeah"), how many are read for
/// a reply to it: further on, the talk has moved to something else.
const REPLY_TURNS: usize = 3;

/// A turn of fewer words that does not take issue ("Yeah, absolutely.", "Good point.") is no
/// reply to quote.
const REPLY_MIN_WORDS: usize = 12;

/// Of a reply, the sentences where it takes issue, when it does: its opening.
const REPLY_OPENING: usize = 3;

/// For a question asking how the others took the insight: the first turn after it by someone
/// else (by whom the question names, when it names anyone) that says more than a "yeah", or
/// for a pushback the first such turn that takes issue with it. Nobody replied to it when the
/// first such turn comes a minute or more after it; the search stops at another question, a
/// few turns or a few minutes on. None when the insight is not found in its
/// episode; `(closest, false)` when nobody replied so, with the first reply there was.
fn reply_to_insight<'p>(
    pool: &'p [Passage],
    entry: &DigestEntry,
    query: &Query,
    kind: retrieve::Response,
) -> Option<(Option<&'p Passage>, bool)> {
    let episode = || pool.iter().filter(|p| p.episode_id == entry.episode_id);
    let (_, _, end, ended) = insight_span(pool, entry)?;
    let own = entry.speaker.as_deref();
    let named: Vec<&str> = query.speakers.iter().map(String::as_str).filter(|s| Some(*s) != own).collect();
    // The turns after it.
    let mut turns: Vec<&Passage> = episode().filter(|p| p.first >= end && p.opens_turn()).collect();
    turns.sort_by_key(|p| p.first);
    let mut closest = None;
    let mut read = 0;
    for (k, p) in turns.iter().enumerate().take_while(|(_, p)| p.start() <= ended + REPLY_SECONDS) {
        // A turn that ends on a question (the next turn opens by replying to one) moves the
        // talk on, however short, unless it asks in objection ("but isn't that a loss?").
        let ends_asking =
            turns.get(k + 1).is_some_and(|n| n.prompt.last().is_some_and(|l| retrieve::is_question(&l.2)));
        if p.speaker() == own && (p.asks || ends_asking) {
            // The speaker (a host making a point) asks the next question: what follows
            // answers that.
            break;
        }
        if p.speaker().is_none() || p.speaker() == own {
            continue;
        }
        let opening: Vec<&str> = p.sentences.iter().take(REPLY_OPENING).map(|l| l.2.as_str()).collect();
        let objects = retrieve::pushes_back(&opening.join(" "));
        let asks_next = (p.asks || ends_asking) && !objects;
        // A reaction that then asks on ("That's a pretty cool feature. Take us to the receiving
        // end now...") is the reply to what was said; what follows answers its question.
        let reacts = opening.first().is_some_and(|first| retrieve::reacts(first));
        // Agreeing is taking it up too.
        let welcomes = matches!(kind, retrieve::Response::Reply | retrieve::Response::Agreement);
        let moves_on = asks_next && !(reacts && welcomes);
        // "Exactly." answers whether anyone agreed, if not how they took it.
        let agrees = kind == retrieve::Response::Agreement && reacts;
        if p.words() < REPLY_MIN_WORDS && !objects && !moves_on && !agrees {
            continue;
        }
        read += 1;
        if read > REPLY_TURNS {
            break;
        }
        // A reply that reacts ("that's a pretty cool feature") takes up the whole turn that
        // made the point, however long it went on after it; an objection after the gap is
        // to what the speaker went on to say.
        let takes_up = reacts && welcomes;
        if moves_on || (read == 1 && p.start() > ended + REPLY_GAP_SECONDS && !takes_up) {
            closest = closest.or(Some(*p));
            break;
        }
        if !named.is_empty() && !p.speaker().is_some_and(|s| named.contains(&s)) {
            continue;
        }
        let answers = match kind {
            retrieve::Response::Pushback => objects,
            retrieve::Response::Agreement => !objects,
            _ => true,
        };
        if answers {
            return Some((Some(*p), true));
        }
        closest = closest.or(Some(*p));
    }
    Some((closest, false))
}

/// Where the insight was said in its episode: the index of its first sentence and when it
/// starts, the index after its last, and when the sentence after it starts (a reply to its
/// opening words would be an interruption). None when its words are not found there.
fn insight_span(pool: &[Passage], entry: &DigestEntry) -> Option<(usize, f64, usize, f64)> {
    let episode = || pool.iter().filter(|p| p.episode_id == entry.episode_id);
    // The sentences the reader has, by their place in the episode, with their start times.
    let mut known: Vec<(usize, f64)> = episode()
        .flat_map(|p| {
            p.known.iter().enumerate().filter(|(_, k)| **k).map(move |(i, _)| (p.first + i, p.sentences[i].1))
        })
        .collect();
    known.sort_by_key(|(i, _)| *i);
    known.dedup_by_key(|(i, _)| *i);
    // The insight is the run of them at its moment (a recap repeating its words later is not).
    let at = known
        .iter()
        .enumerate()
        .min_by(|a, b| (a.1.1 - entry.start_seconds).abs().total_cmp(&(b.1.1 - entry.start_seconds).abs()))
        .map(|(i, _)| i)?;
    let (mut first, mut last) = (at, at);
    while first > 0 && known[first - 1].0 + 1 == known[first].0 {
        first -= 1;
    }
    while known.get(last + 1).is_some_and(|(i, _)| *i == known[last].0 + 1) {
        last += 1;
    }
    let end = known[last].0 + 1;
    let ended = episode()
        .find_map(|p| (p.first <= end && end < p.first + p.sentences.len()).then(|| p.sentences[end - p.first].1))
        .unwrap_or(known[last].1);
    Some((known[first].0, known[first].1, end, ended))
}

/// How far before the insight the question it answers is looked for: a long answer can run
/// for minutes.
const PROMPT_SECONDS: f64 = 300.0;

/// For "what was the question?": the last turn before the insight, within a few minutes, by
/// someone else that asks (its last window, which holds the question, answers). The speaker's
/// own earlier turns and other remarks in between are passed over: a question is often answered
/// by two guests in turn. When none asks, the last remark by someone else is the closest.
fn question_before_insight<'p>(pool: &'p [Passage], entry: &DigestEntry) -> Option<(Option<&'p Passage>, bool)> {
    let (start, said_at, _, _) = insight_span(pool, entry)?;
    let own = entry.speaker.as_deref();
    let episode = || pool.iter().filter(|p| p.episode_id == entry.episode_id);
    let mut turns: Vec<&Passage> = episode().filter(|p| p.opens_turn()).collect();
    turns.sort_by_key(|p| p.first);
    let at = turns.iter().rposition(|p| p.first <= start)?;
    let mut closest = None;
    for k in (0..=at).rev() {
        let p = turns[k];
        if p.speaker().is_none() || p.speaker() == own || p.first >= start {
            continue;
        }
        // The window of that turn holding its last words before the insight: a window running
        // past the insight (a turn not told apart from the speaker's) would quote what came after.
        let next = turns.get(k + 1).map_or(start, |n| n.first.min(start));
        let Some(end) =
            episode().filter(|w| w.first >= p.first && w.first + w.sentences.len() <= next).max_by_key(|w| w.first)
        else {
            continue;
        };
        // Measured from where the turn ends: a question that ended five minutes before
        // started earlier.
        if end.sentences.last().is_none_or(|l| l.1 < said_at - PROMPT_SECONDS) {
            break;
        }
        // A question followed by a remark ("How do we bridge that gap? There's obviously a
        // problem...") still asks, as does a request ("Describe the model.").
        let asks = p.asks
            || end.asks
            || end.sentences.iter().rev().take(3).any(|l| retrieve::is_question(&l.2) || retrieve::requests(&l.2));
        if asks {
            return Some((Some(end), true));
        }
        if p.words() >= REPLY_MIN_WORDS {
            closest = closest.or(Some(end));
        }
    }
    Some((closest, false))
}

/// Someone's own first words of substance say who they are when nobody introduced them: a turn
/// of fewer words is a greeting ("Hi, I'm Lee.").
const INTRODUCTION_MIN_WORDS: usize = 12;

/// For a question asking who someone is ("who is she?", "who's Rob Pike?"), the first passage of
/// the insight's episode where someone else names `speaker` in more than a greeting ("Hey,
/// Clinton."): the introduction; with their reply when it ends asking them ("Let's start with
/// what your name is and where you're from"); and the first passage where they say what they do
/// or did ("I joined GitHub midway through"), which a welcome by name alone does not.
fn introduction(pool: &[Passage], entry: &DigestEntry, question: &str, speaker: &str) -> Option<Vec<Passage>> {
    let mut found = introduced(pool, entry, question, speaker)?;
    let own = pool
        .iter()
        .filter(|p| p.episode_id == entry.episode_id && !p.asks && p.speaker() == Some(speaker))
        .filter(|p| found.iter().all(|f| f.first != p.first))
        .filter_map(|p| p.sentences.iter().position(|(_, _, s)| retrieve::describes_self(s)).map(|i| (p, i)))
        .min_by(|a, b| a.0.start().total_cmp(&b.0.start()));
    if let Some((p, i)) = own {
        found.push(p.from_sentence(i));
    }
    Some(found)
}

/// The introduction of [`introduction`], and the reply it asks for.
fn introduced<'p>(pool: &'p [Passage], entry: &DigestEntry, question: &str, speaker: &str) -> Option<Vec<Passage>> {
    // "Who is", "who's", "who was": who they are (not "who said that?", which the insight's own
    // passage answers).
    let words: Vec<String> = retrieve::normalise(question).split_whitespace().take(2).map(String::from).collect();
    let asks_who = match words.as_slice() {
        [who, verb] => who == "who" && ["is", "s", "was"].contains(&verb.as_str()),
        _ => false,
    };
    if !asks_who {
        return None;
    }
    let parts: Vec<String> = retrieve::normalise(speaker)
        .split_whitespace()
        .filter(|p| p.chars().count() >= 3 && !crate::insight::terms::is_stop_word(p))
        .map(String::from)
        .collect();
    // The sentence that names them, in more than a greeting unless `greeting_too`.
    let named_at = |p: &Passage, greeting_too: bool| {
        p.sentences.iter().position(|(_, _, text)| {
            let words: Vec<String> = retrieve::normalise(text).split_whitespace().map(String::from).collect();
            let greets = words.len() < 4 || words.first().is_some_and(|w| ["hey", "hi", "hello"].contains(&w.as_str()));
            words.iter().any(|w| parts.contains(w)) && (greeting_too || !greets)
        })
    };
    let names = |p: &Passage| named_at(p, true).is_some();
    let episode = || pool.iter().filter(|p| p.episode_id == entry.episode_id && !p.asks);
    let first = |found: &mut dyn Iterator<Item = &'p Passage>| found.min_by(|a, b| a.start().total_cmp(&b.start()));
    let by_others = first(&mut episode().filter(|p| p.speaker() != Some(speaker) && named_at(p, false).is_some()));
    // Quoted from the sentence that names them: a long turn may get to them only at its end.
    if let Some(p) = by_others {
        let intro = p.from_sentence(named_at(p, false).unwrap_or(0));
        let asks_them =
            intro.sentences.last().is_some_and(|(_, _, s)| retrieve::is_question(s) || retrieve::requests(s));
        let end = intro.first + intro.sentences.len();
        let reply = episode().find(|r| r.first == end && r.speaker() == Some(speaker)).filter(|_| asks_them);
        return Some(std::iter::once(intro).chain(reply.cloned()).collect());
    }
    // Nobody else introduced them ("Hey, guys. I'm Clinton."): their own first words of
    // substance from when they are first named.
    let named_at = first(&mut episode().filter(|p| names(p)))?.start();
    first(
        &mut episode()
            .filter(|p| p.speaker() == Some(speaker) && p.start() >= named_at && p.words() >= INTRODUCTION_MIN_WORDS),
    )
    .map(|p| vec![p.clone()])
}

/// An introduction's passages as answers, in the order they were said.
fn in_order(passages: &[Passage]) -> Vec<retrieve::Scored<'_>> {
    passages
        .iter()
        .map(|passage| retrieve::Scored { passage, score: 1.0, coverage: 1.0, local: 1.0, chosen: true })
        .collect()
}

/// The name a question asks nothing but who it is of ("who is Jenn Turner?", "who's Gregor?").
fn only_a_name_asked(question: &str, query: &Query) -> Option<String> {
    let words: Vec<String> = retrieve::normalise(question).split_whitespace().map(String::from).collect();
    let rest = match words.as_slice() {
        [who, verb, rest @ ..] if who == "who" && ["is", "s", "was"].contains(&verb.as_str()) => rest,
        _ => return None,
    };
    let names: Vec<String> = query.names.iter().map(|(w, _)| retrieve::normalise(w)).collect();
    (!rest.is_empty() && rest.iter().all(|w| names.contains(w))).then(|| rest.join(" "))
}

/// Whether the passages answer the question: one of the best (not a question itself) holds
/// enough of what is asked in one place ([`Scored::local`]: for an amount, next to a sentence
/// stating one), and no name the question mentions is missing.
pub fn is_covered(pool: &[Passage], query: &Query, corpus: &Corpus, min_coverage: f64) -> bool {
    if !retrieve::absent_names(query, pool).is_empty() {
        return false;
    }
    let ranked = rank(pool, query, corpus);
    let top: Vec<&Scored> = ranked.iter().filter(|s| s.score > 0.0 && !s.passage.asks).take(3).collect();
    top.iter().any(|s| s.local >= min_coverage)
}

/// Everyone heard in the passages.
fn speakers(pool: &[Passage]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in pool {
        for (s, _, _) in p.sentences.iter().chain(&p.prompt) {
            if let Some(s) = s {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
        }
    }
    out
}
