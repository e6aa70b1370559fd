//! Offline extraction: score every statement of a transcript for being an insight and keep the
//! best few per episode.
//!
//! A statement scores for reading as a claim (the cues of `signals`: a lesson, a cause, a
//! contrast, a prediction, a recommendation, a number compared with something), for being about
//! the episode's subject (its frequent, corpus-rare terms), for its words being distinctive
//! against the whole corpus (IDF), and for coming from whoever carries the substance: guests who
//! speak most rather than the host who steers. What only looks like an insight (introductions,
//! thanks, logistics, anecdotes, questions, hypotheticals, timelines, inventories) keeps a fraction
//! of its score. Sponsor reads, calls to subscribe and fragments that need context are dropped. A
//! sentence that leans on its neighbour ("That's why ...") is joined with it when the pair stays
//! short enough.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

use super::Extractor;
use super::sentences::{self, Sentence};
use super::signals;
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

/// Points a statement loses for each comma or semicolon per ten words. Measured on the labelled
/// set (`PICKS_RANKS=1 cargo bench --bench picks`): the sentences an editor would forward have
/// 0.56 a ten words, the picks before this 0.87; at 0.8 the labelled sentences among each
/// episode's top 10 candidates rose from 22 to 29 of 90.
const RAMBLING: f64 = 0.8;

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
    features: Features,
}

/// What a candidate's score was made of, by name: for measuring the signals against labels
/// (`benches/picks.rs`), never shown to readers.
pub type Features = Vec<(&'static str, f64)>;

impl Extractor for OfflineExtractor {
    fn extract<'a>(
        &'a self,
        episode: &'a Episode,
        transcript: &'a Transcript,
        corpus: &'a Corpus,
    ) -> futures_util::future::BoxFuture<'a, super::Extraction> {
        Box::pin(async move {
            super::Extraction { insights: self.extract_now(episode, transcript, corpus), stand_in: false }
        })
    }
}

impl OfflineExtractor {
    /// The extraction itself: plain CPU work, no waiting.
    pub fn extract_now(&self, episode: &Episode, transcript: &Transcript, corpus: &Corpus) -> Vec<Insight> {
        self.extract_explained(episode, transcript, corpus).into_iter().map(|(i, _)| i).collect()
    }

