//! How Slack reaches podsift: the Events API (`/slack/events`), the `/podsift` slash command
//! (`/slack/commands`) and buttons and modals (`/slack/interactivity`) on the service's HTTP
//! server, and the OAuth install (`/slack/install` → Slack → `/slack/oauth/callback`). Every
//! request is verified with the signing secret (v0 HMAC-SHA256 of `v0:timestamp:body`, at most 5
//! minutes old) and acknowledged at once; the work runs after. Slack's retries of an event are
//! recognised by its event_id and taken once, also across restarts. Socket Mode (`socket.rs`)
//! hands its envelopes to the same handlers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use tokio::sync::watch;

use super::{PREFIX, SlackAdapter, Target, destination};
use crate::deliver::commands::{self, Core};
use crate::deliver::inbound::Inbound;
use crate::deliver::{Choice, Command, Message, Request, Sender};
use crate::http::{constant_time_eq, hex, hmac_sha256};

/// Signed requests older than this are refused, so a captured one cannot be replayed.
pub const MAX_AGE_SECS: i64 = 300;
/// The bot scopes an install asks for (the same as bots/slack/manifest.yml).
pub const SCOPES: &str =
    "chat:write,commands,channels:history,groups:history,channels:read,groups:read,app_mentions:read,users:read";

/// The app's OAuth credentials, for installs into any number of workspaces.
#[derive(Clone)]
pub struct OAuth {
    pub client_id: String,
    pub client_secret: String,
}

/// The receiving half: the HTTP routes (with the signing secret), Socket Mode (with the
/// app-level token), or both.
pub struct SlackInbound {
    pub adapter: Arc<SlackAdapter>,
    pub signing_secret: Option<String>,
    pub app_token: Option<String>,
    pub oauth: Option<OAuth>,
}

/// Why a request was refused.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing X-Slack-Signature or X-Slack-Request-Timestamp")]
    Missing,
    #[error("the request is older than {MAX_AGE_SECS} s (or from the future)")]
    Stale,
    #[error("the signature does not match")]
    BadSignature,
}

/// The `v0=` signature of a body sent at `timestamp`.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut base = format!("v0:{timestamp}:").into_bytes();
    base.extend_from_slice(body);
    format!("v0={}", hex(&hmac_sha256(secret.as_bytes(), &base)))
}

/// Checks a request's signature and its age against `now` (seconds since the epoch).
pub fn verify(secret: &str, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), VerifyError> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(sig), Some(ts)) = (get("x-slack-signature"), get("x-slack-request-timestamp")) else {
        return Err(VerifyError::Missing);
    };
    let at: i64 = ts.trim().parse().map_err(|_| VerifyError::Stale)?;
    // abs_diff: a timestamp near i64::MIN or MAX must not overflow the subtraction.
    if now.abs_diff(at) > MAX_AGE_SECS.unsigned_abs() {
        return Err(VerifyError::Stale);
    }
    if constant_time_eq(signature(secret, ts, body).as_bytes(), sig.as_bytes()) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

#[derive(Clone)]
pub(super) struct Ctx {
    pub(super) adapter: Arc<SlackAdapter>,
    core: Arc<Core>,
    secret: Arc<String>,
    oauth: Option<OAuth>,
}

impl Ctx {
    /// The refusal to send when a request is not Slack's, or None when it is.
    fn check(&self, headers: &HeaderMap, body: &[u8]) -> Option<Response> {
        let e = verify(&self.secret, headers, body, chrono::Utc::now().timestamp()).err()?;
        tracing::warn!("Slack request refused: {e}");
        Some((StatusCode::UNAUTHORIZED, e.to_string()).into_response())
    }

