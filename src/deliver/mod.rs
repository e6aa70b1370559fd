//! Delivery: who gets which digest when, through which adapter, exactly once.
//!
//! The core speaks to adapters through [`Adapter`]: it cuts platform-neutral [`Message`]s into
//! [`Part`]s within their declared [`Limits`], which the adapter renders natively and sends one
//! by one; it receives platform-neutral [`Request`]s from them, acknowledged at once by the
//! adapter and answered later through [`commands::Core`], as a reply to the request's opaque
//! [`ReplyTarget`]. Adapters never decide policy (schedules, retries, pausing) and never touch
//! the store; the core never names a platform type.

pub mod commands;
pub mod fanout;
pub mod inbound;
pub mod parts;
pub mod podcasts;
pub mod ratelimit;
pub mod schedule;

use std::time::Duration;

use chrono::NaiveDate;
use futures_util::future::BoxFuture;

use crate::ask::Answer;
pub use crate::model::{Delivery, DeliveryState, Destination, Schedule, Subscription, TextUnit};
use crate::model::{Digest, DigestEntry};

/// Where an answer goes within a destination, in the adapter's own terms: the message to reply
/// to (Telegram), the thread (Slack), the thread or interaction token (Discord). The core only
/// carries it from a [`Request`] to the reply; each adapter writes and reads its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplyTarget(pub String);

/// Who sent a request, as the platform told the adapter.
#[derive(Debug, Clone, PartialEq)]
pub struct Sender {
    /// `platform:user-id`, recorded as a subscription's creator.
    pub id: String,
    /// Whether the sender may manage this chat or channel (subscribe it, change its time), as
    /// the platform says; None where everyone may (a private chat, the console).
    pub can_manage: Option<bool>,
}

impl Sender {
    /// A sender who may do everything here (private chats, the console).
    pub fn owner(id: &str) -> Sender {
        Sender { id: id.to_string(), can_manage: None }
    }
}

/// A command with its context: where it came from, who sent it, and where the answer goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub destination: Destination,
    pub sender: Sender,
    pub reply_to: Option<ReplyTarget>,
    /// Where the asker alone is told what is not the digest itself (a refusal, a wait, what the
    /// digest asked for stands for), when the digest goes where everyone reads it; None: told
    /// with `reply_to`.
    pub notice_to: Option<ReplyTarget>,
    pub command: Command,
}

impl Request {
    /// A request answered where it came from (the console, a private chat, a test).
    pub fn new(destination: Destination, sender: Sender, command: Command) -> Request {
        Request { destination, sender, reply_to: None, notice_to: None, command }
    }
}

/// What a reader or operator asks of podsift, in any platform's words.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Subscribe this destination; without a schedule the operator's default time.
    Subscribe {
        schedule: Option<Schedule>,
    },
    Unsubscribe,
    SetSchedule {
        schedule: Schedule,
    },
    /// What this destination gets and when: its time, whether it is paused, its podcasts and
    /// the operator's filters.
    Settings,
    DigestNow,
    /// A question about `reference` (`N` or `YYYY-MM-DD#N`).
    Ask {
        reference: String,
        question: String,
    },
    /// A question written in reply to (or in the thread of) a message podsift sent: the platform
    /// message id says which insight it is about.
    AskAbout {
        message_id: String,
        question: String,
    },
    /// The reader pressed "Ask" under an insight: prompt for the question.
    PromptQuestion {
        reference: String,
    },
    Feedback {
        insight: String,
        up: bool,
    },
    /// This destination's podcasts.
    Podcasts,
    /// Add a podcast: a feed address, a number from the last search, or words to search for.
    PodcastsAdd {
        query: String,
    },
    /// Remove podcast `n` of the list.
    PodcastsRemove {
        n: usize,
    },
    Help,
}

/// What the core sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Digest(Digest),
    /// An answer about insight `entry.rank` of `date`.
    Answer {
        date: NaiveDate,
        entry: Box<DigestEntry>,
        answer: Answer,
    },
    /// Asks the reader for a question about insight `rank` of `date`; a reply to this message is
    /// a question about that insight.
    AskPrompt {
        date: NaiveDate,
        rank: usize,
    },
    Notice(String),
    /// Text with options to pick, each a button where the platform has them.
    Choices {
        text: String,
        choices: Vec<Choice>,
    },
}

