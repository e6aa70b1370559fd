//! The Telegram adapter (teloxide): digests as HTML messages, one per insight with 👍 / 👎 / Ask
//! buttons, answers as replies, commands from private chats and groups, by long polling or by
//! webhook. It translates and nothing more: what a command means is decided by the core.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use teloxide::payloads::setters::*;
use teloxide::prelude::Requester;
use teloxide::types::{
    BotCommand, ChatId, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, MessageId,
    ParseMode, ReplyParameters, Update, UpdateKind, UserId,
};
use teloxide::{ApiError, Bot, RequestError};
use tokio::sync::watch;

use crate::config::TelegramConfig;
use crate::deliver::commands::{Core, parse_text_command};
use crate::deliver::inbound::Inbound;
use crate::deliver::{Adapter, Command, Destination, Limits, Message, Part, SendError};
use crate::model::{DigestEntry, hms};

/// The environment variable holding the bot token from @BotFather.
pub const TOKEN_ENV: &str = "TELEGRAM_BOT_TOKEN";
/// The environment variable holding the webhook secret token (webhook mode only).
pub const WEBHOOK_SECRET_ENV: &str = "TELEGRAM_WEBHOOK_SECRET";
/// Where Telegram's webhook calls arrive on the service's HTTP server.
pub const WEBHOOK_PATH: &str = "/telegram/webhook";
/// Telegram's limit: 4096 UTF-16 code units of text after entity parsing.
pub const MAX_TEXT: usize = 4096;

/// The commands registered with setMyCommands (so they autocomplete) and listed in bots/telegram.
pub const COMMANDS: &[(&str, &str)] = &[
    ("start", "Subscribe this chat to the daily top 5 (optionally: HH:MM Area/City)"),
    ("stop", "Unsubscribe this chat"),
    ("time", "Change the delivery time: /time 07:30 Europe/Berlin"),
    ("digest", "Send the latest digest now"),
    ("ask", "Ask about an insight: /ask 2 what exactly was said?"),
    ("help", "List the commands"),
];

/// What one Telegram message carries; rendered by `render`, sent by `send`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Payload {
    /// HTML, every dynamic string escaped.
    text: String,
    /// Buttons under an insight: (insight id, reference `DATE#N`).
    buttons: Option<(String, String)>,
    reply_to: Option<i32>,
    force_reply: bool,
}

pub struct TelegramAdapter {
    bot: Bot,
    config: TelegramConfig,
    /// The bot's @username, to tell commands for this bot from commands for others in groups.
    username: String,
}

/// Escapes text for Telegram's HTML parse mode (also safe inside attribute values).
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Length in UTF-16 code units of the text Telegram shows after parsing the HTML entities.
pub fn visible_len(html: &str) -> usize {
    let mut visible = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => visible.push(c),
            _ => {}
        }
    }
    let decoded = visible.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
    decoded.encode_utf16().count()
}

/// One insight as a Telegram message, shortening the quote (never mid-tag or mid-entity, since
/// it is cut before escaping) until the message fits.
fn entry_html(e: &DigestEntry) -> String {
    let build = |quote: &str| {
        let speaker = e.speaker.as_deref().map(|s| format!(" · {}", escape(s))).unwrap_or_default();
        let time = match &e.link {
            Some(link) => format!("<a href=\"{}\">{}</a>", escape(link), hms(e.start_seconds)),
            None => hms(e.start_seconds),
        };
        let mut s = format!(
            "<b>#{}</b> {}\n<i>{}</i> — {}{speaker} · {time}{}",
            e.rank,
            escape(&e.text),
            escape(&e.podcast),
            escape(&e.episode),
            if e.quote_adds() { format!("\n<blockquote>{}</blockquote>", escape(quote)) } else { String::new() }
        );
        if !e.also_in.is_empty() {
            s.push_str(&format!("\nalso on {} other podcast(s)/episode(s)", e.also_in.len()));
        }
        s
    };
    let mut quote: Vec<char> = e.quote.chars().collect();
    loop {
        let q: String = quote.iter().collect();
        let html = build(&if q.len() < e.quote.len() { format!("{}…", q.trim_end()) } else { q });
        if visible_len(&html) <= MAX_TEXT || quote.is_empty() {
            return html;
        }
        let cut = quote.len().saturating_sub(100.max(quote.len() / 10));
        quote.truncate(cut);
    }
}

