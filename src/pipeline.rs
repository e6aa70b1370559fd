//! The stages in order, for the commands that run them together: ingest feeds, then extract
//! candidate insights from every new transcript (with the LLM engine when one is configured).

use crate::config::Config;
use crate::ingest::{IngestError, IngestOptions, IngestSummary, Progress, Transcriber, ingest_with};
use std::sync::Arc;

use crate::insight::extract::{OfflineExtractor, extract_pending};
use crate::llm::LlmClient;
use crate::llm::extract::LlmExtractor;
use crate::llm::transcribe::LlmTranscriber;
use crate::store::Store;

/// Ingests every feed, then extracts insights from the new transcripts. Returns the ingest
/// summary and the number of candidate insights stored.
pub async fn ingest_and_extract(
    store: &Store,
    config: &Config,
    opts: IngestOptions,
    progress: &dyn Progress,
) -> Result<(IngestSummary, usize), IngestError> {
    let llm = match config.llm.base_url.is_some() {
        true => match LlmClient::new(&config.llm, store.clone()) {
            Ok(llm) => Some(Arc::new(llm)),
            Err(e) => {
                tracing::error!("{e}; using the offline engine");
                None
            }
        },
        false => None,
    };
    let transcriber = match (&llm, &config.llm.transcription_model) {
        (Some(llm), Some(_)) => LlmTranscriber::new(llm.clone()).map_err(|e| tracing::error!("{e}")).ok(),
        _ => None,
    };
    let summary =
        ingest_with(store, &config.ingest, opts, progress, transcriber.as_ref().map(|t| t as &dyn Transcriber)).await?;
    let offline = OfflineExtractor { config: config.insight.clone() };
    let insights = match llm {
        Some(llm) => extract_pending(store, &LlmExtractor { llm, offline }).await?,
        None => extract_pending(store, &offline).await?,
    };
    store.flush()?;
    Ok((summary, insights))
}
