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
pub mod terms;

use crate::model::{Episode, Insight, Transcript};
use terms::Corpus;

/// Extracts candidate insights from one episode's transcript.
pub trait Extractor {
    /// `corpus` holds document frequencies over all stored transcripts, this one included.
    fn extract(&self, episode: &Episode, transcript: &Transcript, corpus: &Corpus) -> Vec<Insight>;
}
