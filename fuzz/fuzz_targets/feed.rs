//! Feed documents: both passes of `parse_feed` (feed-rs and the lenient quick-xml reader) on
//! any bytes, as fetched from a feed's address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsift::ingest::feed::{MAX_SHOW_NOTES_CHARS, parse_feed};

fuzz_target!(|data: &[u8]| {
    if let Ok(feed) = parse_feed(data, "https://podcast.example/feed.xml") {
        for ep in &feed.episodes {
            assert!(ep.show_notes.chars().count() <= MAX_SHOW_NOTES_CHARS);
        }
    }
});
