//! Fan-out figures: one digest to 1,000 / 5,000 / 10,000 destinations through a fake adapter
//! limited to 30 messages a second, on tokio's paused clock (so the run takes seconds, not
//! hours). Prints the achieved rate against the limit, the number of one-second windows that
//! held more than 30 sends (must be 0), and resident memory before and after each run.
//!
//! Run with `cargo bench --bench deliver`.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use futures_util::future::BoxFuture;
use podsift::config::{Config, DeliveryConfig};
use podsift::deliver::fanout::Deliverer;
use podsift::deliver::{
    Adapter, Destination, Limits, Message, Part, ReplyTarget, Schedule, SendError, Subscription, TextUnit,
};
use podsift::ingest::Quiet;
use podsift::metrics::Metrics;
use podsift::store::Store;
use tokio::time::Instant;

const LIMIT: f64 = 30.0;

/// Records when each message was sent (tokio time).
struct Recorder {
    sends: Mutex<Vec<Instant>>,
}

impl Adapter for Recorder {
    fn platform(&self) -> &'static str {
        "bench"
    }
    fn limits(&self) -> Limits {
        Limits {
            max_message_len: 4096,
            unit: TextUnit::Chars,
            global_per_second: LIMIT,
            per_destination_per_second: 1.0,
        }
    }
    /// One message per digest: the benchmark measures pacing across destinations.
    fn parts(&self, message: &Message) -> Vec<Part> {
        match message {
            Message::Digest(d) => vec![Part::Text(format!("digest {}", d.date))],
            _ => vec![Part::Text(String::new())],
        }
    }
    fn send<'a>(
        &'a self,
        _to: &'a Destination,
        _part: &'a Part,
        _reply_to: Option<&'a ReplyTarget>,
        _key: &'a str,
        _again: bool,
    ) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let mut s = self.sends.lock().unwrap();
            s.push(Instant::now());
            Ok(s.len().to_string())
        })
    }
}

fn rss_mb() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0.0);
    pages * 4096.0 / 1_048_576.0
}

fn main() {
    // `cargo test` runs benches with --bench too; only measure when asked.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let now = Utc::now();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        podsift::demo::ingest_demo(&store, &Config::default(), now, &Quiet).await.unwrap();
    });
    let time = (now - chrono::Duration::minutes(1)).format("%H:%M").to_string();
    println!("fan-out of one digest through an adapter limited to {LIMIT} msg/s (paused clock)");
    println!(
        "{:>12} {:>12} {:>10} {:>11} {:>10} {:>10}",
        "destinations", "virtual s", "msg/s", "violations", "rss MB", "wall s"
    );
    for n in [1_000usize, 5_000, 10_000] {
        // Fresh platform name per run so earlier deliveries do not count.
        let run = format!("bench{n}");
        for i in 0..n {
            store
                .put_subscription(&Subscription::new(
                    Destination::new("bench", &format!("{run}-{i}")),
                    Schedule::daily(&time, "UTC").unwrap(),
                    "bench",
                    now - chrono::Duration::days(1),
                ))
                .unwrap();
        }
        let rss_before = rss_mb();
        let recorder = Arc::new(Recorder { sends: Mutex::new(Vec::with_capacity(n)) });
        let wall = std::time::Instant::now();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
        let (virtual_secs, delivered) = rt.block_on(async {
            let d = Deliverer::new(
                store.clone(),
                vec![recorder.clone() as Arc<dyn Adapter>],
                DeliveryConfig { max_concurrency: 64, ..DeliveryConfig::default() },
                Config::default().digest,
                Arc::new(Metrics::default()),
            );
            let start = Instant::now();
            let s = d.tick(now).await.unwrap();
            (Instant::now().duration_since(start).as_secs_f64(), s.delivered)
        });
        let sends = recorder.sends.lock().unwrap().clone();
        let first = sends[0];
        let secs: Vec<f64> = sends.iter().map(|t| t.duration_since(first).as_secs_f64()).collect();
        let mut violations = 0;
        let mut j = 0;
        for i in 0..secs.len() {
            while j < secs.len() && secs[j] < secs[i] + 1.0 - 1e-9 {
                j += 1;
            }
            if j - i > LIMIT as usize {
                violations += 1;
            }
        }
        let span = secs.last().copied().unwrap_or(0.0);
        let rate = if span > 0.0 { (secs.len() - 1) as f64 / span } else { 0.0 };
        println!(
            "{:>12} {:>12.1} {:>10.2} {:>11} {:>10.1} {:>10.1}",
            delivered,
            virtual_secs,
            rate,
            violations,
            rss_mb() - rss_before,
            wall.elapsed().as_secs_f64()
        );
        // Remove this run's destinations so the next run only fans out to its own.
        for i in 0..n {
            store.remove_subscription(&format!("bench:{run}-{i}")).unwrap();
        }
    }
}