/// An option a reader picks with a button: pressing it is the same as typing `command` (written
/// without the platform's prefix: `podcasts add 2`).
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub label: String,
    pub command: String,
}

impl Choice {
    /// The command a button stands for, as the core parses it; Err for a button podsift never
    /// made.
    pub fn parse(command: &str, prefix: &str) -> Result<Command, String> {
        let command = command.trim();
        let (name, args) = command.split_once(char::is_whitespace).unwrap_or((command, ""));
        commands::parse(name, args, prefix)
    }
}

/// One platform message of a [`Message`], as structured content the adapter renders natively
/// (Telegram HTML, Discord embeds, Slack Block Kit, JSON). The core cuts messages into parts
/// and paces and records them one by one.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Opens a digest.
    DigestHeader {
        date: NaiveDate,
        count: usize,
        candidates: usize,
        episodes: usize,
    },
    /// One insight of a digest of `total`.
    Entry {
        date: NaiveDate,
        total: usize,
        entry: Box<DigestEntry>,
    },
    Answer {
        date: NaiveDate,
        entry: Box<DigestEntry>,
        answer: Answer,
    },
    Prompt {
        date: NaiveDate,
        rank: usize,
    },
    /// Plain text within the adapter's declared message length.
    Text(String),
    /// Text (within the declared length) with options to pick.
    Choices {
        text: String,
        choices: Vec<Choice>,
    },
}

impl Part {
    /// The insight (date, rank) this part is about, so that replies to it map back.
    pub fn insight(&self) -> Option<(NaiveDate, usize)> {
        match self {
            Part::Entry { date, entry, .. } => Some((*date, entry.rank)),
            Part::Answer { date, entry, .. } => Some((*date, entry.rank)),
            Part::Prompt { date, rank } => Some((*date, *rank)),
            Part::DigestHeader { .. } | Part::Text(_) | Part::Choices { .. } => None,
        }
    }
}

/// An adapter's declared limits; the core paces sends and splits text within them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Longest plain text of one message, in `unit`s.
    pub max_message_len: usize,
    pub unit: TextUnit,
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
    /// The destination now lives under another id on the same platform (a chat upgraded or
    /// converted): its subscription and the rest of the message follow it there.
    #[error("destination moved to {0}")]
    Moved(String),
    /// A reader's digest met the chat's scheduled one under the id the chat moved to: that one
    /// is what the chat gets.
    // Not named in the message: a destination's id can be a secret (a webhook's address).
    #[error("a digest is being sent where the chat moved, right now")]
    Busy(Destination),
}

impl SendError {
    /// The error with a platform's wait held to what podsift believes of any server (a week):
    /// a Retry-After of ages would otherwise overflow the sums and dates it goes into.
    pub fn bounded(self) -> SendError {
        match self {
            SendError::RateLimited { retry_after } => {
                SendError::RateLimited { retry_after: retry_after.min(crate::http::MAX_RETRY_AFTER) }
            }
            other => other,
        }
    }
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
    /// Which destinations share one per-destination limit: each its own, unless the platform
    /// counts several together (the topics of one Telegram group).
    fn rate_key(&self, to: &Destination) -> String {
        to.key()
    }
    /// How commands are typed on this platform: `/` (`/ask 2 why?`) or `/podsift ` for a single
    /// slash command with subcommands. Help texts and usage examples are written with it.
    fn command_prefix(&self) -> &'static str {
        "/"
    }
    /// How a reader asks about an insight here, for the help text's last line.
    fn how_to_ask(&self) -> &'static str {
        REPLY_TO_ASK
    }
    /// The parts a message is sent as. Platforms that show no digest header drop it here.
    fn parts(&self, message: &Message) -> Vec<Part> {
        parts::split(message, &self.limits())
    }
    /// Renders and sends one part, as a reply to `reply_to` when given. `idempotency_key` is the
    /// same when the same part is sent again after a crash, for platforms that can use it to
    /// drop the duplicate. `again` says this part may have reached the destination already: an
    /// earlier try got no answer, failed part-way, or was cut off by a stop or a crash of an
    /// earlier process. A platform that takes no idempotency key but can be read looks for it
    /// there before posting. Returns the platform's message id.
    fn send<'a>(
        &'a self,
        to: &'a Destination,
        part: &'a Part,
        reply_to: Option<&'a ReplyTarget>,
        idempotency_key: &'a str,
        again: bool,
    ) -> BoxFuture<'a, Result<String, SendError>>;
}

