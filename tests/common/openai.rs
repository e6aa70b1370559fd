//! A fake OpenAI-compatible server: validates every chat completion request (model, strict JSON
//! schema, a system message that marks the transcript as untrusted, the transcript inside its
//! delimiters in the user message) and answers from a script: a JSON content string, a raw
//! body, or an HTTP error with headers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{Value, json};

#[derive(Clone, Debug)]
pub enum Canned {
    /// A successful completion whose message content is this text.
    Content(String),
    /// An HTTP error status with headers and a JSON body.
    Error(u16, Vec<(String, String)>, Value),
    /// Content computed from the request body, as a model reads its input; an `Err` is refused
    /// with 400 and recorded as the request's problem.
    Reply(Responder),
    /// A completion whose content was cut at the output limit (`finish_reason: length`).
    Cut(String),
    /// A completion the model declined: no content, a `refusal`.
    Declined(String),
}

/// Reads a request body and writes the message content (or says what is wrong with the request).
#[derive(Clone)]
pub struct Responder(pub Arc<Reply>);

/// What a responder does with a request body.
pub type Reply = dyn Fn(&Value) -> Result<String, String> + Send + Sync;

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Responder")
    }
}

/// The text of the request's user message.
pub fn user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_string()
}

#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub body: Value,
    pub at: Instant,
    /// Why the request was refused, when it was.
    pub problem: Option<String>,
}

#[derive(Default)]
struct State {
    model: String,
    script: VecDeque<Canned>,
    seen: Vec<Seen>,
    /// When set, every request must carry `Authorization: Bearer <key>`, as OpenAI's API wants.
    key: Option<String>,
    /// Completions without a `usage` field, as many compatible servers answer.
    no_usage: bool,
    /// How long each request is held before its answer, as a busy server does.
    delay: std::time::Duration,
}

