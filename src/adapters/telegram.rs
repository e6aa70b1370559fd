//! The Telegram adapter (teloxide): digests as HTML messages, one per insight with 👍 / 👎 / Ask
//! buttons, answers as replies, commands from private chats and groups, by long polling or by
//! webhook. It translates and nothing more: what a command means is decided by the core.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use futures_util::future::BoxFuture;
use teloxide::payloads::setters::*;
use teloxide::prelude::Requester;
use teloxide::types::{
    BotCommand, ChatId, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, MessageId,
    ParseMode, ReplyParameters, ThreadId, Update, UpdateKind, UserId,
};
use teloxide::{ApiError, Bot, RequestError};
use tokio::sync::watch;

use crate::config::TelegramConfig;
use crate::deliver::commands::{self, COMMANDS, Core};
use crate::deliver::inbound::Inbound;
use crate::deliver::{
    Adapter, Choice, Command, Destination, Limits, Message, Part, ReplyTarget, Request, SendError, Sender, TextUnit,
};
use crate::model::DigestEntry;
use crate::render::cut;

/// The environment variable holding the bot token from @BotFather.
pub const TOKEN_ENV: &str = "TELEGRAM_BOT_TOKEN";
/// The environment variable holding the webhook secret token (webhook mode only).
pub const WEBHOOK_SECRET_ENV: &str = "TELEGRAM_WEBHOOK_SECRET";
/// Where Telegram's webhook calls arrive on the service's HTTP server.
pub const WEBHOOK_PATH: &str = "/telegram/webhook";
/// Telegram's limit: 4096 UTF-16 code units of text after entity parsing.
pub const MAX_TEXT: usize = 4096;

/// One Telegram message as rendered from a part.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// HTML, every dynamic string escaped.
    pub text: String,
    /// Buttons under an insight: (insight id, reference `DATE#N`).
    pub buttons: Option<(String, String)>,
    /// Asks the client to answer this message (the question prompt).
    pub force_reply: bool,
    /// Options, one button a row: (label, callback data `cmd:<command>`).
    pub choices: Vec<(String, String)>,
}

