//! The service's HTTP server: /healthz, /metrics, and the routes adapters mount for webhooks.
//! Request bodies are size-limited; nothing here decides policy.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::metrics::Metrics;
use crate::store::Store;

#[derive(Clone)]
pub struct ServerState {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    /// The last store check and when it ran: /healthz is open to anyone, and each check is a
    /// write and a disk sync, so at most one runs every [`HEALTH_EVERY`], off the async workers.
    pub health: Arc<tokio::sync::Mutex<Option<(std::time::Instant, bool)>>>,
}

/// How long one store check answers /healthz for.
const HEALTH_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

impl ServerState {
    pub fn new(store: Store, metrics: Arc<Metrics>) -> ServerState {
        ServerState { store, metrics, health: Default::default() }
    }

    /// Whether the store takes writes, checked at most every [`HEALTH_EVERY`]; a failure is
    /// logged here and only named to the asker.
    async fn store_ok(&self) -> bool {
        let mut last = self.health.lock().await;
        if let Some((at, ok)) = *last {
            if at.elapsed() < HEALTH_EVERY {
                return ok;
            }
        }
        let store = self.store.clone();
        let ok = match tokio::task::spawn_blocking(move || store.check()).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::error!("health check: the store cannot take writes: {e}");
                false
            }
            Err(e) => {
                tracing::error!("health check stopped: {e}");
                false
            }
        };
        *last = Some((std::time::Instant::now(), ok));
        ok
    }
}

/// The service's routes plus `extra` (adapter webhooks), all under the body size limit.
pub fn router(state: ServerState, extra: axum::Router, body_limit: usize) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
        .merge(extra)
        .layer(DefaultBodyLimit::max(body_limit))
}

async fn healthz(State(s): State<ServerState>) -> impl IntoResponse {
    let ok = s.store_ok().await;
    let state = |k| s.store.state(k).ok().flatten();
    let body = json!({
        "status": if ok { "ok" } else { "error" },
        // The cause is in the service's log: this answer is open to anyone.
        "store": if ok { "ok" } else { "cannot take writes (see the service's log)" },
        "last_ingest": state("last_ingest"),
        "last_delivery": state("last_delivery"),
    });
    let code = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, axum::Json(body))
}

async fn metrics(State(s): State<ServerState>) -> impl IntoResponse {
    let mut text = s.metrics.render();
    // The LLM's usage is counted in the store (it survives restarts); today's is shown here.
    if let Ok(u) = s.store.llm_usage(chrono::Utc::now().date_naive()) {
        for (name, help, v) in [
            ("podsift_llm_requests_today", "LLM requests today (UTC).", u.requests),
            ("podsift_llm_tokens_today", "LLM tokens today (UTC), prompt plus completion.", u.tokens()),
            (
                "podsift_llm_dropped_quotes_today",
                "LLM insights dropped today: quote not in the transcript.",
                u.dropped_quotes,
            ),
            ("podsift_llm_fallbacks_today", "Work handed to the offline engine today.", u.fallbacks),
            ("podsift_llm_transcriptions_today", "Episodes transcribed by the model today.", u.transcriptions),
        ] {
            text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_store_is_checked_at_most_every_few_seconds_however_often_asked() {
        let dir = tempfile::tempdir().unwrap();
        let s = ServerState::new(Store::open(dir.path()).unwrap(), Arc::new(Metrics::default()));
        assert!(s.store_ok().await);
        let first = s.health.lock().await.map(|(at, _)| at);
        for _ in 0..50 {
            assert!(s.store_ok().await);
        }
        assert_eq!(s.health.lock().await.map(|(at, _)| at), first, "the store was checked again");
    }
}
