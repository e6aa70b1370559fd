//! The console adapter: digests and answers printed on the terminal; commands read from
//! standard input, one per line (`/start 08:00 Europe/Berlin`, `/ask 2 what was said?`).
//! It proves the adapter seam end to end without any platform account.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::future::BoxFuture;

use crate::deliver::commands::{Core, parse_text_command};
use crate::deliver::inbound::Inbound;
use crate::deliver::{Adapter, Destination, Limits, Message, Part, SendError};

/// The one console destination.
pub fn destination() -> Destination {
    Destination::new("console", "local")
}

pub struct ConsoleAdapter {
    out: Mutex<Box<dyn Write + Send>>,
    next_id: AtomicU64,
}

impl ConsoleAdapter {
    /// Writes to standard output.
    pub fn stdout() -> ConsoleAdapter {
        ConsoleAdapter::new(Box::new(std::io::stdout()))
    }

    pub fn new(out: Box<dyn Write + Send>) -> ConsoleAdapter {
        ConsoleAdapter { out: Mutex::new(out), next_id: AtomicU64::new(1) }
    }
}

impl Adapter for ConsoleAdapter {
    fn platform(&self) -> &'static str {
        "console"
    }

    fn limits(&self) -> Limits {
        Limits { max_message_len: 64 * 1024, global_per_second: 100.0, per_destination_per_second: 100.0 }
    }

    fn render(&self, message: &Message) -> Vec<Part> {
        match message {
            Message::Digest(d) => {
                let mut parts = vec![Part { body: format!("== podsift digest for {} ==", d.date), rank: None }];
                parts.extend(
                    d.insights
                        .iter()
                        .map(|e| Part { body: crate::render::entry(e).trim_end().to_string(), rank: Some(e.rank) }),
                );
                parts
            }
            Message::Answer { entry, answer, .. } => {
                vec![Part {
                    body: format!("About #{} ({}):\n{}", entry.rank, entry.podcast, answer.answer),
                    rank: Some(entry.rank),
                }]
            }
            Message::AskPrompt { rank, text, .. } => vec![Part { body: text.clone(), rank: Some(*rank) }],
            Message::Notice(text) => vec![Part { body: text.clone(), rank: None }],
        }
    }

    fn send<'a>(
        &'a self,
        _to: &'a Destination,
        part: &'a Part,
        _key: &'a str,
    ) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
            writeln!(out, "{}\n", part.body)
                .and_then(|_| out.flush())
                .map_err(|e| SendError::Transient(e.to_string()))?;
            Ok(self.next_id.fetch_add(1, Ordering::Relaxed).to_string())
        })
    }
}

/// Reads console commands from standard input, one per line.
pub struct ConsoleInbound;

impl Inbound for ConsoleInbound {
    fn start(
        self: Box<Self>,
        core: std::sync::Arc<Core>,
        _shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> axum::Router {
        // stdin blocks, so it gets a plain thread; commands go to the async core.
        let handle = tokio::runtime::Handle::current();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let dest = destination();
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                let command = match parse_text_command(&line, &dest, "console", None) {
                    Ok(Some(c)) => c,
                    Ok(None) if line.trim().is_empty() => continue,
                    Ok(None) => {
                        eprintln!("Commands start with /; /help lists them.");
                        continue;
                    }
                    Err(e) => {
                        eprintln!("{e}");
                        continue;
                    }
                };
                let core = core.clone();
                handle.spawn(async move { core.handle_and_reply(command).await });
            }
        });
        axum::Router::new()
    }
}
