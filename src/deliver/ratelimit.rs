//! Token buckets built from an adapter's declared limits: one for the whole platform, one per
//! destination. Waits use tokio's clock, so a paused clock in tests and benchmarks makes them
//! instant while keeping their order and spacing exact.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket: `rate` tokens a second, holding at most `burst`.
pub struct Bucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    pub fn new(rate: f64, burst: f64) -> Bucket {
        let burst = burst.max(1.0);
        Bucket {
            rate: rate.max(1e-6),
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes a token now, or says how long until one is available.
    fn try_take(&self) -> Result<(), Duration> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let (tokens, last) = *st;
        let tokens = (tokens + now.duration_since(last).as_secs_f64() * self.rate).min(self.burst);
        if tokens >= 1.0 {
            *st = (tokens - 1.0, now);
            Ok(())
        } else {
            *st = (tokens, now);
            Err(Duration::from_secs_f64((1.0 - tokens) / self.rate))
        }
    }

    /// Waits for a token. The lock is never held across the wait.
    pub async fn take(&self) -> Duration {
        let mut waited = Duration::ZERO;
        loop {
            match self.try_take() {
                Ok(()) => return waited,
                Err(wait) => {
                    tokio::time::sleep(wait).await;
                    waited += wait;
                }
            }
        }
    }
}

/// The platform-wide bucket plus one bucket per destination, created on first use and dropped
/// once idle long enough to be full again (so memory follows the destinations in flight).
pub struct RateLimiter {
    global: Bucket,
    per_destination: f64,
    destinations: Mutex<HashMap<String, (std::sync::Arc<Bucket>, Instant)>>,
}

impl RateLimiter {
    pub fn new(global_per_second: f64, per_destination_per_second: f64) -> RateLimiter {
        RateLimiter {
            // A burst of one second's worth keeps the rate over any one-second window.
            global: Bucket::new(global_per_second, global_per_second.floor()),
            per_destination: per_destination_per_second,
            destinations: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until one more message may go to `destination`; returns how long it waited.
    pub async fn acquire(&self, destination: &str) -> Duration {
        let bucket = {
            let mut map = self.destinations.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let idle = Duration::from_secs_f64(1.0 / self.per_destination.max(1e-6));
            if map.len() > 1024 {
                map.retain(|_, (_, used)| now.duration_since(*used) < idle);
            }
            let entry = map.entry(destination.to_string()).or_insert_with(|| {
                (
                    std::sync::Arc::new(Bucket::new(self.per_destination, 1.0)),
                    now,
                )
            });
            entry.1 = now;
            entry.0.clone()
        };
        let a = bucket.take().await;
        let b = self.global.take().await;
        a + b
    }

    /// Destinations with a bucket in memory (for tests of the pruning).
    pub fn tracked(&self) -> usize {
        self.destinations.lock().map(|m| m.len()).unwrap_or(0)
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
            let in_window = times[i..]
                .iter()
                .take_while(|u| **u < t + 1.0 - 1e-9)
                .count();
            assert!(in_window <= 30, "{in_window} sends in the second after {t}");
        }
        let total = *times.last().unwrap();
        // 300 at 30/s after a burst of 30: 9 seconds.
        assert!((total - 9.0).abs() < 0.1, "{total}");
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
