//! The outbox and fan-out: each due (destination, local day) is written to the outbox before
//! anything is sent, every sent part is recorded as soon as the platform answered, and the
//! record is completed only when all parts went out. After a crash the same record resumes from
//! the first unsent part, with the same idempotency keys.
//!
//! Sends run with bounded concurrency and per-platform rate limits (global and per destination);
//! a platform's rate-limit wait is honoured exactly, transient errors back off with jitter, and a
//! destination that is gone is paused with the reason instead of being retried forever. A
//! delivery that still fails (an outage, a long platform wait) is tried again on later ticks,
//! waiting longer each time, until the catch-up window closes. One slow or failing destination
//! never holds up the others.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;

use super::ratelimit::RateLimiter;
use super::schedule::{Due, due};
use super::{Adapter, Delivery, DeliveryState, Destination, Message, Part, ReplyTarget, SendError, Subscription};
use crate::config::{DeliveryConfig, DigestConfig};
use crate::insight::digest;
use crate::metrics::Metrics;
use crate::model::{Digest, REFUSED_PART, delivered};
use crate::store::{Store, StoreError};

/// Sends through adapters under their limits; owns the outbox.
pub struct Deliverer {
    store: Store,
    adapters: HashMap<String, Arc<dyn Adapter>>,
    limiters: HashMap<String, Arc<RateLimiter>>,
    config: DeliveryConfig,
    digest: DigestConfig,
    metrics: Arc<Metrics>,
    /// What was already logged once: platforms with subscriptions but no enabled adapter,
    /// records that cannot be read.
    warned: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Set when the service stops: no further destination or part is begun.
    stopping: std::sync::atomic::AtomicBool,
    /// Days (and podcast lists) whose digest had no insight, with the last ingest then.
    empty_days: std::sync::Mutex<EmptyDays>,
    /// Destinations a digest is being sent to right now ([`Deliverer::claim`]).
    sending: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Failures already logged, so that one cause (a refused token, an outage) is not logged
    /// once per chat and retry.
    failures_said: std::sync::Mutex<Repeats>,
}

/// How often the same failure on the same platform is logged again, with how many sends it
/// failed meanwhile.
const REPEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Messages logged recently: each, when it was last logged and how often it was held back since.
#[derive(Default)]
struct Repeats(HashMap<String, (std::time::Instant, u64)>);

impl Repeats {
    /// Whether to log `message` at `now`: `Some(n)` with the times it was held back since it was
    /// last logged, `None` to hold it back (logged less than `REPEAT_EVERY` ago).
    fn note(&mut self, message: &str, now: std::time::Instant) -> Option<u64> {
        if let Some((at, held)) = self.0.get_mut(message) {
            if now.saturating_duration_since(*at) < REPEAT_EVERY {
                *held += 1;
                return None;
            }
            let n = *held;
            (*at, *held) = (now, 0);
            return Some(n);
        }
        // Bounded: failure messages carry outside words (a platform's error text).
        if self.0.len() >= 1_000 {
            self.0.clear();
        }
        self.0.insert(message.to_string(), (now, 0));
        Some(0)
    }

    /// The messages held back since they were last logged, with how often: those last logged
    /// `REPEAT_EVERY` or more before `now`, or all of them when `now` is None (the service is
    /// stopping). A cause that stops failing would otherwise never have its count said.
    fn overdue(&mut self, now: Option<std::time::Instant>) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for (message, (at, held)) in &mut self.0 {
            let due = now.is_none_or(|now| now.saturating_duration_since(*at) >= REPEAT_EVERY);
            if *held > 0 && due {
                out.push((message.clone(), *held));
                *held = 0;
                if let Some(now) = now {
                    *at = now;
                }
            }
        }
        out.sort();
        out
    }
}

/// The right to send a digest to one destination, held while it is sent and recorded: the
/// schedule and a reader's `/digest` arriving together do not both send it. Let go when dropped.
pub struct Claim<'a> {
    deliverer: &'a Deliverer,
    key: String,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        // Nothing panics while the lock is held: a poisoned one still holds a sound set.
        let mut s = self.deliverer.sending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        s.remove(&self.key);
    }
}

/// What one tick did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TickSummary {
    pub delivered: usize,
    pub failed: usize,
    pub skipped: usize,
    pub paused: usize,
}

enum Outcome {
    Delivered,
    Failed,
    Skipped,
    Paused,
    Waiting,
}

impl Deliverer {
    pub fn new(
        store: Store,
        adapters: Vec<Arc<dyn Adapter>>,
        config: DeliveryConfig,
        digest: DigestConfig,
        metrics: Arc<Metrics>,
    ) -> Deliverer {
        let mut map = HashMap::new();
        let mut limiters = HashMap::new();
        for a in adapters {
            let l = a.limits();
            limiters.insert(
                a.platform().to_string(),
                Arc::new(RateLimiter::new(l.global_per_second, l.per_destination_per_second)),
            );
            map.insert(a.platform().to_string(), a);
        }
        Deliverer {
            store,
            adapters: map,
            limiters,
            config,
            digest,
            metrics,
            warned: Default::default(),
            empty_days: Default::default(),
            stopping: Default::default(),
            failures_said: Default::default(),
            sending: Default::default(),
        }
    }

