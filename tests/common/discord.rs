//! A fake Discord REST API (serenity's client pointed at it with `proxy`): checks the bot token
//! on every call, checks every message against Discord's limits (content, embeds, fields,
//! buttons) and that nobody can be mentioned, records what it got, creates threads (once per
//! message, like Discord), and can answer a channel with 429 or 403.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{Value, json};

pub const TOKEN: &str = "discord-test-token";
pub const APP: u64 = 827290144020496384;
pub const BOT: u64 = 42;

#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub body: Value,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    next_id: u64,
    scripted: HashMap<String, VecDeque<(u16, Value)>>,
    threads: HashSet<String>,
    /// Thread id → parent channel id.
    parents: HashMap<String, String>,
    /// Forum channels: they take posts (threads), not messages.
    forums: HashSet<String>,
    violations: Vec<String>,
    /// When set, interaction tokens acknowledged through the callback: a follow-up to one not
    /// acknowledged yet is refused as Discord refuses it (404, Unknown Webhook). The callback
    /// is then recorded only after `ack_delay`, as a slow acknowledgement.
    acked: Option<HashSet<String>>,
    ack_delay: std::time::Duration,
}

pub struct FakeDiscord {
    pub base: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
    /// With `start_tls`: the certificate the fake shows for discord.com, and where it listens.
    tls: Option<(Vec<u8>, std::net::SocketAddr)>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeDiscord {
    pub async fn start() -> FakeDiscord {
        let state = Arc::new(Mutex::new(State { next_id: 9_000_000, ..State::default() }));
        let s = state.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let s = s.clone();
            async move { handle_after_ack_delay(s, method, uri, headers, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeDiscord { base, state, task, tls: None }
    }

    /// The fake as https://discord.com itself (a self-signed certificate for that name): a
    /// client from `client()` reaches it with no proxy, so serenity's own rate limiter runs.
    pub async fn start_tls() -> FakeDiscord {
        podsift::ensure_tls_provider();
        let state = Arc::new(Mutex::new(State { next_id: 9_000_000, ..State::default() }));
        let s = state.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let s = s.clone();
            async move { handle_after_ack_delay(s, method, uri, headers, body).await }
        });
        let cert = rcgen::generate_simple_self_signed(vec!["discord.com".to_string()]).unwrap();
        let der = cert.cert.der().to_vec();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![rustls::pki_types::CertificateDer::from(der.clone())], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, app) = (acceptor.clone(), app.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        FakeDiscord { base: "https://discord.com".into(), state, task, tls: Some((der, addr)) }
    }

    /// An HTTP client for serenity that resolves discord.com to this fake and trusts its
    /// certificate (only with `start_tls`).
    pub fn client(&self) -> reqwest012::Client {
        let (der, addr) = self.tls.clone().expect("started with start_tls");
        reqwest012::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(reqwest012::Certificate::from_der(&der).unwrap())
            .resolve("discord.com", addr)
            .build()
            .unwrap()
    }

    /// The next calls creating a message in `channel` get these answers; `(200, null)` lets one
    /// through as usual.
    pub fn script(&self, channel: &str, replies: Vec<(u16, Value)>) {
        self.state.lock().unwrap().scripted.entry(channel.to_string()).or_default().extend(replies);
    }

    /// Follow-ups need their interaction acknowledged first, and acknowledgements take `delay`.
    pub fn check_acks(&self, delay: std::time::Duration) {
        let mut s = self.state.lock().unwrap();
        s.acked = Some(HashSet::new());
        s.ack_delay = delay;
    }

    /// Makes `channel` a forum: it is described as one, and refuses messages as Discord does.
    pub fn forum(&self, channel: &str) {
        self.state.lock().unwrap().forums.insert(channel.to_string());
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Messages created in `channel` (successful ones).
    pub fn messages_in(&self, channel: &str) -> Vec<Call> {
        let path = format!("/api/v10/channels/{channel}/messages");
        self.calls().into_iter().filter(|c| c.method == "POST" && c.path == path && c.body["id"].is_string()).collect()
    }

    /// Follow-ups to interactions (any token).
    pub fn followups(&self) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.method == "POST" && c.path.starts_with("/api/v10/webhooks/")).collect()
    }

    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }
}

