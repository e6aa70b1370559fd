//! The offline answerer: the passage that answers, quoted with its speaker and a link to the
//! moment, then up to two more when they add something. A question the episodes do not cover
//! gets a plain refusal that names what was asked and, when something came close, shows it as
//! what it is: not an answer.

use futures_util::future::BoxFuture;

use super::retrieve::{self, Passage, Query, Scored};
use super::{Answer, Answerer, Citation, History};
use crate::insight::sentences;
use crate::insight::terms;
use crate::model::{DigestEntry, moment};

/// Passages scoring below this share of the best are noise, not support.
const FLOOR: f64 = 0.25;

/// A quote after the first says at least this many words: a one-word answer to another
/// question ("Python.") adds nothing to the first.
const FURTHER_MIN_WORDS: usize = 5;

/// Quotes the passages that answer.
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
    /// Quotes the best passages; no waiting.
    pub fn answer_now(&self, question: &str, about: &DigestEntry, ranked: &[Scored], covered: bool) -> Answer {
        let q: Vec<String> = retrieve::search_terms(question);
        let candidates = ranked.iter().filter(|s| s.score > 0.0 && !s.passage.asks);
        if !covered {
            return refusal(question, about, ranked, candidates.map(|s| s.passage).next(), &q);
        }
        let floor = ranked.iter().find(|s| !s.passage.asks).map(|s| s.score * FLOOR).unwrap_or(0.0);
        let mut citations: Vec<Citation> = Vec::new();
        let mut taken: Vec<(&str, std::ops::Range<usize>)> = Vec::new();
        // Sentences already quoted, by episode: what a quote went on to say can open the next
        // passage, which is still chosen as if it did not (they may lead to what it adds).
        let mut quoted: std::collections::HashSet<(&str, &str)> = std::collections::HashSet::new();
        for s in candidates.filter(|s| s.score >= floor) {
            if citations.len() >= self.max_citations.max(1) {
                break;
            }
            let p = s.passage;
            let Some(range) = quote_range(p, &q) else { continue };
            // Passages overlap by half: what an earlier quote did not cover is still worth
            // quoting (the end of a long answer), what it did is not repeated.
            let mut global = p.first + range.start..p.first + range.end;
            for (_, r) in taken.iter().filter(|(e, _)| *e == p.episode_id) {
                if r.start < global.end && global.start < r.end {
                    let before = global.start..r.start.max(global.start);
                    let after = r.end.min(global.end)..global.end;
                    global = if after.len() >= before.len() { after } else { before };
                }
            }
            if global.is_empty() {
                continue;
            }
            let range = global.start - p.first..global.end - p.first;
            let mut lines: Vec<&str> = p.sentences[range.clone()].iter().map(|l| l.2.as_str()).collect();
            if range.end == p.sentences.len() {
                lines.extend(continuation(p, ranked, &taken, &q));
            }
            let text = lines.join(" ");
            // A further passage earns its place with words of the question of its own, not only
            // with a neighbour's score, and with more than a word or two ("Python.").
            let further = !citations.is_empty() && !s.chosen;
            if further
                && (!retrieve::search_terms(&text).iter().any(|w| q.contains(w))
                    || text.split_whitespace().count() < FURTHER_MIN_WORDS)
            {
                continue;
            }
            taken.push((&p.episode_id, global));
            // Its opening sentences that an earlier quote went on to say are not said again.
            let repeated = lines.iter().take_while(|l| quoted.contains(&(p.episode_id.as_str(), **l))).count();
            if repeated == lines.len() {
                continue;
            }
            let text = lines[repeated..].join(" ");
            quoted.extend(lines.iter().map(|l| (p.episode_id.as_str(), *l)));
            let opening = (range.start + repeated).min(range.end - 1);
            let (speaker, start, _) = &p.sentences[opening];
            citations.push(Citation {
                podcast: p.podcast.clone(),
                episode: p.episode.clone(),
                speaker: speaker.clone(),
                start_seconds: (*start * 10.0).round() / 10.0,
                untimed: p.untimed,
                text,
                link: link(p, *start),
            });
        }
        if citations.is_empty() {
            return refusal(question, about, ranked, None, &q);
        }
        let answer = citations.iter().map(cited).collect::<Vec<_>>().join("\n");
        Answer { answer, covered: true, citations }
    }
}

