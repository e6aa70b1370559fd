//! A fake Telegram Bot API server: answers `POST /bot<token>/<method>` like Telegram does,
//! refuses a wrong token, checks every sendMessage (HTML parse mode, well-formed HTML with only
//! Telegram's tags and entities, at most 4096 UTF-16 units after entity parsing), serves queued
//! updates to getUpdates, and can answer a chat with 429, 403 or a supergroup migration.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{Value, json};

pub const TOKEN: &str = "123456:TEST-token";

#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub body: Value,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    updates: VecDeque<Value>,
    calls: Vec<Call>,
    next_message_id: i64,
    /// Per chat: error replies to give to the next sendMessage calls.
    scripted: HashMap<i64, VecDeque<Value>>,
    admins: HashSet<i64>,
    violations: Vec<String>,
    /// How long a getUpdates with nothing to give is held, as Telegram's long poll does.
    hold: Option<std::time::Duration>,
    /// How long a getChatMember takes to answer (recorded when it answers).
    member_delay: std::time::Duration,
}

pub struct FakeTelegram {
    pub base: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeTelegram {
    pub async fn start() -> FakeTelegram {
        let state = Arc::new(Mutex::new(State { next_message_id: 1000, ..State::default() }));
        let s = state.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, body: Bytes| {
            let s = s.clone();
            async move { handle(s, uri, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeTelegram { base, state, task }
    }

    /// From now on, a getChatMember is answered (and recorded) only after `d`.
    pub fn slow_member_lookups(&self, d: std::time::Duration) {
        self.state.lock().unwrap().member_delay = d;
    }

    /// From now on, a getUpdates with nothing to give is answered only after `d`.
    pub fn hold_polls(&self, d: std::time::Duration) {
        self.state.lock().unwrap().hold = Some(d);
    }

    pub fn push_update(&self, update: Value) {
        self.state.lock().unwrap().updates.push_back(update);
    }

    pub fn script(&self, chat: i64, replies: Vec<Value>) {
        self.state.lock().unwrap().scripted.insert(chat, replies.into());
    }

    pub fn make_admin(&self, user: i64) {
        self.state.lock().unwrap().admins.insert(user);
    }

    pub fn calls(&self, method: &str) -> Vec<Call> {
        let m = method.to_lowercase();
        self.state.lock().unwrap().calls.iter().filter(|c| c.method == m).cloned().collect()
    }

    /// Successful sendMessage calls to `chat`.
    pub fn sent_to(&self, chat: i64) -> Vec<Call> {
        self.calls("sendMessage")
            .into_iter()
            .filter(|c| c.body["chat_id"] == chat && c.body.get("ok").is_none())
            .collect()
    }

    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }
}

/// The text fields of a multipart/form-data body, as a JSON object.
fn multipart_fields(body: &str) -> Value {
    let mut out = serde_json::Map::new();
    for chunk in body.split("Content-Disposition: form-data; name=\"").skip(1) {
        let Some((name, rest)) = chunk.split_once('"') else { continue };
        let Some((_, value)) = rest.split_once("\r\n\r\n") else { continue };
        let value = value.split("\r\n--").next().unwrap_or("");
        out.insert(name.to_string(), Value::String(value.to_string()));
    }
    Value::Object(out)
}

pub fn error(code: u16, description: &str, parameters: Option<Value>) -> Value {
    let mut v = json!({"ok": false, "error_code": code, "description": description});
    if let Some(p) = parameters {
        v["parameters"] = p;
    }
    v
}

fn ok(result: Value) -> axum::response::Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

fn user(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": "User"})
}

async fn handle(state: Arc<Mutex<State>>, uri: Uri, body: Bytes) -> axum::response::Response {
    let path = uri.path();
    let Some(rest) = path.strip_prefix("/bot") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (token, method) = rest.split_once('/').unwrap_or((rest, ""));
    if token != TOKEN {
        return (StatusCode::UNAUTHORIZED, axum::Json(error(401, "Unauthorized", None))).into_response();
    }
    let method = method.to_lowercase();
    if method == "getchatmember" {
        let delay = state.lock().unwrap().member_delay;
        tokio::time::sleep(delay).await;
    }
    // teloxide sends JSON, except for methods that may carry files (setWebhook): multipart.
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body).unwrap_or_else(|_| multipart_fields(&String::from_utf8_lossy(&body)))
    };
    // A held long poll is recorded when asked, waits here with the state unlocked, then reads
    // what there is.
    let mut recorded = false;
    if method == "getupdates" {
        let hold = {
            let mut st = state.lock().unwrap();
            let offset = body["offset"].as_i64().unwrap_or(0);
            let hold = st.hold.filter(|_| !st.updates.iter().any(|u| u["update_id"].as_i64().unwrap_or(0) >= offset));
            if hold.is_some() {
                st.calls.push(Call { method: method.clone(), body: body.clone(), at: Instant::now() });
                recorded = true;
            }
            hold
        };
        if let Some(d) = hold {
            tokio::time::sleep(d).await;
        }
    }
    let mut st = state.lock().unwrap();
    if !recorded {
        st.calls.push(Call { method: method.clone(), body: body.clone(), at: Instant::now() });
    }
    match method.as_str() {
        "getme" => ok(json!({"id": 42, "is_bot": true, "first_name": "podsift", "username": "podsift_bot",
            "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
            "can_connect_to_business": false, "has_main_web_app": false})),
        "setmycommands" | "deletewebhook" | "setwebhook" | "answercallbackquery" => ok(json!(true)),
        "getupdates" => {
            let offset = body["offset"].as_i64().unwrap_or(0);
            st.updates.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            let batch: Vec<Value> = st.updates.iter().cloned().collect();
            let hold = st.hold;
            drop(st);
            if batch.is_empty() && hold.is_none() {
                // A short long-poll keeps the tests quick.
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            ok(Value::Array(batch))
        }
        "getchatmember" => {
            let uid = body["user_id"].as_i64().unwrap_or(0);
            if st.admins.contains(&uid) {
                ok(json!({"status": "creator", "user": user(uid), "is_anonymous": false}))
            } else {
                ok(json!({"status": "member", "user": user(uid)}))
            }
        }
        "sendmessage" => {
            let chat = body["chat_id"].as_i64().unwrap_or(0);
            if let Some(reply) = st.scripted.get_mut(&chat).and_then(|q| q.pop_front()) {
                let code = reply["error_code"].as_u64().unwrap_or(400) as u16;
                st.calls.last_mut().unwrap().body["ok"] = json!(false);
                return (StatusCode::from_u16(code).unwrap(), axum::Json(reply)).into_response();
            }
            let text = body["text"].as_str().unwrap_or("").to_string();
            let mut problems = Vec::new();
            if body["parse_mode"] != "HTML" {
                problems.push(format!("parse_mode is {}", body["parse_mode"]));
            }
            match check_html(&text) {
                Ok(len) if len > 4096 => problems.push(format!("{len} UTF-16 units, over 4096")),
                Ok(_) => {}
                Err(e) => problems.push(e),
            }
            if !problems.is_empty() {
                let msg = format!("chat {chat}: {}: {text:?}", problems.join("; "));
                st.violations.push(msg.clone());
                st.calls.last_mut().unwrap().body["ok"] = json!(false);
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(error(400, &format!("Bad Request: can't parse entities: {msg}"), None)),
                )
                    .into_response();
            }
            st.next_message_id += 1;
            let id = st.next_message_id;
            st.calls.last_mut().unwrap().body["message_id"] = json!(id);
            let kind = if chat < 0 {
                json!({"id": chat, "type": "supergroup", "title": "Group"})
            } else {
                json!({"id": chat, "type": "private", "first_name": "User"})
            };
            ok(json!({"message_id": id, "date": 1764316800, "chat": kind, "text": text}))
        }
        other => {
            (StatusCode::NOT_FOUND, axum::Json(error(404, &format!("Not Found: method {other}"), None))).into_response()
        }
    }
}

/// Checks Telegram-style HTML; returns the visible length in UTF-16 units.
pub fn check_html(html: &str) -> Result<usize, String> {
    const TAGS: &[&str] = &[
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
        "span",
    ];
    let mut stack: Vec<String> = Vec::new();
    let mut visible = String::new();
    let chars: Vec<char> = html.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '<' => {
                let end = (i..chars.len()).find(|&j| chars[j] == '>').ok_or("unclosed '<'")?;
                let tag: String = chars[i + 1..end].iter().collect();
                if let Some(name) = tag.strip_prefix('/') {
                    let open = stack.pop().ok_or(format!("</{name}> closes nothing"))?;
                    if open != name.trim() {
                        return Err(format!("</{name}> closes <{open}>"));
                    }
                } else {
                    let name = tag.split_whitespace().next().unwrap_or("").to_string();
                    if !TAGS.contains(&name.as_str()) {
                        return Err(format!("tag <{name}> is not supported"));
                    }
                    if name == "a" && !tag.contains("href=\"") {
                        return Err("<a> without href".into());
                    }
                    stack.push(name);
                }
                i = end + 1;
            }
            '&' => {
                let end = (i..chars.len().min(i + 10)).find(|&j| chars[j] == ';').ok_or("'&' not escaped")?;
                let entity: String = chars[i + 1..end].iter().collect();
                let c = match entity.as_str() {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    e if e.starts_with('#') => {
                        e[1..].parse::<u32>().ok().and_then(char::from_u32).ok_or(format!("bad entity &{e};"))?
                    }
                    e => return Err(format!("unknown entity &{e};")),
                };
                visible.push(c);
                i = end + 1;
            }
            c => {
                visible.push(c);
                i += 1;
            }
        }
    }
    if let Some(open) = stack.pop() {
        return Err(format!("<{open}> is never closed"));
    }
    Ok(visible.encode_utf16().count())
}
