//! How adapters receive: each starts its own way of listening (a polling task, or HTTP routes
//! for the service's server to mount) and hands what it hears to the core.

use std::sync::Arc;

use tokio::sync::watch;

use super::commands::Core;

/// The receiving half of an adapter.
pub trait Inbound: Send {
    /// Starts receiving until `shutdown` turns true. Returns routes to mount on the service's
    /// HTTP server (webhook mode), or an empty router when the adapter polls instead.
    fn start(self: Box<Self>, core: Arc<Core>, shutdown: watch::Receiver<bool>) -> axum::Router;
}
