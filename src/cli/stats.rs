//! `podsift stats`: what the LLM engine used per day.

use anyhow::Result;

use podsift::store::Store;

use super::args::Output;
use super::output::print_json;

/// `podsift stats`: what the LLM engine did, per day.
pub fn stats(store: &Store, out: Output) -> Result<()> {
    let days = store.llm_usage_all()?;
    if out.json {
        let map: serde_json::Map<String, serde_json::Value> =
            days.into_iter().map(|(d, u)| (d, serde_json::to_value(u).unwrap_or_default())).collect();
        return print_json(&map);
    }
    if days.is_empty() {
        outln!("No LLM use recorded (llm.base_url is not set, or nothing was processed yet).");
    }
    for (day, u) in days {
        outln!(
            "{day}: {} requests, {} tokens ({} prompt, {} completion), {} episodes, {} quotes dropped, {} offline fallbacks, {} transcriptions, {} editor passes ({} fell back to local ranking)",
            u.requests,
            u.tokens(),
            u.prompt_tokens,
            u.completion_tokens,
            u.episodes,
            u.dropped_quotes,
            u.fallbacks,
            u.transcriptions,
            u.edits,
            u.edit_fallbacks
        );
    }
    Ok(())
}