    /// The extraction with each candidate's [`Features`] beside it.
    pub fn extract_explained(
        &self,
        episode: &Episode,
        transcript: &Transcript,
        corpus: &Corpus,
    ) -> Vec<(Insight, Features)> {
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
        let ctx = Context {
            sents: &sents,
            segments,
            corpus,
            max_idf: corpus.idf("\u{0}never-seen").max(1e-9),
            duration,
            voices: voices(segments, episode),
            topic: topic_terms(segments, corpus),
            show_name: show_name(episode),
            source: transcript.source,
        };
        let mut units: Vec<Unit> = (0..sents.len()).filter_map(|i| self.unit_at(i, &ctx)).collect();
        // Ties go to the earlier stretch, so the choice never depends on anything but the text.
        units.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.first.cmp(&b.first)));
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
        chosen.into_iter().map(|u| (to_insight(episode, transcript, &sents, &u), u.features)).collect()
    }

    fn unit_at(&self, i: usize, ctx: &Context) -> Option<Unit> {
        let (sents, segments) = (ctx.sents, ctx.segments);
        let s = &sents[i];
        let text = s.text(segments);
        let (mut first, last) = (i, i);
        let same_segment = |j: usize| sents.get(j).is_some_and(|o| o.segment == s.segment);
        if needs_context(&sentences::clean(text)) {
            // Only a sentence whose predecessor is in the same turn can borrow its context.
            if i == 0 || !same_segment(i - 1) {
                return None;
            }
            first = i - 1;
            // Borrowing from a sentence that itself leans on what came before does not help.
            if needs_context(&sentences::clean(sents[first].text(segments))) {
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
        let hedge: f64 = HEDGES.iter().filter(|(h, _)| lower.contains(h)).map(|(_, p)| p).sum();
        // Distinctiveness: the mean IDF of the most specific words, against the whole corpus.
        let mut idfs: Vec<f64> = term_list.iter().map(|t| ctx.corpus.idf(t)).collect();
        idfs.sort_by(|a, b| b.total_cmp(a));
        idfs.truncate(8);
        let distinct = idfs.iter().sum::<f64>() / idfs.len() as f64 / ctx.max_idf;
        let density = term_list.len() as f64 / toks.len().max(1) as f64;
        // On topic: the episode's own subject words, not a passing aside.
        // Summed in term order: a float sum in hash order differs in its last bits from run to
        // run, and a score must be the same every time.
        let distinct_terms: std::collections::BTreeSet<&String> = term_list.iter().collect();
        let topic: f64 = distinct_terms.iter().filter_map(|t| ctx.topic.get(t.as_str())).sum();
        let length_fit = if (15..=45).contains(&n_words) { 0.5 } else { 0.0 };
        let reading = signals::read(&cleaned);
        // The cues of a claim count most; specific, on-topic words make it concrete.
        // Clause piled on clause: speech that rambles towards its point, or never reaches one.
        let clauses = cleaned.matches([',', ';']).count() as f64 / toks.len().max(1) as f64 * 10.0;
        let mut score = 1.0 + reading.substance + topic.min(2.0) * 0.6 + distinct * 1.5 + density + length_fit
            - hedge
            - RAMBLING * clauses;
        score *= reading.kind;
        let names_show = ctx.show_name.as_deref().is_some_and(|name| lower.contains(name));
        if names_show {
            // The show talking about itself: plans, rounds, regulars, not a point.
            score *= 0.6;
        }
        let voice = ctx.voices.get(&segments[s.segment].speaker).copied().unwrap_or(1.0);
        score *= voice;
        let trails_off = raw.trim_end().ends_with("...") || raw.trim_end().ends_with('…');
        if trails_off {
            // Trailing off: the point is left for the listener to finish.
            score *= 0.75;
        }
        // Breaking off mid-thought and starting another (a false start at the opening is
        // already cleaned away, and costs less).
        let (breaks_off, factor) = if cleaned.contains(" -- ") {
            (1.0, 0.65)
        } else if raw.contains(" -- ") {
            (0.5, 0.9)
        } else {
            (0.0, 1.0)
        };
        score *= factor;
        if first != i {
            // Borrowed context reads less cleanly than a sentence that stands alone.
            score *= 0.9;
        }
        let position = if ctx.duration > 0.0 { sents[first].start / ctx.duration } else { 0.5 };
        if !(0.03..=0.97).contains(&position) {
            score *= 0.6;
        }
        if ctx.source == TranscriptSource::ShowNotes {
            score *= 0.7;
        }
        let score = score.max(0.0);
        let features = vec![
            ("score", score),
            ("substance", reading.substance),
            ("kind", reading.kind),
            ("topic", topic),
            ("distinct", distinct),
            ("density", density),
            ("words", n_words as f64),
            ("hedge", hedge),
            ("clauses", clauses),
            ("voice", voice),
            ("position", position),
            ("borrowed", (first != i) as u8 as f64),
            ("names_show", names_show as u8 as f64),
            ("trails_off", trails_off as u8 as f64),
            ("breaks_off", breaks_off),
        ];
        Some(Unit { first, last, score, terms: term_list.into_iter().collect(), features })
    }
}

/// What every candidate of one episode is scored against.
struct Context<'a> {
    sents: &'a [Sentence],
    segments: &'a [Segment],
    corpus: &'a Corpus,
    max_idf: f64,
    duration: f64,
    voices: HashMap<Option<String>, f64>,
    topic: HashMap<String, f64>,
    /// The podcast's name, lower-cased, without a tagline ("JS Party: ..." is "js party").
    show_name: Option<String>,
    source: TranscriptSource,
}

/// The podcast's name as its episodes say it, lower-cased, without a tagline; none when too
/// short to tell from ordinary words.
pub fn show_name(episode: &Episode) -> Option<String> {
    let title = episode.podcast_title.as_deref()?;
    let name = title.split([':', '|', '–', '—']).next().unwrap_or(title);
    let name = name.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
    // A one-letter or very common name would match everywhere.
    (name.len() >= 4).then_some(name)
}

/// Adjectives that make "it's ..." an opening of its own ("it's hard to ...", "it's worth ..."),
/// not a pointer to something said before.
const DUMMY_IT_ADJECTIVES: &[&str] = &[
    "important",
    "interesting",
    "hard",
    "easy",
    "worth",
    "better",
    "best",
    "crucial",
    "critical",
    "essential",
    "possible",
    "impossible",
    "counterintuitive",
    "surprising",
    "funny",
    "amazing",
    "true",
    "rare",
    "common",
    "difficult",
    "tough",
    "normal",
    "natural",
    "obvious",
    "clear",
    "dangerous",
    "risky",
    "expensive",
    "cheaper",
    "faster",
    "safer",
];
/// Verbs that do the same after a bare "it" ("it turns out", "it takes years to ...").
const DUMMY_IT_VERBS: &[&str] = &["seems", "turns", "takes", "pays", "helps", "makes", "costs"];

