//! How Discord reaches podsift: interactions (slash commands, buttons, modals, autocomplete),
//! verified and answered the same way whether they arrive at the interactions endpoint
//! (`POST /discord/interactions`, Ed25519-signed) or over serenity's gateway. Each interaction is
//! acknowledged at once (a deferred response, a modal, or a short ephemeral note); the core's
//! answer follows as a follow-up or in the insight's thread.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serenity::all::{
    ActionRowComponent, AutoArchiveDuration, ChannelId, ChannelType, CommandDataOption, CommandDataOptionValue,
    CommandInteraction, ComponentInteraction, CreateActionRow, CreateAutocompleteResponse, CreateInputText,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateModal, CreateThread, EditInteractionResponse,
    GatewayIntents, InputTextStyle, Interaction, Member, MessageId, ModalInteraction, PartialChannel, Permissions,
};
use serenity::interactions_endpoint::Verifier;
use tokio::sync::watch;

use super::{DiscordAdapter, PREFIX, Target};
use crate::config::DiscordMode;
use crate::deliver::commands::{self, Core};
use crate::deliver::inbound::Inbound;
use crate::deliver::{Choice, Command, Destination, Request, Sender};

/// Where Discord POSTs interactions on the service's HTTP server (endpoint mode).
pub const ENDPOINT_PATH: &str = "/discord/interactions";
/// Signed requests older than this are refused: a captured request cannot be replayed later.
pub const MAX_AGE_SECS: i64 = 300;

/// Why a request to the endpoint was refused.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing X-Signature-Ed25519 or X-Signature-Timestamp")]
    Missing,
    #[error("the timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("the request is older than {MAX_AGE_SECS} s (or from the future)")]
    Stale,
    #[error("the signature does not match")]
    BadSignature,
}

/// Checks a request's Ed25519 signature over timestamp + body, and its age against `now`
/// (seconds since the epoch).
pub fn verify(
    verifier: &Verifier,
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let (Some(signature), Some(timestamp)) = (signature, timestamp) else { return Err(VerifyError::Missing) };
    let ts: i64 = timestamp.trim().parse().map_err(|_| VerifyError::BadTimestamp)?;
    // abs_diff: a timestamp near i64::MIN or MAX must not overflow the subtraction.
    if now.abs_diff(ts) > MAX_AGE_SECS.unsigned_abs() {
        return Err(VerifyError::Stale);
    }
    verifier.verify(signature, timestamp, body).map_err(|_| VerifyError::BadSignature)
}

/// The receiving half: the endpoint's route, or the gateway client.
pub struct DiscordInbound {
    pub adapter: Arc<DiscordAdapter>,
    pub token: String,
    /// The application's public key (endpoint mode).
    pub public_key: Option<[u8; 32]>,
}

/// Parses a hex public key as the developer portal shows it.
pub fn public_key(hex: &str) -> Result<[u8; 32], String> {
    let hex = hex.trim();
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect();
    match bytes.map(<[u8; 32]>::try_from) {
        Some(Ok(key)) if hex.len() == 64 => Ok(key),
        _ => Err(format!(
            "{} is not a public key: copy the 64 hex characters of PUBLIC KEY from the developer portal's General Information page",
            super::PUBLIC_KEY_ENV
        )),
    }
}

/// Turns interactions into requests for the core, and says how to acknowledge each.
pub struct Interactions {
    pub adapter: Arc<DiscordAdapter>,
    pub core: Arc<Core>,
    /// Channel → the channel it hangs from (None: no thread), as Discord said: every message
    /// in every channel the bot sees would otherwise cost a REST call, from the API budget the
    /// digests share.
    parents: std::sync::Mutex<HashMap<ChannelId, Option<ChannelId>>>,
}

/// Channels whose parent is remembered at most; past it the memory starts again.
const REMEMBERED_CHANNELS: usize = 10_000;

/// The chat a command or button belongs to: typed in a thread (an insight's answer thread, as
/// the Ask prompt suggests), the channel the thread hangs from, whose digest, list and numbers
/// apply.
fn chat_of(channel_id: ChannelId, channel: Option<&PartialChannel>) -> ChannelId {
    channel
        .filter(|ch| {
            matches!(ch.kind, ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread)
        })
        .and_then(|ch| ch.parent_id)
        .unwrap_or(channel_id)
}

