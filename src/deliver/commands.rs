//! What the core does with a request from any adapter, and the reply it sends back. Adapters
//! only translate platform events into [`Request`]s and acknowledge them; the decisions are all
//! here, and so is the one table of commands every platform registers and /help is written from.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};

use super::fanout::Deliverer;
use super::podcasts;
use super::{
    Command, Delivery, DeliveryState, Destination, Message, ReplyTarget, Request, Schedule, SendError, Subscription,
};
use crate::ask::{self, Answerer};
use crate::config::Config;
use crate::insight::digest;
use crate::metrics::Metrics;
use crate::model::Digest;
use crate::store::{Store, StoreError};

/// Who may use a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Anyone,
    /// Whoever may manage the chat or channel (a group's admins, a channel's managers). The
    /// adapter tells the core whether the sender may; the core refuses when not.
    Managers,
    /// Anyone may look; changing is for managers, as with [`Access::Managers`].
    ManagersToChange,
}

impl Access {
    /// Whether the adapter must tell the core if the sender may manage the chat.
    pub fn asks_who(self) -> bool {
        self != Access::Anyone
    }
}

/// One command of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    pub name: &'static str,
    /// Other names that work too (`start` for `subscribe`, as Telegram clients send /start).
    pub aliases: &'static [&'static str],
    /// The arguments, as shown in help (`[HH:MM Area/City]`).
    pub args: &'static str,
    pub access: Access,
    /// One line for command registration and help.
    pub summary: &'static str,
    /// The arguments of a good example (`07:30 Europe/Berlin`).
    pub example: &'static str,
}

/// Every command, in the order help lists them.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "subscribe",
        aliases: &["start"],
        args: "[HH:MM Area/City]",
        access: Access::Managers,
        summary: "Subscribe here to the daily digest of top insights (optionally at a time and timezone)",
        example: "07:30 Europe/Berlin",
    },
    CommandSpec {
        name: "unsubscribe",
        aliases: &["stop"],
        args: "",
        access: Access::Managers,
        summary: "Stop the daily digest here",
        example: "",
    },
    CommandSpec {
        name: "time",
        aliases: &[],
        args: "[HH:MM Area/City]",
        access: Access::ManagersToChange,
        summary: "This chat's delivery time and settings; with a time, change it",
        example: "07:30 Europe/Berlin",
    },
    CommandSpec {
        name: "digest",
        aliases: &[],
        args: "",
        access: Access::Anyone,
        summary: "Send today's digest now",
        example: "",
    },
    CommandSpec {
        name: "ask",
        aliases: &[],
        args: "N question",
        access: Access::Anyone,
        summary: "Ask about insight N of the latest digest here",
        example: "2 what exactly was said about that?",
    },
    CommandSpec {
        name: "podcasts",
        aliases: &[],
        args: "[add|remove WHAT]",
        access: Access::ManagersToChange,
        summary: "This chat's podcasts; add one by name or feed address, remove one by number",
        example: "add the changelog",
    },
    CommandSpec {
        name: "help",
        aliases: &[],
        args: "",
        access: Access::Anyone,
        summary: "List the commands",
        example: "",
    },
];

/// The command called `name` (or one of its aliases), case-insensitively.
pub fn spec(name: &str) -> Option<&'static CommandSpec> {
    let name = name.to_lowercase();
    COMMANDS.iter().find(|c| c.name == name || c.aliases.contains(&name.as_str()))
}

/// The help text, with commands written as this platform types them (`prefix` is `/` or
/// `/podsift `), for a digest of `size` and ending with how a question is asked there.
pub fn help(prefix: &str, size: usize, how_to_ask: &str) -> String {
    let mut s = format!("podsift sends the day's top {size} podcast insights and answers questions about them.\n");
    for c in COMMANDS {
        let args = if c.args.is_empty() { String::new() } else { format!(" {}", c.args) };
        let example =
            if c.example.is_empty() { String::new() } else { format!(", e.g. {prefix}{} {}", c.name, c.example) };
        let who = match c.access {
            Access::Anyone => "",
            Access::Managers => " (people who manage this chat)",
            Access::ManagersToChange => " (adding and removing: people who manage this chat)",
        };
        s.push_str(&format!("{prefix}{}{args} — {}{example}{who}\n", c.name, c.summary));
    }
    s.push_str(how_to_ask);
    s
}

fn usage(spec: &CommandSpec, prefix: &str) -> String {
    format!("Example: {prefix}{} {}", spec.name, spec.example).trim_end().to_string()
}

/// Parses command `name` with its argument text. Err carries what was wrong and a good example,
/// in this platform's syntax.
pub fn parse(name: &str, args: &str, prefix: &str) -> Result<Command, String> {
    let Some(spec) = spec(name) else {
        return Err(format!("unknown command {prefix}{name}; {prefix}help lists the commands"));
    };
    let words: Vec<&str> = args.split_whitespace().collect();
    let schedule = |words: &[&str]| -> Result<Schedule, String> {
        match words {
            [time, tz] => Schedule::daily(time, tz).map_err(|e| format!("{e}. {}", usage(spec, prefix))),
            _ => Err(format!("{prefix}{} takes a time and a timezone. {}", spec.name, usage(spec, prefix))),
        }
    };
    Ok(match spec.name {
        "subscribe" => Command::Subscribe { schedule: if words.is_empty() { None } else { Some(schedule(&words)?) } },
        "unsubscribe" => Command::Unsubscribe,
        "time" if words.is_empty() => Command::Settings,
        "time" => Command::SetSchedule { schedule: schedule(&words)? },
        "digest" => Command::DigestNow,
        "podcasts" => match words.split_first() {
            None => Command::Podcasts,
            Some((&"add", rest)) if !rest.is_empty() => Command::PodcastsAdd { query: rest.join(" ") },
            Some((&("remove" | "rm"), [n])) => match n.parse() {
                Ok(n) => Command::PodcastsRemove { n },
                Err(_) => {
                    return Err(format!(
                        "{prefix}podcasts remove takes a number from {prefix}podcasts. Example: {prefix}podcasts remove 2"
                    ));
                }
            },
            _ => {
                return Err(format!(
                    "{prefix}podcasts lists this chat's podcasts; {prefix}podcasts add NAME or address adds one, \
                     {prefix}podcasts remove N removes one. {}",
                    usage(spec, prefix)
                ));
            }
        },
        "ask" => match words.split_first() {
            Some((n, q)) if !q.is_empty() => Command::Ask { reference: n.to_string(), question: q.join(" ") },
            _ => {
                return Err(format!("{prefix}ask takes an insight number and a question. {}", usage(spec, prefix)));
            }
        },
        _ => Command::Help,
    })
}

