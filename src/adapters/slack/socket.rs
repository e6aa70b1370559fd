//! Socket Mode, for workspaces where podsift has no public URL: slack-morphism's listener opens
//! websockets with the app-level token (apps.connections.open, reconnecting and pinging on its
//! own), and every envelope is handed to the same handlers as the HTTP routes, then acknowledged.
//! It runs until podsift's shutdown.

use std::collections::HashMap;
use std::sync::Arc;

use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use tokio::sync::watch;

use super::Connector;
use super::inbound::{Ctx, take_command, take_event, take_interaction};

pub const APP_TOKEN_ENV: &str = "SLACK_APP_TOKEN";

async fn ctx(state: &SlackClientEventsUserState) -> UserCallbackResult<Ctx> {
    let storage = state.read().await;
    storage.get_user_state::<Ctx>().cloned().ok_or_else(|| "the Socket Mode listener has no context".into())
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<SlackClient<Connector>>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    take_event(&ctx(&state).await?, &serde_json::to_value(&event)?);
    Ok(())
}

async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<SlackClient<Connector>>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    // The same fields the HTTP route reads from its form.
    let fields: HashMap<String, String> = match serde_json::to_value(&event)? {
        serde_json::Value::Object(o) => o.into_iter().filter_map(|(k, v)| Some((k, v.as_str()?.to_string()))).collect(),
        _ => HashMap::new(),
    };
    let content = match take_command(&ctx(&state).await?, &fields) {
        Some(usage) => SlackMessageContent::new().with_text(usage),
        None => SlackMessageContent::new(),
    };
    Ok(SlackCommandEventResponse::new(content).with_response_type(SlackMessageResponseType::Ephemeral))
}

async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<SlackClient<Connector>>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    take_interaction(&ctx(&state).await?, &serde_json::to_value(&event)?);
    Ok(())
}

/// Logs what went wrong and acknowledges the envelope anyway: it would not read better when
/// Slack sent it again. The envelope itself stays out of the log.
fn on_error(
    err: Box<dyn std::error::Error + Send + Sync>,
    _client: Arc<SlackClient<Connector>>,
    _state: SlackClientEventsUserState,
) -> HttpStatusCode {
    match err.downcast_ref::<SlackClientError>() {
        Some(SlackClientError::ProtocolError(_)) => {
            tracing::warn!("a Slack Socket Mode message was not understood; acknowledged and dropped")
        }
        _ => tracing::warn!("Slack Socket Mode: {err}"),
    }
    HttpStatusCode::OK
}

/// Connects with the app-level token and serves envelopes until `shutdown` turns true.
pub(super) fn start(ctx: Ctx, app_token: String, mut shutdown: watch::Receiver<bool>) {
    let client = Arc::new(ctx.adapter.client().clone());
    let environment =
        Arc::new(SlackClientEventsListenerEnvironment::new(client).with_error_handler(on_error).with_user_state(ctx));
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_command_events(on_command)
        .with_interaction_events(on_interaction)
        .with_push_events(on_push);
    let listener = SlackClientSocketModeListener::new(&SlackClientSocketModeConfig::new(), environment, callbacks);
    tokio::spawn(async move {
        let token = SlackApiToken::new(SlackApiTokenValue(app_token));
        if let Err(e) = listener.listen_for(&token).await {
            tracing::error!("Slack Socket Mode cannot start: {e}");
            return;
        }
        listener.start().await;
        tracing::info!("Slack Socket Mode started");
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
        listener.shutdown().await;
        tracing::info!("Slack Socket Mode stopped");
    });
}
