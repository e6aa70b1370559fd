//! The admin listener of `podsift run`: the API the command line uses while the service holds
//! the store (`POST /api/cli` runs any command here and returns its output), and the operator
//! page (`page.rs`). Loopback by default; a token (PODSIFT_ADMIN_TOKEN) is required whenever it
//! is set, and must be set to listen beyond loopback. Forms carry a per-process token and are
//! refused from other sites.

mod page;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Result, bail};
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use podsift::config::Config;
use podsift::http::{constant_time_eq, hex, hmac_sha256};
use podsift::store::Store;

use super::args::{Cli, Command};
use super::out::capture;
use super::remote::{RemoteCommand, RemoteOutput, TOKEN_ENV};

const COOKIE: &str = "podsift_admin";
/// The shortest admin token taken.
const MIN_TOKEN_CHARS: usize = 16;

#[derive(Clone)]
pub struct AdminState {
    store: Store,
    config: Arc<Config>,
    /// The service's counters: an ingest run from here counts in /metrics as its own do.
    metrics: Arc<podsift::metrics::Metrics>,
    /// The admin token, when one is set: then every request must carry it.
    token: Option<Arc<String>>,
    /// The token every form of this process carries (a cross-site form cannot know it).
    form_token: Arc<String>,
    /// The Host headers this listener answers to without a token (its own address).
    hosts: Arc<Vec<String>>,
}

impl AdminState {
    /// The state for `bind`, with the token from the environment. Beyond loopback a token is
    /// required: anyone who reaches the port could otherwise run every command.
    pub fn new(
        store: Store,
        config: Config,
        metrics: Arc<podsift::metrics::Metrics>,
        bind: &SocketAddr,
    ) -> Result<AdminState> {
        let token = std::env::var(TOKEN_ENV).ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        if token.is_none() && !bind.ip().is_loopback() {
            bail!(
                "service.admin_bind {bind} listens beyond loopback: set {TOKEN_ENV} to a long random string, or bind it to 127.0.0.1"
            );
        }
        // Every command is one guess away: a short token could be guessed by trying.
        if let Some(t) = token.as_deref().filter(|t| t.chars().count() < MIN_TOKEN_CHARS) {
            bail!(
                "{TOKEN_ENV} has {} characters: use at least {MIN_TOKEN_CHARS} random ones (for example `openssl rand -hex 24`)",
                t.chars().count()
            );
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness for the admin page's form token: {e}"))?;
        Ok(AdminState {
            store,
            config: Arc::new(config),
            metrics,
            token: token.map(Arc::new),
            form_token: Arc::new(hex(&hmac_sha256(&key, b"podsift admin form"))),
            hosts: Arc::default(),
        })
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else { return true };
        let get = |name| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
        if let Some(bearer) = get(header::AUTHORIZATION).strip_prefix("Bearer ") {
            return constant_time_eq(bearer.trim().as_bytes(), token.as_bytes());
        }
        let now = chrono::Utc::now().timestamp();
        get(header::COOKIE)
            .split(';')
            .filter_map(|c| c.trim().strip_prefix(&format!("{COOKIE}=")))
            .any(|v| session_valid(token, v, now))
    }

    /// A form post is accepted only with this process's form token and not from another site.
    fn form_ok(&self, headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
        let get = |name| headers.get(name).and_then(|v| v.to_str().ok());
        if get("sec-fetch-site").is_some_and(|s| s == "cross-site") {
            return false;
        }
        if let (Some(origin), Some(host)) = (get("origin"), get("host")) {
            if origin.split("://").nth(1) != Some(host) {
                return false;
            }
        }
        let given = form.get("form_token").map(String::as_str).unwrap_or("");
        constant_time_eq(given.as_bytes(), self.form_token.as_bytes())
    }

    /// The mark a message shown on the page carries: only what this process redirected with
    /// is shown, never words a link from elsewhere put in the address ("?msg=run this ...").
    pub fn message_sig(&self, message: &str) -> String {
        hex(&hmac_sha256(self.form_token.as_bytes(), message.as_bytes()))[..16].to_string()
    }

    /// Whether `sig` is this process's mark of `message`.
    pub fn message_ok(&self, message: &str, sig: &str) -> bool {
        constant_time_eq(sig.as_bytes(), self.message_sig(message).as_bytes())
    }
}

/// Without a token, only requests that name this listener itself as their host are taken: a
/// web page on another name whose DNS is turned to 127.0.0.1 would otherwise reach the API as
/// its own origin. No page of podsift's may be framed by another site.
async fn guard(State(s): State<AdminState>, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if s.token.is_none() {
        let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !s.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            let only = s.hosts.first().map(String::as_str).unwrap_or("its own address");
            let text = format!("podsift admin answers only at http://{only}/ (or set PODSIFT_ADMIN_TOKEN)");
            return (StatusCode::MISDIRECTED_REQUEST, text).into_response();
        }
    }
    let mut response = next.run(request).await;
    response.headers_mut().insert("x-frame-options", header::HeaderValue::from_static("DENY"));
    response
}