pub struct TelegramAdapter {
    bot: Bot,
    config: TelegramConfig,
    /// The bot's @username, to tell commands for this bot from commands for others in groups.
    username: String,
    /// The bot's user id, to tell replies to its own messages from replies to people.
    bot_id: u64,
    /// Each chat's updates, handled in the order received: an update still asking Telegram
    /// whether its sender is an admin is submitted before the next one of its chat.
    in_order: crate::deliver::inbound::InOrder,
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

/// Characters kept of the insight, podcast, episode and speaker names: together, doubled for
/// characters Telegram counts twice, they leave room for the rest, so only the quote needs fitting.
const MAX_ENTRY_TEXT: usize = 1024;
const MAX_NAME: usize = 256;
const MAX_SPEAKER: usize = 128;

/// One insight as a Telegram message, shortening the quote (never mid-tag or mid-entity, since
/// it is cut before escaping) until the message fits.
fn entry_html(e: &DigestEntry) -> String {
    let (text, podcast, episode) = (cut(&e.text, MAX_ENTRY_TEXT), cut(&e.podcast, MAX_NAME), cut(&e.episode, MAX_NAME));
    let build = |quote: &str| {
        let speaker = e.speaker.as_deref().map(|s| format!(" · {}", escape(&cut(s, MAX_SPEAKER)))).unwrap_or_default();
        let time = match &e.link {
            Some(link) => format!("<a href=\"{}\">{}</a>", escape(link), e.moment()),
            None => e.moment(),
        };
        let mut s = format!(
            "<b>#{}</b> {}\n<i>{}</i> — {}{speaker} · {time}{}",
            e.rank,
            escape(&text),
            escape(&podcast),
            escape(&episode),
            if crate::render::quote_adds(e) {
                format!("\n<blockquote>{}</blockquote>", escape(quote))
            } else {
                String::new()
            }
        );
        if !e.also_in.is_empty() {
            s.push_str(&format!("\nalso on {} other podcast(s)/episode(s)", e.also_in.len()));
        }
        s
    };
    fit(&e.quote, build)
}

/// A text shortened (at a character, with an ellipsis) until `build` of it fits Telegram's limit.
fn fit(full: &str, build: impl Fn(&str) -> String) -> String {
    let mut text: Vec<char> = full.chars().collect();
    loop {
        let t: String = text.iter().collect();
        let html = build(&if t.len() < full.len() { format!("{}…", t.trim_end()) } else { t });
        if visible_len(&html) <= MAX_TEXT || text.is_empty() {
            return html;
        }
        let cut = text.len().saturating_sub(100.max(text.len() / 10));
        text.truncate(cut);
    }
}

/// One part as a Telegram message.
pub fn render(part: &Part) -> Rendered {
    let plain = |text: String| Rendered { text, buttons: None, force_reply: false, choices: Vec::new() };
    match part {
        Part::DigestHeader { date, count, .. } => plain(format!("<b>podsift · top {count} for {date}</b>")),
        Part::Entry { date, entry, .. } => Rendered {
            text: entry_html(entry),
            buttons: Some((entry.id.clone(), format!("{date}#{}", entry.rank))),
            force_reply: false,
            choices: Vec::new(),
        },
        Part::Answer { entry, answer, .. } => {
            let (podcast, episode) = (escape(&cut(&entry.podcast, MAX_NAME)), escape(&cut(&entry.episode, MAX_NAME)));
            plain(fit(&answer.answer, |a| format!("About #{} ({podcast} — {episode}):\n{}", entry.rank, escape(a))))
        }
        Part::Prompt { rank, .. } => Rendered {
            text: format!("What would you like to know about #{rank}? Reply to this message with your question."),
            buttons: None,
            force_reply: true,
            choices: Vec::new(),
        },
        // The core split the text within the limit; escaping does not change what Telegram counts.
        Part::Text(text) => plain(escape(text)),
        // Callback data holds at most 64 bytes: longer commands are left to be typed.
        Part::Choices { text, choices } => Rendered {
            choices: choices
                .iter()
                .map(|c| (c.label.clone(), format!("cmd:{}", c.command)))
                .filter(|(_, data)| data.len() <= 64)
                .collect(),
            ..plain(escape(text))
        },
    }
}

/// The adapter and its receiving half, with the token (and webhook secret) from the environment.
pub async fn from_env(config: &TelegramConfig) -> Result<(Arc<dyn Adapter>, Box<dyn Inbound>), String> {
    let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let token = set(TOKEN_ENV).ok_or_else(|| {
        format!("adapters.telegram.enabled is true but {TOKEN_ENV} is not set: create a bot with @BotFather (bots/telegram/README.md) and set it")
    })?;
    // Set but empty counts as not set: an empty secret would let any request through.
    let webhook_secret = match &config.webhook_url {
        Some(_) => {
            let secret = set(WEBHOOK_SECRET_ENV).ok_or_else(|| {
                format!(
                    "adapters.telegram.webhook_url is set but {WEBHOOK_SECRET_ENV} is not: set it to a long random string"
                )
            })?;
            // Telegram's own rule for secret_token, checked here rather than by a refused setWebhook.
            if secret.len() > 256 || !secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(format!(
                    "{WEBHOOK_SECRET_ENV} may hold only A-Z, a-z, 0-9, _ and -, at most 256 of them (Telegram's rule)"
                ));
            }
            Some(secret)
        }
        None => None,
    };
    let adapter = Arc::new(TelegramAdapter::connect(config, &token).await?);
    Ok((adapter.clone(), Box::new(TelegramInbound { adapter, webhook_secret })))
}

