//! The command line while `podsift run` holds the store: the service names its admin address in
//! a small file beside the store, and the command goes there and its output comes back, so every
//! command works (and takes effect at once) without stopping deliveries.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

/// The file in the store's directory that names a running service's admin address.
pub const ADDRESS_FILE: &str = "podsift-admin.json";
/// The admin token: required by the service beyond loopback, sent by the command line when set.
pub const TOKEN_ENV: &str = "PODSIFT_ADMIN_TOKEN";

#[derive(Serialize, Deserialize)]
pub struct Address {
    pub url: String,
    pub pid: u32,
}

/// What the command line sends: its arguments, as typed, and the store it means.
#[derive(Serialize, Deserialize)]
pub struct RemoteCommand {
    pub args: Vec<String>,
    /// The store's directory, absolute: a service holding another store refuses the command
    /// (an address file left by one that stopped uncleanly can name any podsift).
    #[serde(default)]
    pub store: Option<PathBuf>,
}

/// The same directory, however named (relative, through a link).
pub fn same_dir(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The reply a command line asks for to show a command's warnings and progress while it runs:
/// one JSON object a line, `{"progress": TEXT}` as they come, then the [`RemoteOutput`].
pub const LIVE_REPLY: &str = "application/x-ndjson";

/// One line of a [`LIVE_REPLY`].
#[derive(Deserialize)]
#[serde(untagged)]
enum Frame {
    Progress { progress: String },
    Done(RemoteOutput),
}

/// What comes back: the output, and the error when the command failed.
#[derive(Serialize, Deserialize)]
pub struct RemoteOutput {
    pub output: String,
    pub error: Option<String>,
    /// Warnings and progress, for the command line's standard error.
    #[serde(default)]
    pub warnings: String,
}

pub fn address_file(data: &Path) -> PathBuf {
    data.join(ADDRESS_FILE)
}

/// Names the service's admin address for command lines; removed again by [`forget`].
pub fn publish(data: &Path, url: &str) -> Result<()> {
    let address = Address { url: url.to_string(), pid: std::process::id() };
    std::fs::write(address_file(data), serde_json::to_vec(&address)?)
        .with_context(|| format!("cannot write {}", address_file(data).display()))
}

pub fn forget(data: &Path) {
    let _ = std::fs::remove_file(address_file(data));
}

/// The service runs in another directory: local files named to `feeds add`, `feeds import`,
/// `feeds rm` and `--feed` are named to it by their absolute paths.
fn absolute_paths(mut args: Vec<String>) -> Vec<String> {
    let absolute = |arg: &mut String| {
        if arg.starts_with('-') || arg.contains("://") {
            return;
        }
        if let Ok(path) = std::path::absolute(&*arg) {
            if path.exists() {
                *arg = path.to_string_lossy().into_owned();
            }
        }
    };
    if let Some(at) = args.windows(2).position(|w| w[0] == "feeds" && matches!(w[1].as_str(), "add" | "import" | "rm"))
    {
        args.iter_mut().skip(at + 2).for_each(absolute);
    }
    for i in 1..args.len() {
        if args[i - 1] == "--feed" {
            absolute(&mut args[i]);
        } else if let Some(value) = args[i].strip_prefix("--feed=") {
            let mut value = value.to_string();
            absolute(&mut value);
            args[i] = format!("--feed={value}");
        }
    }
    args
}

/// Sends this process's command line to the service that holds the store in `data`, prints
/// its output, and fails when the command failed there.
pub async fn forward(data: &Path) -> Result<()> {
    let file = address_file(data);
    let in_use = format!("the store in {} is in use by another podsift process", data.display());
    let Ok(text) = std::fs::read(&file) else {
        bail!(
            "{in_use}: a command still at work (wait for it to finish, then try again), or a `podsift run` that takes \
             no commands (there is no admin address in {}: its service.admin_bind is \"\", or the address was taken \
             when it started, which its log says; restart it with a free service.admin_bind)",
            file.display()
        );
    };
    let address: Address =
        serde_json::from_slice(&text).with_context(|| format!("{} is unreadable", file.display()))?;
    let args = absolute_paths(std::env::args().skip(1).collect());
    // No overall timeout: an ingest sent to the service takes as long as the feeds do.
    let client = podsift::http::client(std::time::Duration::from_secs(5), None).map_err(anyhow::Error::msg)?;
    let store = Some(std::path::absolute(data).unwrap_or_else(|_| data.to_path_buf()));
    let mut request = client
        .post(format!("{}/api/cli", address.url))
        .header(reqwest::header::ACCEPT, LIVE_REPLY)
        .json(&RemoteCommand { args, store });
    if let Ok(token) = std::env::var(TOKEN_ENV) {
        request = request.bearer_auth(token.trim());
    }
    let response = request.send().await.map_err(|e| {
        anyhow!(
            "{in_use} (pid {}), but its admin address {} does not answer ({}); if it is starting or stopping, try again in a moment",
            address.pid,
            address.url,
            podsift::http::root_cause(&e)
        )
    })?;
    match response.status().as_u16() {
        200 => {}
        401 => {
            bail!("the running podsift refused the command: {TOKEN_ENV} is missing or wrong; set it to the service's")
        }
        409 => bail!(
            "{in_use}, which takes no commands: {} names the admin address of a podsift on another store ({}), left by \
             a service that stopped uncleanly; stop the process that holds this store, or restart it with \
             service.admin_bind set to a free address",
            file.display(),
            response.text().await.unwrap_or_default()
        ),
        code => {
            bail!("the running podsift answered {code} to the command: {}", response.text().await.unwrap_or_default())
        }
    }
    let live = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with(LIVE_REPLY));
    let reply: RemoteOutput = if live {
        live_reply(response).await?
    } else {
        response.json().await.context("the running podsift sent an unreadable reply")?
    };
    out!("{}", reply.output);
    crate::cli::out::write_err(&reply.warnings);
    match reply.error {
        Some(e) => Err(anyhow!(e)),
        None => Ok(()),
    }
}

/// Reads a [`LIVE_REPLY`]: shows each piece of progress as it comes, returns the outcome.
async fn live_reply(mut response: reqwest::Response) -> Result<RemoteOutput> {
    let unreadable = "the running podsift sent an unreadable reply";
    let mut pending: Vec<u8> = Vec::new();
    // How far `pending` is known to hold no line's end: the last line (all of a command's
    // output) can be megabytes, not to be searched again from its start at every chunk.
    let mut scanned = 0;
    loop {
        while let Some(end) = pending[scanned..].iter().position(|&b| b == b'\n').map(|i| scanned + i) {
            let line: Vec<u8> = pending.drain(..=end).collect();
            scanned = 0;
            match serde_json::from_slice::<Frame>(&line).context(unreadable)? {
                Frame::Progress { progress } => crate::cli::out::write_err(&progress),
                Frame::Done(reply) => return Ok(reply),
            }
        }
        scanned = pending.len();
        match response.chunk().await {
            Ok(Some(bytes)) => pending.extend_from_slice(&bytes),
            Ok(None) => bail!("the running podsift stopped before the command finished; its log says why"),
            Err(e) => bail!("the running podsift's reply broke off ({})", podsift::http::root_cause(&e)),
        }
    }
}
