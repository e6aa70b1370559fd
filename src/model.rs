//! The records podsift keeps: feeds, episodes and their transcripts.
//!
//! Plain data shared by every stage. Nothing here knows how it is stored (that is `store`) or
//! where it came from (that is `ingest`); changing a field here means bumping the record version
//! in `store` when old records can no longer be read as they are.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A subscribed feed and what podsift knows about fetching it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Feed {
    /// The URL (or local path) the operator added; the feed's identity.
    pub url: String,
    /// Where to fetch it from now: differs from `url` after a permanent redirect.
    pub fetch_url: String,
    pub title: Option<String>,
    pub added_at: DateTime<Utc>,
    /// Validators from the last successful fetch, sent back for a conditional GET.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_fetch_at: Option<DateTime<Utc>>,
    pub last_ok_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    /// No fetch before this time (exponential backoff or the server's Retry-After).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl Feed {
    pub fn new(url: &str, now: DateTime<Utc>) -> Feed {
        Feed {
            url: url.to_string(),
            fetch_url: url.to_string(),
            added_at: now,
            ..Feed::default()
        }
    }
}

/// A `podcast:transcript` link as the feed declared it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TranscriptLink {
    pub url: String,
    /// The declared MIME type, lower-cased (`text/vtt`, `application/json`, ...).
    pub mime: String,
    pub language: Option<String>,
    pub rel: Option<String>,
}

/// A `podcast:person` credit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub role: Option<String>,
}

/// One episode of a feed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Episode {
    /// Stable identity: derived from the feed URL and the guid (or enclosure + title + date).
    pub id: String,
    pub feed_url: String,
    pub podcast_title: Option<String>,
    /// The feed's guid for the item, when it had one.
    pub guid: Option<String>,
    pub title: String,
    pub link: Option<String>,
    pub enclosure_url: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub duration_secs: Option<u64>,
    /// Show notes as plain text (HTML stripped), capped in size.
    pub show_notes: String,
    pub transcripts: Vec<TranscriptLink>,
    pub chapters_url: Option<String>,
    pub persons: Vec<Person>,
    pub first_seen_at: DateTime<Utc>,
    pub transcript: TranscriptStatus,
}

/// Where an episode's transcript stands.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TranscriptStatus {
    /// Not fetched yet.
    Pending,
    Stored {
        source: TranscriptSource,
        bytes: u64,
        segments: usize,
    },
    /// Every way of getting a transcript failed; `attempts` counts ingests that tried.
    Failed { error: String, attempts: u32 },
}

/// Which format a transcript was read from; later stages weigh show notes lower.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptSource {
    Json,
    Vtt,
    Srt,
    Html,
    Text,
    ShowNotes,
    SpeechToText,
}

impl TranscriptSource {
    pub fn label(self) -> &'static str {
        match self {
            TranscriptSource::Json => "json",
            TranscriptSource::Vtt => "vtt",
            TranscriptSource::Srt => "srt",
            TranscriptSource::Html => "html",
            TranscriptSource::Text => "text",
            TranscriptSource::ShowNotes => "show notes",
            TranscriptSource::SpeechToText => "speech-to-text",
        }
    }
}

/// One stretch of speech: who said what, and when (seconds from the start of the episode).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub speaker: Option<String>,
    pub text: String,
}

/// An episode's transcript as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Transcript {
    pub episode_id: String,
    pub source: TranscriptSource,
    /// Where it came from (the transcript URL, or the feed for show notes).
    pub url: Option<String>,
    pub fetched_at: DateTime<Utc>,
    pub segments: Vec<Segment>,
}

impl Transcript {
    pub fn word_count(&self) -> usize {
        self.segments
            .iter()
            .map(|s| s.text.split_whitespace().count())
            .sum()
    }
}
