//! The model's JSON answers: message content read as JSON, then as insights or as an answer
//! with citations, and every quote checked against a transcript. The input is the transcript
//! text, a NUL byte, then the model's message; whatever the check accepts must be words of the
//! transcript.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsift::ingest::transcript;
use podsift::llm::{answer, extract, quote, read_json};
use podsift::model::{Segment, TranscriptSource};

fn check(segments: &[Segment], q: &str) {
    if let Some(found) = quote::find(segments, q) {
        assert!(found.segment < segments.len());
        let all: String = segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
        assert!(all.contains(&found.verbatim), "{:?} not in the transcript", found.verbatim);
        assert!(found.start_seconds.is_finite());
    }
}

fuzz_target!(|data: &[u8]| {
    let (said, content) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"So, um, caching at the edge cut our p99 latency by forty percent."[..], data),
    };
    let segments = transcript::parse(TranscriptSource::Text, said).unwrap_or_default();
    let Ok(value) = read_json(&String::from_utf8_lossy(content)) else { return };
    if let Ok(insights) = extract::read_insights(value.clone()) {
        for i in &insights {
            check(&segments, &i.quote);
        }
    }
    if let Ok(a) = answer::read_answer(value) {
        for c in &a.citations {
            check(&segments, &c.quote);
        }
    }
});
