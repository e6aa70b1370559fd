//! The stages in order, for the commands that run them together: ingest feeds, then extract
//! candidate insights from every new transcript (with the LLM engine when one is configured).

use crate::config::Config;
use crate::ingest::{IngestError, IngestOptions, IngestSummary, Progress, ingest};
use std::sync::Arc;

use crate::insight::extract::{OfflineExtractor, extract_pending};
use crate::llm::LlmClient;
use crate::llm::extract::LlmExtractor;
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
    let offline = OfflineExtractor { config: config.insight.clone() };
    let insights = match config.llm.base_url.is_some() {
        true => match LlmClient::new(&config.llm, store.clone()) {
            Ok(llm) => extract_pending(store, &LlmExtractor { llm: Arc::new(llm), offline }).await?,
            Err(e) => {
                tracing::error!("{e}; extracting offline");
                extract_pending(store, &offline).await?
            }
        },
        false => extract_pending(store, &offline).await?,
    };
    store.flush()?;
    Ok((summary, insights))
}