/// Splits plain text into HTML messages that fit, at line breaks where possible.
fn text_parts(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let escaped = escape(line);
        if !current.is_empty() && visible_len(&current) + visible_len(&escaped) + 1 > MAX_TEXT {
            parts.push(std::mem::take(&mut current));
        }
        // A single over-long line is cut by characters.
        let mut rest: Vec<char> = line.chars().collect();
        while visible_len(&escape(&rest.iter().collect::<String>())) > MAX_TEXT {
            let head: String = rest.drain(..MAX_TEXT / 2).collect();
            parts.push(escape(&head));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&escape(&rest.iter().collect::<String>()));
    }
    if !current.is_empty() || parts.is_empty() {
        parts.push(current);
    }
    parts
}

/// Checks a rendered part's text against Telegram's size limit (for tests and diagnostics).
pub fn check_visible_limit(part_body: &str) -> Result<usize, String> {
    let payload: Payload = serde_json::from_str(part_body).map_err(|e| e.to_string())?;
    let len = visible_len(&payload.text);
    if len > MAX_TEXT { Err(format!("{len} UTF-16 units, over {MAX_TEXT}")) } else { Ok(len) }
}

fn part(payload: Payload, rank: Option<usize>) -> Part {
    Part { body: serde_json::to_string(&payload).expect("payloads serialize"), rank }
}

impl TelegramAdapter {
    /// Connects: checks the token with getMe (an invalid token is a one-line error, not a retry
    /// loop) and registers the command list with setMyCommands.
    pub async fn connect(config: &TelegramConfig, token: &str) -> Result<TelegramAdapter, String> {
        crate::ensure_tls_provider();
        let mut bot = Bot::new(token.trim());
        if let Some(url) = &config.api_url {
            let url =
                url::Url::parse(url).map_err(|e| format!("adapters.telegram.api_url {url:?} is not a URL: {e}"))?;
            bot = bot.set_api_url(url);
        }
        let me = bot.get_me().await.map_err(|e| match e {
            RequestError::Api(ApiError::InvalidToken) => {
                format!("{TOKEN_ENV} was refused by Telegram (invalid token): copy it again from @BotFather (bots/telegram/README.md)")
            }
            other => format!("cannot reach the Telegram Bot API at {}: {other}", bot.api_url()),
        })?;
        let username = me.username.clone().unwrap_or_default();
        let commands: Vec<BotCommand> = COMMANDS.iter().map(|(c, d)| BotCommand::new(*c, *d)).collect();
        bot.set_my_commands(commands).await.map_err(|e| format!("setMyCommands failed: {e}"))?;
        tracing::info!("Telegram bot @{username} connected");
        Ok(TelegramAdapter { bot, config: config.clone(), username })
    }

    async fn is_admin(&self, chat: ChatId, user: UserId) -> bool {
        match self.bot.get_chat_member(chat, user).await {
            Ok(member) => member.kind.is_privileged(),
            Err(e) => {
                tracing::warn!("getChatMember failed, treating the sender as not an admin: {e}");
                false
            }
        }
    }