fn ephemeral(text: impl Into<String>) -> CreateInteractionResponse {
    CreateInteractionResponse::Message(CreateInteractionResponseMessage::new().content(text).ephemeral(true))
}

/// The permissions podsift lacks to post a digest where it was asked (named as Discord's
/// settings name them), or None when it has them or Discord did not say.
fn missing_to_post(granted: Option<Permissions>) -> Option<String> {
    let granted = granted?;
    let needed = [
        (Permissions::VIEW_CHANNEL, "View Channel"),
        (Permissions::SEND_MESSAGES, "Send Messages"),
        (Permissions::EMBED_LINKS, "Embed Links"),
    ];
    let missing: Vec<&str> = needed.iter().filter(|(p, _)| !granted.contains(*p)).map(|(_, name)| *name).collect();
    match missing.split_last()? {
        (last, []) => Some(format!("the {last} permission")),
        (last, others) => Some(format!("the {} and {last} permissions", others.join(", "))),
    }
}

/// Whether the member may manage the channel (subscribe it); None outside a server.
fn can_manage(member: Option<&Member>) -> Option<bool> {
    member.map(|m| m.permissions.is_some_and(|p| p.contains(Permissions::MANAGE_CHANNELS)))
}

/// A subcommand's options as the argument text the core's parser reads, in the table's order.
pub fn argument_text(options: &[CommandDataOption]) -> String {
    let mut words = Vec::new();
    for o in options {
        match &o.value {
            CommandDataOptionValue::String(s) => words.push(s.clone()),
            CommandDataOptionValue::Integer(n) => words.push(n.to_string()),
            CommandDataOptionValue::Autocomplete { value, .. } => words.push(value.clone()),
            _ => {}
        }
    }
    words.join(" ")
}

/// IANA timezone names matching what was typed so far, at most 25 (Discord's limit).
pub fn timezones_matching(typed: &str) -> Vec<&'static str> {
    let typed = typed.to_lowercase();
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .filter(|name| name.contains('/') && name.to_lowercase().contains(&typed))
        .take(25)
        .collect()
}

impl Interactions {
    /// Handles one interaction and returns the immediate response (within Discord's 3
    /// seconds); the work the core does is submitted and answered later.
    pub async fn handle(&self, interaction: Interaction) -> CreateInteractionResponse {
        match interaction {
            Interaction::Ping(_) => CreateInteractionResponse::Pong,
            Interaction::Command(c) => self.command(c).await,
            Interaction::Autocomplete(c) => self.autocomplete(&c),
            Interaction::Component(c) => self.component(c),
            Interaction::Modal(m) => self.modal(m).await,
            _ => ephemeral("podsift does not know this kind of interaction."),
        }
    }

    fn destination(channel: ChannelId) -> Destination {
        Destination::new("discord", &channel.get().to_string())
    }

