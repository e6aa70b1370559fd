//! The Slack adapter (slack-morphism): a header message, then one Block Kit message per insight
//! (the insight, a context line with podcast · episode · speaker · a link to the moment, the
//! quote, and Ask / 👍 / 👎 buttons) with a plain-text fallback; answers in the insight's thread.
//! Requests arrive at the service's HTTP server (`inbound.rs`) or over Socket Mode (`socket.rs`).
//! It translates and nothing more.

pub mod inbound;
pub mod socket;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use futures_util::future::BoxFuture;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use crate::config::SlackConfig;
use crate::deliver::parts::split_text;
use crate::deliver::{Adapter, Destination, Limits, Part, ReplyTarget, SendError, TextUnit};
use crate::model::DigestEntry;
use crate::render::cut;

pub const BOT_TOKEN_ENV: &str = "SLACK_BOT_TOKEN";
pub const SIGNING_SECRET_ENV: &str = "SLACK_SIGNING_SECRET";
pub const CLIENT_ID_ENV: &str = "SLACK_CLIENT_ID";
pub const CLIENT_SECRET_ENV: &str = "SLACK_CLIENT_SECRET";
/// How commands are typed: one slash command with subcommands.
pub const PREFIX: &str = "/podsift ";
/// Block Kit's limits.
pub const MAX_SECTION: usize = 3000;
pub const MAX_CONTEXT: usize = 2000;
pub const MAX_BUTTON_LABEL: usize = 75;
pub const MAX_BLOCKS: usize = 50;

pub type Connector =
    SlackClientHyperConnector<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>>;

/// Sends through Slack's Web API, with each workspace's bot token.
pub struct SlackAdapter {
    client: SlackClient<Connector>,
    /// For a command's `response_url`, which is no Web API method.
    http: reqwest::Client,
    config: SlackConfig,
    /// Workspace (team id) → bot token; filled from SLACK_BOT_TOKEN and OAuth installs.
    tokens: RwLock<HashMap<String, String>>,
    /// SLACK_BOT_TOKEN while Slack could not be asked whose it is (unreachable at the start),
    /// or why Slack refused it when asked later.
    unchecked: RwLock<Option<Unchecked>>,
}

/// The metadata event a channel post carries its idempotency key in.
const PART_EVENT: &str = "podsift_part";

/// A bot token Slack has not confirmed.
#[derive(Clone)]
enum Unchecked {
    Waiting(String),
    Refused(String),
}

/// Escapes the three characters Slack's mrkdwn treats as control: podcast text can then never
/// mention @channel or forge a link.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Escaped text cut to `max` characters without leaving half an entity (`&am…`) or a quote
/// line's marker without its space (`\n>…`, a stray ">") at the cut.
fn cut_escaped(escaped: &str, max: usize) -> String {
    let out = cut(escaped, max);
    if out == escaped {
        return out;
    }
    let mut body = out.strip_suffix('…').unwrap_or(&out);
    if let Some(i) = body.rfind('&').filter(|&i| !body[i..].contains(';')) {
        body = &body[..i];
    }
    let body = body.strip_suffix("\n>").unwrap_or(body);
    format!("{body}…")
}

/// A section of mrkdwn that is escaped already.
fn section(escaped: &str) -> SlackBlock {
    let text = SlackBlockMarkDownText::new(cut_escaped(escaped, MAX_SECTION));
    SlackBlock::Section(SlackSectionBlock::new().with_text(SlackBlockText::MarkDown(text)))
}

/// Plain text as sections, escaped and split so that no section loses text to the limit
/// (escaping makes `&` five characters).
fn sections(text: &str) -> Vec<SlackBlock> {
    let escaped = escape(text);
    if escaped.chars().count() <= MAX_SECTION {
        return vec![section(&escaped)];
    }
    split_text(text, MAX_SECTION / "&amp;".len(), TextUnit::Chars).iter().map(|p| section(&escape(p))).collect()
}

