//! Insights written by the model: one request per chunk of transcript (map), the verified
//! results merged and the best kept (reduce). Every quote is checked against the transcript;
//! one that is not there is dropped and counted. Failures, nonsense and spent budgets go to the
//! offline extractor, so an episode always gets its candidates.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::json;

use super::{LlmClient, LlmError, UNTRUSTED, as_data, quote};
use crate::insight::extract::OfflineExtractor;
use crate::insight::terms::{Corpus, terms};
use crate::insight::{Extraction, Extractor};
use crate::model::{Episode, Insight, TextUnit, Transcript, hms};

/// One insight as the model returns it.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct RawInsight {
    pub text: String,
    pub quote: String,
    pub speaker: String,
    pub importance: f64,
    pub reason: String,
}

#[derive(Deserialize)]
struct RawAnswer {
    insights: Vec<RawInsight>,
}

/// The insights of one answer of the model, as the schema has them.
pub fn read_insights(value: serde_json::Value) -> Result<Vec<RawInsight>, LlmError> {
    let answer: RawAnswer = serde_json::from_value(value).map_err(|e| LlmError::Malformed(e.to_string()))?;
    Ok(answer.insights)
}

/// The strict JSON schema of the model's answer.
pub fn schema() -> serde_json::Value {
    json!({
        "type": "object",
        "properties": {"insights": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "text": {"type": "string", "description": "the insight in one or two plain sentences"},
                "quote": {"type": "string", "description": "a verbatim span of the transcript that supports it"},
                "speaker": {"type": "string"},
                "importance": {"type": "number", "description": "0 (trivial) to 10 (essential)"},
                "reason": {"type": "string", "description": "why it matters, in a few words"}
            },
            "required": ["text", "quote", "speaker", "importance", "reason"],
            "additionalProperties": false
        }}},
        "required": ["insights"],
        "additionalProperties": false
    })
}

/// Most tokens of transcript one episode sends, whatever the chunks (about ten hours of talk).
pub const MAX_TRANSCRIPT_TOKENS: usize = 144_000;

pub struct LlmExtractor {
    pub llm: Arc<LlmClient>,
    pub offline: OfflineExtractor,
}

impl Extractor for LlmExtractor {
    fn extract<'a>(
        &'a self,
        episode: &'a Episode,
        transcript: &'a Transcript,
        corpus: &'a Corpus,
    ) -> BoxFuture<'a, Extraction> {
        Box::pin(async move {
            match self.with_model(episode, transcript).await {
                Ok(insights) if !insights.is_empty() => Extraction { insights, stand_in: false },
                Ok(_) => {
                    tracing::warn!(episode = %episode.title, "the model's insights all failed the quote check; offline engine used");
                    Extraction { insights: self.fallback(episode, transcript, corpus), stand_in: false }
                }
                Err(e) => {
                    // A server that failed may answer on the next ingest; a spent budget or a
                    // broken store will not, and trying again tomorrow would spend tomorrow's
                    // budget on episodes whose digest is built.
                    // A refused key is logged once, where it is found (LlmClient::failed).
                    let stand_in = matches!(
                        e,
                        LlmError::Request(_) | LlmError::Timeout(_) | LlmError::Malformed(_) | LlmError::Refused(_)
                    );
                    if !matches!(e, LlmError::Refused(_)) {
                        let again = if stand_in { "; the model is tried again on the next ingest" } else { "" };
                        tracing::warn!(episode = %episode.title, "{e}; offline engine used{again}");
                    }
                    Extraction { insights: self.fallback(episode, transcript, corpus), stand_in }
                }
            }
        })
    }

    fn can_retry(&self) -> bool {
        self.llm.check_key(super::Endpoint::Chat).is_ok()
    }
}

impl LlmExtractor {
    fn fallback(&self, episode: &Episode, transcript: &Transcript, corpus: &Corpus) -> Vec<Insight> {
        self.llm.count(|u| u.fallbacks += 1);
        self.offline.extract_now(episode, transcript, corpus)
    }

