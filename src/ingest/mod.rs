//! Ingestion: fetch every feed, store new episodes, fetch and parse their transcripts.
//!
//! Restartable and idempotent: an episode is identified by its feed and guid (or enclosure,
//! title and date when there is no guid), so running ingest twice never makes a "new" episode,
//! and an episode seen before is not processed again. One feed failing never stops the others:
//! its error, failure count and next attempt (exponential backoff, or the server's Retry-After)
//! are recorded on the feed and shown by `feeds ls`.

pub mod directory;
pub mod feed;
pub mod fetch;
pub mod opml;
pub mod transcript;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::IngestConfig;
use crate::model::{Episode, Feed, Transcript, TranscriptLink, TranscriptSource, TranscriptStatus};
use crate::store::{Store, StoreError};
use feed::{FeedError, ParsedEpisode, ParsedFeed, parse_feed};
use fetch::{Document, FetchError, Fetched, Fetcher, Limit, Validators};

/// What happened to one feed in one ingest run.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FeedOutcome {
    Fetched {
        new_episodes: usize,
        warnings: Vec<String>,
    },
    /// 304 Not Modified: nothing new, nothing re-parsed.
    Unchanged,
    Failed {
        error: String,
        next_attempt_at: DateTime<Utc>,
    },
    /// Still backing off from earlier failures.
    Skipped {
        next_attempt_at: DateTime<Utc>,
    },
    /// It moved for good to where another subscribed feed is: the same show, so it was merged
    /// into that one (`into`) and is no longer a feed of its own.
    Merged {
        into: String,
    },
}

/// The end-of-run summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestSummary {
    pub feeds_fetched: usize,
    pub feeds_unchanged: usize,
    pub feeds_failed: usize,
    pub feeds_skipped: usize,
    pub new_episodes: usize,
    /// Transcripts stored in this run, by source ("vtt", "show notes", ...).
    pub transcripts: BTreeMap<String, usize>,
    pub transcripts_failed: usize,
    pub feeds: Vec<FeedReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedReport {
    pub url: String,
    pub title: Option<String>,
    #[serde(flatten)]
    pub outcome: FeedOutcome,
}

/// Progress notifications, for a progress bar or log lines.
pub trait Progress: Sync {
    fn started(&self, _feeds: usize) {}
    fn feed_done(&self, _report: &FeedReport) {}
}

/// No progress output.
pub struct Quiet;
impl Progress for Quiet {}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot set up the HTTP client: {0}")]
    Client(FetchError),
}

/// Options of one run.
#[derive(Debug, Clone, Copy)]
pub struct IngestOptions {
    pub now: DateTime<Utc>,
    /// Fetch feeds that are still backing off.
    pub force: bool,
}

/// Turns an episode's audio into timed segments, for episodes that publish no transcript.
pub trait Transcriber: Send + Sync {
    fn transcribe<'a>(
        &'a self,
        episode: &'a Episode,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<crate::model::Segment>, TranscribeError>>;
}

/// Why speech-to-text gave no transcript.
#[derive(Debug, Clone, PartialEq)]
pub enum TranscribeError {
    /// This episode's audio failed (download, server error, an answer without speech): an
    /// attempt spent.
    Failed(String),
    /// No episode can be transcribed now (the day's budget is spent, the server refused the
    /// key): the episode waits for a later ingest without spending an attempt, and is not given
    /// its show notes instead.
    NotNow(String),
}

/// Why an episode has no transcript after this ingest.
enum Miss {
    /// Counts as one of its `transcript_attempts`.
    Failed(String),
    /// Waits without spending an attempt ([`TranscribeError::NotNow`]).
    NotNow(String),
}

/// What every stage of one feed's ingest needs.
struct Ctx<'a> {
    fetcher: &'a Fetcher,
    config: &'a IngestConfig,
    transcriber: Option<&'a dyn Transcriber>,
    now: DateTime<Utc>,
    /// `ingest --force`: feeds backing off and transcripts waiting to be tried again go now.
    force: bool,
}

/// Fetches every feed once and stores what is new. Errors are per feed (in the summary) except
/// store failures, which stop the run.
pub async fn ingest(
    store: &Store,
    config: &IngestConfig,
    opts: IngestOptions,
    progress: &dyn Progress,
) -> Result<IngestSummary, IngestError> {
    ingest_with(store, config, opts, progress, None).await
}

/// `ingest`, transcribing episodes without a transcript when a transcriber is given.
pub async fn ingest_with(
    store: &Store,
    config: &IngestConfig,
    opts: IngestOptions,
    progress: &dyn Progress,
    transcriber: Option<&dyn Transcriber>,
) -> Result<IngestSummary, IngestError> {
    let fetcher = Fetcher::new(config).map_err(IngestError::Client)?;
    ingest_through(store, config, &fetcher, opts, progress, transcriber).await
}

