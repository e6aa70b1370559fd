//! The `podsift` command line beyond argument parsing (src/main.rs): one file per command group,
//! the output for people and scripts, and the service's set-up. Library code lives in the other
//! modules of src/.

#[macro_use]
pub mod out;
mod admin;
pub mod args;
mod ask;
mod demo;
mod feeds;
pub mod output;
pub mod remote;
pub mod service;
mod stats;
pub mod subs;

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use chrono::Utc;

use podsift::config::Config;
use podsift::ingest::IngestOptions;
use podsift::insight::digest;
use podsift::store::Store;

use args::{Cli, Command};
use output::{IngestView, ProgressOutput, episode_line, list_episodes, print_json, print_summary};
use service::{make_answerer, run_service};
use subs::subs;

pub fn open_store(dir: &Path) -> Result<Store> {
    Ok(Store::open(dir)?)
}

/// Where the configuration is looked for when --config is not given: the checkout's, then the
/// system's (the Docker image puts its configuration there).
const CONFIG_PATHS: &[&str] = &["config/podsift.toml", "/etc/podsift/podsift.toml"];

fn load_config(path: Option<&Path>) -> Result<(Config, String)> {
    load_config_from(path, CONFIG_PATHS)
}

/// The configuration at `path`, or at the first of `candidates` that exists, or the built-in one;
/// with where it came from, in words.
fn load_config_from(path: Option<&Path>, candidates: &[&str]) -> Result<(Config, String)> {
    let found = candidates.iter().map(Path::new).find(|p| p.exists());
    let (config, source) = match (path, found) {
        (Some(p), _) => (Config::load(p)?, p),
        (None, Some(p)) => (Config::load(p)?, p),
        (None, None) => (Config::default(), Path::new("(built-in defaults)")),
    };
    let said = match (path, found) {
        (None, None) => format!(
            "no configuration file ({} from {}; --config or PODSIFT_CONFIG names another): built-in defaults",
            candidates.join(" or "),
            std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_else(|_| "here".into())
        ),
        _ => format!("configuration from {}", source.display()),
    };
    Ok((config.with_env(source)?, said))
}

/// Runs the command the arguments name. When a running service holds the store, the command is
/// sent to it (`remote`) and its output printed here as if it ran here.
pub async fn run(cli: Cli, data_given: bool) -> Result<()> {
    let (config, config_source) = load_config(cli.config.as_deref())?;
    let data = cli.data.clone().unwrap_or_else(|| PathBuf::from("data"));
    match cli.command {
        // Ctrl-C or SIGTERM drops the demo's work, and with it its temporary store, rather than
        // leaving that behind in the temp directory.
        Command::Demo => {
            let stop = service::stop_requested();
            tokio::select! {
                done = demo::demo(cli.data.filter(|_| data_given), &config) => done,
                _ = stop => bail!("interrupted; the demo's temporary store is removed"),
            }
        }
        Command::Run { demo } => {
            // Like `podsift demo`, the demo run keeps to a temporary store unless --data names
            // one: its feeds point at a loopback server that is gone once it stops.
            let temp = if demo && !data_given { Some(demo::TempDir::new()?) } else { None };
            run_service(temp.as_ref().map_or(&data, |t| &t.0), config, &config_source, demo).await
        }
        // A directory search needs no store at all.
        Command::Feeds(args::FeedsCommand::Search { words, out }) => feeds::search(&words, &config, out.json).await,
        // Only adding something makes a store: a mistyped --data would otherwise leave an empty
        // one behind and answer as if nothing had been ingested.
        // A directory that exists but holds no store (`--data .`, an empty volume) is not made
        // one by a command that only reads.
        command if !Store::exists_at(&data) && !creates_store(&command) => bail!(
            "no store at {}{}: check --data (or PODSIFT_DATA_DIR); `podsift feeds add URL` or `podsift subs add` creates one there",
            data.display(),
            if data.exists() { " (the directory is there, without a podsift store in it)" } else { "" }
        ),
        command => match Store::open(&data) {
            Ok(store) => execute(command, &store, &config, None).await,
            Err(podsift::store::StoreError::InUse { .. }) => {
                if cli.config.is_some() {
                    errln!(
                        "note: the running podsift uses its own configuration; --config and PODSIFT_CONFIG apply to commands that open the store themselves"
                    );
                }
                remote::forward(&data).await
            }
            Err(e) => Err(e.into()),
        },
    }
}

/// Whether the command adds to the store, and so may create it.
fn creates_store(command: &Command) -> bool {
    matches!(
        command,
        Command::Feeds(args::FeedsCommand::Add { .. } | args::FeedsCommand::Import { .. })
            | Command::Subs(args::SubsCommand::Add { .. })
    )
}

