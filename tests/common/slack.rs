//! A fake Slack Web API (the slack-morphism client pointed at it with `api_url`): checks the bot
//! token of every call against the workspaces it knows, checks every message against Block Kit's
//! limits and for a plain-text fallback, records what it got, answers oauth.v2.access for one
//! code, and can answer a channel with 429 (Retry-After) or an error code. Its Socket Mode end
//! gives websocket URLs only for the app-level token, says hello on each connection, sends the
//! envelopes a test hands it, and records every acknowledgement (which must name an envelope it
//! sent) and every connection that closes.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{Value, json};

pub const TEAM: &str = "T1DC2JH3J";
pub const TOKEN: &str = "xoxb-test-token";
pub const CLIENT_ID: &str = "111.222";
pub const CLIENT_SECRET: &str = "client-secret";
/// The code oauth.v2.access accepts, and the workspace and token it installs.
pub const OAUTH_CODE: &str = "good-code";
pub const OAUTH_TEAM: &str = "T0OTHER";
pub const OAUTH_TOKEN: &str = "xoxb-installed";
/// The app-level token apps.connections.open accepts.
pub const APP_TOKEN: &str = "xapp-1-A1-test";

#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub body: Value,
    pub token: String,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    ts: u64,
    scripted: HashMap<String, VecDeque<(u16, Value)>>,
    admins: HashSet<String>,
    violations: Vec<String>,
    socket_url: String,
    /// Open Socket Mode connections, to write envelopes to.
    sockets: Vec<tokio::sync::mpsc::UnboundedSender<String>>,
    sent_envelopes: HashSet<String>,
    acks: Vec<Value>,
    sockets_closed: usize,
    /// Channels whose chat.postMessage is taken and never answered.
    hanging: HashSet<String>,
    /// response_url ids that answer as used up.
    used_up: HashSet<String>,
    /// Channels the app is not a member of.
    outside: HashSet<String>,
    /// How many auth.test calls still answer 503, as a Slack that is down.
    auth_down: usize,
    /// Channels whose next posts go through but whose answers never come (`(channel, count)`).
    lost_answers: HashMap<String, usize>,
}