/// `ingest_with` through a given fetcher: one that tells private addresses from public ones in
/// its own way ([`Fetcher::with_address_class`]), as the tests' loopback "public" feeds need.
pub async fn ingest_through(
    store: &Store,
    config: &IngestConfig,
    fetcher: &Fetcher,
    opts: IngestOptions,
    progress: &dyn Progress,
    transcriber: Option<&dyn Transcriber>,
) -> Result<IngestSummary, IngestError> {
    let ctx = Ctx { fetcher, config, transcriber, now: opts.now, force: opts.force };
    let mut feeds = store.feeds()?;
    // Fetching (and transcribing) for chats that paused or left would cost without a reader;
    // the operator's own feeds are read whoever else follows them.
    let asleep = store.feeds_nobody_reads(opts.now, None)?;
    let before = feeds.len();
    feeds.retain(|f| !(f.reader_added && asleep.contains(&f.url)));
    if feeds.len() < before {
        tracing::info!(feeds = before - feeds.len(), "not read: only paused or long-quiet chats follow them");
    }
    progress.started(feeds.len());
    let mut results = futures_util::stream::iter(feeds)
        .map(|feed| {
            let (url, title) = (feed.url.clone(), feed.title.clone());
            let ctx = &ctx;
            async move { (url, title, ingest_feed(store, ctx, opts, feed).await) }
        })
        .buffer_unordered(config.concurrency);
    let mut summary = IngestSummary::default();
    while let Some((url, title, result)) = results.next().await {
        let (report, transcripts) = match result {
            Ok(done) => done,
            // One unreadable record is that feed's failure this time, not every feed's: the
            // others are fetched, and the message says how to read the feed afresh.
            Err(e @ (StoreError::Corrupt { .. } | StoreError::NewerRecord { .. })) => {
                tracing::error!(feed = %url, "{e}");
                let error = match e {
                    StoreError::Corrupt { .. } => format!(
                        "{e}; this feed is not read until then: `podsift feeds rm {url}` and `podsift feeds add {url}` read it afresh"
                    ),
                    _ => e.to_string(),
                };
                (
                    FeedReport { url, title, outcome: FeedOutcome::Failed { error, next_attempt_at: opts.now } },
                    Vec::new(),
                )
            }
            Err(e) => return Err(e.into()),
        };
        match &report.outcome {
            FeedOutcome::Fetched { new_episodes, .. } => {
                summary.feeds_fetched += 1;
                summary.new_episodes += new_episodes;
            }
            FeedOutcome::Unchanged | FeedOutcome::Merged { .. } => summary.feeds_unchanged += 1,
            FeedOutcome::Failed { .. } => summary.feeds_failed += 1,
            FeedOutcome::Skipped { .. } => summary.feeds_skipped += 1,
        }
        for t in transcripts {
            match t {
                Some(source) => *summary.transcripts.entry(source.key().to_string()).or_default() += 1,
                None => summary.transcripts_failed += 1,
            }
        }
        progress.feed_done(&report);
        summary.feeds.push(report);
    }
    drop(results);
    summary.feeds.sort_by(|a, b| a.url.cmp(&b.url));
    store.flush()?;
    Ok(summary)
}