    /// Translates one update into core commands and runs them.
    pub async fn handle_update(&self, core: &Core, update: Update) {
        match update.kind {
            UpdateKind::Message(m) => {
                let Some(text) = m.text() else { return };
                let dest = Destination::new("telegram", &m.chat.id.0.to_string());
                let user = m.from.as_ref();
                let created_by = user.map(|u| format!("telegram:{}", u.id.0)).unwrap_or_else(|| "telegram".into());
                let group = !m.chat.is_private();
                if let Some(rest) = text.strip_prefix('/') {
                    let word = rest.split_whitespace().next().unwrap_or("");
                    let (name, bot) = word.split_once('@').map_or((word, None), |(n, b)| (n, Some(b)));
                    if bot.is_some_and(|b| !b.eq_ignore_ascii_case(&self.username)) {
                        return; // a command for another bot in the same group
                    }
                    let needs_admin =
                        matches!(name.to_lowercase().as_str(), "start" | "stop" | "time" | "subscribe" | "unsubscribe");
                    let admin = match (group && needs_admin, user) {
                        (true, Some(u)) => Some(self.is_admin(m.chat.id, u.id).await),
                        (true, None) => Some(false),
                        _ => None,
                    };
                    match parse_text_command(text, &dest, &created_by, admin) {
                        Ok(Some(Command::Ask { destination, reference, question, .. })) => {
                            let reply_to = Some(m.id.0.to_string());
                            core.handle_and_reply(Command::Ask { destination, reference, question, reply_to }).await
                        }
                        Ok(Some(cmd)) => core.handle_and_reply(cmd).await,
                        Ok(None) => {}
                        Err(e) => core.reply(&dest, &Message::Notice(e)).await,
                    }
                } else if let Some(replied) = m.reply_to_message() {
                    // A reply to an insight (or to a question prompt) is a question about it.
                    match core.store.message_ref(&dest.key(), &replied.id.0.to_string()) {
                        Ok(Some((date, rank))) => {
                            let cmd = Command::Ask {
                                destination: dest,
                                reference: format!("{date}#{rank}"),
                                question: text.to_string(),
                                reply_to: Some(m.id.0.to_string()),
                            };
                            core.handle_and_reply(cmd).await
                        }
                        Ok(None) => {}
                        Err(e) => tracing::error!("cannot look up the replied-to message: {e}"),
                    }
                } else if !group {
                    let hint = "Reply to one of the insights with your question, or /help for the commands.";
                    core.reply(&dest, &Message::Notice(hint.into())).await;
                }
            }
            UpdateKind::CallbackQuery(q) => {
                let Some(message) = &q.message else { return };
                let dest = Destination::new("telegram", &message.chat().id.0.to_string());
                let data = q.data.clone().unwrap_or_default();
                let (ack, command) = if let Some(id) = data.strip_prefix("fb:up:") {
                    ("Thanks, noted 👍", Some(Command::Feedback { destination: dest, insight: id.into(), up: true }))
                } else if let Some(id) = data.strip_prefix("fb:down:") {
                    ("Thanks, noted 👎", Some(Command::Feedback { destination: dest, insight: id.into(), up: false }))
                } else if let Some(reference) = data.strip_prefix("ask:") {
                    ("", Some(Command::PromptQuestion { destination: dest, reference: reference.into() }))
                } else {
                    ("This button is no longer supported.", None)
                };
                let mut answer = self.bot.answer_callback_query(q.id.clone());
                if !ack.is_empty() {
                    answer = answer.text(ack);
                }
                if let Err(e) = answer.await {
                    tracing::warn!("answerCallbackQuery failed: {e}");
                }
                if let Some(cmd) = command {
                    core.handle_and_reply(cmd).await;
                }
            }
            _ => {}
        }
    }

