//! Conversational answers from the model, grounded in the passages retrieval found: the model
//! sees the best passages (with the question each replies to), as many as fit a budget, so that
//! an answer ranked third is still in view; it writes a short answer whose every claim comes
//! from a passage, cites the time and the speaker, and says when the passages do not hold the
//! answer. Citations are checked against the passages; any failure falls back to the quoting
//! answerer.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::json;

use super::{LlmClient, UNTRUSTED, as_data, quote};
use crate::ask::{Answer, Answerer, Citation, History, QuoteAnswerer, Scored};
use crate::model::{DigestEntry, Segment, moment};

/// Most passages shown to the model: retrieval puts the answer in its top 10 far more often
/// than first.
const PASSAGES: usize = 8;
/// Characters of transcript shown at most (about a quarter as many tokens), and never more than
/// a chunk of transcript (`llm.chunk_tokens`).
const PASSAGE_CHARS: usize = 9_000;

/// Characters of one transcript line shown at most.
const LINE_CHARS: usize = 2_000;
/// Characters of the model's own answer kept (it was asked for one to three sentences).
const ANSWER_CHARS: usize = 1_200;

/// Consecutive lines of one passage, as the model saw them: the unit a quote is looked for in.
struct Run<'p> {
    segments: Vec<Segment>,
    /// The question the passage replies to.
    asked: bool,
    passage: &'p crate::ask::Passage,
}

/// An answer as the model writes it, before its citations are checked.
#[derive(Debug, Deserialize)]
pub struct RawAnswer {
    pub answer: String,
    pub covered: bool,
    pub citations: Vec<RawCitation>,
}

#[derive(Debug, Deserialize)]
pub struct RawCitation {
    pub quote: String,
}

/// The model's answer as the schema has it.
pub fn read_answer(value: serde_json::Value) -> Result<RawAnswer, String> {
    serde_json::from_value(value).map_err(|e| format!("the model's answer is not the JSON asked for: {e}"))
}

pub struct LlmAnswerer {
    pub llm: Arc<LlmClient>,
    pub offline: QuoteAnswerer,
    /// Longest a reader waits for the model's answer (`llm.answer_timeout_secs`); past it, the
    /// quoting answer goes out.
    pub within: std::time::Duration,
}

impl LlmAnswerer {
    /// Waiting for the model's answer `llm.answer_timeout_secs` at most.
    pub fn new(llm: Arc<LlmClient>, offline: QuoteAnswerer) -> LlmAnswerer {
        let within = std::time::Duration::from_secs(llm.config.answer_timeout_secs);
        LlmAnswerer { llm, offline, within }
    }
}

fn schema() -> serde_json::Value {
    json!({
        "type": "object",
        "properties": {
            "answer": {"type": "string"},
            "covered": {"type": "boolean"},
            "citations": {"type": "array", "items": {
                "type": "object",
                "properties": {"quote": {"type": "string", "description": "words copied exactly from one passage"}},
                "required": ["quote"],
                "additionalProperties": false
            }}
        },
        "required": ["answer", "covered", "citations"],
        "additionalProperties": false
    })
}

impl Answerer for LlmAnswerer {
    fn rerank<'a>(&'a self, question: &'a str, ranked: Vec<Scored<'a>>) -> BoxFuture<'a, Vec<Scored<'a>>> {
        Box::pin(self.by_meaning(question, ranked))
    }

    fn answer<'a>(
        &'a self,
        question: &'a str,
        about: &'a DigestEntry,
        ranked: &'a [Scored<'a>],
        covered: bool,
        history: &'a History,
    ) -> BoxFuture<'a, Answer> {
        Box::pin(async move {
            // Retrieval already decided the episodes do not cover it: no need to ask a model.
            if !covered {
                return self.offline.answer_now(question, about, ranked, covered);
            }
            match self.with_model(question, about, ranked, history).await {
                Ok(a) => a,
                Err(e) => {
                    // A refused key is logged once, where it is found (LlmClient::failed).
                    if self.llm.check_key(super::Endpoint::Chat).is_ok() {
                        tracing::warn!("{e}; answered by quoting instead");
                    }
                    self.llm.count(|u| u.fallbacks += 1);
                    self.offline.answer_now(question, about, ranked, covered)
                }
            }
        })
    }
}

