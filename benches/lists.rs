//! What per-chat podcast lists cost: 10,000 chats with 1,000 distinct lists of 5 podcasts each,
//! drawn from 160 podcasts (the demo's eight episodes copied under 20 addresses each). Digests
//! are built once per day and distinct list; every other chat reads a stored one. Prints the
//! time to build all the lists' digests, the time to serve all 10,000 chats afterwards, and the
//! same for the 100 distinct lists to show that cost follows distinct lists, not chats.
//!
//! Run with `cargo bench --bench lists`.

use std::time::Instant;

use chrono::{TimeZone, Utc};
use podsift::config::Config;
use podsift::ingest::Quiet;
use podsift::insight::digest::build_or_get_for;
use podsift::store::Store;

const COPIES: usize = 20;

/// A small deterministic generator: the same lists on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

fn main() {
    let day = Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap();
    let config = Config::default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    runtime.block_on(podsift::demo::ingest_demo(&store, &config, day, &Quiet)).unwrap();
    let mut podcasts: Vec<String> = Vec::new();
    for ep in store.episodes().unwrap() {
        let insights = store.insights_of(&ep.id).unwrap();
        for k in 0..COPIES {
            let feed = format!("{}-{k}", ep.feed_url);
            let mut copy = ep.clone();
            copy.id = format!("{}-{k}", ep.id);
            copy.feed_url = feed.clone();
            let copies: Vec<_> = insights
                .iter()
                .map(|i| {
                    let mut i = i.clone();
                    i.id = format!("{}-{k}", i.id);
                    i.episode_id = copy.id.clone();
                    i.feed_url = feed.clone();
                    i
                })
                .collect();
            store.put_episode(&copy).unwrap();
            store.put_insights(&copy, &copies, Some(&[])).unwrap();
            podcasts.push(feed);
        }
    }
    println!("{} podcasts, {} episodes", podcasts.len(), store.episodes().unwrap().len());
    for (distinct, chats) in [(100usize, 10_000usize), (1_000, 10_000)] {
        let mut rng = Lcg(distinct as u64);
        let lists: Vec<Vec<String>> =
            (0..distinct).map(|_| (0..5).map(|_| podcasts[rng.next(podcasts.len())].clone()).collect()).collect();
        let date = day.date_naive() + chrono::Duration::days(distinct as i64);
        let now = Utc.from_utc_datetime(&date.and_hms_opt(8, 0, 0).unwrap());
        let mut cfg = config.digest.clone();
        cfg.recency_window_hours = 24 * 5000;
        let started = Instant::now();
        for list in &lists {
            build_or_get_for(&store, &cfg, date, now, Some(list)).unwrap();
        }
        let build = started.elapsed();
        let started = Instant::now();
        for chat in 0..chats {
            let list = &lists[chat % distinct];
            let d = build_or_get_for(&store, &cfg, date, now, Some(list)).unwrap();
            assert!(!d.insights.is_empty());
        }
        let serve = started.elapsed();
        println!(
            "{chats} chats, {distinct} distinct lists: building the lists' digests {:.2} s ({:.1} ms a list), then serving every chat its stored digest {:.2} s ({:.0} µs a chat)",
            build.as_secs_f64(),
            build.as_secs_f64() * 1000.0 / distinct as f64,
            serve.as_secs_f64(),
            serve.as_secs_f64() * 1e6 / chats as f64
        );
    }
}
