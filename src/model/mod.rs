//! The records podsift keeps: feeds, episodes, transcripts, insights and digests here;
//! subscriptions and deliveries in `delivery`; corpus statistics and LLM usage in `stats`.
//!
//! Plain data shared by every stage. Nothing here knows how it is stored (that is `store`) or
//! where it came from (that is `ingest`); changing a field here means bumping the record version
//! in `store` when old records can no longer be read as they are.

mod delivery;
mod stats;
mod text;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use delivery::{
    Delivery, DeliveryState, Destination, REFUSED_PART, Schedule, Subscription, delivered, redact_webhooks,
};
pub use stats::{Corpus, Usage};
pub use text::{TextUnit, cut, split_text};

/// A subscribed feed and what podsift knows about fetching it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Feed {
    /// The URL (or local path) the operator added; the feed's identity.
    pub url: String,
    /// Where to fetch it from now: differs from `url` after a permanent redirect.
    pub fetch_url: String,
    pub title: Option<String>,
    pub added_at: DateTime<Utc>,
    /// Validators from the last successful fetch, sent back for a conditional GET.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_fetch_at: Option<DateTime<Utc>>,
    pub last_ok_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    /// No fetch before this time (exponential backoff or the server's Retry-After).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last fetch came from a local file or a private or local address only (the
    /// operator's own server): its episodes' links may point at private addresses. Otherwise
    /// they are fetched only from public ones.
    #[serde(default)]
    pub private_origin: bool,
    /// Added by readers for their own lists, not by the operator: fetched like any feed, but
    /// not part of the operator's default digest.
    #[serde(default)]
    pub reader_added: bool,
    /// Fetched from public addresses only (a reader named it, from a host the operator did not
    /// allow by name).
    #[serde(default)]
    pub public_only: bool,
    /// What the last read of the feed had to skip or guess (items without audio, shared
    /// guids...), kept for `feeds ls` and the operator page whoever ran the ingest; at most
    /// [`Feed::MAX_WARNINGS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_warnings: Vec<String>,
}

impl Feed {
    /// Warnings kept from a feed's last read.
    pub const MAX_WARNINGS: usize = 5;

    pub fn new(url: &str, now: DateTime<Utc>) -> Feed {
        Feed { url: url.to_string(), fetch_url: url.to_string(), added_at: now, ..Feed::default() }
    }

    /// Whether `address` is this feed: its own address or the one it moved to, compared as the
    /// same resource (http or https, host case, a trailing slash, a fragment make no difference).
    pub fn is_at(&self, address: &str) -> bool {
        let wanted = same_address_form(address);
        same_address_form(&self.url) == wanted || same_address_form(&self.fetch_url) == wanted
    }
}

/// An address in the form two spellings of one feed share.
fn same_address_form(address: &str) -> String {
    let a = address.trim();
    let a = a.split_once('#').map_or(a, |(before, _)| before);
    let (scheme, rest) = a.split_once("://").unwrap_or(("", a));
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" => "http".to_string(),
        other => other.to_string(),
    };
    let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    let host = host.to_ascii_lowercase();
    let host = host.strip_suffix(":80").or_else(|| host.strip_suffix(":443")).unwrap_or(&host);
    format!("{scheme}://{host}/{}", path.trim_end_matches('/'))
}

/// A `podcast:transcript` link as the feed declared it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TranscriptLink {
    pub url: String,
    /// The declared MIME type, lower-cased (`text/vtt`, `application/json`, ...).
    pub mime: String,
    pub language: Option<String>,
    pub rel: Option<String>,
}

/// A `podcast:person` credit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub role: Option<String>,
}

/// One episode of a feed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Episode {
    /// Stable identity: derived from the feed URL and the guid (or enclosure + title + date).
    pub id: String,
    pub feed_url: String,
    pub podcast_title: Option<String>,
    /// The feed's guid for the item, when it had one.
    pub guid: Option<String>,
    pub title: String,
    pub link: Option<String>,
    pub enclosure_url: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub duration_secs: Option<u64>,
    /// Show notes as plain text (HTML stripped), capped in size.
    pub show_notes: String,
    pub transcripts: Vec<TranscriptLink>,
    pub chapters_url: Option<String>,
    pub persons: Vec<Person>,
    pub first_seen_at: DateTime<Utc>,
    pub transcript: TranscriptStatus,
    /// Set once candidate insights were extracted from the transcript (so it happens once).
    #[serde(default)]
    pub insights_extracted: bool,
    /// How many extractions in a row gave only stand-in insights (the model's server failed):
    /// later ingests try again, up to [`STAND_IN_RETRIES`] times, while no
    /// digest has shown the episode.
    #[serde(default)]
    pub stand_in_extractions: u32,
    /// Its feed's [`Feed::private_origin`] when its transcript or audio was last looked for.
    #[serde(default)]
    pub feed_private_origin: bool,
    /// First listed by its feed days after its date (the feed was failing, or dates its items
    /// back), or dated ahead of when it was listed: it counts as new from when podsift first saw
    /// it, or it would fall between two digests' windows and never be shown (or be shown days
    /// after it came).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub arrived_late: bool,
}