pub struct FakeSlack {
    /// The API base, as `adapters.slack.api_url`.
    pub api: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        let app = axum::Router::new().fallback(move |m: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let s = s.clone();
            async move {
                // A post to a hanging channel is recorded, then never answered, as a server
                // that took the request and stalled.
                let channel =
                    serde_json::from_slice::<Value>(&body).ok().and_then(|b| b["channel"].as_str().map(String::from));
                // A post that goes through and whose answer is lost on the way back.
                if uri.path().ends_with("/chat.postMessage") {
                    let lost = channel.as_ref().and_then(|c| {
                        let mut st = s.lock().unwrap();
                        let left = st.lost_answers.get_mut(c).filter(|n| **n > 0)?;
                        *left -= 1;
                        st.ts += 1;
                        let ts = format!("1764316800.{:06}", st.ts);
                        let mut body: Value = serde_json::from_slice(&body).unwrap_or_default();
                        body["ts"] = json!(ts);
                        st.calls.push(Call {
                            method: "chat.postMessage".into(),
                            body,
                            token: String::new(),
                            at: Instant::now(),
                        });
                        Some(())
                    });
                    if lost.is_some() {
                        std::future::pending::<()>().await;
                    }
                }
                if uri.path().ends_with("/chat.postMessage")
                    && channel.is_some_and(|c| s.lock().unwrap().hanging.contains(&c))
                {
                    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
                    s.lock().unwrap().calls.push(Call {
                        method: "chat.postMessage".into(),
                        body,
                        token: String::new(),
                        at: Instant::now(),
                    });
                    std::future::pending::<()>().await;
                }
                handle(s, m, uri, headers, body)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = format!("http://{}/api", listener.local_addr().unwrap());
        let ws = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        state.lock().unwrap().socket_url = format!("ws://{}/link/?ticket=t1", ws.local_addr().unwrap());
        let s = state.clone();
        let task = tokio::spawn(async move {
            tokio::spawn(serve_sockets(ws, s));
            axum::serve(listener, app).await.unwrap();
        });
        FakeSlack { api, state, task }
    }

    /// Sends a Socket Mode envelope on one open connection.
    pub fn socket_send(&self, envelope: Value) {
        let mut s = self.state.lock().unwrap();
        s.sent_envelopes.insert(envelope["envelope_id"].as_str().unwrap().to_string());
        s.sockets.retain(|c| !c.is_closed());
        s.sockets.first().expect("no Socket Mode connection is open").send(envelope.to_string()).unwrap();
    }

    pub fn sockets_open(&self) -> usize {
        let mut s = self.state.lock().unwrap();
        s.sockets.retain(|c| !c.is_closed());
        s.sockets.len()
    }

    pub fn sockets_closed(&self) -> usize {
        self.state.lock().unwrap().sockets_closed
    }

    /// The acknowledgement of `envelope_id`, when it came.
    pub fn ack(&self, envelope_id: &str) -> Option<Value> {
        self.state.lock().unwrap().acks.iter().find(|a| a["envelope_id"] == envelope_id).cloned()
    }

    /// The next `n` auth.test calls answer 503.
    pub fn auth_down(&self, n: usize) {
        self.state.lock().unwrap().auth_down = n;
    }

    pub fn script(&self, channel: &str, replies: Vec<(u16, Value)>) {
        self.state.lock().unwrap().scripted.entry(channel.to_string()).or_default().extend(replies);
    }

    /// A `response_url` as Slack sends with a command or a button press, served here: what is
    /// posted to it is recorded as a "respond" call (`body["url_id"]` names which).
    pub fn response_url(&self, id: &str) -> String {
        format!("{}/respond/{id}", self.api)
    }

    /// What was posted to response_urls, in order.
    pub fn responses(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.iter().filter(|c| c.method.starts_with("respond/")).cloned().collect()
    }

    /// From now on, the response_url `id` answers 404 `used_url`, as Slack's after five replies.
    pub fn use_up(&self, id: &str) {
        self.state.lock().unwrap().used_up.insert(id.to_string());
    }

    /// The app is no member of `channel` (nobody invited it).
    pub fn leave(&self, channel: &str) {
        self.state.lock().unwrap().outside.insert(channel.to_string());
    }

    /// From now on, posts to `channel` get no answer at all.
    pub fn hang(&self, channel: &str) {
        self.state.lock().unwrap().hanging.insert(channel.to_string());
    }

    /// A message another app posted in `channel`, with metadata of its own (numbers and
    /// objects in its payload, as Slack's own examples have).
    pub fn foreign_message(&self, channel: &str) {
        let mut s = self.state.lock().unwrap();
        s.ts += 1;
        let body = json!({"channel": channel, "ts": format!("1764316800.{:06}", s.ts), "text": "deploy done",
            "metadata": {"event_type": "deploy_finished", "event_payload": {"build": 42, "ok": true, "env": {"name": "prod"}}}});
        s.calls.push(Call { method: "chat.postMessage".into(), body, token: String::new(), at: Instant::now() });
    }

    /// The next `n` posts to `channel` are posted, but their answers never come.
    pub fn lose_answers(&self, channel: &str, n: usize) {
        self.state.lock().unwrap().lost_answers.insert(channel.to_string(), n);
    }

    pub fn make_admin(&self, user: &str) {
        self.state.lock().unwrap().admins.insert(user.to_string());
    }

    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.state.lock().unwrap().calls.iter().filter(|c| c.method == method).cloned().collect()
    }

    /// Messages posted to `channel` (successfully).
    pub fn posted(&self, channel: &str) -> Vec<Call> {
        self.calls("chat.postMessage")
            .into_iter()
            .filter(|c| c.body["channel"] == channel && c.body["ts"].is_string())
            .collect()
    }

    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }
}

async fn serve_sockets(listener: tokio::net::TcpListener, state: Arc<Mutex<State>>) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    while let Ok((tcp, _)) = listener.accept().await {
        let state = state.clone();
        tokio::spawn(async move {
            let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else { return };
            let (mut write, mut read) = ws.split();
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
            let hello = json!({"type": "hello", "num_connections": 1,
                "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": "A1"}});
            if write.send(Message::text(hello.to_string())).await.is_err() {
                return;
            }
            state.lock().unwrap().sockets.push(tx);
            loop {
                tokio::select! {
                    out = rx.recv() => match out {
                        Some(text) => if write.send(Message::text(text)).await.is_err() { break },
                        None => break,
                    },
                    msg = read.next() => match msg {
                        Some(Ok(Message::Text(text))) => {
                            let mut s = state.lock().unwrap();
                            match serde_json::from_str::<Value>(&text) {
                                Ok(ack) if ack["envelope_id"].as_str().is_some_and(|id| s.sent_envelopes.contains(id)) => {
                                    s.acks.push(ack)
                                }
                                _ => s.violations.push(format!("not an acknowledgement of a sent envelope: {text}")),
                            }
                        }
                        Some(Ok(Message::Ping(p))) => { let _ = write.send(Message::Pong(p)).await; }
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                        Some(Ok(_)) => {}
                    },
                }
            }
            state.lock().unwrap().sockets_closed += 1;
        });
    }
}