/// The plain `text` of a message (notifications, screen readers), escaped like the blocks:
/// Slack reads it as mrkdwn too, so feed text must not make it a mention or a link.
fn fallback(text: &str) -> String {
    cut_escaped(&escape(text), MAX_SECTION)
}

fn button(action: &str, label: &str, value: &str) -> SlackActionBlockElement {
    SlackActionBlockElement::Button(
        SlackBlockButtonElement::new(SlackBlockPlainTextOnly::from(cut(label, MAX_BUTTON_LABEL).as_str()))
            .with_action_id(SlackActionId(action.into()))
            .with_value(value.to_string()),
    )
}

/// One insight as blocks, every piece within Block Kit's limits, and its plain-text fallback.
pub fn entry_blocks(date: chrono::NaiveDate, e: &DigestEntry) -> (Vec<SlackBlock>, String) {
    let moment = match &e.link {
        // A link too long to fit beside the names is left out rather than cut in half.
        Some(link) if escape(link).len() <= MAX_CONTEXT / 3 => format!("<{}|{}>", escape(link), e.moment()),
        _ => e.moment(),
    };
    // Each name is cut on its own, so together they leave room for the link.
    let name = |s: &str, max: usize| cut_escaped(&escape(s), max);
    let speaker = e.speaker.as_deref().map(|s| format!(" · {}", name(s, MAX_CONTEXT / 10))).unwrap_or_default();
    let context =
        format!("{} · {}{speaker} · {moment}", name(&e.podcast, MAX_CONTEXT / 5), name(&e.episode, MAX_CONTEXT / 5));
    let mut blocks = vec![section(&format!("*#{}* {}", e.rank, escape(&e.text)))];
    blocks.push(SlackBlock::Context(SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
        SlackBlockMarkDownText::new(cut_escaped(&context, MAX_CONTEXT)),
    )])));
    if crate::render::quote_adds(e) {
        blocks.push(section(&format!("> {}", escape(&e.quote).replace('\n', "\n> "))));
    }
    if !e.also_in.is_empty() {
        blocks.push(SlackBlock::Context(SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
            SlackBlockMarkDownText::new(format!("Also said on {} other episode(s)", e.also_in.len())),
        )])));
    }
    blocks.push(SlackBlock::Actions(SlackActionsBlock::new(vec![
        button("ask", "Ask", &format!("{date}#{}", e.rank)),
        button("fb_up", "👍", &e.id),
        button("fb_down", "👎", &e.id),
    ])));
    let fallback = fallback(&format!("#{} {} — {}, {}", e.rank, e.text, e.podcast, e.episode));
    (blocks, fallback)
}

/// One part as message content: blocks and the plain `text` for notifications and screen readers.
pub fn render(part: &Part) -> SlackMessageContent {
    let (blocks, text) = match part {
        Part::DigestHeader { date, count, .. } => {
            let t = format!("podsift · top {count} for {date}");
            (vec![section(&format!("*{t}*"))], fallback(&t))
        }
        Part::Entry { date, entry, .. } => entry_blocks(*date, entry),
        Part::Answer { entry, answer, .. } => {
            let t = format!("About #{} ({} — {}):\n{}", entry.rank, entry.podcast, entry.episode, answer.answer);
            (sections(&t), fallback(&t))
        }
        Part::Prompt { rank, .. } => {
            let t = format!("Press Ask under #{rank}, or reply in its thread with your question.");
            (vec![section(&t)], fallback(&t))
        }
        Part::Text(t) => (sections(t), fallback(t)),
        // One button a choice; the value is the command it stands for.
        Part::Choices { text, choices } => {
            let buttons: Vec<SlackActionBlockElement> = choices
                .iter()
                .take(25)
                .enumerate()
                .map(|(i, c)| button(&format!("cmd_{i}"), &c.label, &c.command))
                .collect();
            let mut blocks = sections(text);
            if !buttons.is_empty() {
                blocks.push(SlackBlock::Actions(SlackActionsBlock::new(buttons)));
            }
            (blocks, fallback(text))
        }
    };
    SlackMessageContent::new().with_text(text).with_blocks(blocks.into_iter().take(MAX_BLOCKS).collect())
}

