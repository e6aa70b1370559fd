//! Counts kept between runs: document frequencies of the terms in a collection (how rare a
//! word is, for ranking), and what the LLM engine did each day (for budgets and `podsift stats`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Document frequencies over a collection (episodes, passages or candidates).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Corpus {
    pub docs: u64,
    pub df: HashMap<String, u64>,
}

/// What the model did today, kept in the store and shown by `podsift stats` and /metrics.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Usage {
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Episodes whose insights the model wrote.
    pub episodes: u64,
    /// Insights dropped because their quote is not in the transcript.
    pub dropped_quotes: u64,
    /// Episodes or questions handed to the offline engine (failure or budget).
    pub fallbacks: u64,
    pub transcriptions: u64,
    /// Daily editor passes the digest followed, and those that fell back to local ranking.
    #[serde(default)]
    pub edits: u64,
    #[serde(default)]
    pub edit_fallbacks: u64,
}