    /// [`Ctx::check`] for a slash command or an interaction, which also answers an empty 200
    /// (and takes nothing) for one already taken. A signed request stays valid for its five
    /// minutes: sent again by whoever saw it, it would repeat a command (a subscription, a
    /// question the model is paid for). Slack signs every request anew, so a signature seen
    /// before is such a copy. Events need no such mark: their ids are taken once already.
    fn check_once(&self, headers: &HeaderMap, body: &[u8]) -> Option<Response> {
        if let Some(refused) = self.check(headers, body) {
            return Some(refused);
        }
        let signature = headers.get("x-slack-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !self.core.first_time(&format!("slack-request:{signature}")) {
            tracing::warn!("Slack request already taken (the same signature came before); ignored");
            return Some(StatusCode::OK.into_response());
        }
        None
    }

    /// Whether `user` may manage channels here: anyone in the channel, unless only admins may.
    /// Why the app cannot post in `channel`, when Slack says so: it is no member (a channel
    /// it was not invited to), or cannot see it at all (a direct message between people). None
    /// when it can, or when it cannot tell (an install without the channels:read scope).
    async fn cannot_post(&self, team: &str, channel: &str) -> Option<String> {
        let token = self.adapter.token(team).ok()?;
        let req = SlackApiConversationsInfoRequest::new(SlackChannelId(channel.to_string()));
        match self.adapter.client().open_session(&token).conversations_info(&req).await {
            Ok(info) if info.channel.flags.is_member == Some(false) => Some(format!(
                "podsift is not in this channel yet: invite it (/invite @podsift), then {PREFIX}subscribe again."
            )),
            Ok(_) => None,
            Err(SlackClientError::ApiError(a)) if a.code == "channel_not_found" => Some(format!(
                "podsift cannot post here (a direct message between people, or a private channel it was not \
                 added to): {PREFIX}subscribe in a channel it is in."
            )),
            Err(e) => {
                tracing::debug!("conversations.info: {e}; subscribing without knowing whether podsift can post");
                None
            }
        }
    }

    async fn can_manage(&self, team: &str, user: &str) -> Option<bool> {
        if !self.adapter.config.admins_only {
            return None;
        }
        let token = self.adapter.token(team).ok()?;
        let req = SlackApiUsersInfoRequest::new(SlackUserId(user.to_string()));
        match self.adapter.client().open_session(&token).users_info(&req).await {
            Ok(info) => {
                let f = &info.user.flags;
                Some(f.is_admin.unwrap_or(false) || f.is_owner.unwrap_or(false))
            }
            Err(e) => {
                tracing::warn!("users.info failed, treating the sender as not an admin: {e}");
                Some(false)
            }
        }
    }
}

/// The fields of a form-encoded body (slash commands, interaction payloads).
pub fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn ephemeral(text: &str) -> Response {
    axum::Json(json!({"response_type": "ephemeral", "text": text})).into_response()
}

