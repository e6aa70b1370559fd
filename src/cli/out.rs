//! Where commands print: standard output, or, when the running service executes a command on
//! the command line's behalf, a buffer that goes back to it as the reply.

use std::cell::RefCell;
use std::future::Future;
use std::io::Write;

tokio::task_local! {
    static CAPTURE: RefCell<Captured>;
}

/// A command's output kept for a remote command line: what goes to its standard output, and
/// what to its standard error (warnings, progress) unless that goes `live`.
#[derive(Default)]
pub struct Captured {
    pub out: String,
    pub err: String,
    /// Where warnings and progress go as they are written, for a command line that shows them
    /// while the command runs (an ingest takes minutes).
    live: Option<tokio::sync::mpsc::UnboundedSender<String>>,
}

/// Set once standard output's reader has gone away.
static READER_GONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Why standard output could not be written, when not for a reader gone (a full disk): the
/// command's output is incomplete, which its exit status must say.
static WRITE_FAILED: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Prints `s` where this command's output goes.
pub fn write(s: &str) {
    if CAPTURE.try_with(|c| c.borrow_mut().out.push_str(s)).is_err() {
        use std::sync::atomic::Ordering::Relaxed;
        // A reader that went away (`| head -1`) ends the output, not the command: what it
        // changes in the store is still done and kept.
        if !READER_GONE.load(Relaxed) {
            let mut stdout = std::io::stdout().lock();
            if let Err(e) = stdout.write_all(s.as_bytes()).and_then(|_| stdout.flush()) {
                READER_GONE.store(true, Relaxed);
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    let _ = WRITE_FAILED.set(e.to_string());
                }
            }
        }
    }
}

/// Whether standard output's reader has gone away: what is left to print has no one to read it.
pub fn reader_gone() -> bool {
    READER_GONE.load(std::sync::atomic::Ordering::Relaxed)
}

/// Why the output could not be written, when it was not its reader going away.
pub fn write_failure() -> Option<&'static str> {
    WRITE_FAILED.get().map(String::as_str)
}

/// Prints `s` where this command's warnings and progress go (standard error).
pub fn write_err(s: &str) {
    let kept = CAPTURE.try_with(|c| {
        let mut c = c.borrow_mut();
        // Kept for the reply when there is no one to show them to live (the command line hung up).
        if c.live.as_ref().is_none_or(|live| live.send(s.to_string()).is_err()) {
            c.err.push_str(s);
        }
    });
    if kept.is_err() {
        let _ = std::io::stderr().lock().write_all(s.as_bytes());
    }
}

/// Whether output is being captured for a remote command line (no terminal to draw progress on).
pub fn capturing() -> bool {
    CAPTURE.try_with(|_| ()).is_ok()
}

/// Runs `work` with its output kept, and returns the output beside the result; warnings and
/// progress go to `live` as they come when given.
pub async fn capture<T>(
    live: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    work: impl Future<Output = T>,
) -> (Captured, T) {
    CAPTURE
        .scope(RefCell::new(Captured { live, ..Captured::default() }), async move {
            let result = work.await;
            (CAPTURE.with(|c| c.take()), result)
        })
        .await
}

/// `println!` for command output.
macro_rules! outln {
    () => { $crate::cli::out::write("\n") };
    ($($arg:tt)*) => { $crate::cli::out::write(&format!("{}\n", format_args!($($arg)*))) };
}

/// `print!` for command output.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::out::write(&format!($($arg)*)) };
}

/// `eprintln!` for a command's warnings and progress.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::cli::out::write_err(&format!("{}\n", format_args!($($arg)*))) };
}
