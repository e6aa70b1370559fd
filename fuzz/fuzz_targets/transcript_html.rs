//! HTML transcripts: what `transcript::parse` makes of any bytes, and the shape it promises
//! (times finite, ordered, every segment ending after it starts, no empty text).
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsift::ingest::transcript::parse;
use podsift::model::TranscriptSource;

fuzz_target!(|data: &[u8]| {
    if let Ok(segments) = parse(TranscriptSource::Html, data) {
        assert!(!segments.is_empty());
        for (i, s) in segments.iter().enumerate() {
            assert!(s.start.is_finite() && s.start >= 0.0, "start {}", s.start);
            assert!(s.end.is_finite() && s.end >= s.start, "{} .. {}", s.start, s.end);
            assert!(!s.text.trim().is_empty());
            if let Some(next) = segments.get(i + 1) {
                assert!(next.start >= s.start);
            }
        }
    }
});