/// Where a reply goes, as the inbound half wrote it into a [`ReplyTarget`].
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// In the thread of this message (its ts).
    Thread(String),
    /// Only this user sees it (chat.postEphemeral).
    Ephemeral(String),
    /// Only this user sees it, through the `response_url` Slack gave with their command or
    /// button press: it reaches them also where the app is no member (a direct message between
    /// two people, a channel it was not invited to), which chat.postEphemeral cannot.
    Respond { user: String, url: String },
}

impl Target {
    pub fn encode(&self) -> ReplyTarget {
        ReplyTarget(match self {
            Target::Thread(ts) => format!("thread:{ts}"),
            Target::Ephemeral(user) => format!("ephemeral:{user}"),
            Target::Respond { user, url } => format!("respond:{user}|{url}"),
        })
    }

    /// A reply only `user` sees: through `response_url` when Slack gave a web address, else
    /// chat.postEphemeral.
    pub fn only_for(user: &str, response_url: Option<&str>) -> Target {
        match response_url.and_then(|u| url::Url::parse(u).ok()).filter(|u| matches!(u.scheme(), "https" | "http")) {
            Some(url) => Target::Respond { user: user.to_string(), url: url.to_string() },
            None => Target::Ephemeral(user.to_string()),
        }
    }

    pub fn decode(r: &ReplyTarget) -> Option<Target> {
        match r.0.split_once(':')? {
            ("thread", ts) => Some(Target::Thread(ts.to_string())),
            ("ephemeral", user) => Some(Target::Ephemeral(user.to_string())),
            ("respond", rest) => {
                let (user, url) = rest.split_once('|')?;
                Some(Target::Respond { user: user.to_string(), url: url.to_string() })
            }
            _ => None,
        }
    }
}

impl SlackAdapter {
    /// Posts `content` to a command's `response_url`, seen only by the one who used it.
    async fn respond(&self, url: &str, content: &SlackMessageContent) -> Result<(), SendError> {
        // Slack's own host, or the one the Web API is reached at (a proxy, a test server): what
        // readers ask is never posted anywhere else, whatever a request carried.
        let host = |u: &str| url::Url::parse(u).ok().and_then(|u| u.host_str().map(str::to_string));
        let allowed = host(url).is_some_and(|h| {
            h == "hooks.slack.com" || self.config.api_url.as_deref().and_then(host).is_some_and(|api| api == h)
        });
        if !allowed {
            return Err(SendError::Invalid("a response_url that is not Slack's".into()));
        }
        let mut body = serde_json::to_value(content).map_err(|e| SendError::Invalid(e.to_string()))?;
        body["response_type"] = serde_json::json!("ephemeral");
        // The address lets anyone post to the user for half an hour: kept out of errors and logs.
        let r = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| SendError::Transient(e.without_url().to_string()))?;
        let status = r.status();
        match status.as_u16() {
            200..=299 => Ok(()),
            429 => Err(SendError::RateLimited {
                retry_after: crate::http::retry_after(r.headers(), chrono::Utc::now())
                    .unwrap_or(std::time::Duration::from_secs(1)),
            }),
            500..=599 => Err(SendError::Transient(format!("response_url answered {status}"))),
            _ => Err(SendError::Invalid(format!("response_url answered {status}"))),
        }
    }
}

/// A destination id is `TEAM/CHANNEL`: the workspace says which token to use.
pub fn destination(team: &str, channel: &str) -> Destination {
    Destination::new("slack", &format!("{team}/{channel}"))
}

/// Slack's answers to a token it does not take.
const REFUSED_TOKEN: &[&str] =
    &["invalid_auth", "not_authed", "not_allowed_token_type", "token_revoked", "token_expired", "account_inactive"];

/// Of [`REFUSED_TOKEN`], the answers to a token that worked and no longer does, renewed once for
/// the whole workspace: tried again like an outage. Not "not_authed" or
/// "not_allowed_token_type": no token, or one of the wrong kind, is the configuration's, which
/// no retry fixes.
const TOKEN_TO_RENEW: &[&str] = &["invalid_auth", "token_revoked", "token_expired"];