/// How many later ingests try again an episode whose insights are a stand-in.
pub const STAND_IN_RETRIES: u32 = 4;

impl Episode {
    /// Still waiting for its transcript: not fetched yet, or failed with attempts perhaps left.
    pub fn wants_transcript(&self) -> bool {
        matches!(self.transcript, TranscriptStatus::Pending | TranscriptStatus::Failed { .. })
    }

    /// Its insights are still to be extracted once a transcript is there, or to be extracted
    /// again (they stand in for the engine's).
    pub fn wants_extraction(&self) -> bool {
        let again = self.insights_extracted && (1..=STAND_IN_RETRIES).contains(&self.stand_in_extractions);
        !matches!(self.transcript, TranscriptStatus::Skipped { .. }) && (!self.insights_extracted || again)
    }

    /// An episode known only by its identity and title; the rest empty, transcript pending.
    pub fn new(id: &str, feed_url: &str, title: &str, first_seen_at: DateTime<Utc>) -> Episode {
        Episode {
            id: id.to_string(),
            feed_url: feed_url.to_string(),
            podcast_title: None,
            guid: None,
            title: title.to_string(),
            link: None,
            enclosure_url: None,
            published: None,
            duration_secs: None,
            show_notes: String::new(),
            transcripts: Vec::new(),
            chapters_url: None,
            persons: Vec::new(),
            first_seen_at,
            transcript: TranscriptStatus::Pending,
            insights_extracted: false,
            stand_in_extractions: 0,
            feed_private_origin: false,
            arrived_late: false,
        }
    }

    /// When the episode counts as new: its publication date, or when podsift first saw it (one
    /// without a date, or one that [arrived late](Episode::arrived_late)).
    pub fn published_or_seen(&self) -> DateTime<Utc> {
        match self.published {
            Some(date) if !self.arrived_late => date,
            _ => self.first_seen_at,
        }
    }

    /// What one episode listed by two feeds (a show's own and its network's, or one feed under
    /// two addresses) has the same in both: its audio's address, or its title, date and audio
    /// file's name (a network's feed often puts a tracking prefix before the same file, a host
    /// signs its addresses anew). Two episodes sharing a key are one.
    pub fn copy_keys(&self) -> Vec<String> {
        // The whole address: a host may tell its episodes apart by the query alone
        // (`play.mp3?id=1`); a signed address differs each time, and is met by the title key.
        let path = self.enclosure_url.as_deref().map(|u| u.split(['?', '#']).next().unwrap_or(u));
        let file = path.and_then(|a| a.rsplit('/').next()).filter(|f| !f.is_empty());
        let titled =
            self.published.zip(file).map(|(p, f)| format!("title {} {p} {f}", self.title.trim().to_lowercase()));
        let audio = self.enclosure_url.as_deref().map(|a| format!("audio {a}"));
        audio.into_iter().chain(titled).collect()
    }
}

/// Where an episode's transcript stands.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TranscriptStatus {
    /// Not fetched yet.
    Pending,
    Stored {
        source: TranscriptSource,
        bytes: u64,
        segments: usize,
    },
    /// Every way of getting a transcript failed; `attempts` counts ingests that tried, and no
    /// ingest tries again before `retry_at` (absent in stores from before retries were spaced:
    /// the next ingest tries).
    Failed {
        error: String,
        attempts: u32,
        #[serde(default)]
        retry_at: Option<DateTime<Utc>>,
    },
    /// Not fetched on purpose (an old episode of a newly added feed's back catalogue).
    Skipped {
        reason: String,
    },
}

/// Which format a transcript was read from; later stages weigh show notes lower.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptSource {
    Json,
    Vtt,
    Srt,
    Html,
    Text,
    ShowNotes,
    SpeechToText,
}