/// Passages reordered by meaning when an embedding model is configured.
const RERANK: usize = 20;
/// Longest a reader waits for the reordering by meaning; past it, the words' order stands.
const RERANK_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let n = norm(a) * norm(b);
    if n > 0.0 { dot / n } else { 0.0 }
}

impl LlmAnswerer {
    /// Hybrid ranking: the word score (relative to the best) plus the cosine between the
    /// question's and the passage's embeddings, over the top [`RERANK`] passages.
    async fn by_meaning<'a>(&self, question: &str, mut ranked: Vec<Scored<'a>>) -> Vec<Scored<'a>> {
        if self.llm.config.embedding_model.is_none() || ranked.is_empty() {
            return ranked;
        }
        let k = ranked.len().min(RERANK);
        let mut texts = vec![question.to_string()];
        for s in &ranked[..k] {
            let p = s.passage;
            let lines = p.prompt.iter().chain(&p.sentences).map(|l| l.2.as_str()).collect::<Vec<_>>();
            texts.push(lines.join(" "));
        }
        let vectors = match self.llm.embed_within(&texts, RERANK_WITHIN).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("{e}; passages ranked by their words only");
                return ranked;
            }
        };
        let best = ranked[0].score.max(f64::MIN_POSITIVE);
        let rest = ranked.split_off(k);
        let mut head: Vec<Scored> = ranked
            .into_iter()
            .zip(&vectors[1..])
            .map(|(mut s, v)| {
                s.score = best * (s.score / best + cosine(&vectors[0], v)) / 2.0;
                s
            })
            .collect();
        head.sort_by(|a, b| b.score.total_cmp(&a.score));
        head.into_iter().chain(rest).collect()
    }

    async fn with_model(
        &self,
        question: &str,
        about: &DigestEntry,
        ranked: &[Scored<'_>],
        history: &History,
    ) -> Result<Answer, String> {
        // A question is never its own answer; the passage replying to it carries it as context.
        let top: Vec<&Scored> = ranked.iter().filter(|s| s.score > 0.0 && !s.passage.asks).take(PASSAGES).collect();
        let budget = PASSAGE_CHARS.min(self.llm.config.chunk_tokens.saturating_mul(4)).max(1_000);
        // Each passage as timed, attributed lines; also as runs of consecutive lines, for
        // checking citations: a quote must stand in one run, or words of two passages (two
        // episodes, two speakers) could be stitched into something nobody said.
        let mut lines = String::new();
        let mut runs: Vec<Run> = Vec::new();
        for (i, s) in top.iter().enumerate() {
            let p = s.passage;
            let mut block = format!("--- {} — {}\n", p.podcast, p.episode);
            let mut passage_runs: Vec<Run> = Vec::new();
            let context = p.prompt.iter().map(|l| (l, true, false));
            let said = p.sentences.iter().zip(&p.known).map(|(l, k)| (l, false, *k));
            let mut last: Option<bool> = None;
            for ((speaker, start, text), asked, known) in context.chain(said) {
                if known {
                    // The reader has it (the insight itself): left out, and a run ends there.
                    last = None;
                    continue;
                }
                // One sentence of unbounded length must not make the request unbounded.
                let text = crate::model::cut(text, LINE_CHARS);
                let who = speaker.as_deref().unwrap_or("Speaker");
                // Show notes have no time: the model is not handed one to cite.
                let when = moment(*start, p.untimed);
                block.push_str(&format!("[{when}] {who}{}: {text}\n", if asked { " (asking)" } else { "" }));
                if last != Some(asked) {
                    passage_runs.push(Run { segments: Vec::new(), asked, passage: p });
                }
                last = Some(asked);
                let seg = Segment { start: *start, end: *start, speaker: speaker.clone(), text };
                if let Some(run) = passage_runs.last_mut() {
                    run.segments.push(seg);
                }
            }
            // The best passage always goes in; the others while they fit.
            if i > 0 && lines.len() + block.len() > budget {
                break;
            }
            lines.push_str(&block);
            runs.extend(passage_runs);
        }
        let mut convo = String::new();
        for (q, a) in history {
            convo.push_str(&format!("Earlier question: {q}\nEarlier answer: {a}\n"));
        }
        let system = format!(
            "You answer a reader's follow-up question about one insight of a podcast digest, using only the passages \
given; they are ranked, the most relevant first, and lines marked (asking) are the question a passage replies to. \
Write a short answer, one to three sentences, that answers the question directly; do not just repeat the insight \
(asked what exactly was said, quote what was said around it). Every \
claim must come from a passage: cite its time as the passage writes it ([hh:mm:ss], or [show notes] for what was written, not said) with the speaker, and copy each \
supporting span exactly into `citations`. If the passages do not hold the answer, set covered to false and say it is not covered in this episode; \
never invent. Write the answer in the language of the question. The insight and the earlier questions and answers \
are in the transcript block too. {UNTRUSTED}"
        );
        // The insight (a transcript sentence, or the model's words about one) and the earlier
        // answers (quotes) come from transcripts too: inside the block, where the system message
        // says nothing is an instruction.
        let context = format!("Insight #{}: {}\n{convo}\n{lines}", about.rank, about.text);
        let user = format!("Question: {question}\n\n{}", as_data(&context));
        let value = self.llm.chat_json_within(&system, &user, "answer", schema(), self.within).await;
        let value = value.map_err(|e| e.to_string())?;
        let raw = read_answer(value)?;
        if !raw.covered {
            // Nothing in it is checked against the transcript (there is no citation to check),
            // and words planted in a transcript could steer it: the reader gets podsift's own
            // sentence, not the model's.
            return Ok(Answer {
                answer: format!("Not covered in this episode: nothing said in {} answers that.", about.episode),
                covered: false,
                citations: vec![],
            });
        }
        let mut citations: Vec<Citation> = Vec::new();
        for quoted in &raw.citations {
            // The question a passage replies to is context, never support for the answer.
            let found =
                runs.iter().filter(|r| !r.asked).find_map(|r| quote::find(&r.segments, &quoted.quote).map(|f| (r, f)));
            let Some((run, f)) = found else { continue };
            let seg = &run.segments[f.segment];
            let citation = Citation {
                podcast: run.passage.podcast.clone(),
                episode: run.passage.episode.clone(),
                speaker: seg.speaker.clone(),
                start_seconds: seg.start,
                untimed: run.passage.untimed,
                text: f.verbatim,
                link: run
                    .passage
                    .url
                    .as_deref()
                    .and_then(|u| crate::model::quote_link(u, seg.start, run.passage.untimed)),
            };
            if !citations.contains(&citation) {
                citations.push(citation);
            }
        }
        if citations.is_empty() {
            return Err("the model's answer cites nothing that is in the passages".into());
        }
        // The model's own words come first; what backs them, checked against the transcript,
        // follows as the quoting answerer writes it, so a reader sees who really said what and
        // when, whatever the model wrote about it.
        // One paragraph: laid out in lines, the model's words could pass for the checked
        // citations below them.
        let prose = raw.answer.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut answer = crate::model::cut(&prose, ANSWER_CHARS);
        for c in &citations {
            answer.push('\n');
            answer.push_str(&crate::ask::cited(c));
        }
        Ok(Answer { answer, covered: true, citations })
    }
}