pub fn router(state: AdminState) -> axum::Router {
    axum::Router::new()
        .route("/", get(page::show))
        .route("/login", get(login_form).post(login))
        .route("/feeds", post(add_feed))
        .route("/ingest", post(ingest_now))
        .route("/subs/resume", post(resume))
        .route("/api/cli", post(api_cli))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Logs a refused token at most once a minute, with how many were refused since: whoever can
/// reach the port must not be able to flood the log.
fn log_refusal(what: &str) {
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(i64::MIN);
    static SINCE: AtomicU64 = AtomicU64::new(0);
    let n = SINCE.fetch_add(1, Ordering::Relaxed) + 1;
    let now = chrono::Utc::now().timestamp();
    let last = LAST.load(Ordering::Relaxed);
    if now.saturating_sub(last) >= 60 && LAST.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    {
        SINCE.store(0, Ordering::Relaxed);
        tracing::warn!(refused = n, "admin {what} refused: the admin token is missing or wrong");
    }
}

fn refused() -> Response {
    log_refusal("request");
    (StatusCode::UNAUTHORIZED, "podsift admin: the admin token is missing or wrong").into_response()
}

/// Runs a command line as if typed here, with its output kept (its warnings and progress sent to
/// `live` as they come, when given). On its own blocking thread: the commands print and hold
/// progress state that need not be shared across tasks.
async fn run_args(
    state: &AdminState,
    args: Vec<String>,
    live: Option<tokio::sync::mpsc::UnboundedSender<String>>,
) -> RemoteOutput {
    let argv = std::iter::once("podsift".to_string()).chain(args);
    let parsed = <Cli as clap::CommandFactory>::command()
        .try_get_matches_from(argv)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m).map(|cli| (m, cli)));
    let (matches, cli) = match parsed {
        Ok(parsed) => parsed,
        // --help and --version are output, not errors.
        Err(e) if !e.use_stderr() => {
            return RemoteOutput { output: e.to_string(), error: None, warnings: String::new() };
        }
        Err(e) => return RemoteOutput { output: String::new(), error: Some(e.to_string()), warnings: String::new() },
    };
    tracing::info!(command = %command_words(&matches), "command from the command line");
    if matches!(cli.command, Command::Run { .. } | Command::Demo) {
        let error =
            "podsift is already running on this store; `podsift run` and `podsift demo` need a store of their own";
        return RemoteOutput { output: String::new(), error: Some(error.into()), warnings: String::new() };
    }
    let (store, config, metrics) = (state.store.clone(), state.config.clone(), state.metrics.clone());
    let handle = tokio::runtime::Handle::current();
    let done = tokio::task::spawn_blocking(move || {
        handle.block_on(capture(live, async { super::execute(cli.command, &store, &config, Some(&metrics)).await }))
    })
    .await;
    match done {
        Ok((kept, result)) => {
            RemoteOutput { output: kept.out, error: result.err().map(|e| format!("{e:#}")), warnings: kept.err }
        }
        Err(e) => RemoteOutput {
            output: String::new(),
            error: Some(format!("the command stopped: {e}")),
            warnings: String::new(),
        },
    }
}

/// The command's words ("subs add"), for the log: its arguments may hold a webhook's secret URL.
fn command_words(matches: &clap::ArgMatches) -> String {
    let words: Vec<&str> =
        std::iter::successors(matches.subcommand(), |(_, m)| m.subcommand()).map(|(n, _)| n).collect();
    words.join(" ")
}

