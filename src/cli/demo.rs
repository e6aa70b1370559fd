//! `podsift demo`: the bundled demo podcasts ingested into a temporary store (no network, no
//! keys), then the top 5 and a sample answer.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::Utc;

use podsift::ask;
use podsift::config::Config;
use podsift::insight::digest;

use super::open_store;
use super::output::{ProgressOutput, episode_line, list_episodes, print_summary};
use super::service::make_answerer;

pub async fn demo(data: Option<PathBuf>, config: &Config) -> Result<()> {
    // Without --data the demo keeps to a temporary store and leaves ./data alone.
    let temp;
    let dir = match data {
        Some(d) => d,
        None => {
            temp = TempDir::new()?;
            temp.0.clone()
        }
    };
    let store = open_store(&dir)?;
    outln!(
        "podsift demo: {} bundled podcast feeds served from a loopback server, store in {}",
        podsift::demo::FEEDS.len(),
        dir.display()
    );
    let progress = ProgressOutput::new();
    let now = Utc::now();
    let (summary, insights) = podsift::demo::ingest_demo(&store, config, now, &progress).await?;
    progress.finish();
    print_summary(&summary, insights);
    outln!();
    for e in list_episodes(&store, None, None)? {
        outln!("{}", episode_line(&e));
    }
    outln!();
    let date = digest::today(&config.digest, now);
    let d = digest::build_or_get(&store, &config.digest, date, now)?;
    out!("{}", podsift::render::digest(&d, config.digest.size));
    if let Some(first) = d.insights.first() {
        let corpus = store.corpus_for(&podsift::insight::terms::terms(&first.text))?;
        let question = podsift::demo::sample_question(first, &corpus);
        let answerer = make_answerer(config, &store)?;
        let a = ask::ask(&store, &config.ask, first, &question, answerer.as_ref(), &[]).await?;
        outln!("\n$ podsift ask 1 {question:?}\n{}", a.answer);
    }
    outln!("\nTranscripts: Changelog Media, CC BY-SA 4.0 (see config/demo/ATTRIBUTION.md).");
    Ok(())
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Result<TempDir> {
        let dir =
            std::env::temp_dir().join(format!("podsift-demo-{}-{}", std::process::id(), Utc::now().timestamp_micros()));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
