//! The webhook adapter: each part of a message is POSTed as JSON to the destination's URL
//! (`webhook:https://hooks.example.com/podsift`), signed so the receiver can check it came from
//! this podsift: `X-Podsift-Signature: sha256=HEX(HMAC-SHA256(secret, "{timestamp}.{body}"))`
//! with `X-Podsift-Timestamp`. `Idempotency-Key` is the same when a part is re-sent after a
//! crash, so a receiver that honours it never shows a digest twice.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::json;

use crate::config::WebhookConfig;
use crate::deliver::{Adapter, Destination, Limits, Message, Part, ReplyTarget, SendError, TextUnit};
use crate::http::{hex, hmac_sha256, retry_after};

/// The environment variable holding the signing secret.
pub const SECRET_ENV: &str = "PODSIFT_WEBHOOK_SECRET";
/// The shortest signing secret taken: receivers trust a signature only as far as the secret
/// cannot be guessed.
const MIN_SECRET_CHARS: usize = 16;
/// Largest JSON body sent.
const MAX_BODY: usize = 64 * 1024;

pub struct WebhookAdapter {
    client: reqwest::Client,
    secret: Vec<u8>,
    config: WebhookConfig,
    /// How long a receiver may answer 404 or 403 before it counts as gone (its subscription
    /// paused): a deploy or a secret rotation passes within it, a receiver taken down does not.
    pub gone_after: Duration,
    /// Since when each receiver has answered 404 or 403 without a success between (this
    /// process's memory: a restart gives a receiver the whole wait again).
    missing_since: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

/// The default [`WebhookAdapter::gone_after`].
const GONE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The signature header value for a body sent at `timestamp` (seconds since the epoch).
pub fn sign(secret: &[u8], timestamp: i64, body: &str) -> String {
    format!("sha256={}", hex(&hmac_sha256(secret, format!("{timestamp}.{body}").as_bytes())))
}

/// One part as the JSON body a receiver gets. `in_reply_to` is the id of the receiver's message
/// that asked, when the question came with one.
fn render(part: &Part, reply_to: Option<&ReplyTarget>) -> String {
    let in_reply_to = reply_to.map(|r| r.0.as_str());
    let mut v = match part {
        Part::Entry { date, total, entry } => json!({"type": "digest", "date": date, "total": total, "insight": entry}),
        Part::Answer { date, entry, answer } => json!({"type": "answer", "date": date, "insight": entry.id,
            "rank": entry.rank, "answer": answer, "in_reply_to": in_reply_to}),
        Part::Prompt { date, rank } => json!({"type": "notice", "date": date, "rank": rank,
            "text": format!("What would you like to know about #{rank}?"), "in_reply_to": in_reply_to}),
        Part::Text(text) => json!({"type": "notice", "text": text, "in_reply_to": in_reply_to}),
        Part::Choices { text, choices } => json!({"type": "choices", "text": text, "in_reply_to": in_reply_to,
            "choices": choices.iter().map(|c| json!({"label": c.label, "command": c.command})).collect::<Vec<_>>()}),
        Part::DigestHeader { date, count, .. } => json!({"type": "digest_header", "date": date, "total": count}),
    };
    let mut body = v.to_string();
    // Quotes are the only unbounded strings; shorten them rather than fail. (An answer's
    // `insight` is the insight's id, a string: nothing to shorten there.)
    if body.len() > MAX_BODY && v["insight"].is_object() {
        v["insight"]["quote"] = json!("(quote too long to send)");
        body = v.to_string();
    }
    body
}

impl WebhookAdapter {
    /// A 404 or 403 is as often a receiver being deployed, routed wrong for a moment or refusing
    /// a signature while its secret is rotated: retried as an outage, the subscription kept,
    /// until it has lasted [`WebhookAdapter::gone_after`].
    fn missing(&self, to: &Destination, status: u16) -> SendError {
        let mut missing = self.missing_since.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let since = *missing.entry(to.key()).or_insert_with(std::time::Instant::now);
        if since.elapsed() >= self.gone_after {
            missing.remove(&to.key());
            return SendError::Gone(format!(
                "{} answered HTTP {status} for {} hour(s)",
                to.redacted(),
                self.gone_after.as_secs() / 3600
            ));
        }
        SendError::Transient(format!(
            "HTTP {status}: the receiver {}; if it stays so, fix it or `podsift subs rm` the destination",
            if status == 404 { "has nothing at this address" } else { "refuses the request" }
        ))
    }

    pub fn new(config: &WebhookConfig, secret: &str) -> Result<WebhookAdapter, String> {
        if secret.trim().is_empty() {
            return Err(format!(
                "adapters.webhook is enabled but {SECRET_ENV} is empty: set it (see .env.example) or disable the adapter"
            ));
        }
        let chars = secret.trim().chars().count();
        if chars < MIN_SECRET_CHARS {
            return Err(format!(
                "{SECRET_ENV} has {chars} characters: a secret that short can be guessed and signatures forged; use at least {MIN_SECRET_CHARS} random ones (`openssl rand -hex 32` makes one), and give receivers the same"
            ));
        }
        let timeout = Duration::from_secs(config.timeout_secs);
        let client = crate::http::client(timeout, Some(timeout))?;
        Ok(WebhookAdapter {
            client,
            secret: secret.as_bytes().to_vec(),
            config: config.clone(),
            gone_after: GONE_AFTER,
            missing_since: Default::default(),
        })
    }
}

impl Adapter for WebhookAdapter {
    fn platform(&self) -> &'static str {
        "webhook"
    }

