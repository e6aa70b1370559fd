//! Chat commands as typed (`/ask 2 why?`) and as platforms hand them over (name and argument
//! text apart, with the platform's prefix).
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsift::deliver::commands::{parse, parse_line};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_line(&text);
    let (name, args) = text.split_once('\n').unwrap_or((&text, ""));
    for prefix in ["/", "/podsift "] {
        if let Err(e) = parse(name, args, prefix) {
            assert!(!e.is_empty());
        }
    }
});