fn text_len(v: &Value) -> usize {
    v["text"].as_str().map(|s| s.chars().count()).unwrap_or(0)
}

/// Block Kit's limits, a fallback text, and no control sequence (`<!channel>`, a forged link)
/// that podsift did not mean.
fn check(body: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    if body["text"].as_str().is_none_or(|t| t.trim().is_empty()) {
        bad.push("no plain-text fallback".into());
    }
    let blocks = body["blocks"].as_array().cloned().unwrap_or_default();
    if blocks.len() > 50 {
        bad.push(format!("{} blocks", blocks.len()));
    }
    for b in &blocks {
        match b["type"].as_str() {
            Some("section") if text_len(&b["text"]) > 3000 => bad.push(format!("section of {}", text_len(&b["text"]))),
            Some("context") => {
                for e in b["elements"].as_array().cloned().unwrap_or_default() {
                    if text_len(&e) > 2000 {
                        bad.push(format!("context element of {}", text_len(&e)));
                    }
                }
            }
            Some("actions") => {
                for e in b["elements"].as_array().cloned().unwrap_or_default() {
                    if text_len(&e["text"]) > 75 {
                        bad.push(format!("button label {}", e["text"]));
                    }
                }
            }
            _ => {}
        }
        let text = b.to_string();
        if text.contains("<!") {
            bad.push(format!("a mention in {text}"));
        }
    }
    bad
}

fn ok(v: Value) -> axum::response::Response {
    let mut v = v;
    v["ok"] = json!(true);
    axum::Json(v).into_response()
}

