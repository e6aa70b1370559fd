//! Feed documents: both passes of `parse_feed` (feed-rs and the lenient quick-xml reader) on
//! any bytes, as fetched from a feed's address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsift::ingest::feed::{MAX_SHOW_NOTES_CHARS, parse_feed};

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys's panic hook aborts on any panic, also one parse_feed contains by design
    // (feed-rs's, after which the lenient pass reads the items); with the default hook back, a
    // panic that escapes parse_feed still ends the run as a crash.
    static DEFAULT_HOOK: std::sync::Once = std::sync::Once::new();
    DEFAULT_HOOK.call_once(|| drop(std::panic::take_hook()));
    if let Ok(feed) = parse_feed(data, "https://podcast.example/feed.xml") {
        for ep in &feed.episodes {
            assert!(ep.show_notes.chars().count() <= MAX_SHOW_NOTES_CHARS);
        }
    }
});