    async fn command(&self, c: CommandInteraction) -> CreateInteractionResponse {
        let Some(sub) = c.data.options.first() else { return ephemeral(self.core.help_text("discord")) };
        let options = match &sub.value {
            CommandDataOptionValue::SubCommand(o) => o.as_slice(),
            _ => &[],
        };
        let command = match commands::parse(&sub.name, &argument_text(options), PREFIX) {
            Ok(command) => command,
            Err(e) => return ephemeral(e),
        };
        // Only a digest asked for is for the whole channel, posted there as the schedule posts
        // it; answers, help, confirmations, refusals (no Manage Channels, no digest yet) and what
        // is said about that digest are for the one who asked.
        let sender = Sender { id: format!("discord:{}", c.user.id), can_manage: can_manage(c.member.as_deref()) };
        let target = Target::Interaction { token: c.token.clone(), ephemeral: true }.encode();
        let channel = chat_of(c.channel_id, c.channel.as_ref());
        if matches!(command, Command::DigestNow) && channel != c.channel_id {
            // Posted here it would reach only the thread, yet count as the channel's digest of
            // the day, which the schedule would then not send.
            return ephemeral(format!(
                "Ask for the digest in <#{channel}> itself: here it would only reach this thread."
            ));
        }
        if matches!(command, Command::Subscribe { .. }) && channel != c.channel_id && self.is_forum(channel).await {
            // Typed in a forum's post: the forum itself takes no messages, only new posts.
            return ephemeral(format!(
                "<#{channel}> is a forum: it takes posts, not the messages a digest is made of. Subscribe \
                 a text channel instead."
            ));
        }
        if matches!(command, Command::Subscribe { .. } | Command::DigestNow) {
            // A subscription podsift could never deliver is refused with the reason at once,
            // rather than confirmed and then paused at its first digest. Typed in a thread, the
            // permissions Discord sends are the channel's: a thread has none of its own.
            if let Some(missing) = missing_to_post(c.app_permissions) {
                return ephemeral(format!(
                    "podsift cannot post digests in <#{channel}>: it lacks {missing} here. Allow \
                     it for podsift's role in this channel's permission settings, then try again."
                ));
            }
        }
        let (reply_to, notice_to) = match command {
            Command::DigestNow => (None, Some(target)),
            _ => (Some(target), None),
        };
        self.core.submit(Request { destination: Self::destination(channel), sender, reply_to, notice_to, command });
        CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true))
    }

    fn autocomplete(&self, c: &CommandInteraction) -> CreateInteractionResponse {
        let typed = c.data.autocomplete().map(|a| a.value.to_string()).unwrap_or_default();
        let mut response = CreateAutocompleteResponse::new();
        for name in timezones_matching(&typed) {
            response = response.add_string_choice(name, name);
        }
        CreateInteractionResponse::Autocomplete(response)
    }

    fn component(&self, c: ComponentInteraction) -> CreateInteractionResponse {
        let id = c.data.custom_id.as_str();
        // A button under an answer in a thread (a podcast search's matches) acts for the
        // channel, as the command that showed it did.
        let destination = Self::destination(chat_of(c.channel_id, c.channel.as_ref()));
        let sender = Sender { id: format!("discord:{}", c.user.id), can_manage: None };
        let feedback = |up: bool, insight: &str| {
            Request::new(destination.clone(), sender.clone(), Command::Feedback { insight: insight.to_string(), up })
        };
        if let Some(insight) = id.strip_prefix("fb:up:") {
            self.core.submit(feedback(true, insight));
            ephemeral("Thanks, noted 👍")
        } else if let Some(insight) = id.strip_prefix("fb:down:") {
            self.core.submit(feedback(false, insight));
            ephemeral("Thanks, noted 👎")
        } else if let Some(command) = id.strip_prefix("cmd:") {
            match Choice::parse(command, PREFIX) {
                Ok(command) => {
                    let target = Target::Interaction { token: c.token.clone(), ephemeral: true };
                    let sender = Sender { can_manage: can_manage(c.member.as_ref()), ..sender };
                    self.core.submit(Request {
                        destination,
                        sender,
                        reply_to: Some(target.encode()),
                        notice_to: None,
                        command,
                    });
                    CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true))
                }
                Err(_) => ephemeral("This button is no longer supported."),
            }
        } else if let Some(reference) = id.strip_prefix("ask:") {
            // The modal remembers which insight and which message the question is about.
            let input = CreateInputText::new(InputTextStyle::Paragraph, "Your question", "question")
                .placeholder("What exactly was said about that?")
                .max_length(500);
            let modal = CreateModal::new(format!("askm:{reference}:{}", c.message.id), "Ask about this insight")
                .components(vec![CreateActionRow::InputText(input)]);
            CreateInteractionResponse::Modal(modal)
        } else {
            ephemeral("This button is no longer supported.")
        }
    }

    async fn modal(&self, m: ModalInteraction) -> CreateInteractionResponse {
        let Some(rest) = m.data.custom_id.strip_prefix("askm:") else {
            return ephemeral("This form is no longer supported.");
        };
        let Some((reference, message_id)) = rest.rsplit_once(':') else { return ephemeral("This form is malformed.") };
        // Serenity's ids panic on 0.
        let Some(message_id) = message_id.parse::<u64>().ok().filter(|&id| id != 0) else {
            return ephemeral("This form is malformed.");
        };
        let question = m
            .data
            .components
            .iter()
            .flat_map(|row| row.components.iter())
            .find_map(|c| match c {
                ActionRowComponent::InputText(t) if t.custom_id == "question" => t.value.clone(),
                _ => None,
            })
            .unwrap_or_default();
        if question.trim().is_empty() {
            return ephemeral("The question was empty.");
        }
        let destination = Self::destination(m.channel_id);
        let sender = Sender { id: format!("discord:{}", m.user.id), can_manage: None };
        let (adapter, core, token) = (self.adapter.clone(), self.core.clone(), m.token.clone());
        let reference = reference.to_string();
        // The thread is made after acknowledging: creating it may take longer than Discord waits.
        let taking = core.taking();
        tokio::spawn(async move {
            let _taking = taking;
            let thread = answer_thread(&adapter, m.channel_id, MessageId::new(message_id), &reference).await;
            let note = match thread {
                Some(t) => {
                    if let Some((date, rank)) = parse_reference(&reference) {
                        core.remember_message(&destination, &t.to_string(), date, rank);
                    }
                    core.submit(Request {
                        destination,
                        sender,
                        reply_to: Some(Target::Thread(t).encode()),
                        notice_to: None,
                        command: Command::Ask { reference, question },
                    });
                    format!("Your question is answered in <#{t}>.")
                }
                None => "Could not open a thread for the answer here; try `/podsift ask` instead.".to_string(),
            };
            let edit = EditInteractionResponse::new().content(note);
            if let Err(e) = adapter.http().edit_original_interaction_response(&token, &edit, vec![]).await {
                tracing::warn!("editing the Discord interaction response failed: {e}");
            }
        });
        CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true))
    }
}

