//! A fake feed and transcript server on 127.0.0.1:0 for the integration tests.
//!
//! Each path answers from a queue of scripted replies (the last one repeats), honours
//! If-None-Match like a real server (304 when the ETag matches), and records every request with
//! its conditional headers and User-Agent so tests can check what podsift sent.
#![allow(dead_code)]

pub mod candidates;
pub mod discord;
pub mod feedparser;
pub mod openai;
pub mod slack;
pub mod telegram;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Response, StatusCode, Uri};

#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
    pub etag: Option<String>,
    /// Send the body as a chunked stream with no Content-Length.
    pub chunked: bool,
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply { status: 200, headers: vec![], body: body.into(), delay: Duration::ZERO, etag: None, chunked: false }
    }
    pub fn status(status: u16) -> Reply {
        Reply { status, ..Reply::ok("") }
    }
    pub fn etag(mut self, etag: &str) -> Reply {
        self.etag = Some(etag.to_string());
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
    pub fn delay(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
    pub fn chunked(mut self) -> Reply {
        self.chunked = true;
        self
    }
}

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The query string, decoded: (name, value) pairs.
    pub query: Vec<(String, String)>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub user_agent: Option<String>,
    /// The Host header, or the authority of an absolute URI (as a proxy is sent).
    pub host: Option<String>,
    pub idempotency_key: Option<String>,
    pub body: Vec<u8>,
    pub at: std::time::Instant,
    /// For a webhook server: the key was seen before, so the request was a duplicate.
    pub duplicate: bool,
}

#[derive(Default)]
struct State {
    routes: HashMap<String, VecDeque<Reply>>,
    log: Vec<Request>,
    /// When set, POSTs must carry a valid podsift webhook signature or get 401.
    webhook_secret: Option<String>,
    keys_seen: std::collections::HashSet<String>,
}

pub struct FakeServer {
    pub base: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    pub async fn start() -> FakeServer {
        FakeServer::start_on("127.0.0.1").await
    }

    /// A server on another loopback address (127.0.0.2...), which Linux answers without setup:
    /// two servers that an address classification can tell apart.
    pub async fn start_on(ip: &str) -> FakeServer {
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method, uri: Uri, headers: HeaderMap, body: axum::body::Bytes| {
                let s = s.clone();
                async move { handle(s, method, uri, headers, body).await }
            },
        );
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeServer { base, state, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Scripts the replies of `path`; the last one repeats.
    pub fn route(&self, path: &str, replies: Vec<Reply>) {
        self.state.lock().unwrap().routes.insert(path.to_string(), replies.into());
    }

    pub fn requests(&self, path: &str) -> Vec<Request> {
        self.state.lock().unwrap().log.iter().filter(|r| r.path == path).cloned().collect()
    }

    pub fn all_requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().log.clone()
    }

    /// Makes this a webhook receiver: POSTs need a valid signature, a JSON body and an
    /// Idempotency-Key (401 otherwise), and a repeated key is acknowledged but marked duplicate.
    pub fn require_signature(&self, secret: &str) {
        self.state.lock().unwrap().webhook_secret = Some(secret.to_string());
    }
}

