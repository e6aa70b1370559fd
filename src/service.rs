//! `podsift run`: the always-on service. Ingests on a schedule (in its own task), delivers due
//! digests every tick, serves HTTP, takes commands from the console, and shuts down cleanly on SIGINT or
//! SIGTERM: it stops taking work, gives in-flight sends a grace period, flushes the store and
//! returns. A send cut off by the deadline stays pending in the outbox and resumes at the next
//! start.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::config::Config;
use crate::deliver::Adapter;
use crate::deliver::commands::Core;
use crate::deliver::fanout::Deliverer;
use crate::deliver::inbound::Inbound;
use crate::ingest::{IngestOptions, Quiet};
use crate::metrics::Metrics;
use crate::store::Store;

/// Everything `run` needs besides the store and the config.
pub struct Service {
    /// The sending halves of the enabled adapters.
    pub adapters: Vec<Arc<dyn Adapter>>,
    /// The receiving halves: started once the core exists.
    pub inbound: Vec<Box<dyn Inbound>>,
    /// Writes answers to questions (offline or LLM).
    pub answerer: Arc<dyn crate::ask::Answerer>,
    /// Becomes true when the service should stop.
    pub shutdown: watch::Receiver<bool>,
    /// The counters /metrics shows; shared with whatever else ingests in this process (the
    /// command line's forwarded commands, the operator page).
    pub metrics: Arc<Metrics>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("cannot listen on {bind}: {reason} (set service.bind to a free address)")]
    Bind { bind: String, reason: String },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A delivery tick's task that ended other than by finishing is logged (a panic would otherwise
/// leave only the default message).
fn log_tick_end(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done {
        tracing::error!("a delivery tick stopped: {e}; the outbox resumes its sends at the next tick");
    }
}

/// Whether logs are asked for as JSON (`PODSIFT_LOG_FORMAT=json`), one object a line.
pub fn json_logs() -> bool {
    std::env::var("PODSIFT_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"))
}

/// A line for whoever started the service: printed plainly, or, when logs are JSON
/// (`PODSIFT_LOG_FORMAT=json`), logged as an event, so that a log shipper reads one object a line.
pub fn say(message: &str) {
    if json_logs() {
        tracing::info!("{message}");
    } else {
        // Not eprintln!, which panics when stderr's reader is gone (`podsift run | tee` stopped).
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "podsift: {message}");
    }
}

/// Delivery ticks that may be sending at once: each holds only the destinations still retrying
/// when the next began, so a few cover any run of slow destinations.
const MAX_TICKS_IN_FLIGHT: usize = 4;

/// How the service stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Everything in flight finished within the grace period.
    Cleanly,
    /// Something was still running when the grace period ended (a send, an answer, an ingest):
    /// the outbox resumes sends at the next start.
    CutOff,
}