    async fn with_model(&self, episode: &Episode, transcript: &Transcript) -> Result<Vec<Insight>, LlmError> {
        let system = system_prompt(self.offline.config.candidates_per_episode);
        let prompts: Vec<String> =
            chunks(transcript, self.llm.config.chunk_tokens).iter().map(|c| user_prompt(episode, c)).collect();
        // A transcript far longer than any episode (a feed's whole archive in one file, a
        // runaway text) would spend the day's budget on one episode, request after request.
        let tokens: usize = prompts.iter().map(|p| p.len().div_ceil(4)).sum();
        if tokens > MAX_TRANSCRIPT_TOKENS {
            return Err(LlmError::TooLong(format!(
                "the transcript is about {tokens} tokens, more than the {MAX_TRANSCRIPT_TOKENS} one episode may send"
            )));
        }
        // Keyed by what would be sent: a transcript that came later (a linked one after the show
        // notes), another prompt or another model is asked anew, never answered from the cache.
        let key_of = |parts: &[&String]| {
            use sha2::{Digest, Sha256};
            let mut h = Sha256::new();
            for part in [&self.llm.config.model, &system].into_iter().chain(parts.iter().copied()) {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
            format!("{}:{}", episode.id, crate::http::hex(&h.finalize()[..12]))
        };
        let cache_key = key_of(&prompts.iter().collect::<Vec<_>>());
        let raw: Vec<RawInsight> = match self.llm.store().llm_cache(&cache_key)? {
            Some(v) => serde_json::from_value(v).map_err(|e| LlmError::Malformed(e.to_string()))?,
            None => {
                self.llm.check_episodes()?;
                let mut all = Vec::new();
                // Each chunk's answer is kept as it comes: when a later chunk fails, the next
                // attempt pays only for the chunks still missing.
                let mut chunk_keys = Vec::new();
                for prompt in &prompts {
                    let chunk_key = format!("{}:chunk", key_of(&[prompt]));
                    let kept = self.llm.store().llm_cache(&chunk_key)?.and_then(|v| read_insights(v).ok());
                    let insights = match kept {
                        Some(insights) => insights,
                        None => {
                            let value = self.llm.chat_json(&system, prompt, "insights", schema()).await?;
                            // Kept only once read: a malformed answer is not kept to fail again.
                            let insights = read_insights(value.clone())?;
                            self.llm.store().put_llm_cache(&chunk_key, &value)?;
                            insights
                        }
                    };
                    all.extend(insights);
                    chunk_keys.push(chunk_key);
                }
                self.llm.store().put_llm_cache(&cache_key, &serde_json::to_value(&all).unwrap_or_default())?;
                // The whole episode's answer is kept: its chunks' are not needed any more.
                for chunk_key in &chunk_keys {
                    self.llm.store().remove_llm_cache(chunk_key)?;
                }
                self.llm.count(|u| u.episodes += 1);
                all
            }
        };
        let mut insights = self.verify_and_reduce(episode, transcript, raw);
        if self.llm.config.embedding_model.is_some() && !insights.is_empty() {
            let texts: Vec<String> = insights.iter().map(|i| i.text.clone()).collect();
            match self.llm.embed(&texts).await {
                Ok(vectors) => insights.iter_mut().zip(vectors).for_each(|(i, v)| i.embedding = Some(v)),
                // Without embeddings the digest clusters by words, as the offline engine does.
                Err(e) => tracing::warn!(episode = %episode.title, "embeddings failed ({e}); lexical clustering"),
            }
        }
        Ok(insights)
    }

    /// Keeps the insights whose quote is in the transcript (timed from where it was found),
    /// merges near-duplicates from overlapping chunks, and keeps the most important.
    fn verify_and_reduce(&self, episode: &Episode, transcript: &Transcript, raw: Vec<RawInsight>) -> Vec<Insight> {
        let mut kept: Vec<(RawInsight, quote::Found)> = Vec::new();
        let mut dropped = 0;
        for r in raw {
            let text_ok = !r.text.trim().is_empty() && r.text.len() <= 1000 && r.importance.is_finite();
            match quote::find_said_by(&transcript.segments, &r.quote, &r.speaker).filter(|_| text_ok) {
                Some(found) => kept.push((r, found)),
                None => dropped += 1,
            }
        }
        if dropped > 0 {
            tracing::info!(episode = %episode.title, dropped, "insights dropped: quote not in the transcript");
            self.llm.count(|u| u.dropped_quotes += dropped);
        }
        kept.sort_by(|a, b| b.0.importance.total_cmp(&a.0.importance));
        let mut out: Vec<Insight> = Vec::new();
        let mut seen: Vec<std::collections::HashSet<String>> = Vec::new();
        for (r, found) in kept {
            let t: std::collections::HashSet<String> = terms(&r.text).into_iter().collect();
            let dup = seen.iter().any(|s| {
                let inter = s.intersection(&t).count() as f64;
                inter / ((s.len() + t.len()) as f64 - inter).max(1.0) >= 0.5
            });
            // Two claims backed by the same span would share an id, the store keeping only one.
            let id = insight_id(&episode.id, &found.verbatim);
            if dup || out.iter().any(|i| i.id == id) || out.len() >= self.offline.config.candidates_per_episode {
                continue;
            }
            seen.push(t);
            let segment = &transcript.segments[found.segment];
            out.push(Insight {
                id,
                episode_id: episode.id.clone(),
                feed_url: episode.feed_url.clone(),
                podcast: episode.podcast_title.clone().unwrap_or_else(|| episode.feed_url.clone()),
                episode: episode.title.clone(),
                episode_url: episode.link.clone().or_else(|| episode.enclosure_url.clone()),
                speaker: segment.speaker.clone().or_else(|| speaker_name(&r.speaker)),
                start_seconds: (found.start_seconds * 10.0).round() / 10.0,
                text: r.text.trim().to_string(),
                quote: found.verbatim,
                score: r.importance.clamp(0.0, 10.0),
                published: episode.published_or_seen(),
                source: transcript.source,
                embedding: None,
            });
        }
        out
    }
}

fn insight_id(episode_id: &str, quote: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(episode_id.as_bytes());
    h.update(quote.as_bytes());
    crate::http::hex(&h.finalize()[..8])
}

fn system_prompt(max: usize) -> String {
    format!(
        "You are the editor of a daily digest for busy people. From the podcast transcript, pick at most {max} \
insights worth their attention: specific, substantive claims (numbers, decisions, causes, surprising comparisons), \
not intros, outros, sponsor reads, banter or questions. For each: `text`, the insight in one or two plain sentences \
that stand alone; `quote`, a span copied exactly, word for word, from the transcript that supports it (8 to 60 words, \
without the [timestamp] and speaker label); `speaker`, as labelled; `importance`, 0 to 10; `reason`, a few words. \
{UNTRUSTED}"
    )
}

fn user_prompt(episode: &Episode, chunk: &str) -> String {
    // The titles are the feed's words, as untrusted as the transcript: inside the block.
    as_data(&format!(
        "Podcast: {}\nEpisode: {}\n\n{chunk}",
        episode.podcast_title.as_deref().unwrap_or("(unknown)"),
        episode.title
    ))
}

/// The transcript as `[hh:mm:ss] Speaker: text` lines, cut into pieces of about `tokens`
/// tokens (four characters a token) at line boundaries.
pub fn chunks(transcript: &Transcript, tokens: usize) -> Vec<String> {
    let limit = tokens.saturating_mul(4).max(2000);
    let mut out = Vec::new();
    let mut current = String::new();
    for s in &transcript.segments {
        let head = format!("[{}] {}: ", hms(s.start), s.speaker.as_deref().unwrap_or("Speaker"));
        // A segment longer than a chunk (a transcript without line breaks) goes in pieces, each
        // with its time and speaker: one request must never carry a whole transcript.
        let text = s.text.replace('\n', " ");
        for piece in crate::model::split_text(&text, limit.saturating_sub(head.len() + 1).max(200), TextUnit::Bytes) {
            let line = format!("{head}{piece}\n");
            if !current.is_empty() && current.len() + line.len() > limit {
                out.push(std::mem::take(&mut current));
            }
            current.push_str(&line);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The model's name for a speaker the transcript does not label (speech-to-text never does):
/// one line of at most 80 characters, or none.
fn speaker_name(said: &str) -> Option<String> {
    let name: String =
        said.split_whitespace().collect::<Vec<_>>().join(" ").chars().filter(|c| !c.is_control()).take(80).collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transcript_without_line_breaks_still_goes_in_chunks() {
        let text = "word ".repeat(20_000) + "é".repeat(3_000).as_str();
        let t = Transcript {
            episode_id: "e".into(),
            source: crate::model::TranscriptSource::Text,
            url: None,
            fetched_at: chrono::Utc::now(),
            segments: vec![crate::model::Segment { start: 65.0, end: 90.0, speaker: None, text: text.clone() }],
        };
        let parts = chunks(&t, 1_000);
        assert!(parts.len() >= 25, "{} chunks", parts.len());
        assert!(parts.iter().all(|c| c.len() <= 4_000), "{:?}", parts.iter().map(String::len).max());
        assert!(parts.iter().all(|c| c.starts_with("[00:01:05] Speaker: ")));
        let words: usize = parts.iter().map(|c| c.split_whitespace().filter(|w| *w == "word").count()).sum();
        assert_eq!(words, 20_000, "words were lost or doubled");
    }

    #[test]
    fn a_speaker_the_model_names_is_one_short_line() {
        assert_eq!(speaker_name("  Ana\n  Lopez\u{7}  ").as_deref(), Some("Ana Lopez"));
        assert_eq!(speaker_name(" \n\t"), None);
        assert_eq!(speaker_name(&"x".repeat(5000)).map(|s| s.chars().count()), Some(80));
    }
}
