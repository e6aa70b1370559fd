//! What the core does with a command from any adapter, and the reply it sends back. Adapters
//! only translate platform events into [`Command`]s; the decisions are all here.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::fanout::Deliverer;
use super::{Command, Message, Schedule, Subscription};
use crate::ask::{self, Answerer};
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

/// Questions and answers remembered per thread (destination and insight).
const THREAD_TURNS: usize = 3;

/// Runs commands against the store and sends the replies.
pub struct Core {
    pub store: Store,
    pub config: Config,
    pub deliverer: Arc<Deliverer>,
    pub metrics: Arc<Metrics>,
    /// Writes answers: the offline quoting one, or an LLM's.
    pub answerer: Arc<dyn Answerer>,
    /// The last few questions and answers per (destination, insight), so a follow-up can refer
    /// to the one before. In memory: a restart starts threads afresh.
    threads: Mutex<HashMap<String, VecDeque<(String, String)>>>,
}

impl Core {
    pub fn new(
        store: Store,
        config: Config,
        deliverer: Arc<Deliverer>,
        metrics: Arc<Metrics>,
        answerer: Arc<dyn Answerer>,
    ) -> Core {
        Core { store, config, deliverer, metrics, answerer, threads: Mutex::new(HashMap::new()) }
    }

    /// Handles a command and returns the reply to send to its destination, if any (feedback
    /// gets none: the adapter acknowledges the button press itself).
    pub async fn handle(&self, command: Command, now: DateTime<Utc>) -> Result<Option<Message>, StoreError> {
        let notice = |text: String| Ok(Some(Message::Notice(text)));
        let admin_only = matches!(
            command,
            Command::Subscribe { admin: Some(false), .. }
                | Command::Unsubscribe { admin: Some(false), .. }
                | Command::SetSchedule { admin: Some(false), .. }
        );
        if admin_only {
            return notice(
                "Only the group's admins can subscribe, unsubscribe or change the time of this group.".into(),
            );
        }
        match command {
            Command::Subscribe { destination, schedule, created_by, .. } => {
                let schedule = match schedule {
                    Some(s) => s,
                    None => {
                        match Schedule::daily(&self.config.service.default_time, &self.config.service.default_timezone)
                        {
                            Ok(s) => s,
                            Err(e) => return notice(format!("The operator's default schedule is invalid: {e}")),
                        }
                    }
                };
                let sub = match self.store.subscription(&destination.key())? {
                    Some(mut s) => {
                        s.schedule = schedule;
                        s.paused = None;
                        s
                    }
                    None => Subscription::new(destination, schedule, &created_by, now),
                };
                self.store.put_subscription(&sub)?;
                self.store.flush()?;
                notice(format!(
                    "Subscribed: the top 5 every day at {}. In another timezone? Set your time with /time HH:MM Area/City \
                     (e.g. /time 07:30 Europe/Berlin). /stop unsubscribes.",
                    sub.schedule.describe()
                ))
            }
            Command::Unsubscribe { destination, .. } => {
                if self.store.remove_subscription(&destination.key())? {
                    self.store.flush()?;
                    notice("Unsubscribed: no more daily digests here. /start to subscribe again.".into())
                } else {
                    notice("This chat is not subscribed. /start to subscribe.".into())
                }
            }
            Command::SetSchedule { destination, schedule, .. } => match self.store.subscription(&destination.key())? {
                Some(mut s) => {
                    s.schedule = schedule;
                    self.store.put_subscription(&s)?;
                    self.store.flush()?;
                    notice(format!("The daily digest now comes at {}.", s.schedule.describe()))
                }
                None => notice("This chat is not subscribed yet: /start HH:MM Area/City subscribes it.".into()),
            },
            Command::DigestNow { .. } => {
                let date = digest::today(&self.config.digest, now);
                let d = digest::build_or_get(&self.store, &self.config.digest, date, now)?;
                if d.insights.is_empty() {
                    notice(format!("No insights for {date} yet: no new episode with a transcript so far today."))
                } else {
                    Ok(Some(Message::Digest(d)))
                }
            }
            Command::Ask { destination, reference, question, reply_to } => {
                let answer = match ask::resolve(&self.store, &self.config.digest, &reference, now) {
                    Ok((digest, entry)) => {
                        let thread = format!("{}/{}#{}", destination.key(), digest.date, entry.rank);
                        let history: Vec<(String, String)> = self.thread(&thread).into_iter().collect();
                        let answer = ask::ask(
                            &self.store,
                            &self.config.ask,
                            &entry,
                            &question,
                            self.answerer.as_ref(),
                            &history,
                        )
                        .await;
                        if let Ok(a) = &answer {
                            self.remember(&thread, &question, &a.answer);
                        }
                        answer.map(|a| (entry, a))
                    }
                    Err(e) => Err(e),
                };
                match answer {
                    Ok((entry, answer)) => {
                        Metrics::add(&self.metrics.questions_answered, 1);
                        Ok(Some(Message::Answer { entry: Box::new(entry), answer, reply_to }))
                    }
                    Err(ask::AskError::Store(e)) => Err(e),
                    Err(e) => notice(e.to_string()),
                }
            }
            Command::PromptQuestion { reference, .. } => {
                match ask::resolve(&self.store, &self.config.digest, &reference, now) {
                    Ok((digest, entry)) => Ok(Some(Message::AskPrompt {
                        date: digest.date,
                        rank: entry.rank,
                        text: format!(
                            "What would you like to know about #{}? Reply to this message with your question.",
                            entry.rank
                        ),
                    })),
                    Err(ask::AskError::Store(e)) => Err(e),
                    Err(e) => notice(e.to_string()),
                }
            }
            Command::Feedback { destination, insight, up } => {
                self.store.put_feedback(&destination.key(), &insight, up)?;
                Ok(None)
            }
            Command::Help { .. } => notice(HELP.into()),
        }
    }