/// HMAC-SHA256 of "{timestamp}.{body}", as the podsift webhook documentation specifies,
/// computed here independently of podsift's own code.
pub fn expected_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!("sha256={}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

async fn handle(
    state: Arc<Mutex<State>>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response<Body> {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut req = Request {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect(),
        if_none_match: h("if-none-match"),
        if_modified_since: h("if-modified-since"),
        user_agent: h("user-agent"),
        host: uri.authority().map(|a| a.to_string()).or_else(|| h("host")),
        idempotency_key: h("idempotency-key"),
        body: body.to_vec(),
        at: std::time::Instant::now(),
        duplicate: false,
    };
    let reply = {
        let mut st = state.lock().unwrap();
        if let Some(secret) = st.webhook_secret.clone() {
            let ts = h("x-podsift-timestamp").unwrap_or_default();
            let signed = h("x-podsift-signature").is_some_and(|sig| sig == expected_signature(&secret, &ts, &req.body));
            let json_ok = serde_json::from_slice::<serde_json::Value>(&req.body).is_ok();
            if !signed || !json_ok || req.idempotency_key.is_none() {
                st.log.push(req);
                return Response::builder()
                    .status(401)
                    .body(Body::from("bad signature, body or idempotency key"))
                    .unwrap();
            }
        }
        let reply =
            st.routes.get_mut(&req.path).map(|q| if q.len() > 1 { q.pop_front().unwrap() } else { q[0].clone() });
        if st.webhook_secret.is_some() && reply.as_ref().is_some_and(|r| r.status == 200) {
            let key = format!("{}|{}", req.path, req.idempotency_key.clone().unwrap_or_default());
            req.duplicate = !st.keys_seen.insert(key);
        }
        st.log.push(req.clone());
        reply
    };
    let Some(reply) = reply else {
        return Response::builder().status(404).body(Body::from("not found")).unwrap();
    };
    tokio::time::sleep(reply.delay).await;
    if let (Some(etag), Some(inm)) = (&reply.etag, &req.if_none_match) {
        if etag == inm && reply.status == 200 {
            return Response::builder().status(StatusCode::NOT_MODIFIED).body(Body::empty()).unwrap();
        }
    }
    let mut b = Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        b = b.header(k, v);
    }
    if let Some(etag) = &reply.etag {
        b = b.header("etag", etag);
    }
    let body = if reply.chunked {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = reply.body.chunks(1024).map(|c| Ok(c.to_vec())).collect();
        Body::from_stream(futures_util::stream::iter(chunks))
    } else {
        Body::from(reply.body)
    };
    b.body(body).unwrap()
}

/// An item of a test feed: guid, title, and optionally a transcript (path on the server, MIME type).
pub type Item<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>);

/// An RSS feed of `items` whose links point at `base`.
pub fn rss(base: &str, title: &str, items: &[Item]) -> String {
    // Recent, so the episodes are within ingest.transcript_max_age_days whenever tests run.
    let date = (chrono::Utc::now() - chrono::Duration::hours(6)).to_rfc2822();
    let mut s = format!(
        "<?xml version=\"1.0\"?>\n<rss version=\"2.0\" xmlns:podcast=\"https://podcastindex.org/namespace/1.0\"><channel><title>{title}</title>\n"
    );
    for (guid, t, transcript) in items {
        s.push_str(&format!(
            "<item><title>{t}</title><guid>{guid}</guid><pubDate>{date}</pubDate><description>&lt;p&gt;Notes for {t}. We talk about caching.&lt;/p&gt;</description><enclosure url=\"{base}/audio/{guid}.mp3\" type=\"audio/mpeg\"/>"
        ));
        if let Some((path, mime)) = transcript {
            s.push_str(&format!("<podcast:transcript url=\"{base}{path}\" type=\"{mime}\"/>"));
        }
        s.push_str("</item>\n");
    }
    s.push_str("</channel></rss>\n");
    s
}

pub const VTT: &str = "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Ana>Caching cut our latency by forty percent.\n\n00:00:05.000 --> 00:00:07.000\n<v Ben>That is a big number.\n";

/// Subscribes `dest` with a daily time `minutes_ago` before now (UTC), so it is due at once.
pub fn subscribe_due(
    store: &podsift::store::Store,
    dest: podsift::deliver::Destination,
    minutes_ago: i64,
) -> podsift::deliver::Destination {
    let now = chrono::Utc::now();
    subscribe_at(store, dest, now, minutes_ago, now - chrono::Duration::days(2))
}

/// Subscribes `dest` daily (UTC) at the time `minutes_ago` before `now`, as if subscribed at
/// `created` (a due time before the subscription existed is never owed to it).
pub fn subscribe_at(
    store: &podsift::store::Store,
    dest: podsift::deliver::Destination,
    now: chrono::DateTime<chrono::Utc>,
    minutes_ago: i64,
    created: chrono::DateTime<chrono::Utc>,
) -> podsift::deliver::Destination {
    let time = (now - chrono::Duration::minutes(minutes_ago)).format("%H:%M").to_string();
    let schedule = podsift::deliver::Schedule::daily(&time, "UTC").unwrap();
    store.put_subscription(&podsift::deliver::Subscription::new(dest.clone(), schedule, "test", created)).unwrap();
    dest
}