/// A podcast's title as `--only` and `--mute` compare it: case aside, and with character
/// references decoded, so a filter written as a feed once spelled its title ("Q&amp;A", "Don’t")
/// still matches the title as read now ("Q&A", "Don't"), and the other way round.
pub fn podcast_name_key(title: &str) -> String {
    crate::ingest::transcript::html::decode_entities(title.trim())
        .chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' => '\'',
            '\u{201c}' | '\u{201d}' => '"',
            c => c,
        })
        .collect::<String>()
        .to_lowercase()
}

/// What `shown` (a chat's copy of `full`) took from `full`'s reserve: (insight id, text).
pub fn reserve_points(full: &Digest, shown: &Digest) -> Vec<(String, String)> {
    let top: std::collections::HashSet<&str> = full.insights.iter().map(|e| e.id.as_str()).collect();
    shown.insights.iter().filter(|e| !top.contains(e.id.as_str())).map(|e| (e.id.clone(), e.text.clone())).collect()
}

/// How a reader asks about an insight where a reply to its message is a question.
pub const REPLY_TO_ASK: &str = "Or reply to one of the insights with your question.";

impl Subscription {
    /// The digest as this subscriber wants it: muted podcasts, unmatched keywords and what
    /// `earlier` (its outbox records) says reached it on another day dropped, the rest
    /// renumbered.
    ///
    /// A digest leaves out what its podcast list's readers were sent, but a chat that changed
    /// its list (a podcast added) draws on another list's digests: yesterday's insights of a
    /// podcast on both lists would come to it again.
    /// (A record of a later day counts too: a chat that moved its timezone west, or a day
    /// caught up after the next was sent.)
    /// The digest's reserve fills in for what is left out, up to the digest's own size, each
    /// from an episode the chat's copy does not show yet.
    /// A point the chat was shown from a reserve in the `novelty_days` before is left out in
    /// other words too: the digest's novelty only knows the points its top showed everyone.
    pub fn filter(&self, digest: &Digest, earlier: &[Delivery], novelty_days: u64, size: usize) -> Digest {
        let mut d = digest.clone();
        let lower = |s: &str| s.to_lowercase();
        let sent: std::collections::HashSet<&str> =
            earlier.iter().filter(|r| r.date != digest.date).flat_map(Delivery::sent_insights).collect();
        let since = digest.date - chrono::Duration::days(novelty_days as i64);
        let seen: Vec<&str> = earlier
            .iter()
            .filter(|r| r.date < digest.date && r.date >= since)
            .flat_map(Delivery::reserve_points_sent)
            .collect();
        let wanted = |e: &&DigestEntry| {
            let podcast = podcast_name_key(&e.podcast);
            !sent.contains(e.id.as_str())
                && !seen.iter().any(|p| crate::insight::cluster::same_point(p, &e.text))
                && (self.only_podcasts.is_empty() || self.only_podcasts.iter().any(|p| podcast_name_key(p) == podcast))
                && !self.mute_podcasts.iter().any(|p| podcast_name_key(p) == podcast)
                && (self.keywords.is_empty() || self.keywords.iter().any(|k| lower(&e.text).contains(&lower(k))))
        };
        d.insights = digest.insights.iter().filter(wanted).cloned().collect();
        // One size for the day's own, what was carried and the reserve: the digest's own count;
        // with insights carried, the configured size where that is larger (a thin day).
        let size = if digest.carried.is_empty() { digest.insights.len() } else { size.max(digest.insights.len()) };
        d.insights = self.with_missed(d.insights, digest, earlier, &wanted, size);
        for e in digest.reserve.iter().filter(wanted) {
            if d.insights.len() >= size {
                break;
            }
            let repeats = |shown: &DigestEntry| {
                shown.episode_id == e.episode_id || crate::insight::cluster::same_point(&shown.text, &e.text)
            };
            if !d.insights.iter().any(repeats) {
                d.insights.push(e.clone());
            }
        }
        d.reserve.clear();
        d.carried.clear();
        for (i, e) in d.insights.iter_mut().enumerate() {
            e.rank = i + 1;
        }
        d
    }