/// Slack errors that mean the channel or the workspace is gone, or that the workspace does not
/// let the app post in that channel (made read-only or admins-only): pause with the reason, do
/// not retry every day until someone acts. (A token refused, revoked or expired is the whole
/// workspace's, fixed once for all its channels: tried again like an outage, so a token fixed
/// within the catch-up window still brings the day's digest, and the channels need no resuming
/// one by one; a scope missing gives the day up; an uninstalled app's channels are paused by
/// its `app_uninstalled` event, and resumed by the next install.)
const GONE: &[&str] = &[
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "account_inactive",
    "ekm_access_denied",
    "team_access_not_granted",
    "restricted_action",
    "restricted_action_read_only_channel",
    "restricted_action_thread_only_channel",
    "restricted_action_non_threadable_channel",
];

/// Slack errors its documentation calls temporary: tried again later, like an HTTP 5xx. Not
/// `fatal_error`: Slack says the post may have partly gone through, and a retry would show it
/// twice.
const TEMPORARY: &[&str] =
    &["internal_error", "service_unavailable", "request_timeout", "ratelimited", "team_added_to_org"];

/// The fix for a bot token Slack refused.
fn refused_bot_token(code: &str) -> String {
    format!(
        "{BOT_TOKEN_ENV} was refused by Slack ({code}): copy the Bot User OAuth Token (xoxb-...) again (bots/slack/README.md)"
    )
}

/// What a Slack error means for the core.
pub fn classify(e: SlackClientError) -> SendError {
    match e {
        SlackClientError::RateLimitError(r) => {
            SendError::RateLimited { retry_after: r.retry_after.unwrap_or(std::time::Duration::from_secs(1)) }
        }
        SlackClientError::ApiError(a) if GONE.contains(&a.code.as_str()) => SendError::Gone(a.code),
        SlackClientError::ApiError(a) if TEMPORARY.contains(&a.code.as_str()) => SendError::Transient(a.code),
        SlackClientError::ApiError(a) if TOKEN_TO_RENEW.contains(&a.code.as_str()) => SendError::Transient(format!(
            "Slack refused this workspace's token ({}): copy {BOT_TOKEN_ENV} again, or install the app in the workspace again (bots/slack/README.md)",
            a.code
        )),
        SlackClientError::ApiError(a) => SendError::Invalid(a.code),
        SlackClientError::HttpError(h) if h.status_code.is_server_error() => SendError::Transient(h.to_string()),
        SlackClientError::HttpError(h) => SendError::Invalid(h.to_string()),
        other => SendError::Transient(other.to_string()),
    }
}

impl SlackAdapter {
    /// The client for `config.api_url` (or Slack's). With `bot_token` (one workspace) the token
    /// is checked with auth.test: a refused one is a one-line error.
    pub async fn connect(config: &SlackConfig, bot_token: Option<&str>) -> Result<SlackAdapter, String> {
        crate::ensure_tls_provider();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let mut connector = SlackClientHyperConnector::with_connector(https);
        if let Some(url) = &config.api_url {
            connector = connector.with_slack_api_url(url.trim_end_matches('/'));
        }
        let adapter = SlackAdapter {
            client: SlackClient::new(connector),
            http: crate::http::client(std::time::Duration::from_secs(10), Some(std::time::Duration::from_secs(20)))?,
            config: config.clone(),
            tokens: RwLock::default(),
            unchecked: RwLock::default(),
        };
        if let Some(token) = bot_token {
            let token = token.trim().to_string();
            match adapter.check_token(&token).await {
                Ok(()) => {}
                Err(SlackClientError::ApiError(a)) if REFUSED_TOKEN.contains(&a.code.as_str()) => {
                    return Err(refused_bot_token(&a.code));
                }
                // Slack down or unreachable at this moment: the other platforms start all the
                // same, and the token is checked again in the background
                // ([`SlackAdapter::check_later`]); Slack's digests wait for it.
                Err(e) => {
                    tracing::warn!(
                        "cannot reach the Slack Web API to check {BOT_TOKEN_ENV} ({e}); trying again in the background"
                    );
                    adapter.set_unchecked(Some(Unchecked::Waiting(token)));
                }
            }
        }
        Ok(adapter)
    }