impl TranscriptSource {
    /// The name in JSON output, the same everywhere (`show_notes`, `speech_to_text`).
    pub fn key(self) -> &'static str {
        match self {
            TranscriptSource::Json => "json",
            TranscriptSource::Vtt => "vtt",
            TranscriptSource::Srt => "srt",
            TranscriptSource::Html => "html",
            TranscriptSource::Text => "text",
            TranscriptSource::ShowNotes => "show_notes",
            TranscriptSource::SpeechToText => "speech_to_text",
        }
    }

    /// The name in text for people (`show notes`).
    pub fn label(self) -> &'static str {
        match self {
            TranscriptSource::Json => "json",
            TranscriptSource::Vtt => "vtt",
            TranscriptSource::Srt => "srt",
            TranscriptSource::Html => "html",
            TranscriptSource::Text => "text",
            TranscriptSource::ShowNotes => "show notes",
            TranscriptSource::SpeechToText => "speech-to-text",
        }
    }
}

/// One stretch of speech: who said what, and when (seconds from the start of the episode).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub speaker: Option<String>,
    pub text: String,
}

/// An episode's transcript as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Transcript {
    pub episode_id: String,
    pub source: TranscriptSource,
    /// Where it came from (the transcript URL, or the feed for show notes).
    pub url: Option<String>,
    pub fetched_at: DateTime<Utc>,
    pub segments: Vec<Segment>,
}

/// A candidate insight: one self-contained claim from an episode, with its verbatim quote.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Insight {
    /// Stable: derived from the episode and the quote's position in the transcript.
    pub id: String,
    pub episode_id: String,
    pub feed_url: String,
    pub podcast: String,
    pub episode: String,
    /// The episode's page, or its audio when it has no page.
    pub episode_url: Option<String>,
    pub speaker: Option<String>,
    pub start_seconds: f64,
    /// The claim as shown: the quote with disfluencies removed.
    pub text: String,
    /// Exactly as it stands in the transcript.
    pub quote: String,
    pub score: f64,
    pub published: DateTime<Utc>,
    pub source: TranscriptSource,
    /// The text's embedding, when an embedding model is configured; clustering then compares
    /// meanings instead of words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
}

impl Insight {
    /// A link that opens the episode at the quote ([`moment_link`]); for a quote from the show
    /// notes, which have no time, the episode's page.
    pub fn link(&self) -> Option<String> {
        quote_link(self.episode_url.as_deref()?, self.start_seconds, self.untimed())
    }

    /// Read from the episode's description, not from speech: its "time" is made up by the
    /// parser and means nothing to a listener.
    pub fn untimed(&self) -> bool {
        self.source == TranscriptSource::ShowNotes
    }
}

/// Where in an episode a quote is, as readers see it: its time, or "show notes" for a quote
/// from the episode's description, which has no time to show or open.
pub fn moment(seconds: f64, untimed: bool) -> String {
    if untimed { "show notes".to_string() } else { hms(seconds) }
}

/// A link for a quote at `seconds`: the episode's page opened there ([`moment_link`]), or
/// just the page for a quote with no time in the episode.
pub fn quote_link(page: &str, seconds: f64, untimed: bool) -> Option<String> {
    if untimed { web_page(page).map(String::from) } else { moment_link(page, seconds) }
}

/// `page` when it is a web address a chat platform can open, else `None`.
fn web_page(page: &str) -> Option<url::Url> {
    let url = url::Url::parse(page.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    Some(url)
}

/// A link that opens the episode page `page` at `seconds` (`#t=SECONDS`, the media fragment
/// syntax). Only for a web address: a feed's `<link>` may be anything, and chat platforms refuse
/// a whole message over a link they cannot open (a `file://` of a local feed, text that is no URL).
pub fn moment_link(page: &str, seconds: f64) -> Option<String> {
    let mut url = web_page(page)?;
    url.set_fragment(Some(&format!("t={}", seconds.max(0.0).floor() as u64)));
    Some(url.to_string())
}

/// Formats seconds as hh:mm:ss.
pub fn hms(seconds: f64) -> String {
    let s = seconds.max(0.0).floor() as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
}

/// Where else a digest entry's point was made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AlsoIn {
    pub insight_id: String,
    pub episode_id: String,
    pub podcast: String,
    pub episode: String,
    pub speaker: Option<String>,
    pub start_seconds: f64,
    /// Quoted from the show notes: `start_seconds` is no time in the episode.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub untimed: bool,
    pub link: Option<String>,
    pub quote: String,
}

impl AlsoIn {
    /// Its time in the episode, or "show notes" ([`moment`]).
    pub fn moment(&self) -> String {
        moment(self.start_seconds, self.untimed)
    }
}

