//! The command line's shape: every command, argument and flag, with the help text clap shows.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "podsift", version, about = "The few podcast insights worth your attention, every day.")]
pub struct Cli {
    /// Directory of the sled store [default: ./data]
    #[arg(long, global = true, env = "PODSIFT_DATA_DIR", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Configuration file [default: config/podsift.toml when present, else /etc/podsift/podsift.toml]
    #[arg(long, global = true, env = "PODSIFT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Environment file read at start; variables already set win [default: .env when present]
    #[arg(long, global = true, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Manage the subscribed feeds
    #[command(subcommand)]
    Feeds(FeedsCommand),
    /// Fetch every feed once and store new episodes and their transcripts
    Ingest {
        /// Also fetch feeds that are backing off after failures
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        out: Output,
    },
    /// List ingested episodes
    Episodes {
        /// Only episodes of this feed
        #[arg(long, value_name = "URL")]
        feed: Option<String>,
        /// Only episodes published on or after this day (YYYY-MM-DD)
        #[arg(long, value_name = "DATE", value_parser = date_arg)]
        since: Option<NaiveDate>,
        #[command(flatten)]
        out: Output,
    },
    /// Build (once) and print a day's digest: the top insights
    Digest {
        /// The day (YYYY-MM-DD) [default: today in digest.timezone]
        #[arg(long, value_name = "DATE", value_parser = date_arg)]
        date: Option<NaiveDate>,
        #[command(flatten)]
        out: Output,
    },
    /// Ask a follow-up question about an insight; without a question, an interactive prompt
    Ask {
        /// The insight: N (insight N of the latest digest) or YYYY-MM-DD#N
        #[arg(value_name = "REF")]
        reference: String,
        /// The question
        #[arg(value_name = "QUESTION")]
        question: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Ingest the bundled demo podcasts (no network, no keys), then show the top 5 and answer a question; in a temporary store unless --data is given
    Demo,
    /// Run the service: ingest on a schedule, deliver each subscriber's digest at their time,
    /// serve /healthz and /metrics; stops cleanly on Ctrl-C or SIGTERM
    Run {
        /// Use the bundled demo podcasts and subscribe the console, so the whole loop shows on
        /// the terminal at once
        #[arg(long)]
        demo: bool,
    },
    /// Manage subscriptions (destinations are platform:id, e.g. console:local, webhook:https://...)
    #[command(subcommand)]
    Subs(SubsCommand),
    /// What the LLM engine used per day: requests, tokens, dropped quotes, fallbacks
    Stats {
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Subcommand)]
pub enum SubsCommand {
    /// List subscriptions with their schedule, state and last delivery
    Ls {
        #[command(flatten)]
        out: Output,
    },
    /// Subscribe a destination
    Add {
        /// Where digests go: platform:id (console:local, telegram:CHAT_ID, discord:CHANNEL_ID,
        /// slack:TEAM/CHANNEL, webhook:https://...)
        #[arg(value_name = "DESTINATION")]
        destination: String,
        /// Local delivery time, HH:MM [default: service.default_time]
        #[arg(long)]
        time: Option<String>,
        /// IANA timezone, e.g. Europe/Berlin [default: service.default_timezone]
        #[arg(long)]
        tz: Option<String>,
        /// A cron expression instead of --time (6 fields, seconds first, weekdays by name: "0 0 8 * * Mon-Fri")
        #[arg(long, conflicts_with = "time")]
        cron: Option<String>,
        /// Only insights from this podcast (repeatable)
        #[arg(long = "only")]
        only: Vec<String>,
        /// Never insights from this podcast (repeatable)
        #[arg(long = "mute")]
        mute: Vec<String>,
        /// Only insights mentioning this word (repeatable)
        #[arg(long = "keyword")]
        keywords: Vec<String>,
        /// Drop the destination's --only, --mute and --keyword filters first (then the ones
        /// given here, if any, apply)
        #[arg(long)]
        clear_filters: bool,
    },
    /// Unsubscribe a destination
    Rm {
        /// Where digests go: platform:id (console:local, telegram:CHAT_ID, discord:CHANNEL_ID,
        /// slack:TEAM/CHANNEL, webhook:https://...)
        #[arg(value_name = "DESTINATION")]
        destination: String,
    },
    /// Pause deliveries to a destination
    Pause {
        /// Where digests go: platform:id (console:local, telegram:CHAT_ID, discord:CHANNEL_ID,
        /// slack:TEAM/CHANNEL, webhook:https://...)
        #[arg(value_name = "DESTINATION")]
        destination: String,
        /// Why (shown in `subs ls`) [default: paused by an operator; a paused destination keeps
        /// its reason unless a new one is given]
        #[arg(long)]
        reason: Option<String>,
    },
    /// Resume deliveries to a paused destination
    Resume {
        /// Where digests go: platform:id (console:local, telegram:CHAT_ID, discord:CHANNEL_ID,
        /// slack:TEAM/CHANNEL, webhook:https://...)
        #[arg(value_name = "DESTINATION")]
        destination: String,
    },
}

#[derive(Subcommand)]
pub enum FeedsCommand {
    /// Find podcasts by name in the directory (podcasts.directory_url) and show their feeds
    Search {
        /// Words of the podcast's name
        #[arg(required = true, value_name = "WORDS")]
        words: Vec<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Subscribe to feeds (http(s) URLs, file:// URLs or local paths)
    Add {
        /// Feed addresses (http(s) URLs, file:// URLs or local paths)
        #[arg(required = true, value_name = "URL")]
        urls: Vec<String>,
    },
    /// Unsubscribe from feeds and forget their episodes
    Rm {
        /// Feed addresses, as `feeds ls` lists them (or as they were added)
        #[arg(value_name = "URL", required = true)]
        urls: Vec<String>,
    },
    /// List feeds with their state
    Ls {
        #[command(flatten)]
        out: Output,
    },
    /// Subscribe to every feed in an OPML file
    Import {
        /// An OPML file (the kind podcast apps export)
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print the subscribed feeds as OPML
    Export,
}

#[derive(Args, Clone, Copy)]
pub struct Output {
    /// Print JSON for scripts (shapes documented in the README)
    #[arg(long)]
    pub json: bool,
}

/// A day on the command line, with the form named when it is not one.
fn date_arg(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a day: use YYYY-MM-DD, e.g. 2026-11-28"))
}
