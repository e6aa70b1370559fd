//! A destination's own podcast list (`/podcasts`): listing it, adding a podcast by its feed
//! address or by name (a directory search, then a choice by number), removing one by number, all
//! within the operator's limits; and telling readers once when a podcast of theirs keeps
//! failing. A destination without a list gets the operator's feeds. Feeds are shared: one that
//! many lists name is fetched once.

use chrono::{DateTime, Duration, Utc};

use super::{Choice, Message};
use crate::config::Config;
use crate::ingest::directory;
use crate::model::{Destination, DirectoryHit, Feed};
use crate::store::{Store, StoreError};

/// How many directory results a reader chooses from.
const CHOICES: usize = 5;

fn title_of(store: &Store, url: &str) -> String {
    store.feed(url).ok().flatten().and_then(|f| f.title).unwrap_or_else(|| url.to_string())
}

/// The destination's podcasts, numbered, with how to change them.
pub fn list(store: &Store, dest: &Destination, prefix: &str) -> Result<String, StoreError> {
    Ok(match store.podcast_list(&dest.key())? {
        None => {
            let mut titles: Vec<String> =
                store.feeds()?.into_iter().filter(|f| !f.reader_added).map(|f| f.title.unwrap_or(f.url)).collect();
            titles.sort();
            format!(
                "This chat gets the podcasts the operator chose ({}): {}.\nTo pick your own: {prefix}podcasts add NAME or \
                 a feed address (then only yours are used).",
                titles.len(),
                if titles.is_empty() { "none yet".to_string() } else { titles.join(", ") }
            )
        }
        Some(feeds) => {
            let mut s = format!("This chat's podcasts ({}):\n", feeds.len());
            for (i, url) in feeds.iter().enumerate() {
                s.push_str(&format!("{}. {}\n", i + 1, title_of(store, url)));
            }
            s.push_str(&format!("{prefix}podcasts add NAME or address · {prefix}podcasts remove N"));
            s
        }
    })
}

/// Adds what the reader named: a number from their last search, a feed address, or words to
/// search the directory for (the reply then offers the matches to choose from, as buttons where
/// the platform has them).
pub async fn add(
    store: &Store,
    config: &Config,
    dest: &Destination,
    query: &str,
    prefix: &str,
    now: DateTime<Utc>,
) -> Result<Message, StoreError> {
    let query = query.trim();
    if choice_of(query).is_none() && !query.contains("://") {
        let hits = match directory::search(&config.podcasts, &config.ingest, query, CHOICES).await {
            Ok(hits) => hits,
            Err(e) => return Ok(Message::Notice(e)),
        };
        if hits.is_empty() {
            return Ok(Message::Notice(format!(
                "No podcast called \"{query}\" was found. Try other words, or {prefix}podcasts add with the feed's address."
            )));
        }
        // Buttons name their search: a later search in the same chat does not change them.
        let stamp = format!("{now}{query}");
        let search =
            crate::http::hex(&crate::http::hmac_sha256(dest.key().as_bytes(), stamp.as_bytes()))[..6].to_string();
        store.put_choices(&dest.key(), &search, &hits, now)?;
        let choices = hits
            .iter()
            .enumerate()
            .map(|(i, h)| Choice {
                label: format!("{}. {}", i + 1, h.title),
                command: format!("podcasts add {search}:{}", i + 1),
            })
            .collect();
        return Ok(Message::Choices { text: choices_text(&hits, prefix), choices });
    }
    add_named(store, config, dest, query, prefix, now).await.map(Message::Notice)
}

async fn add_named(
    store: &Store,
    config: &Config,
    dest: &Destination,
    query: &str,
    prefix: &str,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    if let Some((search, n)) = choice_of(query) {
        let choices = store.choices(&dest.key(), search)?;
        return match choices.get(n.wrapping_sub(1)) {
            Some(hit) => add_feed(store, config, dest, &hit.feed_url, Some(&hit.title), prefix, now).await,
            None if choices.is_empty() => Ok(format!(
                "There is nothing to choose from: no search yet, or its choices are over two days old. {prefix}podcasts add NAME searches for a podcast."
            )),
            None => Ok(format!("Choose a number from 1 to {} (from the last search).", choices.len())),
        };
    }
    add_feed(store, config, dest, query, None, prefix, now).await
}

/// A choice from a search: `N` (the chat's latest search) or `SEARCH:N` (a button's).
fn choice_of(query: &str) -> Option<(Option<&str>, usize)> {
    match query.split_once(':') {
        Some((search, n)) if search.len() == 6 && search.chars().all(|c| c.is_ascii_hexdigit()) => {
            Some((Some(search), n.parse().ok()?))
        }
        Some(_) => None,
        None => Some((None, query.parse().ok()?)),
    }
}

fn choices_text(hits: &[DirectoryHit], prefix: &str) -> String {
    let mut s = String::from("Found:\n");
    for (i, h) in hits.iter().enumerate() {
        match &h.author {
            Some(a) if !a.is_empty() => s.push_str(&format!("{}. {} — {a}\n", i + 1, h.title)),
            _ => s.push_str(&format!("{}. {}\n", i + 1, h.title)),
        }
    }
    s.push_str(&format!("Add one with its button, or {prefix}podcasts add N (e.g. {prefix}podcasts add 1)."));
    s
}