async fn api_cli(State(s): State<AdminState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if !s.authorized(&headers) {
        return refused();
    }
    // JSON only: a browser cannot send it from another site without asking first.
    let json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !json.starts_with("application/json") {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "send the command as application/json").into_response();
    }
    let Ok(command) = serde_json::from_slice::<RemoteCommand>(&body) else {
        return (StatusCode::BAD_REQUEST, "expected {\"args\": [\"feeds\", \"ls\"]}").into_response();
    };
    if let Some(wanted) = &command.store {
        if !super::remote::same_dir(wanted, s.store.dir()) {
            let ours = format!("it holds the store in {}", s.store.dir().display());
            return (StatusCode::CONFLICT, ours).into_response();
        }
    }
    let streamed = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(super::remote::LIVE_REPLY));
    if !streamed {
        return axum::Json(run_args(&s, command.args, None).await).into_response();
    }
    // One JSON object a line: the command's warnings and progress as they come, then its
    // outcome, so that a long ingest shows its progress while it runs.
    let (live, progress) = tokio::sync::mpsc::unbounded_channel::<String>();
    let outcome = tokio::spawn(async move {
        let done = run_args(&s, command.args, Some(live)).await;
        if let Some(e) = &done.error {
            // Also said here: the command line that sent it may have hung up meanwhile.
            tracing::warn!("command from the command line failed: {e}");
        }
        done
    });
    fn frame(v: serde_json::Value) -> Result<String, std::convert::Infallible> {
        Ok(format!("{v}\n"))
    }
    let progress = futures_util::stream::unfold(progress, |mut rx| async move {
        rx.recv().await.map(|text| (frame(serde_json::json!({ "progress": text })), rx))
    });
    let last = futures_util::stream::once(async move {
        let done = outcome.await.unwrap_or_else(|e| RemoteOutput {
            output: String::new(),
            error: Some(format!("the command stopped: {e}")),
            warnings: String::new(),
        });
        frame(serde_json::to_value(done).unwrap_or_default())
    });
    let body = axum::body::Body::from_stream(futures_util::StreamExt::chain(progress, last));
    ([(header::CONTENT_TYPE, super::remote::LIVE_REPLY)], body).into_response()
}

/// After a form: back to the page, with what happened.
fn back(s: &AdminState, message: &str) -> Response {
    // The message lands in the address bar and the browser's history: no webhook's secret.
    let message = podsift::model::redact_webhooks(message);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("msg", &message)
        .append_pair("sig", &s.message_sig(&message))
        .finish();
    Redirect::to(&format!("/?{query}")).into_response()
}

/// The refusal for a form post that is not the operator's own, or None when it is.
fn form_refused(s: &AdminState, headers: &HeaderMap, form: &HashMap<String, String>) -> Option<Response> {
    if !s.authorized(headers) {
        return Some(refused());
    }
    if !s.form_ok(headers, form) {
        let text = "podsift admin: the form is stale or from another site; reload the page";
        return Some((StatusCode::FORBIDDEN, text).into_response());
    }
    None
}

async fn form_command(
    s: &AdminState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    args: Vec<String>,
) -> Response {
    if let Some(refusal) = form_refused(s, headers, form) {
        return refusal;
    }
    let done = run_args(s, args, None).await;
    let message = match done.error {
        Some(e) => format!("{}{}error: {e}", done.output, done.warnings),
        None => format!("{}{}", done.output, done.warnings),
    };
    back(s, message.trim())
}

async fn add_feed(
    State(s): State<AdminState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let url = form.get("url").map(|u| u.trim().to_string()).unwrap_or_default();
    if url.is_empty() {
        return back(&s, "error: give the feed's address");
    }
    form_command(&s, &headers, &form, vec!["feeds".into(), "add".into(), url]).await
}

async fn resume(
    State(s): State<AdminState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let destination = form.get("destination").cloned().unwrap_or_default();
    form_command(&s, &headers, &form, vec!["subs".into(), "resume".into(), destination]).await
}

