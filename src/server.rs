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
        let mut last = self.health.clone().lock_owned().await;
        if let Some((at, ok)) = *last {
            if at.elapsed() < HEALTH_EVERY {
                return ok;
            }
        }
        // The check runs on, and records itself, even when the asker hangs up: a client that
        // connects, asks and leaves cannot make a check of every request.
        let store = self.store.clone();
        let check = tokio::spawn(async move {
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
        });
        check.await.unwrap_or(false)
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

/// What one client may take of the server.
#[derive(Debug, Clone, Copy)]
pub struct ClientLimits {
    /// To send a request's head once connected (or between requests).
    pub head: std::time::Duration,
    /// For a whole request, its body included, before it is answered 408; none where a
    /// request may rightly run long (the admin address runs commands such as `ingest`).
    pub request: Option<std::time::Duration>,
    /// Connections served at once; more are closed as they come.
    pub connections: usize,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            head: std::time::Duration::from_secs(10),
            request: Some(std::time::Duration::from_secs(30)),
            connections: 1024,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests under way
/// finish. Unlike a bare `axum::serve`, a client that connects and sends nothing, or sends its
/// body a byte a minute, is cut off, and no number of such clients can take every file
/// descriptor: the server is open to the internet (platform webhooks).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()>,
) {
    serve_within(listener, app, shutdown, ClientLimits::default()).await
}

/// [`serve`] with other limits.
pub async fn serve_within(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()>,
    limits: ClientLimits,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let app = match limits.request {
        Some(limit) => app.layer(axum::middleware::from_fn(move |request, next| within_time(limit, request, next))),
        None => app,
    };
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.head);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.connections));
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most often: wait rather than spin.
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            continue; // dropped: closed at once
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    // Closed first: a connection coming while the others finish is refused, not left hanging.
    drop(listener);
    graceful.shutdown().await;
}

/// Answers 408 to a request that takes longer than `limit`, body reading included.
async fn within_time(
    limit: std::time::Duration,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (StatusCode::REQUEST_TIMEOUT, "podsift: the request took too long").into_response(),
    }
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
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server answering POST /hook with the length of the body it read, under `limits`; the
    /// sender stops it.
    async fn started(
        limits: ClientLimits,
    ) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(|body: axum::body::Bytes| async move { body.len().to_string() }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async {
            let _ = stopped.await;
        };
        (addr, stop, tokio::spawn(serve_within(listener, app, shutdown, limits)))
    }

    /// Reads what the server sends until it closes the connection (or 5 s pass).
    async fn until_closed(stream: &mut tokio::net::TcpStream) -> Option<String> {
        let mut got = Vec::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut got)).await;
        read.ok().map(|_| String::from_utf8_lossy(&got).into_owned())
    }

    #[tokio::test]
    async fn slow_and_silent_clients_are_cut_off_and_connections_are_capped() {
        let ms = std::time::Duration::from_millis;
        let (addr, stop, server) =
            started(ClientLimits { head: ms(300), request: Some(ms(400)), connections: 2 }).await;
        // Connected, silent: closed once the head's time is up.
        let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert_eq!(until_closed(&mut silent).await.as_deref(), Some(""), "a silent client was kept");
        // A body sent a byte at a time, never finished: 408.
        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"POST /hook HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\na").await.unwrap();
        let answer = until_closed(&mut slow).await.expect("the slow request was never answered");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        // A whole request is served.
        let mut ok = tokio::net::TcpStream::connect(addr).await.unwrap();
        ok.write_all(b"POST /hook HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\nconnection: close\r\n\r\nabc")
            .await
            .unwrap();
        let answer = until_closed(&mut ok).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with('3'), "{answer}");
        let _ = stop.send(());
        server.await.unwrap();

        // Two connections held: a third is closed at once, long before the head's time.
        let (addr, stop, server) =
            started(ClientLimits { head: ms(5_000), request: Some(ms(5_000)), connections: 2 }).await;
        let held =
            [tokio::net::TcpStream::connect(addr).await.unwrap(), tokio::net::TcpStream::connect(addr).await.unwrap()];
        tokio::time::sleep(ms(100)).await;
        let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
        let started = std::time::Instant::now();
        assert_eq!(until_closed(&mut third).await.as_deref(), Some(""));
        assert!(started.elapsed() < ms(2_500), "the third connection was served: {:?}", started.elapsed());
        drop(held);
        let _ = stop.send(());
        server.await.unwrap();
    }

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