fn handle(
    state: Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let name = uri.path().trim_start_matches("/api/").to_string();
    let query: HashMap<String, String> =
        uri.query().map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let mut body: Value = serde_json::from_slice(&body).unwrap_or_else(|_| json!(query));
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let token = auth.strip_prefix("Bearer ").unwrap_or("").to_string();
    let mut s = state.lock().unwrap();
    let record = |s: &mut State, body: Value, token: &str| {
        s.calls.push(Call { method: name.clone(), body, token: token.to_string(), at: Instant::now() });
    };
    if name == "oauth.v2.access" {
        use base64_basic::decode_basic;
        let basic = decode_basic(&auth);
        record(&mut s, body.clone(), "");
        if basic != Some(format!("{CLIENT_ID}:{CLIENT_SECRET}")) {
            return axum::Json(json!({"ok": false, "error": "invalid_client_id"})).into_response();
        }
        if query.get("code").map(String::as_str) != Some(OAUTH_CODE) {
            return axum::Json(json!({"ok": false, "error": "invalid_code"})).into_response();
        }
        return ok(json!({"access_token": OAUTH_TOKEN, "token_type": "bot", "scope": "chat:write,commands",
            "bot_user_id": "U0BOT", "app_id": "A1", "team": {"id": OAUTH_TEAM, "name": "Other Co"},
            "authed_user": {"id": "U9"}}));
    }
    if let Some(id) = name.strip_prefix("respond/") {
        // Slack's response_url: no token, the message itself, seen by the user alone by default.
        let mut bad = check(&body);
        if body["response_type"] != "ephemeral" {
            bad.push(format!("a reply through response_url without response_type ephemeral: {body}"));
        }
        body["url_id"] = json!(id);
        record(&mut s, body, "");
        if s.used_up.contains(id) {
            return (StatusCode::NOT_FOUND, axum::Json(json!({"ok": false, "error": "used_url"}))).into_response();
        }
        s.violations.extend(bad);
        return ok(json!({}));
    }
    if name == "apps.connections.open" {
        record(&mut s, body, &token);
        // Slack refuses bot tokens here: only the app-level token opens a connection.
        if token != APP_TOKEN {
            return axum::Json(json!({"ok": false, "error": "not_allowed_token_type"})).into_response();
        }
        return ok(json!({"url": s.socket_url}));
    }
    if token != TOKEN && token != OAUTH_TOKEN {
        record(&mut s, body, &token);
        return axum::Json(json!({"ok": false, "error": "invalid_auth"})).into_response();
    }
    match name.as_str() {
        "conversations.history" => {
            // The channel's posts, newest first, with their metadata when asked for it.
            let channel = body["channel"].as_str().unwrap_or("").to_string();
            let metadata = body["include_all_metadata"] == "true" || body["include_all_metadata"] == true;
            record(&mut s, body, &token);
            let mut messages: Vec<Value> = s
                .calls
                .iter()
                .filter(|c| c.method == "chat.postMessage" && c.body["channel"] == channel.as_str())
                .filter(|c| c.body["ts"].is_string() && c.body["thread_ts"].is_null())
                .map(|c| {
                    let mut m = json!({"type": "message", "ts": c.body["ts"], "text": c.body["text"], "bot_id": "B1"});
                    if metadata && !c.body["metadata"].is_null() {
                        m["metadata"] = c.body["metadata"].clone();
                    }
                    m
                })
                .collect();
            messages.reverse();
            ok(json!({"messages": messages, "has_more": false}))
        }
        "conversations.info" => {
            let channel = body["channel"].as_str().unwrap_or("").to_string();
            record(&mut s, body, &token);
            // A direct message between people is invisible to the app; a channel it was not
            // invited to is visible, without it as a member.
            if channel.starts_with('D') {
                return axum::Json(json!({"ok": false, "error": "channel_not_found"})).into_response();
            }
            let member = !s.outside.contains(&channel);
            ok(json!({"channel": {"id": channel, "created": 1700000000, "is_channel": true, "is_member": member}}))
        }
        "auth.test" if s.auth_down > 0 => {
            s.auth_down -= 1;
            record(&mut s, body, &token);
            (StatusCode::SERVICE_UNAVAILABLE, "down").into_response()
        }
        "auth.test" => {
            record(&mut s, body, &token);
            ok(json!({"user_id": "U0BOT", "team_id": TEAM, "team": "Acme", "user": "podsift", "bot_id": "B1",
                "url": "https://acme.slack.com/"}))
        }
        "chat.postMessage" => {
            let channel = body["channel"].as_str().unwrap_or("").to_string();
            if let Some((status, reply)) = s.scripted.get_mut(&channel).and_then(|q| q.pop_front()) {
                record(&mut s, body, &token);
                // A scripted reply may name its Retry-After (any text, as a broken server's).
                let after = reply["retry_after"].as_str().unwrap_or("1").to_string();
                let mut resp = (StatusCode::from_u16(status).unwrap(), axum::Json(reply)).into_response();
                if status == 429 {
                    resp.headers_mut().insert("retry-after", after.parse().unwrap());
                }
                return resp;
            }
            let bad = check(&body);
            s.violations.extend(bad);
            s.ts += 1;
            let ts = format!("1764316800.{:06}", s.ts);
            body["ts"] = json!(ts);
            let text = body["text"].clone();
            record(&mut s, body, &token);
            ok(json!({"channel": channel, "ts": ts, "message": {"ts": ts, "text": text, "type": "message"}}))
        }
        "chat.postEphemeral" => {
            let bad = check(&body);
            s.violations.extend(bad);
            record(&mut s, body, &token);
            ok(json!({"message_ts": "1764316800.999999"}))
        }
        "views.open" => {
            let view = body["view"].clone();
            record(&mut s, body, &token);
            let mut v = view;
            v["id"] = json!("V1");
            v["team_id"] = json!(TEAM);
            v["state"] = json!({"values": {}});
            v["hash"] = json!("h");
            ok(json!({"view": v}))
        }
        "users.info" => {
            let user = query.get("user").cloned().unwrap_or_default();
            let admin = s.admins.contains(&user);
            record(&mut s, body, &token);
            ok(json!({"user": {"id": user, "team_id": TEAM, "name": "reader", "is_admin": admin, "is_owner": false}}))
        }
        other => {
            s.violations.push(format!("unexpected call {method} {other}"));
            record(&mut s, body, &token);
            axum::Json(json!({"ok": false, "error": "unknown_method"})).into_response()
        }
    }
}

/// HTTP basic credentials, decoded (the client authenticates oauth.v2.access with them).
mod base64_basic {
    pub fn decode_basic(header: &str) -> Option<String> {
        let b64 = header.strip_prefix("Basic ")?;
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut bits = 0u32;
        let mut n = 0;
        let mut out = Vec::new();
        for c in b64.bytes().filter(|c| *c != b'=') {
            bits = (bits << 6) | alphabet.iter().position(|a| *a == c)? as u32;
            n += 6;
            if n >= 8 {
                n -= 8;
                out.push((bits >> n) as u8);
                bits &= (1 << n) - 1;
            }
        }
        String::from_utf8(out).ok()
    }
}