/// Opens the store in `dir` again after this process dropped it, waiting up to two seconds:
/// sled's flusher thread may hold the directory's lock a moment after the drop.
pub fn reopen(dir: &std::path::Path) -> podsift::store::Store {
    for _ in 0..100 {
        match podsift::store::Store::open(dir) {
            Err(podsift::store::StoreError::InUse { .. }) => std::thread::sleep(std::time::Duration::from_millis(20)),
            other => return other.unwrap(),
        }
    }
    panic!("{} is still held two seconds after its store was dropped", dir.display())
}

/// A `podsift run` child process and the HTTP address it printed.
pub struct Running {
    pub child: std::process::Child,
    pub addr: String,
    /// Its standard error, a line at a time, from after the address.
    pub stderr: std::sync::mpsc::Receiver<String>,
    /// What it said before the address.
    pub started: Vec<String>,
}

/// Starts `podsift --data DATA --config CONFIG run` with `envs` set, in the directory that holds
/// DATA (not the tests' own), and waits (up to 30 s) for the address it serves.
pub fn podsift_run(data: &std::path::Path, config: &std::path::Path, envs: &[(&str, &str)]) -> Running {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut command = Command::new(env!("CARGO_BIN_EXE_podsift"));
    command
        .arg("--data")
        .arg(data)
        .arg("--config")
        .arg(config)
        .arg("run")
        .current_dir(data.parent().unwrap_or(data))
        .env_remove("PODSIFT_BIND")
        .env_remove("OPENAI_BASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut started = Vec::new();
    let addr = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .unwrap_or_else(|_| panic!("podsift run printed no address; it said: {started:#?}"));
        // "podsift: serving http://..." or, with JSON logs, an event saying so.
        if let Some((_, rest)) = line.split_once("serving http://") {
            break rest.split('/').next().unwrap().to_string();
        }
        started.push(line);
    };
    Running { child, addr, stderr: rx, started }
}

/// Asks a child to stop as an operator would (SIGTERM) and says whether it exited cleanly.
pub fn stop(child: &mut std::process::Child) -> bool {
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    child.wait().map(|s| s.success()).unwrap_or(false)
}

/// The core over `store` with one adapter, as the service wires them: fast retries for tests,
/// the offline answerer, and the time read from `clock`.
pub fn core_with(
    store: &podsift::store::Store,
    adapter: std::sync::Arc<dyn podsift::deliver::Adapter>,
    clock: podsift::deliver::commands::Clock,
) -> (
    std::sync::Arc<podsift::deliver::fanout::Deliverer>,
    std::sync::Arc<podsift::deliver::commands::Core>,
    std::sync::Arc<podsift::metrics::Metrics>,
) {
    use std::sync::Arc;
    let mut config = podsift::config::Config::default();
    config.delivery.backoff_base_ms = 20;
    let metrics = Arc::new(podsift::metrics::Metrics::default());
    let deliverer = Arc::new(podsift::deliver::fanout::Deliverer::new(
        store.clone(),
        vec![adapter],
        config.delivery.clone(),
        config.digest.clone(),
        metrics.clone(),
    ));
    let answerer = Arc::new(podsift::ask::QuoteAnswerer { max_citations: 3 });
    let core =
        podsift::deliver::commands::Core::new(store.clone(), config, deliverer.clone(), metrics.clone(), answerer)
            .with_clock(clock);
    (deliverer, Arc::new(core), metrics)
}

/// Writes `bytes` under `key` in the store's `tree` past podsift, as a disk fault or a newer
/// version would, then opens the store again (each open retried while the last closes).
pub fn write_past_podsift(dir: &std::path::Path, tree: &str, key: &[u8], bytes: &[u8]) -> podsift::store::Store {
    fn retried<T>(what: &str, mut open: impl FnMut() -> Option<T>) -> T {
        (0..100)
            .find_map(|_| {
                open().or_else(|| {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    None
                })
            })
            .unwrap_or_else(|| panic!("{what} does not open"))
    }
    let db = retried("the store's directory", || sled::open(dir).ok());
    db.open_tree(tree).unwrap().insert(key, bytes.to_vec()).unwrap();
    db.flush().unwrap();
    drop(db);
    retried("the store", || podsift::store::Store::open(dir).ok())
}
