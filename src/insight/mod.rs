//! The insight engine: candidate insights out of transcripts, clustered across episodes and
//! ranked into the day's digest.
//!
//! Two small seams let a second engine (an LLM) plug in beside the offline one: [`Extractor`]
//! ("extract insights from a transcript") here, and `ask::Answerer` ("answer a question from
//! passages"). Nothing in this module knows about chat platforms.

pub mod cluster;
pub mod digest;
pub mod extract;
pub mod sentences;
pub mod signals;
pub mod terms;

use futures_util::future::BoxFuture;

use crate::model::{Episode, Insight, Transcript};
use terms::Corpus;

/// Extracts candidate insights from one episode's transcript. Async, so an engine may call a
/// model; it never fails: an engine that cannot do its work falls back on its own.
pub trait Extractor: Send + Sync {
    /// `corpus` holds document frequencies over all stored transcripts, this one included.
    fn extract<'a>(
        &'a self,
        episode: &'a Episode,
        transcript: &'a Transcript,
        corpus: &'a Corpus,
    ) -> BoxFuture<'a, Vec<Insight>>;
}
