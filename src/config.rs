//! Configuration: a TOML file plus environment overrides, validated at start-up.
//!
//! Every section rejects unknown keys, so a typo is an error naming the key rather than a
//! setting silently ignored. `config/podsift.example.toml` documents every key and a test parses
//! it, so the two cannot drift apart.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Fetching feeds and transcripts.
    pub ingest: IngestConfig,
    /// Extracting candidate insights from transcripts.
    pub insight: InsightConfig,
    /// Building the daily digest.
    pub digest: DigestConfig,
    /// Answering follow-up questions.
    pub ask: AskConfig,
    /// The always-on service (`podsift run`).
    pub service: ServiceConfig,
    /// Delivering digests: catch-up, retries, concurrency.
    pub delivery: DeliveryConfig,
    /// The adapters that carry digests to readers.
    pub adapters: AdaptersConfig,
    /// An OpenAI-compatible model for insights, answers and transcription (optional).
    pub llm: LlmConfig,
    /// Podcast lists of readers' own (`/podcasts`): the directory and the operator's limits.
    pub podcasts: PodcastsConfig,
}

/// What readers may add to their own podcast lists, and where names are looked up.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PodcastsConfig {
    /// An iTunes-style search endpoint (`?term=…&media=podcast` answered with `results[]`).
    pub directory_url: String,
    /// Seconds a directory search may take.
    pub directory_timeout_secs: u64,
    /// Most podcasts in one destination's list.
    pub max_per_destination: usize,
    /// Most destinations following one feed through their lists; 0 for no limit.
    pub max_destinations_per_feed: usize,
    /// Hosts readers' feeds may come from (`example.com` also allows its subdomains); empty for
    /// any public host. Addresses on this machine or a private network need naming here.
    pub allowed_hosts: Vec<String>,
    /// A feed in readers' lists failing this many days is reported to them, once.
    pub failing_days: u64,
}

impl Default for PodcastsConfig {
    fn default() -> Self {
        PodcastsConfig {
            directory_url: "https://itunes.apple.com/search".into(),
            directory_timeout_secs: 10,
            max_per_destination: 20,
            max_destinations_per_feed: 0,
            allowed_hosts: Vec::new(),
            failing_days: 3,
        }
    }
}

/// The LLM engine. Without `base_url` the offline engine does everything.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// The API base, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1 (Ollama).
    pub base_url: Option<String>,
    /// The API key; OPENAI_API_KEY in the environment takes precedence. Local servers need none.
    pub api_key: Option<String>,
    /// The chat model for insights and answers.
    pub model: String,
    /// The speech-to-text model for episodes without a transcript (e.g. whisper-1); none: show notes.
    pub transcription_model: Option<String>,
    /// An embedding model (e.g. text-embedding-3-small); clustering then compares meanings.
    pub embedding_model: Option<String>,
    /// Episodes whose insights the model writes per day; later ones use the offline engine.
    /// Also, counted apart, episodes transcribed per day.
    pub max_episodes_per_day: u64,
    /// Tokens (prompt + completion) per day; past it, the offline engine.
    pub max_tokens_per_day: u64,
    /// Seconds allowed for one request.
    pub timeout_secs: u64,
    /// Seconds a reader waits for the model's answer to a question at most (within
    /// `timeout_secs`); past them the quoting answer goes out.
    pub answer_timeout_secs: u64,
    /// Transcript tokens per request; longer transcripts are split and the parts merged.
    pub chunk_tokens: usize,
    /// Largest audio file downloaded for transcription, in bytes.
    pub max_audio_bytes: u64,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            base_url: None,
            api_key: None,
            model: "gpt-4o-mini".into(),
            transcription_model: None,
            embedding_model: None,
            max_episodes_per_day: 50,
            max_tokens_per_day: 2_000_000,
            timeout_secs: 120,
            answer_timeout_secs: 45,
            chunk_tokens: 6000,
            max_audio_bytes: 300 * 1024 * 1024,
        }
    }
}

/// `podsift run`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Address of the HTTP server (/healthz, /metrics, adapter webhooks).
    pub bind: String,
    /// Address of the admin listener (the operator page, and the API the command line uses while
    /// the service runs); empty for none. Beyond loopback it needs PODSIFT_ADMIN_TOKEN.
    pub admin_bind: String,
    /// Minutes between ingests.
    pub ingest_every_minutes: u64,
    /// Seconds between checks for due deliveries.
    pub tick_seconds: u64,
    /// Largest request body the HTTP server accepts, in bytes.
    pub request_body_limit_bytes: usize,
    /// Seconds in-flight sends get to finish after SIGINT/SIGTERM.
    pub shutdown_grace_seconds: u64,
    /// Delivery time for a new subscriber who names none (HH:MM).
    pub default_time: String,
    /// Timezone for a new subscriber who names none (IANA).
    pub default_timezone: String,
    /// Days that outbox records, reply mappings, digests and the LLM's day records are kept;
    /// older ones are removed once a day while the service runs. 0 keeps them all (what lives
    /// only for days is removed whatever this says).
    pub keep_days: u64,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            bind: "127.0.0.1:8080".into(),
            admin_bind: "127.0.0.1:8081".into(),
            ingest_every_minutes: 60,
            tick_seconds: 30,
            request_body_limit_bytes: 64 * 1024,
            shutdown_grace_seconds: 10,
            default_time: "08:00".into(),
            default_timezone: "UTC".into(),
            keep_days: 180,
        }
    }
}