async fn events(State(c): State<Ctx>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(refused) = c.check(&headers, &body) {
        return refused;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    match v["type"].as_str() {
        Some("url_verification") => return axum::Json(json!({"challenge": v["challenge"]})).into_response(),
        Some("event_callback") => take_event(&c, &v),
        _ => {}
    }
    StatusCode::OK.into_response()
}

/// Why a workspace's channels are paused when it removes the app (and resumed when it installs
/// it again).
pub const UNINSTALLED: &str = "the Slack app was uninstalled";

/// The work of an Events API callback known to be Slack's (over HTTP or Socket Mode).
pub(super) fn take_event(c: &Ctx, v: &Value) {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let event_id = s(&v["event_id"]);
    let team = s(&v["team_id"]);
    let e = &v["event"];
    match e["type"].as_str().unwrap_or("") {
        "app_uninstalled" | "tokens_revoked" => {
            if !c.core.first_time(&format!("slack-event:{event_id}")) {
                tracing::debug!(event_id, "Slack event already taken; a retry");
                return;
            }
            c.adapter.forget_token(&team);
            c.core.forget_credential(&format!("slack:{team}"));
            let n = c.core.pause_destinations("slack", &format!("{team}/"), UNINSTALLED);
            tracing::info!(team, paused = n, "Slack workspace removed podsift");
        }
        kind @ ("message" | "app_mention") => {
            // podsift's own messages, edits and deletions are not questions; a reply also sent
            // to the channel, or one with a file attached, is.
            let subtype = e["subtype"].as_str();
            if e["bot_id"].is_string() || subtype.is_some_and(|t| !["thread_broadcast", "file_share"].contains(&t)) {
                return;
            }
            let (channel, user, ts) = (s(&e["channel"]), s(&e["user"]), s(&e["ts"]));
            let text = plain_text(&s(&e["text"]));
            let dest = destination(&team, &channel);
            // Only threads under podsift's own insights are questions to it: people talking in
            // any other thread of the channel are not talking to podsift.
            let thread = e["thread_ts"]
                .as_str()
                .filter(|t| *t != ts)
                .filter(|t| c.core.insight_for_message(&dest, t).is_some())
                .map(str::to_string);
            let asks = thread.is_some() && !text.is_empty();
            if !asks && kind != "app_mention" {
                // Most of a channel's talk: nothing to do, and nothing written to the store.
                return;
            }
            // A message that mentions the app comes twice, as `message` and as `app_mention`,
            // under two event ids, and Slack retries events: one message, one answer. Marked only
            // when there is something to do, so a `message` copy that needs nothing cannot take
            // the answer from its `app_mention` twin.
            if !c.core.first_time(&format!("slack-message:{team}:{channel}:{ts}")) {
                tracing::debug!(event_id, "Slack message already taken");
                return;
            }
            let sender = Sender { id: format!("slack:{user}"), can_manage: None };
            match thread {
                // A reply in an insight's thread is a question about that insight.
                Some(thread_ts) if !text.is_empty() => c.core.submit(Request {
                    destination: dest,
                    sender,
                    reply_to: Some(Target::Thread(thread_ts.clone()).encode()),
                    notice_to: None,
                    command: Command::AskAbout { message_id: thread_ts, question: text },
                }),
                // A mention that asks nothing (outside an insight's thread, or bare in one): how to
                // ask, in the thread it was written in (Slack takes a thread's first message as
                // its `thread_ts`, never a reply's).
                _ if kind == "app_mention" => {
                    let hint = format!(
                        "Reply in an insight's thread with your question, or use {PREFIX}help for the commands."
                    );
                    let parent = e["thread_ts"].as_str().map(str::to_string).unwrap_or(ts);
                    let core = c.core.clone();
                    tokio::spawn(async move {
                        core.reply(&dest, Some(&Target::Thread(parent).encode()), &Message::Notice(hint)).await;
                    });
                }
                _ => {}
            }
        }
        _ => {}
    }
}

/// What a person typed, from Slack's markup of it: Slack escapes `&`, `<` and `>` and wraps
/// links, channels and mentions in `<...>`. Mentions of people (the app's own among them) are
/// left out, a channel or a special mention keeps its label, and a link is its address (what
/// `podcasts add` needs) unless its label says something else.
pub fn plain_text(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('>') else {
            rest = &rest[i..];
            break;
        };
        let inner = &rest[i + 1..i + j];
        rest = &rest[i + j + 1..];
        let (target, label) = match inner.split_once('|') {
            Some((t, l)) => (t, Some(l)),
            None => (inner, None),
        };
        match target.chars().next() {
            Some('@') => {}
            Some('#') => out.push_str(&format!("#{}", label.unwrap_or(&target[1..]))),
            Some('!') => match label {
                Some(l) => out.push_str(l),
                None => out.push_str(&format!("@{}", &target[1..])),
            },
            _ => match label {
                // Slack's guess at a link typed without its scheme ("example.com/feed").
                Some(l) if !target.ends_with(l) => out.push_str(l),
                _ => out.push_str(target),
            },
        }
    }
    out.push_str(rest);
    // `&amp;` last: an escaped "&lt;" typed by someone stays "&lt;".
    out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").trim().to_string()
}

async fn slash_command(State(c): State<Ctx>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(refused) = c.check_once(&headers, &body) {
        return refused;
    }
    match take_command(&c, &form(&body)) {
        Some(usage) => ephemeral(&usage),
        None => StatusCode::OK.into_response(),
    }
}

