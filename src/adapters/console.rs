//! The console adapter: digests and answers printed on the terminal; commands read from
//! standard input, one per line (`/start 08:00 Europe/Berlin`, `/ask 2 what was said?`).
//! It proves the adapter seam end to end without any platform account.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::future::BoxFuture;

use crate::deliver::commands::{Core, parse_line};
use crate::deliver::inbound::Inbound;
use crate::deliver::{Adapter, Destination, Limits, Message, Part, ReplyTarget, Request, SendError, Sender, TextUnit};

/// The one console destination.
pub fn destination() -> Destination {
    Destination::new("console", "local")
}

/// One part as terminal text.
fn render(part: &Part) -> String {
    match part {
        Part::DigestHeader { date, .. } => format!("== podsift digest for {date} =="),
        Part::Entry { entry, .. } => crate::render::entry(entry).trim_end().to_string(),
        Part::Answer { entry, answer, .. } => format!("About #{} ({}):\n{}", entry.rank, entry.podcast, answer.answer),
        Part::Prompt { rank, .. } => {
            format!("What would you like to know about #{rank}? Type /ask {rank} and your question.")
        }
        // The console has no buttons: the text says what to type.
        Part::Text(text) | Part::Choices { text, .. } => text.clone(),
    }
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
        Limits {
            max_message_len: 64 * 1024,
            unit: TextUnit::Chars,
            global_per_second: 100.0,
            per_destination_per_second: 100.0,
        }
    }

    fn send<'a>(
        &'a self,
        _to: &'a Destination,
        part: &'a Part,
        _reply_to: Option<&'a ReplyTarget>,
        _key: &'a str,
        _again: bool,
    ) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let text = render(part);
            let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
            writeln!(out, "{text}\n").and_then(|_| out.flush()).map_err(|e| SendError::Transient(e.to_string()))?;
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
                // A line that is no command is answered where the others are: on the console's
                // output, not among the log lines.
                let notice = match parse_line(&line) {
                    Ok(Some(command)) => {
                        let _guard = handle.enter();
                        core.submit(Request::new(dest.clone(), Sender::owner("console"), command));
                        continue;
                    }
                    Ok(None) if line.trim().is_empty() => continue,
                    Ok(None) => "Commands start with /; /help lists them.".to_string(),
                    Err(e) => e,
                };
                handle.block_on(core.reply(&dest, None, &Message::Notice(notice)));
            }
        });
        axum::Router::new()
    }
}