/// Delivery policy.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// A digest missed (downtime) by up to this many minutes is still delivered; later, skipped.
    pub catch_up_minutes: u64,
    /// Destinations one delivery tick sends to at the same time (a tick still retrying some
    /// when the next begins keeps them: up to 4 ticks run at once).
    pub max_concurrency: usize,
    /// Tries of one message on transient errors within a tick; a delivery that still fails is
    /// tried again on later ticks, with growing waits, until the catch-up window closes.
    pub max_attempts: u32,
    /// Platform rate-limit waits honoured for one message before it counts as failed.
    pub max_rate_limit_waits: u32,
    /// First backoff after a transient error, in milliseconds; doubles each time, plus jitter.
    pub backoff_base_ms: u64,
    /// Longest one send to a platform may take (its own rate-limit waits included) before it
    /// counts as a transient failure: a request that never answers would otherwise hold the
    /// destination, and a delivery tick, for good. A safety net, well above a platform's usual
    /// answer: a send cut off after the platform took it is sent again.
    pub send_timeout_secs: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            catch_up_minutes: 360,
            max_concurrency: 32,
            max_attempts: 5,
            max_rate_limit_waits: 10,
            backoff_base_ms: 500,
            send_timeout_secs: 60,
        }
    }
}

/// Which adapters run, and their settings. Secrets come from the environment (.env.example).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AdaptersConfig {
    pub console: ConsoleConfig,
    pub webhook: WebhookConfig,
    pub telegram: TelegramConfig,
    pub discord: DiscordConfig,
    pub slack: SlackConfig,
}

impl AdaptersConfig {
    /// Whether the adapter of `platform` is enabled (its subscriptions are delivered).
    pub fn is_enabled(&self, platform: &str) -> bool {
        match platform {
            "console" => self.console.enabled,
            "webhook" => self.webhook.enabled,
            "telegram" => self.telegram.enabled,
            "discord" => self.discord.enabled,
            "slack" => self.slack.enabled,
            _ => false,
        }
    }
}

/// The Slack app. SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode), and SLACK_BOT_TOKEN
/// (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (installs through OAuth) come from
/// the environment.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SlackConfig {
    pub enabled: bool,
    /// Another Web API base instead of https://slack.com/api (tests, proxies).
    pub api_url: Option<String>,
    /// Only workspace admins and owners may subscribe channels or change their time (checked
    /// with users.info); otherwise any member of the channel may.
    pub admins_only: bool,
    /// The public base URL of podsift (https://podsift.example.com), for the OAuth redirect.
    pub public_url: Option<String>,
    /// Receive over Socket Mode (SLACK_APP_TOKEN, xapp-) instead of the HTTP routes: for
    /// workspaces where podsift has no public URL.
    pub socket_mode: bool,
    /// Messages per second over all channels.
    pub global_per_second: f64,
    /// Messages per second to one channel (Slack allows about 1).
    pub per_channel_per_second: f64,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            enabled: false,
            api_url: None,
            admins_only: false,
            public_url: None,
            socket_mode: false,
            global_per_second: 20.0,
            per_channel_per_second: 1.0,
        }
    }
}

/// How Discord reaches podsift.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DiscordMode {
    /// serenity's gateway client: interactions arrive over the gateway, no public URL needed.
    Gateway,
    /// Discord POSTs interactions to /discord/interactions on the service's HTTP server.
    Endpoint,
}

/// The Discord bot. DISCORD_BOT_TOKEN, DISCORD_APPLICATION_ID and (endpoint mode)
/// DISCORD_PUBLIC_KEY come from the environment.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    pub enabled: bool,
    pub mode: DiscordMode,
    /// Register the slash commands in this guild only (they appear at once; global commands can
    /// take up to an hour), for trying podsift out.
    pub guild_id: Option<u64>,
    /// Send REST calls to this base instead of https://discord.com (an API proxy that does the
    /// rate limiting, or a test server); serenity's own rate limiter is then off.
    pub api_url: Option<String>,
    /// Gateway mode: also read messages typed in an insight's answer thread as questions. Needs
    /// the privileged Message Content intent, turned on in the developer portal.
    pub read_thread_messages: bool,
    /// Requests per second over all channels (Discord allows 50).
    pub global_per_second: f64,
    /// Messages per second to one channel (Discord allows 5 per 5 seconds).
    pub per_channel_per_second: f64,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            enabled: false,
            mode: DiscordMode::Gateway,
            guild_id: None,
            api_url: None,
            read_thread_messages: false,
            global_per_second: 45.0,
            per_channel_per_second: 1.0,
        }
    }
}