    /// Asks Slack whose `token` is and takes it for that workspace.
    async fn check_token(&self, token: &str) -> Result<(), SlackClientError> {
        let api_token = SlackApiToken::new(SlackApiTokenValue(token.to_string()));
        let me = self.client.open_session(&api_token).auth_test().await?;
        tracing::info!("Slack workspace {} connected", me.team);
        self.set_token(&me.team_id.0, token);
        Ok(())
    }

    fn set_unchecked(&self, state: Option<Unchecked>) {
        if let Ok(mut u) = self.unchecked.write() {
            *u = state;
        }
    }

    /// Checks a bot token Slack could not be asked about at the start, again and again (waiting
    /// from two seconds up to five minutes between tries) until Slack answers.
    pub fn check_later(self: &Arc<Self>) {
        let Some(Unchecked::Waiting(token)) = self.unchecked.read().ok().and_then(|u| u.clone()) else {
            return;
        };
        let adapter = self.clone();
        tokio::spawn(async move {
            let mut wait = std::time::Duration::from_secs(2);
            loop {
                tokio::time::sleep(wait).await;
                match adapter.check_token(&token).await {
                    Ok(()) => return adapter.set_unchecked(None),
                    Err(SlackClientError::ApiError(a)) if REFUSED_TOKEN.contains(&a.code.as_str()) => {
                        let refused = refused_bot_token(&a.code);
                        tracing::error!("{refused}");
                        return adapter.set_unchecked(Some(Unchecked::Refused(refused)));
                    }
                    Err(e) => tracing::warn!("still cannot reach the Slack Web API ({e})"),
                }
                wait = (wait * 2).min(std::time::Duration::from_secs(300));
            }
        });
    }

    pub fn set_token(&self, team: &str, token: &str) {
        if let Ok(mut t) = self.tokens.write() {
            t.insert(team.to_string(), token.to_string());
        }
    }

    pub fn forget_token(&self, team: &str) {
        if let Ok(mut t) = self.tokens.write() {
            t.remove(team);
        }
    }

    /// The bot token of workspace `team`; an unknown workspace is a gone destination.
    pub fn token(&self, team: &str) -> Result<SlackApiToken, SendError> {
        let tokens = self.tokens.read().map_err(|_| SendError::Transient("token map poisoned".into()))?;
        if let Some(t) = tokens.get(team) {
            return Ok(SlackApiToken::new(SlackApiTokenValue(t.clone())));
        }
        // While the bot token is unchecked its workspace is unknown: this may be it.
        match self.unchecked.read().ok().and_then(|u| u.clone()) {
            Some(Unchecked::Waiting(_)) => Err(SendError::Transient(format!(
                "Slack could not be reached to check {BOT_TOKEN_ENV} yet; tried again in the background"
            ))),
            Some(Unchecked::Refused(why)) => Err(SendError::Transient(why)),
            None => Err(SendError::Gone(format!("no bot token for workspace {team} (not installed, or uninstalled)"))),
        }
    }

    pub fn client(&self) -> &SlackClient<Connector> {
        &self.client
    }

    /// The ts of the channel's recent post carrying `key`, when the earlier try went through;
    /// None when it is not there or the channel cannot be read (then it is posted).
    async fn posted_before(&self, token: &SlackApiToken, channel: &SlackChannelId, key: &str) -> Option<String> {
        // Read as plain JSON: other apps' metadata carries numbers and objects, which the client
        // crate's typed messages refuse, and one such message would hide the whole page. 15
        // messages: what Slack gives apps outside its Marketplace on one call.
        let api = self.config.api_url.as_deref().unwrap_or("https://slack.com/api").trim_end_matches('/');
        let read = self
            .http
            .get(format!("{api}/conversations.history"))
            .bearer_auth(&token.token_value.0)
            .query(&[("channel", channel.0.as_str()), ("limit", "15"), ("include_all_metadata", "true")])
            .send()
            .await;
        let page: serde_json::Value = match read {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(e) => {
                tracing::debug!("cannot read the channel to find an earlier try ({e}); posting");
                return None;
            }
        };
        page["messages"].as_array()?.iter().find_map(|m| {
            let md = &m["metadata"];
            (md["event_type"] == PART_EVENT && md["event_payload"]["key"] == key)
                .then(|| m["ts"].as_str().map(str::to_string))
                .flatten()
        })
    }
}

