//! Where commands print: standard output, or, when the running service executes a command on
//! the command line's behalf, a buffer that goes back to it as the reply.

use std::cell::RefCell;
use std::future::Future;
use std::io::Write;

tokio::task_local! {
    static CAPTURE: RefCell<Captured>;
}

/// A command's output kept for a remote command line: what goes to its standard output, and
/// what to its standard error (warnings, progress).
#[derive(Default)]
pub struct Captured {
    pub out: String,
    pub err: String,
}

/// Prints `s` where this command's output goes.
pub fn write(s: &str) {
    if CAPTURE.try_with(|c| c.borrow_mut().out.push_str(s)).is_err() {
        // A reader that went away (`| head -1`) ends the output, not the program's success.
        let _ = std::io::stdout().lock().write_all(s.as_bytes());
    }
}

/// Prints `s` where this command's warnings and progress go (standard error).
pub fn write_err(s: &str) {
    if CAPTURE.try_with(|c| c.borrow_mut().err.push_str(s)).is_err() {
        let _ = std::io::stderr().lock().write_all(s.as_bytes());
    }
}

/// Whether output is being captured for a remote command line (no terminal to draw progress on).
pub fn capturing() -> bool {
    CAPTURE.try_with(|_| ()).is_ok()
}

/// Runs `work` with its output kept, and returns the output beside the result.
pub async fn capture<T>(work: impl Future<Output = T>) -> (Captured, T) {
    CAPTURE
        .scope(RefCell::new(Captured::default()), async move {
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