impl IngestSummary {
    /// Counts this ingest, and the `insights` extracted after it, in `metrics`: the service's
    /// own ingests and those asked for while it runs alike.
    pub fn count_in(&self, metrics: &crate::metrics::Metrics, insights: usize) {
        use crate::metrics::Metrics;
        Metrics::add(&metrics.feeds_fetched, (self.feeds_fetched + self.feeds_unchanged) as u64);
        Metrics::add(&metrics.feeds_failed, self.feeds_failed as u64);
        Metrics::add(&metrics.episodes, self.new_episodes as u64);
        Metrics::add(&metrics.insights, insights as u64);
        let failing = (self.feeds_failed + self.feeds_skipped) as u64;
        metrics.feeds_failing.store(failing, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Transcript results of one feed: the source stored, or None for a failure.
type TranscriptResults = Vec<Option<TranscriptSource>>;

/// Stores what this fetch learned about `feed`, keeping what the operator or readers changed
/// while it ran (the service takes commands during an ingest). False when the feed was removed
/// meanwhile: it is not brought back.
fn save_fetch_state(store: &Store, feed: &mut Feed) -> Result<bool, StoreError> {
    let Some(now) = store.feed(&feed.url)? else {
        return Ok(false);
    };
    feed.reader_added = now.reader_added;
    feed.public_only = now.public_only;
    store.update_feed(feed)
}

async fn ingest_feed(
    store: &Store,
    ctx: &Ctx<'_>,
    opts: IngestOptions,
    mut feed: Feed,
) -> Result<(FeedReport, TranscriptResults), StoreError> {
    let (fetcher, config) = (ctx.fetcher, ctx.config);
    let report = |feed: &Feed, outcome| FeedReport { url: feed.url.clone(), title: feed.title.clone(), outcome };
    if let Some(next) = feed.next_attempt_at.filter(|n| *n > opts.now && !opts.force) {
        return Ok((report(&feed, FeedOutcome::Skipped { next_attempt_at: next }), Vec::new()));
    }
    let validators = Validators { etag: feed.etag.clone(), last_modified: feed.last_modified.clone() };
    feed.last_fetch_at = Some(opts.now);
    // A feed a reader named from an address the operator did not allow is fetched from public
    // addresses only, every time: its name may resolve elsewhere later.
    let guarded;
    let fetcher = if feed.public_only {
        guarded = fetcher.for_links_of(false);
        &guarded
    } else {
        fetcher
    };
    let (outcome, body) = match read_feed(fetcher, &feed.fetch_url, &validators, config.max_feed_bytes).await {
        Ok(FeedRead::Unchanged { private_origin, moved_to }) => {
            feed.private_origin = private_origin;
            if let Some(moved) = moved_to {
                moved_permanently(&mut feed, moved);
            }
            (FeedOutcome::Unchanged, None)
        }
        Ok(FeedRead::Read(body, parsed)) => {
            feed.private_origin = body.private_origin;
            (FeedOutcome::Fetched { new_episodes: 0, warnings: parsed.warnings.clone() }, Some((body, parsed)))
        }
        Err(e) => {
            let outcome = record_failure(&mut feed, config, opts.now, e.to_string(), e.retry_after());
            save_fetch_state(store, &mut feed)?;
            return Ok((report(&feed, outcome), Vec::new()));
        }
    };
    // Where it moved may be a show subscribed already: that one, not a second copy of it.
    let moved = body
        .as_ref()
        .and_then(|(body, _)| body.moved_to.as_deref())
        .or((feed.fetch_url != feed.url).then_some(feed.fetch_url.as_str()));
    if let Some(into) = moved.map(|to| merge_into_known(store, &feed, to)).transpose()?.flatten() {
        return Ok((report(&feed, FeedOutcome::Merged { into }), Vec::new()));
    }
    let mut outcome = outcome;
    if let Some((body, parsed)) = body {
        if feed.title.is_none() || parsed.title.is_some() {
            feed.title = parsed.title.clone().or(feed.title.take());
        }
        let mut new = 0;
        // A newly added feed's undated items cannot say which are this week's and which are
        // years old: the first (feeds list the newest first) is taken as new, the others as
        // back catalogue, or the whole archive would be downloaded and fill today's digest.
        // Undated items that appear later are new when they appear.
        let first_fetch = feed.last_ok_at.is_none();
        let mut undated_taken = false;
        let (mut not_episodes, mut implausible_dates, mut dated_ahead) = (0, 0, 0);
        // The feed's audio files, read once a new id shows up: an item whose guid changed (a
        // host migration, a CMS that rewrites them) but whose audio is one already stored is
        // that episode, not a new one to fetch, extract and show again.
        let mut audio: Option<HashSet<String>> = None;
        // A guid that several items carry (numbers restarting each season, the show's page as
        // every item's guid) tells none of them apart: those items are known by their audio,
        // title and date instead, or every one after the first would be taken for it.
        let mut guids: HashMap<&str, usize> = HashMap::new();
        for g in parsed.episodes.iter().filter_map(|p| p.guid.as_deref()) {
            *guids.entry(g).or_default() += 1;
        }
        let shared: Vec<&str> = guids.iter().filter(|(_, n)| **n > 1).map(|(g, _)| *g).collect();
        if !shared.is_empty() {
            if let FeedOutcome::Fetched { warnings, .. } = &mut outcome {
                warnings.push(format!(
                    "{} guid(s) are shared by several items (e.g. {:?}); those items are told apart by their audio, title and date",
                    shared.len(),
                    shared[0].chars().take(80).collect::<String>()
                ));
            }
        }
        for p in &parsed.episodes {
            // The episode stored under this item's guid is this item: known by its title, or
            // its audio without the query a host signs anew.
            let base = |u: &str| without_query(u).to_string();
            let same = |e: &Episode| {
                p.title.as_deref().is_some_and(|t| t == e.title)
                    || p.enclosure_url
                        .as_deref()
                        .map(base)
                        .is_some_and(|u| e.enclosure_url.as_deref().map(base) == Some(u))
            };
            let without_guid = || episode_id(&feed.url, &ParsedEpisode { guid: None, ..p.clone() });
            let id = match p.guid.as_deref() {
                // The item stored under the guid before it was shared keeps that identity.
                Some(g) if shared.contains(&g) => {
                    let by_guid = episode_id(&feed.url, p);
                    if store.episode(&by_guid)?.is_some_and(|e| same(&e)) { by_guid } else { without_guid() }
                }
                // A guid used again for another episode (numbers restarting in a later season,
                // once the old items left the feed): another title, other audio and another
                // date say it is not the stored one.
                // Told apart before: it keeps the identity it was given then.
                Some(_) if store.has_episode(&without_guid())? => without_guid(),
                // Only an item dated in the last month can be such a new episode: the back
                // catalogue is not read record by record at every ingest.
                Some(_) if p.published.is_some_and(|d| d > opts.now - chrono::Duration::days(30)) => {
                    let by_guid = episode_id(&feed.url, p);
                    let days_apart =
                        |e: &Episode| p.published.zip(e.published).is_some_and(|(a, b)| (a - b).num_hours().abs() > 24);
                    match store.episode(&by_guid)? {
                        Some(e) if !same(&e) && days_apart(&e) => without_guid(),
                        _ => by_guid,
                    }
                }
                Some(_) => episode_id(&feed.url, p),
                None => episode_id(&feed.url, p),
            };
            if store.has_episode(&id)? {
                // A transcript link added after the episode came out (hosts often add it an hour
                // later) is taken up while the episode still waits for one.
                if !p.transcripts.is_empty() {
                    if let Some(mut known) = store.episode(&id)? {
                        let waiting =
                            matches!(known.transcript, TranscriptStatus::Pending | TranscriptStatus::Failed { .. });
                        if waiting && known.transcripts != p.transcripts {
                            // A host that signs its links anew on every read changes only the
                            // query: the fresh address is kept, but it is no new link.
                            let addresses = |links: &[TranscriptLink]| -> Vec<String> {
                                links.iter().map(|l| format!("{} {}", without_query(&l.url), l.mime)).collect()
                            };
                            let new_link = addresses(&known.transcripts) != addresses(&p.transcripts);
                            known.transcripts = p.transcripts.clone();
                            // A new link is worth trying now, not when the last failure's wait ends.
                            if let TranscriptStatus::Failed { retry_at, .. } = &mut known.transcript
                                && new_link
                            {
                                *retry_at = None;
                            }
                            store.put_episode(&known)?;
                        }
                    }
                }
                continue;
            }
            // Neither audio nor a transcript: a post or an announcement ("we're on a break"),
            // not an episode to take insights from.
            if p.enclosure_url.is_none() && p.transcripts.is_empty() {
                not_episodes += 1;
                continue;
            }
            let seen = match &mut audio {
                Some(seen) => seen,
                None => {
                    let mut known = HashSet::new();
                    for stored in store.episode_ids_of_feed(&feed.url)? {
                        known.extend(store.episode(&stored)?.and_then(|e| e.enclosure_url));
                    }
                    audio.insert(known)
                }
            };
            if let Some(url) = &p.enclosure_url {
                if !seen.insert(url.clone()) {
                    continue;
                }
            }
            // A date no episode can have is no date: before podcasts were (a CMS writing its
            // "none" as 1970) or years ahead (a typo). Undated, the episode is new when seen.
            let dated;
            let p = match p.published {
                Some(d) if !plausible_date(d, opts.now) => {
                    implausible_dates += 1;
                    dated = ParsedEpisode { published: None, ..p.clone() };
                    &dated
                }
                _ => p,
            };
            let mut episode = new_episode(&feed, p, id, opts.now);
            // Listed only now, days after its date, by a feed read before: it was published
            // while the feed failed (or the feed dates items back). Older than a week it is
            // back catalogue; a feed's first read lists its archive, not late news.
            episode.arrived_late = !first_fetch
                && p.published.is_some_and(|d| d < opts.now - LATE_AFTER && d >= opts.now - chrono::Duration::days(7));
            // Dated ahead (a wrong timezone, an early listing): it is here now, and its date's
            // digest could be days away.
            if p.published.is_some_and(|d| d > opts.now + AHEAD_AFTER) {
                episode.arrived_late = true;
                dated_ahead += 1;
            }
            if p.published.is_none() {
                if first_fetch && undated_taken {
                    episode.transcript = TranscriptStatus::Skipped { reason: UNDATED_BACK_CATALOGUE.to_string() };
                }
                undated_taken = true;
            }
            store.put_episode(&episode)?;
            new += 1;
        }
        if let FeedOutcome::Fetched { new_episodes, warnings } = &mut outcome {
            *new_episodes = new;
            if not_episodes > 0 {
                warnings.push(format!("{not_episodes} new item(s) with neither audio nor a transcript skipped"));
            }
            if dated_ahead > 0 {
                warnings.push(format!(
                    "{dated_ahead} new item(s) dated ahead of now; counted as new now (shown with their own date)"
                ));
            }
            if implausible_dates > 0 {
                warnings.push(format!(
                    "{implausible_dates} new item(s) dated before 2000 or over a year ahead; taken as undated (new when first seen)"
                ));
            }
            for w in warnings.iter() {
                tracing::info!(feed = %feed.url, "{w}");
            }
            feed.last_warnings = warnings.iter().take(Feed::MAX_WARNINGS).map(|w| crate::model::cut(w, 300)).collect();
        }
        // Validators are stored only after the episodes: a crash in between means one more full
        // fetch, never a missed episode.
        feed.etag = body.validators.etag;
        feed.last_modified = body.validators.last_modified;
        if let Some(moved) = body.moved_to {
            moved_permanently(&mut feed, moved);
        }
    }
    feed.last_ok_at = Some(opts.now);
    feed.last_error = None;
    feed.consecutive_failures = 0;
    feed.next_attempt_at = None;
    if !save_fetch_state(store, &mut feed)? {
        return Ok((report(&feed, outcome), Vec::new()));
    }
    let transcripts = fetch_transcripts(store, ctx, &feed).await?;
    Ok((report(&feed, outcome), transcripts))
}

/// How long after its date an episode may first be listed and still count from its date.
const LATE_AFTER: chrono::Duration = chrono::Duration::hours(24);
/// A date this far past the time of the fetch is ahead of it, not a clock a little fast.
const AHEAD_AFTER: chrono::Duration = chrono::Duration::hours(1);

/// Why an undated item of a newly added feed gets no transcript.
const UNDATED_BACK_CATALOGUE: &str =
    "undated and already in the feed when it was added: taken for back catalogue (only its first undated item is new)";

/// How long after its `attempts`-th failure an episode's transcript is tried again: doubling
/// from `transcript_retry_secs`, at most a day.
fn retry_wait(config: &IngestConfig, attempts: u32) -> chrono::Duration {
    use std::time::Duration;
    let wait = crate::http::exponential(
        Duration::from_secs(config.transcript_retry_secs),
        attempts,
        Duration::from_secs(86_400),
    );
    chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::days(1))
}

/// Published more than `transcript_max_age_days` ago (0: no age is too old).
fn too_old(config: &IngestConfig, episode: &Episode, now: DateTime<Utc>) -> bool {
    let max_age = config.transcript_max_age_days;
    max_age > 0 && episode.published_or_seen() < now - chrono::Duration::days(max_age as i64)
}

fn given_up(error: &str, attempts: u32) -> TranscriptStatus {
    TranscriptStatus::Skipped { reason: format!("given up after {attempts} attempt(s): {error}") }
}

/// When `to`, where `feed` moved for good, is another subscribed feed (its address, another
/// spelling of it, or where that one moved): `feed` is merged into it. The chats that picked
/// `feed` get that one instead, it becomes the operator's if `feed` was, and `feed` is removed
/// with what was ingested from it (the same episodes, stored twice). Returns its address.
fn merge_into_known(store: &Store, feed: &Feed, to: &str) -> Result<Option<String>, StoreError> {
    let Some(mut into) = store.feeds()?.into_iter().find(|f| f.url != feed.url && f.is_at(to)) else {
        return Ok(None);
    };
    tracing::info!(feed = %feed.url, into = %into.url, "feed moved to a feed already subscribed; merged into it");
    for (key, list) in store.podcast_lists()? {
        if list.contains(&feed.url) {
            let mut merged: Vec<String> = Vec::with_capacity(list.len());
            for url in list {
                let url = if url == feed.url { into.url.clone() } else { url };
                if !merged.contains(&url) {
                    merged.push(url);
                }
            }
            store.put_podcast_list(&key, &merged)?;
        }
    }
    if into.reader_added && !feed.reader_added {
        into.reader_added = false;
        into.public_only = false;
        store.update_feed(&into)?;
    }
    store.remove_feed(&feed.url)?;
    store.flush()?;
    Ok(Some(into.url))
}

fn moved_permanently(feed: &mut Feed, to: String) {
    tracing::info!(feed = %feed.url, to = %to, "feed moved permanently; fetching from the new address from now on");
    feed.fetch_url = to;
}

/// Longest a feed document may take to parse; past it the feed is this run's failure, not a
/// stalled ingest.
pub const PARSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Parser threads alive at once, those a timeout stopped waiting for included: a document that
/// keeps a parser busy for ever holds one until it ends, so trying it again and again cannot
/// pile up threads and the bodies they hold.
const MAX_PARSERS: usize = 16;

fn parsers() -> std::sync::Arc<tokio::sync::Semaphore> {
    static PARSERS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
    PARSERS.get_or_init(|| std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_PARSERS))).clone()
}

