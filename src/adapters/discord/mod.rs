//! The Discord adapter (serenity): each insight one message with an embed and Ask / 👍 / 👎 /
//! listen buttons, answers in a thread started from the insight's message, `/podsift ...` slash
//! commands from the core's command table, interactions by the gateway or by the interactions
//! endpoint (`inbound.rs`). It translates and nothing more: what a command means is decided by
//! the core.

pub mod inbound;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serenity::all::{
    ButtonStyle, ChannelId, CommandOptionType, CreateActionRow, CreateAllowedMentions, CreateButton, CreateCommand,
    CreateCommandOption, CreateEmbed, CreateEmbedFooter, CreateInteractionResponseFollowup, CreateMessage, GuildId,
    Http, HttpBuilder, MessageId, MessageReference, Nonce,
};

use crate::config::DiscordConfig;
use crate::deliver::commands::COMMANDS;
use crate::deliver::{Adapter, Destination, Limits, Part, ReplyTarget, SendError, TextUnit};
use crate::model::DigestEntry;
use crate::render::cut;

/// The environment variables the adapter reads.
pub const TOKEN_ENV: &str = "DISCORD_BOT_TOKEN";
pub const APPLICATION_ID_ENV: &str = "DISCORD_APPLICATION_ID";
pub const PUBLIC_KEY_ENV: &str = "DISCORD_PUBLIC_KEY";
/// How commands are typed: one slash command with subcommands.
pub const PREFIX: &str = "/podsift ";
/// Discord's limits for a message and its embeds.
pub const MAX_CONTENT: usize = 2000;
pub const MAX_TITLE: usize = 256;
pub const MAX_DESCRIPTION: usize = 4096;
pub const MAX_FIELD: usize = 1024;
pub const MAX_EMBED_TOTAL: usize = 6000;
/// The longest URL a link button takes.
pub const MAX_BUTTON_URL: usize = 512;

/// Sends through Discord's REST API.
pub struct DiscordAdapter {
    http: Arc<Http>,
    config: DiscordConfig,
}

/// [`escape`] for text that carries web addresses of its own (an answer's citations end with
/// their moment's link): each address stays as written, so Discord still makes it a link, and
/// every other word is escaped, so a transcript's `[x](url)` or `# heading` shows as written.
pub fn escape_keeping_links(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.starts_with("https://") || word.starts_with("http://") {
            out.push_str(word);
        } else {
            out.push_str(&escape(word));
        }
        word.clear();
    };
    for c in s.chars() {
        if c.is_whitespace() {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Escapes Discord markdown and defuses mentions, so podcast text shows as written and can
/// never ping anyone (allowed_mentions is empty as well).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '#' | '[' | ']' | '(' | ')' | '<' | ':') {
            out.push('\\');
        }
        out.push(c);
        if c == '@' {
            // A zero-width space keeps @everyone and @here from being mentions.
            out.push('\u{200b}');
        }
    }
    out
}