/// The work of a slash command known to be Slack's, from its fields; the usage error to show
/// the user alone when the command is not understood.
pub(super) fn take_command(c: &Ctx, f: &HashMap<String, String>) -> Option<String> {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let (team, channel, user, text) = (get("team_id"), get("channel_id"), get("user_id"), plain_text(&get("text")));
    let text = text.trim();
    let (name, args) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let name = if name.is_empty() { "help" } else { name };
    let command = match commands::parse(name, args, PREFIX) {
        Ok(command) => command,
        Err(e) => return Some(e),
    };
    let needs_manager = commands::spec(name).is_some_and(|s| s.access.asks_who());
    // A digest asked for is for the channel; everything else, and what is said about that
    // digest, only for the asker.
    let only_for = Target::only_for(&user, f.get("response_url").map(String::as_str)).encode();
    let (reply_to, notice_to) = match command {
        Command::DigestNow => (None, Some(only_for.clone())),
        _ => (Some(only_for.clone()), None),
    };
    let c = c.clone();
    // Taken (Slack was answered): a stopping service waits for it while Slack is asked more.
    let taking = c.core.taking();
    tokio::spawn(async move {
        let _taking = taking;
        // A subscription podsift could never deliver is refused with the reason at once,
        // rather than confirmed and then paused at its first digest; a digest asked for where
        // it cannot be posted would fail unseen.
        if matches!(command, Command::Subscribe { .. } | Command::DigestNow) {
            if let Some(why) = c.cannot_post(&team, &channel).await {
                c.core.reply(&destination(&team, &channel), Some(&only_for), &Message::Notice(why)).await;
                return;
            }
        }
        let can_manage = if needs_manager { c.can_manage(&team, &user).await } else { None };
        c.core.submit(Request {
            destination: destination(&team, &channel),
            sender: Sender { id: format!("slack:{user}"), can_manage },
            reply_to,
            notice_to,
            command,
        });
    });
    None
}

async fn interactivity(State(c): State<Ctx>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(refused) = c.check_once(&headers, &body) {
        return refused;
    }
    let payload = form(&body).remove("payload").unwrap_or_default();
    let Ok(p) = serde_json::from_str::<Value>(&payload) else {
        return (StatusCode::BAD_REQUEST, "no payload").into_response();
    };
    // An empty 200 also closes a submitted modal.
    take_interaction(&c, &p);
    StatusCode::OK.into_response()
}

