//! Delivery: who gets which digest when, through which adapter, exactly once.
//!
//! The core speaks to adapters through [`Adapter`]: it hands them platform-neutral [`Message`]s
//! to render within their declared [`Limits`] and send part by part, and it receives
//! platform-neutral [`Command`]s from them. Adapters never decide policy (schedules, retries,
//! pausing); the core never names a platform type.

pub mod commands;
pub mod fanout;
pub mod inbound;
pub mod ratelimit;
pub mod schedule;

use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::ask::Answer;
pub use crate::model::{Delivery, DeliveryState, Destination, Schedule, Subscription};
use crate::model::{Digest, DigestEntry};

/// What the core sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Digest(Digest),
    /// An answer, as a reply to the platform message that asked (when there was one).
    Answer {
        entry: Box<DigestEntry>,
        answer: Answer,
        reply_to: Option<String>,
    },
    /// Asks the reader for a question about insight `rank` of `date`; replies to this message
    /// are questions about that insight.
    AskPrompt {
        date: chrono::NaiveDate,
        rank: usize,
        text: String,
    },
    Notice(String),
}

/// One platform message of a rendered [`Message`], within the adapter's size limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// The platform payload (text or JSON, as the adapter renders it).
    pub body: String,
    /// The digest rank this part carries, so replies to it map back to that insight.
    pub rank: Option<usize>,
}

/// An adapter's declared limits; the core paces sends and renders within them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest message, in the platform's own unit (characters, UTF-16 units).
    pub max_message_len: usize,
    /// Messages per second over the whole platform.
    pub global_per_second: f64,
    /// Messages per second to one destination.
    pub per_destination_per_second: f64,
}

/// Why a send failed, as the core needs to know to decide what to do next.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// The platform asked to wait exactly this long.
    #[error("rate limited: retry after {} ms", retry_after.as_millis())]
    RateLimited { retry_after: Duration },
    /// The destination no longer exists or blocked us: pause, do not retry.
    #[error("destination gone: {0}")]
    Gone(String),
    /// Worth retrying with backoff (timeouts, 5xx).
    #[error("transient failure: {0}")]
    Transient(String),
    /// The platform refused the message itself; retrying will not help.
    #[error("refused: {0}")]
    Invalid(String),
    /// The destination moved (a Telegram group became a supergroup): send there instead.
    #[error("destination moved to {0}")]
    Moved(String),
}

/// A chat platform as the core sees it.
pub trait Adapter: Send + Sync {
    /// The platform name used in destinations (`console`, `webhook`, `telegram`, ...).
    fn platform(&self) -> &'static str;
    fn limits(&self) -> Limits;
    /// Messages per second to this destination; platforms with stricter limits for some kinds
    /// of chat (Telegram groups) override it.
    fn per_destination_rate(&self, _to: &Destination) -> f64 {
        self.limits().per_destination_per_second
    }
    /// Renders a message into parts that each fit `limits().max_message_len`.
    fn render(&self, message: &Message) -> Vec<Part>;
    /// Sends one part; `idempotency_key` is the same when the same part is sent again after a
    /// crash, for platforms that can use it to drop the duplicate. Returns the platform's
    /// message id.
    fn send<'a>(
        &'a self,
        to: &'a Destination,
        part: &'a Part,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<String, SendError>>;
}

/// What a reader or operator asks of podsift through an adapter. `admin` says whether the
/// sender administers the group the destination is (None in private chats): the core decides
/// what needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Subscribe {
        destination: Destination,
        schedule: Option<Schedule>,
        created_by: String,
        admin: Option<bool>,
    },
    Unsubscribe {
        destination: Destination,
        admin: Option<bool>,
    },
    SetSchedule {
        destination: Destination,
        schedule: Schedule,
        admin: Option<bool>,
    },
    DigestNow {
        destination: Destination,
    },
    /// A question about `reference` (`N` or `YYYY-MM-DD#N`); `reply_to` is the platform id of
    /// the message that asked, so the answer can reply to it.
    Ask {
        destination: Destination,
        reference: String,
        question: String,
        reply_to: Option<String>,
    },
    /// The reader pressed "Ask" under an insight: prompt for the question.
    PromptQuestion {
        destination: Destination,
        reference: String,
    },
    Feedback {
        destination: Destination,
        insight: String,
        up: bool,
    },
    Help {
        destination: Destination,
    },
}

impl Command {
    pub fn destination(&self) -> &Destination {
        match self {
            Command::Subscribe { destination, .. }
            | Command::Unsubscribe { destination, .. }
            | Command::SetSchedule { destination, .. }
            | Command::DigestNow { destination }
            | Command::Ask { destination, .. }
            | Command::PromptQuestion { destination, .. }
            | Command::Feedback { destination, .. }
            | Command::Help { destination } => destination,
        }
    }
}

impl Subscription {
    /// The digest as this subscriber wants it: muted podcasts and unmatched keywords dropped,
    /// the rest renumbered.
    pub fn filter(&self, digest: &Digest) -> Digest {
        let mut d = digest.clone();
        let lower = |s: &str| s.to_lowercase();
        d.insights.retain(|e| {
            (self.only_podcasts.is_empty() || self.only_podcasts.iter().any(|p| lower(p) == lower(&e.podcast)))
                && !self.mute_podcasts.iter().any(|p| lower(p) == lower(&e.podcast))
                && (self.keywords.is_empty() || self.keywords.iter().any(|k| lower(&e.text).contains(&lower(k))))
        });
        for (i, e) in d.insights.iter_mut().enumerate() {
            e.rank = i + 1;
        }
        d
    }
}