/// The embed of one insight, every piece within Discord's limits.
pub fn entry_embed(e: &DigestEntry) -> CreateEmbed {
    let moment = match &e.link {
        // A parenthesis would end the Markdown link early; encoded, it is the same address.
        Some(link) => format!("[{}]({})", e.moment(), link.replace('(', "%28").replace(')', "%29")),
        None => e.moment(),
    };
    // A title holds 256 characters: a longer insight goes whole into the description instead
    // of being cut there with its end shown nowhere.
    let full = format!("#{} {}", e.rank, e.text);
    let (title, long_text) = if full.chars().count() <= MAX_TITLE {
        (full, None)
    } else {
        (cut(&format!("#{} · {}", e.rank, e.podcast), MAX_TITLE), Some(escape(&e.text)))
    };
    let mut fields = vec![
        ("Podcast", cut(&escape(&e.podcast), MAX_FIELD)),
        ("Episode", cut(&escape(&e.episode), MAX_FIELD)),
        ("Moment", cut(&moment, MAX_FIELD)),
    ];
    if let Some(speaker) = &e.speaker {
        fields.push(("Speaker", cut(&escape(speaker), MAX_FIELD)));
    }
    let footer = (!e.also_in.is_empty()).then(|| format!("Also said on {} other episode(s)", e.also_in.len()));
    // The quote gets what is left of the 6,000 characters Discord counts over the whole embed.
    let used = title.chars().count()
        + fields.iter().map(|(name, value)| name.chars().count() + value.chars().count()).sum::<usize>()
        + footer.as_deref().map_or(0, |f| f.chars().count());
    let room = MAX_DESCRIPTION.min(MAX_EMBED_TOTAL.saturating_sub(used));
    let mut embed = CreateEmbed::new().title(title);
    for (name, value) in fields {
        embed = embed.field(name, value, true);
    }
    let quote = crate::render::quote_adds(e).then(|| format!("> {}", escape(&e.quote)));
    let description = match (long_text, quote) {
        (Some(text), Some(quote)) => Some(format!("{text}\n\n{quote}")),
        (text, quote) => text.or(quote),
    };
    if let Some(description) = description.filter(|_| room > 2) {
        embed = embed.description(cut(&description, room));
    }
    if let Some(footer) = footer {
        embed = embed.footer(CreateEmbedFooter::new(footer));
    }
    embed
}

/// The buttons under an insight.
pub fn entry_buttons(date: chrono::NaiveDate, e: &DigestEntry) -> CreateActionRow {
    let mut buttons = vec![
        CreateButton::new(format!("ask:{date}#{}", e.rank)).label("Ask").style(ButtonStyle::Primary),
        CreateButton::new(format!("fb:up:{}", e.id)).label("👍").style(ButtonStyle::Secondary),
        CreateButton::new(format!("fb:down:{}", e.id)).label("👎").style(ButtonStyle::Secondary),
    ];
    // Discord refuses a whole message over a link button longer than 512 characters; the
    // Moment field links the episode anyway.
    if let Some(link) = e.link.as_ref().filter(|l| l.len() <= MAX_BUTTON_URL) {
        buttons.push(CreateButton::new_link(link).label("Listen"));
    }
    CreateActionRow::Buttons(buttons)
}

/// Choices as rows of buttons: up to five a row, five rows; the custom id (at most 100
/// characters) is the command.
fn choice_rows(choices: &[crate::deliver::Choice]) -> Vec<CreateActionRow> {
    let buttons: Vec<CreateButton> = choices
        .iter()
        .map(|c| (c, format!("cmd:{}", c.command)))
        .filter(|(_, id)| id.len() <= 100)
        .map(|(c, id)| CreateButton::new(id).label(cut(&c.label, 80)).style(ButtonStyle::Secondary))
        .collect();
    buttons.chunks(5).take(5).map(|row| CreateActionRow::Buttons(row.to_vec())).collect()
}

/// Discord's nonce for a part (at most 25 characters), the same for the same idempotency key:
/// with `enforce_nonce`, a part sent again after a timeout that Discord had in fact accepted
/// comes back as the message already there instead of a second one.
fn nonce(key: &str) -> String {
    crate::http::hex(&crate::http::hmac_sha256(b"podsift discord nonce", key.as_bytes()))[..25].to_string()
}

/// One part as a Discord message.
pub fn render(part: &Part) -> CreateMessage {
    let message = CreateMessage::new().allowed_mentions(CreateAllowedMentions::new());
    match part {
        Part::Entry { date, entry, .. } => {
            message.embed(entry_embed(entry)).components(vec![entry_buttons(*date, entry)])
        }
        Part::Choices { choices, .. } => message.content(text(part)).components(choice_rows(choices)),
        other => message.content(text(other)),
    }
}

