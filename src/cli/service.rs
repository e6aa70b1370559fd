//! `podsift run`: the adapters the config enables (secrets from the environment), the answer
//! writer, the shutdown signal, and the demo mode that shows the whole loop on a terminal.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::Utc;

use podsift::config::Config;
use podsift::store::Store;

/// Waits for Ctrl-C or SIGTERM (a container runtime's or a service manager's stop). The
/// handlers are in place when this returns, not when the future is first polled: a signal that
/// comes before then must not kill the process with its work half done.
pub fn stop_requested() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let streams = signal(SignalKind::interrupt()).and_then(|i| Ok((i, signal(SignalKind::terminate())?)));
        async move {
            match streams {
                Ok((mut int, mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(e) => {
                    tracing::error!("cannot listen for SIGTERM: {e}");
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A channel that turns true on Ctrl-C or SIGTERM.
pub fn shutdown_signal() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stop = stop_requested();
    tokio::spawn(async move {
        stop.await;
        podsift::service::say("stopping (finishing in-flight sends)");
        let _ = tx.send(true);
    });
    rx
}

/// How long the service waits at start for a store another podsift command holds.
const STORE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Opens the store, waiting up to `wait` while another podsift holds it: a one-shot command
/// (a cron's `podsift ingest`) that overlaps a restart must not leave the service down. Another
/// `run` holds it for good: after the wait, its error.
async fn open_when_free(data: &Path, wait: std::time::Duration) -> Result<podsift::store::Store> {
    let started = std::time::Instant::now();
    let mut said = false;
    loop {
        match podsift::store::Store::open(data) {
            Err(podsift::store::StoreError::InUse { .. }) if started.elapsed() < wait => {
                if !said {
                    tracing::warn!(
                        "the store in {} is held by another podsift process; waiting up to {} s for it",
                        data.display(),
                        wait.as_secs()
                    );
                    said = true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            other => return Ok(other?),
        }
    }
}

/// `config_source` says where `config` came from (a file, or the built-in defaults).
pub async fn run_service(data: &Path, mut config: Config, config_source: &str, demo: bool) -> Result<()> {
    let store = open_when_free(data, STORE_WAIT).await?;
    let (adapters, inbound) = podsift::adapters::from_config(&config).await.map_err(anyhow::Error::msg)?;
    // Which file the service runs on is the first thing to check when it does not do what the
    // file says (one beside the working directory is not read).
    tracing::info!("{config_source}");
    let shutdown = shutdown_signal();
    // Kept alive for the whole run: the demo feeds are served from it.
    let mut _demo_server = None;
    if demo {
        let now = Utc::now();
        let server = podsift::demo::DemoServer::start(now).await.context("cannot start the demo server")?;
        server.subscribe(&store, now)?;
        _demo_server = Some(server);
        // Subscribe the console for this very minute, as if subscribed just before it, so the
        // first tick delivers the digest (a time that passed before subscribing is not owed).
        let time = now.format("%H:%M").to_string();
        let dest = podsift::adapters::console::destination();
        let kept = store.subscription(&dest.key())?;
        if kept.is_none() {
            store.put_subscription(&podsift::deliver::Subscription::new(
                dest,
                podsift::deliver::Schedule::daily(&time, "UTC")?,
                "demo",
                now - chrono::Duration::minutes(1),
            ))?;
        }
        config.service.tick_seconds = config.service.tick_seconds.min(5);
        match kept {
            None => errln!(
                "podsift run --demo: the demo podcasts are ingested now and the console gets today's digest within seconds."
            ),
            // A store used before: its console keeps its own schedule (and a day it was sent).
            Some(sub) => errln!(
                "podsift run --demo: the demo podcasts are ingested now; the console keeps its subscription in this store ({}): type /digest to see today's digest now.",
                sub.schedule.when()
            ),
        }
        errln!("Type /help for commands, e.g. /ask 1 what exactly was said?  Ctrl-C stops.");
    }
    let answerer = make_answerer(&config, &store)?;
    let metrics = std::sync::Arc::new(podsift::metrics::Metrics::default());
    let admin = start_admin(data, &store, &config, metrics.clone(), shutdown.clone()).await?;
    let service = podsift::service::Service { adapters, inbound, answerer, shutdown, metrics };
    let ran = podsift::service::run(store, config, service).await;
    if admin {
        super::remote::forget(data);
    }
    match ran? {
        podsift::service::Stopped::Cleanly => podsift::service::say("stopped cleanly"),
        podsift::service::Stopped::CutOff => podsift::service::say(
            "stopped: the grace period (service.shutdown_grace_seconds) ended with work still running, which was cut off; \
             unfinished sends resume at the next start",
        ),
    }
    Ok(())
}

/// The admin listener (operator page, and the command line's way in while the store is held),
/// named in a file beside the store. A taken port is a warning, not a reason to stop delivering.
async fn start_admin(
    data: &Path,
    store: &Store,
    config: &Config,
    metrics: std::sync::Arc<podsift::metrics::Metrics>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<bool> {
    // A file left by a service that stopped uncleanly names another process's address (perhaps
    // one on another store): whatever happens below, it no longer speaks for this store.
    super::remote::forget(data);
    let bind = &config.service.admin_bind;
    if bind.is_empty() {
        return Ok(false);
    }
    let addr: std::net::SocketAddr = bind.parse().with_context(|| format!("service.admin_bind {bind:?}"))?;
    let state = super::admin::AdminState::new(store.clone(), config.clone(), metrics, &addr)?;
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(
                "no admin listener: cannot listen on {bind} ({e}); digests go out, but commands and the operator page cannot reach this service until it restarts with a free service.admin_bind"
            );
            return Ok(false);
        }
    };
    let url = format!("http://{}", listener.local_addr()?);
    super::remote::publish(data, &url)?;
    podsift::service::say(&format!("operator page on {url}/"));
    super::admin::serve(listener, state, shutdown);
    Ok(true)
}

/// The answer writer the config asks for: an LLM's when one is configured, else the offline one.
pub fn make_answerer(config: &Config, store: &Store) -> Result<std::sync::Arc<dyn podsift::ask::Answerer>> {
    let llm = podsift::engines::llm(config, store).map_err(anyhow::Error::msg)?;
    Ok(podsift::engines::answerer(config, llm))
}
