//! Who gets digests and what was sent to them: destinations, subscriptions with their
//! schedules, and the outbox records of deliveries. Plain data; when a schedule fires, what a
//! subscriber's filters keep and how the outbox is worked through is decided in `deliver`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Where messages go: a platform and that platform's id for a chat, channel or endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Destination {
    pub platform: String,
    pub id: String,
}

impl Destination {
    pub fn new(platform: &str, id: &str) -> Destination {
        Destination { platform: platform.to_string(), id: id.to_string() }
    }

    /// `platform:id`, the form used on the command line and as the store key.
    pub fn key(&self) -> String {
        format!("{}:{}", self.platform, self.id)
    }

    /// The destination as logs and other places that outlive the moment show it: a webhook's
    /// address is a secret (whoever has it can post), so only its host and last characters.
    pub fn redacted(&self) -> String {
        if self.platform != "webhook" {
            return self.key();
        }
        let host = self.webhook_host();
        let tail: String = self.id.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        format!("webhook:{}/…{tail}", host.unwrap_or_default())
    }

    /// Who answers its sends: a chat platform's one API for all its chats, a webhook's own
    /// server (`webhook:https://host:port`). One failure there is one cause, however many
    /// destinations it fails.
    pub fn server(&self) -> String {
        match self.webhook_host() {
            Some(host) if self.platform == "webhook" => format!("webhook:{host}"),
            _ => self.platform.clone(),
        }
    }

    fn webhook_host(&self) -> Option<String> {
        url::Url::parse(&self.id).ok().and_then(|u| {
            let host = u.host_str()?.to_string();
            Some(format!("{}://{host}{}", u.scheme(), u.port().map(|p| format!(":{p}")).unwrap_or_default()))
        })
    }

    /// Parses `platform:id`.
    pub fn parse(s: &str) -> Option<Destination> {
        let (p, id) = s.split_once(':')?;
        (!p.is_empty() && !id.is_empty() && p.chars().all(|c| c.is_ascii_lowercase())).then(|| Destination::new(p, id))
    }
}

/// Every `webhook:` destination in `text` [redacted](Destination::redacted).
pub fn redact_webhooks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("webhook:") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(char::is_whitespace).map_or(rest.len(), |e| at + e);
        let token = &rest[at..end];
        let trimmed = token.trim_end_matches(['.', ',', ';', ')', '"', '\'']);
        out.push_str(&Destination::parse(trimmed).map_or_else(|| trimmed.to_string(), |d| d.redacted()));
        out.push_str(&token[trimmed.len()..]);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key())
    }
}

/// A delivery schedule.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// Every day at `time` (HH:MM) local time.
    Daily { time: String, timezone: String },
    /// On the days and at the times a cron expression (6 or 7 fields, seconds first) selects;
    /// at most once per local day (the first match).
    Cron { expr: String, timezone: String },
}

/// A subscribed destination and how it wants its digest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Subscription {
    pub destination: Destination,
    pub schedule: Schedule,
    /// Only these podcasts (titles), when not empty.
    #[serde(default)]
    pub only_podcasts: Vec<String>,
    #[serde(default)]
    pub mute_podcasts: Vec<String>,
    /// Only insights mentioning one of these words, when not empty.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Why delivery is paused, when it is.
    pub paused: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// When the chat last resumed after a pause or moved its time: a day that fell due before
    /// then under the schedule now in force and was never tried was not owed, so it is not
    /// given up (nor counted as lost) for having been missed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owed_from: Option<DateTime<Utc>>,
}

impl Subscription {
    /// An active subscription with no filters.
    pub fn new(
        destination: Destination,
        schedule: Schedule,
        created_by: &str,
        created_at: DateTime<Utc>,
    ) -> Subscription {
        Subscription {
            destination,
            schedule,
            only_podcasts: vec![],
            mute_podcasts: vec![],
            keywords: vec![],
            paused: None,
            created_by: created_by.to_string(),
            created_at,
            owed_from: None,
        }
    }

    /// Whether the day that fell due at `fire` and was missed without ever being tried was owed
    /// to this chat: not when it fell due before the chat subscribed, nor while it was paused or
    /// before it moved its time unless it was still within `catch_up` of its time then (a day
    /// the resume made due, which only downtime kept from being sent).
    pub fn owed_when_missed(&self, fire: DateTime<Utc>, catch_up: chrono::Duration) -> bool {
        fire >= self.created_at && self.owed_from.is_none_or(|from| fire + catch_up >= from)
    }
}