impl TelegramAdapter {
    /// Connects: checks the token with getMe (an invalid token is a one-line error, not a retry
    /// loop) and registers the command list with setMyCommands.
    pub async fn connect(config: &TelegramConfig, token: &str) -> Result<TelegramAdapter, String> {
        crate::ensure_tls_provider();
        // teloxide's default client gives up after 17 s, before a long poll of 30 s ends: every
        // quiet poll would fail and back off, and messages wait out the backoff.
        let client = teloxide::net::default_reqwest_settings()
            .timeout(std::time::Duration::from_secs(u64::from(config.poll_timeout_secs) + 15))
            .build()
            .map_err(|e| format!("cannot build the Telegram HTTP client: {e}"))?;
        let mut bot = Bot::with_client(token.trim(), client);
        if let Some(url) = &config.api_url {
            let url =
                url::Url::parse(url).map_err(|e| format!("adapters.telegram.api_url {url:?} is not a URL: {e}"))?;
            bot = bot.set_api_url(url);
        }
        let me = bot.get_me().await.map_err(|e| match e {
            RequestError::Api(ApiError::InvalidToken) => refused_token(),
            other => format!("cannot reach the Telegram Bot API at {}: {other}", bot.api_url()),
        })?;
        let username = me.username.clone().unwrap_or_default();
        let commands: Vec<BotCommand> = COMMANDS.iter().map(|c| BotCommand::new(c.name, c.summary)).collect();
        bot.set_my_commands(commands).await.map_err(|e| format!("setMyCommands failed: {e}"))?;
        tracing::info!("Telegram bot @{username} connected");
        Ok(TelegramAdapter { bot, config: config.clone(), username, bot_id: me.id.0, in_order: Default::default() })
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

    /// Translates one update into a request for the core; the core answers in the background.
    /// Handles `update` in a task of its own, after the updates of its chat received before it.
    pub fn dispatch(self: &Arc<Self>, core: Arc<Core>, update: Update) {
        let me = self.clone();
        let chat = update.chat().map_or_else(|| format!("update-{}", update.id.0), |c| c.id.0.to_string());
        // Taken from now: a stopping service waits for it while it waits its turn.
        let taking = core.taking();
        self.in_order.spawn(chat, async move {
            let _taking = taking;
            me.handle_update(&core, update).await
        });
    }

    pub async fn handle_update(&self, core: &Arc<Core>, update: Update) {
        // Taken (its offset moves on, or the webhook was answered): a stopping service waits
        // for it while Telegram is asked more (whether the sender is an admin).
        let _taking = core.taking();
        let kind = match update.kind {
            // A question edited (a typo fixed) is asked again as it now reads; other edits (a
            // command that subscribes or posts a digest) are not taken twice.
            UpdateKind::EditedMessage(m) if self.asks(&m) => UpdateKind::Message(m),
            other => other,
        };
        match kind {
            UpdateKind::Message(m) => {
                // A group upgraded to a supergroup: Telegram says so in both (the old one names
                // the new id, the new one the old).
                let moved = match (m.migrate_to_chat_id(), m.migrate_from_chat_id()) {
                    (Some(to), _) => Some((m.chat.id, *to)),
                    (None, Some(from)) => Some((*from, m.chat.id)),
                    _ => None,
                };
                if let Some((from, to)) = moved {
                    core.chat_moved(&Destination::new("telegram", &from.0.to_string()), &to.0.to_string());
                    return;
                }
                let Some(text) = m.text() else { return };
                let topic = m.is_topic_message.then_some(m.thread_id).flatten();
                // A subscription asked for in a topic is that topic's own, also where the whole
                // forum is subscribed (or its General topic, which is stored as the whole):
                // each topic is a chat of its own. Other commands in a topic without one of its
                // own act for the whole forum, as forums subscribed whole always did.
                let word = text.strip_prefix('/').map(|r| r.split(|c: char| c.is_whitespace() || c == '@').next());
                let subscribes = word.flatten().and_then(commands::spec).is_some_and(|c| c.name == "subscribe");
                let dest =
                    if subscribes { destination(m.chat.id, topic) } else { self.chat_of(core, m.chat.id, topic) };
                let user = m.from.as_ref();
                // Without a user (a channel's post, an anonymous admin), the chat that wrote is
                // the one asking: never one id shared by every such message everywhere.
                let id = match (user, m.sender_chat.as_ref()) {
                    (Some(u), _) => format!("telegram:{}", u.id.0),
                    (None, Some(chat)) => format!("telegram:chat{}", chat.id.0),
                    (None, None) => format!("telegram:chat{}", m.chat.id.0),
                };
                let group = !m.chat.is_private();
                let request = |command, can_manage| Request {
                    destination: dest.clone(),
                    sender: Sender { id: id.clone(), can_manage },
                    reply_to: Some(ReplyTarget(m.id.0.to_string())),
                    notice_to: None,
                    command,
                };
                if let Some(rest) = text.strip_prefix('/') {
                    let (word, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                    // In groups a command may name its bot: /start@podsift_bot.
                    let (name, bot) = word.split_once('@').map_or((word, None), |(n, b)| (n, Some(b)));
                    if bot.is_some_and(|b| !b.eq_ignore_ascii_case(&self.username)) {
                        return; // a command for another bot in the same group
                    }
                    // In a group, a command podsift does not know is another bot's unless it was
                    // addressed to podsift by name: not answered.
                    if group && bot.is_none() && commands::spec(name).is_none() {
                        return;
                    }
                    // /start and /stop are every bot's: bare in a group they may well be meant for
                    // another one, and would subscribe or unsubscribe the group. podsift takes
                    // them there only by name (/stop@podsift_bot), or as /subscribe, /unsubscribe.
                    if group && bot.is_none() && GENERIC.contains(&name.to_ascii_lowercase().as_str()) {
                        return;
                    }
                    let needs_manager = commands::spec(name).is_some_and(|c| c.access.asks_who());
                    // An admin posting anonymously writes as the group itself (sender_chat);
                    // `from` is then Telegram's placeholder user, never an admin.
                    let anonymous_admin = m.sender_chat.as_ref().is_some_and(|c| c.id == m.chat.id);
                    let can_manage = match (group && needs_manager, user) {
                        (true, _) if anonymous_admin => Some(true),
                        (true, Some(u)) => Some(self.is_admin(m.chat.id, u.id).await),
                        (true, None) => Some(false),
                        _ => None,
                    };
                    match commands::parse(name, args, "/") {
                        Ok(command) => core.submit(request(command, can_manage)),
                        Err(e) => {
                            core.reply(&dest, Some(&ReplyTarget(m.id.0.to_string())), &Message::Notice(e)).await;
                        }
                    }
                } else if let Some(replied) = m.reply_to_message() {
                    // A reply to one of podsift's messages is a question about the insight that
                    // message carries; replies between people are none of podsift's business.
                    let to_bot = replied.from.as_ref().is_none_or(|u| u.id.0 == self.bot_id);
                    if to_bot {
                        let command =
                            Command::AskAbout { message_id: replied.id.0.to_string(), question: text.to_string() };
                        core.submit(request(command, None));
                    } else if !group {
                        self.hint(core, &dest).await;
                    }
                } else if !group {
                    self.hint(core, &dest).await;
                }
            }
            UpdateKind::CallbackQuery(q) => {
                let Some(message) = &q.message else { return };
                let topic = message.regular_message().filter(|r| r.is_topic_message).and_then(|r| r.thread_id);
                let dest = self.chat_of(core, message.chat().id, topic);
                let data = q.data.clone().unwrap_or_default();
                let (ack, command) = if let Some(id) = data.strip_prefix("fb:up:") {
                    ("Thanks, noted 👍", Some(Command::Feedback { insight: id.into(), up: true }))
                } else if let Some(id) = data.strip_prefix("fb:down:") {
                    ("Thanks, noted 👎", Some(Command::Feedback { insight: id.into(), up: false }))
                } else if data.starts_with("ask:") && !message.chat().is_private() {
                    // In a group a prompt would be posted for everyone, once per tap; the one
                    // who tapped is told how to ask instead.
                    ("Reply to this insight's message with your question.", None)
                } else if let Some(reference) = data.strip_prefix("ask:") {
                    ("", Some(Command::PromptQuestion { reference: reference.into() }))
                } else if let Some(command) = data.strip_prefix("cmd:") {
                    match Choice::parse(command, "/") {
                        Ok(command) => ("", Some(command)),
                        Err(_) => ("This button is no longer supported.", None),
                    }
                } else {
                    ("This button is no longer supported.", None)
                };
                // Acknowledged first: Telegram shows a spinner on the button until then.
                let mut answer = self.bot.answer_callback_query(q.id.clone());
                if !ack.is_empty() {
                    answer = answer.text(ack);
                }
                if let Err(e) = answer.await {
                    tracing::warn!("answerCallbackQuery failed: {e}");
                }
                if let Some(command) = command {
                    // A button that changes the chat asks for the same right as typing it.
                    let manages = data
                        .strip_prefix("cmd:")
                        .and_then(|c| c.split_whitespace().next())
                        .and_then(commands::spec)
                        .is_some_and(|s| s.access.asks_who());
                    let can_manage = if manages && !message.chat().is_private() {
                        Some(self.is_admin(message.chat().id, q.from.id).await)
                    } else {
                        None
                    };
                    let sender = Sender { id: format!("telegram:{}", q.from.id.0), can_manage };
                    core.submit(Request { destination: dest, sender, reply_to: None, notice_to: None, command });
                }
            }
            _ => {}
        }
    }

    /// The chat a message in `chat` (and forum `topic`) belongs to: the topic's own, unless the
    /// whole forum was subscribed as one chat (as every forum was before topics were told
    /// apart) and the topic has nothing of its own.
    fn chat_of(&self, core: &Core, chat: ChatId, topic: Option<ThreadId>) -> Destination {
        let own = destination(chat, topic);
        let whole = destination(chat, None);
        if topic.is_some() && !core.knows(&own) && core.knows(&whole) { whole } else { own }
    }

    /// Whether a message asks about an insight: a reply to one of podsift's messages that is
    /// no command, or an `/ask` command.
    fn asks(&self, m: &teloxide::types::Message) -> bool {
        let Some(text) = m.text() else { return false };
        match text.strip_prefix('/') {
            Some(rest) => {
                let word = rest.split(|c: char| c.is_whitespace() || c == '@').next().unwrap_or("");
                word.eq_ignore_ascii_case("ask")
            }
            None => m.reply_to_message().is_some_and(|r| r.from.as_ref().is_none_or(|u| u.id.0 == self.bot_id)),
        }
    }

    async fn hint(&self, core: &Core, dest: &Destination) {
        let hint = "Reply to one of the insights with your question, or /help for the commands.";
        core.reply(dest, None, &Message::Notice(hint.into())).await;
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
                        self.dispatch(core.clone(), u);
                    }
                }
                Err(RequestError::Api(ApiError::InvalidToken)) => {
                    tracing::error!("Telegram refused the bot token; polling stopped");
                    return;
                }
                Err(e) => {
                    failures += 1;
                    let wait = crate::http::backoff(500, failures.min(6));
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
            unit: TextUnit::Utf16,
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

    /// Telegram's limits are per chat: a forum's topics share their group's.
    fn rate_key(&self, to: &Destination) -> String {
        let chat = to.id.split('/').next().unwrap_or(&to.id);
        format!("telegram:{chat}")
    }

    fn send<'a>(
        &'a self,
        to: &'a Destination,
        part: &'a Part,
        reply_to: Option<&'a ReplyTarget>,
        _key: &'a str,
        _again: bool,
    ) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let payload = render(part);
            let (chat, topic) = chat_and_topic(&to.id)
                .ok_or_else(|| SendError::Invalid(format!("{to} is not a Telegram chat id (CHAT or CHAT/TOPIC)")))?;
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
            if let Some(topic) = topic {
                req = req.message_thread_id(ThreadId(MessageId(topic)));
            }
            if payload.force_reply {
                req = req.reply_markup(ForceReply::new());
            }
            if !payload.choices.is_empty() {
                let rows =
                    payload.choices.into_iter().map(|(label, data)| [InlineKeyboardButton::callback(label, data)]);
                req = req.reply_markup(InlineKeyboardMarkup::new(rows));
            }
            if let Some(r) = reply_to.and_then(|r| r.0.parse().ok()) {
                req = req.reply_parameters(ReplyParameters::new(MessageId(r)).allow_sending_without_reply());
            }
            match req.await {
                Ok(sent) => Ok(sent.id.0.to_string()),
                Err(e) => Err(classify(e)),
            }
        })
    }
}