/// One numbered entry of a day's digest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DigestEntry {
    pub rank: usize,
    pub id: String,
    pub episode_id: String,
    pub text: String,
    pub quote: String,
    pub podcast: String,
    pub episode: String,
    pub episode_url: Option<String>,
    pub speaker: Option<String>,
    pub start_seconds: f64,
    /// Quoted from the show notes: `start_seconds` is no time in the episode.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub untimed: bool,
    pub link: Option<String>,
    pub score: f64,
    pub also_in: Vec<AlsoIn>,
}

impl DigestEntry {
    /// Insight `i` as entry `rank` of a digest, with its ranked score and where else its point
    /// was made.
    pub fn from_insight(rank: usize, i: &Insight, score: f64, also_in: Vec<AlsoIn>) -> DigestEntry {
        DigestEntry {
            rank,
            id: i.id.clone(),
            episode_id: i.episode_id.clone(),
            text: i.text.clone(),
            quote: i.quote.clone(),
            podcast: i.podcast.clone(),
            episode: i.episode.clone(),
            episode_url: i.episode_url.clone(),
            speaker: i.speaker.clone(),
            start_seconds: i.start_seconds,
            untimed: i.untimed(),
            link: i.link(),
            score,
            also_in,
        }
    }

    /// Its time in the episode, or "show notes" ([`moment`]).
    pub fn moment(&self) -> String {
        moment(self.start_seconds, self.untimed)
    }
}

/// A day's digest: built once, then read back unchanged.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Digest {
    /// The local day (in the digest's timezone), YYYY-MM-DD.
    pub date: chrono::NaiveDate,
    /// The podcast list it was drawn from ([`list_id`]); none for the operator's feeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    pub built_at: DateTime<Utc>,
    /// Candidates and episodes the digest was chosen from.
    pub candidates: usize,
    pub episodes: usize,
    pub insights: Vec<DigestEntry>,
    /// The points ranked next, numbered on from the last insight: they fill in for insights a
    /// chat's own filters leave out, or that reached it on another day, so it still gets a full
    /// digest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reserve: Vec<DigestEntry>,
    /// The model's editing of the day this digest followed (LLM mode), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<Edit>,
    /// The insights of the list's digests of the days before (up to [`MAX_CATCH_UP_DAYS`]): a
    /// chat sent none of them (a weekday schedule on a Monday after a weekend's digests, a
    /// chat back from a pause) has the best of them with the day's own.
    ///
    /// [`MAX_CATCH_UP_DAYS`]: crate::insight::digest::MAX_CATCH_UP_DAYS
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carried: Vec<Carried>,
}

/// An insight of an earlier digest carried in a later one, with the day it was the digest of.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Carried {
    /// (Missing in digests stored before it was written: read as long ago, never carried on.)
    #[serde(default)]
    pub date: chrono::NaiveDate,
    #[serde(flatten)]
    pub entry: DigestEntry,
}

#[cfg(test)]
impl DigestEntry {
    /// An entry for unit tests: `id` of `episode_id` on `podcast`, saying `text`.
    pub(crate) fn example(id: &str, episode_id: &str, podcast: &str, text: &str) -> DigestEntry {
        DigestEntry {
            rank: 1,
            id: id.into(),
            episode_id: episode_id.into(),
            text: text.into(),
            quote: text.into(),
            podcast: podcast.into(),
            episode: format!("{podcast} #1"),
            episode_url: None,
            speaker: None,
            start_seconds: 0.0,
            untimed: false,
            link: None,
            score: 1.0,
            also_in: vec![],
        }
    }
}

impl Digest {
    /// The digest as one destination was shown it: the insights `shown` names, in that order,
    /// numbered from 1 as they were then.
    pub fn as_shown(&self, shown: &[String]) -> Digest {
        let mut out = self.clone();
        out.insights = shown.iter().filter_map(|id| self.entries().find(|e| e.id == *id).cloned()).collect();
        out.reserve.clear();
        out.carried.clear();
        for (i, e) in out.insights.iter_mut().enumerate() {
            e.rank = i + 1;
        }
        out
    }

    /// Every entry a chat may be shown: the insights, the reserve, then what was carried.
    pub fn entries(&self) -> impl Iterator<Item = &DigestEntry> {
        self.insights.iter().chain(&self.reserve).chain(self.carried.iter().map(|c| &c.entry))
    }
}

/// The daily editor pass (LLM mode): the day's best candidates, grouped by the point they make
/// in any words, the points ordered by importance to a busy reader. Only candidate ids that
/// were sent are kept.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Edit {
    /// The local day it is for.
    pub date: chrono::NaiveDate,
    pub made_at: DateTime<Utc>,
    /// The model that made it.
    pub model: String,
    /// The candidate insight ids sent, in the local ranking's order.
    pub sent: Vec<String>,
    /// Groups of candidate insight ids making one point each, most important first.
    pub groups: Vec<Vec<String>>,
    /// Why local ranking stands instead (failure, spent budget), when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