/// The work of a button press or modal submission known to be Slack's.
pub(super) fn take_interaction(c: &Ctx, p: &Value) {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let team = s(&p["team"]["id"]);
    let user = s(&p["user"]["id"]);
    let only_for = |user: &str| Target::only_for(user, p["response_url"].as_str()).encode();
    match p["type"].as_str() {
        Some("block_actions") => {
            let channel = s(&p["channel"]["id"]);
            let message_ts =
                p["container"]["message_ts"].as_str().or(p["message"]["ts"].as_str()).unwrap_or("").to_string();
            let action = &p["actions"][0];
            let (id, value) = (s(&action["action_id"]), s(&action["value"]));
            let dest = destination(&team, &channel);
            let sender = Sender { id: format!("slack:{user}"), can_manage: None };
            match id.as_str() {
                "fb_up" | "fb_down" => {
                    let up = id == "fb_up";
                    c.core.submit(Request {
                        destination: dest.clone(),
                        sender,
                        reply_to: None,
                        notice_to: None,
                        command: Command::Feedback { insight: value, up },
                    });
                    let core = c.core.clone();
                    let thanks = if up { "Thanks, noted 👍" } else { "Thanks, noted 👎" };
                    let to = only_for(&user);
                    tokio::spawn(async move {
                        core.reply(&dest, Some(&to), &Message::Notice(thanks.into())).await;
                    });
                }
                choice if choice.starts_with("cmd_") => match Choice::parse(&value, PREFIX) {
                    Ok(command) => {
                        let needs_manager = value
                            .split_whitespace()
                            .next()
                            .and_then(commands::spec)
                            .is_some_and(|s| s.access.asks_who());
                        let c = c.clone();
                        let to = only_for(&user);
                        let taking = c.core.taking();
                        tokio::spawn(async move {
                            let _taking = taking;
                            let can_manage = if needs_manager { c.can_manage(&team, &user).await } else { None };
                            c.core.submit(Request {
                                destination: dest,
                                sender: Sender { id: format!("slack:{user}"), can_manage },
                                reply_to: Some(to),
                                notice_to: None,
                                command,
                            });
                        });
                    }
                    Err(e) => tracing::warn!("a Slack button podsift does not know: {e}"),
                },
                "ask" => {
                    // Opened at once: the trigger expires 3 seconds after the click.
                    let trigger = s(&p["trigger_id"]);
                    let metadata = format!("{team}|{channel}|{message_ts}|{value}");
                    let c = c.clone();
                    tokio::spawn(async move { open_question_modal(&c, &team, &trigger, metadata, &value).await });
                }
                _ => {}
            }
        }
        Some("view_submission") if p["view"]["callback_id"] == "podsift_ask" => {
            let metadata = s(&p["view"]["private_metadata"]);
            let question = s(&p["view"]["state"]["values"]["q"]["question"]["value"]);
            let parts: Vec<&str> = metadata.splitn(4, '|').collect();
            if let [team, channel, message_ts, reference] = parts.as_slice() {
                if !question.trim().is_empty() {
                    c.core.submit(Request {
                        destination: destination(team, channel),
                        sender: Sender { id: format!("slack:{user}"), can_manage: None },
                        reply_to: Some(Target::Thread(message_ts.to_string()).encode()),
                        notice_to: None,
                        command: Command::Ask { reference: reference.to_string(), question },
                    });
                }
            }
        }
        _ => {}
    }
}

async fn open_question_modal(c: &Ctx, team: &str, trigger: &str, metadata: String, reference: &str) {
    let token = match c.adapter.token(team) {
        Ok(token) => token,
        // A workspace podsift has no token for: in a channel shared between organisations the
        // press may come from the other one. Logged, as nothing can be shown without a token.
        Err(e) => return tracing::warn!("cannot open the question form: {e}"),
    };
    let rank = reference.rsplit('#').next().unwrap_or(reference);
    let input = SlackBlockPlainTextInputElement::new()
        .with_action_id(SlackActionId("question".into()))
        .with_multiline(true)
        .with_max_length(500);
    let block = SlackInputBlock::new(
        SlackBlockPlainTextOnly::from("Your question"),
        SlackInputBlockElement::PlainTextInput(input),
    )
    .with_block_id(SlackBlockId("q".into()));
    let view =
        SlackModalView::new(SlackBlockPlainTextOnly::from(format!("Ask about #{rank}").as_str()), vec![block.into()])
            .with_submit(SlackBlockPlainTextOnly::from("Ask"))
            .with_callback_id(SlackCallbackId("podsift_ask".into()))
            .with_private_metadata(metadata);
    let req = SlackApiViewsOpenRequest::new(SlackTriggerId(trigger.to_string()), SlackView::Modal(view));
    if let Err(e) = c.adapter.client().open_session(&token).views_open(&req).await {
        tracing::warn!("views.open failed: {e}");
    }
}

/// The signed, short-lived state of an install: `TIMESTAMP.NONCE.MAC`.
fn install_state(secret: &str, now: i64) -> (String, String) {
    let nonce = hex(&hmac_sha256(secret.as_bytes(), format!("{now}:{:?}", std::time::Instant::now()).as_bytes())[..12]);
    let mac = hex(&hmac_sha256(secret.as_bytes(), format!("{now}.{nonce}").as_bytes()));
    (format!("{now}.{nonce}.{mac}"), nonce)
}