pub async fn run(store: Store, config: Config, service: Service) -> Result<Stopped, ServiceError> {
    let metrics = service.metrics.clone();
    // Set by whatever the grace period ends while it still runs.
    let cut_off = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let deliverer = Arc::new(Deliverer::new(
        store.clone(),
        service.adapters.clone(),
        config.delivery.clone(),
        config.digest.clone(),
        metrics.clone(),
    ));
    let core = Arc::new(Core::new(
        store.clone(),
        config.clone(),
        deliverer.clone(),
        metrics.clone(),
        service.answerer.clone(),
    ));

    let listener = tokio::net::TcpListener::bind(&config.service.bind)
        .await
        .map_err(|e| ServiceError::Bind { bind: config.service.bind.clone(), reason: e.to_string() })?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServiceError::Bind { bind: config.service.bind.clone(), reason: e.to_string() })?;
    say(&format!("serving http://{addr}/healthz and /metrics"));
    let mut routes = axum::Router::new();
    for inbound in service.inbound {
        routes = routes.merge(inbound.start(core.clone(), service.shutdown.clone()));
    }
    let app = crate::server::router(
        crate::server::ServerState::new(store.clone(), metrics.clone()),
        routes,
        config.service.request_body_limit_bytes,
    );
    let mut stop = service.shutdown.clone();
    let server = tokio::spawn(async move {
        let graceful = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        crate::server::serve(listener, app, graceful).await;
    });

    let grace = Duration::from_secs(config.service.shutdown_grace_seconds);
    // Ingest runs on its own: a slow feed never holds up a due delivery, and the reverse.
    let ingest = {
        let (store, config, metrics, shutdown, cut_off) =
            (store.clone(), config.clone(), metrics.clone(), service.shutdown.clone(), cut_off.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(config.service.ingest_every_minutes * 60));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut stop = shutdown.clone();
            loop {
                tokio::select! {
                    _ = stopped(&mut stop) => break,
                    _ = every.tick() => {
                        if !finish_or_stop(surviving_faults(ingest_once(&store, &config, &metrics)), &shutdown, grace, &cut_off).await { break; }
                        // Not beside an ingest asked for from the command line: pruning an
                        // episode's content while that ingest stores its transcript would lose it.
                        let _turn = crate::pipeline::one_at_a_time().await;
                        prune_if_due(&store, &config, Utc::now());
                    }
                }
            }
        })
    };
    let mut stop_requested = service.shutdown.clone();
    let mut tick_every = tokio::time::interval(Duration::from_secs(config.service.tick_seconds));
    tick_every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Failing podcasts change at ingest pace: looked for every few minutes, not every tick.
    let mut failing_every = tokio::time::interval(Duration::from_secs(300));
    failing_every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks = tokio::task::JoinSet::new();
    let mut behind = false;
    let mut reporting: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        tokio::select! {
            _ = stopped(&mut stop_requested) => break,
            _ = failing_every.tick() => {
                // Its own task: notices to many chats must not hold up deliveries or shutdown.
                // One round at a time: during a platform's outage a round can outlast the
                // interval, and rounds would pile up.
                if reporting.as_ref().is_none_or(|r| r.is_finished()) {
                    let core = core.clone();
                    reporting = Some(tokio::spawn(async move { core.report_failing_feeds().await }));
                }
            }
            _ = tick_every.tick() => {
                // Each tick on its own task: a destination still retrying (a slow or failing
                // webhook) does not hold up the next tick's due digests. The destinations an
                // earlier tick is sending to are claimed, so a later one leaves them alone.
                while let Some(done) = ticks.try_join_next() {
                    log_tick_end(done);
                }
                if ticks.len() >= MAX_TICKS_IN_FLIGHT {
                    if !behind {
                        behind = true;
                        tracing::warn!(
                            "deliveries are behind: {MAX_TICKS_IN_FLIGHT} delivery rounds are still sending (slow or failing destinations); due digests wait for one to end"
                        );
                    }
                    continue;
                }
                behind = false;
                let deliverer = deliverer.clone();
                ticks.spawn(async move {
                    match deliverer.tick(Utc::now()).await {
                        Ok(s) if s != Default::default() => tracing::info!(
                            delivered = s.delivered,
                            failed = s.failed,
                            skipped = s.skipped,
                            paused = s.paused,
                            "delivery tick"
                        ),
                        Ok(_) => {}
                        Err(e) => tracing::error!("delivery tick failed: {e}"),
                    }
                });
            }
        }
    }
    // Sends in flight get the grace period, and nothing new is begun meanwhile (a stop during a
    // fan-out would otherwise go on starting destinations and parts until it is cut off, and
    // parts cut off mid-request may be sent twice); what is left, the outbox resumes at the next
    // start. The ingest task stops on the same signal, within the same period.
    deliverer.stop_beginning();
    let deliveries = async {
        let in_flight = async {
            while let Some(done) = ticks.join_next().await {
                log_tick_end(done);
            }
        };
        if tokio::time::timeout(grace, in_flight).await.is_err() {
            tracing::warn!("in-flight work cut off after the grace period; the outbox resumes it at the next start");
            cut_off.store(true, std::sync::atomic::Ordering::Relaxed);
            ticks.abort_all();
            // Ended, not detached: none is left holding the store once this returns.
            while ticks.join_next().await.is_some() {}
        }
    };
    // Readers' requests already taken (the platform was told so) are answered within the same
    // period: a question asked just before a restart is not silently dropped.
    let answering = async {
        if !core.requests_answered(grace).await {
            tracing::warn!("requests still being answered were cut off after the grace period");
            cut_off.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    };
    let (_, _, ingested) =
        tokio::join!(deliveries, answering, tokio::time::timeout(grace + Duration::from_secs(1), ingest));
    if ingested.is_err() {
        cut_off.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    deliverer.say_held_back_failures(None);
    tracing::info!("shutting down");
    let _ = tokio::time::timeout(grace, server).await;
    store.flush()?;
    Ok(if cut_off.load(std::sync::atomic::Ordering::Relaxed) { Stopped::CutOff } else { Stopped::Cleanly })
}

/// Runs `work`; if shutdown is asked meanwhile, gives it `grace` to finish. Returns false when
/// the service should stop.
async fn finish_or_stop(
    work: impl std::future::Future<Output = ()>,
    shutdown: &watch::Receiver<bool>,
    grace: Duration,
    cut_off: &std::sync::atomic::AtomicBool,
) -> bool {
    tokio::pin!(work);
    let mut stop = shutdown.clone();
    tokio::select! {
        _ = &mut work => !*shutdown.borrow(),
        _ = stopped(&mut stop) => {
            if tokio::time::timeout(grace, work).await.is_err() {
                tracing::warn!("in-flight work cut off after the grace period; the outbox resumes it at the next start");
                cut_off.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            false
        }
    }
}

/// Runs `work`; a fault in it (a panic on some input) is logged and ends only that run: the
/// next ingest comes as scheduled, where the fault would otherwise stop them for good.
async fn surviving_faults(work: impl std::future::Future<Output = ()>) {
    use futures_util::FutureExt;
    if let Err(panic) = std::panic::AssertUnwindSafe(work).catch_unwind().await {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!("an ingest stopped on a fault ({why}); the next one runs as scheduled");
    }
}

async fn ingest_once(store: &Store, config: &Config, metrics: &Metrics) {
    let opts = IngestOptions { now: Utc::now(), force: false };
    match crate::pipeline::ingest_and_extract(store, config, opts, &Quiet).await {
        Ok((summary, insights)) => {
            summary.count_in(metrics, insights);
            tracing::info!(new_episodes = summary.new_episodes, insights, failed = summary.feeds_failed, "ingest done");
        }
        Err(e) => tracing::error!("ingest failed: {e}"),
    }
}

/// Once a day, removes records older than `keep_days` (see [`Store::prune`]); 0 keeps them,
/// but still removes what only lives for days (platform event marks, podcast-search choices)
/// and the model's answers for episodes no longer stored, which would otherwise grow forever.
/// Returns what was removed when it ran.
pub fn prune_if_due(store: &Store, config: &Config, now: DateTime<Utc>) -> Option<crate::store::Pruned> {
    if store.state("last_prune").ok().flatten().is_some_and(|t| now - t < chrono::Duration::hours(23)) {
        return None;
    }
    let keep_days = config.service.keep_days;
    let before = (keep_days > 0).then(|| now.date_naive() - chrono::Duration::days(keep_days as i64));
    // An episode a digest could still take (its window, and the catch-up after a weekend), or
    // one young enough to be transcribed (a feed added today reads that far back), keeps its
    // content whatever keep_days says.
    let window_days = (config.digest.recency_window_hours.div_ceil(24) as i64
        + crate::insight::digest::MAX_CATCH_UP_DAYS)
        .max(config.ingest.transcript_max_age_days as i64)
        + 1;
    let content_before = before.map(|b| b.min(now.date_naive() - chrono::Duration::days(window_days)));
    match store.prune(before, content_before, now - chrono::Duration::days(2)) {
        Ok(pruned) => {
            let _ = store.set_state("last_prune", &now);
            tracing::info!(
                episodes_emptied = pruned.episodes_emptied,
                deliveries = pruned.deliveries,
                messages = pruned.messages,
                digests = pruned.digests,
                llm_days = pruned.llm_days,
                events = pruned.events,
                choices = pruned.choices,
                llm_cache = pruned.llm_cache,
                digests_shown = pruned.digests_shown,
                votes = pruned.votes,
                notices = pruned.notices,
                removal_marks = pruned.removal_marks,
                "removed old records (service.keep_days = {keep_days})"
            );
            Some(pruned)
        }
        Err(e) => {
            tracing::error!("removing old records failed: {e}");
            None
        }
    }
}

/// Resolves once shutdown is asked (holding no borrow of the channel across later awaits).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use super::surviving_faults;

    #[tokio::test]
    async fn a_fault_in_one_ingest_leaves_the_next_to_run() {
        let mut ran = 0;
        for fails in [true, false] {
            surviving_faults(async {
                if fails {
                    panic!("a feed nobody expected");
                }
            })
            .await;
            ran += 1;
        }
        assert_eq!(ran, 2);
    }
}
