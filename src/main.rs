//! The `podsift` command line: parses arguments, sets up logging and the runtime, and hands the
//! command to `cli`, which calls into the library and prints results for people or scripts.

#[macro_use]
mod cli;

use cli::args::{Cli, Command};

fn main() -> std::process::ExitCode {
    // Like every Unix tool, end quietly when the reader of our output goes away
    // (`podsift feeds ls | head -1`) instead of panicking on the broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    podsift::ensure_tls_provider();
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // `demo` keeps to a temporary store unless --data was given on the command line itself:
    // PODSIFT_DATA_DIR (set in the image) names the real store, which the demo must not touch.
    let data_given = matches.value_source("data") == Some(clap::parser::ValueSource::CommandLine);
    // The service tells the operator what it does; one-shot commands speak only of problems.
    let default_log = if matches!(cli.command, Command::Run { .. }) { "warn,podsift=info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PODSIFT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log)),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli, data_given)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