/// An ingest can take minutes: started here, its outcome shows in the feeds' health.
async fn ingest_now(
    State(s): State<AdminState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refusal) = form_refused(&s, &headers, &form) {
        return refusal;
    }
    let state = s.clone();
    tokio::spawn(async move {
        let done = run_args(&state, vec!["ingest".into()], None).await;
        if !done.warnings.trim().is_empty() {
            tracing::info!("ingest from the operator page: {}", done.warnings.trim());
        }
        match done.error {
            None => tracing::info!("ingest from the operator page: {}", done.output.trim()),
            Some(e) => tracing::warn!("ingest from the operator page failed: {e}"),
        }
    });
    back(&s, "Ingest started: the feeds below show its progress when you reload.")
}

async fn login_form(State(s): State<AdminState>) -> Response {
    if s.token.is_none() {
        return Redirect::to("/").into_response();
    }
    Html(page::login(None).into_string()).into_response()
}

async fn login(State(s): State<AdminState>, Form(form): Form<HashMap<String, String>>) -> Response {
    let Some(token) = &s.token else { return Redirect::to("/").into_response() };
    let given = form.get("token").map(|t| t.trim()).unwrap_or("");
    if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
        log_refusal("sign-in");
        return (StatusCode::UNAUTHORIZED, Html(page::login(Some("That is not the admin token.")).into_string()))
            .into_response();
    }
    let session = session(token, chrono::Utc::now().timestamp());
    let cookie = format!("{COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/; Max-Age={SESSION_SECS}");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

/// How long a browser stays signed in after giving the token: a session cookie copied from
/// a browser is of no use after that.
const SESSION_SECS: i64 = 12 * 3600;

/// The cookie value that proves a browser gave the token at `issued` (seconds since the
/// epoch): the time and a mark only the token can make, never the token itself.
fn session(token: &str, issued: i64) -> String {
    let mark = hmac_sha256(token.as_bytes(), format!("podsift admin session {issued}").as_bytes());
    format!("{issued}.{}", hex(&mark))
}

/// Whether `value` is a session this token made within the last [`SESSION_SECS`] of `now`.
fn session_valid(token: &str, value: &str, now: i64) -> bool {
    let Some(issued) = value.split_once('.').and_then(|(at, _)| at.parse::<i64>().ok()) else { return false };
    // A minute's grace for a clock set back; a time further ahead was never given out.
    let fresh = (-60..=SESSION_SECS).contains(&now.saturating_sub(issued));
    fresh && constant_time_eq(value.as_bytes(), session(token, issued).as_bytes())
}

/// Serves the admin router on `listener` until `shutdown` turns true.
pub fn serve(
    listener: tokio::net::TcpListener,
    mut state: AdminState,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if let Ok(addr) = listener.local_addr() {
        let port = addr.port();
        state.hosts = Arc::new(vec![
            addr.to_string(),
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ]);
    }
    tokio::spawn(async move {
        let graceful = async move {
            let _ = shutdown.wait_for(|s| *s).await;
        };
        // A command (an ingest) may take minutes: no limit on a whole request here.
        let limits = podsift::server::ClientLimits { request: None, ..Default::default() };
        podsift::server::serve_within(listener, router(state), graceful, limits).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_lasts_its_hours_and_only_for_its_token() {
        let token = "a-long-enough-admin-token";
        let issued = 1_764_316_800;
        let value = session(token, issued);
        assert!(!value.contains(token));
        assert!(session_valid(token, &value, issued));
        assert!(session_valid(token, &value, issued + SESSION_SECS));
        assert!(!session_valid(token, &value, issued + SESSION_SECS + 1), "a session outlived its hours");
        assert!(!session_valid(token, &value, issued - 3600), "a session from the future was taken");
        assert!(!session_valid("another-long-admin-token", &value, issued), "a session outlived its token");
        // Its time moved forward by hand: the mark no longer fits.
        let (_, mark) = value.split_once('.').unwrap();
        assert!(!session_valid(token, &format!("{}.{mark}", issued + 3600), issued + SESSION_SECS + 10));
        for junk in ["", ".", "x.y", "1764316800", "-9223372036854775808.00"] {
            assert!(!session_valid(token, junk, issued), "{junk:?}");
        }
    }

    #[test]
    fn the_log_names_the_command_and_none_of_its_arguments() {
        let argv = ["podsift", "--data", "/srv/podsift", "subs", "add", "webhook:https://hooks.example.com/T/secret"];
        let matches = <Cli as clap::CommandFactory>::command().try_get_matches_from(argv).unwrap();
        assert_eq!(command_words(&matches), "subs add");
    }
}
