//! The `podsift` command line: parses arguments, sets up logging and the runtime, and hands the
//! command to `cli`, which calls into the library and prints results for people or scripts.

use clap::Parser;

mod cli;

use cli::args::{Cli, Command};

fn main() -> std::process::ExitCode {
    podsift::ensure_tls_provider();
    let cli = Cli::parse();
    // The service tells the operator what it does; one-shot commands speak only of problems.
    let default_log = if matches!(cli.command, Command::Run { .. }) { "warn,podsift=info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PODSIFT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log)),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