/// Why a feed could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadFeedError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] FeedError),
}

impl ReadFeedError {
    /// The wait the server asked for, if any. A feed answered 410 Gone (its host says it was
    /// removed for good) is asked again weekly, not daily for as long as podsift runs.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            ReadFeedError::Fetch(FetchError::Status { status: 410, .. }) => {
                Some(std::time::Duration::from_secs(7 * 86_400))
            }
            ReadFeedError::Fetch(e) => e.retry_after(),
            ReadFeedError::Parse(_) => None,
        }
    }
}

/// A feed as [`read_feed`] found it.
#[derive(Debug)]
pub enum FeedRead {
    /// 304: nothing to parse; whether the server is private or local still counts.
    Unchanged { private_origin: bool, moved_to: Option<String> },
    /// The body (its bytes handed to the parser: validators and addresses remain) and the feed.
    Read(fetch::Body, ParsedFeed),
}

/// Fetches a feed and parses it, as every ingest does.
/// The parse runs on its own thread, bounded by [`PARSE_TIMEOUT`]: a document that sends a parser
/// into a loop costs that thread, never the runtime's workers or the other feeds.
pub async fn read_feed(
    fetcher: &Fetcher,
    location: &str,
    validators: &Validators,
    limit: u64,
) -> Result<FeedRead, ReadFeedError> {
    let limit = Limit { bytes: limit, what: Document::Feed };
    let mut body = match fetcher.fetch(location, validators, limit).await? {
        Fetched::NotModified { private_origin, moved_to } => {
            return Ok(FeedRead::Unchanged { private_origin, moved_to });
        }
        Fetched::Body(body) => body,
    };
    let secs = PARSE_TIMEOUT.as_secs();
    let Ok(Ok(permit)) = tokio::time::timeout(PARSE_TIMEOUT, parsers().acquire_owned()).await else {
        return Err(FeedError::Unreadable(format!(
            "every feed parser is still busy with documents that took longer than {secs} s; the feed is tried again later"
        ))
        .into());
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (bytes, base) = (std::mem::take(&mut body.bytes), body.final_url.clone());
    std::thread::Builder::new()
        .name("feed-parse".into())
        .spawn(move || {
            // Held until the parse ends, however long after the wait for it was given up.
            let _permit = permit;
            let _ = tx.send(parse_feed(&bytes, &base));
        })
        .map_err(|e| FeedError::Unreadable(format!("cannot start a parser thread: {e}")))?;
    let parsed = match tokio::time::timeout(PARSE_TIMEOUT, rx).await {
        Ok(Ok(parsed)) => parsed?,
        Ok(Err(_)) => return Err(FeedError::Unreadable("the parser stopped without an answer".into()).into()),
        Err(_) => {
            return Err(FeedError::Unreadable(format!("parsing took longer than {secs} s; the feed is skipped")).into());
        }
    };
    Ok(FeedRead::Read(body, parsed))
}

fn record_failure(
    feed: &mut Feed,
    config: &IngestConfig,
    now: DateTime<Utc>,
    error: String,
    retry_after: Option<std::time::Duration>,
) -> FeedOutcome {
    // A store the demo was run on keeps its feeds, whose server is gone once the demo ends.
    let error = if feed.url.starts_with("demo:") {
        format!(
            "{error} (a demo feed, served only while `podsift demo` or `podsift run --demo` runs; `podsift feeds rm {}` removes it)",
            feed.url
        )
    } else {
        error
    };
    feed.consecutive_failures = feed.consecutive_failures.saturating_add(1);
    let wait = retry_after.unwrap_or_else(|| backoff(config, feed.consecutive_failures));
    let next = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::days(1));
    // A blip is info (the summary and `feeds ls` report it); a feed failing run after run is a
    // warning, which a service logging warnings only still shows.
    if feed.consecutive_failures >= FAILURES_WORTH_A_WARNING {
        tracing::warn!(feed = %feed.url, failures = feed.consecutive_failures, "{error}");
    } else {
        tracing::info!(feed = %feed.url, failures = feed.consecutive_failures, "{error}");
    }
    feed.last_error = Some(error.clone());
    feed.next_attempt_at = Some(next);
    FeedOutcome::Failed { error, next_attempt_at: next }
}

