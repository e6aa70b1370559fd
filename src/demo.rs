//! The bundled demo: real episodes of several podcasts, served from a loopback HTTP server so
//! that `podsift demo` exercises the real fetch, parse and store path with no network and no keys.
//!
//! The demo's feeds are identified as `demo:<show>` and fetched from the server's current
//! address, so running the demo twice on one data directory never duplicates an episode.

use std::net::SocketAddr;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::ingest::{IngestError, IngestOptions, IngestSummary, Progress};
use crate::insight::terms;
use crate::model::{DigestEntry, Feed};
use crate::store::Store;

/// The demo feeds (file stem, contents); see config/demo/ATTRIBUTION.md.
pub const FEEDS: &[(&str, &str)] = &[
    ("brainscience", include_str!("../config/demo/feeds/brainscience.xml")),
    ("founderstalk", include_str!("../config/demo/feeds/founderstalk.xml")),
    ("friends", include_str!("../config/demo/feeds/friends.xml")),
    ("gotime", include_str!("../config/demo/feeds/gotime.xml")),
    ("jsparty", include_str!("../config/demo/feeds/jsparty.xml")),
    ("rfc", include_str!("../config/demo/feeds/rfc.xml")),
    ("shipit", include_str!("../config/demo/feeds/shipit.xml")),
    ("spotlight", include_str!("../config/demo/feeds/spotlight.xml")),
];

/// The transcripts the feeds point at (CC BY-SA 4.0, Changelog Media).
pub const TRANSCRIPTS: &[(&str, &str)] = &[
    ("brain-science-10.md", include_str!("../config/demo/transcripts/brain-science-10.md")),
    ("changelog--friends-20.md", include_str!("../config/demo/transcripts/changelog--friends-20.md")),
    ("founders-talk-90.md", include_str!("../config/demo/transcripts/founders-talk-90.md")),
    ("go-time-100.md", include_str!("../config/demo/transcripts/go-time-100.md")),
    ("js-party-100.md", include_str!("../config/demo/transcripts/js-party-100.md")),
    ("request-for-commits-10.md", include_str!("../config/demo/transcripts/request-for-commits-10.md")),
    ("ship-it-80.md", include_str!("../config/demo/transcripts/ship-it-80.md")),
    ("spotlight-10.md", include_str!("../config/demo/transcripts/spotlight-10.md")),
];

/// A running demo server; stops when dropped.
pub struct DemoServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct ServerState {
    base: String,
    now: DateTime<Utc>,
}

impl DemoServer {
    /// Starts the server on 127.0.0.1 with a free port. `now` dates the episodes (N hours before it).
    pub async fn start(now: DateTime<Utc>) -> std::io::Result<DemoServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = ServerState { base: format!("http://{addr}"), now };
        let app = axum::Router::new()
            .route("/feeds/{file}", axum::routing::get(feed))
            .route("/transcripts/{file}", axum::routing::get(transcript))
            .with_state(state);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("demo server stopped: {e}");
            }
        });
        Ok(DemoServer { addr, task })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds the demo feeds to the store (or points existing ones at this server).
    pub fn subscribe(&self, store: &Store, now: DateTime<Utc>) -> Result<(), crate::store::StoreError> {
        for (name, _) in FEEDS {
            let id = format!("demo:{name}");
            let mut feed = store.feed(&id)?.unwrap_or_else(|| Feed::new(&id, now));
            feed.fetch_url = format!("{}/feeds/{name}.xml", self.base_url());
            // A new server address means the old validators and backoff no longer apply.
            feed.etag = None;
            feed.last_modified = None;
            feed.next_attempt_at = None;
            store.put_feed(&feed)?;
        }
        Ok(())
    }
}

async fn feed(State(state): State<ServerState>, Path(file): Path<String>) -> impl IntoResponse {
    let name = file.strip_suffix(".xml").unwrap_or(&file);
    match FEEDS.iter().find(|(n, _)| *n == name) {
        Some((_, text)) => {
            let body = fill_template(text, &state.base, state.now);
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn transcript(Path(file): Path<String>) -> impl IntoResponse {
    match TRANSCRIPTS.iter().find(|(n, _)| *n == file) {
        Some((_, text)) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], *text).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Fills `{{BASE}}` and `{{PUBDATE:N}}` (N hours before `now`, RFC 2822).
fn fill_template(text: &str, base: &str, now: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text.replace("{{BASE}}", base);
    while let Some(i) = rest.find("{{PUBDATE:") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "{{PUBDATE:".len()..];
        let end = after.find("}}").unwrap_or(after.len());
        let hours: i64 = after[..end].trim().parse().unwrap_or(0);
        out.push_str(&(now - chrono::Duration::hours(hours)).to_rfc2822());
        rest = after[(end + 2).min(after.len())..].to_string();
    }
    out.push_str(&rest);
    out
}

/// Serves the demo podcasts and ingests them into `store` through the ordinary ingest path,
/// extracting insights as `podsift ingest` does. Returns the summary and the insights stored.
pub async fn ingest_demo(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
    progress: &dyn Progress,
) -> Result<(IngestSummary, usize), IngestError> {
    let server = DemoServer::start(now).await.map_err(|e| {
        IngestError::Client(crate::ingest::fetch::FetchError::Network {
            url: "127.0.0.1".into(),
            reason: format!("cannot start the demo server: {e}"),
        })
    })?;
    server.subscribe(store, now)?;
    crate::pipeline::ingest_and_extract(store, config, IngestOptions { now, force: true }, progress).await
}

/// A follow-up question a reader might ask about an entry: about its most specific words
/// (highest IDF in `corpus`).
pub fn sample_question(entry: &DigestEntry, corpus: &terms::Corpus) -> String {
    let mut words: Vec<String> = terms::tokens(&entry.text)
        .filter(|w| !terms::is_stop_word(w) && w.len() > 2 && !w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    words.sort_by(|a, b| corpus.idf(&terms::stem(b)).total_cmp(&corpus.idf(&terms::stem(a))).then(a.cmp(b)));
    words.dedup();
    words.truncate(2);
    let who = entry.speaker.as_deref().unwrap_or("they");
    let names: Vec<String> = terms::tokens(who).collect();
    words.retain(|w| !names.contains(w));
    match words.as_slice() {
        [] => format!("What exactly did {who} say about that?"),
        [a] => format!("What did {who} say about {a}?"),
        [a, b, ..] => format!("What did {who} say about {a} and {b}?"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_fills_base_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z").unwrap().with_timezone(&Utc);
        let s = fill_template("<a>{{BASE}}/x</a><d>{{PUBDATE:2}}</d>", "http://h:1", now);
        assert_eq!(s, "<a>http://h:1/x</a><d>Sat, 28 Nov 2026 10:00:00 +0000</d>");
    }

    #[test]
    fn every_feed_points_at_a_bundled_transcript() {
        for (name, text) in FEEDS {
            let url = text.split("/transcripts/").nth(1).and_then(|r| r.split('"').next()).unwrap();
            assert!(TRANSCRIPTS.iter().any(|(t, _)| *t == url), "{name} -> {url}");
        }
    }
}
