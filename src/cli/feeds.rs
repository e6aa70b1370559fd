//! `podsift feeds`: add, remove, list, import and export the subscribed feeds.

use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::Utc;

use podsift::config::Config;
use podsift::ingest;
use podsift::model::Feed;
use podsift::store::Store;

use super::args::FeedsCommand;
use super::output::{FeedView, print_feed, print_json};

/// Searches the podcast directory and prints what it found, with each podcast's feed address.
pub async fn search(words: &[String], config: &podsift::config::Config, json: bool) -> Result<()> {
    let hits = podsift::ingest::directory::search(&config.podcasts, &config.ingest, &words.join(" "), 10)
        .await
        .map_err(anyhow::Error::msg)?;
    if json {
        return print_json(&hits);
    }
    if hits.is_empty() {
        outln!("Nothing found for \"{}\".", words.join(" "));
    }
    for (i, h) in hits.iter().enumerate() {
        match &h.author {
            Some(a) => outln!("{}. {} — {a}", i + 1, h.title),
            None => outln!("{}. {}", i + 1, h.title),
        }
        outln!("   {}", h.feed_url);
    }
    if !hits.is_empty() {
        outln!("Add one with `podsift feeds add ADDRESS`.");
    }
    Ok(())
}

pub async fn feeds(cmd: FeedsCommand, store: &Store, config: &Config) -> Result<()> {
    match cmd {
        FeedsCommand::Search { .. } => anyhow::bail!("`podsift feeds search` is answered by feeds::search"),
        FeedsCommand::Add { urls } => {
            // All or none: a bad one in the middle must not leave the list half added.
            let mut good = Vec::new();
            let mut bad = Vec::new();
            let mut unreachable = Vec::new();
            for url in &urls {
                let read = match normalize_feed_location(url).and_then(|u| local_feed_readable(&u, config).map(|()| u))
                {
                    // A feed subscribed already is not fetched again to be added.
                    Ok(u) if store.find_feed(&u)?.is_some() => Ok((u, Readable::default())),
                    Ok(u) => web_feed_readable(&u, config).await.map(|r| (u, r)),
                    Err(e) => Err(e),
                };
                match read {
                    Ok((u, readable)) => {
                        unreachable.extend(readable.warning);
                        good.push((u, readable.moved_to));
                    }
                    Err(e) => bad.push(format!("{e:#}")),
                }
            }
            if !bad.is_empty() {
                bail!("nothing was added: {}", bad.join("; "));
            }
            for w in unreachable {
                errln!("warning: {w}");
            }
            let mut added = 0;
            for (url, moved_to) in good {
                // An address that moved for good to a feed subscribed already is that feed.
                if let Some(mut known) = moved_to.as_deref().map(|to| store.find_feed(to)).transpose()?.flatten() {
                    let to = moved_to.as_deref().unwrap_or_default();
                    let which = if known.url == to { String::new() } else { format!(", which is {}", known.url) };
                    if known.reader_added {
                        // As adding the new address itself would: now the operator's too.
                        known.reader_added = false;
                        known.public_only = false;
                        store.put_feed(&known)?;
                        outln!(
                            "added {}: {url} moved permanently to {to}{which} (readers had added it to their own lists)",
                            known.url
                        );
                        added += 1;
                    } else {
                        outln!("already subscribed: {url} moved permanently to {to}{which}");
                    }
                    continue;
                }
                if let Some(known) = store.find_feed(&url)?.filter(|k| k.url != url) {
                    outln!("already subscribed: {url} is {} (the same feed under another address)", known.url);
                    continue;
                }
                if let Some(mut known) = store.feed(&url)? {
                    if known.reader_added {
                        // Now the operator's too: it joins the default digest.
                        known.reader_added = false;
                        known.public_only = false;
                        store.put_feed(&known)?;
                        outln!("added {url} (readers had added it to their own lists)");
                        added += 1;
                    } else {
                        outln!("already subscribed: {url}");
                    }
                    continue;
                }
                let mut feed = Feed::new(&url, Utc::now());
                if let Some(to) = moved_to {
                    // As ingest would remember it: read from where it lives now.
                    outln!("{url} moved permanently to {to}: it is read from there");
                    feed.fetch_url = to;
                }
                store.put_feed(&feed)?;
                outln!("added {url}");
                added += 1;
            }
            store.flush()?;
            if added > 0 {
                outln!("Run `podsift ingest` to fetch new episodes.");
            }
        }
        FeedsCommand::Rm { urls } => {
            // All or none, as `feeds add`: a mistyped one in the middle must not leave the rest
            // half removed.
            let mut known = Vec::new();
            let mut unknown = Vec::new();
            for url in urls {
                let url = normalize_feed_location(&url).unwrap_or(url);
                // Named as `feeds add` knows it: under another spelling of its address (http
                // for https, a trailing slash, the address it moved to) it is the same feed.
                match store.find_feed(&url)? {
                    Some(f) if !known.contains(&f.url) => known.push(f.url),
                    Some(_) => {}
                    None => unknown.push(url),
                }
            }
            if !unknown.is_empty() {
                bail!(
                    "nothing was removed: no feed {} is subscribed; `podsift feeds ls` lists them",
                    unknown.join(", no feed ")
                );
            }
            for url in known {
                store.remove_feed(&url)?;
                // Chats that picked it lose it too (a chat left with none gets the operator's
                // feeds).
                let mut chats = 0;
                for (key, list) in store.podcast_lists()? {
                    if list.contains(&url) {
                        let rest: Vec<String> = list.into_iter().filter(|u| u != &url).collect();
                        store.put_podcast_list(&key, &rest)?;
                        chats += 1;
                    }
                }
                store.flush()?;
                outln!("removed {url} and its episodes");
                if chats > 0 {
                    outln!("and from the podcasts of {chats} chat(s)");
                }
            }
        }
        FeedsCommand::Ls { out } => {
            let views = store
                .feeds()?
                .into_iter()
                .map(|f| Ok(FeedView { episodes: store.episode_count(&f.url)?, feed: f }))
                .collect::<Result<Vec<_>>>()?;
            if out.json {
                return print_json(&views);
            }
            if views.is_empty() {
                outln!(
                    "No feeds yet in the store at {}: add one with `podsift feeds add URL` or `podsift feeds import FILE.opml` (or name another store with --data).",
                    store.dir().display()
                );
            }
            for v in &views {
                print_feed(v);
            }
        }
        FeedsCommand::Import { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let listed = ingest::opml::parse(&text).with_context(|| format!("{}", file.display()))?;
            let mut added = 0;
            let mut skipped = Vec::new();
            for item in &listed {
                // Checked as `feeds add` checks an address; a path is the list's own, relative to
                // the list's folder, not to wherever the command runs.
                let relative = url::Url::parse(&item.url).is_err() && Path::new(&item.url).is_relative();
                let location = match file.parent() {
                    Some(dir) if relative => dir.join(&item.url).to_string_lossy().into_owned(),
                    _ => item.url.clone(),
                };
                let url = match normalize_feed_location(&location)
                    .and_then(|u| local_feed_readable(&u, config).map(|()| u))
                {
                    Ok(url) => url,
                    Err(e) => {
                        skipped.push(format!("{e:#}"));
                        continue;
                    }
                };
                if store.find_feed(&url)?.is_none() {
                    let mut feed = Feed::new(&url, Utc::now());
                    feed.title = item.title.clone();
                    store.put_feed(&feed)?;
                    added += 1;
                }
            }
            store.flush()?;
            outln!(
                "imported {added} new feed(s) of {} listed in {}; run `podsift ingest` to fetch them",
                listed.len(),
                file.display()
            );
            if !skipped.is_empty() {
                let entries = if skipped.len() == 1 { "entry" } else { "entries" };
                errln!("skipped {} {entries} that name no feed: {}", skipped.len(), skipped.join("; "));
            }
        }
        FeedsCommand::Export => out!("{}", ingest::opml::export(&store.feeds()?)),
    }
    Ok(())
}