/// The sentences of a passage to quote: of the runs of sentences the reader does not have yet
/// (the insight asked about can sit in the middle of a passage), the one holding most of the
/// question's words, the earlier on a tie.
fn quote_range(p: &Passage, q: &[String]) -> Option<std::ops::Range<usize>> {
    let hits = |t: &str| retrieve::search_terms(t).iter().filter(|w| q.contains(w)).count();
    let open = |i: usize| !p.known.get(i).copied().unwrap_or(false);
    let mut best: Option<(usize, std::ops::Range<usize>)> = None;
    let mut i = 0;
    while i < p.sentences.len() {
        if !open(i) {
            i += 1;
            continue;
        }
        let start = i;
        while i < p.sentences.len() && open(i) {
            i += 1;
        }
        let found: usize = (start..i).map(|k| hits(&p.sentences[k].2)).sum();
        if best.as_ref().is_none_or(|(most, _)| found > *most) {
            best = Some((found, start..i));
        }
    }
    best.map(|(_, run)| run)
}

/// Words of the same turn quoted after a passage: a window may stop just before the sentence
/// that makes its point.
const CONTEXT_WORDS: usize = 40;

/// Another speaker's words between two parts of one answer that do not end it ("Yeah, I don't
/// think so"): at most this many.
const BACKCHANNEL_WORDS: usize = 12;

/// The sentences that follow a passage in the same speaker turn (or after another speaker's
/// brief interjection), up to [`CONTEXT_WORDS`] words, not already quoted, not the insight.
fn continuation<'p>(
    p: &Passage,
    ranked: &[Scored<'p>],
    taken: &[(&str, std::ops::Range<usize>)],
    q: &[String],
) -> Vec<&'p str> {
    let same_episode = || ranked.iter().map(|s| s.passage).filter(|q| q.episode_id == p.episode_id);
    let end = p.first + p.sentences.len();
    // A later window of the same turn (a new turn carries the question it replies to).
    let same_turn = same_episode()
        .find(|q| q.prompt.is_empty() && q.first > p.first && q.first <= end && q.first + q.sentences.len() > end);
    let (next, from) = match same_turn {
        Some(q) => (q, end - q.first),
        None => {
            let Some(between) = same_episode().find(|q| q.first == end) else { return Vec::new() };
            let said = between.words();
            // A question, however short, changes the subject.
            let asks = between.sentences.iter().any(|l| l.2.contains('?'));
            let after = between.first + between.sentences.len();
            let resumed = same_episode().find(|q| q.first == after && q.speaker() == p.speaker());
            match resumed {
                Some(q) if said <= BACKCHANNEL_WORDS && !asks && between.speaker() != p.speaker() => (q, 0),
                _ => return Vec::new(),
            }
        }
    };
    let mut out = Vec::new();
    let mut words = 0;
    let mut allowed = CONTEXT_WORDS;
    for i in from..next.sentences.len() {
        let global = next.first + i;
        let seen = taken.iter().any(|(e, r)| *e == p.episode_id && r.contains(&global));
        if words >= allowed || seen || next.known.get(i).copied().unwrap_or(false) {
            break;
        }
        let text = next.sentences[i].2.as_str();
        words += text.split_whitespace().count();
        out.push(text);
        // A sentence that names what was asked ("a few critical aspects of motivation") is
        // followed by what it says about it: one more sentence, within twice the limit.
        if retrieve::search_terms(text).iter().any(|w| q.contains(w)) {
            allowed = allowed.max(words + 1).min(2 * CONTEXT_WORDS);
        }
    }
    out
}