/// One part as the follow-up of an interaction (the answer to a slash command or a button).
pub fn render_followup(part: &Part, ephemeral: bool) -> CreateInteractionResponseFollowup {
    let followup =
        CreateInteractionResponseFollowup::new().ephemeral(ephemeral).allowed_mentions(CreateAllowedMentions::new());
    match part {
        Part::Entry { date, entry, .. } => {
            followup.embed(entry_embed(entry)).components(vec![entry_buttons(*date, entry)])
        }
        Part::Choices { choices, .. } => followup.content(text(part)).components(choice_rows(choices)),
        _ => followup.content(text(part)),
    }
}

/// The message text of a part (an entry's text only where it cannot be an embed).
fn text(part: &Part) -> String {
    match part {
        Part::DigestHeader { date, count, .. } => format!("**podsift · top {count} for {date}**"),
        Part::Answer { entry, answer, .. } => cut(
            &format!(
                "**About #{}** ({} — {}):\n{}",
                entry.rank,
                escape(&entry.podcast),
                escape(&entry.episode),
                escape_keeping_links(&answer.answer)
            ),
            MAX_CONTENT,
        ),
        Part::Prompt { rank, .. } => {
            format!("Press **Ask** under #{rank}, or use `/podsift ask rank:{rank} question:...`.")
        }
        Part::Text(t) | Part::Choices { text: t, .. } => cut(t, MAX_CONTENT),
        Part::Entry { entry, .. } => cut(&escape(&entry.text), MAX_CONTENT),
    }
}

/// Where a reply goes, as the inbound half wrote it into a [`ReplyTarget`].
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A follow-up to an interaction (answered within 15 minutes); ephemeral: only the asker sees it.
    Interaction { token: String, ephemeral: bool },
    /// A thread (channel) of its own, e.g. the one started from an insight's message.
    Thread(u64),
    /// A reply to a message in the destination channel.
    Message(u64),
}

impl Target {
    pub fn encode(&self) -> ReplyTarget {
        ReplyTarget(match self {
            Target::Interaction { token, ephemeral } => format!("interaction:{}:{token}", u8::from(*ephemeral)),
            Target::Thread(id) => format!("thread:{id}"),
            Target::Message(id) => format!("message:{id}"),
        })
    }

    pub fn decode(r: &ReplyTarget) -> Option<Target> {
        let (kind, rest) = r.0.split_once(':')?;
        match kind {
            "interaction" => {
                let (eph, token) = rest.split_once(':')?;
                Some(Target::Interaction { token: token.to_string(), ephemeral: eph == "1" })
            }
            "thread" => rest.parse().ok().filter(|&id| id != 0).map(Target::Thread),
            "message" => rest.parse().ok().filter(|&id| id != 0).map(Target::Message),
            _ => None,
        }
    }
}

/// The fix for a bot token Discord refused.
fn refused_token() -> String {
    format!(
        "{TOKEN_ENV} was refused by Discord (invalid token): copy it again from the developer portal (bots/discord/README.md)"
    )
}

/// What a Discord error means for the core.
pub fn classify(e: serenity::Error) -> SendError {
    use serenity::http::HttpError;
    match e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => {
            let status = r.status_code.as_u16();
            let what = format!("HTTP {status}: {} (code {})", r.error.message, r.error.code);
            match (status, r.error.code) {
                // Only reached when an API proxy does the rate limiting (serenity's own limiter
                // waits out 429s itself): the body's retry_after is not passed on, so wait the
                // shortest bucket reset.
                (429, _) => SendError::RateLimited { retry_after: std::time::Duration::from_secs(1) },
                // The bot's token, not the message: tried again like an outage, so a token fixed
                // within the catch-up window still brings the day's digest.
                // Code 0: the bot's token (an interaction's own token has codes of its own).
                (401, 0) => SendError::Transient(format!("{what}: {}", refused_token())),
                // Missing Access, Unknown Channel, Missing Permissions, Unknown Guild.
                (403 | 404, 50001 | 10003 | 50013 | 10004) | (403 | 404, _) => SendError::Gone(what),
                // A channel that takes no messages (a forum, a voice channel): the same every day,
                // so the subscription is paused with the reason rather than skipped daily.
                (400, 50008) => SendError::Gone(what),
                (500..=599, _) => SendError::Transient(what),
                _ => SendError::Invalid(what),
            }
        }
        other => SendError::Transient(other.to_string()),
    }
}