    /// The day's insights for this chat (`own`, in the digest's order) with the carried ones it
    /// missed: those of the list's digests of the days since its last digest (sent, or still
    /// under way) and since the first day it was owed one, which reached it on no other day.
    /// Each competes on its score on its own day times [`OLDEST_RECENCY`] (older than anything
    /// of the day's own window), without moving the day's own out of their order; one point an
    /// episode, no point twice, up to `size`.
    ///
    /// [`OLDEST_RECENCY`]: crate::insight::digest::OLDEST_RECENCY
    fn with_missed(
        &self,
        own: Vec<DigestEntry>,
        digest: &Digest,
        earlier: &[Delivery],
        wanted: &dyn Fn(&&DigestEntry) -> bool,
        size: usize,
    ) -> Vec<DigestEntry> {
        // A day's digest reached the chat, or still will: sent, or some of it; or the day before's
        // still being tried (a retry, a finish after a stop). An older one that failed, or one
        // paused as gone, never will.
        let reached = |r: &&Delivery| match &r.state {
            DeliveryState::Sent { .. } => true,
            _ if r.sent.iter().any(|(_, id)| crate::model::delivered(id)) => true,
            DeliveryState::Pending => r.date.succ_opt() == Some(digest.date),
            DeliveryState::Failed { error } => {
                r.date.succ_opt() == Some(digest.date) && !error.starts_with(fanout::GONE)
            }
            DeliveryState::Skipped { .. } => false,
        };
        // A day the chat was sent none of that day's own insights (a digest kept for what it
        // carried, the day's own coming with a later ingest) did not bring them: still owed.
        // (A day's record that showed nothing yet, still waiting or being tried, is judged above.)
        let showed_own = |r: &&Delivery| {
            let mut own = digest.carried.iter().filter(|c| c.date == r.date).map(|c| c.entry.id.as_str()).peekable();
            r.shown.is_empty() || own.peek().is_none() || own.any(|id| r.shown.iter().any(|s| s == id))
        };
        let last =
            earlier.iter().filter(|r| r.date < digest.date).filter(reached).filter(showed_own).map(|r| r.date).max();
        let from = last.and_then(|d| d.succ_opt()).map_or(self.first_owed(), |d| d.max(self.first_owed()));
        let mut missed: Vec<&DigestEntry> = digest
            .carried
            .iter()
            .filter(|c| c.date >= from && c.date < digest.date)
            .map(|c| &c.entry)
            .filter(wanted)
            .collect();
        if missed.is_empty() {
            return own;
        }
        missed.sort_by(|a, b| b.score.total_cmp(&a.score));
        let old = crate::insight::digest::OLDEST_RECENCY;
        let mut taken: Vec<&DigestEntry> = Vec::new();
        for e in missed {
            let repeats = |shown: &&DigestEntry| {
                shown.episode_id == e.episode_id || crate::insight::cluster::same_point(&shown.text, &e.text)
            };
            if !own.iter().any(|o| repeats(&o)) && !taken.iter().any(repeats) {
                taken.push(e);
            }
        }
        let mut out = Vec::new();
        let (mut own, mut taken) = (own.into_iter().peekable(), taken.into_iter().peekable());
        while out.len() < size {
            let carried_first = match (own.peek(), taken.peek()) {
                (Some(o), Some(c)) => c.score * old > o.score,
                (None, Some(_)) => true,
                (_, None) => false,
            };
            match if carried_first { taken.next().cloned() } else { own.next() } {
                Some(e) => out.push(e),
                None => break,
            }
        }
        out
    }

    /// The first local day whose digest this subscription is owed: the day it was made on, or
    /// the next one its schedule fires on after that moment (08:00 subscribed at 14:00: the next
    /// day).
    fn first_owed(&self) -> NaiveDate {
        let made = self.schedule.local_date(self.created_at).unwrap_or(self.created_at.date_naive());
        (0..8)
            .filter_map(|n| made.checked_add_days(chrono::Days::new(n)))
            .find(|d| self.schedule.fire_on(*d).ok().flatten().is_some_and(|fire| fire >= self.created_at))
            .unwrap_or(made)
    }

