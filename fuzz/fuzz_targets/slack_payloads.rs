//! Slack's inbound payloads: Events API bodies and interaction payloads as JSON values (how the
//! HTTP routes read them) and as slack-morphism's Socket Mode types, slash-command forms, the
//! mention stripping and command parsing after them, and the request signature check with the
//! timestamp header taken from the input.
#![no_main]

use axum::http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use podsift::adapters::slack::PREFIX;
use podsift::adapters::slack::inbound::{form, strip_mentions, verify};
use podsift::deliver::commands;
use slack_morphism::prelude::{SlackCommandEvent, SlackInteractionEvent, SlackPushEvent};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The signed request: first line the timestamp header, the rest the body.
    let (timestamp, body) = text.split_once('\n').unwrap_or((&text, ""));
    if let Ok(ts) = HeaderValue::from_str(timestamp) {
        let mut headers = HeaderMap::new();
        headers.insert("x-slack-request-timestamp", ts);
        headers.insert("x-slack-signature", HeaderValue::from_static("v0=00"));
        let _ = verify("secret", &headers, body.as_bytes(), 1_764_316_800);
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = strip_mentions(v["event"]["text"].as_str().unwrap_or(""));
        let _ = v["view"]["private_metadata"].as_str().map(|m| m.splitn(4, '|').count());
    }
    let _ = serde_json::from_slice::<SlackPushEvent>(data);
    let _ = serde_json::from_slice::<SlackInteractionEvent>(data);
    let _ = serde_json::from_slice::<SlackCommandEvent>(data);
    let fields = form(data);
    let _ = strip_mentions(&text);
    if let Some(p) = fields.get("payload") {
        let _ = serde_json::from_str::<serde_json::Value>(p);
    }
    let typed = fields.get("text").map(|t| t.trim()).unwrap_or("");
    let (name, args) = typed.split_once(char::is_whitespace).unwrap_or((typed, ""));
    let _ = commands::parse(if name.is_empty() { "help" } else { name }, args, PREFIX);
});