/// The fix for a bot token Telegram refused.
fn refused_token() -> String {
    format!(
        "{TOKEN_ENV} was refused by Telegram (invalid token): copy it again from @BotFather (bots/telegram/README.md)"
    )
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
        // Telegram's wording changes faster than the library's list of errors: what says the
        // bot can no longer post there is read from the text.
        RequestError::Api(api) if says_gone(&api.to_string()) => SendError::Gone(api.to_string()),
        // The bot's token, not the message: tried again like an outage, so a token fixed within
        // the catch-up window still brings the day's digest.
        RequestError::Api(ApiError::InvalidToken) => SendError::Transient(refused_token()),
        // A forum topic closed by its admins may open again: tried again like an outage, so a
        // topic reopened within the catch-up window still gets the day's digest.
        RequestError::Api(ApiError::Unknown(text)) if text.contains("TOPIC_CLOSED") => SendError::Transient(format!(
            "{text}: the forum topic is closed; once it is reopened the digest is sent, if within the catch-up window"
        )),
        // teloxide drops the error code and keeps the words: a server's trouble ("Internal
        // Server Error", "Bad Gateway") is worth another try, a request's fault is not.
        RequestError::Api(ApiError::Unknown(text)) if !is_request_fault(&text) => SendError::Transient(text),
        RequestError::Api(api) => SendError::Invalid(api.to_string()),
        other => SendError::Transient(other.to_string()),
    }
}