/// Failures in a row from which a feed's failure is logged as a warning.
pub const FAILURES_WORTH_A_WARNING: u32 = 3;

/// base * 2^(failures-1), capped.
pub fn backoff(config: &IngestConfig, failures: u32) -> std::time::Duration {
    use std::time::Duration;
    crate::http::exponential(
        Duration::from_secs(config.backoff_base_secs),
        failures,
        Duration::from_secs(config.backoff_max_secs),
    )
}

/// Whether a feed's date can be an episode's: from 2000 on and at most a year ahead (an episode
/// scheduled ahead is listed days before, not years).
fn plausible_date(date: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    let earliest = DateTime::from_timestamp(946_684_800, 0).unwrap_or_default();
    date >= earliest && date <= now + chrono::Duration::days(366)
}

/// An address without its query and fragment: what stays of an audio link a host signs anew.
fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// Stable episode identity: feed + guid, or feed + enclosure + title + date without a guid.
pub fn episode_id(feed_url: &str, p: &ParsedEpisode) -> String {
    let mut h = Sha256::new();
    h.update(feed_url.as_bytes());
    h.update([0]);
    match &p.guid {
        Some(guid) => {
            h.update(b"guid\0");
            h.update(guid.as_bytes());
        }
        None => {
            h.update(b"derived\0");
            // Hosts sign audio addresses anew at every fetch (?token=...&expires=...): with a
            // title or a date to tell episodes apart, the address counts without its query, or
            // every ingest would find the whole feed new.
            let audio = p.enclosure_url.as_deref().unwrap_or("");
            let audio = if p.title.is_some() || p.published.is_some() { without_query(audio) } else { audio };
            h.update(audio.as_bytes());
            h.update([0]);
            h.update(p.title.as_deref().unwrap_or("").as_bytes());
            h.update([0]);
            h.update(p.published.map(|d| d.to_rfc3339()).unwrap_or_default().as_bytes());
            h.update([0]);
            h.update(p.link.as_deref().unwrap_or("").as_bytes());
        }
    }
    let digest = h.finalize();
    crate::http::hex(&digest[..12])
}