/// Stands in an outbox record for the platform's message id of a part it refused, so that the
/// parts after it are resumed from, never that one again.
pub const REFUSED_PART: &str = "refused: ";

/// Whether a recorded part id is a platform's message, not a refused part's [`REFUSED_PART`].
pub fn delivered(id: &str) -> bool {
    !id.starts_with(REFUSED_PART)
}

/// Where one destination's digest of one day stands.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeliveryState {
    /// Written before the first send; parts listed in `sent` already went out.
    Pending,
    Sent {
        at: DateTime<Utc>,
    },
    /// Not sent, on purpose (missed by more than the catch-up window, nothing to send).
    Skipped {
        reason: String,
    },
    /// Gave up for now; retried on a later tick while the day is still within catch-up.
    Failed {
        error: String,
    },
}

impl DeliveryState {
    /// The day is over for its destination: sent, or given up on purpose.
    pub fn is_done(&self) -> bool {
        matches!(self, DeliveryState::Sent { .. } | DeliveryState::Skipped { .. })
    }
}

/// The outbox record of (destination, local day).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Delivery {
    pub destination: Destination,
    pub date: NaiveDate,
    pub state: DeliveryState,
    pub attempts: u32,
    /// Platform message ids of the parts sent so far, with the digest rank each carries.
    pub sent: Vec<(Option<usize>, String)>,
    pub updated_at: DateTime<Utc>,
    /// The podcast list (its id) the sent digest was drawn from; none for the operator's. Numbers
    /// in later questions refer to that digest even if the list changed since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// The insights shown, by id in the order numbered, so that "#2" keeps meaning what the
    /// chat was shown as #2 after its filters change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shown: Vec<String>,
    /// A failed delivery is not tried again before this (a platform's wait, or a backoff that
    /// grows with each attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<DateTime<Utc>>,
    /// What the chat's copy took from the digest's reserve (its filters left out some of the
    /// top), by insight id with its text: the digests' own novelty never saw these points, so
    /// once sent the chat's next copies leave them out when another podcast makes them again in
    /// its own words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reserve_points: Vec<(String, String)>,
    /// While a failed delivery is tried again (its state `Pending` during the try), why the
    /// try before failed: what an operator looking at `subs ls` needs to see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl Delivery {
    /// The stable key the parts' idempotency keys derive from.
    pub fn key(&self) -> String {
        format!("{}/{}", self.destination.key(), self.date)
    }

    /// The texts of the reserve points whose part reached the destination.
    pub fn reserve_points_sent(&self) -> impl Iterator<Item = &str> {
        let sent: std::collections::HashSet<&str> = self.sent_insights().collect();
        self.reserve_points.iter().filter(move |(id, _)| sent.contains(id.as_str())).map(|(_, text)| text.as_str())
    }

    /// The ids of the insights whose part reached the destination.
    pub fn sent_insights(&self) -> impl Iterator<Item = &str> {
        self.sent
            .iter()
            .filter(|(_, id)| delivered(id))
            .filter_map(|(rank, _)| rank.and_then(|r| r.checked_sub(1)).and_then(|i| self.shown.get(i)))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chats_share_their_platforms_server_and_webhooks_have_their_own() {
        let server = |d: &str| Destination::parse(d).unwrap().server();
        assert_eq!(server("telegram:1"), server("telegram:-100200"));
        assert_eq!(server("telegram:1"), "telegram");
        assert_eq!(server("webhook:https://a.example/x/SECRET"), "webhook:https://a.example");
        assert_eq!(server("webhook:https://a.example/x/SECRET"), server("webhook:https://a.example/y"));
        assert_ne!(server("webhook:https://a.example/x"), server("webhook:https://b.example/x"));
    }

    #[test]
    fn a_webhooks_secret_address_is_never_shown_whole() {
        let hook = Destination::new("webhook", "https://hooks.slack.com/services/T000/B000/SECRETXYZ");
        assert_eq!(hook.redacted(), "webhook:https://hooks.slack.com/…TXYZ");
        assert_eq!(Destination::new("telegram", "-100").redacted(), "telegram:-100");
        let said = redact_webhooks("resumed webhook:http://127.0.0.1:9/x/SECRETXYZ. Next: webhook:nonsense");
        assert_eq!(said, "resumed webhook:http://127.0.0.1:9/…TXYZ. Next: webhook:/…ense");
        assert!(!said.contains("SECRET"));
    }
}
