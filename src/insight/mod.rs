//! The insight engine: candidate insights out of transcripts, clustered across episodes and
//! ranked into the day's digest.
//!
//! Small seams let a second engine (an LLM) plug in beside the offline one: [`Extractor`]
//! ("extract insights from a transcript") and [`Editor`] ("group and order the day's best
//! candidates") here, and `ask::Answerer` ("answer a question from passages"). Nothing in this
//! module knows about chat platforms.

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
    ) -> BoxFuture<'a, Extraction>;

    /// Whether asking again could replace stand-in insights now: not while the model's server
    /// refuses the key, which only the operator can change.
    fn can_retry(&self) -> bool {
        true
    }
}

/// What an [`Extractor`] made of one episode.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    pub insights: Vec<Insight>,
    /// The engine fell back for a reason that may pass (the model's server failed or timed
    /// out): the insights stand in until a later ingest extracts the episode again.
    pub stand_in: bool,
}

pub use crate::model::STAND_IN_RETRIES;

/// One candidate as an editor sees it: what was said and where, nothing else.
#[derive(Debug, Clone, PartialEq)]
pub struct EditCandidate {
    pub id: String,
    pub podcast: String,
    pub text: String,
}

/// The daily editor pass: groups candidates that make the same point in any words and orders
/// the points by importance to a busy reader. Returns groups of candidate ids, most important
/// first; the caller ignores ids it never sent. An error means local ranking stands.
pub trait Editor: Send + Sync {
    /// The model (or other editor) by name, as recorded with the result.
    fn name(&self) -> String;
    fn edit<'a>(&'a self, candidates: &'a [EditCandidate]) -> BoxFuture<'a, Result<Vec<Vec<String>>, String>>;
}