/// `DATE#N` from a button's custom id or a modal's: the digest day and the insight's rank.
pub fn parse_reference(reference: &str) -> Option<(chrono::NaiveDate, usize)> {
    let (date, rank) = reference.split_once('#')?;
    Some((date.parse().ok()?, rank.parse().ok()?))
}

/// The thread of an insight's message: created on the first question, the same one after (a
/// thread started from a message has that message's id).
async fn answer_thread(
    adapter: &DiscordAdapter,
    channel: ChannelId,
    message: MessageId,
    reference: &str,
) -> Option<u64> {
    let name = format!("Questions about #{}", reference.rsplit('#').next().unwrap_or(reference));
    let create = CreateThread::new(name).auto_archive_duration(AutoArchiveDuration::OneDay);
    match channel.create_thread_from_message(adapter.http(), message, create).await {
        Ok(thread) => Some(thread.id.get()),
        // 160004: a thread was already created for this message.
        Err(serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r))) if r.error.code == 160004 => {
            Some(message.get())
        }
        Err(e) => {
            tracing::warn!(%channel, "cannot create the answer thread: {e}");
            None
        }
    }
}

#[derive(Clone)]
struct EndpointState {
    interactions: Arc<Interactions>,
    verifier: Verifier,
}

async fn endpoint(
    State(s): State<EndpointState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    if let Err(e) = verify(&s.verifier, header("x-signature-ed25519"), header("x-signature-timestamp"), &body, now) {
        tracing::warn!("Discord interaction refused: {e}");
        return (StatusCode::UNAUTHORIZED, e.to_string()).into_response();
    }
    // A signed interaction stays valid for its five minutes: sent again by whoever saw it, it
    // would repeat a command. Discord signs every interaction anew and never resends one.
    // The hex is read either case (and `+f` as `0f`): the mark is of the bytes, so a copy
    // spelled another way is the same copy.
    let signature = header("x-signature-ed25519").unwrap_or_default().to_ascii_lowercase();
    if signature.len() != 128 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        tracing::warn!("Discord interaction refused: its signature is not 128 hex digits");
        return (StatusCode::UNAUTHORIZED, "the signature is not 128 hex digits").into_response();
    }
    if !s.interactions.core.first_time(&format!("discord-request:{signature}")) {
        tracing::warn!("Discord interaction refused: already taken (the same signature came before)");
        return (StatusCode::UNAUTHORIZED, "this interaction was already taken").into_response();
    }
    let interaction: Interaction = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!("Discord interaction not understood: {e}");
            return (StatusCode::BAD_REQUEST, "not an interaction").into_response();
        }
    };
    axum::Json(s.interactions.handle(interaction).await).into_response()
}