    /// Claims sending a digest to the destination; None while someone else is sending one there.
    pub fn claim(&self, destination_key: &str) -> Option<Claim<'_>> {
        let mut s = self.sending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        s.insert(destination_key.to_string()).then(|| Claim { deliverer: self, key: destination_key.to_string() })
    }

    /// From now on no further destination or part is begun (the service is stopping); the
    /// parts being sent finish, and the outbox resumes the rest at the next start.
    pub fn stop_beginning(&self) {
        self.stopping.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Logs the failures held back since they were last logged (see [`Repeats::overdue`]); all
    /// of them when `now` is None, as the service stops.
    pub fn say_held_back_failures(&self, now: Option<std::time::Instant>) {
        let held = self.failures_said.lock().map(|mut r| r.overdue(now)).unwrap_or_default();
        for (message, n) in held {
            tracing::warn!("{n} more send(s) failed since this was last logged: {message}");
        }
    }

    /// Logs `message` once in this process's life: a tick repeats every few seconds.
    fn warn_once(&self, message: String) {
        if self.warned.lock().map(|mut w| w.len() < 10_000 && w.insert(message.clone())).unwrap_or(false) {
            tracing::error!("{message}");
        }
    }

    /// Delivers every digest that is due at `now` and not delivered yet.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickSummary, StoreError> {
        let catch_up = chrono::Duration::minutes(self.config.catch_up_minutes as i64);
        let mut jobs = Vec::new();
        let mut undeliverable: HashMap<String, u64> = HashMap::new();
        let (mut active, mut paused) = (0u64, 0u64);
        // Subscriptions are read one at a time; only the due ones are kept.
        for sub in self.store.subscriptions_iter() {
            // One unreadable record (damaged, or written by a newer podsift) costs its own
            // destination's digest, not everybody's.
            let sub = match sub {
                Ok(sub) => sub,
                Err(e) => {
                    self.warn_once(format!("a subscription cannot be read and gets no digest: {e}"));
                    continue;
                }
            };
            if sub.paused.is_some() {
                paused += 1;
                continue;
            }
            if !self.adapters.contains_key(&sub.destination.platform) {
                *undeliverable.entry(sub.destination.platform.clone()).or_default() += 1;
                continue;
            }
            active += 1;
            let Ok(dues) = due(&sub.schedule, now, catch_up) else {
                tracing::warn!(destination = %sub.destination.redacted(), "invalid schedule; skipping");
                continue;
            };
            for d in dues {
                let (date, fire, missed) = match d {
                    Due::Now { date, fire } => (date, fire, false),
                    Due::Missed { date, fire } => (date, fire, true),
                    Due::NotYet => continue,
                };
                // A digest that fell due before the subscription existed was never owed to it:
                // subscribing at 08:17 to an 08:00 schedule starts tomorrow.
                if fire < sub.created_at {
                    continue;
                }
                let existing = match self.store.delivery(&sub.destination.key(), date) {
                    Ok(existing) => existing,
                    Err(e) => {
                        let who = sub.destination.redacted();
                        self.warn_once(format!(
                            "{who}'s delivery record of {date} cannot be read; no digest there: {e}"
                        ));
                        continue;
                    }
                };
                if existing.as_ref().is_some_and(|d| d.state.is_done()) {
                    continue;
                }
                // A day the chat was paused through, or that fell due under its new time before
                // it moved there, was never tried and never owed: not given up, nor counted lost.
                if missed && existing.is_none() && !sub.owed_when_missed(fire, catch_up) {
                    continue;
                }
                if missed {
                    // An earlier tick still sending here decides this day itself.
                    let Some(_claim) = self.claim(&sub.destination.key()) else {
                        continue;
                    };
                    // Read again under the claim: that tick may have just recorded the day.
                    let existing = self.store.delivery(&sub.destination.key(), date)?;
                    if existing.as_ref().is_some_and(|d| d.state.is_done()) {
                        continue;
                    }
                    let mut rec = existing.unwrap_or_else(|| new_record(&sub.destination, date, now));
                    // A digest a crash or a stop cut off part-way is finished past the window
                    // (when the service is back the same day or the next: those are the days
                    // looked at): the chat has its first insights already, and the rest is not a
                    // late digest but the end of this one. (One cut off by failures is given up
                    // below.)
                    let cut_off = matches!(&rec.state, DeliveryState::Pending)
                        || matches!(&rec.state, DeliveryState::Failed { error } if error == STOPPED);
                    if cut_off && rec.sent.iter().any(|(_, id)| delivered(id)) {
                        jobs.push((sub.clone(), date));
                        continue;
                    }
                    let window = self.config.catch_up_minutes;
                    let nothing = waits_for_insights(&rec.state);
                    let reason = match &rec.state {
                        _ if nothing => {
                            format!(
                                "nothing to send: no insight for the day when the catch-up window ({window} min) closed"
                            )
                        }
                        DeliveryState::Failed { error } => {
                            // The failure's cause, without its "next at" (there is no next one).
                            let cause = error.split(" (attempt ").next().unwrap_or(error);
                            format!(
                                "still failing after {} attempt(s) when the catch-up window ({window} min) closed: {cause}",
                                rec.attempts
                            )
                        }
                        _ => format!("missed by more than the catch-up window ({window} min)"),
                    };
                    tracing::warn!(destination = %sub.destination.redacted(), %date, "digest not delivered, skipped rather than sent late: {reason}");
                    if !nothing {
                        Metrics::add(&self.metrics.deliveries_given_up, 1);
                    }
                    rec.state = DeliveryState::Skipped { reason };
                    rec.updated_at = now;
                    self.store.put_delivery(&rec)?;
                    continue;
                }
                if existing.as_ref().is_some_and(|e| e.retry_at.is_some_and(|t| t > now)) {
                    continue;
                }
                jobs.push((sub.clone(), date));
            }
        }
        self.metrics.undeliverable.store(undeliverable.values().sum(), std::sync::atomic::Ordering::Relaxed);
        self.metrics.subscriptions_active.store(active, std::sync::atomic::Ordering::Relaxed);
        self.metrics.subscriptions_paused.store(paused, std::sync::atomic::Ordering::Relaxed);
        for (platform, n) in undeliverable {
            // Once per platform and run: the count stays in /metrics and `subs ls` says why.
            if self.warned.lock().map(|mut w| w.insert(platform.clone())).unwrap_or(false) {
                tracing::warn!(
                    "{n} subscription(s) on {platform} are not delivered: no {platform} adapter is enabled; enable [adapters.{platform}] in the config"
                );
            }
        }
        let jobs = interleaved(jobs, |(sub, _)| sub.destination.platform.as_str());
        let mut summary = TickSummary::default();
        let tick_started = std::time::Instant::now();
        let stopping = &self.stopping;
        let mut runs = futures_util::stream::iter(jobs)
            // A service stopping starts no further destination: what is begun finishes.
            .take_while(|_| std::future::ready(!stopping.load(std::sync::atomic::Ordering::Relaxed)))
            .map(|(sub, date)| self.deliver(sub, date, now, tick_started))
            .buffer_unordered(self.config.max_concurrency);
        while let Some(outcome) = runs.next().await {
            // A store error in one destination's delivery is that destination's: the others
            // in flight go on (their records say where each stands).
            let outcome = outcome.unwrap_or_else(|e| {
                tracing::error!("a delivery stopped on a store error: {e}");
                Outcome::Failed
            });
            match outcome {
                Outcome::Delivered => summary.delivered += 1,
                Outcome::Failed => summary.failed += 1,
                Outcome::Skipped => summary.skipped += 1,
                Outcome::Paused => summary.paused += 1,
                Outcome::Waiting => {}
            }
        }
        self.say_held_back_failures(Some(std::time::Instant::now()));
        Ok(summary)
    }

    async fn deliver(
        &self,
        sub: Subscription,
        date: NaiveDate,
        now: DateTime<Utc>,
        tick_started: std::time::Instant,
    ) -> Result<Outcome, StoreError> {
        // A reader's `/digest` being sent here right now: this tick leaves the chat alone, and
        // the next one finds that digest recorded.
        let Some(claim) = self.claim(&sub.destination.key()) else {
            return Ok(Outcome::Waiting);
        };
        // The tick's clock is `now`; a next try is counted from when this job's attempt ended,
        // which a destination that hangs through its retries, or a queue of such destinations
        // ahead of this one, can put minutes later.
        let later = || now + chrono::Duration::from_std(tick_started.elapsed()).unwrap_or_default();
        let mut claims = vec![claim];
        // Read again under the claim: since the tick looked, a requested digest may have been
        // recorded, or an earlier tick (ticks overlap) may have sent it, moved the chat (the
        // subscription is then under its new id), paused it, or set its next try.
        let sub = match self.store.subscription(&sub.destination.key())? {
            Some(fresh) if fresh.paused.is_none() => fresh,
            _ => return Ok(Outcome::Waiting),
        };
        let existing = match self.store.delivery(&sub.destination.key(), date)? {
            Some(d) if d.state.is_done() => {
                return Ok(Outcome::Waiting);
            }
            Some(d) if d.retry_at.is_some_and(|t| t > now) => return Ok(Outcome::Waiting),
            other => other,
        };
        // The destination's own podcasts, or the operator's: one digest per day and list.
        // A delivery cut off part-way is finished with the digest it began, as it was shown:
        // the list or filters changed since would number the rest differently.
        let begun = match existing.as_ref().filter(|r| !r.sent.is_empty() && !r.shown.is_empty()) {
            Some(rec) => self.store.digest_of(date, rec.list.as_deref())?.map(|d| d.as_shown(&rec.shown)),
            None => None,
        };
        let (mut rec, filtered) = match (begun.filter(|d| !d.insights.is_empty()), existing) {
            (Some(shown), Some(rec)) => (rec, shown),
            (_, existing) => {
                // Back from a pause with podcasts nobody read meanwhile: the digest waits for the
                // ingest that reads them, within the first half of the catch-up window (the day
                // is never lost to the wait).
                if self.store.waits_for_reading(&sub.destination.key())? {
                    let half = chrono::Duration::minutes(self.config.catch_up_minutes as i64 / 2);
                    let fire = super::schedule::due(&sub.schedule, now, half * 2).ok().and_then(|due| {
                        due.into_iter().find_map(|d| match d {
                            super::schedule::Due::Now { date: d, fire } if d == date => Some(fire),
                            _ => None,
                        })
                    });
                    if fire.is_some_and(|fire| now < fire + half) {
                        return Ok(Outcome::Waiting);
                    }
                }
                let list = self.store.podcast_list(&sub.destination.key())?;
                // A day found empty stays empty until the next ingest: not built again at
                // every tick for every chat (what it carries from the days before is kept).
                let empty_key = (date, list.as_deref().map(crate::model::list_id));
                let ingested = self.store.state("last_ingest")?;
                let known =
                    self.empty_days.lock().ok().and_then(|e| {
                        e.get(&empty_key).filter(|(at, _)| *at == ingested).map(|(_, kept)| kept.clone())
                    });
                let digest = match known {
                    Some(kept) => kept.map(|d| (*d).clone()),
                    None => Some(digest::build_or_get_for(&self.store, &self.digest, date, now, list.as_deref())?),
                };
                let mut rec = existing.unwrap_or_else(|| new_record(&sub.destination, date, now));
                // (Not read for a day known to have nothing for anyone.)
                let earlier =
                    if digest.is_some() { self.store.deliveries_of(&sub.destination.key())? } else { Vec::new() };
                let (novelty, size) = (self.digest.novelty_days, self.digest.size);
                let digest = match digest {
                    Some(d) if !d.insights.is_empty() => Some(d),
                    // None of the day's own, but insights of the days before that this chat
                    // missed (a weekday reader's quiet Monday): they go out, from the day's
                    // digest kept as sent, so that their numbers can be asked about.
                    Some(d) if !sub.filter(&d, &earlier, novelty, size).insights.is_empty() => {
                        Some(digest::keep(&self.store, d)?)
                    }
                    Some(d) => {
                        if let Ok(mut empty) = self.empty_days.lock() {
                            if empty.len() > 2_000 {
                                empty.clear();
                            }
                            let carries = (!d.carried.is_empty()).then(|| Arc::new(d));
                            empty.insert(empty_key, (ingested, carries));
                        }
                        None
                    }
                    None => None,
                };
                let Some(digest) = digest else {
                    // Nothing yet (no episode of the day has insights): tried again after the
                    // next ingest, until the catch-up window closes, which then says why.
                    if !waits_for_insights(&rec.state) {
                        rec.state = DeliveryState::Failed { error: NOTHING_YET.into() };
                        rec.updated_at = now;
                        self.store.put_delivery(&rec)?;
                    }
                    return Ok(Outcome::Waiting);
                };
                rec.list = digest.list.clone();
                let filtered = sub.filter(&digest, &earlier, novelty, size);
                rec.reserve_points = super::reserve_points(&digest, &filtered);
                if filtered.insights.is_empty() {
                    rec.state = DeliveryState::Skipped {
                        reason: format!(
                            "of the day's {} insight(s), {}",
                            digest.insights.len(),
                            sub.why_nothing(&digest, &earlier)
                        ),
                    };
                    rec.updated_at = now;
                    self.store.put_delivery(&rec)?;
                    return Ok(Outcome::Skipped);
                }
                (rec, filtered)
            }
        };
        rec.shown = filtered.insights.iter().map(|e| e.id.clone()).collect();
        let adapter = self.adapters[&sub.destination.platform].clone();
        let parts = adapter.parts(&Message::Digest(filtered));
        // The first part not recorded as sent may have gone out on an earlier try: its answer
        // never came, or this process or an earlier one stopped before writing it down.
        let (resumed_at, tried_before) = (rec.sent.len(), rec.attempts > 0);
        rec.attempts += 1;
        // Why the try before failed, while this one runs: not a wait for insights, nor a stop.
        rec.last_error = match &rec.state {
            DeliveryState::Failed { error } if error != NOTHING_YET && error != STOPPED => Some(error.clone()),
            _ => None,
        };
        rec.state = DeliveryState::Pending;
        rec.retry_at = None;
        rec.updated_at = now;
        // Written before the first send: a crash from here on resumes this record.
        self.store.put_delivery(&rec)?;
        let mut to = sub.destination.clone();
        let mut moves = 0;
        let mut i = rec.sent.len();
        while i < parts.len() {
            if self.stopping.load(std::sync::atomic::Ordering::Relaxed) {
                // The record says where it stands: the next start resumes from this part.
                rec.state = DeliveryState::Failed { error: STOPPED.into() };
                rec.updated_at = Utc::now();
                self.store.put_delivery(&rec)?;
                return Ok(Outcome::Waiting);
            }
            let part = &parts[i];
            let key = format!("{}#{i}", rec.key());
            let again = tried_before && i == resumed_at;
            match self.send_part(adapter.as_ref(), &to, part, None, &key, again).await {
                Ok(id) => {
                    rec.sent.push((part.insight().map(|(_, rank)| rank), id));
                    rec.updated_at = Utc::now();
                    self.store.put_delivery(&rec)?;
                    i += 1;
                }
                Err(SendError::Moved(new_id)) if moves < 3 => {
                    moves += 1;
                    // The chat under its new id already has this day's record (readers there
                    // asked for the digest before the old id's send failed): that one stands.
                    let moved_to = Destination::new(&to.platform, &new_id);
                    if self.store.delivery(&moved_to.key(), date)?.is_some() {
                        self.follow_move(&to, &new_id)?;
                        return Ok(Outcome::Waiting);
                    }
                    // The day's record follows the chat (`follow_move` moved the stored one):
                    // left under the old id, the next tick would send the whole digest again.
                    to = self.follow_move(&to, &new_id)?;
                    rec.destination = to.clone();
                    self.store.put_delivery(&rec)?;
                    // The chat's new id is claimed too. Should a reader's `/digest` be going
                    // there right now, the rest waits for a later tick, resumed from this record.
                    match self.claim(&to.key()) {
                        Some(c) => claims.push(c),
                        None => {
                            rec.state = DeliveryState::Failed { error: "a requested digest is being sent".into() };
                            rec.retry_at = Some(later() + chrono::Duration::minutes(1));
                            self.store.put_delivery(&rec)?;
                            return Ok(Outcome::Waiting);
                        }
                    }
                }
                // One part the platform refuses (its text, its size) costs that part, not the
                // rest of the day's digest. Refused from the first part on, or twice in a row (a
                // token revoked part-way), it is the destination that takes nothing: below.
                Err(SendError::Invalid(reason)) if rec.sent.last().is_some_and(|(_, id)| delivered(id)) => {
                    tracing::warn!(destination = %to.redacted(), %date, part = i, "a part was refused and is left out: {reason}");
                    Metrics::add(&self.metrics.deliveries_failed, 1);
                    rec.sent.push((part.insight().map(|(_, rank)| rank), format!("{REFUSED_PART}{reason}")));
                    rec.updated_at = Utc::now();
                    self.store.put_delivery(&rec)?;
                    i += 1;
                }
                Err(SendError::Gone(reason)) => {
                    self.pause_gone(&to, &reason)?;
                    rec.state = DeliveryState::Failed { error: format!("{GONE}{reason}") };
                    rec.last_error = None;
                    self.store.put_delivery(&rec)?;
                    Metrics::add(&self.metrics.deliveries_failed, 1);
                    Metrics::add(&self.metrics.deliveries_given_up, 1);
                    return Ok(Outcome::Paused);
                }
                Err(e) => {
                    Metrics::add(&self.metrics.deliveries_failed, 1);
                    // What retrying cannot fix ends the day's delivery; an outage or a long
                    // platform wait is tried again later, until the catch-up window closes.
                    let give_up = matches!(e, SendError::Invalid(_) | SendError::Moved(_));
                    rec.state = if give_up {
                        DeliveryState::Skipped { reason: format!("gave up after {} attempt(s): {e}", rec.attempts) }
                    } else {
                        let next = later() + retry_wait(rec.attempts, &e);
                        rec.retry_at = Some(next);
                        DeliveryState::Failed {
                            error: format!(
                                "{e} (attempt {}; next at {})",
                                rec.attempts,
                                next.format("%Y-%m-%d %H:%M:%S UTC")
                            ),
                        }
                    };
                    rec.updated_at = now;
                    // The state says why now.
                    rec.last_error = None;
                    if give_up {
                        Metrics::add(&self.metrics.deliveries_given_up, 1);
                    }
                    // A day given up is each destination's own loss: always said.
                    let said = if give_up {
                        Some(0)
                    } else {
                        self.failures_said
                            .lock()
                            .map(|mut r| r.note(&format!("{}: {e}", to.server()), std::time::Instant::now()))
                            .unwrap_or(Some(0))
                    };
                    match said {
                        Some(0) => tracing::warn!(destination = %to.redacted(), %date, "delivery failed: {e}"),
                        Some(n) => tracing::warn!(
                            destination = %to.redacted(), %date,
                            "delivery failed: {e} (and {n} more send(s) to {} failed the same way since this was last logged)", to.server()
                        ),
                        None => tracing::debug!(destination = %to.redacted(), %date, "delivery failed: {e}"),
                    }
                    self.store.put_delivery(&rec)?;
                    return Ok(if give_up { Outcome::Skipped } else { Outcome::Failed });
                }
            }
        }
        rec.state = DeliveryState::Sent { at: Utc::now() };
        rec.last_error = None;
        self.store.put_delivery(&rec)?;
        self.store.set_state("last_delivery", &Utc::now())?;
        Metrics::add(&self.metrics.deliveries_ok, 1);
        Ok(Outcome::Delivered)
    }

    /// Sends one part under the rate limits, honouring platform waits exactly and retrying
    /// transient errors with jittered exponential backoff. Gone and Invalid return at once.
    /// `again`: the part may have gone out on an earlier try ([`Adapter::send`]); so may it after
    /// a transient failure here.
    async fn send_part(
        &self,
        adapter: &dyn Adapter,
        to: &Destination,
        part: &Part,
        reply_to: Option<&ReplyTarget>,
        key: &str,
        mut again: bool,
    ) -> Result<String, SendError> {
        let limiter = &self.limiters[adapter.platform()];
        let mut transient = 0u32;
        let mut limited = 0u32;
        let mut waited = std::time::Duration::ZERO;
        loop {
            if !limiter.acquire_at(&adapter.rate_key(to), adapter.per_destination_rate(to)).await.is_zero() {
                Metrics::add(&self.metrics.rate_limit_waits, 1);
            }
            let limit = std::time::Duration::from_secs(self.config.send_timeout_secs);
            let sent = tokio::time::timeout(limit, adapter.send(to, part, reply_to, key, again))
                .await
                .unwrap_or_else(|_| Err(SendError::Transient(format!("no answer within {} s", limit.as_secs()))))
                .map_err(SendError::bounded);
            match sent {
                Ok(id) => return Ok(id),
                // Waits adding up to more than a minute are left to a later tick, so that they
                // hold up no digest that falls due meanwhile.
                Err(SendError::RateLimited { retry_after })
                    if limited < self.config.max_rate_limit_waits && waited + retry_after <= MAX_INLINE_WAIT =>
                {
                    limited += 1;
                    waited += retry_after;
                    Metrics::add(&self.metrics.rate_limit_waits, 1);
                    Metrics::add(&self.metrics.deliveries_retried, 1);
                    tokio::time::sleep(retry_after).await;
                }
                Err(SendError::Transient(reason)) if transient + 1 < self.config.max_attempts => {
                    transient += 1;
                    // No answer, or an error after the platform may have taken it.
                    again = true;
                    Metrics::add(&self.metrics.deliveries_retried, 1);
                    let wait = crate::http::backoff(self.config.backoff_base_ms, transient);
                    tracing::debug!(destination = %to.redacted(), "transient failure ({reason}); retrying in {wait:?}");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A destination moved (a group became a supergroup): its subscription follows it. What
    /// the new id already has (readers there subscribed it, chose its podcasts or asked for a
    /// digest before the old id's news arrived) is kept: it is the newer word.
    pub fn follow_move(&self, from: &Destination, new_id: &str) -> Result<Destination, StoreError> {
        let to = Destination::new(&from.platform, new_id);
        tracing::info!(from = %from.redacted(), to = %to.redacted(), "destination moved; its subscription follows");
        // Its outbox records first: the subscription found under the new id must find what was
        // already sent there, or the day's digest would go out again.
        for mut rec in self.store.deliveries_of(&from.key())? {
            if self.store.delivery(&to.key(), rec.date)?.is_some() {
                continue;
            }
            rec.destination = to.clone();
            self.store.move_delivery(from, &rec)?;
        }
        self.store.move_unreadable_deliveries(&from.key(), &to.key())?;
        if let Some(mut sub) = self.store.subscription(&from.key())? {
            self.store.remove_subscription(&from.key())?;
            if self.store.subscription(&to.key())?.is_none() {
                sub.destination = to.clone();
                self.store.put_subscription(&sub)?;
            }
        }
        // Its own podcasts follow too, and when it last asked for something.
        self.store.move_active(&from.key(), &to.key())?;
        if let Some(list) = self.store.podcast_list(&from.key())? {
            if self.store.podcast_list(&to.key())?.is_none_or(|l| l.is_empty()) {
                self.store.put_podcast_list(&to.key(), &list)?;
            }
            self.store.put_podcast_list(&from.key(), &[])?;
        }
        self.store.flush()?;
        Ok(to)
    }

    /// Whether an adapter for `platform` is enabled.
    /// Pauses `to`'s subscription, if it has one, because the platform says it is gone or
    /// refuses podsift (`reason`): retrying would only fail again.
    pub fn pause_gone(&self, to: &Destination, reason: &str) -> Result<(), StoreError> {
        tracing::warn!(destination = %to.redacted(), "destination gone, subscription paused: {reason}");
        if let Some(mut paused) = self.store.subscription(&to.key())? {
            paused.paused = Some(format!("{GONE}{reason}"));
            self.store.put_subscription(&paused)?;
        }
        Ok(())
    }

    pub fn has_adapter(&self, platform: &str) -> bool {
        self.adapters.contains_key(platform)
    }

    /// How commands are typed on `platform` (for help texts and examples): `/` when unknown.
    pub fn command_prefix(&self, platform: &str) -> &'static str {
        self.adapters.get(platform).map(|a| a.command_prefix()).unwrap_or("/")
    }

    /// How a reader asks about an insight on `platform` (for help texts).
    pub fn how_to_ask(&self, platform: &str) -> &'static str {
        self.adapters.get(platform).map(|a| a.how_to_ask()).unwrap_or(super::REPLY_TO_ASK)
    }

    /// Sends a reply (an answer, a notice, a digest asked for) straight away, under the same
    /// limits and retries, as a reply to `reply_to` when given. Returns where it went (the chat's
    /// new id, when it moved on the way) and each sent part's insight (date, rank), when it
    /// carries one, with its platform message id.
    pub async fn send_now(
        &self,
        to: &Destination,
        reply_to: Option<&ReplyTarget>,
        message: &Message,
    ) -> Result<SentReply, SendError> {
        self.send_now_claimed(to, reply_to, message, (0, false), &mut Vec::new()).await.map_err(|u| u.error)
    }

    /// [`Deliverer::send_now`] by a caller that holds `claims` on the destination (a reader's
    /// `/digest`): a chat that moves on the way has its new id claimed too, into `claims`, and
    /// while a scheduled digest is going there the rest is not sent. Parts before `from` are
    /// not sent (they went out before: a digest cut off part-way is finished, not repeated);
    /// `refused_last` says the last of them was refused, so that a refusal of the next is the
    /// second in a row.
    pub async fn send_now_claimed<'d>(
        &'d self,
        to: &Destination,
        reply_to: Option<&ReplyTarget>,
        message: &Message,
        (from, refused_last): (usize, bool),
        claims: &mut Vec<Claim<'d>>,
    ) -> Result<SentReply, Unfinished> {
        let mut to = to.clone();
        let mut ids = Vec::new();
        let Some(adapter) = self.adapters.get(&to.platform).cloned() else {
            let error = SendError::Invalid(format!("no adapter for platform {:?} is enabled", to.platform));
            return Err(Unfinished { error, sent: (to, ids), parts: 0 });
        };
        let salt = std::collections::hash_map::RandomState::new().build_hasher().finish();
        let parts = adapter.parts(message);
        for (i, part) in parts.iter().enumerate().skip(from) {
            let key = format!("reply-{salt:x}#{i}");
            let sent = match self.send_part(adapter.as_ref(), &to, part, reply_to, &key, false).await {
                Err(SendError::Moved(new_id)) => match self.follow_move(&to, &new_id) {
                    Err(e) => Err(SendError::Transient(e.to_string())),
                    Ok(moved) => {
                        to = moved;
                        // A caller holding claims holds the new id's too, or stops here.
                        let claimed = claims.is_empty() || self.claim(&to.key()).map(|c| claims.push(c)).is_some();
                        if claimed {
                            self.send_part(adapter.as_ref(), &to, part, reply_to, &key, false).await
                        } else {
                            Err(SendError::Busy(to.clone()))
                        }
                    }
                },
                other => other,
            };
            match sent {
                Ok(id) => ids.push((part.insight(), id)),
                // As in a scheduled digest: a part refused after others went out is left out.
                Err(SendError::Invalid(reason))
                    if ids.last().map_or(from > 0 && !refused_last, |(_, id)| delivered(id)) =>
                {
                    tracing::warn!(destination = %to.redacted(), part = i, "a part was refused and is left out: {reason}");
                    ids.push((part.insight(), format!("{REFUSED_PART}{reason}")));
                }
                Err(error) => return Err(Unfinished { error, sent: (to, ids), parts: parts.len() }),
            }
        }
        Ok((to, ids))
    }
}

