//! OPML imports: any text gives feeds or a clear error, and the feeds are distinct and non-empty.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(feeds) = podsift::ingest::opml::parse(&text) {
        for (i, f) in feeds.iter().enumerate() {
            assert!(!f.url.is_empty());
            assert!(feeds[..i].iter().all(|g| g.url != f.url));
        }
    }
});
