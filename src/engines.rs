//! The engines that write insights, answers and transcripts: the offline ones, or an LLM's when
//! `llm.base_url` is set (offline stays the fallback inside each). Built here, in one place, for
//! every command and the service.

use std::sync::Arc;

use crate::ask::{Answerer, QuoteAnswerer};
use crate::config::Config;
use crate::insight::extract::OfflineExtractor;
use crate::insight::{Editor, Extractor};
use crate::llm::LlmClient;
use crate::llm::answer::LlmAnswerer;
use crate::llm::edit::LlmEditor;
use crate::llm::extract::LlmExtractor;
use crate::llm::transcribe::LlmTranscriber;
use crate::store::Store;

/// The LLM client the config asks for, or None without `llm.base_url`.
pub fn llm(config: &Config, store: &Store) -> Result<Option<Arc<LlmClient>>, String> {
    match config.llm.base_url {
        Some(_) => LlmClient::new(&config.llm, store.clone()).map(|c| Some(Arc::new(c))),
        None => Ok(None),
    }
}

/// Writes insights: the model's with the offline engine behind it, or the offline engine alone.
pub fn extractor(config: &Config, llm: Option<Arc<LlmClient>>) -> Box<dyn Extractor> {
    let offline = OfflineExtractor { config: config.insight.clone() };
    match llm {
        Some(llm) => Box::new(LlmExtractor { llm, offline }),
        None => Box::new(offline),
    }
}

/// The daily editor pass: the model's, or none (local ranking alone) without one.
pub fn editor(llm: Option<Arc<LlmClient>>) -> Option<Box<dyn Editor>> {
    llm.map(|llm| Box::new(LlmEditor { llm }) as Box<dyn Editor>)
}

/// Writes answers: the model's with the quoting answerer behind it, or the quoting one alone.
pub fn answerer(config: &Config, llm: Option<Arc<LlmClient>>) -> Arc<dyn Answerer> {
    let offline = QuoteAnswerer { max_citations: config.ask.max_citations };
    match llm {
        Some(llm) => Arc::new(LlmAnswerer::new(llm, offline)),
        None => Arc::new(offline),
    }
}

/// Speech-to-text for episodes without a transcript, when a transcription model is configured.
pub fn transcriber(config: &Config, llm: Option<Arc<LlmClient>>) -> Result<Option<LlmTranscriber>, String> {
    match (llm, &config.llm.transcription_model) {
        (Some(llm), Some(_)) => LlmTranscriber::new(llm).map(Some),
        _ => Ok(None),
    }
}
