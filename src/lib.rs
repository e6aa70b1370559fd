//! podsift scans new podcast episodes, pulls out the few insights worth a busy person's
//! attention, and answers follow-up questions grounded in what was actually said.
//!
//! The data flows one way, each stage reading what the stage before stored:
//!
//! - [`ingest`]: feeds (RSS, Atom, OPML) are fetched, new episodes and their transcripts stored.
//! - [`store`]: the only module that knows sled; typed, versioned records.
//! - [`insight`]: candidate insights from transcripts, clustered and ranked into the day's digest.
//! - [`ask`]: follow-up questions answered from transcript passages.
//! - [`pipeline`]: the stages run in order; [`render`]: digests and answers as text.
//! - [`model`]: the plain records every stage shares.
//! - [`config`]: the TOML configuration, validated with errors that name the key.
//! - [`demo`]: the bundled demo podcasts, served from a loopback server.

pub mod adapters;
pub mod ask;
pub mod config;
pub mod deliver;
pub mod demo;
pub mod http;
pub mod ingest;
pub mod insight;
pub mod llm;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod render;
pub mod server;
pub mod service;
pub mod store;

/// Installs rustls' ring provider for the process unless one is installed already.
/// HTTP clients are built without a default provider, so every client constructor calls this:
/// without it they would panic on first use.
pub fn ensure_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