impl Adapter for SlackAdapter {
    fn platform(&self) -> &'static str {
        "slack"
    }

    fn limits(&self) -> Limits {
        Limits {
            max_message_len: MAX_SECTION,
            unit: TextUnit::Chars,
            global_per_second: self.config.global_per_second,
            per_destination_per_second: self.config.per_channel_per_second,
        }
    }

    fn command_prefix(&self) -> &'static str {
        PREFIX
    }

    fn send<'a>(
        &'a self,
        to: &'a Destination,
        part: &'a Part,
        reply_to: Option<&'a ReplyTarget>,
        key: &'a str,
        again: bool,
    ) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let (team, channel) =
                to.id.split_once('/').ok_or_else(|| SendError::Invalid(format!("{to} is not slack:TEAM/CHANNEL")))?;
            let content = render(part);
            let channel = SlackChannelId(channel.to_string());
            let target = match reply_to.and_then(Target::decode) {
                Some(Target::Respond { user, url }) => match self.respond(&url, &content).await {
                    Ok(()) => return Ok(format!("ephemeral-{key}")),
                    // Used up (five replies) or expired (half an hour): the Web API then.
                    Err(SendError::Invalid(why)) => {
                        tracing::debug!("Slack response_url refused ({why}); chat.postEphemeral instead");
                        Some(Target::Ephemeral(user))
                    }
                    Err(e) => return Err(e),
                },
                other => other,
            };
            match target {
                Some(Target::Ephemeral(user)) => {
                    let req = SlackApiChatPostEphemeralRequest::new(channel, SlackUserId(user), content);
                    let token = self.token(team)?;
                    let sent = self.client.open_session(&token).chat_post_ephemeral(&req).await;
                    // Slack gives an ephemeral message no id anyone could reply to.
                    sent.map(|_| format!("ephemeral-{key}")).map_err(classify)
                }
                thread => {
                    let thread_ts = match thread {
                        Some(Target::Thread(ts)) => Some(SlackTs(ts)),
                        _ => None,
                    };
                    let token = self.token(team)?;
                    let payload = std::collections::HashMap::from([("key".to_string(), key.to_string())]);
                    let content =
                        content.with_metadata(SlackMessageMetadata::new(PART_EVENT.into()).with_event_payload(payload));
                    // A channel post tried before may be there already, as Slack takes no
                    // idempotency key: looked for only then, as reading the channel is rate
                    // limited hard. Threads' replies are not looked through: the API's replies
                    // listing carries no metadata here.
                    if thread_ts.is_none() && again {
                        if let Some(ts) = self.posted_before(&token, &channel, key).await {
                            return Ok(ts);
                        }
                    }
                    let req = SlackApiChatPostMessageRequest::new(channel, content).opt_thread_ts(thread_ts);
                    let sent = self.client.open_session(&token).chat_post_message(&req).await;
                    sent.map(|r| r.ts.0).map_err(classify)
                }
            }
        })
    }
}