/// A follow-up's failure: Unknown Webhook (10015) comes back also when the follow-up reaches
/// Discord before the interaction's acknowledgement does (a reply ready at once), so it is
/// tried again shortly, like an outage; after the token's 15 minutes it stays, and gives up.
fn followup_error(e: serenity::Error) -> SendError {
    use serenity::http::HttpError;
    match &e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) if r.error.code == 10015 => {
            SendError::Transient(format!("HTTP {}: {} (code 10015)", r.status_code.as_u16(), r.error.message))
        }
        _ => classify(e),
    }
}

/// The `/podsift` command, its subcommands written from the core's command table.
pub fn slash_command() -> CreateCommand {
    let mut command =
        CreateCommand::new("podsift").description("The day's top podcast insights, and questions about them");
    for spec in COMMANDS {
        let mut sub = CreateCommandOption::new(CommandOptionType::SubCommand, spec.name, cut(spec.summary, 100));
        let optional = spec.args.starts_with('[');
        for word in spec.args.trim_matches(|c| c == '[' || c == ']').split_whitespace() {
            let option = match word {
                "HH:MM" => {
                    CreateCommandOption::new(CommandOptionType::String, "time", "Local time, HH:MM (e.g. 07:30)")
                }
                "Area/City" => {
                    CreateCommandOption::new(CommandOptionType::String, "timezone", "IANA timezone, e.g. Europe/Berlin")
                        .set_autocomplete(true)
                }
                "N" => CreateCommandOption::new(CommandOptionType::Integer, "rank", "The insight's number")
                    .min_int_value(1)
                    .max_int_value(25),
                "WHAT" => CreateCommandOption::new(
                    CommandOptionType::String,
                    "what",
                    "A podcast's name or feed address, or a number from the list",
                ),
                // A choice of words (`add|remove`): the action, offered as choices.
                w if w.contains('|') => w
                    .split('|')
                    .fold(CreateCommandOption::new(CommandOptionType::String, "action", "What to do"), |o, choice| {
                        o.add_string_choice(choice, choice)
                    }),
                _ => CreateCommandOption::new(CommandOptionType::String, word, format!("The {word}")),
            };
            sub = sub.add_sub_option(option.required(!optional));
        }
        command = command.add_option(sub);
    }
    command
}

/// The adapter and its receiving half, with the token, application id and (endpoint mode) public
/// key from the environment.
pub async fn from_env(
    config: &DiscordConfig,
) -> Result<(Arc<dyn Adapter>, Box<dyn crate::deliver::inbound::Inbound>), String> {
    let var = |name: &str, what: &str| {
        std::env::var(name).map_err(|_| {
            format!("adapters.discord.enabled is true but {name} is not set: {what} (bots/discord/README.md)")
        })
    };
    let token = var(TOKEN_ENV, "copy the bot token from the developer portal's Bot page")?;
    let app = var(APPLICATION_ID_ENV, "copy the APPLICATION ID from the developer portal's General Information page")?;
    let app: u64 = app
        .trim()
        .parse()
        .map_err(|_| format!("{APPLICATION_ID_ENV} must be the application's numeric id, not {app:?}"))?;
    let public_key = match config.mode {
        crate::config::DiscordMode::Endpoint => Some(inbound::public_key(&var(
            PUBLIC_KEY_ENV,
            "endpoint mode verifies every request with it: copy PUBLIC KEY from General Information",
        )?)?),
        crate::config::DiscordMode::Gateway => None,
    };
    let adapter = Arc::new(DiscordAdapter::connect(config, &token, app).await?);
    Ok((adapter.clone(), Box::new(inbound::DiscordInbound { adapter, token, public_key })))
}