    /// Why [`Subscription::filter`] left nothing of `digest` (with the same `earlier` records):
    /// its filters, what reached the chat on other days, or points it was shown lately.
    pub fn why_nothing(&self, digest: &Digest, earlier: &[Delivery]) -> &'static str {
        // The day's own insights: what was carried from other days says nothing of today's.
        let digest = &Digest { carried: Vec::new(), ..digest.clone() };
        let size = digest.insights.len();
        if self.filter(digest, &[], 0, size).insights.is_empty() {
            "none matches this chat's filters (podcasts or keywords the operator set for it)"
        } else if self.filter(digest, earlier, 0, size).insights.is_empty() {
            "every one was sent to this chat on another day (its podcasts changed since)"
        } else {
            "every one left makes a point this chat was shown in the last days, in other words"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::podcast_name_key;
    use super::*;

    /// The record of a digest of the day before `date` whose one part, insight `shown`, reached
    /// `to`.
    fn sent_the_day_before(to: &Destination, date: NaiveDate, shown: &str) -> Delivery {
        let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        Delivery {
            destination: to.clone(),
            date: date.pred_opt().unwrap(),
            state: DeliveryState::Sent { at },
            attempts: 1,
            sent: vec![(Some(1), "m1".into())],
            updated_at: at,
            list: None,
            shown: vec![shown.into()],
            retry_at: None,
            reserve_points: vec![],
            last_error: None,
        }
    }

    fn entry(rank: usize, id: &str, episode: &str, podcast: &str) -> DigestEntry {
        DigestEntry { rank, ..DigestEntry::example(id, episode, podcast, &format!("Point {id}.")) }
    }

    /// What a chat's filters or earlier deliveries leave out is made up from the reserve, in
    /// its order, up to the digest's size, never a second point of an episode the copy shows.
    #[test]
    fn the_reserve_fills_what_a_chats_filters_leave_out() {
        let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let date = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let digest = Digest {
            date,
            list: None,
            built_at: at,
            candidates: 9,
            episodes: 4,
            insights: vec![entry(1, "a1", "a", "Alpha"), entry(2, "b1", "b", "Beta"), entry(3, "c1", "c", "Gamma")],
            reserve: vec![entry(4, "b2", "b", "Beta"), entry(5, "a2", "a", "Alpha"), entry(6, "d1", "d", "Delta")],
            edit: None,
            carried: vec![],
        };
        let schedule = Schedule::daily("08:00", "UTC").unwrap();
        let mut sub = Subscription::new(Destination::new("console", "c"), schedule, "t", at);
        let ids = |d: &Digest| d.insights.iter().map(|e| (e.rank, e.id.clone())).collect::<Vec<_>>();
        let pairs = |list: &[(usize, &str)]| list.iter().map(|&(r, id)| (r, id.to_string())).collect::<Vec<_>>();
        // Nothing left out: the top as it is, no reserve shown.
        let all = sub.filter(&digest, &[], 7, 3);
        assert_eq!(ids(&all), pairs(&[(1, "a1"), (2, "b1"), (3, "c1")]));
        assert!(all.reserve.is_empty());
        // Alpha muted: its reserve point is not taken either, and Beta already has its slot.
        sub.mute_podcasts = vec!["alpha".into()];
        assert_eq!(ids(&sub.filter(&digest, &[], 7, 3)), pairs(&[(1, "b1"), (2, "c1"), (3, "d1")]));
        // Beta's first point reached the chat yesterday: Beta's next one stands in for it.
        sub.mute_podcasts.clear();
        let mut yesterday = sent_the_day_before(&sub.destination, date, "b1");
        assert_eq!(
            ids(&sub.filter(&digest, std::slice::from_ref(&yesterday), 7, 3)),
            pairs(&[(1, "a1"), (2, "c1"), (3, "b2")])
        );
        // Everything was sent before: nothing. The reason given (asked only once nothing is
        // left) is that, unless the filters alone leave nothing.
        yesterday.shown = digest.entries().map(|e| e.id.clone()).collect();
        yesterday.sent = (1..=6).map(|r| (Some(r), format!("m{r}"))).collect();
        assert!(sub.filter(&digest, std::slice::from_ref(&yesterday), 7, 3).insights.is_empty());
        assert!(
            sub.why_nothing(&digest, std::slice::from_ref(&yesterday))
                .contains("every one was sent to this chat on another day")
        );
        sub.only_podcasts = vec!["Epsilon".into()];
        assert!(
            sub.why_nothing(&digest, std::slice::from_ref(&yesterday)).contains("none matches this chat's filters")
        );
    }

    /// A quiet day for a chat's filters is said to be its filters, whatever earlier days'
    /// insights the digest carries.
    #[test]
    fn carried_insights_do_not_change_why_a_copy_is_empty() {
        let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let date = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let rusty = DigestEntry::example("r1", "r", "Rusty", "Rust's borrow checker catches data races.");
        let digest = Digest {
            date,
            list: None,
            built_at: at,
            candidates: 1,
            episodes: 1,
            insights: vec![entry(1, "a1", "a", "Alpha")],
            reserve: vec![],
            edit: None,
            carried: vec![crate::model::Carried { date: date.pred_opt().unwrap(), entry: rusty }],
        };
        let mut sub =
            Subscription::new(Destination::new("console", "c"), Schedule::daily("08:00", "UTC").unwrap(), "t", at);
        sub.keywords = vec!["rust".into()];
        let yesterday = sent_the_day_before(&sub.destination, date, "r1");
        let earlier = std::slice::from_ref(&yesterday);
        assert!(sub.filter(&digest, earlier, 7, 5).insights.is_empty());
        assert!(sub.why_nothing(&digest, earlier).contains("none matches this chat's filters"));
    }

    #[test]
    fn podcast_filters_match_a_title_however_its_feed_escaped_it() {
        let key = podcast_name_key;
        assert_eq!(key("Q&amp;A Hour"), key("q&a hour"));
        assert_eq!(key("Don&#8217;t Panic"), key("Don't panic"));
        assert_eq!(key("Don’t Panic "), key("DON&rsquo;T PANIC"));
        assert_ne!(key("Go Time"), key("Go Time Extra"));
    }

    /// A point the chat was shown from a reserve in the last `novelty_days` is left out when
    /// another podcast makes it again in its own words, and the reserve fills in; older ones, or
    /// without a novelty window, are not.
    #[test]
    fn a_point_a_chat_had_from_the_reserve_is_not_shown_to_it_again_in_other_words() {
        let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let date = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let said =
            |id: &str, episode: &str, podcast: &str, text: &str| DigestEntry::example(id, episode, podcast, text);
        let digest = Digest {
            date,
            list: None,
            built_at: at,
            candidates: 4,
            episodes: 4,
            insights: vec![
                said("a1", "a", "Alpha", "The outage came from a bad config push to every region at once."),
                said("b1", "b", "Beta", "Rust's borrow checker catches data races at compile time, before they ship."),
            ],
            reserve: vec![said("c1", "c", "Gamma", "Columnar storage made the analytics queries twelve times faster.")],
            edit: None,
            carried: vec![],
        };
        let schedule = Schedule::daily("08:00", "UTC").unwrap();
        let sub = Subscription::new(Destination::new("telegram", "1"), schedule, "test", at);
        let earlier = |days: i64| Delivery {
            destination: sub.destination.clone(),
            date: date - chrono::Duration::days(days),
            state: DeliveryState::Sent { at },
            attempts: 1,
            sent: vec![(Some(1), "m1".into())],
            updated_at: at,
            list: None,
            shown: vec!["z9".into()],
            retry_at: None,
            reserve_points: vec![(
                "z9".into(),
                "A bad config push that went to every region at once caused the whole outage.".into(),
            )],
            last_error: None,
        };
        let ids = |d: Digest| d.insights.into_iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(sub.filter(&digest, &[earlier(2)], 7, 3)), ["b1", "c1"]);
        assert_eq!(ids(sub.filter(&digest, &[earlier(8)], 7, 3)), ["a1", "b1"]);
        assert_eq!(ids(sub.filter(&digest, &[earlier(2)], 0, 3)), ["a1", "b1"]);
        // A point whose part never reached the chat was not seen there.
        let unsent =
            Delivery { sent: vec![], state: DeliveryState::Skipped { reason: "refused".into() }, ..earlier(2) };
        assert_eq!(ids(sub.filter(&digest, &[unsent], 7, 3)), ["a1", "b1"]);
        // Nothing left but that point: the chat is told why.
        let only = Digest { insights: digest.insights[..1].to_vec(), reserve: vec![], ..digest.clone() };
        assert!(sub.filter(&only, &[earlier(2)], 7, 3).insights.is_empty());
        assert!(sub.why_nothing(&only, &[earlier(2)]).contains("a point this chat was shown in the last days"));
    }
}
