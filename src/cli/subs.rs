//! `podsift subs`: the operator's view of subscriptions.

use anyhow::{Result, bail};
use chrono::Utc;

use podsift::config::Config;
use podsift::deliver::Destination;
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

/// The latest digest delivery to `destination`: its day and what became of it.
pub fn last_delivery(
    latest: &std::collections::HashMap<String, podsift::deliver::Delivery>,
    destination: &Destination,
) -> Option<String> {
    use podsift::deliver::DeliveryState;
    let d = latest.get(&destination.key())?;
    let what = match &d.state {
        DeliveryState::Sent { at } => format!("sent {}", at.format("%Y-%m-%d %H:%M UTC")),
        DeliveryState::Pending => "pending".into(),
        DeliveryState::Skipped { reason } => format!("skipped: {reason}"),
        DeliveryState::Failed { error } => format!("failed: {error}"),
    };
    Some(format!("{}: {what}", d.date))
}

pub fn subs(cmd: SubsCommand, store: &Store, config: &Config) -> Result<()> {
    use podsift::deliver::{Schedule, Subscription};
    let existing = |d: &str| -> Result<Subscription> {
        let dest = destination_arg(d)?;
        store
            .subscription(&dest.key())?
            .ok_or_else(|| anyhow::anyhow!("{dest} is not subscribed; `podsift subs ls` lists the subscriptions"))
    };
    match cmd {
        SubsCommand::Ls { out } => {
            let subs = store.subscriptions()?;
            if out.json {
                /// A subscription with the chat's own podcasts (none: the operator's).
                #[derive(serde::Serialize)]
                struct View<'a> {
                    #[serde(flatten)]
                    sub: &'a Subscription,
                    podcasts: Option<Vec<String>>,
                }
                let views: Vec<View> = subs
                    .iter()
                    .map(|sub| Ok(View { sub, podcasts: store.podcast_list(&sub.destination.key())? }))
                    .collect::<Result<_>>()?;
                return print_json(&views);
            }
            if subs.is_empty() {
                outln!(
                    "No subscriptions yet: `podsift subs add console:local --time 08:00 --tz Europe/Berlin`, or /start in a chat."
                );
            }
            let deliveries = latest_deliveries(store)?;
            for s in &subs {
                let state = s.paused.as_deref().map(|r| format!("paused: {r}")).unwrap_or_else(|| "active".into());
                outln!("{}  {}  {}  (by {})", s.destination, s.schedule.describe(), state, s.created_by);
                let platform = &s.destination.platform;
                if !config.adapters.is_enabled(platform) {
                    outln!(
                        "    not delivered: no {platform} adapter is enabled; enable [adapters.{platform}] in the config"
                    );
                }
                if let Some(list) = store.podcast_list(&s.destination.key())? {
                    outln!("    podcasts ({}): {}", list.len(), podcast_names(store, &list).join(", "));
                }
                if let Some(last) = last_delivery(&deliveries, &s.destination) {
                    outln!("    last digest {last}");
                }
            }
        }
        SubsCommand::Add { destination, time, tz, cron, only, mute, keywords } => {
            let dest = destination_arg(&destination)?;
            let tz = tz.unwrap_or_else(|| config.service.default_timezone.clone());
            let schedule = match cron {
                Some(expr) => Schedule::cron(&expr, &tz)?,
                None => Schedule::daily(time.as_deref().unwrap_or(&config.service.default_time), &tz)?,
            };
            let mut sub = Subscription::new(dest.clone(), schedule, "operator", Utc::now());
            sub.only_podcasts = only;
            sub.mute_podcasts = mute;
            sub.keywords = keywords;
            store.put_subscription(&sub)?;
            store.flush()?;
            outln!("subscribed {dest}: {}", sub.schedule.describe());
        }
        SubsCommand::Rm { destination } => {
            let dest = destination_arg(&destination)?;
            if !store.remove_subscription(&dest.key())? {
                bail!("{dest} is not subscribed; `podsift subs ls` lists the subscriptions");
            }
            store.flush()?;
            outln!("unsubscribed {dest}");
        }
        SubsCommand::Pause { destination, reason } => {
            let mut s = existing(&destination)?;
            s.paused = Some(reason);
            store.put_subscription(&s)?;
            store.flush()?;
            outln!("paused {}", s.destination);
        }
        SubsCommand::Resume { destination } => {
            let mut s = existing(&destination)?;
            s.paused = None;
            store.put_subscription(&s)?;
            store.flush()?;
            outln!("resumed {}", s.destination);
        }
    }
    Ok(())
}
