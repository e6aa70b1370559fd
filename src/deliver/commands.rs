//! What the core does with a command from any adapter, and the reply it sends back. Adapters
//! only translate platform events into [`Command`]s; the decisions are all here.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::fanout::Deliverer;
use super::{Command, Message, Schedule, Subscription};
use crate::ask::{self, QuoteAnswerer};
use crate::config::Config;
use crate::insight::digest;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// The commands a reader can use, for help texts.
pub const HELP: &str = "podsift sends the day's top 5 podcast insights and answers questions about them.\n\
/start [HH:MM Area/City] — subscribe (daily digest, default time from the operator)\n\
/stop — unsubscribe\n\
/time HH:MM Area/City — change the delivery time, e.g. /time 07:30 Europe/Berlin\n\
/digest — the latest digest now\n\
/ask N question — ask about insight N of today's digest, e.g. /ask 2 what exactly was said?\n\
/help — this list";

/// Runs commands against the store and sends the replies.
pub struct Core {
    pub store: Store,
    pub config: Config,
    pub deliverer: Arc<Deliverer>,
    pub metrics: Arc<Metrics>,
}

impl Core {
    /// Handles a command and returns the reply to send to its destination.
    pub fn handle(&self, command: Command, now: DateTime<Utc>) -> Result<Message, StoreError> {
        let dest = command.destination().clone();
        let reply = match command {
            Command::Subscribe {
                destination,
                schedule,
                created_by,
            } => {
                let schedule = match schedule {
                    Some(s) => s,
                    None => match Schedule::daily(
                        &self.config.service.default_time,
                        &self.config.service.default_timezone,
                    ) {
                        Ok(s) => s,
                        Err(e) => {
                            return Ok(Message::Notice(format!(
                                "The operator's default schedule is invalid: {e}"
                            )));
                        }
                    },
                };
                let sub = match self.store.subscription(&destination.key())? {
                    Some(mut s) => {
                        s.schedule = schedule;
                        s.paused = None;
                        s
                    }
                    None => Subscription {
                        destination,
                        schedule,
                        only_podcasts: vec![],
                        mute_podcasts: vec![],
                        keywords: vec![],
                        paused: None,
                        created_by,
                        created_at: now,
                    },
                };
                self.store.put_subscription(&sub)?;
                self.store.flush()?;
                Message::Notice(format!(
                    "Subscribed: the top 5 every day at {}. Change it with /time HH:MM Area/City; /stop to unsubscribe.",
                    sub.schedule.describe()
                ))
            }
            Command::Unsubscribe { destination } => {
                if self.store.remove_subscription(&destination.key())? {
                    self.store.flush()?;
                    Message::Notice(
                        "Unsubscribed: no more daily digests here. /start to subscribe again."
                            .into(),
                    )
                } else {
                    Message::Notice("This chat is not subscribed. /start to subscribe.".into())
                }
            }
            Command::SetSchedule {
                destination,
                schedule,
            } => match self.store.subscription(&destination.key())? {
                Some(mut s) => {
                    s.schedule = schedule;
                    self.store.put_subscription(&s)?;
                    self.store.flush()?;
                    Message::Notice(format!(
                        "The daily digest now comes at {}.",
                        s.schedule.describe()
                    ))
                }
                None => Message::Notice(
                    "This chat is not subscribed yet: /start HH:MM Area/City subscribes it.".into(),
                ),
            },
            Command::DigestNow { .. } => {
                let date = digest::today(&self.config.digest, now);
                let d = digest::build_or_get(&self.store, &self.config.digest, date, now)?;
                if d.insights.is_empty() {
                    Message::Notice(format!(
                        "No insights for {date} yet: no new episode with a transcript so far today."
                    ))
                } else {
                    Message::Digest(d)
                }
            }
            Command::Ask {
                reference,
                question,
                ..
            } => {
                let answer = ask::resolve(&self.store, &self.config.digest, &reference, now)
                    .and_then(|(_, entry)| {
                        let answerer = QuoteAnswerer {
                            max_citations: self.config.ask.max_citations,
                        };
                        ask::ask(&self.store, &self.config.ask, &entry, &question, &answerer)
                            .map(|a| (entry, a))
                    });
                match answer {
                    Ok((entry, answer)) => {
                        Metrics::add(&self.metrics.questions_answered, 1);
                        Message::Answer {
                            entry: Box::new(entry),
                            answer,
                        }
                    }
                    Err(ask::AskError::Store(e)) => return Err(e),
                    Err(e) => Message::Notice(e.to_string()),
                }
            }
            Command::Feedback {
                destination,
                insight,
                up,
            } => {
                self.store.put_feedback(&destination.key(), &insight, up)?;
                Message::Notice(if up {
                    "Thanks, noted 👍".into()
                } else {
                    "Thanks, noted 👎".into()
                })
            }
            Command::Help { .. } => Message::Notice(HELP.into()),
        };
        tracing::debug!(destination = %dest, "command handled");
        Ok(reply)
    }