/// The gateway: interactions and, when allowed, messages typed in answer threads.
struct Gateway {
    interactions: Arc<Interactions>,
    read_thread_messages: bool,
    /// Endpoint mode only identifies once: Discord refuses messages from a bot that never did.
    ready: Option<tokio::sync::mpsc::Sender<()>>,
}

#[serenity::async_trait]
impl serenity::all::EventHandler for Gateway {
    async fn ready(&self, _ctx: serenity::all::Context, ready: serenity::all::Ready) {
        tracing::info!("Discord gateway ready as {}", ready.user.name);
        if let Some(tx) = &self.ready {
            let _ = tx.send(()).await;
        }
    }

    async fn interaction_create(&self, _ctx: serenity::all::Context, interaction: Interaction) {
        self.interactions.answer_over_rest(interaction).await;
    }

    async fn message(&self, _ctx: serenity::all::Context, message: serenity::all::Message) {
        if !self.read_thread_messages || message.author.bot || message.content.trim().is_empty() {
            return;
        }
        self.interactions.thread_message(message.channel_id, message.author.id, &message.content).await;
    }
}

/// How long a `/podsift subscribe` typed in a thread waits to learn whether its channel is a
/// forum.
const FORUM_LOOKUP: std::time::Duration = std::time::Duration::from_secs(1);

impl Interactions {
    pub fn new(adapter: Arc<DiscordAdapter>, core: Arc<Core>) -> Interactions {
        Interactions { adapter, core, parents: Default::default() }
    }

    /// Whether `channel` is a forum (or media) channel; false when it cannot be told within a
    /// second (the interaction must be answered within three).
    async fn is_forum(&self, channel: ChannelId) -> bool {
        let lookup = channel.to_channel(self.adapter.http());
        let found = tokio::time::timeout(FORUM_LOOKUP, lookup).await.ok().and_then(Result::ok).and_then(|c| c.guild());
        found.is_some_and(|g| matches!(g.kind, ChannelType::Forum) || u8::from(g.kind) == 16)
    }

    /// The channel `channel` hangs from, when it is a thread; asked of Discord once.
    async fn parent_of(&self, channel: ChannelId) -> Option<ChannelId> {
        if let Some(known) = self.parents.lock().ok().and_then(|p| p.get(&channel).copied()) {
            return known;
        }
        // A failed lookup is not remembered: the next message asks again.
        let parent = channel.to_channel(self.adapter.http()).await.ok()?.guild().and_then(|g| g.parent_id);
        if let Ok(mut p) = self.parents.lock() {
            if p.len() >= REMEMBERED_CHANNELS {
                p.clear();
            }
            p.insert(channel, parent);
        }
        parent
    }

    /// Gateway mode: the same handling as the endpoint, the immediate response sent back
    /// through the REST callback instead of the HTTP answer.
    pub async fn answer_over_rest(&self, interaction: Interaction) {
        let (id, token) = match &interaction {
            Interaction::Command(c) | Interaction::Autocomplete(c) => (c.id, c.token.clone()),
            Interaction::Component(c) => (c.id, c.token.clone()),
            Interaction::Modal(m) => (m.id, m.token.clone()),
            _ => return,
        };
        let response = self.handle(interaction).await;
        if let Err(e) = self.adapter.http().create_interaction_response(id, &token, &response, vec![]).await {
            tracing::warn!("answering a Discord interaction failed: {e}");
        }
    }

    /// A message typed in an insight's answer thread is a question about that insight.
    pub async fn thread_message(&self, thread: ChannelId, author: serenity::all::UserId, text: &str) {
        let Some(parent) = self.parent_of(thread).await else { return };
        let destination = Self::destination(parent);
        if self.core.insight_for_message(&destination, &thread.get().to_string()).is_none() {
            return; // not one of podsift's threads
        }
        self.core.submit(Request {
            destination,
            // The reader, as the modal knows them: their thread of questions and their limit.
            sender: Sender { id: format!("discord:{author}"), can_manage: None },
            reply_to: Some(Target::Thread(thread.get()).encode()),
            notice_to: None,
            command: Command::AskAbout { message_id: thread.get().to_string(), question: text.to_string() },
        });
    }
}