/// A feed file on this machine is read now, as its first ingest would read it: a web page, a
/// notes file or a directory listing named by mistake is refused with what it is instead. (An
/// address on the web is fetched by the next ingest, which may run where the network is.)
fn local_feed_readable(url: &str, config: &Config) -> Result<()> {
    let Some(path) = url::Url::parse(url).ok().filter(|u| u.scheme() == "file").and_then(|u| u.to_file_path().ok())
    else {
        return Ok(());
    };
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if size > config.ingest.max_feed_bytes {
        bail!("{} is larger than ingest.max_feed_bytes ({} bytes)", path.display(), config.ingest.max_feed_bytes);
    }
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    ingest::feed::parse_feed(&bytes, url)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("{} is not a feed: {e}", path.display()))
}

/// What reading a feed before adding it found: why it could not be reached for now, and where
/// it moved for good.
#[derive(Default)]
struct Readable {
    warning: Option<String>,
    moved_to: Option<String>,
}

/// A feed on the web is read once before it is added, as a local one is: an address that
/// answers with no feed (HTTP 404, a web page) is named instead of added. One that cannot be
/// reached now (no network, a server down or busy) is added all the same, with the warning
/// returned: ingest tries it again. An https:// address of a server that speaks plain HTTP is
/// refused with the http:// one to add.
async fn web_feed_readable(url: &str, config: &Config) -> Result<Readable> {
    use ingest::ReadFeedError;
    use ingest::fetch::FetchError;
    if !url.starts_with("http://") && !url.starts_with("https://") {
        return Ok(Readable::default());
    }
    let fetcher = ingest::fetch::Fetcher::new(&config.ingest).map_err(|e| anyhow::anyhow!("{e}"))?;
    let read = ingest::read_feed(&fetcher, url, &Default::default(), config.ingest.max_feed_bytes).await;
    match read {
        Ok(ingest::FeedRead::Read(body, _)) => Ok(Readable { warning: None, moved_to: body.moved_to }),
        Ok(ingest::FeedRead::Unchanged { moved_to, .. }) => Ok(Readable { warning: None, moved_to }),
        // An https:// address of a plain-HTTP server fails the same way every time: named now,
        // not retried by every ingest as if the server were down. The address that failed may
        // be where the one given redirects to.
        Err(ReadFeedError::Fetch(FetchError::Network { url: failed, reason }))
            if podsift::http::answered_in_plain_http(&reason) =>
        {
            let failed = if failed.is_empty() { url } else { failed.as_str() };
            let plain = failed.get(..8).filter(|s| s.eq_ignore_ascii_case("https://")).map(|_| &failed[8..]);
            let via = if failed == url { String::new() } else { format!(" (it redirects to {failed})") };
            let fix = plain.map(|rest| format!("; add http://{rest} if that is the feed")).unwrap_or_default();
            bail!("{url} is not added{via}: the server answers in plain HTTP, not TLS ({reason}){fix}")
        }
        Err(ReadFeedError::Fetch(
            e @ (FetchError::Network { .. }
            | FetchError::Timeout { .. }
            | FetchError::Status { status: 429 | 500.., .. }),
        )) => Ok(Readable {
            warning: Some(format!("{e}; added all the same, `podsift ingest` tries it again")),
            moved_to: None,
        }),
        Err(ReadFeedError::Parse(e)) => bail!("{url} is not a feed: {e}"),
        Err(e) => bail!("{e}"),
    }
}

