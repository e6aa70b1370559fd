//! Adapters: each translates between one platform and the core's messages and commands, and
//! nothing more. Same shape for each: config, inbound (parse + verify), outbound (render + send).

pub mod console;
#[cfg(feature = "discord")]
pub mod discord;
#[cfg(feature = "slack")]
pub mod slack;
#[cfg(feature = "telegram")]
pub mod telegram;
pub mod webhook;

use std::sync::Arc;

use crate::config::Config;
use crate::deliver::Adapter;
use crate::deliver::inbound::Inbound;

/// The adapters the config enables, sending and receiving halves, with their secrets from the
/// environment. Errors name the setting or variable to fix.
pub async fn from_config(config: &Config) -> Result<(Vec<Arc<dyn Adapter>>, Vec<Box<dyn Inbound>>), String> {
    let mut adapters: Vec<Arc<dyn Adapter>> = Vec::new();
    let mut inbound: Vec<Box<dyn Inbound>> = Vec::new();
    if config.adapters.console.enabled {
        adapters.push(Arc::new(console::ConsoleAdapter::stdout()));
        inbound.push(Box::new(console::ConsoleInbound));
    }
    if config.adapters.webhook.enabled {
        let secret = std::env::var(webhook::SECRET_ENV).map_err(|_| {
            format!(
                "adapters.webhook.enabled is true but {} is not set: set it (see .env.example) or disable the webhook adapter",
                webhook::SECRET_ENV
            )
        })?;
        adapters.push(Arc::new(webhook::WebhookAdapter::new(&config.adapters.webhook, &secret)?));
    }
    #[cfg(feature = "telegram")]
    if config.adapters.telegram.enabled {
        let (adapter, receiving) = telegram::from_env(&config.adapters.telegram).await?;
        adapters.push(adapter);
        inbound.push(receiving);
    }
    #[cfg(feature = "discord")]
    if config.adapters.discord.enabled {
        let (adapter, receiving) = discord::from_env(&config.adapters.discord).await?;
        adapters.push(adapter);
        inbound.push(receiving);
    }
    #[cfg(feature = "slack")]
    if config.adapters.slack.enabled {
        let (adapter, receiving) = slack::from_env(&config.adapters.slack).await?;
        adapters.push(adapter);
        inbound.push(receiving);
    }
    if adapters.is_empty() {
        return Err(
            "no adapter is enabled: enable [adapters.console], [adapters.webhook], [adapters.telegram], [adapters.discord] or [adapters.slack] in the config"
                .into(),
        );
    }
    Ok((adapters, inbound))
}
