//! Finding podcasts by name in a directory (Apple's iTunes Search API by default, or any server
//! answering the same JSON), and checking that an address readers give is a feed podsift may
//! fetch for them: http(s) only, from an allowed public host, and one that parses.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use super::fetch::{Document, Fetched, Fetcher, Limit, Validators, is_private_address};
use crate::config::{IngestConfig, PodcastsConfig};
use crate::model::DirectoryHit;

/// A directory's answer is small; more than this is not one.
const MAX_ANSWER_BYTES: u64 = 1 << 20;

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    results: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    collection_name: Option<String>,
    track_name: Option<String>,
    artist_name: Option<String>,
    feed_url: Option<String>,
}

/// The directory's top `limit` podcasts for `words` (those without a feed address left out).
pub async fn search(
    config: &PodcastsConfig,
    ingest: &IngestConfig,
    words: &str,
    limit: usize,
) -> Result<Vec<DirectoryHit>, String> {
    let mut url = url::Url::parse(&config.directory_url).map_err(|e| format!("podcasts.directory_url: {e}"))?;
    url.query_pairs_mut()
        .append_pair("media", "podcast")
        .append_pair("entity", "podcast")
        .append_pair("limit", &limit.to_string())
        .append_pair("term", words.trim());
    let mut ingest = ingest.clone();
    ingest.timeout_secs = config.directory_timeout_secs;
    let fetcher = Fetcher::new(&ingest).map_err(|e| e.to_string())?;
    let failed = |why: String| {
        format!("the podcast directory could not be searched ({why}); try again later, or add the feed's address")
    };
    // The fetcher keeps to the same limit; this one is the backstop, a second later, so
    // that which of the two fires first never changes what the reader is told.
    let body = match tokio::time::timeout(
        Duration::from_secs(config.directory_timeout_secs + 1),
        fetcher.fetch(
            url.as_str(),
            &Validators::default(),
            Limit { bytes: MAX_ANSWER_BYTES, what: Document::DirectoryAnswer },
        ),
    )
    .await
    {
        Ok(Ok(Fetched::Body(b))) => b,
        Ok(Ok(Fetched::NotModified { .. })) => return Err(failed("an empty answer".into())),
        Ok(Err(e)) => return Err(failed(e.to_string())),
        Err(_) => return Err(failed(format!("timed out after {} s", config.directory_timeout_secs))),
    };
    let answer: Answer =
        serde_json::from_slice(&body.bytes).map_err(|e| failed(format!("not a directory answer: {e}")))?;
    Ok(answer
        .results
        .into_iter()
        .filter_map(|e| {
            let feed_url = e.feed_url.filter(|u| u.starts_with("http://") || u.starts_with("https://"))?;
            let title = e.collection_name.or(e.track_name)?.trim().to_string();
            Some(DirectoryHit { title, author: e.artist_name.map(|a| a.trim().to_string()), feed_url })
        })
        .take(limit)
        .collect())
}

/// Whether the operator named the host of `address` in `allowed_hosts`.
pub fn allowed(config: &PodcastsConfig, address: &str) -> bool {
    let Some(host) =
        url::Url::parse(address).ok().and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_lowercase()))
    else {
        return false;
    };
    config.allowed_hosts.iter().any(|h| {
        let h = h.trim().to_lowercase();
        host == h || host.ends_with(&format!(".{h}"))
    })
}

/// Why `address` may not be fetched on a reader's behalf, or None when it may: http(s) only, a
/// host on `allowed_hosts` when that list is set, and never this machine or a private network
/// unless named there.
pub fn refused(config: &PodcastsConfig, address: &str) -> Option<String> {
    let Ok(url) = url::Url::parse(address) else {
        return Some(format!("{address} is not a web address; give the feed's http(s) address or the podcast's name"));
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Some(format!("only http(s) feeds can be added here, not {}", url.scheme()));
    }
    let host = url.host_str().unwrap_or("").trim_matches(['[', ']']).to_lowercase();
    if allowed(config, address) {
        return None;
    }
    if !config.allowed_hosts.is_empty() {
        return Some(format!(
            "feeds from {host} are not allowed here (the operator allows: {})",
            config.allowed_hosts.join(", ")
        ));
    }
    // Names are checked again on the addresses they resolve to, when the feed is fetched.
    let private = match host.parse::<IpAddr>() {
        Ok(ip) => is_private_address(ip),
        Err(_) => host == "localhost" || host.ends_with(".localhost"),
    };
    private.then(|| format!("{host} is not a public address; feeds must come from the public web"))
}

/// Fetches `address` and reads it as a feed, as ingest does: its title (or the address), or
/// what is wrong. Unless its host is one the operator allowed, only public addresses are
/// connected to, whatever the name resolves to.
pub async fn check_feed(config: &PodcastsConfig, ingest: &IngestConfig, address: &str) -> Result<String, String> {
    let fetcher = Fetcher::new(ingest).map_err(|e| e.to_string())?;
    let fetcher = fetcher.for_links_of(allowed(config, address));
    match super::read_feed(&fetcher, address, &Validators::default(), ingest.max_feed_bytes).await {
        Ok(super::FeedRead::Read(_, feed)) => Ok(feed.title.unwrap_or_else(|| address.to_string())),
        Ok(super::FeedRead::Unchanged { .. }) => Err(format!("{address} gave no feed")),
        // What a name resolves to inside the network stays in the log, not in the chat.
        Err(e) if e.to_string().contains("refused:") || e.to_string().contains("refused to fetch") => {
            tracing::warn!("a reader's feed {address} was refused: {e}");
            Err(format!("{address} is not on the public web"))
        }
        Err(e) => Err(format!("{address} is not a podcast feed podsift can read ({e})")),
    }
}