/// Whether a cleaned sentence leans on the one before: it opens with a word that points back
/// ("that's why", "they", "also") and is not one of the openings that only look like it: an
/// existential "there is", an "it" that stands for what follows ("it's hard to ...", "it turns
/// out"), "no one", "even if", "what you should do is".
fn needs_context(cleaned: &str) -> bool {
    let mut words = terms::tokens(cleaned);
    let lead = words.next().unwrap_or_default();
    if !NEEDS_CONTEXT.contains(&lead.as_str()) {
        return false;
    }
    let next = words.next().unwrap_or_default();
    let after = words.next().unwrap_or_default();
    // "It's hard to separate those two": the opening stands alone, what follows does not.
    let points_back =
        words.take(8).any(|w| matches!(w.as_str(), "those" | "these" | "that" | "this" | "them" | "they"));
    if points_back {
        return true;
    }
    let opens_its_own = match lead.as_str() {
        "there" => matches!(next.as_str(), "is" | "are" | "was" | "were" | "will" | "has" | "have"),
        "it's" => {
            DUMMY_IT_ADJECTIVES.contains(&next.as_str())
                || (matches!(next.as_str(), "not" | "so" | "really" | "very" | "actually" | "always" | "often")
                    && DUMMY_IT_ADJECTIVES.contains(&after.as_str()))
        }
        "it" => {
            DUMMY_IT_VERBS.contains(&next.as_str()) || (next == "is" && DUMMY_IT_ADJECTIVES.contains(&after.as_str()))
        }
        "no" => matches!(next.as_str(), "one" | "matter"),
        "even" => matches!(next.as_str(), "if" | "when" | "though"),
        // "What you should do is ...": advice that says its own subject.
        "what" => {
            matches!(next.as_str(), "you" | "we" | "people" | "teams")
                && matches!(after.as_str(), "should" | "need" | "want" | "have" | "must")
        }
        _ => false,
    };
    !opens_its_own
}

/// How much each speaker carries the substance. Guests explain and hosts steer: whoever speaks
/// most weighs most, and the host (credited, or else whoever opens the show) less. 1.0 at most.
fn voices(segments: &[Segment], episode: &Episode) -> HashMap<Option<String>, f64> {
    let mut words: HashMap<Option<String>, usize> = HashMap::new();
    for s in segments {
        *words.entry(s.speaker.clone()).or_default() += s.text.split_whitespace().count();
    }
    let most = words.values().copied().max().unwrap_or(1).max(1) as f64;
    let hosts: HashSet<&str> = episode
        .persons
        .iter()
        .filter(|p| p.role.as_deref().is_some_and(|r| r.eq_ignore_ascii_case("host")))
        .map(|p| p.name.as_str())
        .collect();
    let opener = segments.iter().find(|s| s.speaker.is_some()).and_then(|s| s.speaker.clone());
    let several = words.len() > 1;
    words
        .iter()
        .map(|(speaker, &w)| {
            let mut f = 0.7 + 0.3 * (w as f64 / most);
            let is_host = match speaker {
                Some(name) => hosts.contains(name.as_str()) || (hosts.is_empty() && opener.as_ref() == Some(name)),
                None => false,
            };
            if is_host && several {
                f *= 0.8;
            }
            (speaker.clone(), if several { f } else { 1.0 })
        })
        .collect()
}