fn user(id: u64, name: &str) -> Value {
    json!({"id": id.to_string(), "username": name, "discriminator": "0", "global_name": null, "avatar": null, "bot": id == BOT})
}

fn message(id: u64, channel: &str, body: &Value) -> Value {
    json!({"id": id.to_string(), "channel_id": channel, "author": user(BOT, "podsift"),
        "content": body["content"].as_str().unwrap_or(""), "timestamp": "2026-11-28T08:00:00.000000+00:00",
        "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": body["embeds"].clone().as_array().cloned().unwrap_or_default(), "pinned": false, "type": 0})
}

fn error(status: u16, code: i64, message: &str) -> axum::response::Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(json!({"code": code, "message": message}))).into_response()
}

fn len(v: &Value) -> usize {
    v.as_str().map(|s| s.chars().count()).unwrap_or(0)
}

/// Discord's limits for one message, and no mentions allowed.
fn check_message(body: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    if len(&body["content"]) > 2000 {
        bad.push(format!("content of {} characters", len(&body["content"])));
    }
    if body["allowed_mentions"]["parse"] != json!([]) {
        bad.push(format!("allowed_mentions {} lets podcast text mention people", body["allowed_mentions"]));
    }
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > 10 {
        bad.push(format!("{} embeds", embeds.len()));
    }
    for e in &embeds {
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        let mut total = len(&e["title"]) + len(&e["description"]) + len(&e["footer"]["text"]);
        for (what, n, max) in [
            ("title", len(&e["title"]), 256),
            ("description", len(&e["description"]), 4096),
            ("fields", fields.len(), 25),
        ] {
            if n > max {
                bad.push(format!("embed {what} of {n}, over {max}"));
            }
        }
        for f in &fields {
            total += len(&f["name"]) + len(&f["value"]);
            if len(&f["name"]) > 256 || len(&f["value"]) > 1024 || len(&f["value"]) == 0 {
                bad.push(format!("field {f}"));
            }
        }
        if total > 6000 {
            bad.push(format!("embed of {total} characters"));
        }
    }
    for row in body["components"].as_array().cloned().unwrap_or_default() {
        for b in row["components"].as_array().cloned().unwrap_or_default() {
            if len(&b["custom_id"]) > 100 || len(&b["label"]) > 80 {
                bad.push(format!("button {b}"));
            }
            if b["style"] == 5 && !b["url"].is_string() {
                bad.push(format!("link button without url {b}"));
            }
        }
    }
    bad
}

/// [`handle`], after the acknowledgement delay for an interaction's callback.
async fn handle_after_ack_delay(
    state: Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let delay = state.lock().unwrap().ack_delay;
    if uri.path().ends_with("/callback") && !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    handle(state, method, uri, headers, body)
}

