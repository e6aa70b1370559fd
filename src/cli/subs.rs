//! `podsift subs`: the operator's view of subscriptions.

use anyhow::{Result, bail};
use chrono::Utc;

use podsift::config::Config;
use podsift::deliver::{Destination, Subscription};
use podsift::store::Store;

use super::args::SubsCommand;
use super::output::print_json;

pub fn destination_arg(s: &str) -> Result<podsift::deliver::Destination> {
    podsift::deliver::Destination::parse(s).ok_or_else(|| {
        anyhow::anyhow!(
            "{s:?} is not a destination: use platform:id, e.g. console:local or webhook:https://hooks.example.com/x"
        )
    })
}

/// A destination to subscribe: a platform podsift has an adapter for, and for webhooks an
/// http(s) address.
fn new_destination_arg(s: &str) -> Result<Destination> {
    let dest = destination_arg(s)?;
    const PLATFORMS: [&str; 5] = ["console", "telegram", "discord", "slack", "webhook"];
    if !PLATFORMS.contains(&dest.platform.as_str()) {
        bail!("{:?} is not a platform podsift delivers to: use one of {}", dest.platform, PLATFORMS.join(", "));
    }
    // What each platform's ids look like, so a typo is refused now rather than failing at the
    // first digest.
    let number = |s: &str| !s.is_empty() && s.trim_start_matches('-').chars().all(|c| c.is_ascii_digit()) && s != "-";
    let fix = match dest.platform.as_str() {
        "telegram" => {
            let ok = match dest.id.split_once('/') {
                Some((chat, topic)) => number(chat) && number(topic) && !topic.starts_with('-'),
                None => number(&dest.id),
            };
            (!ok).then_some(
                "a Telegram chat id is a number (e.g. telegram:-1001234567890), with /TOPIC for a forum topic",
            )
        }
        "discord" => (!(dest.id.bytes().all(|b| b.is_ascii_digit()) && dest.id.parse::<u64>().is_ok_and(|id| id != 0)))
            .then_some("a Discord channel id is a number (Developer Mode, then Copy Channel ID on the channel)"),
        "slack" => {
            let part = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric());
            (!dest.id.split_once('/').is_some_and(|(team, channel)| part(team) && part(channel)))
                .then_some("a Slack destination is slack:TEAM/CHANNEL, e.g. slack:T0123/C0456")
        }
        _ => None,
    };
    if let Some(fix) = fix {
        bail!("{:?} is not a {} destination: {fix}", dest.id, dest.platform);
    }
    if dest.platform == "webhook" {
        let Some(address) = webhook_address(&dest.id) else {
            bail!("{:?} is not a web address: a webhook destination is webhook:https://host/path", dest.id);
        };
        return Ok(Destination::new("webhook", &address));
    }
    Ok(dest)
}

/// A webhook's address as one spelling: scheme and host in lower case, no default port
/// ("HTTP://Example.com:80/hook" is "http://example.com/hook"). `None` when it is no http(s)
/// address.
fn webhook_address(id: &str) -> Option<String> {
    let url = reqwest::Url::parse(id).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())?;
    Some(url.to_string())
}

/// Whether two webhook addresses reach the same receiver as far as can be told: the same once
/// spelt alike, a trailing slash aside.
fn same_webhook(a: &str, b: &str) -> bool {
    match (webhook_address(a), webhook_address(b)) {
        (Some(a), Some(b)) => a.trim_end_matches('/') == b.trim_end_matches('/'),
        _ => false,
    }
}

/// The stored subscription `dest` names: its own key, or for a webhook the subscription of the
/// same address spelt another way (subscribed before addresses were spelt alike).
fn stored_key(store: &Store, dest: &Destination) -> Result<String> {
    if dest.platform == "webhook" && store.subscription(&dest.key())?.is_none() {
        let spelt = webhook_address(&dest.id).map(|a| Destination::new("webhook", &a).key());
        if let Some(key) = spelt.filter(|k| store.subscription(k).ok().flatten().is_some()) {
            return Ok(key);
        }
    }
    Ok(dest.key())
}