pub struct FakeOpenAi {
    pub base: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeOpenAi {
    pub async fn start(model: &str) -> FakeOpenAi {
        let state = Arc::new(Mutex::new(State { model: model.into(), ..State::default() }));
        let s = state.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: axum::http::HeaderMap, body: Bytes| {
            let s = s.clone();
            async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let expected = s.lock().unwrap().key.clone();
                match expected {
                    Some(key) if auth != format!("Bearer {key}") => {
                        s.lock().unwrap().seen.push(Seen {
                            path: uri.path().to_string(),
                            body: Value::Null,
                            at: Instant::now(),
                            problem: Some(format!("wrong or missing API key: {auth:?}")),
                        });
                        let error = json!({"error": {"message": "Incorrect API key provided.",
                            "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}});
                        (StatusCode::UNAUTHORIZED, axum::Json(error)).into_response()
                    }
                    _ => {
                        let delay = s.lock().unwrap().delay;
                        tokio::time::sleep(delay).await;
                        handle(s, uri, body)
                    }
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v1", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeOpenAi { base, state, task }
    }

    pub fn script(&self, canned: Vec<Canned>) {
        self.state.lock().unwrap().script.extend(canned);
    }

    /// Drops what the script still holds.
    pub fn clear_script(&self) {
        self.state.lock().unwrap().script.clear();
    }

    /// From now on, each request is answered after `d`.
    pub fn delay(&self, d: std::time::Duration) {
        self.state.lock().unwrap().delay = d;
    }

    /// From now on, completions leave out `usage`.
    pub fn without_usage(&self) {
        self.state.lock().unwrap().no_usage = true;
    }

    /// From now on, requests without `Authorization: Bearer key` get 401.
    pub fn require_key(&self, key: &str) {
        self.state.lock().unwrap().key = Some(key.to_string());
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }
}

/// A JSON content string with these insights (text, quote, importance).
pub fn insights(items: &[(&str, &str, f64)]) -> Canned {
    let list: Vec<Value> = items
        .iter()
        .map(|(t, q, i)| json!({"text": t, "quote": q, "speaker": "Ana", "importance": i, "reason": "specific"}))
        .collect();
    Canned::Content(json!({"insights": list}).to_string())
}

fn check_chat(body: &Value, model: &str) -> Result<(), String> {
    if body["model"] != model {
        return Err(format!("model is {}", body["model"]));
    }
    let rf = &body["response_format"];
    if rf["type"] != "json_schema" || rf["json_schema"]["strict"] != true {
        return Err(format!("response_format is not a strict json_schema: {rf}"));
    }
    let schema = &rf["json_schema"]["schema"];
    if schema["additionalProperties"] != false || schema["required"].as_array().is_none_or(|r| r.is_empty()) {
        return Err("the schema is not strict (additionalProperties/required)".into());
    }
    let messages = body["messages"].as_array().ok_or("no messages")?;
    let system = messages.iter().find(|m| m["role"] == "system").ok_or("no system message")?;
    let user = messages.iter().find(|m| m["role"] == "user").ok_or("no user message")?;
    let system_text = system["content"].as_str().unwrap_or("");
    let user_text = user["content"].as_str().unwrap_or("");
    if !system_text.contains("untrusted") {
        return Err("the system message does not mark the transcript as untrusted".into());
    }
    if system_text.contains("<transcript>") && system_text.matches("<transcript>").count() > 1 {
        return Err("transcript text in the system message".into());
    }
    let (Some(open), Some(close)) = (user_text.find("<transcript>"), user_text.rfind("</transcript>")) else {
        return Err("the user message has no <transcript> block".into());
    };
    if open > close {
        return Err("transcript delimiters out of order".into());
    }
    // Outside the block only podsift's own words: the reader's question, the editor's heading.
    // Anything from a feed or a transcript (titles, an insight, earlier answers) is data.
    let outside = format!("{}\n{}", &user_text[..open], &user_text[close + "</transcript>".len()..]);
    if let Some(line) = outside
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("Question: ") && !l.starts_with("Today's "))
    {
        return Err(format!("text outside the transcript block: {line:?}"));
    }
    Ok(())
}

/// A transcription upload must be multipart with the model and a non-empty file.
fn check_transcription(raw: &[u8]) -> Result<Value, String> {
    let text = String::from_utf8_lossy(raw);
    let field = |name: &str| {
        text.split(&format!("name=\"{name}\""))
            .nth(1)
            .and_then(|rest| rest.split("\r\n\r\n").nth(1))
            .map(|v| v.split("\r\n--").next().unwrap_or("").to_string())
    };
    let model = field("model").ok_or("no model field")?;
    let format = field("response_format").unwrap_or_default();
    let file = text.split("name=\"file\"").nth(1).ok_or("no file part")?;
    if !file.contains("filename=\"") {
        return Err("the file part has no filename".into());
    }
    // The file's own bytes (the request limit is on the file): from the part's blank line to the
    // next boundary, found in the raw bytes (audio is not text).
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let part = find(raw, b"name=\"file\"").ok_or("no file part")?;
    let start = part + find(&raw[part..], b"\r\n\r\n").ok_or("the file part has no body")? + 4;
    let file_bytes = find(&raw[start..], b"\r\n--").ok_or("the file part is not closed")?;
    if file_bytes == 0 {
        return Err("the file part is empty".into());
    }
    Ok(json!({"model": model, "response_format": format, "bytes": raw.len(), "file_bytes": file_bytes}))
}

fn handle(state: Arc<Mutex<State>>, uri: Uri, raw: Bytes) -> axum::response::Response {
    let mut st = state.lock().unwrap();
    let path = uri.path().to_string();
    let (body, problem) = match path.as_str() {
        "/v1/chat/completions" => {
            let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
            let problem = check_chat(&body, &st.model).err();
            (body, problem)
        }
        "/v1/embeddings" => {
            let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
            let inputs: Vec<String> = body["input"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            let model_ok = body["model"].as_str().is_some_and(|m| !m.is_empty());
            if !model_ok || inputs.is_empty() {
                (body, Some("embeddings need a model and an input array".to_string()))
            } else {
                let data: Vec<Value> = inputs
                    .iter()
                    .enumerate()
                    .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": meaning(t)}))
                    .collect();
                st.seen.push(Seen { path: path.clone(), body: body.clone(), at: Instant::now(), problem: None });
                return axum::Json(json!({"object": "list", "model": body["model"], "data": data,
                    "usage": {"prompt_tokens": 20, "total_tokens": 20}}))
                .into_response();
            }
        }
        "/v1/audio/transcriptions" => match check_transcription(&raw) {
            Ok(v) => (v, None),
            Err(e) => (Value::Null, Some(e)),
        },
        other => (Value::Null, Some(format!("unexpected path {other}"))),
    };
    st.seen.push(Seen { path: path.clone(), body, at: Instant::now(), problem: problem.clone() });
    if let Some(p) = problem {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"message": p, "type": "invalid_request_error", "param": null, "code": null}})),
        )
            .into_response();
    }
    let next = match st.script.pop_front() {
        Some(Canned::Reply(Responder(f))) => match f(&st.seen.last().map(|s| s.body.clone()).unwrap_or(Value::Null)) {
            Ok(content) => Some(Canned::Content(content)),
            Err(problem) => {
                if let Some(last) = st.seen.last_mut() {
                    last.problem = Some(problem.clone());
                }
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"error": {"message": problem, "type": "invalid_request_error", "param": null, "code": null}})),
                )
                    .into_response();
            }
        },
        other => other,
    };
    match next {
        // Transcriptions answer with the content itself (verbose JSON, no usage field).
        Some(Canned::Content(content)) if path.ends_with("/transcriptions") => {
            ([(axum::http::header::CONTENT_TYPE, "application/json")], content).into_response()
        }
        Some(canned @ (Canned::Content(_) | Canned::Cut(_) | Canned::Declined(_))) => {
            let (content, refusal, finish) = match canned {
                Canned::Content(c) => (json!(c), Value::Null, "stop"),
                Canned::Cut(c) => (json!(c), Value::Null, "length"),
                Canned::Declined(why) => (Value::Null, json!(why), "stop"),
                _ => unreachable!(),
            };
            let mut body = json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1764316800, "model": st.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": refusal}, "finish_reason": finish, "logprobs": null}],
                "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500}
            });
            if st.no_usage {
                body.as_object_mut().unwrap().remove("usage");
            }
            axum::Json(body).into_response()
        }
        Some(Canned::Error(code, headers, body)) => {
            let mut resp = (StatusCode::from_u16(code).unwrap(), axum::Json(body)).into_response();
            for (k, v) in headers {
                resp.headers_mut()
                    .insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
            }
            resp
        }
        Some(Canned::Reply(_)) => unreachable!("replies are computed above"),
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(
                json!({"error": {"message": "script exhausted", "type": "server_error", "param": null, "code": null}}),
            ),
        )
            .into_response(),
    }
}

/// A toy embedding: a few concepts, each recognised by several words, so paraphrases that share
/// no word still point the same way; other words add a little noise.
pub fn meaning(text: &str) -> Vec<f32> {
    const CONCEPTS: &[&[&str]] = &[
        &["outage", "incident", "downtime"],
        &["config", "configuration", "rollout", "push", "change"],
        &["billing", "payments", "invoices"],
        &["rust", "memory", "proxies"],
        &["latency", "slow", "faster"],
    ];
    let lower = text.to_lowercase();
    let mut v = vec![0.0f32; 16];
    for (i, words) in CONCEPTS.iter().enumerate() {
        if words.iter().any(|w| lower.contains(w)) {
            v[i] = 1.0;
        }
    }
    for w in lower.split_whitespace() {
        let h = w.bytes().fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
        v[5 + (h % 11) as usize] += 0.05;
    }
    v
}