/// The Telegram bot. The token comes from TELEGRAM_BOT_TOKEN.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramConfig {
    pub enabled: bool,
    /// A self-hosted Bot API server instead of https://api.telegram.org/.
    pub api_url: Option<String>,
    /// The public HTTPS URL Telegram should call (webhook mode, e.g.
    /// https://podsift.example.com/telegram/webhook); without it the bot long-polls.
    /// Requires TELEGRAM_WEBHOOK_SECRET.
    pub webhook_url: Option<String>,
    /// Seconds one long-polling request waits for updates.
    pub poll_timeout_secs: u32,
    /// Messages per second over all chats (Telegram allows about 30).
    pub global_per_second: f64,
    /// Messages per second to one chat (Telegram allows about 1).
    pub per_chat_per_second: f64,
    /// Messages per minute to one group (Telegram allows about 20).
    pub per_group_per_minute: f64,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            enabled: false,
            api_url: None,
            webhook_url: None,
            poll_timeout_secs: 30,
            global_per_second: 30.0,
            per_chat_per_second: 1.0,
            per_group_per_minute: 20.0,
        }
    }
}

/// Prints digests to the terminal and reads commands from standard input.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    pub enabled: bool,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig { enabled: true }
    }
}

/// POSTs digests as signed JSON to each destination's URL (`webhook:https://...`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    pub enabled: bool,
    /// Requests per second over all webhook destinations.
    pub global_per_second: f64,
    /// Requests per second to one destination.
    pub per_destination_per_second: f64,
    /// Seconds allowed for one request.
    pub timeout_secs: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig { enabled: false, global_per_second: 20.0, per_destination_per_second: 1.0, timeout_secs: 10 }
    }
}

/// How follow-up questions are answered.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AskConfig {
    /// Seconds of speech per passage searched for an answer (passages overlap by half).
    pub passage_seconds: f64,
    /// Share (0-1) of what the question asks about (its specific words, rare ones weighing more)
    /// one of the best passages must hold around one sentence (for an amount, a sentence stating
    /// one of the kind asked) to count as covering it.
    pub min_coverage: f64,
    /// Most passages quoted in one answer.
    pub max_citations: usize,
    /// Most questions one reader may ask in an hour, across chats (each may be a paid model
    /// request; one reader must not spend the day's budget for everyone). 0: no limit.
    pub max_questions_per_hour: usize,
}

impl Default for AskConfig {
    fn default() -> Self {
        AskConfig { passage_seconds: 45.0, min_coverage: 0.2, max_citations: 3, max_questions_per_hour: 30 }
    }
}

/// How the day's digest is chosen.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DigestConfig {
    /// Insights in a digest.
    pub size: usize,
    /// IANA timezone whose calendar days the digests follow (e.g. Europe/Berlin).
    pub timezone: String,
    /// Episodes published within this many hours before the end of the day (or before the
    /// digest is built, when that is earlier) are candidates.
    pub recency_window_hours: u64,
    /// A theme sent in the digests of the last N days must be much stronger to return.
    pub novelty_days: u64,
    /// Most insights taken from one episode.
    pub max_per_episode: usize,
    /// Cosine similarity (0-1) above which two claims count as the same point.
    pub cluster_threshold: f32,
    /// The same, when every candidate has an embedding (llm.embedding_model). The default is
    /// measured with benches/embedding_threshold.py on all-MiniLM-L6-v2.
    pub embedding_cluster_threshold: f32,
}

impl Default for DigestConfig {
    fn default() -> Self {
        DigestConfig {
            size: 5,
            timezone: "UTC".into(),
            recency_window_hours: 48,
            novelty_days: 7,
            max_per_episode: 1,
            cluster_threshold: 0.4,
            embedding_cluster_threshold: 0.78,
        }
    }
}

impl DigestConfig {
    /// The configured timezone; validation at load time guarantees it parses.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }
}

/// How candidate insights are extracted.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct InsightConfig {
    /// Candidates kept per episode.
    pub candidates_per_episode: usize,
    /// Shortest insight, in words; shorter statements are joined with their neighbour or dropped.
    pub min_words: usize,
    /// Longest insight, in words.
    pub max_words: usize,
}

impl Default for InsightConfig {
    fn default() -> Self {
        InsightConfig { candidates_per_episode: 8, min_words: 12, max_words: 60 }
    }
}

