//! Counters for /metrics, in the Prometheus text format. Plain atomics: cheap to bump from any
//! task, never a lock.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub feeds_fetched: AtomicU64,
    pub feeds_failed: AtomicU64,
    pub episodes: AtomicU64,
    pub insights: AtomicU64,
    pub deliveries_ok: AtomicU64,
    pub deliveries_failed: AtomicU64,
    /// Days a destination did not get its digest: given up, or the catch-up window closed.
    pub deliveries_given_up: AtomicU64,
    pub deliveries_retried: AtomicU64,
    pub rate_limit_waits: AtomicU64,
    pub questions_answered: AtomicU64,
    /// Requests (commands, questions, button presses) adapters handed to the core.
    pub requests: AtomicU64,
    /// Active subscriptions whose platform has no enabled adapter, as of the last tick.
    pub undeliverable: AtomicU64,
    /// Feeds failing as of the last ingest: failed, or waiting to be tried again after failing.
    pub feeds_failing: AtomicU64,
    /// Subscriptions delivered to, and paused (by the operator, or after a platform refused
    /// the chat), as of the last tick.
    pub subscriptions_active: AtomicU64,
    pub subscriptions_paused: AtomicU64,
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The counters as Prometheus text exposition.
    pub fn render(&self) -> String {
        let rows: [(&str, &str, &AtomicU64); 15] = [
            ("podsift_feeds_fetched_total", "Feeds fetched successfully.", &self.feeds_fetched),
            ("podsift_feeds_failed_total", "Feed fetches that failed.", &self.feeds_failed),
            ("podsift_episodes_total", "New episodes stored.", &self.episodes),
            ("podsift_insights_total", "Candidate insights extracted.", &self.insights),
            ("podsift_deliveries_ok_total", "Digests delivered.", &self.deliveries_ok),
            (
                "podsift_deliveries_failed_total",
                "Delivery attempts that failed (a later one may succeed).",
                &self.deliveries_failed,
            ),
            (
                "podsift_deliveries_given_up_total",
                "Days a destination did not get its digest: a refusal, or still failing or missed when the catch-up window closed.",
                &self.deliveries_given_up,
            ),
            (
                "podsift_deliveries_retried_total",
                "Sends retried after a transient error or a rate limit.",
                &self.deliveries_retried,
            ),
            (
                "podsift_rate_limit_waits_total",
                "Waits for a rate limit (ours or the platform's).",
                &self.rate_limit_waits,
            ),
            ("podsift_questions_answered_total", "Follow-up questions answered.", &self.questions_answered),
            ("podsift_requests_total", "Requests from readers taken by the core.", &self.requests),
            (
                "podsift_subscriptions_without_adapter",
                "Active subscriptions not delivered: their platform's adapter is not enabled.",
                &self.undeliverable,
            ),
            (
                "podsift_feeds_failing",
                "Feeds whose last fetch failed, also while they wait to be tried again, as of the last ingest.",
                &self.feeds_failing,
            ),
            ("podsift_subscriptions_active", "Subscriptions being delivered to.", &self.subscriptions_active),
            (
                "podsift_subscriptions_paused",
                "Subscriptions paused: by the operator, or after the platform refused the chat (`podsift subs ls` says why).",
                &self.subscriptions_paused,
            ),
        ];
        let mut s = String::new();
        for (name, help, c) in rows {
            // A count that only grows ends in `_total`; the rest are what is true now.
            let kind = if name.ends_with("_total") { "counter" } else { "gauge" };
            s.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}\n", c.load(Ordering::Relaxed)));
        }
        s
    }
}