    /// Handles a command and sends the reply; errors are logged, never fatal to the service.
    pub async fn handle_and_reply(&self, command: Command) {
        let dest = command.destination().clone();
        match self.handle(command, Utc::now()) {
            Ok(reply) => {
                if let Err(e) = self.deliverer.send_now(&dest, &reply).await {
                    tracing::warn!(destination = %dest, "reply not delivered: {e}");
                }
            }
            Err(e) => tracing::error!(destination = %dest, "command failed: {e}"),
        }
    }
}

/// Parses a chat command (`/start 08:00 Europe/Berlin`, `/ask 2 why?`, `/help@podsift_bot`).
/// Returns Ok(None) for text that is not a command, and Err with an example of good input for
/// a command used wrongly. Chat adapters share this so every platform speaks the same commands.
pub fn parse_text_command(
    text: &str,
    destination: &super::Destination,
    created_by: &str,
) -> Result<Option<Command>, String> {
    let text = text.trim();
    let Some(rest) = text.strip_prefix('/') else {
        return Ok(None);
    };
    let (word, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    // In groups a command may name its bot: /start@podsift_bot.
    let word = word.split('@').next().unwrap_or(word).to_lowercase();
    let args: Vec<&str> = args.split_whitespace().collect();
    let destination = destination.clone();
    let schedule = |args: &[&str], cmd: &str| -> Result<Schedule, String> {
        match args {
            [time, tz] => Schedule::daily(time, tz)
                .map_err(|e| format!("{e}. Example: /{cmd} 07:30 Europe/Berlin")),
            _ => Err(format!(
                "/{cmd} takes a time and a timezone. Example: /{cmd} 07:30 Europe/Berlin"
            )),
        }
    };
    let command = match word.as_str() {
        "start" | "subscribe" => Command::Subscribe {
            destination,
            schedule: if args.is_empty() { None } else { Some(schedule(&args, "start")?) },
            created_by: created_by.to_string(),
        },
        "stop" | "unsubscribe" => Command::Unsubscribe { destination },
        "time" => Command::SetSchedule { destination, schedule: schedule(&args, "time")? },
        "digest" => Command::DigestNow { destination },
        "ask" => match args.split_first() {
            Some((n, q)) if !q.is_empty() => Command::Ask { destination, reference: n.to_string(), question: q.join(" ") },
            _ => return Err("/ask takes an insight number and a question. Example: /ask 2 what exactly was said about that?".into()),
        },
        "help" => Command::Help { destination },
        other => return Err(format!("unknown command /{other}; /help lists the commands")),
    };
    Ok(Some(command))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::Destination;

    #[test]
    fn chat_commands_parse_or_explain() {
        let d = Destination::new("console", "local");
        assert_eq!(parse_text_command("hello there", &d, "me"), Ok(None));
        assert_eq!(
            parse_text_command("/help@podsift_bot", &d, "me"),
            Ok(Some(Command::Help {
                destination: d.clone()
            }))
        );
        assert_eq!(
            parse_text_command("/ask 2 what was said?", &d, "me"),
            Ok(Some(Command::Ask {
                destination: d.clone(),
                reference: "2".into(),
                question: "what was said?".into()
            }))
        );
        match parse_text_command("/start 07:30 Europe/Berlin", &d, "me") {
            Ok(Some(Command::Subscribe {
                schedule: Some(s), ..
            })) => assert_eq!(s.describe(), "07:30 Europe/Berlin"),
            other => panic!("{other:?}"),
        }
        assert!(
            parse_text_command("/time 7pm Berlin", &d, "me")
                .unwrap_err()
                .contains("Example: /time 07:30 Europe/Berlin")
        );
        assert!(
            parse_text_command("/ask 2", &d, "me")
                .unwrap_err()
                .contains("Example: /ask 2")
        );
        assert!(
            parse_text_command("/frobnicate", &d, "me")
                .unwrap_err()
                .contains("/help")
        );
    }
}
