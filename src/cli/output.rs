//! How the command line shows things: text for people, JSON for scripts, progress on a terminal.

use std::io::IsTerminal;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use podsift::ingest::{FeedOutcome, FeedReport, IngestSummary, Progress};
use podsift::model::{Episode, Feed, TranscriptStatus};
use podsift::store::Store;

/// `feeds ls --json`: one object per feed.
#[derive(Serialize)]
pub struct FeedView {
    #[serde(flatten)]
    pub feed: Feed,
    pub episodes: usize,
}

pub fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "never".into())
}

/// A feed's name for people: its title, or why it has none.
pub fn feed_title(f: &Feed) -> &str {
    match (&f.title, f.last_ok_at, f.last_fetch_at) {
        (Some(t), _, _) => t,
        (None, Some(_), _) => "(untitled feed)",
        (None, None, Some(_)) => "(never fetched successfully)",
        (None, None, None) => "(not fetched yet)",
    }
}

pub fn print_feed(v: &FeedView) {
    let f = &v.feed;
    outln!("{}", feed_title(f));
    outln!("  {}", f.url);
    if f.fetch_url != f.url {
        outln!("  fetched from {}", f.fetch_url);
    }
    outln!("  {} episode(s) · last fetch {} · last success {}", v.episodes, when(f.last_fetch_at), when(f.last_ok_at));
    if let Some(err) = &f.last_error {
        outln!("  last error ({} in a row): {err}", f.consecutive_failures);
    }
    for w in &f.last_warnings {
        outln!("  warning at the last read: {w}");
    }
    if let Some(next) = f.next_attempt_at {
        outln!("  next attempt {}", when(Some(next)));
    }
}

/// `episodes --json`: one object per episode.
#[derive(Serialize)]
pub struct EpisodeView {
    #[serde(flatten)]
    pub episode: Episode,
}

pub fn list_episodes(store: &Store, feed: Option<&str>, since: Option<NaiveDate>) -> Result<Vec<EpisodeView>> {
    let mut eps: Vec<Episode> = store
        .episodes()?
        .into_iter()
        .filter(|e| feed.is_none_or(|f| e.feed_url == f))
        .filter(|e| since.is_none_or(|d| e.published.unwrap_or(e.first_seen_at).date_naive() >= d))
        .collect();
    eps.sort_by_key(|e| std::cmp::Reverse(e.published.unwrap_or(e.first_seen_at)));
    Ok(eps.into_iter().map(|episode| EpisodeView { episode }).collect())
}

pub fn transcript_label(status: &TranscriptStatus) -> String {
    match status {
        TranscriptStatus::Pending => "transcript pending".into(),
        TranscriptStatus::Stored { source, bytes, segments } => {
            format!(
                "{} transcript, {} KB, {segments} segment{}",
                source.label(),
                bytes.div_ceil(1024),
                if *segments == 1 { "" } else { "s" }
            )
        }
        TranscriptStatus::Skipped { reason } if reason == podsift::store::CONTENT_PRUNED => {
            format!("transcript and insights {reason}")
        }
        TranscriptStatus::Skipped { reason } => format!("no transcript fetched: {reason}"),
        TranscriptStatus::Failed { error, attempts: 0, retry_at } => match retry_at {
            Some(at) => format!("transcript waiting, next try from {}: {error}", at.format("%Y-%m-%d %H:%M UTC")),
            None => format!("transcript waiting: {error}"),
        },
        TranscriptStatus::Failed { error, attempts, retry_at } => match retry_at {
            Some(at) => format!(
                "no transcript after {attempts} attempt(s), next try from {}: {error}",
                at.format("%Y-%m-%d %H:%M UTC")
            ),
            None => format!("no transcript after {attempts} attempt(s): {error}"),
        },
    }
}

pub fn episode_line(v: &EpisodeView) -> String {
    let e = &v.episode;
    let date = e.published.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "----------".into());
    format!(
        "{date}  {} — {}\n            {}",
        e.podcast_title.as_deref().unwrap_or("?"),
        e.title,
        transcript_label(&e.transcript)
    )
}

/// `ingest --json`: the ingest summary and how many candidate insights were extracted.
#[derive(Serialize)]
pub struct IngestView {
    #[serde(flatten)]
    pub summary: IngestSummary,
    pub insights_extracted: usize,
}