fn new_episode(feed: &Feed, p: &ParsedEpisode, id: String, now: DateTime<Utc>) -> Episode {
    Episode {
        id,
        feed_url: feed.url.clone(),
        podcast_title: feed.title.clone(),
        guid: p.guid.clone(),
        title: p.title.clone().unwrap_or_else(|| "(untitled episode)".to_string()),
        link: p.link.clone(),
        enclosure_url: p.enclosure_url.clone(),
        published: p.published,
        duration_secs: p.duration_secs,
        show_notes: p.show_notes.clone(),
        transcripts: p.transcripts.clone(),
        chapters_url: p.chapters_url.clone(),
        persons: p.persons.clone(),
        first_seen_at: now,
        transcript: TranscriptStatus::Pending,
        insights_extracted: false,
        stand_in_extractions: 0,
        feed_private_origin: feed.private_origin,
        arrived_late: false,
    }
}

/// Gets transcripts for the feed's episodes that still need one: new episodes, and earlier
/// failures that have attempts left.
async fn fetch_transcripts(store: &Store, ctx: &Ctx<'_>, feed: &Feed) -> Result<TranscriptResults, StoreError> {
    let config = ctx.config;
    let mut results = Vec::new();
    // Most ingests find no episode waiting: the feed's back catalogue is not read for them.
    let episodes: Vec<Episode> = store
        .episode_ids_wanting_transcript(&feed.url)?
        .iter()
        .map(|id| store.episode(id))
        .filter_map(Result::transpose)
        .collect::<Result<_, _>>()?;
    if episodes.is_empty() {
        return Ok(results);
    }
    // A feed that has linked transcripts before will most likely link this one's too, a little
    // later: its show notes are the last resort only after the attempts.
    let mut links_transcripts = false;
    for id in store.episode_ids_of_feed(&feed.url)? {
        let linked = store.episode(&id)?.is_some_and(|e| {
            matches!(
                e.transcript,
                TranscriptStatus::Stored { source, .. } if !matches!(source, TranscriptSource::ShowNotes | TranscriptSource::SpeechToText)
            )
        });
        if linked {
            links_transcripts = true;
            break;
        }
    }
    let started = std::time::Instant::now();
    let budget = std::time::Duration::from_secs(config.transcripts_budget_secs);
    for mut episode in episodes {
        let max_age = config.transcript_max_age_days;
        if episode.transcript == TranscriptStatus::Pending && too_old(config, &episode, ctx.now) {
            episode.transcript = TranscriptStatus::Skipped {
                reason: format!("published more than {max_age} days ago (ingest.transcript_max_age_days)"),
            };
            store.put_episode(&episode)?;
            continue;
        }
        let attempts = match &episode.transcript {
            TranscriptStatus::Pending => 0,
            // Not yet time: left untouched for a later ingest. One that starts a little early (a
            // timer's jitter, an ingest period equal to the wait) is on time.
            TranscriptStatus::Failed { retry_at: Some(at), attempts, .. }
                if *at > ctx.now + chrono::Duration::minutes(2)
                    && *attempts < config.transcript_attempts
                    && !ctx.force =>
            {
                continue;
            }
            TranscriptStatus::Failed { attempts, .. } if *attempts < config.transcript_attempts => *attempts,
            // Out of attempts (in a store from before they were given up at once): given up.
            TranscriptStatus::Failed { error, attempts, .. } => {
                episode.transcript = given_up(error, *attempts);
                store.put_episode(&episode)?;
                continue;
            }
            _ => continue,
        };
        if started.elapsed() >= budget {
            // Left as they are: the next ingest takes them up where this one stopped.
            tracing::info!(feed = %feed.url, "transcripts took their time budget; the rest wait for the next ingest");
            break;
        }
        // Where the feed is now decides which addresses its links may reach, not where it was.
        episode.feed_private_origin = feed.private_origin;
        match transcript_for(ctx, &episode, links_transcripts).await {
            Ok(t) => {
                episode.transcript = TranscriptStatus::Stored {
                    source: t.source,
                    bytes: t.segments.iter().map(|s| s.text.len() as u64).sum(),
                    segments: t.segments.len(),
                };
                store.put_transcript(&episode, &t)?;
                results.push(Some(t.source));
            }
            Err(Miss::NotNow(why)) => {
                tracing::info!(episode = %episode.title, "transcript waits for a later ingest: {why}");
                episode.transcript = TranscriptStatus::Failed {
                    error: why,
                    attempts,
                    retry_at: Some(ctx.now + retry_wait(config, attempts.max(1))),
                };
                store.put_episode(&episode)?;
            }
            Err(Miss::Failed(error)) => {
                tracing::warn!(episode = %episode.title, "{error}");
                let attempts = attempts + 1;
                // The last attempt failing gives the episode up: it is not looked at again.
                episode.transcript = if attempts >= config.transcript_attempts {
                    given_up(&error, attempts)
                } else {
                    TranscriptStatus::Failed { error, attempts, retry_at: Some(ctx.now + retry_wait(config, attempts)) }
                };
                store.put_episode(&episode)?;
                results.push(None);
            }
        }
    }
    Ok(results)
}