/// Parses a typed line (`/ask 2 why?`): Ok(None) for text that is not a command.
pub fn parse_line(text: &str) -> Result<Option<Command>, String> {
    let Some(rest) = text.trim().strip_prefix('/') else {
        return Ok(None);
    };
    let (name, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    parse(name, args, "/").map(Some)
}

/// Questions and answers remembered per thread (destination and insight).
const THREAD_TURNS: usize = 3;

/// The time source; a test passes a fixed one.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Runs requests against the store and sends the replies.
pub struct Core {
    store: Store,
    pub config: Config,
    pub deliverer: Arc<Deliverer>,
    pub metrics: Arc<Metrics>,
    /// Writes answers: the offline quoting one, or an LLM's.
    pub answerer: Arc<dyn Answerer>,
    clock: Clock,
    /// The last few questions and answers per (destination, insight), so a follow-up can refer
    /// to the one before. In memory: a restart starts threads afresh.
    threads: Mutex<HashMap<String, VecDeque<(String, String)>>>,
    /// When each reader's (or chat's) costly requests of the last hour came, by kind
    /// ([`Core::allowed`]).
    asked: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
    /// Requests taken and not yet answered: a stopping service gives them its grace period, as
    /// the platform was told they were taken (a webhook answered, an update's offset moved on).
    working: Arc<(std::sync::atomic::AtomicUsize, tokio::sync::Notify)>,
    /// Each chat's requests, in the order submitted.
    in_order: super::inbound::InOrder,
}

/// A request under way, counted in [`Core::working`] until it ends, however it ends.
pub struct Working(Arc<(std::sync::atomic::AtomicUsize, tokio::sync::Notify)>);

impl Drop for Working {
    fn drop(&mut self) {
        if self.0.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            self.0.1.notify_waiters();
        }
    }
}

/// The requests counted per hour.
#[derive(Clone, Copy)]
enum Costly {
    /// A follow-up question (`ask.max_questions_per_hour` per reader).
    Question,
    /// `/podcasts add` by name or address: a directory search or a feed read.
    PodcastLookup,
    /// `/digest` in a chat: the whole digest posted again.
    DigestAgain,
}

/// Podcast searches and feed reads one reader may ask for in an hour: each reads a feed of up
/// to `ingest.max_feed_bytes` or spends the directory's shared quota.
const PODCAST_LOOKUPS_PER_HOUR: usize = 10;
/// Digests one chat may ask to be posted in an hour: each is the whole digest again.
const DIGESTS_AGAIN_PER_HOUR: usize = 3;

impl Core {
    pub fn new(
        store: Store,
        config: Config,
        deliverer: Arc<Deliverer>,
        metrics: Arc<Metrics>,
        answerer: Arc<dyn Answerer>,
    ) -> Core {
        Core {
            store,
            config,
            deliverer,
            metrics,
            answerer,
            clock: Arc::new(Utc::now),
            threads: Mutex::new(HashMap::new()),
            asked: Mutex::new(HashMap::new()),
            working: Arc::default(),
            in_order: Default::default(),
        }
    }

    /// Counts one of the requests that cost podsift work or money (a question, a podcast
    /// looked up, a digest posted again) for `who` at `now`; when the hour's number is reached,
    /// says when the next may come instead.
    fn allowed(&self, what: Costly, who: &str, now: DateTime<Utc>) -> Result<(), String> {
        let (max, kind) = match what {
            Costly::Question => (self.config.ask.max_questions_per_hour, "questions"),
            Costly::PodcastLookup => (PODCAST_LOOKUPS_PER_HOUR, "podcast lookups"),
            Costly::DigestAgain => (DIGESTS_AGAIN_PER_HOUR, "digests asked for"),
        };
        if max == 0 {
            return Ok(());
        }
        let Ok(mut asked) = self.asked.lock() else { return Ok(()) };
        // Bounded: whoever asked more than an hour ago is forgotten first.
        if asked.len() > 10_000 {
            asked.retain(|_, times| times.back().is_some_and(|t| now - *t < chrono::Duration::hours(1)));
        }
        let times = asked.entry(format!("{kind}|{who}")).or_default();
        while times.front().is_some_and(|t| now - *t >= chrono::Duration::hours(1)) {
            times.pop_front();
        }
        if times.len() >= max {
            let next = times.front().map(|t| *t + chrono::Duration::hours(1)).unwrap_or(now);
            let wait = (next - now).num_minutes() + 1;
            return Err(format!(
                "That is {max} {kind} within the hour, as many as allowed: the next can come in {wait} min."
            ));
        }
        times.push_back(now);
        Ok(())
    }

