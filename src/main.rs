//! The `podsift` command line: parses arguments, sets up logging and the runtime, and hands the
//! command to `cli`, which calls into the library and prints results for people or scripts.

#[macro_use]
mod cli;

use cli::args::{Cli, Command};

fn main() -> std::process::ExitCode {
    // SIGPIPE stays ignored, as Rust sets it: with its default disposition a peer that closes a
    // connection while a request is written (a feed server, a webhook receiver) would kill the
    // whole process. Output whose reader went away (`podsift feeds ls | head -1`) is dropped
    // by `cli::out` instead.
    podsift::ensure_tls_provider();
    // Secrets and settings from .env (or --env-file) before the arguments are read, so that
    // PODSIFT_DATA_DIR and friends in it count; variables already in the environment win.
    if let Err(e) = load_env_file(std::env::args_os()) {
        errln!("error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    // An empty PODSIFT_DATA_DIR or PODSIFT_CONFIG (an `-e VAR=` left blank, a `.env` line
    // without a value) means unset, as for the other variables, not "a value is missing".
    for var in ["PODSIFT_DATA_DIR", "PODSIFT_CONFIG"] {
        if std::env::var_os(var).is_some_and(|v| v.is_empty()) {
            // SAFETY: no other thread runs yet.
            unsafe { std::env::remove_var(var) };
        }
    }
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
    let filter = match std::env::var("PODSIFT_LOG").ok().filter(|v| !v.trim().is_empty()) {
        None => tracing_subscriber::EnvFilter::new(default_log),
        Some(wanted) => match log_filter(&wanted) {
            Ok(filter) => filter,
            Err(why) => {
                // A typo must not silence the log, errors included: said, and the default kept.
                errln!("warning: PODSIFT_LOG={wanted:?} {why}; logging as by default ({default_log})");
                tracing_subscriber::EnvFilter::new(default_log)
            }
        },
    };
    if let Ok(format) = std::env::var("PODSIFT_LOG_FORMAT")
        && !format.trim().is_empty()
        && !podsift::service::json_logs()
    {
        // A log shipper expecting JSON would get lines it cannot read: said, not guessed.
        errln!("warning: PODSIFT_LOG_FORMAT={format:?} is not a log format; it is \"json\" or unset (plain text)");
    }
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    if podsift::service::json_logs() {
        // One JSON object a line, for log shippers.
        logs.json().flatten_event(true).init();
    } else {
        // Colour codes only for a person at a terminal, never into log files.
        logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            errln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli, data_given)) {
        Ok(()) => match cli::out::write_failure() {
            Some(e) => {
                errln!("error: the output could not be written ({e}); it is incomplete");
                std::process::ExitCode::FAILURE
            }
            None => std::process::ExitCode::SUCCESS,
        },
        Err(e) => {
            errln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The log filter `PODSIFT_LOG` asks for, or why it is none: a directive that does not parse, or
/// a bare word that is no level ("warning", "inf"), which would be read as a module's name and
/// log nothing of podsift's.
fn log_filter(wanted: &str) -> Result<tracing_subscriber::EnvFilter, String> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    for directive in wanted.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level =
            LEVELS.contains(&directive.to_ascii_lowercase().as_str()) || directive.parse::<u8>().is_ok_and(|n| n <= 5);
        if !directive.contains(['=', ':', '[']) && !level {
            return Err(format!(
                "names no level in {directive:?} (use trace, debug, info, warn, error or off, or podsift=LEVEL)"
            ));
        }
    }
    tracing_subscriber::EnvFilter::try_new(wanted).map_err(|e| format!("is not a log filter ({e})"))
}

/// Reads `--env-file FILE` (which must exist) or `./.env` (when present) into the environment,
/// without replacing what is already set.
fn load_env_file(args: impl Iterator<Item = std::ffi::OsString>) -> Result<(), String> {
    let args: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    let named = args.iter().enumerate().find_map(|(i, a)| match a.strip_prefix("--env-file") {
        Some("") => args.get(i + 1).cloned(),
        Some(rest) => rest.strip_prefix('=').map(str::to_string),
        None => None,
    });
    match named {
        Some(path) => dotenvy::from_path(&path).map_err(|e| {
            format!(
                "cannot read the environment file {path}: {} (--env-file names a file of KEY=value lines)",
                env_error(&path, &e)
            )
        }),
        None => match dotenvy::from_path(".env") {
            Ok(_) => Ok(()),
            Err(e) if e.not_found() => Ok(()),
            Err(e) => {
                Err(format!("cannot read .env: {} (it holds KEY=value lines; see .env.example)", env_error(".env", &e)))
            }
        },
    }
}

/// A line the environment file's reader could not take, by its number in the file (the reader
/// names only its text and a position within it).
fn env_error(path: &str, e: &dotenvy::Error) -> String {
    match e {
        dotenvy::Error::LineParse(line, at) => {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let number = text.lines().position(|l| l.trim_end() == line.trim_end()).map(|n| n + 1);
            let shown: String = line.chars().take(60).collect();
            match number {
                Some(n) => format!("line {n} ({shown:?}) is not KEY=value (at character {})", at + 1),
                None => format!("the line {shown:?} is not KEY=value (at character {})", at + 1),
            }
        }
        other => other.to_string(),
    }
}