    /// Long polling until shutdown. Errors back off; an invalid token stops polling.
    async fn poll(self: Arc<Self>, core: Arc<Core>, mut shutdown: watch::Receiver<bool>) {
        if let Err(e) = self.bot.delete_webhook().await {
            tracing::warn!("deleteWebhook failed: {e}");
        }
        let mut offset = 0i32;
        let mut failures = 0u32;
        loop {
            let request = self.bot.get_updates().offset(offset).timeout(self.config.poll_timeout_secs);
            let updates = tokio::select! {
                _ = shutdown.wait_for(|s| *s) => return,
                r = request => r,
            };
            match updates {
                Ok(updates) => {
                    failures = 0;
                    for u in updates {
                        offset = offset.max(u.id.0 as i32 + 1);
                        let (me, core) = (self.clone(), core.clone());
                        tokio::spawn(async move { me.handle_update(&core, u).await });
                    }
                }
                Err(RequestError::Api(ApiError::InvalidToken)) => {
                    tracing::error!("Telegram refused the bot token; polling stopped");
                    return;
                }
                Err(e) => {
                    failures += 1;
                    let wait = crate::deliver::fanout::backoff(500, failures.min(6));
                    tracing::warn!("getUpdates failed ({e}); retrying in {wait:?}");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

impl Adapter for TelegramAdapter {
    fn platform(&self) -> &'static str {
        "telegram"
    }

    fn limits(&self) -> Limits {
        Limits {
            max_message_len: MAX_TEXT,
            global_per_second: self.config.global_per_second,
            per_destination_per_second: self.config.per_chat_per_second,
        }
    }

    /// Groups, supergroups and channels have negative ids and a stricter limit.
    fn per_destination_rate(&self, to: &Destination) -> f64 {
        if to.id.starts_with('-') {
            (self.config.per_group_per_minute / 60.0).min(self.config.per_chat_per_second)
        } else {
            self.config.per_chat_per_second
        }
    }

    fn render(&self, message: &Message) -> Vec<Part> {
        let plain = |text: &str| {
            text_parts(text).into_iter().map(|t| Payload { text: t, buttons: None, reply_to: None, force_reply: false })
        };
        match message {
            Message::Digest(d) => {
                let header = format!("<b>podsift · top {} for {}</b>", d.insights.len(), d.date);
                let mut parts =
                    vec![part(Payload { text: header, buttons: None, reply_to: None, force_reply: false }, None)];
                for e in &d.insights {
                    let payload = Payload {
                        text: entry_html(e),
                        buttons: Some((e.id.clone(), format!("{}#{}", d.date, e.rank))),
                        reply_to: None,
                        force_reply: false,
                    };
                    parts.push(part(payload, Some(e.rank)));
                }
                parts
            }
            Message::Answer { entry, answer, reply_to } => {
                let reply_to = reply_to.as_deref().and_then(|r| r.parse().ok());
                let text = format!("About #{} ({} — {}):\n{}", entry.rank, entry.podcast, entry.episode, answer.answer);
                plain(&text).map(|p| part(Payload { reply_to, ..p }, Some(entry.rank))).collect()
            }
            Message::AskPrompt { rank, text, .. } => {
                plain(text).map(|p| part(Payload { force_reply: true, ..p }, Some(*rank))).collect()
            }
            Message::Notice(text) => plain(text).map(|p| part(p, None)).collect(),
        }
    }

    fn send<'a>(
        &'a self,
        to: &'a Destination,
        part: &'a Part,
        _key: &'a str,
    ) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let payload: Payload =
                serde_json::from_str(&part.body).map_err(|e| SendError::Invalid(format!("bad payload: {e}")))?;
            let chat: i64 = to.id.parse().map_err(|_| SendError::Invalid(format!("{to} is not a Telegram chat id")))?;
            let mut req =
                self.bot.send_message(ChatId(chat), payload.text).parse_mode(ParseMode::Html).link_preview_options(
                    LinkPreviewOptions {
                        is_disabled: true,
                        url: None,
                        prefer_small_media: false,
                        prefer_large_media: false,
                        show_above_text: false,
                    },
                );
            if let Some((id, reference)) = payload.buttons {
                req = req.reply_markup(InlineKeyboardMarkup::new([[
                    InlineKeyboardButton::callback("👍", format!("fb:up:{id}")),
                    InlineKeyboardButton::callback("👎", format!("fb:down:{id}")),
                    InlineKeyboardButton::callback("Ask", format!("ask:{reference}")),
                ]]));
            }
            if payload.force_reply {
                req = req.reply_markup(ForceReply::new());
            }
            if let Some(r) = payload.reply_to {
                req = req.reply_parameters(ReplyParameters::new(MessageId(r)).allow_sending_without_reply());
            }
            match req.await {
                Ok(sent) => Ok(sent.id.0.to_string()),
                Err(e) => Err(classify(e)),
            }
        })
    }
}

/// What a Telegram error means for the core.
fn classify(e: RequestError) -> SendError {
    match e {
        RequestError::RetryAfter(s) => SendError::RateLimited { retry_after: s.duration() },
        RequestError::MigrateToChatId(chat) => SendError::Moved(chat.0.to_string()),
        RequestError::Api(
            api @ (ApiError::BotBlocked
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::BotKickedFromChannel
            | ApiError::UserDeactivated
            | ApiError::ChatNotFound
            | ApiError::CantInitiateConversation
            | ApiError::NotEnoughRightsToPostMessages),
        ) => SendError::Gone(api.to_string()),
        RequestError::Api(api) => SendError::Invalid(api.to_string()),
        other => SendError::Transient(other.to_string()),
    }
}

/// Compares secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= (*a.get(i).unwrap_or(&0) ^ *b.get(i).unwrap_or(&0)) as usize;
    }
    diff == 0
}

