//! `podsift ask REF` without a question: an interactive prompt, one question per line.

use std::io::IsTerminal;

use anyhow::Result;

use podsift::ask;
use podsift::config::Config;
use podsift::model::DigestEntry;
use podsift::store::Store;

use super::args::Output;

/// `ask REF` without a question: one question per line until an empty line or end of input.
pub async fn interactive(
    store: &Store,
    config: &Config,
    entry: &DigestEntry,
    answerer: &dyn ask::Answerer,
    out: Output,
) -> Result<()> {
    use std::io::BufRead;
    let prompt = std::io::stdin().is_terminal();
    if prompt {
        outln!(
            "#{} {}
Ask about this insight (empty line to quit).",
            entry.rank,
            entry.text
        );
    }
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut history: Vec<(String, String)> = Vec::new();
    // Questions whose answers no one would read (`... | head -3`) are not asked: each may be
    // a paid model call.
    while !super::out::reader_gone() {
        if prompt {
            out!("> ");
        }
        let Some(line) = lines.next() else { break };
        let line = line?;
        if line.trim().is_empty() {
            // On a terminal an empty line quits; from a pipe or file it is only a gap between
            // questions, and the end of the input ends it.
            if prompt {
                break;
            }
            continue;
        }
        let a = ask::ask(store, &config.ask, entry, &line, answerer, &history).await?;
        // Each question may refer to the ones before it.
        history.push((line.clone(), a.answer.clone()));
        if history.len() > 3 {
            history.remove(0);
        }
        if out.json {
            outln!("{}", serde_json::to_string(&a)?);
        } else {
            outln!("{}\n", a.answer);
        }
    }
    Ok(())
}