/// How feeds and transcripts are fetched.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Seconds allowed to establish a connection.
    pub connect_timeout_secs: u64,
    /// Seconds allowed for a whole request, body included.
    pub timeout_secs: u64,
    /// Largest feed accepted, in bytes; the download stops once it is exceeded.
    pub max_feed_bytes: u64,
    /// Largest transcript accepted, in bytes.
    pub max_transcript_bytes: u64,
    /// Feeds fetched at the same time.
    pub concurrency: usize,
    /// First wait after a failed fetch, in seconds; doubles with each consecutive failure.
    pub backoff_base_secs: u64,
    /// Longest wait between attempts on a failing feed, in seconds.
    pub backoff_max_secs: u64,
    /// Redirects followed before giving up.
    pub max_redirects: usize,
    /// Ingests that may fail to fetch an episode's transcript before it is left to show notes.
    pub transcript_attempts: u32,
    /// Seconds before a failed transcript is tried again, doubling after each failure, so the
    /// attempts span hours however often ingest runs (hosts often link a transcript a little
    /// after the episode). 0: at every ingest.
    pub transcript_retry_secs: u64,
    /// Episodes published more than this many days ago get no transcript (a new feed's back
    /// catalogue would cost hours of downloads for insights no digest would use). 0: no limit.
    pub transcript_max_age_days: u64,
    /// Seconds one feed's transcripts may take in one ingest (downloads and speech-to-text);
    /// the episodes left wait for the next ingest, so one slow host never holds up the run.
    pub transcripts_budget_secs: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            connect_timeout_secs: 10,
            timeout_secs: 60,
            max_feed_bytes: 50 * 1024 * 1024,
            max_transcript_bytes: 20 * 1024 * 1024,
            concurrency: 8,
            backoff_base_secs: 300,
            backoff_max_secs: 24 * 3600,
            max_redirects: 10,
            transcript_attempts: 3,
            transcript_retry_secs: 1800,
            transcript_max_age_days: 30,
            transcripts_budget_secs: 600,
        }
    }
}

impl IngestConfig {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("config file {path}: {message}(see config/podsift.example.toml for every key)")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}: `{key}` {problem}")]
    Invalid { path: PathBuf, key: &'static str, problem: String },
    #[error("environment variable {var} (it sets `{key}`): {problem}")]
    Env { var: &'static str, key: &'static str, problem: String },
}

/// What a rate limit must be: `nan` would pass a `<= 0` check and stall every send for days,
/// `inf` would turn the limit off.
const RATE: &str = "must be a number above 0 (messages per second; per minute where the key says so)";

/// The first of `rates` (key, value) that is not a positive, finite number.
fn bad_rate<'a>(rates: &[(&'a str, f64)]) -> Option<&'a str> {
    rates.iter().find(|(_, r)| !(r.is_finite() && *r > 0.0)).map(|(key, _)| *key)
}