impl DiscordAdapter {
    /// Connects: checks the token (an invalid one is a one-line error) and registers `/podsift`
    /// globally, or in `guild_id` only.
    pub async fn connect(config: &DiscordConfig, token: &str, application_id: u64) -> Result<DiscordAdapter, String> {
        crate::ensure_tls_provider();
        let mut builder = HttpBuilder::new(token.trim()).application_id(application_id.into());
        if let Some(url) = &config.api_url {
            // The proxy does the rate limiting; serenity's limiter would ignore the proxy.
            builder = builder.proxy(url.trim_end_matches('/')).ratelimiter_disabled(true);
        }
        DiscordAdapter::with_http(config, Arc::new(builder.build())).await
    }

    /// The same with a ready-made client (tests point one at a local server).
    pub async fn with_http(config: &DiscordConfig, http: Arc<Http>) -> Result<DiscordAdapter, String> {
        let me = http.get_current_user().await.map_err(|e| match e {
            serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r))
                if r.status_code.as_u16() == 401 =>
            {
                refused_token()
            }
            other => format!("cannot reach the Discord API: {other}"),
        })?;
        let commands = vec![slash_command()];
        let registered = match config.guild_id {
            Some(guild) => GuildId::new(guild).set_commands(&http, commands).await,
            None => serenity::all::Command::set_global_commands(&http, commands).await,
        };
        registered.map_err(|e| format!("registering the /podsift command failed: {e}"))?;
        tracing::info!("Discord bot {} connected", me.name);
        Ok(DiscordAdapter { http, config: config.clone() })
    }

    pub fn http(&self) -> &Arc<Http> {
        &self.http
    }
}