/// Feeds are URLs; a local path becomes an absolute file:// URL so it works from any directory.
pub(super) fn normalize_feed_location(input: &str) -> Result<String> {
    let input = input.trim();
    if let Ok(mut u) = url::Url::parse(input) {
        match u.scheme() {
            // A file URL names a file on this machine, by its absolute path ("file://feed.xml"
            // names a host called feed.xml): one that is not there would only fail at ingest.
            "file" if !u.to_file_path().is_ok_and(|p| p.is_file()) => bail!(
                "{input} names no file here: a file URL is file:///absolute/path/feed.xml (or give the path itself)"
            ),
            "http" | "https" | "file" | "demo" => {
                // A fragment never reaches the server: `feed.xml#x` is `feed.xml`, not a second
                // feed whose episodes would fill the digest twice.
                u.set_fragment(None);
                return Ok(u.to_string());
            }
            s if s.len() > 1 => bail!("unsupported URL scheme {s:?} in {input}: use http(s), file:// or a local path"),
            _ => {}
        }
    }
    let path = Path::new(input);
    let abs = path.canonicalize().with_context(|| {
        format!("{input} is neither a URL nor an existing file (feeds are http(s) URLs, file:// URLs or local paths)")
    })?;
    if abs.is_dir() {
        bail!("{input} is a directory: name the feed file in it (an RSS or Atom .xml file)");
    }
    url::Url::from_file_path(&abs)
        .map(|u| u.to_string())
        .map_err(|_| anyhow::anyhow!("cannot turn {} into a file:// URL", abs.display()))
}
