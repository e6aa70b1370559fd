//! Speech-to-text answers (Whisper-style verbose JSON) as a server may send them: read into
//! segments on the episode's clock, or refused. Whatever is read has text and finite times in
//! order, however wild the numbers sent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsift::llm::transcribe::read_verbose;

fuzz_target!(|data: &[u8]| {
    let offset = 600.0;
    if let Ok((segments, length)) = read_verbose(data, offset) {
        assert!(length.is_finite() && length >= 0.0, "length {length}");
        for s in &segments {
            assert!(!s.text.trim().is_empty());
            assert!(s.start.is_finite() && s.end.is_finite() && s.start >= offset && s.end >= s.start, "{s:?}");
        }
    }
});