/// The episode's subject: its most frequent terms weighted by how rare they are elsewhere,
/// scaled so the strongest is 1.
fn topic_terms(segments: &[Segment], corpus: &Corpus) -> HashMap<String, f64> {
    const TOPIC_TERMS: usize = 30;
    let mut tf: HashMap<String, usize> = HashMap::new();
    for s in segments {
        for t in terms::terms(&s.text) {
            *tf.entry(t).or_default() += 1;
        }
    }
    let mut weighted: Vec<(String, f64)> = tf
        .into_iter()
        .filter(|(_, n)| *n >= 3)
        .map(|(t, n)| {
            let w = (n as f64).ln() * corpus.idf(&t);
            (t, w)
        })
        .collect();
    // Sorted on weight, then term, so the cut is the same on every run.
    weighted.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    weighted.truncate(TOPIC_TERMS);
    let top = weighted.first().map(|(_, w)| *w).unwrap_or(1.0).max(1e-9);
    weighted.into_iter().map(|(t, w)| (t, w / top)).collect()
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
    let id: String = crate::http::hex(&h.finalize()[..8]);
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

/// The [`Episode::copy_keys`] of the episodes extracted, and so counted, before, from two days
/// before the earliest of `episodes` to two days after the latest: copies come out within days
/// of each other, and only those are read.
fn counted_near(
    store: &crate::store::Store,
    episodes: &[&Episode],
) -> Result<std::collections::HashSet<String>, crate::store::StoreError> {
    let dates = episodes.iter().map(|e| e.published_or_seen());
    let (Some(from), Some(to)) = (dates.clone().min(), dates.max()) else {
        return Ok(Default::default());
    };
    let near = store.episodes_published_between(from - chrono::Duration::days(2), to + chrono::Duration::days(2))?;
    Ok(near.iter().filter(|e| e.insights_extracted).flat_map(Episode::copy_keys).collect())
}

/// Extracts insights for every episode that has a transcript and none extracted yet, counting
/// each into the corpus statistics, and again for episodes whose insights stand in for the
/// engine's ([`super::Extraction::stand_in`]) while no digest has shown them. Returns how many
/// insights were stored.
///
/// Every pending episode is counted into the document frequencies before any of them is scored:
/// scored one by one as each is stored, an episode's scores would depend on how many of the same
/// ingest's episodes came before it, and that order follows ids derived from feed addresses.
pub async fn extract_pending(
    store: &crate::store::Store,
    extractor: &dyn Extractor,
) -> Result<usize, crate::store::StoreError> {
    let wanting = store.episodes_wanting_extraction()?;
    if wanting.is_empty() {
        // The corpus statistics (every term ever stored) are read only when there is work.
        return Ok(0);
    }
    let mut corpus = store.corpus()?;
    let mut pending: Vec<(Episode, Option<Vec<String>>)> = Vec::new();
    // Copies ([`Episode::copy_keys`]) of an episode counted already, before or in this run, are
    // not counted again: the same words under two feeds would weigh twice, and the digest
    // would depend on how many feeds list a show.
    let new: Vec<&Episode> = wanting.iter().filter(|e| !e.insights_extracted).collect();
    let mut counted = counted_near(store, &new)?;
    let mut copies: std::collections::HashSet<String> = std::collections::HashSet::new();
    for mut episode in wanting {
        if episode.insights_extracted {
            // Insights a digest has shown stay: its readers ask about them by number. They
            // stay as long as a kept digest shows them (see `Store::prune`).
            if store.episode_shown(&episode.id)? {
                episode.stand_in_extractions = 0;
                store.put_episode(&episode)?;
            } else {
                pending.push((episode, None));
            }
            continue;
        }
        let Some(transcript) = store.transcript(&episode.id)? else {
            continue;
        };
        let doc_terms = document_terms(&transcript);
        let keys = episode.copy_keys();
        if keys.iter().any(|k| counted.contains(k)) {
            copies.insert(episode.id.clone());
        } else {
            counted.extend(keys);
            corpus.add(&doc_terms);
        }
        pending.push((episode, Some(doc_terms)));
    }
    let mut stored = 0;
    for (mut episode, doc_terms) in pending {
        // Read again rather than held: a back catalogue's transcripts need not all fit in memory.
        let Some(transcript) = store.transcript(&episode.id)? else {
            continue;
        };
        if doc_terms.is_none() && !extractor.can_retry() {
            // Refused on an earlier episode of this run: asking cannot replace the stand-ins.
            continue;
        }
        let extraction = extractor.extract(&episode, &transcript, &corpus).await;
        episode.insights_extracted = true;
        match doc_terms {
            Some(doc_terms) => {
                episode.stand_in_extractions = u32::from(extraction.stand_in);
                let terms = (!copies.contains(&episode.id)).then_some(doc_terms.as_slice());
                store.put_insights(&episode, &extraction.insights, terms)?;
                stored += extraction.insights.len();
            }
            // Counted in the corpus when first extracted.
            None if extraction.stand_in => {
                // A key the server refuses is not the episode's failure: no try is spent on it.
                if extractor.can_retry() {
                    episode.stand_in_extractions += 1;
                }
                store.put_episode(&episode)?;
            }
            None => {
                episode.stand_in_extractions = 0;
                if store.replace_insights(&episode, &extraction.insights)? {
                    stored += extraction.insights.len();
                } else {
                    // A digest showed the stand-ins while the model was asked: they stay.
                    store.put_episode(&episode)?;
                }
            }
        }
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