/// The adapter and its receiving half, with the secrets from the environment.
pub async fn from_env(
    config: &SlackConfig,
) -> Result<(Arc<dyn Adapter>, Box<dyn crate::deliver::inbound::Inbound>), String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let signing_secret = var(SIGNING_SECRET_ENV);
    let app_token = if config.socket_mode {
        let token = var(socket::APP_TOKEN_ENV).ok_or_else(|| {
            format!("adapters.slack.socket_mode is true but {} is not set: create an app-level token with the connections:write scope on the app's Basic Information page (bots/slack/README.md)", socket::APP_TOKEN_ENV)
        })?;
        if !token.trim().starts_with("xapp-") {
            return Err(format!(
                "{} must be an app-level token (xapp-...), not a bot or user token",
                socket::APP_TOKEN_ENV
            ));
        }
        Some(token.trim().to_string())
    } else {
        if signing_secret.is_none() {
            return Err(format!(
                "adapters.slack.enabled is true but {SIGNING_SECRET_ENV} is not set: copy the Signing Secret from the app's Basic Information page (bots/slack/README.md), or set adapters.slack.socket_mode = true with {}",
                socket::APP_TOKEN_ENV
            ));
        }
        None
    };
    let bot_token = var(BOT_TOKEN_ENV);
    let oauth = match (var(CLIENT_ID_ENV), var(CLIENT_SECRET_ENV)) {
        (Some(id), Some(secret)) => Some(inbound::OAuth { client_id: id, client_secret: secret }),
        _ => None,
    };
    if bot_token.is_none() && oauth.is_none() {
        return Err(format!(
            "adapters.slack.enabled is true but neither {BOT_TOKEN_ENV} (one workspace) nor {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} (installs through OAuth) are set"
        ));
    }
    let adapter = Arc::new(SlackAdapter::connect(config, bot_token.as_deref()).await?);
    adapter.check_later();
    if let Some(token) = &app_token {
        // The Socket Mode listener retries a refused token in the background for ever, without
        // a word: asked once here, a wrong token stops the start with the fix instead.
        let token = SlackApiToken::new(SlackApiTokenValue(token.clone()));
        let req = slack_morphism::prelude::SlackApiAppsConnectionOpenRequest::new();
        match adapter.client.open_session(&token).apps_connections_open(&req).await {
            Ok(_) => {}
            Err(SlackClientError::ApiError(a)) if REFUSED_TOKEN.contains(&a.code.as_str()) => {
                return Err(format!(
                    "{} was refused by Slack ({}): create an app-level token with the connections:write scope on the app's Basic Information page (bots/slack/README.md)",
                    socket::APP_TOKEN_ENV,
                    a.code
                ));
            }
            // Slack down or unreachable at this moment: the listener keeps trying.
            Err(e) => {
                tracing::warn!("cannot check {} with Slack now ({e}); Socket Mode keeps trying", socket::APP_TOKEN_ENV)
            }
        }
    }
    let inbound = inbound::SlackInbound { adapter: adapter.clone(), signing_secret, app_token, oauth };
    Ok((adapter, Box::new(inbound)))
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_cut_never_leaves_a_quote_marker_without_its_space() {
        // The cut falls between a quote line's ">" and its space.
        let quoted = format!("> {}\n> next line", "a".repeat(8));
        let max = "> aaaaaaaa\n>".chars().count() + 1;
        let out = cut_escaped(&quoted, max);
        assert_eq!(out, "> aaaaaaaa…");
        assert!(!out[2..].contains('>'), "{out:?}");
    }

    use super::*;

    #[test]
    fn mrkdwn_control_characters_are_escaped() {
        assert_eq!(escape("<!channel> & <http://x|y>"), "&lt;!channel&gt; &amp; &lt;http://x|y&gt;");
        assert_eq!(cut("ééé", 2), "é…");
    }

    #[test]
    fn reply_targets_round_trip() {
        let respond =
            Target::Respond { user: "U1".into(), url: "https://hooks.slack.com/commands/T1/2/x?a=b:c".into() };
        for t in [Target::Thread("1700000000.000100".into()), Target::Ephemeral("U1".into()), respond] {
            assert_eq!(Target::decode(&t.encode()), Some(t));
        }
        // Only a web address is a response_url.
        assert_eq!(Target::only_for("U1", Some("javascript:alert(1)")), Target::Ephemeral("U1".into()));
        assert_eq!(Target::only_for("U1", None), Target::Ephemeral("U1".into()));
    }
}