    /// The same core reading the time from `clock`.
    pub fn with_clock(mut self, clock: Clock) -> Core {
        self.clock = clock;
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The one way requests come in: returns at once, so the adapter can acknowledge the
    /// platform within its deadline; the work and its reply follow in the background.
    /// A chat's requests are handled one after another, in the order submitted.
    pub fn submit(self: &Arc<Self>, request: Request) {
        Metrics::add(&self.metrics.requests, 1);
        let core = self.clone();
        let working = self.taking();
        self.in_order.spawn(request.destination.key(), async move {
            let _working = working;
            core.handle_and_reply(request).await
        });
    }

    /// Counts a request as taken until the returned guard is dropped: an adapter that still asks
    /// its platform something (whether the sender is an admin) before it submits the request
    /// holds one meanwhile, so that a stopping service waits for that request too.
    pub fn taking(&self) -> Working {
        self.working.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Working(self.working.clone())
    }

    /// Waits until every request taken so far is answered, or `grace` has passed; whether they
    /// all were.
    pub async fn requests_answered(&self, grace: std::time::Duration) -> bool {
        let all_done = async {
            loop {
                let notified = self.working.1.notified();
                if self.working.0.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(grace, all_done).await.is_ok()
    }

    /// Which insight (date, rank) a message podsift sent here is about, if any.
    pub fn insight_for_message(&self, destination: &Destination, message_id: &str) -> Option<(NaiveDate, usize)> {
        match self.store.message_ref(&destination.key(), message_id) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(%destination, "cannot look up a sent message: {e}");
                None
            }
        }
    }

    /// Remembers that a platform message (a thread an adapter opened for an insight, say) is
    /// about insight `rank` of `date`, so questions in it reach that insight.
    pub fn remember_message(&self, destination: &Destination, message_id: &str, date: NaiveDate, rank: usize) {
        if let Err(e) = self.store.put_message_ref(&destination.key(), message_id, date, rank) {
            tracing::error!(%destination, "cannot remember a sent message: {e}");
        }
    }

    /// The help text as `platform` shows it: its way of typing commands and of asking.
    pub fn help_text(&self, platform: &str) -> String {
        help(self.deliverer.command_prefix(platform), self.config.digest.size, self.deliverer.how_to_ask(platform))
    }

    /// True the first time `key` (a platform's event id) is seen, also across restarts: a
    /// platform's retry of an event already taken is recognised and dropped.
    pub fn first_time(&self, key: &str) -> bool {
        self.store.first_seen(key, self.now()).unwrap_or_else(|e| {
            // Better to answer twice than never.
            tracing::error!("cannot record an event as seen: {e}");
            true
        })
    }

    /// Keeps a credential an adapter obtained (a workspace's bot token after an install).
    pub fn save_credential(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.store.put_credential(key, value)
    }

    /// The credentials whose key starts with `prefix`, as (key, value).
    pub fn credentials(&self, prefix: &str) -> Vec<(String, String)> {
        self.store.credentials(prefix).unwrap_or_else(|e| {
            tracing::error!("cannot read stored credentials: {e}");
            Vec::new()
        })
    }

    pub fn forget_credential(&self, key: &str) {
        if let Err(e) = self.store.remove_credential(key) {
            tracing::error!("cannot remove a stored credential: {e}");
        }
    }

    /// A day's digest as a chat was shown it: the insights its outbox record of that day lists,
    /// in that order, when it was sent one; else through its subscription's filters, as the
    /// schedule sends it. Renumbered either way.
    fn as_seen(&self, records: &[Delivery], sub: Option<&Subscription>, date: NaiveDate, d: Digest) -> Digest {
        match records.iter().find(|r| r.date == date && !r.shown.is_empty()) {
            Some(rec) => d.as_shown(&rec.shown),
            None => match sub {
                Some(s) => s.filter(&d, records, self.config.digest.novelty_days, self.config.digest.size),
                None => d,
            },
        }
    }

    /// When `sub`'s next digest comes, or that none does while it is paused.
    fn next_for(&self, sub: &Subscription, now: DateTime<Utc>, prefix: &str) -> String {
        match &sub.paused {
            // The platform refused to post here: resuming alone would fail the same way.
            Some(why) if let Some(refusal) = why.strip_prefix(super::fanout::GONE) => format!(
                "Digests here are paused: podsift could not post here ({refusal}). Once it may post here \
                 again, {prefix}subscribe resumes them."
            ),
            Some(why) => format!("Digests here are paused ({why}): {prefix}subscribe resumes them."),
            None => {
                coming_digest(&sub.schedule, now, false, self.owed_since(sub), day_done(&self.store, &sub.destination))
            }
        }
    }

    /// What [`coming_digest`] needs to tell a digest the delivery round still owes `sub`.
    fn owed_since(&self, sub: &Subscription) -> (DateTime<Utc>, chrono::Duration) {
        (sub.created_at, chrono::Duration::minutes(self.config.delivery.catch_up_minutes as i64))
    }

    /// The chat's own day: its schedule's timezone, else the digest's.
    fn today_of(&self, sub: Option<&Subscription>, now: DateTime<Utc>) -> NaiveDate {
        sub.and_then(|s| s.schedule.local_date(now).ok()).unwrap_or_else(|| digest::today(&self.config.digest, now))
    }

    /// Runs `f` with the way `destination` reads insight numbers (see [`ask::Scope`]).
    fn with_scope<R>(
        &self,
        destination: &Destination,
        now: DateTime<Utc>,
        f: impl FnOnce(&ask::Scope) -> R,
    ) -> Result<R, StoreError> {
        let key = destination.key();
        let sub = self.store.subscription(&key)?;
        let list = self.store.podcast_list(&key)?;
        let today = self.today_of(sub.as_ref(), now);
        let records = self.store.deliveries_of(&key)?;
        // A bare number means the last digest the chat was sent (today's not yet come, a
        // weekday schedule on a Saturday), or today's when it was never sent one.
        let sent = |d: &&Delivery| matches!(d.state, DeliveryState::Sent { .. }) || !d.sent.is_empty();
        // Whatever its date: after a move to a timezone further west the chat's own day can be
        // before that of the digest it was just sent.
        let latest = records.iter().filter(sent).map(|d| d.date).max().unwrap_or(today);
        let delivered = |date| self.delivered_list(destination, date);
        let seen = |date, d| self.as_seen(&records, sub.as_ref(), date, d);
        let may_build = sub.as_ref().is_none_or(|s| s.paused.is_none()) && !self.store.waits_for_reading(&key)?;
        Ok(f(&ask::Scope { today, latest, list: list.as_deref(), may_build, delivered: &delivered, seen: &seen }))
    }

    /// What a chat back with podcasts nobody read meanwhile is told ([`Store::wake`]): `why`
    /// they were not ("its digests were paused").
    fn unread_podcasts(&self, why: &str) -> String {
        format!(
            "This chat's own podcasts were not read while {why}; podsift reads them again at its next ingest (every \
             {} minutes).",
            self.config.service.ingest_every_minutes
        )
    }

    /// The list id of the digest `destination` was sent on `date`, when one was sent: questions
    /// about its numbers mean that digest, whatever the list is now.
    fn delivered_list(&self, destination: &Destination, date: NaiveDate) -> Option<Option<String>> {
        let sent = |d: &Delivery| matches!(d.state, DeliveryState::Sent { .. }) || !d.sent.is_empty();
        self.store.delivery(&destination.key(), date).ok().flatten().filter(sent).map(|d| d.list)
    }

    /// Tells each destination whose own list holds a podcast that keeps failing, once per spell
    /// of failures.
    pub async fn report_failing_feeds(&self) {
        let now = self.now();
        let notices = match podcasts::failing(&self.store, &self.config, now, |p| self.deliverer.command_prefix(p)) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!("cannot look for failing podcasts: {e}");
                return;
            }
        };
        for (dest, key, text) in notices {
            if self.deliverer.has_adapter(&dest.platform) && self.first_time(&key) {
                // Marked first, so that two rounds never both send it. A notice the platform
                // could not take for now is tried again at the next round; one it refuses (the
                // chat is gone, the bot blocked) is not, or it would be tried every few minutes.
                match self.deliverer.send_now(&dest, None, &Message::Notice(text)).await {
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(destination = %dest.redacted(), "failing-podcast notice not delivered: {e}");
                        let passing =
                            matches!(e, SendError::Transient(_) | SendError::RateLimited { .. } | SendError::Busy(_));
                        if passing {
                            if let Err(e) = self.store.forget_seen(&key) {
                                tracing::error!("cannot take back a notice's mark: {e}");
                            }
                        }
                    }
                }
            }
        }
    }

    /// Whether `destination` is subscribed or has podcasts of its own.
    pub fn knows(&self, destination: &Destination) -> bool {
        let key = destination.key();
        self.store.subscription(&key).ok().flatten().is_some()
            || self.store.podcast_list(&key).ok().flatten().is_some_and(|l| !l.is_empty())
    }

    /// A chat that moved (a Telegram group upgraded to a supergroup says so as it happens): its
    /// subscription, podcasts and outbox records follow at once, so that the chat under its new
    /// id is not taken for one never subscribed until the next digest finds the old id gone.
    pub fn chat_moved(&self, from: &Destination, new_id: &str) {
        if self.knows(from) && from.id != new_id {
            if let Err(e) = self.deliverer.follow_move(from, new_id) {
                tracing::error!(from = %from, "cannot move the chat's subscription to {new_id}: {e}");
            }
        }
    }

    /// Pauses every subscription on `platform` whose id starts with `id_prefix` (a workspace
    /// that uninstalled the app), with the reason; returns how many.
    pub fn pause_destinations(&self, platform: &str, id_prefix: &str, reason: &str) -> usize {
        self.set_paused(platform, id_prefix, None, Some(reason))
    }

    /// Resumes the subscriptions of `platform` whose id starts with `id_prefix` that were paused
    /// for `reason` exactly (an app installed again resumes what its removal paused, nothing an
    /// operator or a chat paused); how many.
    pub fn resume_destinations(&self, platform: &str, id_prefix: &str, reason: &str) -> usize {
        self.set_paused(platform, id_prefix, Some(reason), None)
    }

    /// Moves the subscriptions of `platform` under `id_prefix` whose pause is `from` (None: not
    /// paused) to `to`; how many moved.
    fn set_paused(&self, platform: &str, id_prefix: &str, from: Option<&str>, to: Option<&str>) -> usize {
        let mut moved = 0;
        for sub in self.store.subscriptions_iter() {
            let Ok(mut sub) = sub else { continue };
            if sub.destination.platform == platform
                && sub.destination.id.starts_with(id_prefix)
                && sub.paused.as_deref() == from
            {
                sub.paused = to.map(str::to_string);
                if to.is_none() {
                    sub.owed_from = Some(Utc::now());
                }
                if self.store.put_subscription(&sub).is_ok() {
                    moved += 1;
                }
            }
        }
        let _ = self.store.flush();
        moved
    }

    /// Handles a request and returns the reply to send, if any (feedback gets none: the adapter
    /// acknowledges the button press itself).
    pub async fn handle(&self, request: &Request, now: DateTime<Utc>) -> Result<Option<Message>, StoreError> {
        let key = request.destination.key();
        self.wake_if_idle(&key, now)?;
        let reply = self.handle_request(request, now).await;
        // Only a chat's own list is read for it alone: its requests keep that list read.
        if let Err(e) = self.note_request(&key, now) {
            tracing::error!(destination = %request.destination.redacted(), "cannot note a chat's request: {e}");
        }
        reply
    }

    fn note_request(&self, key: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        if self.store.podcast_list(key)?.is_some_and(|l| !l.is_empty()) {
            self.store.mark_active(key, now)?;
        }
        Ok(())
    }

    /// A chat without a subscription back after [`crate::store::READER_IDLE_DAYS`]: it counts
    /// as a reader again at once (an ingest beginning now reads its podcasts), and its
    /// podcasts nobody read meanwhile are waited for ([`Store::wake`]).
    fn wake_if_idle(&self, key: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        if self.store.podcast_list(key)?.is_some_and(|l| !l.is_empty())
            && self.store.subscription(key)?.is_none()
            && self.store.idle_since(key, now)?
        {
            self.store.mark_active(key, now)?;
            self.store.wake(key, now)?;
        }
        Ok(())
    }

    async fn handle_request(&self, request: &Request, now: DateTime<Utc>) -> Result<Option<Message>, StoreError> {
        let notice = |text: String| Ok(Some(Message::Notice(text)));
        let destination = &request.destination;
        let prefix = self.deliverer.command_prefix(&destination.platform);
        let needs_manager = matches!(
            request.command,
            Command::Subscribe { .. }
                | Command::Unsubscribe
                | Command::SetSchedule { .. }
                | Command::PodcastsAdd { .. }
                | Command::PodcastsRemove { .. }
        );
        if needs_manager && request.sender.can_manage == Some(false) {
            return notice(
                "Only people who can manage this chat can subscribe it, unsubscribe it, change its time or its podcasts."
                    .into(),
            );
        }
        match &request.command {
            Command::Subscribe { schedule } => {
                let existing = self.store.subscription(&destination.key())?;
                // A chat already subscribed keeps its time unless it names one (Telegram sends a
                // bare /start whenever someone opens the bot anew).
                let schedule = match (schedule, &existing) {
                    (Some(s), _) => s.clone(),
                    (None, Some(s)) => s.schedule.clone(),
                    (None, None) => {
                        match Schedule::daily(&self.config.service.default_time, &self.config.service.default_timezone)
                        {
                            Ok(s) => s,
                            Err(e) => return notice(format!("The operator's default schedule is invalid: {e}")),
                        }
                    }
                };
                let was_paused = existing.as_ref().is_some_and(|s| s.paused.is_some());
                let moved = existing.as_ref().is_some_and(|s| s.schedule != schedule);
                let replaced = match existing.as_ref().map(|s| &s.schedule) {
                    Some(old @ Schedule::Cron { .. }) if moved => replaces(old),
                    _ => String::new(),
                };
                let first = existing.is_none();
                let sub = match existing {
                    Some(mut s) => {
                        if was_paused || moved {
                            s.owed_from = Some(now);
                        }
                        s.schedule = schedule;
                        s.paused = None;
                        s
                    }
                    None => Subscription::new(destination.clone(), schedule, &request.sender.id, now),
                };
                self.store.put_subscription(&sub)?;
                // Podcasts only this chat follows were not read while it was paused: waited for,
                // once it reads again.
                let unread = was_paused && self.store.wake(&destination.key(), now)?;
                self.store.flush()?;
                let done = day_done(&self.store, destination);
                let coming = if unread {
                    format!(
                        "{} Its next digest waits for that ingest, up to {} minutes past its time.",
                        self.unread_podcasts("its digests were paused"),
                        self.config.delivery.catch_up_minutes / 2
                    )
                } else {
                    coming_digest(&sub.schedule, now, first, self.owed_since(&sub), done)
                };
                let what = if first {
                    "Subscribed"
                } else if was_paused {
                    "Resumed"
                } else if moved {
                    "Time changed"
                } else {
                    "Already subscribed"
                };
                notice(format!(
                    "{what}: the top {} {}.{replaced} {coming} In another timezone? {prefix}time HH:MM Area/City \
                     (e.g. {prefix}time 07:30 Europe/Berlin). {prefix}unsubscribe stops it.",
                    self.config.digest.size,
                    sub.schedule.when(),
                ))
            }
            Command::Unsubscribe => {
                let was_paused = self.store.subscription(&destination.key())?.is_some_and(|s| s.paused.is_some());
                if self.store.remove_subscription(&destination.key())? {
                    // Its list now counts as a reader's (it may still ask for digests): what it
                    // brings was not read while paused.
                    if was_paused {
                        self.store.wake(&destination.key(), now)?;
                    }
                    self.store.flush()?;
                    notice(format!("Unsubscribed: no more daily digests here. {prefix}subscribe to subscribe again."))
                } else {
                    notice(format!("This chat is not subscribed. {prefix}subscribe subscribes it."))
                }
            }
            Command::SetSchedule { schedule } => match self.store.subscription(&destination.key())? {
                Some(mut s) => {
                    let replaced = match &s.schedule {
                        old @ Schedule::Cron { .. } => replaces(old),
                        Schedule::Daily { .. } => String::new(),
                    };
                    if s.schedule != *schedule {
                        s.owed_from = Some(now);
                    }
                    s.schedule = schedule.clone();
                    self.store.put_subscription(&s)?;
                    self.store.flush()?;
                    let coming = self.next_for(&s, now, prefix);
                    notice(format!("The digest now comes {}.{replaced} {coming}", s.schedule.when()))
                }
                None => {
                    notice(format!("This chat is not subscribed yet: {prefix}subscribe HH:MM Area/City subscribes it."))
                }
            },
            Command::Settings => match self.store.subscription(&destination.key())? {
                None => notice(format!(
                    "This chat is not subscribed: {prefix}subscribe subscribes it (at the operator's time, or \
                     {prefix}subscribe HH:MM Area/City)."
                )),
                Some(s) => {
                    let mut said =
                        vec![format!("This chat gets the top {} {}.", self.config.digest.size, s.schedule.when())];
                    said.push(self.next_for(&s, now, prefix));
                    said.push(match self.store.podcast_list(&destination.key())?.filter(|l| !l.is_empty()) {
                        Some(l) => format!("It follows its own {} podcast(s): {prefix}podcasts lists them.", l.len()),
                        None => format!("It follows the operator's podcasts; {prefix}podcasts add NAME picks its own."),
                    });
                    for (what, list) in [
                        ("only these podcasts", &s.only_podcasts),
                        ("not these", &s.mute_podcasts),
                        ("keywords", &s.keywords),
                    ] {
                        if !list.is_empty() {
                            said.push(format!("The operator set {what}: {}.", list.join(", ")));
                        }
                    }
                    said.push(format!("{prefix}time HH:MM Area/City changes the time."));
                    notice(said.into_iter().filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" "))
                }
            },
            Command::DigestNow => {
                let sub = self.store.subscription(&destination.key())?;
                // The chat's own day: the one its schedule would send, and counts as sent.
                let date = self.today_of(sub.as_ref(), now);
                // Paused means no digest here, asked for or not, until resumed (nor the rest of
                // one cut off before): podcasts only paused chats follow are not even read
                // meanwhile (a digest built now would lack them, and stand for the day).
                if let Some(paused) = sub.as_ref().filter(|s| s.paused.is_some()) {
                    return notice(self.next_for(paused, now, prefix));
                }
                // Sent today already: that digest, so its numbers keep meaning what they meant.
                let d = match self.delivered_list(destination, date) {
                    Some(list) => match self.store.digest_of(date, list.as_deref())? {
                        Some(d) => d,
                        None => return notice(format!("No insights for {date} yet.")),
                    },
                    // Likewise for a chat that left long ago: its podcasts are read again from
                    // now on.
                    None if self.store.waits_for_reading(&destination.key())? => {
                        let (why, offer) = match &sub {
                            Some(_) => ("its digests were paused", String::new()),
                            None => ("nobody here asked for one", format!(", or {prefix}subscribe for a daily digest")),
                        };
                        return notice(format!("{} Ask again then{offer}.", self.unread_podcasts(why)));
                    }
                    None => {
                        let list = self.store.podcast_list(&destination.key())?;
                        digest::build_or_get_for(&self.store, &self.config.digest, date, now, list.as_deref())?
                    }
                };
                let all = d.insights.len();
                let records = self.store.deliveries_of(&destination.key())?;
                // The same insights and numbers the schedule sends here.
                let seen = self.as_seen(&records, sub.as_ref(), date, d.clone());
                if all == 0 && seen.insights.is_empty() {
                    notice(format!("No insights for {date} yet: no new episode with a transcript so far today."))
                } else if seen.insights.is_empty() {
                    let why_nothing = sub.as_ref().map(|s| s.why_nothing(&d, &records)).unwrap_or_default();
                    notice(format!("Of the {all} insight(s) of {date}, {why_nothing}."))
                } else if let Err(wait) = self.allowed(Costly::DigestAgain, &destination.key(), now) {
                    // Counted only when a digest is posted: a "not yet" costs nothing.
                    notice(wait)
                } else {
                    // None of the day's own, but what the chat missed of the days before: the
                    // day's digest is kept as sent, so that their numbers can be asked about.
                    // (Another chat's may have been kept a moment before: that one is shown.)
                    if all == 0 {
                        let kept = digest::keep(&self.store, d)?;
                        return Ok(Some(Message::Digest(self.as_seen(&records, sub.as_ref(), date, kept))));
                    }
                    Ok(Some(Message::Digest(seen)))
                }
            }
            Command::Ask { reference, question } => self.answer(request, reference, question, now).await,
            Command::AskAbout { message_id, question } => match self.insight_for_message(destination, message_id) {
                Some((date, rank)) => self.answer(request, &format!("{date}#{rank}"), question, now).await,
                None => notice(format!(
                    "That message is not one of the insights, so I cannot tell what the question is about. Reply to \
                     an insight's own message, or ask with {prefix}ask N question (e.g. {prefix}ask 2 what exactly \
                     was said?)."
                )),
            },
            Command::PromptQuestion { reference } => {
                match self.with_scope(destination, now, |scope| {
                    ask::resolve_in(&self.store, &self.config.digest, reference, now, scope)
                })? {
                    Ok((digest, entry)) => Ok(Some(Message::AskPrompt { date: digest.date, rank: entry.rank })),
                    Err(ask::AskError::Store(e)) => Err(e),
                    Err(e) => notice(said(&e)),
                }
            }
            Command::Feedback { insight, up } => {
                // One vote per reader per insight in each chat: a second click changes it.
                let voter = format!("{}|{}", destination.key(), request.sender.id);
                self.store.put_feedback(&voter, insight, *up)?;
                Ok(None)
            }
            Command::Podcasts => notice(podcasts::list(&self.store, destination, prefix)?),
            Command::PodcastsAdd { query } => {
                // Every add counts: a search, an address, and a choice too (a feed not read yet
                // is read, and a removed one read again).
                if let Err(wait) = self.allowed(Costly::PodcastLookup, &request.sender.id, now) {
                    return notice(wait);
                }
                Ok(Some(podcasts::add(&self.store, &self.config, destination, query, prefix, now).await?))
            }
            Command::PodcastsRemove { n } => notice(podcasts::remove(&self.store, destination, *n, prefix)?),
            Command::Help => notice(self.help_text(&destination.platform)),
        }
    }

    async fn answer(
        &self,
        request: &Request,
        reference: &str,
        question: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError> {
        let destination = &request.destination;
        let found = self.with_scope(destination, now, |scope| {
            ask::resolve_in(&self.store, &self.config.digest, reference, now, scope)
        })?;
        let (digest, entry) = match found {
            Ok(found) => found,
            Err(ask::AskError::Store(e)) => return Err(e),
            Err(e) => return Ok(Some(Message::Notice(said(&e)))),
        };
        if let Err(wait) = self.allowed(Costly::Question, &request.sender.id, now) {
            return Ok(Some(Message::Notice(wait)));
        }
        // Each reader's questions are their own: replies may be private (Discord's and Slack's
        // are), and a thread shared by a channel would hand one reader's questions to the
        // model answering another, who could ask it to repeat them.
        let thread = format!("{}/{}#{}/{}", destination.key(), digest.date, entry.rank, request.sender.id);
        let history: Vec<(String, String)> = self.thread(&thread).into_iter().collect();
        match ask::ask(&self.store, &self.config.ask, &entry, question, self.answerer.as_ref(), &history).await {
            Ok(answer) => {
                self.remember(&thread, question, &answer.answer);
                Metrics::add(&self.metrics.questions_answered, 1);
                Ok(Some(Message::Answer { date: digest.date, entry: Box::new(entry), answer }))
            }
            Err(ask::AskError::Store(e)) => Err(e),
            Err(e) => Ok(Some(Message::Notice(said(&e)))),
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

    /// Handles a request and sends the reply; errors are logged, never fatal to the service.
    pub async fn handle_and_reply(&self, request: Request) {
        let dest = &request.destination;
        let now = self.now();
        // What is not the digest itself goes to the asker alone, where the adapter says so.
        let private = request.notice_to.as_ref().or(request.reply_to.as_ref());
        // A digest is sent under the destination's claim, as the schedule sends one (and under
        // its new id's too, should the chat move on the way), taken before the day's record is
        // read: a scheduled send finishing in between would otherwise be posted again.
        let mut claims = Vec::new();
        if matches!(request.command, Command::DigestNow) {
            match self.deliverer.claim(&dest.key()) {
                Some(claim) => claims.push(claim),
                None => {
                    self.reply(dest, private, &busy_notice()).await;
                    return;
                }
            }
        }
        match self.handle(&request, now).await {
            Ok(Some(reply @ Message::Digest(_))) => {
                if claims.is_empty() {
                    match self.deliverer.claim(&dest.key()) {
                        Some(claim) => claims.push(claim),
                        None => {
                            self.reply(dest, private, &busy_notice()).await;
                            return;
                        }
                    }
                }
                let Message::Digest(digest) = &reply else { return };
                // Begun here before and cut off part-way (by the schedule or an earlier ask): the
                // rest is posted, not the whole digest again. Read under the claim.
                let begun = self.begun(dest, digest);
                let from = begun.as_ref().map_or(0, |b| b.sent.len());
                let refused_last =
                    begun.as_ref().and_then(|b| b.sent.last()).is_some_and(|(_, id)| !crate::model::delivered(id));
                let posted = self
                    .reply_claimed(dest, request.reply_to.as_ref(), &reply, (from, refused_last), &mut claims)
                    .await;
                // Recorded where it went (a chat that moved on the way has its record there),
                // before the claim is let go: a scheduled delivery then finds it.
                let recorded = self.record_digest_on_request(&posted, begun, digest, now);
                // Gone (removed, or podsift refused there): the schedule would only fail the same way.
                if let Some(SendError::Gone(reason)) = &posted.failed
                    && let Err(e) = self.deliverer.pause_gone(&posted.to, reason)
                {
                    tracing::error!(destination = %posted.to.redacted(), "cannot pause a gone chat: {e}");
                }
                drop(claims);
                let prefix = self.deliverer.command_prefix(&dest.platform);
                // An outage passes (and a chat that moved is followed); what the platform refuses
                // here, it refuses again.
                let passes = |e: &SendError| {
                    matches!(e, SendError::Transient(_) | SendError::RateLimited { .. } | SendError::Moved(_))
                };
                let advice = |e: &SendError| {
                    if passes(e) {
                        "in a while, try again"
                    } else {
                        "the platform refuses it here, so asking again will not help"
                    }
                };
                let told = match &posted.failed {
                    // A record cut off after its last part: nothing was left to post.
                    None if posted.parts.is_empty() && from > 0 => {
                        format!("The digest of {} was posted here already.", digest.date)
                    }
                    None => {
                        let posted_here = self.posted_on_request(&posted.to, digest, recorded, from > 0, now);
                        let refused: Vec<String> = posted
                            .parts
                            .iter()
                            .filter(|(_, id)| !crate::model::delivered(id))
                            .filter_map(|(rank, _)| rank.map(|r| format!("#{r}")))
                            .collect();
                        if refused.is_empty() {
                            posted_here
                        } else {
                            format!("{posted_here} ({} refused by the platform here, so left out.)", refused.join(", "))
                        }
                    }
                    // The chat is told that already, by the notice sent where it moved.
                    Some(SendError::Busy(_)) => return,
                    // Said to the asker, who would otherwise wait for a digest that never comes.
                    Some(e @ SendError::Gone(_)) => format!(
                        "Posting the digest here failed ({e}). {}",
                        self.store
                            .subscription(&posted.to.key())
                            .ok()
                            .flatten()
                            .map(|sub| self.next_for(&sub, now, prefix))
                            .unwrap_or_else(|| format!("{}.", advice(e)))
                    ),
                    Some(e) if posted.parts.is_empty() && from == 0 => {
                        format!("Posting the digest here failed ({e}): {}.", advice(e))
                    }
                    Some(e) => format!(
                        "Posting the digest here stopped after {} of its {} messages ({e}): {}{}.",
                        from + posted.parts.len(),
                        posted.of,
                        advice(e),
                        if passes(e) { format!(" ({prefix}digest then posts only the rest)") } else { String::new() }
                    ),
                };
                // Where the digest itself is the reply (Telegram), only a failure, or that nothing
                // was left to post, needs saying.
                let nothing_posted = posted.parts.is_empty() && from > 0;
                if request.notice_to.is_some() || posted.failed.is_some() || nothing_posted {
                    self.reply(dest, private, &Message::Notice(told)).await;
                }
            }
            Ok(Some(reply)) => {
                // No digest is coming: the schedule may send here while this is said.
                drop(claims);
                self.reply(dest, private, &reply).await;
            }
            Ok(None) => {}
            Err(e) => tracing::error!(destination = %dest.redacted(), "command failed: {e}"),
        }
    }

    /// What the asker of a digest posted for everyone is told: that it (or the `rest` of one cut
    /// off before) is there, that it stands for the chat's digest of that day when it does, and
    /// when the next one comes.
    fn posted_on_request(
        &self,
        to: &Destination,
        digest: &Digest,
        recorded: bool,
        rest: bool,
        now: DateTime<Utc>,
    ) -> String {
        let what = if rest { "The rest of the digest" } else { "The digest" };
        let posted = format!("{what} of {} is posted here.", digest.date);
        match self.store.subscription(&to.key()).ok().flatten() {
            Some(sub) if recorded => format!(
                "{posted} It counts as this chat's digest of that day: the schedule does not send it again. {}",
                self.next_for(&sub, now, self.deliverer.command_prefix(&to.platform))
            ),
            _ => posted,
        }
    }

    /// The record of `digest` sent to `dest` and cut off part-way (not done, some parts sent, the
    /// same insights shown), whose rest a digest asked for now finishes.
    fn begun(&self, dest: &Destination, digest: &Digest) -> Option<Delivery> {
        let rec = self.store.delivery(&dest.key(), digest.date).ok().flatten()?;
        let same = rec.shown.iter().eq(digest.insights.iter().map(|e| &e.id));
        let whole = matches!(rec.state, DeliveryState::Sent { .. });
        (!whole && !rec.sent.is_empty() && same).then_some(rec)
    }

    /// A digest sent because the reader asked counts as that day's delivery: the schedule does
    /// not send the same digest to the same chat again that day. One that stopped part-way is
    /// recorded as a scheduled one cut off would be: the schedule (or the next ask) sends only
    /// the parts that did not go out, not the whole digest again. `begun` is the record whose
    /// rest it posted.
    fn record_digest_on_request(
        &self,
        posted: &Posted,
        begun: Option<Delivery>,
        digest: &Digest,
        now: DateTime<Utc>,
    ) -> bool {
        let (dest, date) = (&posted.to, digest.date);
        match &posted.failed {
            // Nothing more went out, or it went where another send holds the chat: that one's
            // record stands.
            Some(SendError::Busy(_)) => return false,
            Some(_) if posted.parts.is_empty() => return false,
            _ => {}
        }
        let result = self.store.delivery(&dest.key(), date).and_then(|existing| {
            // A scheduled delivery still pending or waiting to retry is this one now: left as it
            // was, it would send the same digest again at its next try.
            if existing.as_ref().is_some_and(|e| matches!(e.state, DeliveryState::Sent { .. })) {
                return Ok(false);
            }
            let state = match (&posted.failed, existing.as_ref().map(|e| &e.state)) {
                (None, _) => DeliveryState::Sent { at: now },
                // A day given up is not reopened by a part-way post; its parts are recorded.
                (Some(_), Some(skipped @ DeliveryState::Skipped { .. })) => skipped.clone(),
                (Some(e), _) => DeliveryState::Failed { error: format!("a digest asked for stopped part-way: {e}") },
            };
            // A retry the schedule had set keeps its count and time.
            let (attempts, retry_at) = existing.as_ref().map_or((0, None), |e| (e.attempts, e.retry_at));
            let retry_at = retry_at.filter(|_| posted.failed.is_some());
            let mut sent: Vec<(Option<usize>, String)> = begun.map(|b| b.sent).unwrap_or_default();
            sent.extend(posted.parts.iter().cloned());
            // Only what makes later copies leave out a point: not worth losing the record over.
            let reserve_points = match self.store.digest_of(date, digest.list.as_deref()).ok().flatten() {
                Some(full) => super::reserve_points(&full, digest),
                None => Vec::new(),
            };
            self.store
                .put_delivery(&Delivery {
                    destination: dest.clone(),
                    date,
                    state,
                    attempts,
                    sent,
                    updated_at: now,
                    list: digest.list.clone(),
                    shown: digest.insights.iter().map(|e| e.id.clone()).collect(),
                    retry_at,
                    reserve_points,
                    last_error: existing
                        .as_ref()
                        .and_then(|e| e.last_error.clone())
                        .filter(|_| posted.failed.is_some()),
                })
                .map(|()| true)
        });
        result.unwrap_or_else(|e| {
            tracing::error!(destination = %dest.redacted(), "cannot record the digest sent on request: {e}");
            false
        })
    }

    /// Sends a reply, as a reply to `reply_to` when given. Every part about an insight is
    /// remembered, so that a reply to it reaches that insight. Returns where it went (the chat's
    /// new id, when it moved) and the sent parts' (rank, message id), or None when the reply
    /// could not be delivered (logged).
    pub async fn reply(
        &self,
        dest: &Destination,
        reply_to: Option<&ReplyTarget>,
        reply: &Message,
    ) -> Option<(Destination, Vec<(Option<usize>, String)>)> {
        let posted = self.reply_claimed(dest, reply_to, reply, (0, false), &mut Vec::new()).await;
        posted.failed.is_none().then_some((posted.to, posted.parts))
    }

    /// [`Core::reply`] under `claims` on the destination ([`Deliverer::send_now_claimed`]), from
    /// part `from.0` on (`from.1`: the part before was refused): what went out, with the error
    /// (logged) when not all of it did.
    async fn reply_claimed<'d>(
        &'d self,
        dest: &Destination,
        reply_to: Option<&ReplyTarget>,
        reply: &Message,
        from: (usize, bool),
        claims: &mut Vec<super::fanout::Claim<'d>>,
    ) -> Posted {
        let (result, of) = match self.deliverer.send_now_claimed(dest, reply_to, reply, from, claims).await {
            Ok(sent) => (Ok(sent), 0),
            Err(u) => (Err((u.error, u.sent)), u.parts),
        };
        let (failed, (to, sent)) = match result {
            Ok(sent) => (None, sent),
            Err((e, sent)) => {
                tracing::warn!(destination = %dest.redacted(), "reply not delivered: {e}");
                if let SendError::Busy(moved_to) = &e
                    && let Err(e) = self.deliverer.send_now(moved_to, None, &busy_notice()).await
                {
                    tracing::warn!(destination = %moved_to.redacted(), "reply not delivered: {e}");
                }
                (Some(e), sent)
            }
        };
        // Parts that went out before a failure are answered to like any others.
        let mut parts = Vec::with_capacity(sent.len());
        for (insight, id) in sent {
            if let Some((date, rank)) = insight
                && crate::model::delivered(&id)
            {
                self.remember_message(&to, &id, date, rank);
            }
            parts.push((insight.map(|(_, r)| r), id));
        }
        let of = if failed.is_none() { from.0 + parts.len() } else { of };
        Posted { to, parts, of, failed }
    }
}

/// What went out of a reply: where (the chat's new id, when it moved), each part sent now with
/// its digest rank and message id, of how many parts in all, and, when not all went out, why.
struct Posted {
    to: Destination,
    parts: Vec<(Option<usize>, String)>,
    of: usize,
    failed: Option<SendError>,
}

/// What a chat's new time says of the schedule the operator set on chosen days (a cron), which
/// it replaces: a weekday-only chat then knows it gets weekends too.
fn replaces(old: &Schedule) -> String {
    format!(" It replaces the operator's schedule ({}).", old.when())
}

/// A question's refusal as a chat shows it: a sentence (the same words follow `error:` on the
/// command line).
fn said(e: &ask::AskError) -> String {
    let text = e.to_string();
    let text = match e {
        // These open with a name or the reader's own words, as written.
        ask::AskError::EpisodeGone(_) | ask::AskError::BadRef(_) => text,
        _ => {
            let mut chars = text.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
        }
    };
    if text.ends_with(['.', '?', '!', '"']) { text } else { format!("{text}.") }
}

/// The answer to a `/digest` asked for while the schedule is sending that digest to the chat.
fn busy_notice() -> Message {
    Message::Notice("A digest is being sent here right now; ask again in a minute if none comes.".into())
}

/// Where `destination`'s digest of a day stands, for [`coming_digest`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Day {
    /// Not sent yet, nothing in the way.
    Open,
    /// Had (or given up): that day's is not coming.
    Done,
    /// A send failed; the next try is at this time.
    Retrying(DateTime<Utc>),
    /// Due, but nothing new came yet: sent after an ingest brings some, within the catch-up.
    NothingYet,
}