/// Warns about podcast names no feed has: a misspelt `--only` or `--mute` would silently never
/// match (feeds added later are fine, hence a warning).
fn warn_unknown_podcasts<'a>(store: &Store, names: impl Iterator<Item = &'a String>) -> Result<()> {
    let titles: Vec<String> =
        store.feeds()?.into_iter().filter_map(|f| f.title).map(|t| podsift::deliver::podcast_name_key(&t)).collect();
    for name in names {
        if !titles.contains(&podsift::deliver::podcast_name_key(name)) {
            let known = if titles.is_empty() {
                "no feed has a title yet".to_string()
            } else {
                "`podsift feeds ls` lists the titles".to_string()
            };
            errln!(
                "warning: no feed is titled {name:?} ({known}); the filter matches podcast titles exactly, ignoring case"
            );
        }
    }
    Ok(())
}

/// The titles of a destination's own podcasts (their addresses until first fetched).
pub fn podcast_names(store: &Store, list: &[String]) -> Vec<String> {
    list.iter().map(|url| store.feed(url).ok().flatten().and_then(|f| f.title).unwrap_or_else(|| url.clone())).collect()
}

/// Each destination's latest digest delivery, found in one pass.
pub fn latest_deliveries(store: &Store) -> Result<std::collections::HashMap<String, podsift::deliver::Delivery>> {
    let mut latest: std::collections::HashMap<String, podsift::deliver::Delivery> = Default::default();
    for d in store.deliveries()? {
        let key = d.destination.key();
        if latest.get(&key).is_none_or(|l| l.date <= d.date) {
            latest.insert(key, d);
        }
    }
    Ok(latest)
}

/// The latest digest delivery to `sub`'s destination: its day and what became of it.
pub fn last_delivery(
    latest: &std::collections::HashMap<String, podsift::deliver::Delivery>,
    sub: &podsift::deliver::Subscription,
) -> Option<String> {
    use podsift::deliver::DeliveryState;
    let d = latest.get(&sub.destination.key())?;
    let what = match &d.state {
        DeliveryState::Sent { at } => format!("sent {}", at.format("%Y-%m-%d %H:%M UTC")),
        DeliveryState::Pending => match &d.last_error {
            // Tried again right now: why the try before failed is what to know.
            Some(error) => format!("being tried again now (attempt {}); before: {error}", d.attempts),
            None => "pending".into(),
        },
        DeliveryState::Skipped { reason } => format!("skipped: {reason}"),
        // Its next try waits for the resume: the time it names would pass without one.
        DeliveryState::Failed { error } if sub.paused.is_some() => {
            format!("failed: {error}; not tried again while paused")
        }
        DeliveryState::Failed { error } => format!("failed: {error}"),
    };
    Some(format!("{}: {what}", d.date))
}