/// The best transcript available: the richest declared format that fetches and parses, else
/// the show notes once the declared ones have had their attempts.
async fn transcript_for(ctx: &Ctx<'_>, episode: &Episode, links_expected: bool) -> Result<Transcript, Miss> {
    let config = ctx.config;
    // The links come from whoever wrote the feed: see fetch's module notes.
    let fetcher = ctx.fetcher.for_links_of(episode.feed_private_origin);
    let mut errors = Vec::new();
    let transcript_limit = Limit { bytes: config.max_transcript_bytes, what: Document::Transcript };
    for (source, link) in transcript::ranked_links(&episode.transcripts) {
        let result = match fetcher.fetch(&link.url, &Validators::default(), transcript_limit).await {
            Ok(Fetched::Body(body)) => transcript::parse(source, &body.bytes).map_err(|e| e.to_string()),
            Ok(Fetched::NotModified { .. }) => Err("unexpected 304".to_string()),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(segments) => {
                return Ok(Transcript {
                    episode_id: episode.id.clone(),
                    source,
                    url: Some(link.url.clone()),
                    fetched_at: Utc::now(),
                    segments,
                });
            }
            Err(e) => errors.push(format!("{} transcript: {e}", source.label())),
        }
    }
    let attempts_left = match &episode.transcript {
        TranscriptStatus::Failed { attempts, .. } => attempts + 1 < config.transcript_attempts,
        _ => config.transcript_attempts > 1,
    };
    // A feed that links transcripts, without a link for this episode yet: wait for it at the
    // next ingests rather than pay for speech-to-text or settle for the show notes.
    if episode.transcripts.is_empty() && links_expected && attempts_left {
        return Err(Miss::Failed(
            "no transcript link yet (this feed links them, often a little after the episode)".to_string(),
        ));
    }
    let mut settle = false;
    // No transcript published: the audio itself, when a transcriber is configured.
    if let (true, Some(t), Some(_)) = (episode.transcripts.is_empty(), ctx.transcriber, &episode.enclosure_url) {
        match t.transcribe(episode).await {
            Ok(segments) if !segments.is_empty() => {
                return Ok(Transcript {
                    episode_id: episode.id.clone(),
                    source: TranscriptSource::SpeechToText,
                    url: episode.enclosure_url.clone(),
                    fetched_at: Utc::now(),
                    segments,
                });
            }
            Ok(_) => errors.push("speech-to-text: no speech found".to_string()),
            Err(TranscribeError::Failed(e)) => errors.push(format!("speech-to-text: {e}")),
            // Past `transcript_max_age_days` an episode waits no longer: its show notes stand
            // in, as for any old episode.
            Err(TranscribeError::NotNow(e)) if too_old(config, episode, ctx.now) => {
                errors.push(format!("speech-to-text: {e}"));
                settle = true;
            }
            Err(TranscribeError::NotNow(e)) => return Err(Miss::NotNow(format!("speech-to-text: {e}"))),
        }
    }
    if !errors.is_empty() && attempts_left && !settle {
        return Err(Miss::Failed(errors.join("; ")));
    }
    match transcript::parse(TranscriptSource::ShowNotes, episode.show_notes.as_bytes()) {
        Ok(segments) => Ok(Transcript {
            episode_id: episode.id.clone(),
            source: TranscriptSource::ShowNotes,
            url: None,
            fetched_at: Utc::now(),
            segments,
        }),
        Err(_) => {
            errors.push("no transcript and no show notes".to_string());
            Err(Miss::Failed(errors.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parsers still busy with documents that never finish are counted: once all are taken, a
    /// feed waits for one as long as a parse may take, then fails this run, starting no thread.
    #[tokio::test(start_paused = true)]
    async fn parsers_stuck_for_ever_are_counted_not_multiplied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.xml");
        std::fs::write(&path, "<rss><channel><title>T</title><item><title>One</title></item></channel></rss>").unwrap();
        let location = path.to_str().unwrap();
        let fetcher = Fetcher::new(&IngestConfig::default()).unwrap();
        let validators = Validators::default();
        let read = || read_feed(&fetcher, location, &validators, 1 << 20);
        let stuck = parsers().acquire_many_owned(MAX_PARSERS as u32).await.unwrap();
        let err = read().await.map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("every feed parser is still busy"), "{err}");
        drop(stuck);
        // The clock runs again: the parse itself happens on a thread, in real time.
        tokio::time::resume();
        let read = read().await.map_err(|e| e.to_string());
        assert!(matches!(&read, Ok(FeedRead::Read(_, parsed)) if parsed.episodes.len() == 1), "{:?}", read.err());
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let c = IngestConfig { backoff_base_secs: 60, backoff_max_secs: 600, ..IngestConfig::default() };
        assert_eq!(backoff(&c, 1).as_secs(), 60);
        assert_eq!(backoff(&c, 2).as_secs(), 120);
        assert_eq!(backoff(&c, 4).as_secs(), 480);
        assert_eq!(backoff(&c, 5).as_secs(), 600);
        assert_eq!(backoff(&c, 100).as_secs(), 600);
    }

    #[test]
    fn episode_ids_are_stable_without_guid() {
        let p = ParsedEpisode { enclosure_url: Some("http://x/a.mp3".into()), ..Default::default() };
        assert_eq!(episode_id("f", &p), episode_id("f", &p.clone()));
        let q = ParsedEpisode { enclosure_url: Some("http://x/b.mp3".into()), ..Default::default() };
        assert_ne!(episode_id("f", &p), episode_id("f", &q));
        assert_ne!(episode_id("f", &p), episode_id("g", &p));
        // A signed address that changes at every fetch is the same episode.
        let signed = |token: &str| ParsedEpisode {
            title: Some("Ep 1".into()),
            enclosure_url: Some(format!("https://cdn.example/ep1.mp3?token={token}&expires=9")),
            ..Default::default()
        };
        assert_eq!(episode_id("f", &signed("abc")), episode_id("f", &signed("def")));
        // Without a title or date, the query may be all that tells two episodes apart.
        let bare = |id: &str| ParsedEpisode {
            enclosure_url: Some(format!("https://x/play.mp3?id={id}")),
            ..Default::default()
        };
        assert_ne!(episode_id("f", &bare("1")), episode_id("f", &bare("2")));
    }
}
