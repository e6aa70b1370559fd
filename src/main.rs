//! The `podsift` command line: parses arguments, loads the configuration, calls into the
//! library and prints results for people (text) or scripts (`--json`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};

use podsift::ask;
use podsift::config::Config;
use podsift::ingest::{self, IngestOptions};
use podsift::insight::digest;
use podsift::model::DigestEntry;
use podsift::model::Feed;
use podsift::store::Store;

mod cli;

use cli::open_store;
use cli::output::{
    FeedView, IngestView, ProgressOutput, episode_line, list_episodes, print_feed, print_json, print_summary,
};
use cli::service::{make_answerer, run_service};
use cli::subs::subs;

#[derive(Parser)]
#[command(name = "podsift", version, about = "The few podcast insights worth your attention, every day.")]
struct Cli {
    /// Directory of the sled store [default: ./data]
    #[arg(long, global = true, env = "PODSIFT_DATA_DIR", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Configuration file [default: config/podsift.toml when present]
    #[arg(long, global = true, env = "PODSIFT_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
        #[arg(long, value_name = "DATE")]
        since: Option<NaiveDate>,
        #[command(flatten)]
        out: Output,
    },
    /// Build (once) and print a day's digest: the top insights
    Digest {
        /// The day (YYYY-MM-DD) [default: today in digest.timezone]
        #[arg(long, value_name = "DATE")]
        date: Option<NaiveDate>,
        #[command(flatten)]
        out: Output,
    },
    /// Ask a follow-up question about an insight; without a question, an interactive prompt
    Ask {
        /// The insight: N (today's insight N) or YYYY-MM-DD#N
        #[arg(value_name = "REF")]
        reference: String,
        /// The question
        #[arg(value_name = "QUESTION")]
        question: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Ingest the bundled demo podcasts (no network, no keys), then show the top 5 and answer a question
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
enum SubsCommand {
    /// List subscriptions with their schedule, state and last delivery
    Ls {
        #[command(flatten)]
        out: Output,
    },
    /// Subscribe a destination
    Add {
        #[arg(value_name = "DESTINATION")]
        destination: String,
        /// Local delivery time, HH:MM [default: service.default_time]
        #[arg(long)]
        time: Option<String>,
        /// IANA timezone, e.g. Europe/Berlin [default: service.default_timezone]
        #[arg(long)]
        tz: Option<String>,
        /// A cron expression instead of --time (6 fields, seconds first: "0 0 8 * * Mon-Fri")
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
    },
    /// Unsubscribe a destination
    Rm {
        #[arg(value_name = "DESTINATION")]
        destination: String,
    },
    /// Pause deliveries to a destination
    Pause {
        #[arg(value_name = "DESTINATION")]
        destination: String,
        /// Why (shown in `subs ls`)
        #[arg(long, default_value = "paused by an operator")]
        reason: String,
    },
    /// Resume deliveries to a paused destination
    Resume {
        #[arg(value_name = "DESTINATION")]
        destination: String,
    },
}

#[derive(Subcommand)]
enum FeedsCommand {
    /// Subscribe to feeds (http(s) URLs, file:// URLs or local paths)
    Add {
        #[arg(required = true, value_name = "URL")]
        urls: Vec<String>,
    },
    /// Unsubscribe from a feed and forget its episodes
    Rm {
        #[arg(value_name = "URL")]
        url: String,
    },
    /// List feeds with their state
    Ls {
        #[command(flatten)]
        out: Output,
    },
    /// Subscribe to every feed in an OPML file
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print the subscribed feeds as OPML
    Export,
}

#[derive(Args, Clone, Copy)]
struct Output {
    /// Print JSON for scripts (shapes documented in the README)
    #[arg(long)]
    json: bool,
}

fn main() -> std::process::ExitCode {
    podsift::ensure_tls_provider();
    let cli = Cli::parse();
    // The service tells the operator what it does; one-shot commands speak only of problems.
    let default_log = if matches!(cli.command, Command::Run { .. }) { "warn,podsift=info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PODSIFT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log)),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn load_config(path: Option<&Path>) -> Result<Config> {
    let default = Path::new("config/podsift.toml");
    let (config, source) = match path {
        Some(p) => (Config::load(p)?, p),
        None if default.exists() => (Config::load(default)?, default),
        None => (Config::default(), Path::new("(built-in defaults)")),
    };
    Ok(config.with_env(source)?)
}

async fn run(cli: Cli) -> Result<()> {
    let config = load_config(cli.config.as_deref())?;
    let data = cli.data.clone().unwrap_or_else(|| PathBuf::from("data"));
    match cli.command {
        Command::Feeds(cmd) => feeds(cmd, &open_store(&data)?),
        Command::Ingest { force, out } => {
            let store = open_store(&data)?;
            if store.feeds()?.is_empty() {
                bail!("no feeds yet: add one with `podsift feeds add URL` (or try `podsift demo`)");
            }
            let progress = ProgressOutput::new();
            let opts = IngestOptions { now: Utc::now(), force };
            let (summary, insights) = podsift::pipeline::ingest_and_extract(&store, &config, opts, &progress).await?;
            progress.finish();
            if out.json {
                print_json(&IngestView { summary, insights_extracted: insights })
            } else {
                print_summary(&summary, insights);
                Ok(())
            }
        }
        Command::Episodes { feed, since, out } => {
            let store = open_store(&data)?;
            if let Some(f) = &feed {
                if store.feed(f)?.is_none() {
                    bail!("no feed {f} is subscribed; `podsift feeds ls` lists them");
                }
            }
            let episodes = list_episodes(&store, feed.as_deref(), since)?;
            if out.json {
                print_json(&episodes)
            } else {
                if episodes.is_empty() {
                    println!("No episodes yet. Run `podsift ingest` after adding feeds.");
                }
                for e in &episodes {
                    println!("{}", episode_line(e));
                }
                Ok(())
            }
        }
        Command::Digest { date, out } => {
            let store = open_store(&data)?;
            let now = Utc::now();
            let date = date.unwrap_or_else(|| digest::today(&config.digest, now));
            let d = digest::build_or_get(&store, &config.digest, date, now)?;
            if out.json {
                print_json(&d)
            } else {
                print!("{}", podsift::render::digest(&d, config.digest.size));
                Ok(())
            }
        }
        Command::Ask { reference, question, out } => {
            let store = open_store(&data)?;
            let (_, entry) = ask::resolve(&store, &config.digest, &reference, Utc::now())?;
            let answerer = make_answerer(&config, &store)?;
            match question {
                Some(q) => {
                    let a = ask::ask(&store, &config.ask, &entry, &q, answerer.as_ref(), &[]).await?;
                    if out.json {
                        print_json(&a)
                    } else {
                        println!("{}", a.answer);
                        Ok(())
                    }
                }
                None => interactive(&store, &config, &entry, answerer.as_ref(), out).await,
            }
        }
        Command::Demo => demo(cli.data, &config).await,
        Command::Run { demo } => run_service(&data, config, demo).await,
        Command::Subs(cmd) => subs(cmd, &open_store(&data)?, &config),
        Command::Stats { out } => stats(&open_store(&data)?, out),
    }
}

fn feeds(cmd: FeedsCommand, store: &Store) -> Result<()> {
    match cmd {
        FeedsCommand::Add { urls } => {
            for url in urls {
                let url = normalize_feed_location(&url)?;
                if store.feed(&url)?.is_some() {
                    println!("already subscribed: {url}");
                    continue;
                }
                store.put_feed(&Feed::new(&url, Utc::now()))?;
                println!("added {url}");
            }
            store.flush()?;
            println!("Run `podsift ingest` to fetch new episodes.");
        }
        FeedsCommand::Rm { url } => {
            let url = normalize_feed_location(&url).unwrap_or(url);
            if !store.remove_feed(&url)? {
                bail!("no feed {url} is subscribed; `podsift feeds ls` lists them");
            }
            store.flush()?;
            println!("removed {url} and its episodes");
        }
        FeedsCommand::Ls { out } => {
            let views = store
                .feeds()?
                .into_iter()
                .map(|f| Ok(FeedView { episodes: store.episode_count(&f.url)?, feed: f }))
                .collect::<Result<Vec<_>>>()?;
            if out.json {
                return print_json(&views);
            }
            if views.is_empty() {
                println!("No feeds yet: add one with `podsift feeds add URL` or `podsift feeds import FILE.opml`.");
            }
            for v in &views {
                print_feed(v);
            }
        }
        FeedsCommand::Import { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let listed = ingest::opml::parse(&text).with_context(|| format!("{}", file.display()))?;
            let mut added = 0;
            for item in &listed {
                if store.feed(&item.url)?.is_none() {
                    let mut feed = Feed::new(&item.url, Utc::now());
                    feed.title = item.title.clone();
                    store.put_feed(&feed)?;
                    added += 1;
                }
            }
            store.flush()?;
            println!(
                "imported {added} new feed(s) of {} listed in {}; run `podsift ingest` to fetch them",
                listed.len(),
                file.display()
            );
        }
        FeedsCommand::Export => print!("{}", ingest::opml::export(&store.feeds()?)),
    }
    Ok(())
}

/// Feeds are URLs; a local path becomes an absolute file:// URL so it works from any directory.
fn normalize_feed_location(input: &str) -> Result<String> {
    let input = input.trim();
    if let Ok(u) = url::Url::parse(input) {
        match u.scheme() {
            "http" | "https" | "file" | "demo" => return Ok(u.to_string()),
            s if s.len() > 1 => bail!("unsupported URL scheme {s:?} in {input}: use http(s), file:// or a local path"),
            _ => {}
        }
    }
    let path = Path::new(input);
    let abs = path.canonicalize().with_context(|| {
        format!("{input} is neither a URL nor an existing file (feeds are http(s) URLs, file:// URLs or local paths)")
    })?;
    url::Url::from_file_path(&abs)
        .map(|u| u.to_string())
        .map_err(|_| anyhow::anyhow!("cannot turn {} into a file:// URL", abs.display()))
}

/// `ask REF` without a question: one question per line until an empty line or end of input.
async fn interactive(
    store: &Store,
    config: &Config,
    entry: &DigestEntry,
    answerer: &dyn ask::Answerer,
    out: Output,
) -> Result<()> {
    use std::io::{BufRead, Write};
    let prompt = std::io::stdin().is_terminal();
    if prompt {
        println!(
            "#{} {}
Ask about this insight (empty line to quit).",
            entry.rank, entry.text
        );
    }
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut history: Vec<(String, String)> = Vec::new();
    loop {
        if prompt {
            print!("> ");
            std::io::stdout().flush()?;
        }
        let Some(line) = lines.next() else { break };
        let line = line?;
        if line.trim().is_empty() {
            break;
        }
        let a = ask::ask(store, &config.ask, entry, &line, answerer, &history).await?;
        // Each question may refer to the ones before it.
        history.push((line.clone(), a.answer.clone()));
        if history.len() > 3 {
            history.remove(0);
        }
        if out.json {
            println!("{}", serde_json::to_string(&a)?);
        } else {
            println!("{}\n", a.answer);
        }
    }
    Ok(())
}

async fn demo(data: Option<PathBuf>, config: &Config) -> Result<()> {
    // Without --data the demo keeps to a temporary store and leaves ./data alone.
    let temp;
    let dir = match data {
        Some(d) => d,
        None => {
            temp = TempDir::new()?;
            temp.0.clone()
        }
    };
    let store = open_store(&dir)?;
    println!(
        "podsift demo: {} bundled podcast feeds served from a loopback server, store in {}",
        podsift::demo::FEEDS.len(),
        dir.display()
    );
    let progress = ProgressOutput::new();
    let now = Utc::now();
    let (summary, insights) = podsift::demo::ingest_demo(&store, config, now, &progress).await?;
    progress.finish();
    print_summary(&summary, insights);
    println!();
    for e in list_episodes(&store, None, None)? {
        println!("{}", episode_line(&e));
    }
    println!();
    let date = digest::today(&config.digest, now);
    let d = digest::build_or_get(&store, &config.digest, date, now)?;
    print!("{}", podsift::render::digest(&d, config.digest.size));
    if let Some(first) = d.insights.first() {
        let corpus = store.corpus_for(&podsift::insight::terms::terms(&first.text))?;
        let question = podsift::demo::sample_question(first, &corpus);
        let answerer = make_answerer(config, &store)?;
        let a = ask::ask(&store, &config.ask, first, &question, answerer.as_ref(), &[]).await?;
        println!("\n$ podsift ask 1 {question:?}\n{}", a.answer);
    }
    println!("\nTranscripts: Changelog Media, CC BY-SA 4.0 (see config/demo/ATTRIBUTION.md).");
    Ok(())
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        let dir =
            std::env::temp_dir().join(format!("podsift-demo-{}-{}", std::process::id(), Utc::now().timestamp_micros()));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `podsift stats`: what the LLM engine did, per day.
fn stats(store: &Store, out: Output) -> Result<()> {
    let days = store.llm_usage_all()?;
    if out.json {
        let map: serde_json::Map<String, serde_json::Value> =
            days.into_iter().map(|(d, u)| (d, serde_json::to_value(u).unwrap_or_default())).collect();
        return print_json(&map);
    }
    if days.is_empty() {
        println!("No LLM use recorded (llm.base_url is not set, or nothing was processed yet).");
    }
    for (day, u) in days {
        println!(
            "{day}: {} requests, {} tokens ({} prompt, {} completion), {} episodes, {} quotes dropped, {} offline fallbacks, {} transcriptions",
            u.requests,
            u.tokens(),
            u.prompt_tokens,
            u.completion_tokens,
            u.episodes,
            u.dropped_quotes,
            u.fallbacks,
            u.transcriptions
        );
    }
    Ok(())
}