/// An http(s) address with a host: `url` alone takes "localhost:11434/v1" for a URL of scheme
/// "localhost", which every request then fails on.
fn web_url(u: &str) -> bool {
    url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read { path: path.to_path_buf(), reason: e.to_string() })?;
        Config::parse(&text, path)
    }

    /// Parses and validates config text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string() })?;
        // Only today's and yesterday's digests are looked for: a longer window would leave older
        // days neither sent nor given up (and a digest later than a day meets the next one).
        // Taken down to a day, said, rather than refused: configurations written before the
        // limit keep starting.
        if config.delivery.catch_up_minutes > MAX_CATCH_UP_MINUTES {
            tracing::warn!(
                "{}: delivery.catch_up_minutes = {} is over a day; {MAX_CATCH_UP_MINUTES} (a day) is used",
                path.display(),
                config.delivery.catch_up_minutes
            );
            config.delivery.catch_up_minutes = MAX_CATCH_UP_MINUTES;
        }
        config.validate(path)?;
        Ok(config)
    }

    /// Applies environment overrides (`PODSIFT_BIND` for service.bind, `OPENAI_BASE_URL` for
    /// llm.base_url) and validates again.
    pub fn with_env(mut self, source: &Path) -> Result<Config, ConfigError> {
        // An empty variable (a `.env` line left blank) is no override.
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let overrides = [("PODSIFT_BIND", "service.bind"), ("OPENAI_BASE_URL", "llm.base_url")];
        let set: Vec<(&'static str, &'static str)> = overrides.into_iter().filter(|(v, _)| var(v).is_some()).collect();
        if let Some(bind) = var("PODSIFT_BIND") {
            self.service.bind = bind;
        }
        if let Some(base) = var("OPENAI_BASE_URL") {
            self.llm.base_url = Some(base);
        }
        // A bad value from the environment is blamed on the variable, not on the file.
        self.validate(source).map_err(|e| match e {
            ConfigError::Invalid { key, problem, .. } if set.iter().any(|(_, k)| *k == key) => {
                let var = set.iter().find(|(_, k)| *k == key).map(|(v, _)| *v).unwrap_or_default();
                ConfigError::Env { var, key, problem }
            }
            e => e,
        })?;
        Ok(self)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid =
            |key, problem: &str| ConfigError::Invalid { path: path.to_path_buf(), key, problem: problem.to_string() };
        if !web_url(&self.podcasts.directory_url) {
            return Err(invalid("podcasts.directory_url", "must be a URL such as https://itunes.apple.com/search"));
        }
        if self.podcasts.directory_timeout_secs == 0 || self.podcasts.max_per_destination == 0 {
            return Err(invalid(
                "podcasts.directory_timeout_secs",
                "and podcasts.max_per_destination must be at least 1",
            ));
        }
        // A host is a name ("example.com"), not an address: "https://example.com/" would match
        // no feed and silently refuse every one a reader names from there.
        if let Some(h) = self.podcasts.allowed_hosts.iter().find(|h| {
            let h = h.trim();
            h.is_empty() || h.contains("://") || h.contains('/') || h.contains(char::is_whitespace)
        }) {
            return Err(invalid(
                "podcasts.allowed_hosts",
                &format!("{h:?} is not a host name: write it as \"example.com\" (no scheme, no path)"),
            ));
        }
        let admin = &self.service.admin_bind;
        if !admin.is_empty() && admin.parse::<std::net::SocketAddr>().is_err() {
            return Err(invalid(
                "service.admin_bind",
                "must be an IP address and port such as 127.0.0.1:8081 (or \"\" for no admin listener)",
            ));
        }
        // (Port 0 is any free port, a different one for each.)
        if !admin.is_empty() && *admin == self.service.bind && !admin.ends_with(":0") {
            return Err(invalid(
                "service.admin_bind",
                &format!(
                    "is service.bind's address too ({admin}); give the admin listener another port, e.g. 127.0.0.1:8081"
                ),
            ));
        }
        let i = &self.ingest;
        if i.timeout_secs == 0 {
            return Err(invalid("ingest.timeout_secs", "must be at least 1"));
        }
        if i.connect_timeout_secs == 0 {
            return Err(invalid("ingest.connect_timeout_secs", "must be at least 1"));
        }
        if i.max_feed_bytes < 1024 {
            return Err(invalid("ingest.max_feed_bytes", "must be at least 1024"));
        }
        if i.max_transcript_bytes < 1024 {
            return Err(invalid("ingest.max_transcript_bytes", "must be at least 1024"));
        }
        if i.concurrency == 0 {
            return Err(invalid("ingest.concurrency", "must be at least 1"));
        }
        if i.transcripts_budget_secs == 0 {
            return Err(invalid(
                "ingest.transcripts_budget_secs",
                "must be at least 1: it is each feed's time for transcripts in one ingest, and 0 would fetch none",
            ));
        }
        if i.backoff_max_secs < i.backoff_base_secs {
            return Err(invalid("ingest.backoff_max_secs", "must not be smaller than ingest.backoff_base_secs"));
        }
        // A span of centuries is a typo or a way of writing "never" (which 0 says where it is
        // meant); past chrono's range it would overflow the date arithmetic mid-ingest.
        let (sv, dl, d) = (&self.service, &self.delivery, &self.digest);
        let spans = [
            ("ingest.timeout_secs", i.timeout_secs),
            ("ingest.connect_timeout_secs", i.connect_timeout_secs),
            ("ingest.backoff_base_secs", i.backoff_base_secs),
            ("ingest.backoff_max_secs", i.backoff_max_secs),
            ("ingest.transcript_retry_secs", i.transcript_retry_secs),
            ("ingest.transcript_max_age_days", i.transcript_max_age_days.saturating_mul(86_400)),
            ("ingest.transcripts_budget_secs", i.transcripts_budget_secs),
            ("podcasts.directory_timeout_secs", self.podcasts.directory_timeout_secs),
            ("podcasts.failing_days", self.podcasts.failing_days.saturating_mul(86_400)),
            ("digest.recency_window_hours", d.recency_window_hours.saturating_mul(3_600)),
            ("digest.novelty_days", d.novelty_days.saturating_mul(86_400)),
            ("service.ingest_every_minutes", sv.ingest_every_minutes.saturating_mul(60)),
            ("service.tick_seconds", sv.tick_seconds),
            ("service.shutdown_grace_seconds", sv.shutdown_grace_seconds),
            ("service.keep_days", sv.keep_days.saturating_mul(86_400)),
            ("delivery.catch_up_minutes", dl.catch_up_minutes.saturating_mul(60)),
            ("delivery.send_timeout_secs", dl.send_timeout_secs),
            ("delivery.backoff_base_ms", dl.backoff_base_ms / 1000),
            ("adapters.webhook.timeout_secs", self.adapters.webhook.timeout_secs),
            ("llm.timeout_secs", self.llm.timeout_secs),
            ("llm.answer_timeout_secs", self.llm.answer_timeout_secs),
        ];
        if let Some((key, _)) = spans.iter().find(|(_, secs)| *secs > MAX_SPAN_SECS) {
            return Err(invalid(
                key,
                "is more than 100 years: a smaller number, or 0 where the setting takes 0 for none",
            ));
        }
        let d = &self.digest;
        if d.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(invalid(
                "digest.timezone",
                &format!(
                    "{:?} is not a known timezone; use an IANA name such as Europe/Berlin or America/New_York",
                    d.timezone
                ),
            ));
        }
        if d.size == 0 {
            return Err(invalid("digest.size", "must be at least 1"));
        }
        if d.max_per_episode == 0 {
            return Err(invalid("digest.max_per_episode", "must be at least 1"));
        }
        if d.recency_window_hours == 0 {
            return Err(invalid("digest.recency_window_hours", "must be at least 1"));
        }
        if !(d.cluster_threshold > 0.0 && d.cluster_threshold <= 1.0) {
            return Err(invalid("digest.cluster_threshold", "must be above 0 and at most 1"));
        }
        if !(d.embedding_cluster_threshold > 0.0 && d.embedding_cluster_threshold <= 1.0) {
            return Err(invalid("digest.embedding_cluster_threshold", "must be above 0 and at most 1"));
        }
        let a = &self.ask;
        if !(a.passage_seconds >= 10.0 && a.passage_seconds <= 600.0) {
            return Err(invalid("ask.passage_seconds", "must be between 10 and 600"));
        }
        if !(a.min_coverage > 0.0 && a.min_coverage <= 1.0) {
            return Err(invalid("ask.min_coverage", "must be above 0 and at most 1"));
        }
        if a.max_citations == 0 {
            return Err(invalid("ask.max_citations", "must be at least 1"));
        }
        let sv = &self.service;
        if sv.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(invalid(
                "service.bind",
                &format!("{:?} is not an address: use IP:PORT, e.g. 127.0.0.1:8080", sv.bind),
            ));
        }
        if time_of_day(&sv.default_time).is_none() {
            return Err(invalid(
                "service.default_time",
                &format!("{:?} is not a time: use HH:MM, e.g. 08:00", sv.default_time),
            ));
        }
        if sv.default_timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(invalid(
                "service.default_timezone",
                &format!("{:?} is not a known timezone; use an IANA name such as Europe/Berlin", sv.default_timezone),
            ));
        }
        if sv.ingest_every_minutes == 0 || sv.tick_seconds == 0 {
            return Err(invalid("service.ingest_every_minutes", "and service.tick_seconds must be at least 1"));
        }
        // The last week's outbox records say what was sent, and the digests of the last
        // novelty_days what not to repeat.
        let least = self.digest.novelty_days.max(7);
        if sv.keep_days != 0 && sv.keep_days < least {
            return Err(invalid(
                "service.keep_days",
                &format!("must be 0 (keep everything) or at least {least} (a week, and digest.novelty_days)"),
            ));
        }
        let dl = &self.delivery;
        if dl.max_concurrency == 0 || dl.max_attempts == 0 {
            return Err(invalid("delivery.max_concurrency", "and delivery.max_attempts must be at least 1"));
        }
        // A digest is due from its time until the window closes, and deliveries are looked for
        // once a tick: a window shorter than two ticks misses days at random.
        if dl.catch_up_minutes.saturating_mul(60) < sv.tick_seconds.saturating_mul(2) {
            return Err(invalid(
                "delivery.catch_up_minutes",
                &format!(
                    "must be at least two delivery ticks ({} min with service.tick_seconds = {}), or digests are missed",
                    sv.tick_seconds.saturating_mul(2).div_ceil(60),
                    sv.tick_seconds
                ),
            ));
        }
        if self.adapters.webhook.timeout_secs == 0 {
            return Err(invalid("adapters.webhook.timeout_secs", "must be at least 1"));
        }
        if dl.send_timeout_secs <= self.adapters.webhook.timeout_secs {
            return Err(invalid(
                "delivery.send_timeout_secs",
                &format!(
                    "must be longer than adapters.webhook.timeout_secs ({} s), or a slow webhook would be cut off \
                     before its own timeout",
                    self.adapters.webhook.timeout_secs
                ),
            ));
        }
        let w = &self.adapters.webhook;
        let webhook_rate = bad_rate(&[
            ("adapters.webhook.global_per_second", w.global_per_second),
            ("adapters.webhook.per_destination_per_second", w.per_destination_per_second),
        ]);
        if let (true, Some(key)) = (w.enabled, webhook_rate) {
            return Err(invalid(key, RATE));
        }
        let t = &self.adapters.telegram;
        for (key, url) in [("adapters.telegram.api_url", &t.api_url), ("adapters.telegram.webhook_url", &t.webhook_url)]
        {
            if let Some(u) = url {
                if !web_url(u) {
                    return Err(invalid(key, &format!("{u:?} is not a URL, e.g. https://api.telegram.org/")));
                }
            }
        }
        if let Some(key) = bad_rate(&[
            ("adapters.telegram.global_per_second", t.global_per_second),
            ("adapters.telegram.per_chat_per_second", t.per_chat_per_second),
            ("adapters.telegram.per_group_per_minute", t.per_group_per_minute),
        ]) {
            return Err(invalid(key, RATE));
        }
        let d = &self.adapters.discord;
        if d.guild_id == Some(0) {
            return Err(invalid(
                "adapters.discord.guild_id",
                "0 is no server id: Developer Mode, then Copy Server ID on the server (or leave it out)",
            ));
        }
        if let Some(u) = &d.api_url {
            if !web_url(u) {
                return Err(invalid(
                    "adapters.discord.api_url",
                    &format!("{u:?} is not a URL, e.g. http://127.0.0.1:3000"),
                ));
            }
        }
        if let Some(key) = bad_rate(&[
            ("adapters.discord.global_per_second", d.global_per_second),
            ("adapters.discord.per_channel_per_second", d.per_channel_per_second),
        ]) {
            return Err(invalid(key, RATE));
        }
        let sl = &self.adapters.slack;
        for (key, url) in [("adapters.slack.api_url", &sl.api_url), ("adapters.slack.public_url", &sl.public_url)] {
            if let Some(u) = url {
                if !web_url(u) {
                    return Err(invalid(key, &format!("{u:?} is not a URL, e.g. https://podsift.example.com")));
                }
            }
        }
        if let Some(key) = bad_rate(&[
            ("adapters.slack.global_per_second", sl.global_per_second),
            ("adapters.slack.per_channel_per_second", sl.per_channel_per_second),
        ]) {
            return Err(invalid(key, RATE));
        }
        let l = &self.llm;
        if let Some(u) = &l.base_url {
            if !web_url(u) {
                return Err(invalid("llm.base_url", &format!("{u:?} is not a URL, e.g. http://127.0.0.1:11434/v1")));
            }
        }
        if l.model.trim().is_empty() {
            return Err(invalid("llm.model", "must name a model, e.g. gpt-4o-mini or llama3.1"));
        }
        if l.chunk_tokens < 500 || l.timeout_secs == 0 || self.llm.answer_timeout_secs == 0 {
            return Err(invalid(
                "llm.chunk_tokens",
                "must be at least 500 (and llm.timeout_secs and llm.answer_timeout_secs at least 1)",
            ));
        }
        let n = &self.insight;
        if n.candidates_per_episode == 0 {
            return Err(invalid("insight.candidates_per_episode", "must be at least 1"));
        }
        if n.min_words == 0 || n.min_words > n.max_words {
            return Err(invalid("insight.min_words", "must be at least 1 and not above insight.max_words"));
        }
        Ok(())
    }
}

