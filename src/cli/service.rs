//! `podsift run`: the adapters the config enables (secrets from the environment), the answer
//! writer, the shutdown signal, and the demo mode that shows the whole loop on a terminal.

use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::Utc;

use podsift::ask;
use podsift::config::Config;
use podsift::store::Store;

use super::open_store;

/// The adapters the config enables, with their secrets from the environment.
pub fn adapters(config: &Config) -> Result<Vec<std::sync::Arc<dyn podsift::deliver::Adapter>>> {
    let mut out: Vec<std::sync::Arc<dyn podsift::deliver::Adapter>> = Vec::new();
    if config.adapters.console.enabled {
        out.push(std::sync::Arc::new(podsift::adapters::console::ConsoleAdapter::stdout()));
    }
    if config.adapters.webhook.enabled {
        use podsift::adapters::webhook::{SECRET_ENV, WebhookAdapter};
        let secret = std::env::var(SECRET_ENV).map_err(|_| {
            anyhow::anyhow!("adapters.webhook.enabled is true but {SECRET_ENV} is not set: set it (see .env.example) or disable the webhook adapter")
        })?;
        out.push(std::sync::Arc::new(
            WebhookAdapter::new(&config.adapters.webhook, &secret).map_err(anyhow::Error::msg)?,
        ));
    }
    Ok(out)
}

/// A channel that turns true on Ctrl-C or SIGTERM.
pub fn shutdown_signal() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!("cannot listen for SIGTERM: {e}");
                    let _ = ctrl_c.await;
                    let _ = tx.send(true);
                    return;
                }
            };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        eprintln!("podsift: stopping (finishing in-flight sends)");
        let _ = tx.send(true);
    });
    rx
}

pub async fn run_service(data: &Path, mut config: Config, demo: bool) -> Result<()> {
    let store = open_store(data)?;
    let mut adapters = adapters(&config)?;
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
        if store.subscription(&dest.key())?.is_none() {
            store.put_subscription(&podsift::deliver::Subscription::new(
                dest,
                podsift::deliver::Schedule::daily(&time, "UTC")?,
                "demo",
                now - chrono::Duration::minutes(1),
            ))?;
        }
        config.service.tick_seconds = config.service.tick_seconds.min(5);
        eprintln!(
            "podsift run --demo: the demo podcasts are ingested now and the console gets today's digest within seconds."
        );
        eprintln!("Type /help for commands, e.g. /ask 1 what exactly was said?  Ctrl-C stops.");
    }
    let mut inbound: Vec<Box<dyn podsift::deliver::inbound::Inbound>> = Vec::new();
    if config.adapters.console.enabled {
        inbound.push(Box::new(podsift::adapters::console::ConsoleInbound));
    }
    #[cfg(feature = "telegram")]
    if config.adapters.telegram.enabled {
        let (adapter, telegram_inbound) = telegram(&config).await?;
        adapters.push(adapter);
        inbound.push(telegram_inbound);
    }
    if adapters.is_empty() {
        bail!(
            "no adapter is enabled: enable [adapters.console], [adapters.webhook] or [adapters.telegram] in the config"
        );
    }
    let answerer = make_answerer(&config, &store)?;
    let service = podsift::service::Service { adapters, inbound, answerer, shutdown };
    podsift::service::run(store, config, service).await?;
    eprintln!("podsift: stopped cleanly");
    Ok(())
}

/// The Telegram adapter and its receiving half, with the secrets from the environment.
#[cfg(feature = "telegram")]
pub async fn telegram(
    config: &Config,
) -> Result<(std::sync::Arc<dyn podsift::deliver::Adapter>, Box<dyn podsift::deliver::inbound::Inbound>)> {
    use podsift::adapters::telegram::{TOKEN_ENV, TelegramAdapter, TelegramInbound, WEBHOOK_SECRET_ENV};
    let token = std::env::var(TOKEN_ENV).map_err(|_| {
        anyhow::anyhow!("adapters.telegram.enabled is true but {TOKEN_ENV} is not set: create a bot with @BotFather (bots/telegram/README.md) and set it")
    })?;
    let webhook_secret = match &config.adapters.telegram.webhook_url {
        Some(_) => Some(std::env::var(WEBHOOK_SECRET_ENV).map_err(|_| {
            anyhow::anyhow!(
                "adapters.telegram.webhook_url is set but {WEBHOOK_SECRET_ENV} is not: set it to a long random string"
            )
        })?),
        None => None,
    };
    let adapter = std::sync::Arc::new(
        TelegramAdapter::connect(&config.adapters.telegram, &token).await.map_err(anyhow::Error::msg)?,
    );
    Ok((adapter.clone(), Box::new(TelegramInbound { adapter, webhook_secret })))
}

/// The answer writer the config asks for: an LLM's when one is configured, else the offline one.
pub fn make_answerer(config: &Config, store: &Store) -> Result<std::sync::Arc<dyn ask::Answerer>> {
    let offline = ask::QuoteAnswerer { max_citations: config.ask.max_citations };
    if config.llm.base_url.is_none() {
        return Ok(std::sync::Arc::new(offline));
    }
    let llm = podsift::llm::LlmClient::new(&config.llm, store.clone()).map_err(anyhow::Error::msg)?;
    Ok(std::sync::Arc::new(podsift::llm::answer::LlmAnswerer { llm: std::sync::Arc::new(llm), offline }))
}
