//! The config file: any TOML text is read and validated into a config or an error naming the
//! problem, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(config) = podsift::config::Config::parse(text, std::path::Path::new("fuzz.toml")) {
            // What the service reads from a valid config at start must be readable too.
            let _ = config.digest.tz();
        }
    }
});