/// Where a reply went, and each sent part's insight (date, rank) with its platform message id.
pub type SentReply = (Destination, Vec<(Option<(NaiveDate, usize)>, String)>);

/// A reply that stopped part-way: why, and what went out before (none, for a one-part reply or a
/// first part that failed) of its `parts` (all of them, those skipped included).
#[derive(Debug)]
pub struct Unfinished {
    pub error: SendError,
    pub sent: SentReply,
    pub parts: usize,
}

/// `items` taken from each platform in turn (keeping each platform's order): a platform that
/// is down, and whose destinations each take minutes to fail, then holds only its share of the
/// concurrent sends, not every one ahead of the other platforms' digests.
fn interleaved<T>(items: Vec<T>, platform: impl Fn(&T) -> &str) -> Vec<T> {
    let mut queues: Vec<(String, std::collections::VecDeque<T>)> = Vec::new();
    for item in items {
        let p = platform(&item).to_string();
        match queues.iter_mut().find(|(q, _)| *q == p) {
            Some((_, queue)) => queue.push_back(item),
            None => queues.push((p, std::collections::VecDeque::from([item]))),
        }
    }
    let mut out = Vec::new();
    while queues.iter().any(|(_, q)| !q.is_empty()) {
        for (_, queue) in &mut queues {
            out.extend(queue.pop_front());
        }
    }
    out
}

