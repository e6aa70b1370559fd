//! The Podcasting 2.0 JSON transcript: `{version, segments: [{speaker, startTime, endTime, body}]}`,
//! often one word per segment; words are merged into sentences per speaker.

use serde::Deserialize;

use super::{TranscriptError, WORDS_PER_SECOND};
use crate::model::Segment;

#[derive(Deserialize)]
struct Doc {
    segments: Vec<RawSegment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSegment {
    #[serde(default)]
    speaker: Option<String>,
    #[serde(default)]
    start_time: Option<f64>,
    #[serde(default)]
    end_time: Option<f64>,
    #[serde(default)]
    body: String,
}

/// A pause longer than this starts a new segment even mid-sentence.
const MAX_GAP_SECS: f64 = 2.0;
/// Sentences are cut after this many words even without punctuation (unpunctuated ASR).
const MAX_WORDS: usize = 60;

pub fn parse(text: &str) -> Result<Vec<Segment>, TranscriptError> {
    let doc: Doc =
        serde_json::from_str(text).map_err(|e| TranscriptError::Invalid { format: "json", reason: e.to_string() })?;
    let mut out: Vec<Segment> = Vec::new();
    let mut words_in_current = 0usize;
    let mut last_time = 0.0f64;
    for raw in doc.segments {
        let body = raw.body.trim();
        if body.is_empty() {
            continue;
        }
        let start = raw.start_time.filter(|t| t.is_finite() && *t >= 0.0).unwrap_or(last_time);
        let n_words = body.split_whitespace().count();
        let end =
            raw.end_time.filter(|e| e.is_finite() && *e >= start).unwrap_or(start + n_words as f64 / WORDS_PER_SECOND);
        last_time = end;
        let speaker = raw.speaker.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        if let Some(cur) = out.last_mut() {
            let sentence_open = !cur.text.ends_with(['.', '?', '!', '…']);
            let same_speaker = speaker.is_none() || speaker == cur.speaker;
            if sentence_open && same_speaker && start - cur.end <= MAX_GAP_SECS && words_in_current < MAX_WORDS {
                cur.text.push(' ');
                cur.text.push_str(body);
                cur.end = end;
                words_in_current += n_words;
                continue;
            }
        }
        let speaker = speaker.or_else(|| out.last().and_then(|s| s.speaker.clone()));
        out.push(Segment { start, end, speaker, text: body.to_string() });
        words_in_current = n_words;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_merge_into_sentences_per_speaker() {
        let json = r#"{"version":"1.0.0","segments":[
          {"speaker":"Darth Vader","startTime":0.5,"endTime":0.75,"body":"I"},
          {"speaker":"Darth Vader","startTime":1,"endTime":1.25,"body":"am"},
          {"speaker":"Darth Vader","startTime":1.5,"endTime":2.0,"body":"your"},
          {"speaker":"Darth Vader","startTime":2.25,"endTime":2.50,"body":"father."},
          {"speaker":"Luke","startTime":2.75,"endTime":3.0,"body":"Nooooo"}]}"#;
        let segs = parse(json).unwrap();
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[0].text, "I am your father.");
        assert_eq!((segs[0].start, segs[0].end), (0.5, 2.5));
        assert_eq!(segs[1].speaker.as_deref(), Some("Luke"));
    }

    #[test]
    fn malformed_json_is_an_error() {
        assert!(matches!(parse("{\"segments\": 3}"), Err(TranscriptError::Invalid { .. })));
    }
}
