//! podsift scans new podcast episodes, pulls out the few insights worth a busy person's
//! attention, and answers follow-up questions grounded in what was actually said.
//!
//! The data flows one way, feeds → episodes → insights → digest → outbox → adapters, each stage
//! reading what the stage before stored. The modules, in that order (each imports only the ones
//! above it):
//!
//! - [`model`]: the plain records every stage shares (feeds, episodes, transcripts, insights,
//!   digests, subscriptions, deliveries, statistics). No I/O, no policy.
//! - [`store`]: the only module that knows sled; typed, versioned records.
//! - [`config`]: the TOML configuration, validated with errors that name the key.
//! - [`http`]: HTTP clients, user agent, Retry-After, backoff, signature helpers.
//! - [`metrics`]: the counters /metrics shows.
//! - [`ingest`]: feeds (RSS, Atom, OPML) fetched, new episodes and their transcripts stored.
//! - [`insight`]: candidate insights from transcripts, clustered and ranked into the day's digest.
//! - [`ask`]: follow-up questions answered from transcript passages.
//! - [`llm`]: the OpenAI-compatible engine behind the same seams (the only async-openai user).
//! - [`engines`]: the offline or LLM engines, built from the config in one place.
//! - [`render`]: digests and answers as plain text.
//! - [`deliver`]: schedules, the outbox, pacing, the command table and the core that answers
//!   requests; the seam every chat adapter plugs into.
//! - [`pipeline`]: ingest then extract, for the commands that run them together, and in LLM
//!   mode the editor pass for the next digest the subscribers' schedules will build.
//! - [`adapters`]: console, webhook, Telegram, Discord, Slack: each translates between one platform and the core.
//! - [`server`], [`service`]: the HTTP server and `podsift run`.
//! - [`demo`]: the bundled demo podcasts, served from a loopback server.

pub mod model;
pub mod store;
pub mod config;
pub mod http;
pub mod metrics;
pub mod ingest;
pub mod insight;
pub mod ask;
pub mod llm;
pub mod engines;
pub mod render;
pub mod deliver;
pub mod pipeline;
pub mod adapters;
pub mod server;
pub mod service;
pub mod demo;
/// Installs rustls' ring provider for the process unless one is installed already.
/// HTTP clients are built without a default provider, so every client constructor calls this:
/// without it they would panic on first use.
pub fn ensure_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