/// Runs a command on an open store (here, or in the service for a remote command line).
/// `metrics` are the running service's, for a command run on its behalf.
pub async fn execute(
    command: Command,
    store: &Store,
    config: &Config,
    metrics: Option<&podsift::metrics::Metrics>,
) -> Result<()> {
    match command {
        Command::Demo | Command::Run { .. } => bail!("`podsift demo` and `podsift run` start on their own"),
        Command::Feeds(args::FeedsCommand::Search { words, out }) => feeds::search(&words, config, out.json).await,
        Command::Feeds(cmd) => feeds::feeds(cmd, store, config).await,
        Command::Ingest { force, out } => {
            if store.feeds()?.is_empty() {
                bail!(
                    "no feeds yet in the store at {}: add one with `podsift feeds add URL`, name another store with --data, or try `podsift demo`",
                    store.dir().display()
                );
            }
            let progress = ProgressOutput::new();
            let opts = IngestOptions { now: Utc::now(), force };
            let (summary, insights) = podsift::pipeline::ingest_and_extract(store, config, opts, &progress).await?;
            progress.finish();
            if let Some(m) = metrics {
                summary.count_in(m, insights);
            }
            let (failed, waiting, read) =
                (summary.feeds_failed, summary.feeds_skipped, summary.feeds_fetched + summary.feeds_unchanged);
            if out.json {
                print_json(&IngestView { summary, insights_extracted: insights })?;
            } else {
                print_summary(&summary, insights);
            }
            // A run that read no feed, each failing now or still backing off from failing
            // before, is an error a cron job or a script can see; some failing among others is
            // the normal life of feeds, and is in the summary.
            if read == 0 && failed + waiting > 0 {
                // Feeds backing off were not asked: their errors are those `feeds ls` keeps.
                let where_ = if failed > 0 { "above and in `podsift feeds ls`" } else { "in `podsift feeds ls`" };
                bail!(
                    "no feed could be read: {failed} failed now, {waiting} backing off from earlier failures; the errors are {where_} (`podsift ingest --force` tries them all now)"
                );
            }
            Ok(())
        }
        Command::Episodes { feed, since, out } => {
            // Named as `feeds add` takes it: a relative path means the feed stored for it.
            let feed = feed.map(|f| feeds::normalize_feed_location(&f).unwrap_or(f));
            if let Some(f) = &feed {
                if store.feed(f)?.is_none() {
                    bail!("no feed {f} is subscribed; `podsift feeds ls` lists them");
                }
            }
            let episodes = list_episodes(store, feed.as_deref(), since)?;
            if out.json {
                print_json(&episodes)
            } else {
                if episodes.is_empty() && since.is_some() && !list_episodes(store, feed.as_deref(), None)?.is_empty() {
                    outln!("No episodes since that date; without --since all are listed.");
                } else if episodes.is_empty() {
                    outln!(
                        "No episodes yet in the store at {}. Run `podsift ingest` after adding feeds.",
                        store.dir().display()
                    );
                }
                for e in &episodes {
                    outln!("{}", episode_line(e));
                }
                Ok(())
            }
        }
        Command::Digest { date, out } => {
            let now = Utc::now();
            let today = digest::today(&config.digest, now);
            let date = date.unwrap_or(today);
            // A digest is built once: one for a day still to come would be what its readers get,
            // without what is published until then.
            // (One kept only for what it carried is built again with the day's own: not yet.)
            if date > today && store.digest(date)?.is_none_or(|d| d.insights.is_empty()) {
                bail!(
                    "{date} has not begun yet (today is {today} in digest.timezone {}): its digest is built once, so building it now would leave out everything published until then; ask for it on the day",
                    config.digest.timezone
                );
            }
            let built_before = store.digest(date)?.is_some_and(|d| !d.insights.is_empty());
            let d = digest::build_or_get(store, &config.digest, date, now)?;
            if !built_before && !d.insights.is_empty() {
                // A preview is no draft: the day's digest is built once, so this is what the
                // day's readers of these feeds get, and what is ingested later waits for the next.
                errln!(
                    "kept the digest of {date}, built now: deliveries of the operator's feeds for that day send these entries; episodes ingested later wait for a later digest"
                );
            }
            if out.json {
                print_json(&d)
            } else {
                out!("{}", podsift::render::digest(&d, config.digest.size));
                Ok(())
            }
        }
        Command::Ask { reference, question, out } => {
            let (_, entry) = podsift::ask::resolve(store, &config.digest, &reference, Utc::now()).map_err(|e| {
                // The operator can be told which of the reasons a chat's reader hears it is, and
                // the way to a digest a reader does not have.
                match e {
                    podsift::ask::AskError::NoDigest(date) => {
                        let now = Utc::now();
                        let today = now.with_timezone(&config.digest.tz()).date_naive();
                        // Built here only to say which (an empty digest is not stored).
                        let none_new = || digest::build(store, &config.digest, date, now).is_ok_and(|d| d.insights.is_empty());
                        let why = match date.cmp(&today) {
                            std::cmp::Ordering::Greater => "that day has not come yet".to_string(),
                            _ if none_new() => {
                                "no episode with a transcript was new in its window (`podsift ingest` fetches new episodes)"
                                    .to_string()
                            }
                            std::cmp::Ordering::Equal => "`podsift digest` builds today's digest".to_string(),
                            std::cmp::Ordering::Less => format!(
                                "none was built, or it was too old to keep; `podsift digest --date {date}` builds one"
                            ),
                        };
                        anyhow::anyhow!("there is no digest with insights for {date}: {why}")
                    }
                    e => e.into(),
                }
            })?;
            let answerer = make_answerer(config, store)?;
            match question {
                Some(q) => {
                    let a = podsift::ask::ask(store, &config.ask, &entry, &q, answerer.as_ref(), &[]).await?;
                    if out.json {
                        print_json(&a)
                    } else {
                        outln!("{}", a.answer);
                        Ok(())
                    }
                }
                None if out::capturing() => {
                    bail!(
                        "the service holds the store: give the question after the insight, e.g. podsift ask {reference} \"what exactly was said?\""
                    )
                }
                None => ask::interactive(store, config, &entry, answerer.as_ref(), out).await,
            }
        }
        Command::Subs(cmd) => subs(cmd, store, config),
        Command::Stats { out } => stats::stats(store, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The image has no ./config/podsift.toml: the system file is read, and a checkout's own
    /// file (or --config) comes before it.
    #[test]
    fn the_system_config_is_read_when_the_checkout_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, tick: u64| {
            let p = dir.path().join(name);
            std::fs::write(&p, format!("[service]\ntick_seconds = {tick}\n")).unwrap();
            p.to_string_lossy().to_string()
        };
        let missing = dir.path().join("config/podsift.toml").to_string_lossy().to_string();
        let system = write("system.toml", 11);
        let tick = |c: (Config, String)| c.0.service.tick_seconds;
        let read = load_config_from(None, &[&missing, &system]).unwrap();
        assert_eq!(read.1, format!("configuration from {system}"));
        assert_eq!(tick(read), 11);
        let checkout = write("checkout.toml", 12);
        assert_eq!(tick(load_config_from(None, &[&checkout, &system]).unwrap()), 12);
        let given = write("given.toml", 13);
        assert_eq!(tick(load_config_from(Some(Path::new(&given)), &[&checkout, &system]).unwrap()), 13);
        // Running on the defaults is said, naming where a file was looked for.
        let built_in = load_config_from(None, &[&missing]).unwrap();
        assert!(built_in.1.contains("built-in defaults") && built_in.1.contains(&missing), "{}", built_in.1);
        assert_eq!(tick(built_in), Config::default().service.tick_seconds);
    }

    #[test]
    fn the_image_reads_the_path_its_dockerfile_copies_the_config_to() {
        let dockerfile = include_str!("../../Dockerfile");
        let system = CONFIG_PATHS.last().unwrap();
        assert!(dockerfile.contains(&format!("COPY config/podsift.example.toml {system}")), "{system}");
        assert!(dockerfile.contains("ENV PODSIFT_DATA_DIR=/data") && dockerfile.contains("WORKDIR /data"));
    }

    /// A `.env` copied from the example must fit a checkout and the image alike: it sets no path
    /// or log level that would differ between them, and names only variables podsift reads.
    #[test]
    fn the_env_example_fits_the_checkout_and_the_image() {
        let example = include_str!("../../.env.example");
        let set: Vec<&str> = example.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
        assert!(set.is_empty(), "the example sets values for everyone: {set:?}");
        let names: Vec<&str> = example
            .lines()
            .filter_map(|l| l.trim_start_matches('#').trim().split_once('='))
            .map(|(k, _)| k)
            .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()))
            .collect();
        assert!(names.contains(&"PODSIFT_DATA_DIR") && names.contains(&"SLACK_APP_TOKEN"), "{names:?}");
        let sources = [
            include_str!("../main.rs"),
            include_str!("mod.rs"),
            include_str!("args.rs"),
            include_str!("../../src/config.rs"),
            include_str!("../../src/adapters/webhook.rs"),
            include_str!("../../src/adapters/telegram.rs"),
            include_str!("../../src/adapters/discord/mod.rs"),
            include_str!("../../src/adapters/slack/mod.rs"),
            include_str!("../../src/adapters/slack/socket.rs"),
            include_str!("remote.rs"),
            include_str!("../../src/llm/mod.rs"),
            include_str!("../../src/adapters/discord/inbound.rs"),
            include_str!("../../src/service.rs"),
        ]
        .concat();
        for name in names {
            assert!(sources.contains(&format!("\"{name}\"")), "{name} is in .env.example but podsift never reads it");
        }
    }
}