/// Receiving for Telegram: long polling, or webhook routes when a public URL is configured.
pub struct TelegramInbound {
    pub adapter: Arc<TelegramAdapter>,
    /// Set in webhook mode: the secret token Telegram sends back with every call.
    pub webhook_secret: Option<String>,
}

#[derive(Clone)]
struct WebhookState {
    adapter: Arc<TelegramAdapter>,
    core: Arc<Core>,
    secret: Arc<String>,
}

async fn webhook(State(s): State<WebhookState>, headers: HeaderMap, body: axum::body::Bytes) -> StatusCode {
    let given = headers.get("x-telegram-bot-api-secret-token").map(|v| v.as_bytes()).unwrap_or(b"");
    if !constant_time_eq(given, s.secret.as_bytes()) {
        return StatusCode::UNAUTHORIZED;
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!("webhook body is not a Telegram update: {e}");
            return StatusCode::BAD_REQUEST;
        }
    };
    // Acknowledge at once; Telegram retries calls that take too long.
    tokio::spawn(async move { s.adapter.handle_update(&s.core, update).await });
    StatusCode::OK
}

impl Inbound for TelegramInbound {
    fn start(self: Box<Self>, core: Arc<Core>, shutdown: watch::Receiver<bool>) -> axum::Router {
        match (self.webhook_secret, self.adapter.config.webhook_url.clone()) {
            (Some(secret), Some(url)) => {
                let adapter = self.adapter.clone();
                let set_secret = secret.clone();
                tokio::spawn(async move {
                    let target = match url::Url::parse(&url) {
                        Ok(u) => u,
                        Err(e) => return tracing::error!("adapters.telegram.webhook_url is not a URL: {e}"),
                    };
                    match adapter.bot.set_webhook(target).secret_token(set_secret).await {
                        Ok(_) => tracing::info!("Telegram webhook set to {url}"),
                        Err(e) => tracing::error!("setWebhook failed: {e}"),
                    }
                });
                let state = WebhookState { adapter: self.adapter, core, secret: Arc::new(secret) };
                axum::Router::new().route(WEBHOOK_PATH, axum::routing::post(webhook)).with_state(state)
            }
            _ => {
                tokio::spawn(self.adapter.clone().poll(core, shutdown));
                axum::Router::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AlsoIn;

    fn entry(quote: &str) -> DigestEntry {
        DigestEntry {
            rank: 1,
            id: "abc".into(),
            episode_id: "e".into(),
            text: "Caching <really> works & pays".into(),
            quote: quote.into(),
            podcast: "Go \"Time\"".into(),
            episode: "#100".into(),
            episode_url: Some("https://x/?a=1&b=2".into()),
            speaker: Some("Rob".into()),
            start_seconds: 754.0,
            link: Some("https://x/?a=1&b=2#t=754".into()),
            score: 1.0,
            also_in: vec![AlsoIn {
                insight_id: "d".into(),
                episode_id: "f".into(),
                podcast: "P".into(),
                episode: "E".into(),
                speaker: None,
                start_seconds: 1.0,
                link: None,
                quote: "q".into(),
            }],
        }
    }

    #[test]
    fn entries_are_escaped_and_fit_even_with_a_huge_quote() {
        let html = entry_html(&entry("short"));
        assert!(html.contains("Caching &lt;really&gt; works &amp; pays"), "{html}");
        assert!(html.contains("<a href=\"https://x/?a=1&amp;b=2#t=754\">00:12:34</a>"), "{html}");
        assert!(html.contains("also on 1 other"));
        // Emoji count twice in UTF-16: the limit is in UTF-16 units, not characters.
        let huge = entry_html(&entry(&"😀 & ".repeat(3000)));
        assert!(visible_len(&huge) <= MAX_TEXT, "{}", visible_len(&huge));
        assert!(huge.contains("…</blockquote>"));
        assert!(!huge.contains("&amp…") && !huge.contains("&…"));
    }

    #[test]
    fn secrets_compare_in_constant_time_shape() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret-longer"));
        assert!(!constant_time_eq(b"", b"x"));
    }

    #[test]
    fn visible_length_counts_utf16_after_entities() {
        assert_eq!(visible_len("<b>a&amp;b</b> 😀"), 6);
    }
}