/// Checks an install's state: signed by us, under 10 minutes old, and the nonce of the browser
/// that started it (its cookie), so another site cannot complete an install in its name.
pub fn check_state(secret: &str, state: &str, cookie_nonce: Option<&str>, now: i64) -> Result<(), &'static str> {
    let parts: Vec<&str> = state.split('.').collect();
    let [ts, nonce, mac] = parts.as_slice() else { return Err("malformed state") };
    let expected = hex(&hmac_sha256(secret.as_bytes(), format!("{ts}.{nonce}").as_bytes()));
    if !constant_time_eq(expected.as_bytes(), mac.as_bytes()) {
        return Err("the state was not issued by this podsift");
    }
    let at: i64 = ts.parse().map_err(|_| "malformed state")?;
    if now - at > 600 || at > now + 60 {
        return Err("the install took too long; start again");
    }
    if cookie_nonce != Some(*nonce) {
        return Err("the install was not started from this browser");
    }
    Ok(())
}

fn redirect_uri(c: &Ctx) -> Option<String> {
    c.adapter.config.public_url.as_ref().map(|u| format!("{}/slack/oauth/callback", u.trim_end_matches('/')))
}

async fn install(State(c): State<Ctx>) -> Response {
    let Some(oauth) = &c.oauth else { return (StatusCode::NOT_FOUND, "installs are not enabled").into_response() };
    let (state, nonce) = install_state(&c.secret, chrono::Utc::now().timestamp());
    let mut url = url::Url::parse("https://slack.com/oauth/v2/authorize").expect("a valid URL");
    url.query_pairs_mut()
        .append_pair("client_id", &oauth.client_id)
        .append_pair("scope", SCOPES)
        .append_pair("state", &state);
    if let Some(r) = redirect_uri(&c) {
        url.query_pairs_mut().append_pair("redirect_uri", &r);
    }
    let cookie = format!("podsift_slack_state={nonce}; Path=/slack; HttpOnly; Secure; SameSite=Lax; Max-Age=600");
    (StatusCode::FOUND, [(header::LOCATION, url.to_string()), (header::SET_COOKIE, cookie)]).into_response()
}

fn page(status: StatusCode, text: &str) -> Response {
    let escaped = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    (status, axum::response::Html(format!("<!doctype html><title>podsift</title><p>{escaped}</p>"))).into_response()
}

async fn oauth_callback(
    State(c): State<Ctx>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(oauth) = c.oauth.clone() else {
        return (StatusCode::NOT_FOUND, "installs are not enabled").into_response();
    };
    let cookie_nonce = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix("podsift_slack_state=").map(str::to_string));
    let state = q.get("state").cloned().unwrap_or_default();
    if let Err(why) = check_state(&c.secret, &state, cookie_nonce.as_deref(), chrono::Utc::now().timestamp()) {
        tracing::warn!("Slack install refused: {why}");
        return page(StatusCode::FORBIDDEN, &format!("Install refused: {why}."));
    }
    let Some(code) = q.get("code") else { return page(StatusCode::BAD_REQUEST, "Slack sent no code.") };
    let req = SlackOAuthV2AccessTokenRequest::new(
        SlackClientId(oauth.client_id.clone()),
        SlackClientSecret(oauth.client_secret.clone()),
        SlackOAuthCode(code.clone()),
    )
    .opt_redirect_uri(redirect_uri(&c).and_then(|u| url::Url::parse(&u).ok()));
    match c.adapter.client().oauth2_access(&req).await {
        Ok(r) => {
            let team = r.team.id.0.clone();
            let token = r.access_token.0.clone();
            if let Err(e) = c.core.save_credential(&format!("slack:{team}"), &token) {
                tracing::error!("cannot store the workspace's token: {e}");
                return page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Installed, but the token could not be stored; try again.",
                );
            }
            c.adapter.set_token(&team, &token);
            // Installed again after its removal: the channels that had a digest get it again.
            let resumed = c.core.resume_destinations("slack", &format!("{team}/"), UNINSTALLED);
            let name = r.team.name.unwrap_or(team);
            tracing::info!(resumed, "podsift installed in Slack workspace {name}");
            let again = match resumed {
                0 => String::new(),
                n => format!(" The {n} channel(s) that had a digest before it was removed get it again."),
            };
            page(StatusCode::OK, &format!("podsift is installed in {name}.{again} In a channel: /podsift subscribe"))
        }
        Err(e) => {
            // The error names the Slack code only; the secret and the code stay out of logs.
            let why = match e {
                SlackClientError::ApiError(a) => a.code,
                _ => "Slack could not be reached".into(),
            };
            tracing::warn!("Slack install failed: {why}");
            page(StatusCode::BAD_GATEWAY, &format!("The install failed: {why}."))
        }
    }
}

