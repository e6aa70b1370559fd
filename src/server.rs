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
    let store = s.store.check();
    let state = |k| s.store.state(k).ok().flatten();
    let body = json!({
        "status": if store.is_ok() { "ok" } else { "error" },
        "store": match &store { Ok(()) => "ok".to_string(), Err(e) => e.to_string() },
        "last_ingest": state("last_ingest"),
        "last_delivery": state("last_delivery"),
    });
    let code = if store.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
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
