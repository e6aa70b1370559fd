//! The stages in order, for the commands that run them together: ingest feeds, then extract
//! candidate insights from every new transcript (with the LLM engine when one is configured),
//! then, in LLM mode, the day's editor pass over the best candidates.

use crate::config::Config;
use crate::ingest::{IngestError, IngestOptions, IngestSummary, Progress, Transcriber, ingest_with};
use crate::insight::extract::extract_pending;
use crate::store::Store;

/// One ingest at a time in a process: the service's schedule and an ingest asked for from the
/// command line or the operator page would otherwise fetch and extract the same episodes twice.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Ingests every feed, then extracts insights from the new transcripts. Returns the ingest
/// summary and the number of candidate insights stored. An ingest already running in this
/// process is waited for first.
pub async fn ingest_and_extract(
    store: &Store,
    config: &Config,
    opts: IngestOptions,
    progress: &dyn Progress,
) -> Result<(IngestSummary, usize), IngestError> {
    let _turn = ONE_AT_A_TIME.lock().await;
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
        if let Err(e) = crate::insight::digest::edit_day(store, &config.digest, now, editor.as_ref()).await {
            tracing::error!("daily editor pass: {e}");
        }
    }
    store.flush()?;
    Ok((summary, insights))
}