    fn limits(&self) -> Limits {
        Limits {
            max_message_len: MAX_BODY / 2,
            unit: TextUnit::Chars,
            global_per_second: self.config.global_per_second,
            per_destination_per_second: self.config.per_destination_per_second,
        }
    }

    /// A receiver gets the insights themselves; the digest's header carries nothing for it.
    fn parts(&self, message: &Message) -> Vec<Part> {
        let mut parts = crate::deliver::parts::split(message, &self.limits());
        parts.retain(|p| !matches!(p, Part::DigestHeader { .. }));
        parts
    }

    fn send<'a>(
        &'a self,
        to: &'a Destination,
        part: &'a Part,
        reply_to: Option<&'a ReplyTarget>,
        key: &'a str,
        _again: bool,
    ) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let body = render(part, reply_to);
            let ts = chrono::Utc::now().timestamp();
            let resp = self
                .client
                .post(&to.id)
                .header("content-type", "application/json")
                .header("idempotency-key", key)
                .header("x-podsift-timestamp", ts.to_string())
                .header("x-podsift-signature", sign(&self.secret, ts, &body))
                .body(body)
                .send()
                .await
                .map_err(|e| {
                    // The innermost cause says what happened ("Connection refused"); reqwest's own
                    // message only names the URL.
                    SendError::Transient(if e.is_timeout() {
                        "timed out".into()
                    } else {
                        format!("cannot reach it: {}", crate::http::root_cause(&e))
                    })
                })?;
            let status = resp.status().as_u16();
            if !matches!(status, 403 | 404) {
                self.missing_since.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&to.key());
            }
            match status {
                200..=299 => {
                    let body: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
                    Ok(body.get("id").and_then(|v| v.as_str()).map(str::to_string).unwrap_or_else(|| key.to_string()))
                }
                429 => Err(SendError::RateLimited {
                    retry_after: retry_after(resp.headers(), chrono::Utc::now()).unwrap_or(Duration::from_secs(1)),
                }),
                410 => Err(SendError::Gone(format!("{} answered HTTP {status}", to.redacted()))),
                403 | 404 => Err(self.missing(to, status)),
                408 | 500..=599 => Err(SendError::Transient(format!("HTTP {status}"))),
                // Not followed: the signed digest would go to an address nobody subscribed (and
                // a POST turned into a GET by a 301). Said, with where to, so that the operator
                // can subscribe the new address; like the old one, only its host is written out.
                300..=399 => {
                    let location = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok());
                    let moved = location
                        .and_then(|l| url::Url::parse(&to.id).ok()?.join(l).ok())
                        .map(|u| format!("to {}", Destination::new("webhook", u.as_str()).redacted()))
                        .unwrap_or_else(|| "elsewhere".into());
                    Err(SendError::Invalid(format!(
                        "HTTP {status}: the receiver moved {moved}; webhooks are not followed to another address: \
                         `podsift subs add` the new address and `podsift subs rm` this one"
                    )))
                }
                _ => Err(SendError::Invalid(format!("HTTP {status}"))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_and_body() {
        // Checked against: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            sign(b"secret", 1_700_000_000, "{\"a\":1}"),
            "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }

    #[test]
    fn an_oversized_body_has_its_quote_cut_and_an_answer_never_panics() {
        let entry: crate::model::DigestEntry = serde_json::from_value(json!({"rank": 1, "id": "i1",
            "episode_id": "e1", "text": "t", "quote": "q ".repeat(40_000), "podcast": "P", "episode": "E",
            "episode_url": null, "speaker": null, "start_seconds": 1.0, "link": null, "score": 1.0, "also_in": []}))
        .unwrap();
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let part = Part::Entry { date, total: 5, entry: Box::new(entry.clone()) };
        let v: serde_json::Value = serde_json::from_str(&render(&part, None)).unwrap();
        assert_eq!(v["insight"]["quote"], "(quote too long to send)");
        let answer = crate::ask::Answer { answer: "a ".repeat(40_000), covered: true, citations: vec![] };
        let part = Part::Answer { date, entry: Box::new(entry), answer };
        let v: serde_json::Value = serde_json::from_str(&render(&part, None)).unwrap();
        assert_eq!(v["insight"], "i1");
    }

    #[test]
    fn choices_carry_the_commands_they_stand_for() {
        let choices = vec![crate::deliver::Choice { label: "1. Go Time".into(), command: "podcasts add 1".into() }];
        let part = Part::Choices { text: "Found: 1. Go Time".into(), choices };
        let v: serde_json::Value = serde_json::from_str(&render(&part, Some(&ReplyTarget("m1".into())))).unwrap();
        assert_eq!(v["type"], "choices");
        assert_eq!(v["in_reply_to"], "m1");
        assert_eq!(v["choices"][0], json!({"label": "1. Go Time", "command": "podcasts add 1"}));
    }
}
