//! The stages in order, for the commands that run them together: ingest feeds, then extract
//! candidate insights from every new transcript (with the LLM engine when one is configured).

use crate::config::Config;
use crate::ingest::{IngestError, IngestOptions, IngestSummary, Progress, Transcriber, ingest_with};
use crate::insight::extract::extract_pending;
use crate::store::Store;

/// Ingests every feed, then extracts insights from the new transcripts. Returns the ingest
/// summary and the number of candidate insights stored.
pub async fn ingest_and_extract(
    store: &Store,
    config: &Config,
    opts: IngestOptions,
    progress: &dyn Progress,
) -> Result<(IngestSummary, usize), IngestError> {
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
    let insights = extract_pending(store, crate::engines::extractor(config, llm).as_ref()).await?;
    store.flush()?;
    Ok((summary, insights))
}
