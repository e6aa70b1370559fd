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

/// Work handled in the order it was heard, per key (a chat): each piece starts once the one
/// heard before it under the same key has ended, so that two commands sent in quick succession
/// apply in the order sent, whichever would finish first. Different keys run side by side.
#[derive(Default)]
pub struct InOrder(std::sync::Mutex<std::collections::HashMap<String, tokio::task::JoinHandle<()>>>);

impl InOrder {
    /// Spawns `work` to start after the work spawned before it under `key`.
    pub fn spawn(&self, key: String, work: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut last = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Ended ones are forgotten now and then, so that a chat heard once is not kept for ever.
        if last.len() > 1_000 {
            last.retain(|_, task| !task.is_finished());
        }
        let before = last.remove(&key);
        let task = tokio::spawn(async move {
            if let Some(before) = before {
                // Its end, however it ended (a panic included), is all that is waited for.
                let _ = before.await;
            }
            work.await
        });
        last.insert(key, task);
    }
}