/// Where each day's digest stands for `destination`, read from its outbox records.
pub fn day_done(store: &Store, destination: &Destination) -> impl Fn(NaiveDate) -> Day {
    let (store, key) = (store.clone(), destination.key());
    move |date| match store.delivery(&key, date).ok().flatten() {
        Some(d) if d.state.is_done() => Day::Done,
        Some(Delivery { retry_at: Some(at), .. }) => Day::Retrying(at),
        Some(d) if super::fanout::waits_for_insights(&d.state) => Day::NothingYet,
        _ => Day::Open,
    }
}

/// When the schedule's next digest comes after `now`, said for a reader: "The first comes
/// today at 08:00 (UTC)." (or "The next comes ..."), past the days `done` says are over (already
/// delivered today); empty when it cannot be told. A time that passed less than `catch_up` ago,
/// after `since` (when the subscription began) and not done, is still delivered, at the next
/// delivery round: that is said instead.
pub fn coming_digest(
    schedule: &Schedule,
    now: DateTime<Utc>,
    first: bool,
    (since, catch_up): (DateTime<Utc>, chrono::Duration),
    day: impl Fn(NaiveDate) -> Day,
) -> String {
    let which = if first { "first" } else { "next" };
    let Ok(tz) = schedule.tz() else { return String::new() };
    let done = |date| day(date) == Day::Done;
    let owed = super::schedule::due(schedule, now, catch_up).unwrap_or_default().into_iter().find_map(|d| match d {
        super::schedule::Due::Now { date, fire } if fire >= since && !done(date) => Some((fire, day(date))),
        _ => None,
    });
    match owed {
        // A next try past the catch-up window is not made: the day is given up then.
        Some((fire, Day::Retrying(at))) if at > fire + catch_up => {}
        Some((_, Day::Retrying(at))) if at > now => {
            return format!(
                "The {which} failed to send and is tried again at {} ({}).",
                at.with_timezone(&tz).format("%H:%M"),
                tz.name()
            );
        }
        Some((fire, Day::NothingYet)) => {
            return format!(
                "The {which} was due at {} ({}), but no new episode has come yet: it is sent once one does, \
                 until {}.",
                fire.with_timezone(&tz).format("%H:%M"),
                tz.name(),
                (fire + catch_up).with_timezone(&tz).format("%H:%M")
            );
        }
        Some((fire, _)) => {
            return format!(
                "The {which} comes in a moment: it was due at {} ({}) and has not been sent yet.",
                fire.with_timezone(&tz).format("%H:%M"),
                tz.name()
            );
        }
        None => {}
    }
    let mut after = now;
    let mut next = None;
    // A few days at most: a day is done only once it has been delivered.
    for _ in 0..8 {
        let Some(fire) = super::schedule::next_fire(schedule, after) else { return String::new() };
        if !done(fire.with_timezone(&tz).date_naive()) {
            next = Some(fire);
            break;
        }
        after = fire + chrono::Duration::seconds(1);
    }
    let Some(fire) = next else { return String::new() };
    let local = fire.with_timezone(&tz);
    let today = now.with_timezone(&tz).date_naive();
    let day = if local.date_naive() == today {
        "today".to_string()
    } else if Some(local.date_naive()) == today.succ_opt() {
        "tomorrow".to_string()
    } else {
        format!("on {}", local.format("%A %Y-%m-%d"))
    };
    format!("The {which} comes {day} at {} ({}).", local.format("%H:%M"), tz.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A question's refusal reads as a sentence in a chat, names and the reader's words as
    /// written, one closing stop.
    #[test]
    fn refusals_of_questions_are_sentences() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let unknown =
            ask::AskError::UnknownInsight { date, n: 6, valid: "1-5 (or 2026-11-28#1 to 2026-11-28#5)".into() };
        assert_eq!(
            said(&unknown),
            "There is no insight #6 in the digest of 2026-11-28; valid: 1-5 (or 2026-11-28#1 to 2026-11-28#5)."
        );
        assert!(said(&ask::AskError::EmptyQuestion).starts_with("The question is empty"));
        assert!(said(&ask::AskError::EmptyQuestion).ends_with("about that?\""));
        let gone = said(&ask::AskError::EpisodeGone("iPhone Life — Episode 12".into()));
        assert!(gone.starts_with("iPhone Life — Episode 12 is no longer stored") && gone.ends_with("back."), "{gone}");
    }

    #[test]
    fn chat_commands_parse_or_explain() {
        assert_eq!(parse_line("hello there"), Ok(None));
        assert_eq!(parse_line("/HELP"), Ok(Some(Command::Help)));
        assert_eq!(
            parse_line("/ask 2 what was said?"),
            Ok(Some(Command::Ask { reference: "2".into(), question: "what was said?".into() }))
        );
        match parse_line("/start 07:30 Europe/Berlin") {
            Ok(Some(Command::Subscribe { schedule: Some(s) })) => assert_eq!(s.describe(), "07:30 Europe/Berlin"),
            other => panic!("{other:?}"),
        }
        assert_eq!(parse("stop", "", "/"), Ok(Command::Unsubscribe));
        assert!(parse_line("/time 7pm Berlin").unwrap_err().contains("Example: /time 07:30 Europe/Berlin"));
        assert_eq!(parse_line("/time"), Ok(Some(Command::Settings)));
        assert!(parse("time", "7pm", "/podsift ").unwrap_err().contains("Example: /podsift time 07:30 Europe/Berlin"));
        assert!(parse_line("/ask 2").unwrap_err().contains("Example: /ask 2"));
        assert!(parse_line("/frobnicate").unwrap_err().contains("/help"));
        let podcasts = parse_line("/podcasts foo").unwrap_err();
        assert!(podcasts.contains("adds one, /podcasts remove N"), "{podcasts}");
    }

    #[test]
    fn help_lists_every_command_of_the_table_in_the_platforms_syntax() {
        let h = help("/podsift ", 3, "Or press Ask under one of the insights.");
        // The digest's size as configured, and how a question is asked on that platform.
        assert!(h.starts_with("podsift sends the day's top 3 podcast insights"), "{h}");
        assert!(h.ends_with("Or press Ask under one of the insights."), "{h}");
        for c in COMMANDS {
            assert!(h.contains(&format!("/podsift {}", c.name)), "{h}");
            assert!(h.contains(c.summary), "{h}");
        }
        assert_eq!(spec("START").map(|c| c.name), Some("subscribe"));
        assert_eq!(spec("stop").map(|c| c.access), Some(Access::Managers));
        assert_eq!(spec("ask").map(|c| c.access), Some(Access::Anyone));
        // Anyone may list a chat's podcasts; changing them is for its managers.
        assert!(h.contains("(adding and removing: people who manage this chat)"), "{h}");
        assert!(spec("podcasts").is_some_and(|c| c.access.asks_who()));
    }

    #[test]
    fn the_first_digest_is_announced_in_the_subscribers_time() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let daily = Schedule::daily("08:00", "UTC").unwrap();
        let window = chrono::Duration::minutes(360);
        // Subscribed just now: a time already past today was never owed.
        let new = |now| (now, window);
        let now = at("2026-11-28T08:17:00Z");
        assert_eq!(
            coming_digest(&daily, now, true, new(now), |_| Day::Open),
            "The first comes tomorrow at 08:00 (UTC)."
        );
        let now = at("2026-11-28T07:59:00Z");
        assert_eq!(coming_digest(&daily, now, true, new(now), |_| Day::Open), "The first comes today at 08:00 (UTC).");
        let berlin = Schedule::daily("07:30", "Europe/Berlin").unwrap();
        let now = at("2026-11-28T05:00:00Z");
        assert_eq!(
            coming_digest(&berlin, now, true, new(now), |_| Day::Open),
            "The first comes today at 07:30 (Europe/Berlin)."
        );
        // Today's already sent (a chat that subscribes again): the next is tomorrow's.
        let sent_today =
            |d: NaiveDate| if d == at("2026-11-28T00:00:00Z").date_naive() { Day::Done } else { Day::Open };
        let long_ago = (at("2026-01-01T00:00:00Z"), window);
        let now = at("2026-11-28T07:59:00Z");
        assert_eq!(coming_digest(&daily, now, false, long_ago, sent_today), "The next comes tomorrow at 08:00 (UTC).");
        // A subscriber of long standing moves its time to one just past, within the catch-up
        // window: the delivery round sends today's at once, and the reply says so.
        let now = at("2026-11-28T08:17:00Z");
        assert_eq!(
            coming_digest(&daily, now, false, long_ago, |_| Day::Open),
            "The next comes in a moment: it was due at 08:00 (UTC) and has not been sent yet."
        );
        assert_eq!(coming_digest(&daily, now, false, long_ago, sent_today), "The next comes tomorrow at 08:00 (UTC).");
        // Failing and waiting for its next try: that is said, not "in a moment".
        let retry = at("2026-11-28T08:45:00Z");
        assert_eq!(
            coming_digest(&daily, now, false, long_ago, |_| Day::Retrying(retry)),
            "The next failed to send and is tried again at 08:45 (UTC)."
        );
        // Due, with nothing new to send yet: not "in a moment", but until when it may still come.
        assert_eq!(
            coming_digest(&daily, now, false, long_ago, |_| Day::NothingYet),
            "The next was due at 08:00 (UTC), but no new episode has come yet: it is sent once one does, until 14:00."
        );
        // A next try that would come after the window closes is not promised.
        let too_late = at("2026-11-28T14:15:00Z");
        let now = at("2026-11-28T13:50:00Z");
        assert_eq!(
            coming_digest(&daily, now, false, long_ago, |_| Day::Retrying(too_late)),
            "The next comes tomorrow at 08:00 (UTC)."
        );
        // Past the window it is skipped, as the delivery round does.
        let now = at("2026-11-28T14:30:00Z");
        assert_eq!(
            coming_digest(&daily, now, false, long_ago, |_| Day::Open),
            "The next comes tomorrow at 08:00 (UTC)."
        );
    }
}