/// A citation as readers see it: who said it, when, where, in their own words.
pub fn cited(c: &Citation) -> String {
    format!(
        "{} ({} — {}): \"{}\"{}",
        said_by(c.speaker.as_deref(), c.start_seconds, c.untimed, true),
        c.podcast,
        c.episode,
        readable(&c.text),
        c.link.as_deref().map(|l| format!(" {l}")).unwrap_or_default()
    )
}

/// "Name at [hh:mm:ss]" ("A speaker" when unnamed), or "The show notes" for what was written,
/// not said; capitalised when it `opens` a sentence.
fn said_by(speaker: Option<&str>, start: f64, untimed: bool, opens: bool) -> String {
    if untimed {
        let the = if opens { "The" } else { "the" };
        return format!("{the} {}", moment(start, true));
    }
    let nobody = if opens { "A speaker" } else { "a speaker" };
    format!("{} at [{}]", speaker.unwrap_or(nobody), moment(start, false))
}

fn link(p: &Passage, start: f64) -> Option<String> {
    crate::model::quote_link(p.url.as_deref()?, start, p.untimed)
}

/// A quote as a reader sees it: each sentence cleaned of fillers, the words unchanged.
fn readable(text: &str) -> String {
    let seg = [crate::model::Segment { start: 0.0, end: 0.0, speaker: None, text: text.to_string() }];
    let parts: Vec<String> = sentences::split(&seg).iter().map(|s| sentences::clean(s.text(&seg))).collect();
    parts.join(" ").trim_end_matches('.').to_string()
}

fn refusal(question: &str, about: &DigestEntry, ranked: &[Scored], closest: Option<&Passage>, q: &[String]) -> Answer {
    let words = terms::tokens(question).filter(|w| !terms::is_stop_word(w)).collect::<Vec<_>>().join(" ");
    let what = if words.is_empty() { "that".to_string() } else { format!("\"{words}\"") };
    let missing = missing_names(question, ranked);
    let mut answer = if missing.is_empty() {
        format!("Not covered: {} — {} does not answer {what}.", about.podcast, about.episode)
    } else {
        format!(
            "Not covered: {} — {} does not answer {what}; it never mentions {}.",
            about.podcast,
            about.episode,
            missing.join(" or ")
        )
    };
    if retrieve::other_language(question, ranked.iter().map(|s| s.passage)) {
        // A passage found through a word the languages share ("Zoom") answers nothing asked.
        answer.push_str(
            " The question reads as written in another language than the episode: answers are found by comparing \
             the question's words with what was said, without translating, so ask it in the episode's language.",
        );
    } else if let Some(p) = closest.filter(|_| missing.is_empty()) {
        if let Some(range) = quote_range(p, q) {
            let (speaker, start, _) = &p.sentences[range.start];
            let text = p.sentences[range].iter().map(|l| l.2.as_str()).collect::<Vec<_>>().join(" ");
            answer.push_str(&format!(
                " The closest passage, which does not answer it: {}: \"{}\"",
                said_by(speaker.as_deref(), *start, p.untimed, false),
                readable(&text)
            ));
        }
    } else {
        answer.push_str(" Nothing said there answers this, so there is nothing to quote.");
    }
    Answer { answer, covered: false, citations: Vec::new() }
}

/// Names in the question that none of the passages mention.
fn missing_names(question: &str, ranked: &[Scored]) -> Vec<String> {
    let mut speakers: Vec<String> =
        ranked.iter().flat_map(|s| s.passage.sentences.iter().filter_map(|l| l.0.clone())).collect();
    speakers.sort();
    speakers.dedup();
    let mut query = Query::new(question, &speakers, ("", 0.0));
    // Read as the search read it: a name corrected there ("Kubrenetes") is not said missing here.
    query.read_against(ranked.iter().map(|s| s.passage));
    retrieve::absent_names(&query, ranked.iter().map(|s| s.passage)).into_iter().map(str::to_string).collect()
}