/// A day and podcast list (its [`crate::model::list_id`]) whose digest had no insight of its
/// own, with the store's last ingest then and the digest when it carries insights of the days
/// before (chats that missed them still get those).
type EmptyDays = HashMap<(NaiveDate, Option<String>), (Option<DateTime<Utc>>, Option<Arc<Digest>>)>;

/// Why a due day's record waits: its digest has no insight yet.
const NOTHING_YET: &str = "nothing to send yet: no insight for the day so far";

/// Whether a day's record waits for insights ([`NOTHING_YET`]) rather than for a send.
pub fn waits_for_insights(state: &DeliveryState) -> bool {
    matches!(state, DeliveryState::Failed { error } if error == NOTHING_YET)
}
/// How a subscription paused because its platform refused to post there says so.
pub const GONE: &str = "destination gone: ";

/// A delivery record's state when the service stopped in the middle of its digest.
const STOPPED: &str = "the service stopped part-way";

/// The most platform waits add up to inside one send; more ends the attempt, for a later tick.
const MAX_INLINE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// How long a failed delivery waits before its next attempt: a minute, doubling with each
/// attempt up to half an hour, and never less than the platform asked for.
fn retry_wait(attempts: u32, error: &SendError) -> chrono::Duration {
    let backoff =
        chrono::Duration::minutes(1i64 << attempts.saturating_sub(1).min(5)).min(chrono::Duration::minutes(30));
    match error {
        SendError::RateLimited { retry_after } => {
            backoff.max(chrono::Duration::from_std(*retry_after).unwrap_or(chrono::Duration::hours(1)))
        }
        _ => backoff,
    }
}