impl Adapter for DiscordAdapter {
    fn platform(&self) -> &'static str {
        "discord"
    }

    fn limits(&self) -> Limits {
        Limits {
            max_message_len: MAX_CONTENT,
            unit: TextUnit::Chars,
            global_per_second: self.config.global_per_second,
            per_destination_per_second: self.config.per_channel_per_second,
        }
    }

    fn command_prefix(&self) -> &'static str {
        PREFIX
    }

    // A reply to an insight's message is no question here: Discord sends podsift no messages
    // outside its answer threads.
    fn how_to_ask(&self) -> &'static str {
        "Or press Ask under one of the insights, or use /podsift ask N your question."
    }

    fn send<'a>(
        &'a self,
        to: &'a Destination,
        part: &'a Part,
        reply_to: Option<&'a ReplyTarget>,
        key: &'a str,
        _again: bool,
    ) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            // Serenity's ids panic on 0.
            let channel: u64 = to
                .id
                .parse()
                .ok()
                .filter(|&c| c != 0)
                .ok_or_else(|| SendError::Invalid(format!("{to} is not a Discord channel id")))?;
            let message = render(part).nonce(Nonce::String(nonce(key))).enforce_nonce(true);
            let sent = match reply_to.and_then(Target::decode) {
                Some(Target::Interaction { token, ephemeral }) => {
                    let followup = render_followup(part, ephemeral);
                    let sent = self.http.create_followup_message(&token, &followup, vec![]).await;
                    return sent.map(|m| m.id.get().to_string()).map_err(followup_error);
                }
                Some(Target::Thread(thread)) => ChannelId::new(thread).send_message(&self.http, message).await,
                Some(Target::Message(id)) => {
                    let reference = MessageReference::from((ChannelId::new(channel), MessageId::new(id)));
                    ChannelId::new(channel).send_message(&self.http, message.reference_message(reference)).await
                }
                None => ChannelId::new(channel).send_message(&self.http, message).await,
            };
            sent.map(|m| m.id.get().to_string()).map_err(classify)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_cut_at_characters() {
        assert_eq!(escape("@everyone *bold*"), "@\u{200b}everyone \\*bold\\*");
        let long = "é".repeat(300);
        let c = cut(&long, 256);
        assert_eq!(c.chars().count(), 256);
        assert!(c.ends_with('…'));
    }

    #[test]
    fn an_answer_shows_as_written_and_keeps_its_links() {
        let answer = "See [this](https://evil.example) # now\nAna at [00:01:02]: \"x\" https://pod.example/1#t=62";
        let shown = escape_keeping_links(answer);
        assert!(shown.contains("\\[this\\]\\(https\\:"), "{shown}");
        assert!(shown.contains("\\# now\n"), "{shown}");
        assert!(shown.ends_with(" https://pod.example/1#t=62"), "{shown}");
    }

    fn entry(text: &str, link: &str) -> DigestEntry {
        DigestEntry {
            rank: 2,
            id: "i".into(),
            episode_id: "e".into(),
            text: text.into(),
            quote: text.into(),
            podcast: "Go Time".into(),
            episode: "Go Time #100".into(),
            episode_url: None,
            speaker: None,
            start_seconds: 61.0,
            untimed: false,
            link: Some(link.into()),
            score: 1.0,
            also_in: vec![],
        }
    }

    #[test]
    fn a_long_insight_is_shown_whole_and_a_long_link_leaves_out_only_its_button() {
        let text = format!("{} the end of the point.", "A claim that runs on and on, ".repeat(10));
        let e = entry(&text, &format!("https://x.example/ep?{}", "tracking=1&".repeat(60)));
        let embed = serde_json::to_value(entry_embed(&e)).unwrap();
        assert!(embed["title"].as_str().unwrap().chars().count() <= MAX_TITLE);
        assert!(embed["description"].as_str().unwrap().contains("the end of the point."), "{embed}");
        let row = serde_json::to_value(entry_buttons(chrono::NaiveDate::MIN, &e)).unwrap();
        let labels: Vec<&str> =
            row["components"].as_array().unwrap().iter().filter_map(|b| b["label"].as_str()).collect();
        assert_eq!(labels, ["Ask", "👍", "👎"]);
        let short = entry("A short claim.", "https://x.example/ep#t=61");
        let embed = serde_json::to_value(entry_embed(&short)).unwrap();
        assert_eq!(embed["title"], "#2 A short claim.");
        let row = serde_json::to_value(entry_buttons(chrono::NaiveDate::MIN, &short)).unwrap();
        assert_eq!(row["components"].as_array().unwrap().len(), 4, "{row}");
        let notes = DigestEntry { untimed: true, ..entry("A short claim.", "https://x.example/ep") };
        let embed = serde_json::to_value(entry_embed(&notes)).unwrap().to_string();
        assert!(embed.contains("[show notes](https://x.example/ep)") && !embed.contains("00:01:01"), "{embed}");
    }

    #[test]
    fn choices_answering_a_slash_command_carry_their_buttons() {
        let part = Part::Choices {
            text: "Found 2; add one with its button.".into(),
            choices: vec![
                crate::deliver::Choice { label: "Go Time".into(), command: "podcasts add 1".into() },
                crate::deliver::Choice { label: "JS Party".into(), command: "podcasts add 2".into() },
            ],
        };
        let followup = serde_json::to_value(render_followup(&part, true)).unwrap();
        let buttons = followup["components"][0]["components"].as_array().unwrap();
        assert_eq!(buttons.len(), 2, "{followup}");
        assert_eq!(buttons[0]["custom_id"], "cmd:podcasts add 1");
    }

    #[test]
    fn the_same_part_sent_again_has_the_same_nonce() {
        let a = nonce("discord:1/2026-11-28#3");
        assert_eq!(a.len(), 25);
        assert_eq!(a, nonce("discord:1/2026-11-28#3"));
        assert_ne!(a, nonce("discord:1/2026-11-28#4"));
    }

    #[test]
    fn reply_targets_round_trip() {
        for t in [Target::Interaction { token: "a:b".into(), ephemeral: true }, Target::Thread(7), Target::Message(9)] {
            assert_eq!(Target::decode(&t.encode()), Some(t));
        }
        assert_eq!(Target::decode(&ReplyTarget("nonsense".into())), None);
    }
}