pub fn print_summary(s: &IngestSummary, insights: usize) {
    for r in &s.feeds {
        match &r.outcome {
            FeedOutcome::Fetched { warnings, .. } => {
                for w in warnings {
                    outln!("warning: {}: {w}", r.title.as_deref().unwrap_or(&r.url));
                }
            }
            FeedOutcome::Failed { error, next_attempt_at } => {
                outln!("failed: {}: {error} (next attempt {})", r.url, when(Some(*next_attempt_at)));
            }
            FeedOutcome::Merged { into } => {
                outln!("merged: {} moved to {into}, which is subscribed already: one feed now", r.url);
            }
            _ => {}
        }
    }
    let sources = if s.transcripts.is_empty() {
        "none".to_string()
    } else {
        s.transcripts.iter().map(|(k, v)| format!("{v} {}", k.replace('_', " "))).collect::<Vec<_>>().join(", ")
    };
    outln!(
        "Feeds: {} fetched, {} unchanged, {} failed, {} backing off. New episodes: {}. Transcripts: {}{}. Candidate insights: {insights}.",
        s.feeds_fetched,
        s.feeds_unchanged,
        s.feeds_failed,
        s.feeds_skipped,
        s.new_episodes,
        sources,
        if s.transcripts_failed > 0 { format!(" ({} failed)", s.transcripts_failed) } else { String::new() }
    );
}

pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A progress bar on a terminal, plain log lines otherwise.
pub struct ProgressOutput {
    pub bar: Option<indicatif::ProgressBar>,
}

impl ProgressOutput {
    pub fn new() -> ProgressOutput {
        // A command run for a remote command line has no terminal of its own: plain lines.
        let bar = (std::io::stderr().is_terminal() && !super::out::capturing()).then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} feeds {pos}/{len} [{bar:30}] {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        ProgressOutput { bar }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for ProgressOutput {
    fn started(&self, feeds: usize) {
        match &self.bar {
            Some(bar) => bar.set_length(feeds as u64),
            None => errln!("ingest: fetching {feeds} feed(s)"),
        }
    }

    fn feed_done(&self, r: &FeedReport) {
        let name = r.title.as_deref().unwrap_or(&r.url);
        let line = match &r.outcome {
            FeedOutcome::Fetched { new_episodes, .. } => {
                format!("{name}: {new_episodes} new episode(s)")
            }
            FeedOutcome::Unchanged => format!("{name}: unchanged"),
            FeedOutcome::Merged { into } => format!("{name}: moved to {into}, subscribed already; merged into it"),
            FeedOutcome::Failed { error, .. } => format!("{name}: failed: {error}"),
            FeedOutcome::Skipped { next_attempt_at } => {
                format!("{name}: backing off until {}", when(Some(*next_attempt_at)))
            }
        };
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(line);
            }
            None => errln!("ingest: {line}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_transcript_counts_its_segments_in_english() {
        let one =
            TranscriptStatus::Stored { source: podsift::model::TranscriptSource::ShowNotes, bytes: 300, segments: 1 };
        assert_eq!(transcript_label(&one), "show notes transcript, 1 KB, 1 segment");
        let more =
            TranscriptStatus::Stored { source: podsift::model::TranscriptSource::Vtt, bytes: 3000, segments: 40 };
        assert_eq!(transcript_label(&more), "vtt transcript, 3 KB, 40 segments");
    }

    #[test]
    fn a_failed_transcript_says_when_it_is_tried_again() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-01T10:30:00Z").unwrap().to_utc();
        let waiting = TranscriptStatus::Failed { error: "HTTP 503".into(), attempts: 1, retry_at: Some(at) };
        assert_eq!(
            transcript_label(&waiting),
            "no transcript after 1 attempt(s), next try from 2026-03-01 10:30 UTC: HTTP 503"
        );
        let old = TranscriptStatus::Failed { error: "HTTP 503".into(), attempts: 2, retry_at: None };
        assert_eq!(transcript_label(&old), "no transcript after 2 attempt(s): HTTP 503");
        let budget = TranscriptStatus::Failed { error: "budget spent".into(), attempts: 0, retry_at: Some(at) };
        assert_eq!(transcript_label(&budget), "transcript waiting, next try from 2026-03-01 10:30 UTC: budget spent");
    }

    #[test]
    fn a_feed_that_only_failed_is_not_said_to_be_unfetched() {
        let mut f = Feed::new("https://x/feed", Utc::now());
        assert_eq!(feed_title(&f), "(not fetched yet)");
        f.last_fetch_at = Some(Utc::now());
        assert_eq!(feed_title(&f), "(never fetched successfully)");
        f.last_ok_at = f.last_fetch_at;
        assert_eq!(feed_title(&f), "(untitled feed)");
    }
}