pub fn subs(cmd: SubsCommand, store: &Store, config: &Config) -> Result<()> {
    use podsift::deliver::{Schedule, Subscription};
    let existing = |d: &str| -> Result<Subscription> {
        let dest = destination_arg(d)?;
        store
            .subscription(&stored_key(store, &dest)?)?
            .ok_or_else(|| anyhow::anyhow!("{dest} is not subscribed; `podsift subs ls` lists the subscriptions"))
    };
    match cmd {
        SubsCommand::Ls { out } => {
            let subs = store.subscriptions()?;
            let deliveries = latest_deliveries(store)?;
            if out.json {
                /// A subscription with the chat's own podcasts (none: the operator's) and its
                /// latest digest's day and state.
                #[derive(serde::Serialize)]
                struct View<'a> {
                    #[serde(flatten)]
                    sub: &'a Subscription,
                    podcasts: Option<Vec<String>>,
                    last_delivery: Option<LastDelivery<'a>>,
                }
                #[derive(serde::Serialize)]
                struct LastDelivery<'a> {
                    date: chrono::NaiveDate,
                    #[serde(flatten)]
                    state: &'a podsift::deliver::DeliveryState,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    last_error: Option<&'a str>,
                }
                let views: Vec<View> = subs
                    .iter()
                    .map(|sub| {
                        let last = deliveries.get(&sub.destination.key());
                        Ok(View {
                            sub,
                            podcasts: store.podcast_list(&sub.destination.key())?,
                            last_delivery: last.map(|d| LastDelivery {
                                date: d.date,
                                state: &d.state,
                                last_error: d.last_error.as_deref(),
                            }),
                        })
                    })
                    .collect::<Result<_>>()?;
                return print_json(&views);
            }
            if subs.is_empty() {
                outln!(
                    "No subscriptions yet: `podsift subs add console:local --time 08:00 --tz Europe/Berlin`, or /start in a chat."
                );
            }
            for s in &subs {
                let state = s.paused.as_deref().map(|r| format!("paused: {r}")).unwrap_or_else(|| "active".into());
                outln!("{}  {}  {}  (by {})", s.destination, s.schedule.describe(), state, s.created_by);
                say_undelivered(config, &s.destination.platform);
                say_filters(s);
                if let Some(list) = store.podcast_list(&s.destination.key())? {
                    outln!("    podcasts ({}): {}", list.len(), podcast_names(store, &list).join(", "));
                }
                if let Some(last) = last_delivery(&deliveries, s) {
                    outln!("    last digest {last}");
                }
            }
        }
        SubsCommand::Add { destination, time, tz, cron, only, mute, keywords, clear_filters } => {
            let dest = new_destination_arg(&destination)?;
            let before = store.subscription(&dest.key())?;
            // The same receiver under a second spelling would be sent every digest twice, with
            // idempotency keys that differ.
            if before.is_none() && dest.platform == "webhook" {
                let twin = store
                    .subscriptions()?
                    .into_iter()
                    .map(|s| s.destination)
                    .find(|d| d.platform == "webhook" && same_webhook(&d.id, &dest.id));
                if let Some(twin) = twin {
                    bail!(
                        "{dest} is the address of {twin}, subscribed already, written another way: a second \
                         subscription would send the receiver every digest twice. `podsift subs add {}` with the \
                         new settings changes that one; `podsift subs rm {}` first if the address really changed",
                        twin.key(),
                        twin.key()
                    );
                }
            }
            // Subscribing again changes what is given and keeps the rest: a new time keeps the
            // timezone and the filters.
            let old = before.as_ref().map(|s| &s.schedule);
            let old_tz = old.map(|s| match s {
                Schedule::Daily { timezone, .. } | Schedule::Cron { timezone, .. } => timezone.clone(),
            });
            let tz = tz.or(old_tz).unwrap_or_else(|| config.service.default_timezone.clone());
            let schedule = match (cron, time, old) {
                (Some(expr), _, _) => Schedule::cron(&expr, &tz)?,
                (None, Some(time), _) => Schedule::daily(&time, &tz)?,
                // A stored schedule stays as it was: a time from before times were HH:MM, a cron
                // with numbered weekdays from before those were refused.
                (None, None, Some(kept)) => {
                    let kept = match kept {
                        Schedule::Cron { expr, .. } => Schedule::Cron { expr: expr.clone(), timezone: tz.clone() },
                        Schedule::Daily { time, .. } => Schedule::Daily { time: time.clone(), timezone: tz.clone() },
                    };
                    kept.validate()?;
                    kept
                }
                (None, None, None) => Schedule::daily(&config.service.default_time, &tz)?,
            };
            // An empty word (`--keyword ""`) would filter nothing while looking like a filter.
            let given = |list: Vec<String>| -> Vec<String> {
                list.into_iter().map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect()
            };
            let (only, mute, keywords) = (given(only), given(mute), given(keywords));
            // Only a podcast and mute it: the chat would get nothing of it, and may get nothing.
            let kept = |new: &[String], old: fn(&Subscription) -> &Vec<String>| -> Vec<String> {
                let old = before.as_ref().filter(|_| !clear_filters).map(old).cloned().unwrap_or_default();
                if new.is_empty() { old } else { new.to_vec() }
            };
            let key = podsift::deliver::podcast_name_key;
            let muted: Vec<String> = kept(&mute, |s| &s.mute_podcasts).iter().map(|m| key(m)).collect();
            if let Some(both) = kept(&only, |s| &s.only_podcasts).iter().find(|o| muted.contains(&key(o))) {
                bail!(
                    "nothing was changed: {both:?} would be both in --only and --mute, so {dest} would get none of it; keep one (--clear-filters starts the filters again)"
                );
            }
            warn_unknown_podcasts(store, only.iter().chain(&mute))?;
            let mut sub = before
                .clone()
                .unwrap_or_else(|| Subscription::new(dest.clone(), schedule.clone(), "operator", Utc::now()));
            // Subscribing again is the operator's word that it should be delivered.
            let resumed = sub.paused.take();
            if before.is_some() && (resumed.is_some() || sub.schedule != schedule) {
                sub.owed_from = Some(Utc::now());
            }
            sub.schedule = schedule;
            if let Some(why) = &resumed {
                outln!("resumed (it was paused: {why})");
            }
            if clear_filters {
                let had = sub.only_podcasts.len() + sub.mute_podcasts.len() + sub.keywords.len();
                sub.only_podcasts.clear();
                sub.mute_podcasts.clear();
                sub.keywords.clear();
                outln!("cleared {had} filter(s)");
            }
            if !only.is_empty() {
                sub.only_podcasts = only;
            }
            if !mute.is_empty() {
                sub.mute_podcasts = mute;
            }
            if !keywords.is_empty() {
                sub.keywords = keywords;
            }
            store.put_subscription(&sub)?;
            if resumed.is_some() {
                say_unread(store, &dest.key())?;
            }
            store.flush()?;
            let verb = if before.is_some() { "updated" } else { "subscribed" };
            outln!("{verb} {dest}: {}", sub.schedule.describe());
            let done = podsift::deliver::commands::day_done(store, &dest);
            let catch_up = chrono::Duration::minutes(config.delivery.catch_up_minutes as i64);
            let coming = podsift::deliver::commands::coming_digest(
                &sub.schedule,
                Utc::now(),
                before.is_none(),
                (sub.created_at, catch_up),
                done,
            );
            if !coming.is_empty() {
                outln!("{coming}");
            }
            say_filters(&sub);
            say_undelivered(config, &dest.platform);
        }
        SubsCommand::Rm { destination } => {
            let dest = destination_arg(&destination)?;
            if !store.remove_subscription(&stored_key(store, &dest)?)? {
                bail!("{dest} is not subscribed; `podsift subs ls` lists the subscriptions");
            }
            store.flush()?;
            outln!("unsubscribed {dest}");
        }
        SubsCommand::Pause { destination, reason } => {
            let mut s = existing(&destination)?;
            // Pausing again without a reason keeps the one given (or the platform's refusal),
            // which says more than the default.
            match (s.paused.clone(), reason) {
                (Some(why), None) => outln!("{} was paused already ({why}); nothing changed", s.destination),
                (Some(why), Some(reason)) if why == reason => {
                    outln!("{} was paused already for the same reason ({why}); nothing changed", s.destination)
                }
                (before, reason) => {
                    s.paused = Some(reason.unwrap_or_else(|| "paused by an operator".into()));
                    store.put_subscription(&s)?;
                    store.flush()?;
                    match before {
                        Some(why) => {
                            outln!("{} was paused already ({why}); the reason is now the new one", s.destination)
                        }
                        None => outln!("paused {}", s.destination),
                    }
                }
            }
        }
        SubsCommand::Resume { destination } => {
            let mut s = existing(&destination)?;
            let Some(why) = s.paused.take() else {
                outln!("{} is not paused: nothing to resume", s.destination);
                return Ok(());
            };
            s.owed_from = Some(Utc::now());
            store.put_subscription(&s)?;
            outln!("resumed {} (it was paused: {why})", s.destination);
            say_unread(store, &s.destination.key())?;
            store.flush()?;
        }
    }
    Ok(())
}

/// The operator's filters of a subscription, those set, a line each.
fn say_filters(sub: &Subscription) {
    for (what, list) in
        [("only podcasts", &sub.only_podcasts), ("muted", &sub.mute_podcasts), ("keywords", &sub.keywords)]
    {
        if !list.is_empty() {
            outln!("    {what}: {}", list.join(", "));
        }
    }
}

/// Says so when `platform` has no adapter enabled: its subscriptions get nothing.
fn say_undelivered(config: &Config, platform: &str) {
    if !config.adapters.is_enabled(platform) {
        outln!("    not delivered: no {platform} adapter is enabled; enable [adapters.{platform}] in the config");
    }
}

/// Podcasts only a resumed chat follows were not read while it was paused: its next digest
/// waits for the ingest that reads them (said).
fn say_unread(store: &Store, key: &str) -> Result<()> {
    if store.wake(key, Utc::now())? {
        outln!("  its own podcasts were not read while paused: its next digest waits for the next ingest to read them");
    }
    Ok(())
}