async fn add_feed(
    store: &Store,
    config: &Config,
    dest: &Destination,
    address: &str,
    title: Option<&str>,
    prefix: &str,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let limits = &config.podcasts;
    if let Some(why) = directory::refused(limits, address) {
        return Ok(format!("Not added: {why}."));
    }
    // Another spelling of a feed already here (http or https, the address it moved to) is that
    // feed: a second copy would fetch and show every episode twice.
    let known_as = store.find_feed(address)?.map(|f| f.url);
    let address = known_as.as_deref().unwrap_or(address);
    let mut list = store.podcast_list(&dest.key())?.unwrap_or_default();
    if list.iter().any(|u| u == address) {
        return Ok(format!("{} is already in this chat's podcasts.", title.unwrap_or(address)));
    }
    if list.len() >= limits.max_per_destination {
        return Ok(format!(
            "Not added: a chat can follow at most {} podcasts here; {prefix}podcasts remove N makes room.",
            limits.max_per_destination
        ));
    }
    if limits.max_destinations_per_feed > 0 {
        let followers = store.podcast_lists()?.iter().filter(|(_, l)| l.iter().any(|u| u == address)).count();
        if followers >= limits.max_destinations_per_feed {
            return Ok("Not added: this podcast is followed by as many chats as this podsift allows.".into());
        }
    }
    let known = store.feed(address)?;
    let name = match &known {
        // Already fetched for others: no need to read it again.
        Some(f) if f.last_ok_at.is_some() => f.title.clone().unwrap_or_else(|| address.to_string()),
        _ => {
            // Feeds readers name are read a few at a time, however many ask at once: each may be
            // a download of up to ingest.max_feed_bytes and a parse.
            static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
            let _turn = CHECKS.acquire().await;
            match directory::check_feed(limits, &config.ingest, address).await {
                Ok(name) => name,
                Err(e) => return Ok(format!("Not added: {e}.")),
            }
        }
    };
    if known.is_none() {
        let public_only = !directory::allowed(limits, address);
        store.put_feed(&Feed {
            title: Some(name.clone()),
            reader_added: true,
            public_only,
            ..Feed::new(address, now)
        })?;
    }
    list.push(address.to_string());
    store.put_podcast_list(&dest.key(), &list)?;
    store.flush()?;
    Ok(format!(
        "Added {name}. This chat's digest now comes from its {} podcast(s) ({prefix}podcasts lists them); new episodes \
         arrive with the next ingest.",
        list.len()
    ))
}

/// Removes podcast `n` of the destination's list; an emptied list gives the operator's again.
pub fn remove(store: &Store, dest: &Destination, n: usize, prefix: &str) -> Result<String, StoreError> {
    let Some(mut list) = store.podcast_list(&dest.key())? else {
        return Ok(format!(
            "This chat has no podcasts of its own to remove (it gets the operator's); {prefix}podcasts lists them."
        ));
    };
    if n == 0 || n > list.len() {
        return Ok(format!("Choose a number from 1 to {} ({prefix}podcasts lists them).", list.len()));
    }
    let url = list.remove(n - 1);
    store.put_podcast_list(&dest.key(), &list)?;
    let title = title_of(store, &url);
    // A feed only readers brought in, now in nobody's list, is no longer fetched.
    let followed = store.podcast_lists()?.iter().any(|(_, l)| l.contains(&url));
    if !followed && store.feed(&url)?.is_some_and(|f| f.reader_added) {
        store.remove_feed(&url)?;
    }
    store.flush()?;
    Ok(if list.is_empty() {
        format!("Removed {title}. This chat has no podcasts of its own now and gets the operator's again.")
    } else {
        format!("Removed {title}. {} podcast(s) left.", list.len())
    })
}

/// What to tell each destination whose list holds a podcast that has failed for
/// `podcasts.failing_days`: once per failure spell (the key says which, for `first_seen`).
pub fn failing(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
    prefix: impl Fn(&str) -> &'static str,
) -> Result<Vec<(Destination, String, String)>, StoreError> {
    let days = config.podcasts.failing_days as i64;
    let mut out = Vec::new();
    for (key, list) in store.podcast_lists()? {
        let Some(dest) = Destination::parse(&key) else { continue };
        // Only chats still taking digests are told.
        if store.subscription(&key)?.is_none_or(|s| s.paused.is_some()) {
            continue;
        }
        for (i, url) in list.iter().enumerate() {
            let Some(feed) = store.feed(url)? else { continue };
            let Some(error) = &feed.last_error else { continue };
            let since = feed.last_ok_at.unwrap_or(feed.added_at);
            if now - since < Duration::days(days) {
                continue;
            }
            let name = feed.title.clone().unwrap_or_else(|| url.clone());
            let text = format!(
                "{name} has not been readable since {} ({error}), so its episodes are missing from this chat's digest. \
                 It is tried again on its own; {}podcasts remove {} drops it.",
                since.format("%Y-%m-%d"),
                prefix(&dest.platform),
                i + 1
            );
            out.push((
                dest.clone(),
                format!("{}{key}:{url}:{}", crate::store::FEED_DOWN_MARK, since.timestamp()),
                text,
            ));
        }
    }
    Ok(out)
}