/// The name of a podcast list (feed URLs): the same podcasts in any order and with repeats give
/// the same name, so destinations with the same list share one digest a day.
pub fn list_id(feeds: &[String]) -> String {
    use sha2::Digest as _;
    let mut sorted: Vec<&str> = feeds.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut hash = sha2::Sha256::new();
    for f in sorted {
        hash.update(f.as_bytes());
        hash.update([0]);
    }
    hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A podcast found in a directory: what a reader chooses from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DirectoryHit {
    pub title: String,
    pub author: Option<String>,
    pub feed_url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_feed_under_other_spellings_and_where_it_moved_is_the_same_feed() {
        let mut f = Feed::new("http://Example.com/show/feed.xml", Utc::now());
        for same in [
            "http://example.com/show/feed.xml",
            "https://EXAMPLE.com/show/feed.xml/",
            "https://example.com:443/show/feed.xml#latest",
        ] {
            assert!(f.is_at(same), "{same}");
        }
        for other in
            ["https://example.com/show/feed2.xml", "https://example.org/show/feed.xml", "file:///show/feed.xml"]
        {
            assert!(!f.is_at(other), "{other}");
        }
        f.fetch_url = "https://feeds.example.net/show".into();
        assert!(f.is_at("https://feeds.example.net/show/"));
    }

    #[test]
    fn only_a_web_address_becomes_a_link_to_the_moment() {
        let at = |url: &str| {
            Insight {
                id: "i".into(),
                episode_id: "e".into(),
                feed_url: "f".into(),
                podcast: "P".into(),
                episode: "E".into(),
                episode_url: Some(url.into()),
                speaker: None,
                start_seconds: 754.9,
                text: "t".into(),
                quote: "t".into(),
                score: 1.0,
                published: Utc::now(),
                source: TranscriptSource::Text,
                embedding: None,
            }
            .link()
        };
        assert_eq!(at("https://x.example/ep/7#intro").as_deref(), Some("https://x.example/ep/7#t=754"));
        assert_eq!(at(" http://x.example/a b ").as_deref(), Some("http://x.example/a%20b#t=754"));
        for none in ["file:///home/me/ep.mp3", "javascript:alert(1)", "not a url", "/ep/7", "https://"] {
            assert_eq!(at(none), None, "{none}");
        }
    }

    #[test]
    fn a_quote_from_the_show_notes_shows_no_time_and_links_the_page() {
        let mut i = Insight {
            id: "i".into(),
            episode_id: "e".into(),
            feed_url: "f".into(),
            podcast: "P".into(),
            episode: "E".into(),
            episode_url: Some("https://x.example/ep/7".into()),
            speaker: None,
            start_seconds: 1.4,
            text: "t".into(),
            quote: "t".into(),
            score: 1.0,
            published: Utc::now(),
            source: TranscriptSource::ShowNotes,
            embedding: None,
        };
        assert_eq!(i.link().as_deref(), Some("https://x.example/ep/7"));
        let e = DigestEntry::from_insight(1, &i, 1.0, vec![]);
        assert!(e.untimed);
        assert_eq!(e.moment(), "show notes");
        assert_eq!(serde_json::to_value(&e).unwrap()["untimed"], true);
        i.source = TranscriptSource::Vtt;
        let e = DigestEntry::from_insight(1, &i, 1.0, vec![]);
        assert_eq!((e.moment().as_str(), e.link.as_deref()), ("00:00:01", Some("https://x.example/ep/7#t=1")));
        // A timed entry's JSON is as it always was; a stored one without the key reads as timed.
        let json = serde_json::to_value(&e).unwrap();
        assert!(json.get("untimed").is_none(), "{json}");
        assert_eq!(serde_json::from_value::<DigestEntry>(json).unwrap(), e);
    }

    #[test]
    fn a_failed_transcript_stored_before_retries_were_spaced_still_reads() {
        let old: TranscriptStatus =
            serde_json::from_str(r#"{"state":"failed","error":"HTTP 404","attempts":1}"#).unwrap();
        assert_eq!(old, TranscriptStatus::Failed { error: "HTTP 404".into(), attempts: 1, retry_at: None });
        // Scripts reading `episodes --json` find the field, null when there is no wait.
        assert!(serde_json::to_string(&old).unwrap().contains(r#""retry_at":null"#));
    }
}