impl Inbound for SlackInbound {
    fn start(self: Box<Self>, core: Arc<Core>, shutdown: watch::Receiver<bool>) -> axum::Router {
        // Workspaces installed earlier through OAuth.
        for (key, token) in core.credentials("slack:") {
            self.adapter.set_token(key.trim_start_matches("slack:"), &token);
        }
        // Without a signing secret (Socket Mode) install states are signed with a key of this
        // process's own.
        let secret = Arc::new(self.signing_secret.clone().unwrap_or_else(|| {
            let mut key = [0u8; 32];
            let _ = getrandom::fill(&mut key);
            hex(&key)
        }));
        let ctx = Ctx { adapter: self.adapter, core, secret, oauth: self.oauth };
        if let Some(app_token) = self.app_token {
            super::socket::start(ctx.clone(), app_token, shutdown);
        }
        let mut routes = axum::Router::new()
            .route("/slack/install", axum::routing::get(install))
            .route("/slack/oauth/callback", axum::routing::get(oauth_callback));
        // Without a signing secret nothing could prove a request is Slack's: no routes take any.
        if self.signing_secret.is_some() {
            routes = routes
                .route("/slack/events", axum::routing::post(events))
                .route("/slack/commands", axum::routing::post(slash_command))
                .route("/slack/interactivity", axum::routing::post(interactivity));
        }
        routes.with_state(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_markup_is_read_as_typed() {
        assert_eq!(plain_text("<@U123> what was said?"), "what was said?");
        assert_eq!(plain_text("why <@U1|bot> now"), "why  now");
        assert_eq!(plain_text("Q&amp;A &lt;3 &amp;lt;"), "Q&A <3 &lt;");
        assert_eq!(
            plain_text("podcasts add <https://x.org/f?id=42&amp;fmt=rss>"),
            "podcasts add https://x.org/f?id=42&fmt=rss"
        );
        assert_eq!(plain_text("podcasts add <http://x.org/feed|x.org/feed>"), "podcasts add http://x.org/feed");
        assert_eq!(
            plain_text("see <https://x.org/a|the notes> in <#C1|general> <!here>"),
            "see the notes in #general @here"
        );
        assert_eq!(plain_text("<!subteam^S1|@devs> a &lt; b"), "@devs a < b");
    }

    #[test]
    fn install_state_is_signed_fresh_and_bound_to_the_browser() {
        let (state, nonce) = install_state("s", 1000);
        assert_eq!(check_state("s", &state, Some(&nonce), 1100), Ok(()));
        assert!(check_state("other", &state, Some(&nonce), 1100).is_err());
        assert!(check_state("s", &state, Some(&nonce), 2000).is_err());
        assert!(check_state("s", &state, Some("someone-else"), 1100).is_err());
        assert!(check_state("s", &state, None, 1100).is_err());
    }

    #[test]
    fn timestamp_at_the_ends_of_i64_is_stale_not_an_overflow() {
        for ts in [i64::MIN, i64::MAX] {
            let mut headers = HeaderMap::new();
            headers.insert("x-slack-request-timestamp", ts.to_string().parse().unwrap());
            headers.insert("x-slack-signature", "v0=00".parse().unwrap());
            assert_eq!(verify("s", &headers, b"{}", 1_764_316_800), Err(VerifyError::Stale), "{ts}");
        }
    }
}