    fn thread(&self, key: &str) -> VecDeque<(String, String)> {
        self.threads.lock().map(|t| t.get(key).cloned().unwrap_or_default()).unwrap_or_default()
    }

    fn remember(&self, key: &str, question: &str, answer: &str) {
        if let Ok(mut threads) = self.threads.lock() {
            // Bounded: forget whole threads rather than grow without limit.
            if threads.len() > 10_000 {
                threads.clear();
            }
            let t = threads.entry(key.to_string()).or_default();
            t.push_back((question.to_string(), answer.to_string()));
            while t.len() > THREAD_TURNS {
                t.pop_front();
            }
        }
    }

    /// Handles a command and sends the reply; errors are logged, never fatal to the service.
    pub async fn handle_and_reply(&self, command: Command) {
        let dest = command.destination().clone();
        match self.handle(command, Utc::now()).await {
            Ok(Some(reply)) => self.reply(&dest, &reply).await,
            Ok(None) => {}
            Err(e) => tracing::error!(destination = %dest, "command failed: {e}"),
        }
    }

    /// Sends a reply; a question prompt is remembered so that replies to it reach its insight.
    pub async fn reply(&self, dest: &super::Destination, reply: &Message) {
        match self.deliverer.send_now(dest, reply).await {
            Ok(ids) => {
                if let Message::AskPrompt { date, rank, .. } = reply {
                    for id in ids {
                        if let Err(e) = self.store.put_message_ref(&dest.key(), &id, *date, *rank) {
                            tracing::error!(destination = %dest, "cannot remember the question prompt: {e}");
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(destination = %dest, "reply not delivered: {e}"),
        }
    }
}

/// Parses a chat command (`/start 08:00 Europe/Berlin`, `/ask 2 why?`, `/help@podsift_bot`).
/// Returns Ok(None) for text that is not a command, and Err with an example of good input for
/// a command used wrongly. Chat adapters share this so every platform speaks the same commands.
/// `admin` is whether the sender administers the group (None in private chats).
pub fn parse_text_command(
    text: &str,
    destination: &super::Destination,
    created_by: &str,
    admin: Option<bool>,
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
            [time, tz] => Schedule::daily(time, tz).map_err(|e| format!("{e}. Example: /{cmd} 07:30 Europe/Berlin")),
            _ => Err(format!("/{cmd} takes a time and a timezone. Example: /{cmd} 07:30 Europe/Berlin")),
        }
    };
    let command =
        match word.as_str() {
            "start" | "subscribe" => Command::Subscribe {
                destination,
                schedule: if args.is_empty() { None } else { Some(schedule(&args, "start")?) },
                created_by: created_by.to_string(),
                admin,
            },
            "stop" | "unsubscribe" => Command::Unsubscribe { destination, admin },
            "time" => Command::SetSchedule { destination, schedule: schedule(&args, "time")?, admin },
            "digest" => Command::DigestNow { destination },
            "ask" => match args.split_first() {
                Some((n, q)) if !q.is_empty() => {
                    Command::Ask { destination, reference: n.to_string(), question: q.join(" "), reply_to: None }
                }
                _ => return Err(
                    "/ask takes an insight number and a question. Example: /ask 2 what exactly was said about that?"
                        .into(),
                ),
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
        assert_eq!(parse_text_command("hello there", &d, "me", None), Ok(None));
        assert_eq!(
            parse_text_command("/help@podsift_bot", &d, "me", None),
            Ok(Some(Command::Help { destination: d.clone() }))
        );
        assert_eq!(
            parse_text_command("/ask 2 what was said?", &d, "me", None),
            Ok(Some(Command::Ask {
                destination: d.clone(),
                reference: "2".into(),
                question: "what was said?".into(),
                reply_to: None
            }))
        );
        match parse_text_command("/start 07:30 Europe/Berlin", &d, "me", Some(true)) {
            Ok(Some(Command::Subscribe { schedule: Some(s), .. })) => assert_eq!(s.describe(), "07:30 Europe/Berlin"),
            other => panic!("{other:?}"),
        }
        assert!(
            parse_text_command("/time 7pm Berlin", &d, "me", None)
                .unwrap_err()
                .contains("Example: /time 07:30 Europe/Berlin")
        );
        assert!(parse_text_command("/ask 2", &d, "me", None).unwrap_err().contains("Example: /ask 2"));
        assert!(parse_text_command("/frobnicate", &d, "me", None).unwrap_err().contains("/help"));
    }
}
