//! The stages in order, for the commands that run them together: ingest feeds, then extract
//! candidate insights from every new transcript (with the LLM engine when one is configured),
//! then, in LLM mode, the day's editor pass over the best candidates.

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::Config;
use crate::ingest::{IngestError, IngestOptions, IngestSummary, Progress, Transcriber, ingest_with};
use crate::insight::extract::extract_pending;
use crate::store::Store;

/// One ingest at a time in a process: the service's schedule and an ingest asked for from the
/// command line or the operator page would otherwise fetch and extract the same episodes twice.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits for any ingest of this process to end, and holds off the next while kept: for work
/// that must not run beside one (the daily prune).
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}

/// Ingests every feed, then extracts insights from the new transcripts. Returns the ingest
/// summary and the number of candidate insights stored. An ingest already running in this
/// process is waited for first.
pub async fn ingest_and_extract(
    store: &Store,
    config: &Config,
    opts: IngestOptions,
    progress: &dyn Progress,
) -> Result<(IngestSummary, usize), IngestError> {
    let _turn = one_at_a_time().await;
    let now = opts.now;
    let llm = crate::engines::llm(config, store).unwrap_or_else(|e| {
        tracing::error!("{e}; using the offline engine");
        None
    });
    let transcriber = crate::engines::transcriber(config, llm.clone()).unwrap_or_else(|e| {
        tracing::error!("{e}");
        None
    });
    let summary =
        ingest_with(store, &config.ingest, opts, progress, transcriber.as_ref().map(|t| t as &dyn Transcriber)).await?;
    let insights = extract_pending(store, crate::engines::extractor(config, llm.clone()).as_ref()).await?;
    // The day's editor pass sees the candidates of this ingest too; a failure leaves local
    // ranking in place, it never fails the ingest.
    if let Some(editor) = crate::engines::editor(llm) {
        let lead = chrono::Duration::minutes(2 * config.service.ingest_every_minutes as i64);
        let edited = match day_to_edit(store, config, now, lead) {
            Ok(Some(date)) => {
                crate::insight::digest::edit_day_of(store, &config.digest, date, now, editor.as_ref()).await.map(|_| ())
            }
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = edited {
            tracing::error!("daily editor pass: {e}");
        }
    }
    // Whoever ran it (the schedule, the command line, the operator page): /healthz reports it.
    store.set_state("last_ingest", &chrono::Utc::now())?;
    // And when the finished ingest chose its feeds: a chat back after a long silence waits for
    // one that chose them after it came back.
    store.set_state(crate::store::LAST_INGEST_BEGAN, &now)?;
    store.flush()?;
    Ok((summary, insights))
}

/// The day whose digest the editor pass should prepare: the next one the subscribers'
/// schedules will build. Today's (in `digest.timezone`) is prepared all day until it is built,
/// as when nobody is subscribed; another day's (a reader ahead of the digest's timezone, a
/// weekday schedule after a weekend) once its first delivery is within `lead`, about the last
/// ingests before it.
pub fn day_to_edit(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
    lead: chrono::Duration,
) -> Result<Option<NaiveDate>, crate::store::StoreError> {
    let today = crate::insight::digest::today(&config.digest, now);
    let mut next: Option<(DateTime<Utc>, NaiveDate)> = None;
    let mut anyone = false;
    for sub in store.subscriptions_iter() {
        let sub = sub?;
        if sub.paused.is_some() {
            continue;
        }
        anyone = true;
        let Some(fire) = crate::deliver::schedule::next_fire(&sub.schedule, now) else { continue };
        let Ok(date) = sub.schedule.local_date(fire) else { continue };
        if !store.has_digest_on(date)? && next.is_none_or(|(f, _)| fire < f) {
            next = Some((fire, date));
        }
    }
    let unbuilt_today = || -> Result<Option<NaiveDate>, crate::store::StoreError> {
        Ok((!store.has_digest_on(today)?).then_some(today))
    };
    match next {
        None if !anyone => unbuilt_today(),
        Some((_, date)) if date == today => Ok(Some(today)),
        Some((fire, date)) if fire - now <= lead => Ok(Some(date)),
        _ => Ok(None),
    }
}
