//! Token buckets built from an adapter's declared limits: one for the whole platform, one per
//! destination. Waits use tokio's clock, so a paused clock in tests and benchmarks makes them
//! instant while keeping their order and spacing exact.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Evenly spaced sends at `rate` a second (a token bucket holding one token). Each caller
/// reserves the next free slot and sleeps until it, so slots never drift with timer rounding
/// and no lock is held across the wait.
pub struct Bucket {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Bucket {
    pub fn new(rate: f64) -> Bucket {
        Bucket { interval: Duration::from_secs_f64(1.0 / rate.max(1e-6)), next: Mutex::new(None) }
    }

    /// Waits for this caller's slot; returns how long it waited.
    pub async fn take(&self) -> Duration {
        let now = Instant::now();
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
        slot - now
    }
}

/// The platform-wide pacer plus one per destination, created on first use and dropped once
/// idle for longer than its interval (so memory follows the destinations in flight).
pub struct RateLimiter {
    global: Bucket,
    per_destination: f64,
    destinations: Mutex<HashMap<String, (std::sync::Arc<Bucket>, Instant)>>,
}

impl RateLimiter {
    pub fn new(global_per_second: f64, per_destination_per_second: f64) -> RateLimiter {
        RateLimiter {
            // No burst: sends are paced evenly, so no one-second window ever holds more than
            // the rate (a bucket with a burst of N would allow N plus a second's refill).
            global: Bucket::new(global_per_second),
            per_destination: per_destination_per_second,
            destinations: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until one more message may go to `destination`; returns how long it waited.
    pub async fn acquire(&self, destination: &str) -> Duration {
        self.acquire_at(destination, self.per_destination).await
    }

    /// Like `acquire`, with this destination's own rate (a Telegram group's 20 a minute).
    pub async fn acquire_at(&self, destination: &str, rate: f64) -> Duration {
        let bucket = {
            let mut map = self.destinations.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let idle = Duration::from_secs_f64(1.0 / rate.min(self.per_destination).max(1e-6));
            if map.len() > 1024 {
                map.retain(|_, (_, used)| now.duration_since(*used) < idle);
            }
            let entry =
                map.entry(destination.to_string()).or_insert_with(|| (std::sync::Arc::new(Bucket::new(rate)), now));
            entry.1 = now;
            entry.0.clone()
        };
        let a = bucket.take().await;
        let b = self.global.take().await;
        a + b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn global_rate_is_never_exceeded() {
        let limiter = RateLimiter::new(30.0, 1.0);
        let start = Instant::now();
        let mut times = Vec::new();
        for i in 0..300 {
            limiter.acquire(&format!("d{i}")).await;
            times.push(Instant::now().duration_since(start).as_secs_f64());
        }
        // In any one-second window at most 30 sends.
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..].iter().take_while(|u| **u < t + 1.0 - 1e-9).count();
            assert!(in_window <= 30, "{in_window} sends in the second after {t}");
        }
        let total = *times.last().unwrap();
        // 300 evenly paced at 30/s: the last goes out at 299/30 s.
        assert!((total - 299.0 / 30.0).abs() < 0.01, "{total}");
    }

    #[tokio::test(start_paused = true)]
    async fn one_destination_is_paced_separately() {
        let limiter = RateLimiter::new(1000.0, 1.0);
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire("chat").await;
        }
        assert_eq!(Instant::now().duration_since(start), Duration::from_secs(2));
    }
}