fn handle(
    state: Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let path = uri.path().to_string();
    let mut body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut s = state.lock().unwrap();
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    let webhook = path.starts_with("/api/v10/webhooks/") || path.starts_with("/api/v10/interactions/");
    if !webhook && auth != format!("Bot {TOKEN}") {
        return error(401, 0, "401: Unauthorized");
    }
    let parts: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
    s.next_id += 1;
    let id = s.next_id;
    let record = |s: &mut State, body: Value| {
        s.calls.push(Call { method: method.to_string(), path: path.clone(), body, at: Instant::now() });
    };
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["users", "@me"]) => axum::Json(user(BOT, "podsift")).into_response(),
        ("PUT", ["applications", _, "commands"]) | ("PUT", ["applications", _, "guilds", _, "commands"]) => {
            let commands: Vec<Value> = body
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut c| {
                    c["id"] = json!(id.to_string());
                    c["application_id"] = json!(APP.to_string());
                    c["version"] = json!("1");
                    c["type"] = json!(1);
                    c["default_member_permissions"] = Value::Null;
                    c
                })
                .collect();
            record(&mut s, body);
            axum::Json(commands).into_response()
        }
        ("POST", ["channels", channel, "messages"]) if s.forums.contains(*channel) => {
            record(&mut s, Value::Null);
            error(400, 50008, "Cannot send messages in a non-text channel")
        }
        ("POST", ["channels", channel, "messages"]) => {
            let channel = channel.to_string();
            let scripted = s.scripted.get_mut(&channel).and_then(|q| q.pop_front());
            if let Some((status, reply)) = scripted.filter(|(status, reply)| (*status, reply) != (200, &Value::Null)) {
                record(&mut s, json!({"scripted": status}));
                let mut resp = (StatusCode::from_u16(status).unwrap(), axum::Json(reply.clone())).into_response();
                if status == 429 {
                    // As Discord answers a per-route limit: the wait in the body and the headers.
                    let after = reply["retry_after"].as_f64().unwrap_or(1.0).to_string();
                    let h = resp.headers_mut();
                    h.insert("retry-after", after.parse().unwrap());
                    h.insert("x-ratelimit-limit", "5".parse().unwrap());
                    h.insert("x-ratelimit-remaining", "0".parse().unwrap());
                    h.insert("x-ratelimit-reset-after", after.parse().unwrap());
                    h.insert("x-ratelimit-bucket", "channel-messages".parse().unwrap());
                    h.insert("x-ratelimit-scope", "user".parse().unwrap());
                }
                return resp;
            }
            let bad = check_message(&body);
            s.violations.extend(bad);
            let m = message(id, &channel, &body);
            body["id"] = json!(id.to_string());
            record(&mut s, body);
            axum::Json(m).into_response()
        }
        ("POST", ["channels", channel, "messages", msg, "threads"]) => {
            let (channel, msg) = (channel.to_string(), msg.to_string());
            record(&mut s, body.clone());
            if !s.threads.insert(msg.clone()) {
                return error(400, 160004, "A thread has already been created for this message");
            }
            s.parents.insert(msg.clone(), channel.clone());
            axum::Json(json!({"id": msg, "type": 11, "guild_id": "1", "parent_id": channel,
                "name": body["name"], "position": 0, "permission_overwrites": [], "nsfw": false}))
            .into_response()
        }
        ("GET", ["channels", channel]) if s.forums.contains(*channel) => {
            record(&mut s, Value::Null);
            axum::Json(json!({"id": channel, "type": 15, "guild_id": "1", "name": "forum", "position": 0,
                "permission_overwrites": [], "nsfw": false, "available_tags": []}))
            .into_response()
        }
        ("GET", ["channels", channel]) => {
            record(&mut s, Value::Null);
            let parent = s.parents.get(*channel).cloned();
            axum::Json(json!({"id": channel, "type": 11, "guild_id": "1", "parent_id": parent, "name": "thread"}))
                .into_response()
        }
        ("POST", ["webhooks", _, token]) if s.acked.as_ref().is_some_and(|a| !a.contains(*token)) => {
            record(&mut s, json!({"refused": "not acknowledged yet"}));
            error(404, 10015, "Unknown Webhook")
        }
        ("POST", ["webhooks", _, _token]) => {
            s.violations.extend(check_message(&body));
            let m = message(id, "1100", &body);
            record(&mut s, body);
            axum::Json(m).into_response()
        }
        ("PATCH", ["webhooks", _, _token, "messages", "@original"]) => {
            let m = message(id, "1100", &body);
            record(&mut s, body);
            axum::Json(m).into_response()
        }
        ("POST", ["interactions", _, token, "callback"]) => {
            if let Some(acked) = s.acked.as_mut() {
                acked.insert(token.to_string());
            }
            record(&mut s, body);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => {
            s.violations.push(format!("unexpected call {method} {path}"));
            error(404, 0, "404: Not Found")
        }
    }
}
