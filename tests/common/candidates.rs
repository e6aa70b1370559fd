//! Candidate insights put straight into a store, for tests of what the digest does with them.

use chrono::{DateTime, Utc};
use podsift::model::{Episode, Insight, TranscriptSource};
use podsift::store::Store;

/// Stores one episode of the podcast `podcast` (feed and ids named after `key`), published at
/// `published`, with one candidate insight whose text is also its quote. Returns the insight's id.
pub fn put_candidate(
    store: &Store,
    key: &str,
    podcast: &str,
    published: DateTime<Utc>,
    text: &str,
    score: f64,
) -> String {
    let feed = format!("https://{key}.example/feed");
    let mut ep = Episode::new(&format!("{key}-ep"), &feed, &format!("{podcast} #1"), published);
    ep.podcast_title = Some(podcast.to_string());
    ep.published = Some(published);
    ep.insights_extracted = true;
    let insight = Insight {
        id: format!("{key}-insight"),
        episode_id: ep.id.clone(),
        feed_url: feed,
        podcast: podcast.to_string(),
        episode: ep.title.clone(),
        episode_url: None,
        speaker: Some("Guest".into()),
        start_seconds: 30.0,
        text: text.to_string(),
        quote: text.to_string(),
        score,
        published,
        source: TranscriptSource::Text,
        embedding: None,
    };
    store.put_insights(&ep, std::slice::from_ref(&insight), Some(&[])).unwrap();
    insight.id
}