fn new_record(destination: &Destination, date: NaiveDate, now: DateTime<Utc>) -> Delivery {
    Delivery {
        destination: destination.clone(),
        date,
        state: DeliveryState::Pending,
        attempts: 0,
        sent: Vec::new(),
        updated_at: now,
        list: None,
        shown: Vec::new(),
        retry_at: None,
        reserve_points: Vec::new(),
        last_error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One cause failing every chat (a refused token, an outage) is logged once per
    /// `REPEAT_EVERY`, then with how many sends it failed meanwhile; another cause is logged at once.
    #[test]
    fn the_same_failure_is_logged_once_a_while_with_its_count() {
        let mut r = Repeats::default();
        let t0 = std::time::Instant::now();
        let token = "telegram: the bot token was refused";
        assert_eq!(r.note(token, t0), Some(0));
        for s in 1..=39 {
            assert_eq!(r.note(token, t0 + std::time::Duration::from_secs(s)), None);
        }
        assert_eq!(r.note("telegram: HTTP 502", t0 + std::time::Duration::from_secs(40)), Some(0));
        assert_eq!(r.note(token, t0 + super::REPEAT_EVERY + std::time::Duration::from_secs(1)), Some(39));
        assert_eq!(r.note(token, t0 + super::REPEAT_EVERY + std::time::Duration::from_secs(2)), None);
    }

    /// A cause that stops failing still has its count said: once `REPEAT_EVERY` has passed
    /// since it was last logged, or at once when the service stops; never twice.
    #[test]
    fn held_back_failures_are_said_when_they_stop() {
        let mut r = Repeats::default();
        let t0 = std::time::Instant::now();
        let (token, outage) = ("telegram: the bot token was refused", "slack: HTTP 502");
        r.note(token, t0);
        r.note(outage, t0);
        for s in 1..=3 {
            r.note(token, t0 + std::time::Duration::from_secs(s));
        }
        r.note(outage, t0 + std::time::Duration::from_secs(5));
        assert_eq!(r.overdue(Some(t0 + std::time::Duration::from_secs(60))), vec![], "not yet due");
        let later = t0 + super::REPEAT_EVERY;
        assert_eq!(r.overdue(Some(later)), vec![(outage.to_string(), 1), (token.to_string(), 3)]);
        assert_eq!(r.overdue(Some(later + super::REPEAT_EVERY)), vec![], "said once");
        r.note(token, later + std::time::Duration::from_secs(1));
        assert_eq!(r.overdue(None), vec![(token.to_string(), 1)], "a stop says all that is held");
        assert_eq!(r.overdue(None), vec![]);
    }

    /// A chat that moves (a group became a supergroup) takes along even the outbox record
    /// that cannot be read: left under the old id, its day would be sent to the new one again.
    #[test]
    fn a_move_takes_an_unreadable_record_along() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        store.put_raw_delivery("telegram:-5", day, &[0xff]);
        let deliverer =
            Deliverer::new(store.clone(), vec![], Default::default(), Default::default(), Default::default());
        let to = deliverer.follow_move(&Destination::new("telegram", "-5"), "-1005").unwrap();
        assert!(store.delivery(&to.key(), day).is_err(), "the new id's day is not guarded");
    }

    #[test]
    fn each_platform_takes_its_turn() {
        let jobs = vec!["telegram:1", "telegram:2", "telegram:3", "webhook:a", "slack:x", "webhook:b"];
        let order = interleaved(jobs, |j| j.split(':').next().unwrap_or(""));
        assert_eq!(order, ["telegram:1", "webhook:a", "slack:x", "telegram:2", "webhook:b", "telegram:3"]);
        assert!(interleaved(Vec::<&str>::new(), |j| j).is_empty());
    }
}