/// Whether an error Telegram described is the request's own fault (its 4xx wordings), which
/// sending it again would not mend.
fn is_request_fault(description: &str) -> bool {
    ["Bad Request", "Forbidden", "Unauthorized", "Conflict", "Not Found"].iter().any(|p| description.starts_with(p))
}

/// A chat's destination: in a forum supergroup, the topic it was written in (`CHAT/TOPIC`), so
/// that its digests land there and not in the General topic.
fn destination(chat: ChatId, topic: Option<ThreadId>) -> Destination {
    match topic {
        Some(t) => Destination::new("telegram", &format!("{}/{}", chat.0, t.0.0)),
        None => Destination::new("telegram", &chat.0.to_string()),
    }
}

/// Commands nearly every bot has, which change a subscription in podsift.
const GENERIC: &[&str] = &["start", "stop"];

/// The chat id and forum topic of a destination id.
fn chat_and_topic(id: &str) -> Option<(i64, Option<i32>)> {
    match id.split_once('/') {
        Some((chat, topic)) => Some((chat.parse().ok()?, Some(topic.parse().ok()?))),
        None => Some((id.parse().ok()?, None)),
    }
}

/// Whether an error Telegram gave means the bot cannot post to the chat any more (removed,
/// blocked, the chat deleted, no right to write, a closed topic).
fn says_gone(text: &str) -> bool {
    let t = text.to_lowercase();
    [
        "bot was kicked",
        "bot was blocked",
        "bot is not a member",
        "chat was deleted",
        "chat not found",
        "user is deactivated",
        "not enough rights to send",
        "have no rights to send",
        "need administrator rights",
        // A forum topic that was deleted; one closed may open again, and is no reason to stop.
        "message thread not found",
        "can't initiate conversation",
    ]
    .iter()
    .any(|s| t.contains(s))
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
    if s.secret.is_empty() || !crate::http::constant_time_eq(given, s.secret.as_bytes()) {
        return StatusCode::UNAUTHORIZED;
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!("webhook body is not a Telegram update: {e}");
            return StatusCode::BAD_REQUEST;
        }
    };
    // Telegram sends a call again when it did not see our answer: the same update once only.
    if !s.core.first_time(&format!("telegram-update:{}", update.id.0)) {
        return StatusCode::OK;
    }
    // Acknowledge at once; Telegram retries calls that take too long.
    s.adapter.dispatch(s.core.clone(), update);
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

    #[test]
    fn what_telegram_says_when_the_bot_cannot_post_any_more() {
        for gone in [
            "Forbidden: bot was kicked from the group chat",
            "Forbidden: bot is not a member of the supergroup chat",
            "Forbidden: the group chat was deleted",
            "Bad Request: not enough rights to send text messages to the chat",
            "Bad Request: message thread not found",
            "Forbidden: bot was blocked by the user",
        ] {
            assert!(says_gone(gone), "{gone}");
        }
        for not in [
            "Bad Request: message is too long",
            "Bad Request: can't parse entities",
            "Bad Request: BUTTON_URL_INVALID",
            "Bad Request: TOPIC_CLOSED",
        ] {
            assert!(!says_gone(not), "{not}");
        }
    }

    /// A closed topic is waited for, not given up on; a request Telegram refuses is not retried.
    #[test]
    fn a_closed_topic_is_tried_again() {
        let closed = classify(RequestError::Api(ApiError::Unknown("Bad Request: TOPIC_CLOSED".into())));
        assert!(matches!(&closed, SendError::Transient(why) if why.contains("reopened")), "{closed:?}");
        let refused = classify(RequestError::Api(ApiError::Unknown("Bad Request: BUTTON_URL_INVALID".into())));
        assert!(matches!(refused, SendError::Invalid(_)), "{refused:?}");
    }

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
            untimed: false,
            link: Some("https://x/?a=1&b=2#t=754".into()),
            score: 1.0,
            also_in: vec![AlsoIn {
                insight_id: "d".into(),
                episode_id: "f".into(),
                podcast: "P".into(),
                episode: "E".into(),
                speaker: None,
                start_seconds: 1.0,
                untimed: false,
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
        let notes = DigestEntry { untimed: true, link: Some("https://x/".into()), ..entry("short") };
        let html = entry_html(&notes);
        assert!(html.contains("<a href=\"https://x/\">show notes</a>") && !html.contains("00:12:34"), "{html}");
        // Emoji count twice in UTF-16: the limit is in UTF-16 units, not characters.
        let huge = entry_html(&entry(&"😀 & ".repeat(3000)));
        assert!(visible_len(&huge) <= MAX_TEXT, "{}", visible_len(&huge));
        assert!(huge.contains("…</blockquote>"));
        assert!(!huge.contains("&amp…") && !huge.contains("&…"));
    }

    #[test]
    fn visible_length_counts_utf16_after_entities() {
        assert_eq!(visible_len("<b>a&amp;b</b> 😀"), 6);
    }
}
