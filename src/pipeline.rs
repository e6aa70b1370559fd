//! The stages in order, for the commands that run them together: ingest feeds, then extract
//! candidate insights from every new transcript.

use crate::config::Config;
use crate::ingest::{IngestError, IngestOptions, IngestSummary, Progress, ingest};
use crate::insight::extract::{OfflineExtractor, extract_pending};
use crate::store::Store;

/// Ingests every feed, then extracts insights from the new transcripts. Returns the ingest
/// summary and the number of candidate insights stored.
pub async fn ingest_and_extract(
    store: &Store,
    config: &Config,
    opts: IngestOptions,
    progress: &dyn Progress,
) -> Result<(IngestSummary, usize), IngestError> {
    let summary = ingest(store, &config.ingest, opts, progress).await?;
    let extractor = OfflineExtractor { config: config.insight.clone() };
    let insights = extract_pending(store, &extractor).await?;
    store.flush()?;
    Ok((summary, insights))
}