/// A time of day as typed for a schedule, HH:MM. The minutes take two digits: "7:5" could mean
/// 07:05 or 07:50.
pub fn time_of_day(s: &str) -> Option<chrono::NaiveTime> {
    let s = s.trim();
    if s.split_once(':').is_none_or(|(_, m)| m.len() != 2) {
        return None;
    }
    chrono::NaiveTime::parse_from_str(s, "%H:%M").ok()
}

/// The longest time span a setting may name: a hundred years.
const MAX_SPAN_SECS: u64 = 100 * 366 * 86_400;

/// The longest `delivery.catch_up_minutes`: a day.
const MAX_CATCH_UP_MINUTES: u64 = 1440;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_and_matches_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/podsift.example.toml");
        let config = Config::load(&path).unwrap();
        // The example documents the defaults: if they differ, one of the two is wrong.
        assert_eq!(config, Config::default());
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::parse("[ingest]\ntimeout_sec = 5\n", Path::new("x.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("timeout_sec"), "{msg}");
        assert!(msg.contains("x.toml"), "{msg}");
    }

    #[test]
    fn unknown_section_is_named() {
        let err = Config::parse("[ingset]\n", Path::new("x.toml")).unwrap_err();
        assert!(err.to_string().contains("ingset"), "{err}");
    }

    #[test]
    fn unknown_timezone_names_the_key_and_the_fix() {
        let err = Config::parse("[digest]\ntimezone = \"Europe/Berln\"\n", Path::new("x.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("digest.timezone") && msg.contains("Europe/Berlin"), "{msg}");
    }

    #[test]
    fn addresses_without_a_scheme_and_windows_that_miss_days_are_refused() {
        let refused = |text: &str, key: &str| {
            let err = Config::parse(text, Path::new("x.toml")).unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
        };
        refused("[llm]\nbase_url = \"localhost:11434/v1\"\n", "llm.base_url");
        refused("[adapters.telegram]\napi_url = \"127.0.0.1:8082\"\n", "adapters.telegram.api_url");
        refused("[adapters.slack]\napi_url = \"ftp://slack.example\"\n", "adapters.slack.api_url");
        refused("[podcasts]\ndirectory_url = \"itunes.apple.com/search\"\n", "podcasts.directory_url");
        assert!(Config::parse("[llm]\nbase_url = \"http://localhost:11434/v1\"\n", Path::new("x.toml")).is_ok());
        refused("[ingest]\ntranscripts_budget_secs = 0\n", "ingest.transcripts_budget_secs");
        refused("[delivery]\ncatch_up_minutes = 0\n", "delivery.catch_up_minutes");
        refused(
            "[service]\ntick_seconds = 120\n[delivery]\ncatch_up_minutes = 3\n",
            "(4 min with service.tick_seconds = 120)",
        );
        assert!(Config::parse("[delivery]\ncatch_up_minutes = 1\n", Path::new("x.toml")).is_ok());
        let long = Config::parse("[delivery]\ncatch_up_minutes = 2000\n", Path::new("x.toml")).unwrap();
        assert_eq!(long.delivery.catch_up_minutes, 1440, "a window over a day is taken down to one");
    }

    #[test]
    fn a_default_time_needs_two_digit_minutes() {
        let err = Config::parse("[service]\ndefault_time = \"8:5\"\n", Path::new("x.toml")).unwrap_err();
        assert!(err.to_string().contains("service.default_time"), "{err}");
        assert!(Config::parse("[service]\ndefault_time = \"8:05\"\n", Path::new("x.toml")).is_ok());
    }

    #[test]
    fn a_send_timeout_within_the_webhooks_own_is_refused() {
        let text = "[delivery]\nsend_timeout_secs = 10\n[adapters.webhook]\ntimeout_secs = 20\n";
        let err = Config::parse(text, Path::new("x.toml")).unwrap_err().to_string();
        assert!(
            err.contains("delivery.send_timeout_secs") && err.contains("adapters.webhook.timeout_secs (20 s)"),
            "{err}"
        );
        assert!(
            Config::parse(
                "[delivery]\nsend_timeout_secs = 21\n[adapters.webhook]\ntimeout_secs = 20\n",
                Path::new("x.toml")
            )
            .is_ok()
        );
    }

    #[test]
    fn an_allowed_host_written_as_an_address_is_refused() {
        let err = Config::parse("[podcasts]\nallowed_hosts = [\"https://example.com/\"]\n", Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("podcasts.allowed_hosts") && err.contains("\"example.com\""), "{err}");
        assert!(
            Config::parse("[podcasts]\nallowed_hosts = [\"example.com\", \"10.0.0.5\"]\n", Path::new("x.toml")).is_ok()
        );
    }

    #[test]
    fn the_admin_listener_cannot_share_the_service_address() {
        let text = "[service]\nbind = \"127.0.0.1:18080\"\nadmin_bind = \"127.0.0.1:18080\"\n";
        let err = Config::parse(text, Path::new("x.toml")).unwrap_err().to_string();
        assert!(err.contains("service.admin_bind") && err.contains("another port"), "{err}");
    }

    #[test]
    fn rates_that_are_not_positive_numbers_are_named() {
        for (text, key) in [
            ("[adapters.slack]\nglobal_per_second = nan\n", "adapters.slack.global_per_second"),
            ("[adapters.discord]\nper_channel_per_second = -1.0\n", "adapters.discord.per_channel_per_second"),
            ("[adapters.telegram]\nper_group_per_minute = inf\n", "adapters.telegram.per_group_per_minute"),
            (
                "[adapters.webhook]\nenabled = true\nper_destination_per_second = nan\n",
                "adapters.webhook.per_destination_per_second",
            ),
        ] {
            let err = Config::parse(text, Path::new("x.toml")).unwrap_err().to_string();
            assert!(err.contains(key) && err.contains("a number above 0"), "{err}");
        }
        assert!(Config::parse("[adapters.slack]\nglobal_per_second = 0.5\n", Path::new("x.toml")).is_ok());
        let err = Config::parse("[adapters.discord]\nguild_id = 0\n", Path::new("x.toml")).unwrap_err().to_string();
        assert!(err.contains("adapters.discord.guild_id") && err.contains("Copy Server ID"), "{err}");
    }

    #[test]
    fn spans_of_centuries_are_refused_not_overflowed() {
        for (text, key) in [
            ("[service]\nshutdown_grace_seconds = 18446744073709551615\n", "service.shutdown_grace_seconds"),
            ("[delivery]\nbackoff_base_ms = 18446744073709551615\n", "delivery.backoff_base_ms"),
            ("[ingest]\ntranscript_max_age_days = 100000000\n", "ingest.transcript_max_age_days"),
            ("[ingest]\nbackoff_max_secs = 10000000000000\n", "ingest.backoff_max_secs"),
            ("[digest]\nrecency_window_hours = 18446744073709551615\n", "digest.recency_window_hours"),
        ] {
            let err = Config::parse(text, Path::new("x.toml")).unwrap_err().to_string();
            assert!(err.contains(key) && err.contains("more than 100 years"), "{err}");
        }
        assert!(Config::parse("[ingest]\ntranscript_max_age_days = 3650\n", Path::new("x.toml")).is_ok());
    }

    #[test]
    fn a_keep_days_shorter_than_what_delivery_needs_is_refused() {
        let err = Config::parse("[service]\nkeep_days = 3\n", Path::new("x.toml")).unwrap_err();
        assert!(err.to_string().contains("service.keep_days") && err.to_string().contains("at least 7"), "{err}");
        assert!(Config::parse("[service]\nkeep_days = 0\n", Path::new("x.toml")).is_ok());
        assert!(Config::parse("[service]\nkeep_days = 30\n", Path::new("x.toml")).is_ok());
    }

    #[test]
    fn bad_value_names_the_key() {
        let err = Config::parse("[ingest]\nconcurrency = 0\n", Path::new("x.toml")).unwrap_err();
        assert!(err.to_string().contains("ingest.concurrency"), "{err}");
    }
}