/// Runs the gateway until shutdown, reconnecting with backoff; with `until_ready` it stops once
/// identified (endpoint mode).
async fn run_gateway(
    token: String,
    intents: GatewayIntents,
    interactions: Arc<Interactions>,
    read_thread_messages: bool,
    until_ready: bool,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failures = 0u32;
    loop {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let handler =
            Gateway { interactions: interactions.clone(), read_thread_messages, ready: until_ready.then_some(tx) };
        let mut client = match serenity::Client::builder(&token, intents).event_handler(handler).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("cannot build the Discord gateway client: {e}");
                return;
            }
        };
        let manager = client.shard_manager.clone();
        let outcome = tokio::select! {
            r = client.start() => r,
            _ = rx.recv(), if until_ready => {
                manager.shutdown_all().await;
                return;
            }
            _ = stopped(&mut shutdown) => {
                manager.shutdown_all().await;
                return;
            }
        };
        failures += 1;
        let wait = crate::http::backoff(1000, failures.min(8));
        match outcome {
            Ok(()) => tracing::warn!("Discord gateway closed; reconnecting in {wait:?}"),
            // Refused for good until someone changes a setting: trying again would only repeat
            // the refusal every few minutes while no command ever arrives.
            Err(serenity::Error::Gateway(
                serenity::gateway::GatewayError::DisallowedGatewayIntents
                | serenity::gateway::GatewayError::InvalidGatewayIntents,
            )) => {
                return tracing::error!(
                    "Discord refused the gateway's intents: adapters.discord.read_thread_messages needs the Message \
                     Content Intent, switched on under Bot > Privileged Gateway Intents in the Developer Portal \
                     (bots/discord/README.md); or set read_thread_messages = false. No Discord command arrives \
                     until podsift restarts"
                );
            }
            Err(serenity::Error::Gateway(serenity::gateway::GatewayError::InvalidAuthentication)) => {
                return tracing::error!(
                    "Discord refused DISCORD_BOT_TOKEN on the gateway: copy the bot token again (bots/discord/README.md) \
                     and restart podsift"
                );
            }
            Err(e) => tracing::warn!("Discord gateway failed ({e}); retrying in {wait:?}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped(&mut shutdown) => return,
        }
    }
}

/// Resolves once shutdown is asked, holding no borrow of the channel afterwards.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

impl Inbound for DiscordInbound {
    fn start(self: Box<Self>, core: Arc<Core>, shutdown: watch::Receiver<bool>) -> axum::Router {
        let interactions = Arc::new(Interactions::new(self.adapter.clone(), core));
        let config = self.adapter.config.clone();
        let mut intents = GatewayIntents::empty();
        if config.read_thread_messages {
            intents |= GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT;
        }
        match (config.mode, self.public_key) {
            (DiscordMode::Endpoint, Some(key)) => {
                let verifier = match Verifier::try_new(key) {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::error!("{} is not a valid public key: {e}", super::PUBLIC_KEY_ENV);
                        return axum::Router::new();
                    }
                };
                // Identify once in the background; the endpoint and the sends never wait for it.
                tokio::spawn(run_gateway(self.token, intents, interactions.clone(), false, true, shutdown));
                let state = EndpointState { interactions, verifier };
                axum::Router::new().route(ENDPOINT_PATH, axum::routing::post(endpoint)).with_state(state)
            }
            _ => {
                let read = config.read_thread_messages;
                tokio::spawn(run_gateway(self.token, intents, interactions, read, false, shutdown));
                axum::Router::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timezones_autocomplete_from_iana_names() {
        let found = timezones_matching("berl");
        assert_eq!(found, vec!["Europe/Berlin"]);
        assert!(timezones_matching("").len() == 25);
        assert!(timezones_matching("zzzz").is_empty());
    }

    #[test]
    fn public_keys_are_64_hex_characters() {
        assert!(public_key(&"ab".repeat(32)).is_ok());
        assert!(public_key("abc").unwrap_err().contains("DISCORD_PUBLIC_KEY"));
        assert!(public_key(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn timestamp_at_the_ends_of_i64_is_stale_not_an_overflow() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key().to_bytes();
        let verifier = Verifier::try_new(key).unwrap();
        for ts in [i64::MIN.to_string(), i64::MAX.to_string()] {
            let got = verify(&verifier, Some("00"), Some(&ts), b"{}", 1_764_316_800);
            assert_eq!(got, Err(VerifyError::Stale), "{ts}");
        }
    }
}
