//! The only code that knows sled: typed trees, versioned records, transactions.
//!
//! Every record is stored as one version byte followed by JSON, so the format can evolve: a
//! record (or a whole store) written by a newer podsift is refused with a clear message instead
//! of being misread. Writes that touch several trees happen in one transaction, and anything a
//! command reports as done is flushed first. Nothing outside this module names a sled type.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::TransactionError;

use crate::model::{Corpus, Delivery, Digest, Episode, Feed, Insight, Subscription, Transcript, Usage};

/// The layout of the whole store; bumped when trees are renamed or re-keyed.
pub const STORE_FORMAT: u32 = 1;
/// The encoding of single records; bumped when a record can no longer be read as before.
pub const RECORD_VERSION: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store in {dir} is in use by another podsift process; stop it (or use another --data directory) and try again"
    )]
    InUse { dir: PathBuf },
    #[error(
        "the store in {dir} was written by a newer podsift (store format {found}, this build reads up to {supported}); upgrade podsift or use another --data directory"
    )]
    NewerFormat { dir: PathBuf, found: u32, supported: u32 },
    #[error(
        "record {key} in tree {tree} has version {found}, newer than this build reads ({supported}); upgrade podsift"
    )]
    NewerRecord { tree: &'static str, key: String, found: u8, supported: u8 },
    #[error("record {key} in tree {tree} is unreadable: {reason}")]
    Corrupt { tree: &'static str, key: String, reason: String },
    #[error("could not open the store in {dir}: {reason}")]
    Open { dir: PathBuf, reason: String },
    #[error(
        "the store in {dir} is damaged ({reason}); restore {dir} from a backup, or move it aside and start with an empty one (or pass --data another directory), then add the feeds and subscriptions again"
    )]
    Damaged { dir: PathBuf, reason: String },
    #[error("store error: {0}")]
    Sled(sled::Error),
}

pub type Result<T> = std::result::Result<T, StoreError>;

// By hand rather than #[from]: the message already carries sled's error, and a source would
// print it twice in an error chain.
impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Sled(e)
    }
}

/// A handle on the sled database. Cheap to clone; every clone shares the same database.
#[derive(Clone)]
pub struct Store {
    /// Taken only when the handle is dropped: the last one goes under the gate (see [`gate`]).
    handles: Option<std::sync::Arc<Handles>>,
}

/// sled 0.34 keeps one fair reader-writer lock for every database of the process. A transaction
/// takes it to write; reads, writes, a flush, sled's background flusher and a database's last
/// drop (which flushes) take it to read, and a flush holds it while it waits for the log to be
/// written. A transaction queued meanwhile holds back every new reader, sled's flusher among
/// them. The test suite hung in exactly that state: a store dropping (in the flush), a
/// transaction on another store, and the flusher parked on the lock. Transactions, flushes,
/// opening a store and the last drop of one pass this gate first, so none of podsift's
/// transactions queues behind one of its own flushes. Not covered: a read of data the page cache
/// evicted also waits for the log under the lock. Transactions and flushes are short, and
/// podsift writes little, so taking them one at a time costs nothing a user would see.
fn gate() -> std::sync::MutexGuard<'static, ()> {
    static GATE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // The gate guards no data: one that panicked while holding it leaves nothing half done.
    GATE.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Handles {
    /// Writes each episode's wants into the feed index, its date into the date index, and the
    /// episodes each stored digest showed, once, for stores made before they held them. Only
    /// while opening, with the gate held.
    fn index_wants(&self) -> Result<()> {
        if self.meta.get(WANTS_INDEXED)?.is_some() {
            return Ok(());
        }
        for kv in self.episodes.iter() {
            let (k, v) = kv?;
            if let Ok(ep) = decode::<Episode>("episodes", &k, &v) {
                self.feed_episodes.insert(index_key(&ep.feed_url, &ep.id), &wants(&ep))?;
                self.episode_dates.insert(date_key(&ep), &[] as &[u8])?;
            }
        }
        // Digests stored before they marked what they show.
        for kv in self.digests.iter() {
            let (k, v) = kv?;
            if let Ok(d) = decode::<Digest>("digests", &k, &v) {
                for key in shown_keys(&d) {
                    self.meta.insert(key, encode(&d.date))?;
                }
            }
        }
        self.meta.insert(WANTS_INDEXED, &[1u8])?;
        // Called from `open`, which holds the gate already.
        self.db.flush()?;
        Ok(())
    }
}

impl std::ops::Deref for Store {
    type Target = Handles;
    fn deref(&self) -> &Handles {
        self.handles.as_deref().expect("a store's handles are taken only when it is dropped")
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Only the last handle closes the database, which flushes it: through the gate.
        if let Some(last) = self.handles.take().and_then(std::sync::Arc::into_inner) {
            let _gate = gate();
            drop(last);
        }
    }
}

/// The database and its trees: reached only through a [`Store`].
pub struct Handles {
    /// Where the store lives, as it was opened (for messages that name it).
    dir: PathBuf,
    db: sled::Db,
    feeds: sled::Tree,
    episodes: sled::Tree,
    /// Index: `feed_url \0 episode_id` -> what the episode still wants (one byte of flags), for
    /// per-feed listings and counts and for finding an ingest's work.
    feed_episodes: sled::Tree,
    /// Index: `published (ms, big-endian, sign flipped) ++ episode_id` -> empty: a digest reads
    /// the episodes of its window, not every episode. A key may be stale (the date changed):
    /// readers check the episode's own date.
    episode_dates: sled::Tree,
    transcripts: sled::Tree,
    /// `episode_id \0 insight_id` -> candidate insight.
    insights: sled::Tree,
    /// Episode-level document frequencies: `#docs` and `t:<term>` -> count.
    corpus: sled::Tree,
    /// `YYYY-MM-DD` -> the digest of that day from the operator's feeds; `YYYY-MM-DD/<list id>`
    /// -> the one from a destination's own podcast list.
    digests: sled::Tree,
    /// `platform:id` -> the destination's own podcast list (feed URLs); none: the operator's.
    podcast_lists: sled::Tree,
    /// `platform:id` -> subscription.
    subscriptions: sled::Tree,
    /// `platform:id \0 YYYY-MM-DD` -> the outbox record of that digest.
    deliveries: sled::Tree,
    /// `platform:id \0 message id` -> (date, rank): replies map back to insights through it.
    messages: sled::Tree,
    /// `platform:id \0 insight id` -> feedback (true = up).
    feedback: sled::Tree,
    /// Service state (`last_ingest`, `last_delivery`).
    meta: sled::Tree,
    /// What adapters keep between runs: `seen:<key>` -> when an inbound event was first taken
    /// (platform retries are recognised by it), `cred:<key>` -> a credential (a workspace's
    /// bot token from an OAuth install).
    adapter_state: sled::Tree,
    /// `usage:YYYY-MM-DD` -> LLM usage of that day; `cache:<episode>:<model>` -> the model's
    /// raw extraction, so a restart never pays for the same episode twice; `edit:YYYY-MM-DD`
    /// -> that day's editor pass.
    llm: sled::Tree,
}

const META_FORMAT_KEY: &[u8] = b"store_format";
/// A file beside sled's own, written once the store's format key is durable: when it is there,
/// a database that holds nothing was damaged, since sled reads a garbled or cut file as empty.
const MARKER_FILE: &str = "podsift-store";

impl Store {
    /// Whether `dir` holds a store (its marker, or sled's files from before the marker was
    /// written): what a command that only reads may open.
    pub fn exists_at(dir: &Path) -> bool {
        dir.join(MARKER_FILE).exists() || (dir.join("db").is_file() && dir.join("conf").is_file())
    }

    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        // Whatever is dropped on the way out, a half-opened database on an error included,
        // flushes: the gate is held throughout, and released last.
        let _gate = gate();
        if dir.exists() && !dir.is_dir() {
            let reason = "it is a file, not a directory: name a directory (new or a store) with --data".to_string();
            return Err(StoreError::Open { dir: dir.to_path_buf(), reason });
        }
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Open { dir: dir.to_path_buf(), reason: e.to_string() })?;
        let damaged = |reason: String| StoreError::Damaged { dir: dir.to_path_buf(), reason };
        // A bounded page cache keeps memory flat however many records the store holds. sled
        // panics on some damaged files: that is this store's error, not the end of the process.
        let opened = std::panic::catch_unwind(|| sled::Config::new().path(dir).cache_capacity(64 * 1024 * 1024).open())
            .map_err(|_| damaged("the database panicked while reading its files".into()))?;
        let db = opened.map_err(|e| match e {
            // sled reports a held lock only as an io::Error with this text.
            _ if e.to_string().contains("could not acquire lock") => StoreError::InUse { dir: dir.to_path_buf() },
            sled::Error::Corruption { .. } | sled::Error::Unsupported(_) => damaged(e.to_string()),
            sled::Error::Io(ref io)
                if matches!(io.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData) =>
            {
                damaged(e.to_string())
            }
            _ => StoreError::Open { dir: dir.to_path_buf(), reason: e.to_string() },
        })?;
        let meta = db.open_tree("meta")?;
        let marker = dir.join(MARKER_FILE);
        if marker.exists() && (!db.was_recovered() || meta.get(META_FORMAT_KEY)?.is_none()) {
            return Err(damaged("its database file holds none of what was written to it".into()));
        }
        match meta.get(META_FORMAT_KEY)? {
            Some(v) => {
                let found = std::str::from_utf8(&v).ok().and_then(|s| s.parse::<u32>().ok()).unwrap_or(u32::MAX);
                if found > STORE_FORMAT {
                    return Err(StoreError::NewerFormat { dir: dir.to_path_buf(), found, supported: STORE_FORMAT });
                }
            }
            None => {
                meta.insert(META_FORMAT_KEY, STORE_FORMAT.to_string().as_bytes())?;
                db.flush()?;
            }
        }
        if !marker.exists() {
            std::fs::write(&marker, format!("podsift store format {STORE_FORMAT}\n"))
                .map_err(|e| StoreError::Open { dir: dir.to_path_buf(), reason: e.to_string() })?;
        }
        let handles = Handles {
            feeds: db.open_tree("feeds")?,
            episodes: db.open_tree("episodes")?,
            feed_episodes: db.open_tree("feed_episodes")?,
            episode_dates: db.open_tree("episode_dates")?,
            transcripts: db.open_tree("transcripts")?,
            insights: db.open_tree("insights")?,
            corpus: db.open_tree("corpus")?,
            digests: db.open_tree("digests")?,
            podcast_lists: db.open_tree("podcast_lists")?,
            subscriptions: db.open_tree("subscriptions")?,
            deliveries: db.open_tree("deliveries")?,
            messages: db.open_tree("messages")?,
            feedback: db.open_tree("feedback")?,
            llm: db.open_tree("llm")?,
            adapter_state: db.open_tree("adapter_state")?,
            meta,
            db,
            dir: dir.to_path_buf(),
        };
        // On the handles, not a `Store`: a failed migration drops them, and a `Store`'s drop
        // would wait for the gate this thread holds.
        handles.index_wants()?;
        Ok(Store { handles: Some(std::sync::Arc::new(handles)) })
    }

    /// The directory the store was opened in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Makes every write so far durable. Call before reporting success to the user.
    pub fn flush(&self) -> Result<()> {
        let _gate = gate();
        self.db.flush()?;
        Ok(())
    }

    // ---- feeds ----

    pub fn feed(&self, url: &str) -> Result<Option<Feed>> {
        get(&self.feeds, "feeds", url.as_bytes())
    }

    /// The feed at `address`: stored under it, or under another spelling of it or an address
    /// that moved there ([`Feed::is_at`]), so one show is not added twice.
    pub fn find_feed(&self, address: &str) -> Result<Option<Feed>> {
        if let Some(f) = self.feed(address)? {
            return Ok(Some(f));
        }
        Ok(self.feeds()?.into_iter().find(|f| f.is_at(address)))
    }

    pub fn feeds(&self) -> Result<Vec<Feed>> {
        scan(&self.feeds, "feeds", b"")
    }

    /// Adds a feed (or replaces it), taking back an earlier removal of its address.
    pub fn put_feed(&self, feed: &Feed) -> Result<()> {
        let (tomb, value) = (removed_key(&feed.url), encode(feed));
        transact((&self.feeds, &self.meta), |(feeds, meta)| {
            meta.remove(tomb.as_bytes())?;
            feeds.insert(feed.url.as_bytes(), value.clone())?;
            Ok(())
        })
    }

    /// Writes what was learned about a feed still subscribed; false, writing nothing, when it
    /// was removed meanwhile (an ingest finishing after `feeds rm` must not bring it back).
    pub fn update_feed(&self, feed: &Feed) -> Result<bool> {
        let value = encode(feed);
        let there = std::cell::Cell::new(false);
        transact(&self.feeds, |feeds| {
            there.set(feeds.get(feed.url.as_bytes())?.is_some());
            if there.get() {
                feeds.insert(feed.url.as_bytes(), value.clone())?;
            }
            Ok(())
        })?;
        Ok(there.get())
    }

    /// Removes a feed and everything ingested from it. Returns false when it was not there.
    /// The removal is remembered, so that writes of an ingest still running for it are refused
    /// (see [`Store::put_episode`]) until the feed is added again.
    pub fn remove_feed(&self, url: &str) -> Result<bool> {
        if self.feeds.get(url.as_bytes())?.is_none() {
            return Ok(false);
        }
        self.erase_feed(url, true)?;
        // What an ingest wrote between the first pass's reading and its removal; none after.
        self.erase_feed(url, false)?;
        Ok(true)
    }

    fn erase_feed(&self, url: &str, first: bool) -> Result<()> {
        let ids = self.episode_ids_of_feed(url)?;
        let mut dated = Vec::new();
        for id in &ids {
            match self.episode(id) {
                Ok(e) => dated.extend(e.map(|e| date_key(&e))),
                // An unreadable record goes with its feed all the same; its date entry, which
                // only it could name, points at nothing after and is passed over.
                Err(StoreError::Corrupt { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let mut insight_keys = Vec::new();
        for id in &ids {
            for kv in self.insights.scan_prefix(index_key(id, "")) {
                insight_keys.push(kv?.0);
            }
        }
        let (tomb, at) = (removed_key(url), encode(&chrono::Utc::now()));
        transact(
            (
                &self.feeds,
                &self.episodes,
                &self.feed_episodes,
                &self.episode_dates,
                &self.transcripts,
                &self.insights,
                &self.meta,
            ),
            |(feeds, episodes, index, dates, transcripts, insights, meta)| {
                if first {
                    feeds.remove(url.as_bytes())?;
                    meta.insert(tomb.as_bytes(), at.clone())?;
                }
                for id in &ids {
                    episodes.remove(id.as_bytes())?;
                    transcripts.remove(id.as_bytes())?;
                    index.remove(index_key(url, id))?;
                }
                for k in &insight_keys {
                    insights.remove(k.clone())?;
                }
                for k in &dated {
                    dates.remove(k.clone())?;
                }
                Ok(())
            },
        )
    }

    // ---- episodes ----

    pub fn episode(&self, id: &str) -> Result<Option<Episode>> {
        get(&self.episodes, "episodes", id.as_bytes())
    }

    pub fn has_episode(&self, id: &str) -> Result<bool> {
        Ok(self.episodes.contains_key(id.as_bytes())?)
    }

    pub fn episodes(&self) -> Result<Vec<Episode>> {
        scan(&self.episodes, "episodes", b"")
    }

    pub fn episode_ids_of_feed(&self, feed_url: &str) -> Result<Vec<String>> {
        let prefix = index_key(feed_url, "");
        let mut ids = Vec::new();
        for kv in self.feed_episodes.scan_prefix(&prefix) {
            let (k, _) = kv?;
            ids.push(String::from_utf8_lossy(&k[prefix.len()..]).into_owned());
        }
        Ok(ids)
    }

    /// Ids of the feed's episodes that may still want a transcript ([`Episode::wants_transcript`]),
    /// from the feed's index alone: a feed with years of episodes costs its waiting ones.
    pub fn episode_ids_wanting_transcript(&self, feed_url: &str) -> Result<Vec<String>> {
        let prefix = index_key(feed_url, "");
        let mut ids = Vec::new();
        for kv in self.feed_episodes.scan_prefix(&prefix) {
            let (k, v) = kv?;
            if may_want(&v, WANTS_TRANSCRIPT) {
                ids.push(String::from_utf8_lossy(&k[prefix.len()..]).into_owned());
            }
        }
        Ok(ids)
    }

    /// The episodes that want insights extracted ([`Episode::wants_extraction`]), found through
    /// the index: only they are read, not every episode ever stored.
    pub fn episodes_wanting_extraction(&self) -> Result<Vec<Episode>> {
        let mut out = Vec::new();
        for kv in self.feed_episodes.iter() {
            let (k, v) = kv?;
            if !may_want(&v, WANTS_EXTRACTION) {
                continue;
            }
            let Some(at) = k.iter().position(|&b| b == 0) else { continue };
            if let Some(ep) = self.episode(&String::from_utf8_lossy(&k[at + 1..]))? {
                if ep.wants_extraction() {
                    out.push(ep);
                }
            }
        }
        Ok(out)
    }

    /// The episodes published (or first seen, without a date) from `from` up to but not
    /// including `to`, through the date index: a digest's cost follows its window, not the
    /// store's age.
    pub fn episodes_published_between(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Episode>> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        // A key may be stale (the episode's date changed since): the episode's own date decides.
        // One millisecond further: keys hold whole milliseconds.
        for kv in self.episode_dates.range(date_prefix(from)..date_prefix(to + chrono::Duration::milliseconds(1))) {
            let (k, _) = kv?;
            let id = String::from_utf8_lossy(&k[8..]).into_owned();
            if !seen.insert(id.clone()) {
                continue;
            }
            if let Some(ep) = self.episode(&id)? {
                let when = ep.published_or_seen();
                if when >= from && when < to {
                    out.push(ep);
                }
            }
        }
        Ok(out)
    }

    pub fn episode_count(&self, feed_url: &str) -> Result<usize> {
        Ok(self.feed_episodes.scan_prefix(index_key(feed_url, "")).count())
    }

    /// Stores an episode and its feed index entry together.
    /// Stores an episode, unless its feed was removed (an ingest still running for it).
    pub fn put_episode(&self, episode: &Episode) -> Result<()> {
        let value = encode(episode);
        let key = index_key(&episode.feed_url, &episode.id);
        let tomb = removed_key(&episode.feed_url);
        let dated = date_key(episode);
        transact(
            (&self.episodes, &self.feed_episodes, &self.episode_dates, &self.meta),
            |(episodes, index, dates, meta)| {
                if meta.get(tomb.as_bytes())?.is_some() {
                    return Ok(());
                }
                episodes.insert(episode.id.as_bytes(), value.clone())?;
                index.insert(key.clone(), &wants(episode))?;
                dates.insert(dated.clone(), &[] as &[u8])?;
                Ok(())
            },
        )
    }

    // ---- transcripts ----

    pub fn transcript(&self, episode_id: &str) -> Result<Option<Transcript>> {
        get(&self.transcripts, "transcripts", episode_id.as_bytes())
    }

    /// Stores a transcript and the episode record that points at it, in one transaction, so an
    /// episode never claims a transcript that is not there.
    pub fn put_transcript(&self, episode: &Episode, transcript: &Transcript) -> Result<()> {
        let ep = encode(episode);
        let tr = encode(transcript);
        let (tomb, key, dated) =
            (removed_key(&episode.feed_url), index_key(&episode.feed_url, &episode.id), date_key(episode));
        let trees = (&self.episodes, &self.feed_episodes, &self.episode_dates, &self.transcripts, &self.meta);
        transact(trees, |(episodes, index, dates, transcripts, meta)| {
            if meta.get(tomb.as_bytes())?.is_some() {
                return Ok(());
            }
            episodes.insert(episode.id.as_bytes(), ep.clone())?;
            index.insert(key.clone(), &wants(episode))?;
            dates.insert(dated.clone(), &[] as &[u8])?;
            transcripts.insert(episode.id.as_bytes(), tr.clone())?;
            Ok(())
        })
    }
}

impl Store {
    // ---- insights and corpus statistics ----

    /// Stores an episode's candidate insights, marks the episode as extracted and counts its
    /// terms into the corpus statistics, all in one transaction: each episode is counted once.
    /// `terms` None: the episode is a copy of one counted already (another feed lists it), whose
    /// words would otherwise weigh twice.
    pub fn put_insights(&self, episode: &Episode, insights: &[Insight], terms: Option<&[String]>) -> Result<()> {
        let ep = encode(episode);
        let items: Vec<(Vec<u8>, Vec<u8>)> =
            insights.iter().map(|i| (index_key(&episode.id, &i.id), encode(i))).collect();
        let (tomb, key, dated) =
            (removed_key(&episode.feed_url), index_key(&episode.feed_url, &episode.id), date_key(episode));
        let trees =
            (&self.episodes, &self.feed_episodes, &self.episode_dates, &self.insights, &self.corpus, &self.meta);
        transact(trees, |(episodes, index, dates, tree, corpus, meta)| {
            // A feed removed while its episode was being extracted: nothing comes back.
            if meta.get(tomb.as_bytes())?.is_some() {
                return Ok(());
            }
            episodes.insert(episode.id.as_bytes(), ep.clone())?;
            index.insert(key.clone(), &wants(episode))?;
            dates.insert(dated.clone(), &[] as &[u8])?;
            for (k, v) in &items {
                tree.insert(k.clone(), v.clone())?;
            }
            let bump = |key: Vec<u8>| -> std::result::Result<(), sled::transaction::ConflictableTransactionError<()>> {
                let n = corpus.get(&key)?.map(|v| read_count(&v)).unwrap_or(0);
                corpus.insert(key, &(n + 1).to_be_bytes())?;
                Ok(())
            };
            if let Some(terms) = terms {
                bump(CORPUS_DOCS.to_vec())?;
                for t in terms {
                    bump(corpus_key(t))?;
                }
            }
            Ok(())
        })
    }

    /// Puts `insights` in place of the episode's earlier ones (an extraction made again), with
    /// the episode record; the corpus statistics counted them when first stored. False, and
    /// nothing written, when a digest has shown the episode: its readers were shown those.
    pub fn replace_insights(&self, episode: &Episode, insights: &[Insight]) -> Result<bool> {
        let ep = encode(episode);
        let old: Vec<sled::IVec> =
            self.insights.scan_prefix(index_key(&episode.id, "")).keys().collect::<std::result::Result<_, _>>()?;
        let items: Vec<(Vec<u8>, Vec<u8>)> =
            insights.iter().map(|i| (index_key(&episode.id, &i.id), encode(i))).collect();
        let (tomb, key, dated) =
            (removed_key(&episode.feed_url), index_key(&episode.feed_url, &episode.id), date_key(episode));
        let shown = shown_key(&episode.id);
        let replaced = std::cell::Cell::new(false);
        let trees = (&self.episodes, &self.feed_episodes, &self.episode_dates, &self.insights, &self.meta);
        transact(trees, |(episodes, index, dates, tree, meta)| {
            replaced.set(false);
            if meta.get(tomb.as_bytes())?.is_some() || meta.get(&shown)?.is_some() {
                return Ok(());
            }
            replaced.set(true);
            episodes.insert(episode.id.as_bytes(), ep.clone())?;
            index.insert(key.clone(), &wants(episode))?;
            dates.insert(dated.clone(), &[] as &[u8])?;
            for k in &old {
                tree.remove(k.clone())?;
            }
            for (k, v) in &items {
                tree.insert(k.clone(), v.clone())?;
            }
            Ok(())
        })?;
        Ok(replaced.get())
    }

    pub fn insights_of(&self, episode_id: &str) -> Result<Vec<Insight>> {
        scan(&self.insights, "insights", &index_key(episode_id, ""))
    }

    /// Episode-level document frequencies of every term seen so far.
    pub fn corpus(&self) -> Result<Corpus> {
        let mut c = Corpus::default();
        for kv in self.corpus.iter() {
            let (k, v) = kv?;
            if &k[..] == CORPUS_DOCS {
                c.docs = read_count(&v);
            } else if let Some(t) = k.strip_prefix(b"t:") {
                c.df.insert(String::from_utf8_lossy(t).into_owned(), read_count(&v));
            }
        }
        Ok(c)
    }

    /// Document frequencies of just these terms (cheap point reads, for answering questions).
    pub fn corpus_for(&self, terms: &[String]) -> Result<Corpus> {
        let mut c =
            Corpus { docs: self.corpus.get(CORPUS_DOCS)?.map(|v| read_count(&v)).unwrap_or(0), ..Corpus::default() };
        for t in terms {
            if let Some(v) = self.corpus.get(corpus_key(t))? {
                c.df.insert(t.clone(), read_count(&v));
            }
        }
        Ok(c)
    }

    // ---- digests ----

    pub fn digest(&self, date: chrono::NaiveDate) -> Result<Option<Digest>> {
        self.digest_of(date, None)
    }

    /// The digest of `date` drawn from podcast list `list` (None: the operator's feeds).
    pub fn digest_of(&self, date: chrono::NaiveDate, list: Option<&str>) -> Result<Option<Digest>> {
        get(&self.digests, "digests", digest_key(date, list).as_bytes())
    }

    /// Stores a day's digest unless one exists already; returns the one that is stored. A digest
    /// is built once: whoever stores first wins, and later builds read that one. Only one kept
    /// for what it carried, with no insight of its own, gives way to one with the day's own
    /// insights (the same days carried, so the numbers a chat was shown find the same entries).
    ///
    /// The episodes it shows are marked shown in the same transaction ([`Store::episode_shown`]):
    /// their insights are then never replaced, whatever extraction runs at the same time.
    pub fn put_digest_once(&self, digest: &Digest) -> Result<Digest> {
        let key = digest_key(digest.date, digest.list.as_deref());
        let value = encode(digest);
        let date = encode(&digest.date);
        let marks = shown_keys(digest);
        let existing = std::cell::RefCell::new(None);
        transact((&self.digests, &self.meta), |(digests, meta)| {
            if let Some(v) = digests.get(key.as_bytes())? {
                let carried_only = decode::<Digest>("digests", key.as_bytes(), &v).is_ok_and(|d| d.insights.is_empty());
                if !carried_only || digest.insights.is_empty() {
                    *existing.borrow_mut() = Some(v);
                    return Ok(());
                }
            }
            *existing.borrow_mut() = None;
            digests.insert(key.as_bytes(), value.clone())?;
            for m in &marks {
                meta.insert(m.clone(), date.clone())?;
            }
            Ok(())
        })?;
        match existing.into_inner() {
            Some(v) => decode("digests", key.as_bytes(), &v),
            None => Ok(digest.clone()),
        }
    }

    /// Whether a stored digest has shown the episode (first or as also_in).
    pub fn episode_shown(&self, episode_id: &str) -> Result<bool> {
        Ok(self.meta.contains_key(shown_key(episode_id))?)
    }

    /// Whether any digest of `date` with insights of its own is stored, the operator's or a
    /// podcast list's (one kept only for what it carried still gives way to the day's own).
    pub fn has_digest_on(&self, date: chrono::NaiveDate) -> Result<bool> {
        for kv in self.digests.scan_prefix(date.to_string().as_bytes()) {
            let (k, v) = kv?;
            // One that cannot be read is there all the same.
            if decode::<Digest>("digests", &k, &v).ok().is_none_or(|d| !d.insights.is_empty()) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Every stored digest, oldest first.
    pub fn digests(&self) -> Result<Vec<Digest>> {
        scan(&self.digests, "digests", b"")
    }

    /// The stored digests of one podcast list (None: the operator's), oldest first. Only those
    /// are read: the keys say which list a digest is of.
    pub fn digests_of_list(&self, list: Option<&str>) -> Result<Vec<Digest>> {
        let suffix = list.map(|l| format!("/{l}"));
        let mut out = Vec::new();
        for kv in self.digests.iter() {
            let (k, v) = kv?;
            let mine = match &suffix {
                Some(s) => k.ends_with(s.as_bytes()),
                None => !k.contains(&b'/'),
            };
            if mine {
                out.push(decode("digests", &k, &v)?);
            }
        }
        Ok(out)
    }

    // ---- podcast lists ----

    /// The destination's own podcast list, or None when it takes the operator's feeds.
    pub fn podcast_list(&self, destination_key: &str) -> Result<Option<Vec<String>>> {
        get(&self.podcast_lists, "podcast_lists", destination_key.as_bytes())
    }

    /// Sets the destination's list; an empty one gives it the operator's feeds again.
    pub fn put_podcast_list(&self, destination_key: &str, feeds: &[String]) -> Result<()> {
        if feeds.is_empty() {
            self.podcast_lists.remove(destination_key.as_bytes())?;
        } else {
            self.podcast_lists.insert(destination_key.as_bytes(), encode(&feeds))?;
        }
        Ok(())
    }

    /// Keeps the podcasts directory search `search` offered a destination, for a choice by
    /// number: as that search's (its buttons name it) and as the destination's latest (what a
    /// typed number means). Kept two days, like the platforms' own events ([`Store::prune`]).
    pub fn put_choices(
        &self,
        destination_key: &str,
        search: &str,
        hits: &[crate::model::DirectoryHit],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        let offered = Offered::Dated { at: now, hits: hits.to_vec() };
        self.adapter_state.insert(format!("choices:{destination_key}").as_bytes(), encode(&offered))?;
        self.adapter_state.insert(format!("choices:{destination_key}:{search}").as_bytes(), encode(&offered))?;
        Ok(())
    }

    /// The podcasts search `search` offered the destination, or its latest search's.
    pub fn choices(&self, destination_key: &str, search: Option<&str>) -> Result<Vec<crate::model::DirectoryHit>> {
        let key = match search {
            Some(s) => format!("choices:{destination_key}:{s}"),
            None => format!("choices:{destination_key}"),
        };
        Ok(get::<Offered>(&self.adapter_state, "adapter_state", key.as_bytes())?.map(Offered::hits).unwrap_or_default())
    }

    /// Feeds in chats' own lists that no chat reads at `now`: every chat following them is
    /// paused, or has no subscription and asked nothing for [`READER_IDLE_DAYS`] (a chat that
    /// left keeps its list, in case it comes back). `ignoring` leaves one chat out, as if it
    /// were one of those. A list's chat never seen asking (its list older than the marks) is
    /// counted from now.
    pub fn feeds_nobody_reads(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        ignoring: Option<&str>,
    ) -> Result<std::collections::HashSet<String>> {
        let mut asleep: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut awake: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (destination, list) in self.podcast_lists()? {
            if list.is_empty() {
                continue;
            }
            let reads = Some(destination.as_str()) != ignoring
                && match self.subscription(&destination)? {
                    Some(sub) => sub.paused.is_none(),
                    None => !self.idle_since(&destination, now)?,
                };
            (if reads { &mut awake } else { &mut asleep }).extend(list);
        }
        Ok(asleep.into_iter().filter(|url| !awake.contains(url)).collect())
    }

    /// Notes that `destination_key`, which has a podcast list, asked something at `now` (one
    /// write an hour at most, whatever a chat sends).
    pub fn mark_active(&self, destination_key: &str, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
        let key = active_key(destination_key);
        let last: Option<chrono::DateTime<chrono::Utc>> = get(&self.meta, "meta", &key)?;
        if last.is_none_or(|at| now - at >= chrono::Duration::hours(1)) {
            self.meta.insert(key, encode(&now))?;
        }
        Ok(())
    }

    /// Whether `destination_key` asked nothing in the [`READER_IDLE_DAYS`] before `now`. A chat
    /// never seen asking is counted from now (marked so): its list came before the marks did.
    pub fn idle_since(&self, destination_key: &str, now: chrono::DateTime<chrono::Utc>) -> Result<bool> {
        let key = active_key(destination_key);
        match get::<chrono::DateTime<chrono::Utc>>(&self.meta, "meta", &key)? {
            Some(at) => Ok(now - at > chrono::Duration::days(READER_IDLE_DAYS)),
            None => {
                self.meta.insert(key, encode(&now))?;
                Ok(false)
            }
        }
    }

    /// Moves a chat's last request, and its wait for an ingest ([`Store::wake`]), to its new id
    /// (a group that became a supergroup).
    pub fn move_active(&self, from_key: &str, to_key: &str) -> Result<()> {
        for key in [active_key, woken_key] {
            if let Some(at) = self.meta.remove(key(from_key))? {
                if !self.meta.contains_key(key(to_key))? {
                    self.meta.insert(key(to_key), at)?;
                }
            }
        }
        Ok(())
    }

    /// For a chat back (from a pause, or after [`READER_IDLE_DAYS`]) whose own list holds
    /// podcasts nobody read meanwhile: remembers it, so that until an ingest begun after `now`
    /// reads them no digest is built for it (one built before would lack them, for the day).
    /// Returns whether it had such podcasts.
    pub fn wake(&self, destination_key: &str, now: chrono::DateTime<chrono::Utc>) -> Result<bool> {
        let Some(list) = self.podcast_list(destination_key)?.filter(|l| !l.is_empty()) else { return Ok(false) };
        let asleep = self.feeds_nobody_reads(now, Some(destination_key))?;
        for url in list.iter().filter(|u| asleep.contains(*u)) {
            // The operator's own feeds are read whoever follows them.
            if self.feed(url)?.is_some_and(|f| f.reader_added) {
                self.meta.insert(woken_key(destination_key), encode(&now))?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether `destination_key` came back ([`Store::wake`]) with podcasts of its own list that
    /// no ingest begun since has read: a digest built for it now would lack them, for the day.
    pub fn waits_for_reading(&self, destination_key: &str) -> Result<bool> {
        if self.podcast_list(destination_key)?.is_none_or(|l| l.is_empty()) {
            return Ok(false);
        }
        let Some(woken) = get::<chrono::DateTime<chrono::Utc>>(&self.meta, "meta", &woken_key(destination_key))? else {
            return Ok(false);
        };
        // Read by an ingest begun since: the wait is over.
        if self.state(LAST_INGEST_BEGAN)?.is_some_and(|began| began >= woken) {
            self.meta.remove(woken_key(destination_key))?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Every destination's own list: (destination key, feed URLs).
    pub fn podcast_lists(&self) -> Result<Vec<(String, Vec<String>)>> {
        let mut out = Vec::new();
        for kv in self.podcast_lists.iter() {
            let (k, v) = kv?;
            out.push((String::from_utf8_lossy(&k).into_owned(), decode("podcast_lists", &k, &v)?));
        }
        Ok(out)
    }
}

/// Days a chat without a subscription is counted as a reader of its own podcasts after it last
/// asked something.
pub const READER_IDLE_DAYS: i64 = 30;

/// The service state: when the last finished ingest began (chose the feeds it read).
pub const LAST_INGEST_BEGAN: &str = "last_ingest_began";

/// The `meta` key of a chat's last request.
fn active_key(destination_key: &str) -> Vec<u8> {
    format!("active:{destination_key}").into_bytes()
}

/// The `meta` key of a chat back whose podcasts wait for an ingest ([`Store::wake`]).
fn woken_key(destination_key: &str) -> Vec<u8> {
    format!("woken:{destination_key}").into_bytes()
}

/// The `meta` key that remembers a feed's removal.
fn removed_key(url: &str) -> String {
    format!("removed_feed:{url}")
}

fn digest_key(date: chrono::NaiveDate, list: Option<&str>) -> String {
    match list {
        Some(list) => format!("{date}/{list}"),
        None => date.to_string(),
    }
}

impl Store {
    // ---- subscriptions ----

    pub fn subscription(&self, destination_key: &str) -> Result<Option<Subscription>> {
        get(&self.subscriptions, "subscriptions", destination_key.as_bytes())
    }

    pub fn subscriptions(&self) -> Result<Vec<Subscription>> {
        scan(&self.subscriptions, "subscriptions", b"")
    }

    /// Every subscription, read lazily one at a time, for fan-outs over many destinations.
    pub fn subscriptions_iter(&self) -> impl Iterator<Item = Result<Subscription>> + '_ {
        self.subscriptions.iter().map(|kv| {
            let (k, v) = kv?;
            decode("subscriptions", &k, &v)
        })
    }

    pub fn put_subscription(&self, sub: &Subscription) -> Result<()> {
        self.subscriptions.insert(sub.destination.key().as_bytes(), encode(sub))?;
        Ok(())
    }

    /// Removes a subscription; its delivery history stays. Returns false when there was none.
    pub fn remove_subscription(&self, destination_key: &str) -> Result<bool> {
        Ok(self.subscriptions.remove(destination_key.as_bytes())?.is_some())
    }

    // ---- outbox ----

    pub fn delivery(&self, destination_key: &str, date: chrono::NaiveDate) -> Result<Option<Delivery>> {
        get(&self.deliveries, "deliveries", &index_key(destination_key, &date.to_string()))
    }

    /// Writes an outbox record, and the message-id mapping of every part it lists as sent, in
    /// one transaction, flushed: a record the caller saw written survives a crash.
    pub fn put_delivery(&self, d: &Delivery) -> Result<()> {
        self.write_delivery(d, None)
    }

    /// [`Store::put_delivery`] for a record whose destination moved (a group became a
    /// supergroup): written under its new destination and removed from `from`, in one step.
    pub fn move_delivery(&self, from: &crate::model::Destination, d: &Delivery) -> Result<()> {
        self.write_delivery(d, Some(index_key(&from.key(), &d.date.to_string())))
    }

    fn write_delivery(&self, d: &Delivery, remove: Option<Vec<u8>>) -> Result<()> {
        let dest = d.destination.key();
        let key = index_key(&dest, &d.date.to_string());
        let value = encode(d);
        let refs: Vec<(Vec<u8>, Vec<u8>)> = d
            .sent
            .iter()
            .filter(|(_, id)| crate::model::delivered(id))
            .filter_map(|(rank, id)| rank.map(|r| (index_key(&dest, id), encode(&(d.date, r)))))
            .collect();
        transact((&self.deliveries, &self.messages), |(deliveries, messages)| {
            if let Some(old) = remove.as_ref().filter(|old| **old != key) {
                deliveries.remove(old.as_slice())?;
            }
            deliveries.insert(key.clone(), value.clone())?;
            for (k, v) in &refs {
                messages.insert(k.clone(), v.clone())?;
            }
            Ok(())
        })?;
        self.flush()
    }

    /// Every readable outbox record of one destination, oldest day first. One that cannot be
    /// read (written by a newer podsift, or damaged) is left out with a warning rather than
    /// failing every digest, `/ask` and `subs ls` of the destination: its own day stays guarded,
    /// as [`Store::delivery`] still reports it, so that day is never sent again.
    pub fn deliveries_of(&self, destination_key: &str) -> Result<Vec<Delivery>> {
        scan_readable(&self.deliveries, "deliveries", &index_key(destination_key, ""))
    }

    /// Moves the outbox records of `from` that cannot be read (see [`Store::deliveries_of`]) to
    /// `to`, as they are, for the days `to` has none: they still guard their days there, so a
    /// chat that moved (a group became a supergroup) is not sent those days' digests again.
    /// Returns how many were moved.
    pub fn move_unreadable_deliveries(&self, from_key: &str, to_key: &str) -> Result<usize> {
        let prefix = index_key(from_key, "");
        let mut moved = 0;
        for kv in self.deliveries.scan_prefix(&prefix) {
            let (k, v) = kv?;
            if decode::<Delivery>("deliveries", &k, &v).is_ok() {
                continue;
            }
            let new_key = [index_key(to_key, "").as_slice(), &k[prefix.len()..]].concat();
            if self.deliveries.contains_key(&new_key)? {
                continue;
            }
            transact(&self.deliveries, |deliveries| {
                deliveries.remove(&k)?;
                deliveries.insert(new_key.as_slice(), v.clone())?;
                Ok(())
            })?;
            tracing::warn!(
                record = %String::from_utf8_lossy(&k),
                "an outbox record that cannot be read follows its destination's move, still guarding its day"
            );
            moved += 1;
        }
        if moved > 0 {
            self.flush()?;
        }
        Ok(moved)
    }

    /// Writes an outbox record's bytes as they are: for tests of records that cannot be read.
    #[cfg(test)]
    pub(crate) fn put_raw_delivery(&self, destination_key: &str, date: chrono::NaiveDate, bytes: &[u8]) {
        self.deliveries.insert(index_key(destination_key, &date.to_string()), bytes).unwrap();
    }

    /// Every readable outbox record, as [`Store::deliveries_of`].
    pub fn deliveries(&self) -> Result<Vec<Delivery>> {
        scan_readable(&self.deliveries, "deliveries", b"")
    }

    /// The (date, rank) of the insight a sent message carried.
    pub fn message_ref(&self, destination_key: &str, message_id: &str) -> Result<Option<(chrono::NaiveDate, usize)>> {
        get(&self.messages, "messages", &index_key(destination_key, message_id))
    }

    /// Remembers that a message (a question prompt) is about insight `rank` of `date`.
    pub fn put_message_ref(
        &self,
        destination_key: &str,
        message_id: &str,
        date: chrono::NaiveDate,
        rank: usize,
    ) -> Result<()> {
        self.messages.insert(index_key(destination_key, message_id), encode(&(date, rank)))?;
        self.flush()
    }

    pub fn put_feedback(&self, destination_key: &str, insight_id: &str, up: bool) -> Result<()> {
        self.feedback.insert(index_key(destination_key, insight_id), encode(&up))?;
        self.flush()
    }

    /// Net feedback per insight id (ups minus downs).
    pub fn feedback_totals(&self) -> Result<std::collections::HashMap<String, i64>> {
        let mut out = std::collections::HashMap::new();
        for kv in self.feedback.iter() {
            let (k, v) = kv?;
            let up: bool = decode("feedback", &k, &v)?;
            let insight = k.rsplit(|b| *b == 0).next().unwrap_or(&[]);
            *out.entry(String::from_utf8_lossy(insight).into_owned()).or_default() += if up { 1 } else { -1 };
        }
        Ok(out)
    }

    // ---- LLM usage and cache ----

    pub fn llm_usage(&self, date: chrono::NaiveDate) -> Result<Usage> {
        Ok(get(&self.llm, "llm", format!("usage:{date}").as_bytes())?.unwrap_or_default())
    }

    /// Every day's LLM usage, oldest first.
    pub fn llm_usage_all(&self) -> Result<Vec<(String, Usage)>> {
        let mut out = Vec::new();
        for kv in self.llm.scan_prefix(b"usage:") {
            let (k, v) = kv?;
            out.push((String::from_utf8_lossy(&k[6..]).into_owned(), decode("llm", &k, &v)?));
        }
        Ok(out)
    }

    /// Changes a day's usage atomically (concurrent callers never lose counts).
    pub fn update_llm_usage(&self, date: chrono::NaiveDate, f: impl Fn(&mut Usage)) -> Result<()> {
        let key = format!("usage:{date}");
        let mut failure = None;
        self.llm.update_and_fetch(key.as_bytes(), |old| {
            let mut usage: Usage = match old {
                Some(v) => match decode("llm", key.as_bytes(), v) {
                    Ok(u) => u,
                    Err(e) => {
                        failure = Some(e);
                        return old.map(|v| v.to_vec());
                    }
                },
                None => Usage::default(),
            };
            f(&mut usage);
            Some(encode(&usage))
        })?;
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The daily editor pass of `date`, when one was made.
    pub fn edit_of(&self, date: chrono::NaiveDate) -> Result<Option<crate::model::Edit>> {
        get(&self.llm, "llm", format!("edit:{date}").as_bytes())
    }

    /// Stores (or replaces) the editor pass of its date. Flushed.
    pub fn put_edit(&self, edit: &crate::model::Edit) -> Result<()> {
        self.llm.insert(format!("edit:{}", edit.date).as_bytes(), encode(edit))?;
        self.flush()
    }

    pub fn llm_cache(&self, key: &str) -> Result<Option<serde_json::Value>> {
        get(&self.llm, "llm", format!("cache:{key}").as_bytes())
    }

    pub fn put_llm_cache(&self, key: &str, value: &serde_json::Value) -> Result<()> {
        self.llm.insert(format!("cache:{key}").as_bytes(), encode(value))?;
        self.flush()
    }

    /// Removes the cached model answers whose key starts with `prefix` (an episode's, once
    /// what they were kept for is done).
    pub fn remove_llm_cache(&self, prefix: &str) -> Result<()> {
        for kv in self.llm.scan_prefix(format!("cache:{prefix}").as_bytes()) {
            let (k, _) = kv?;
            self.llm.remove(&k)?;
        }
        self.flush()
    }

    // ---- adapter state ----

    /// Records `key` as seen at `at`; true when it was not seen before (atomically, so two
    /// deliveries of one event racing each other are taken once). Flushed.
    pub fn first_seen(&self, key: &str, at: chrono::DateTime<chrono::Utc>) -> Result<bool> {
        let k = format!("seen:{key}");
        let fresh =
            self.adapter_state.compare_and_swap(k.as_bytes(), None as Option<&[u8]>, Some(encode(&at)))?.is_ok();
        self.flush()?;
        Ok(fresh)
    }

    /// Takes back a [`Store::first_seen`] mark: what it stood for did not happen after all.
    pub fn forget_seen(&self, key: &str) -> Result<()> {
        self.adapter_state.remove(format!("seen:{key}").as_bytes())?;
        self.flush()
    }

    pub fn put_credential(&self, key: &str, value: &str) -> Result<()> {
        self.adapter_state.insert(format!("cred:{key}").as_bytes(), encode(&value))?;
        self.flush()
    }

    pub fn remove_credential(&self, key: &str) -> Result<bool> {
        let removed = self.adapter_state.remove(format!("cred:{key}").as_bytes())?.is_some();
        self.flush()?;
        Ok(removed)
    }

    /// Credentials whose key starts with `prefix`, as (key, value).
    pub fn credentials(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for kv in self.adapter_state.scan_prefix(format!("cred:{prefix}").as_bytes()) {
            let (k, v) = kv?;
            let value: String = decode("adapter_state", &k, &v)?;
            out.push((String::from_utf8_lossy(&k["cred:".len()..]).into_owned(), value));
        }
        Ok(out)
    }

    // ---- retention ----

    /// Removes what only grows with time: outbox records, reply mappings, digests, editor
    /// passes and LLM usage of days before `before` (none when it is None); the transcripts,
    /// candidate insights and cached model answers of episodes published before `content_before`
    /// that no digest still stored shows; inbound events and podcast-search choices from before
    /// `seen_before` (platforms retry an event within hours, not days), with the marks of feeds
    /// removed by then, and cached model answers for episodes no longer stored. Episode records
    /// (what tells an item already read), subscriptions, feedback and the corpus statistics
    /// stay. Flushed.
    pub fn prune(
        &self,
        before: Option<chrono::NaiveDate>,
        content_before: Option<chrono::NaiveDate>,
        seen_before: chrono::DateTime<chrono::Utc>,
    ) -> Result<Pruned> {
        let mut pruned = Pruned::default();
        if let Some(before) = before {
            self.prune_days_before(before, &mut pruned)?;
        }
        self.prune_short_lived(seen_before, &mut pruned)?;
        // What the digests still kept show, read once for the votes and the content; a digest
        // that cannot be read may show anything, so then neither is removed on a guess.
        if before.is_some() || content_before.is_some() {
            if let Some(kept) = self.kept_digests()? {
                if before.is_some() {
                    self.prune_votes(&kept.insights, &mut pruned)?;
                }
                if let Some(content_before) = content_before {
                    self.prune_content_before(content_before, &kept.episodes, &mut pruned)?;
                }
            }
        }
        self.flush()?;
        Ok(pruned)
    }

    /// The dated records of [`Store::prune`].
    fn prune_days_before(&self, before: chrono::NaiveDate, pruned: &mut Pruned) -> Result<()> {
        // Keys and values that cannot be read are left alone: pruning never deletes what it
        // does not understand.
        let old_day =
            |s: &str| s.get(..10).and_then(|d| d.parse::<chrono::NaiveDate>().ok()).is_some_and(|d| d < before);
        for kv in self.deliveries.iter() {
            let (k, _) = kv?;
            let date = k.iter().rposition(|&b| b == 0).map(|i| String::from_utf8_lossy(&k[i + 1..]).into_owned());
            if date.as_deref().is_some_and(old_day) {
                self.deliveries.remove(&k)?;
                pruned.deliveries += 1;
            }
        }
        for kv in self.messages.iter() {
            let (k, v) = kv?;
            if decode::<(chrono::NaiveDate, usize)>("messages", &k, &v).is_ok_and(|(d, _)| d < before) {
                self.messages.remove(&k)?;
                pruned.messages += 1;
            }
        }
        for kv in self.digests.iter() {
            let (k, _) = kv?;
            if old_day(&String::from_utf8_lossy(&k)) {
                self.digests.remove(&k)?;
                pruned.digests += 1;
            }
        }
        for prefix in ["usage:", "edit:"] {
            for kv in self.llm.scan_prefix(prefix.as_bytes()) {
                let (k, _) = kv?;
                if old_day(&String::from_utf8_lossy(&k[prefix.len()..])) {
                    self.llm.remove(&k)?;
                    pruned.llm_days += 1;
                }
            }
        }
        // Marks of episodes shown by digests now pruned: an episode shown once keeps its
        // insights anyway, since it wants no extraction again after that.
        for kv in self.meta.scan_prefix(b"shown:") {
            let (k, v) = kv?;
            if decode::<chrono::NaiveDate>("meta", &k, &v).is_ok_and(|d| d < before) {
                self.meta.remove(&k)?;
                pruned.digests_shown += 1;
            }
        }
        // A chat's last request matters only while it has a list of its own (an idle chat's
        // stays: it is what keeps its podcasts unread).
        for kv in self.meta.scan_prefix(b"active:") {
            let (k, _) = kv?;
            let destination = String::from_utf8_lossy(&k[b"active:".len()..]).into_owned();
            if self.podcast_list(&destination)?.is_none_or(|l| l.is_empty()) {
                self.meta.remove(&k)?;
            }
        }
        for kv in self.meta.scan_prefix(b"woken:") {
            let (k, v) = kv?;
            if decode::<chrono::DateTime<chrono::Utc>>("meta", &k, &v).is_ok_and(|at| at.date_naive() < before) {
                self.meta.remove(&k)?;
            }
        }
        // "Once per failure spell" notices about a chat's podcast: a spell older than the kept
        // days is told again, once, rather than remembered for ever.
        let cutoff = before.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default();
        for prefix in LONG_LIVED_MARKS {
            for kv in self.adapter_state.scan_prefix(format!("seen:{prefix}").as_bytes()) {
                let (k, v) = kv?;
                if decode::<chrono::DateTime<chrono::Utc>>("adapter_state", &k, &v).is_ok_and(|at| at < cutoff) {
                    self.adapter_state.remove(&k)?;
                    pruned.notices += 1;
                }
            }
        }
        Ok(())
    }

    /// What the stored digests show: their entries' insight ids, and the episodes of those and
    /// of their also_in. None when one cannot be read (it may show anything).
    fn kept_digests(&self) -> Result<Option<KeptDigests>> {
        let mut kept = KeptDigests::default();
        for kv in self.digests.iter() {
            let (k, v) = kv?;
            let Ok(d) = decode::<Digest>("digests", &k, &v) else { return Ok(None) };
            for e in d.entries() {
                kept.insights.insert(e.id.clone());
                kept.episodes.insert(e.episode_id.clone());
                kept.episodes.extend(e.also_in.iter().map(|a| a.episode_id.clone()));
            }
        }
        Ok(Some(kept))
    }

    /// Readers' votes count only through the digests still kept (their podcasts' share): a
    /// vote on an insight none of them shows counts for nothing any more.
    fn prune_votes(&self, kept: &std::collections::HashSet<String>, pruned: &mut Pruned) -> Result<()> {
        for kv in self.feedback.iter() {
            let (k, _) = kv?;
            let insight = k.iter().position(|&b| b == 0).map(|i| String::from_utf8_lossy(&k[i + 1..]).into_owned());
            if insight.is_some_and(|id| !kept.contains(&id)) {
                self.feedback.remove(&k)?;
                pruned.votes += 1;
            }
        }
        Ok(())
    }

    /// The content of [`Store::prune`]: an old episode's transcript (tens of kilobytes),
    /// candidate insights (with embeddings, more) and cached model answers serve only its
    /// digests and the questions about them; once no stored digest shows it, they are removed
    /// and the episode says why. Its record stays, so its item is never read as new. An episode
    /// still waiting for a transcript keeps what it has (transcribed pieces paid for).
    ///
    /// Each pass starts where the episodes it left alone begin (those a kept digest showed), so
    /// its cost follows the days since, not the store's age. A record that cannot be read is
    /// left alone, said in the log: it must not stop the pass.
    fn prune_content_before(
        &self,
        before: chrono::NaiveDate,
        shown: &std::collections::HashSet<String>,
        pruned: &mut Pruned,
    ) -> Result<()> {
        let cutoff = before.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default();
        let from = self.state(CONTENT_SCAN_FROM)?.unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC).min(cutoff);
        // Where the next pass starts: the first episode left for a digest still kept, or still
        // waiting for its transcript.
        let mut next_from = cutoff;
        for kv in self.episode_dates.range(date_prefix(from)..date_prefix(cutoff)) {
            let (k, _) = kv?;
            let id = String::from_utf8_lossy(&k[8..]).into_owned();
            let mut ep = match self.episode(&id) {
                Ok(Some(ep)) => ep,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(episode = %id, "an old episode's content is kept: {e}");
                    continue;
                }
            };
            // A stale date key (the episode's date changed since): its own date decides.
            if ep.published_or_seen() >= cutoff {
                continue;
            }
            if shown.contains(&id) || ep.wants_transcript() {
                next_from = next_from.min(ep.published_or_seen());
                continue;
            }
            let insights: Vec<sled::IVec> =
                self.insights.scan_prefix(index_key(&id, "")).keys().collect::<std::result::Result<_, _>>()?;
            let answers: Vec<sled::IVec> =
                self.llm.scan_prefix(format!("cache:{id}:")).keys().collect::<std::result::Result<_, _>>()?;
            if !self.transcripts.contains_key(id.as_bytes())? && insights.is_empty() && answers.is_empty() {
                continue;
            }
            // The episode first: it no longer claims what is removed next, and wants nothing again.
            if matches!(ep.transcript, crate::model::TranscriptStatus::Stored { .. }) {
                ep.transcript = crate::model::TranscriptStatus::Skipped { reason: CONTENT_PRUNED.into() };
            }
            ep.stand_in_extractions = 0;
            self.put_episode(&ep)?;
            self.transcripts.remove(id.as_bytes())?;
            for k in insights {
                self.insights.remove(&k)?;
            }
            for k in answers {
                self.llm.remove(&k)?;
            }
            pruned.episodes_emptied += 1;
        }
        self.set_state(CONTENT_SCAN_FROM, &next_from)
    }

    /// What [`Store::prune`] removes whatever the days kept: events, choices, orphaned answers.
    fn prune_short_lived(&self, seen_before: chrono::DateTime<chrono::Utc>, pruned: &mut Pruned) -> Result<()> {
        // Only platform events: other `seen:` marks (a failing podcast already reported to a
        // chat) mean "once per spell", however long the spell lasts.
        for prefix in INBOUND_EVENT_MARKS {
            for kv in self.adapter_state.scan_prefix(format!("seen:{prefix}").as_bytes()) {
                let (k, v) = kv?;
                if decode::<chrono::DateTime<chrono::Utc>>("adapter_state", &k, &v).is_ok_and(|at| at < seen_before) {
                    self.adapter_state.remove(&k)?;
                    pruned.events += 1;
                }
            }
        }
        // Model answers cached for episodes no longer stored (a removed feed's).
        for kv in self.llm.scan_prefix(b"cache:") {
            let (k, _) = kv?;
            let key = String::from_utf8_lossy(&k[b"cache:".len()..]).into_owned();
            let episode = key.split(':').next().unwrap_or_default();
            if !self.episodes.contains_key(episode.as_bytes())? {
                self.llm.remove(&k)?;
                pruned.llm_cache += 1;
            }
        }
        // A removed feed's mark only turns away what an ingest still running writes for it:
        // kept as long as a platform event, not for ever (readers add and remove feeds).
        for kv in self.meta.scan_prefix(removed_key("").as_bytes()) {
            let (k, v) = kv?;
            if decode::<chrono::DateTime<chrono::Utc>>("meta", &k, &v).is_ok_and(|at| at < seen_before) {
                self.meta.remove(&k)?;
                pruned.removal_marks += 1;
            }
        }
        // Every search adds a key: choices are kept as long as a platform event.
        for kv in self.adapter_state.scan_prefix(b"choices:") {
            let (k, v) = kv?;
            match decode::<Offered>("adapter_state", &k, &v) {
                Ok(Offered::Dated { at, .. }) if at >= seen_before => {}
                // Written before choices were dated: old enough.
                Ok(_) => {
                    self.adapter_state.remove(&k)?;
                    pruned.choices += 1;
                }
                Err(_) => {}
            }
        }
        Ok(())
    }

    // ---- service state ----

    pub fn set_state(&self, key: &str, value: &chrono::DateTime<chrono::Utc>) -> Result<()> {
        self.meta.insert(format!("state:{key}").as_bytes(), encode(value))?;
        Ok(())
    }

    pub fn state(&self, key: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        get(&self.meta, "meta", format!("state:{key}").as_bytes())
    }

    /// A write, a flush and a read back: fails when the store cannot take writes (a full disk,
    /// a broken directory), for health checks. Each check writes a key of its own, so checks
    /// that run at the same time never read each other's probe.
    pub fn check(&self) -> Result<()> {
        static PROBES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = format!("health_probe:{n}");
        let probe = chrono::Utc::now().timestamp_micros().to_be_bytes();
        self.meta.insert(key.as_bytes(), &probe)?;
        self.flush()?;
        let read = self.meta.get(key.as_bytes())?;
        self.meta.remove(key.as_bytes())?;
        match read {
            Some(v) if v.as_ref() == probe => Ok(()),
            _ => Err(StoreError::Open { dir: PathBuf::new(), reason: "the health probe did not read back".into() }),
        }
    }
}

const CORPUS_DOCS: &[u8] = b"#docs";

fn corpus_key(term: &str) -> Vec<u8> {
    let mut k = b"t:".to_vec();
    k.extend_from_slice(term.as_bytes());
    k
}

fn read_count(v: &[u8]) -> u64 {
    v.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

/// The feed index's value for an episode: what work it still wants, so an ingest finds that work
/// without reading every episode. An empty value (written before) may want anything.
const WANTS_TRANSCRIPT: u8 = 1;
const WANTS_EXTRACTION: u8 = 2;
const WANTS_INDEXED: &[u8] = b"episode_indexes_v2";

/// The first bytes of a date index key: milliseconds, sign bit flipped so that the big-endian
/// bytes sort as the times do.
fn date_prefix(at: chrono::DateTime<chrono::Utc>) -> [u8; 8] {
    ((at.timestamp_millis() as u64) ^ (1 << 63)).to_be_bytes()
}

fn shown_key(episode_id: &str) -> Vec<u8> {
    format!("shown:{episode_id}").into_bytes()
}

/// The [`shown_key`]s of every episode a digest shows, first or as also_in.
fn shown_keys(digest: &Digest) -> Vec<Vec<u8>> {
    digest
        .entries()
        .flat_map(|e| std::iter::once(&e.episode_id).chain(e.also_in.iter().map(|a| &a.episode_id)))
        .map(|id| shown_key(id))
        .collect()
}

fn date_key(episode: &Episode) -> Vec<u8> {
    let mut k = date_prefix(episode.published_or_seen()).to_vec();
    k.extend_from_slice(episode.id.as_bytes());
    k
}

fn wants(episode: &Episode) -> [u8; 1] {
    let mut v = 0;
    if episode.wants_transcript() {
        v |= WANTS_TRANSCRIPT;
    }
    if episode.wants_extraction() {
        v |= WANTS_EXTRACTION;
    }
    [v]
}

fn may_want(value: &[u8], what: u8) -> bool {
    value.first().is_none_or(|v| v & what != 0)
}

fn index_key(feed_url: &str, episode_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(feed_url.len() + 1 + episode_id.len());
    k.extend_from_slice(feed_url.as_bytes());
    k.push(0);
    k.extend_from_slice(episode_id.as_bytes());
    k
}

/// Runs a transaction through the gate (see [`gate`]).
fn transact<T, F>(trees: T, f: F) -> Result<()>
where
    T: Transactional<()>,
    F: Fn(&T::View) -> sled::transaction::ConflictableTransactionResult<(), ()>,
{
    let _gate = gate();
    trees.transaction(f).map_err(tx_err)
}

fn tx_err(e: TransactionError<()>) -> StoreError {
    match e {
        TransactionError::Storage(e) => StoreError::Sled(e),
        TransactionError::Abort(()) => {
            StoreError::Sled(sled::Error::ReportableBug("transaction aborted without a reason".into()))
        }
    }
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![RECORD_VERSION];
    // Serializing our own plain structs to JSON cannot fail (string keys, no foreign types).
    serde_json::to_writer(&mut out, value).expect("records serialize to JSON");
    out
}

fn decode<T: DeserializeOwned>(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<T> {
    let key_str = || String::from_utf8_lossy(key).into_owned();
    let (&version, body) = bytes.split_first().ok_or_else(|| StoreError::Corrupt {
        tree,
        key: key_str(),
        reason: "empty record".into(),
    })?;
    if version > RECORD_VERSION {
        return Err(StoreError::NewerRecord { tree, key: key_str(), found: version, supported: RECORD_VERSION });
    }
    serde_json::from_slice(body).map_err(|e| StoreError::Corrupt { tree, key: key_str(), reason: e.to_string() })
}

fn get<T: DeserializeOwned>(tree: &sled::Tree, name: &'static str, key: &[u8]) -> Result<Option<T>> {
    match tree.get(key)? {
        Some(v) => decode(name, key, &v).map(Some),
        None => Ok(None),
    }
}

fn scan<T: DeserializeOwned>(tree: &sled::Tree, name: &'static str, prefix: &[u8]) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for kv in tree.scan_prefix(prefix) {
        let (k, v) = kv?;
        out.push(decode(name, &k, &v)?);
    }
    Ok(out)
}

/// [`scan`] leaving out, with a warning, the records that cannot be read.
fn scan_readable<T: DeserializeOwned>(tree: &sled::Tree, name: &'static str, prefix: &[u8]) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for kv in tree.scan_prefix(prefix) {
        let (k, v) = kv?;
        match decode(name, &k, &v) {
            Ok(t) => out.push(t),
            Err(e) => tracing::warn!(
                error = %e,
                "left out; its day is not sent again, and `podsift prune` removes it once past its retention"
            ),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    /// Opens a store just dropped: sled's flusher thread may hold the directory's lock a moment
    /// after the drop.
    fn reopen(dir: &Path) -> Store {
        for _ in 0..100 {
            match Store::open(dir) {
                Err(StoreError::InUse { .. }) => std::thread::sleep(std::time::Duration::from_millis(20)),
                other => return other.unwrap(),
            }
        }
        panic!("{} is still held two seconds after its store was dropped", dir.display())
    }

    /// One outbox record that cannot be read does not stop the destination's other records
    /// (what it was sent, `/ask`, `subs ls`) from being read, and its own day still reads as
    /// an error, never as a day not yet sent.
    #[test]
    fn an_unreadable_outbox_record_is_left_out_of_scans_but_guards_its_day() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let dest = crate::model::Destination::new("telegram", "42");
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let record = |date| Delivery {
            destination: dest.clone(),
            date,
            state: crate::model::DeliveryState::Pending,
            attempts: 0,
            sent: vec![],
            updated_at: Utc::now(),
            list: None,
            shown: vec![],
            retry_at: None,
            reserve_points: vec![],
            last_error: None,
        };
        store.put_delivery(&record(day(1))).unwrap();
        store.put_delivery(&record(day(3))).unwrap();
        store.deliveries.insert(index_key(&dest.key(), &day(2).to_string()), vec![RECORD_VERSION, 0xff, 0x00]).unwrap();
        let dates = |v: Vec<Delivery>| v.into_iter().map(|d| d.date).collect::<Vec<_>>();
        assert_eq!(dates(store.deliveries_of(&dest.key()).unwrap()), vec![day(1), day(3)]);
        assert_eq!(dates(store.deliveries().unwrap()), vec![day(1), day(3)]);
        assert!(store.delivery(&dest.key(), day(2)).is_err());

        // The chat moves (a group became a supergroup): the unreadable record goes with it and
        // still guards its day there; one the new id already has for its day is not replaced.
        let moved = crate::model::Destination::new("telegram", "-10042");
        store.deliveries.insert(index_key(&dest.key(), &day(4).to_string()), vec![RECORD_VERSION, 0xfe]).unwrap();
        store.put_delivery(&Delivery { destination: moved.clone(), ..record(day(4)) }).unwrap();
        assert_eq!(store.move_unreadable_deliveries(&dest.key(), &moved.key()).unwrap(), 1);
        assert!(store.delivery(&moved.key(), day(2)).is_err(), "the moved record still guards its day");
        assert!(store.delivery(&dest.key(), day(2)).unwrap().is_none());
        assert_eq!(store.delivery(&moved.key(), day(4)).unwrap().map(|d| d.date), Some(day(4)));
        assert!(store.delivery(&dest.key(), day(4)).is_err(), "left where the new id had its own");
    }

    #[test]
    fn a_file_named_as_the_store_is_said_to_be_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("afile");
        std::fs::write(&file, "x").unwrap();
        let err = Store::open(&file).err().expect("a file opened as a store").to_string();
        assert!(err.contains("it is a file, not a directory") && err.contains("--data"), "{err}");
    }

    /// `feeds rm` while an ingest of that feed is still running: what the ingest writes after
    /// the removal (its fetch state, episodes, transcripts, insights) does not bring it back;
    /// adding the feed again lets it in again.
    /// The feed index says which episodes still want work, so an ingest reads only those; a
    /// store written before it did is indexed when opened.
    #[test]
    fn the_feed_index_finds_the_episodes_that_want_work() {
        use crate::model::{TranscriptSource, TranscriptStatus};
        let dir = tempfile::tempdir().unwrap();
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().with_timezone(&Utc);
        let feed = "https://x/feed";
        let ep = |id: &str| Episode::new(id, feed, id, at);
        let stored = TranscriptStatus::Stored { source: TranscriptSource::Vtt, bytes: 1, segments: 1 };
        let transcript = |id: &str| Transcript {
            episode_id: id.into(),
            source: TranscriptSource::Vtt,
            url: None,
            fetched_at: at,
            segments: vec![],
        };
        let ids = |v: Vec<Episode>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
        {
            let store = Store::open(dir.path()).unwrap();
            store.put_episode(&ep("a-waiting")).unwrap();
            let mut b = ep("b-to-extract");
            b.transcript = stored.clone();
            store.put_transcript(&b, &transcript("b-to-extract")).unwrap();
            let mut c = ep("c-done");
            c.transcript = stored.clone();
            c.insights_extracted = true;
            store.put_insights(&c, &[], Some(&[])).unwrap();
            let mut d = ep("d-stand-in");
            d.transcript = stored.clone();
            d.insights_extracted = true;
            d.stand_in_extractions = 1;
            store.put_insights(&d, &[], Some(&[])).unwrap();
            let mut e = ep("e-skipped");
            e.transcript = TranscriptStatus::Skipped { reason: "old".into() };
            store.put_episode(&e).unwrap();
            assert_eq!(store.episode_ids_wanting_transcript(feed).unwrap(), ["a-waiting"]);
            assert_eq!(ids(store.episodes_wanting_extraction().unwrap()), ["a-waiting", "b-to-extract", "d-stand-in"]);
            // The date index: a moved date leaves a stale key, which the episode's own date overrules.
            let mut later = ep("f-later");
            later.published = Some(at + chrono::Duration::days(1));
            store.put_episode(&later).unwrap();
            later.published = Some(at + chrono::Duration::days(3));
            store.put_episode(&later).unwrap();
            let day_after = |d: i64| at + chrono::Duration::days(d);
            assert_eq!(
                ids(store.episodes_published_between(day_after(1), day_after(2)).unwrap()),
                Vec::<String>::new()
            );
            assert_eq!(ids(store.episodes_published_between(day_after(2), day_after(4)).unwrap()), ["f-later"]);
            assert_eq!(store.episodes_published_between(at, day_after(1)).unwrap().len(), 5);
            // As a store written before the indexes: wants unknown, no dates.
            for id in ["a-waiting", "b-to-extract", "c-done", "d-stand-in", "e-skipped"] {
                store.feed_episodes.insert(index_key(feed, id), &[] as &[u8]).unwrap();
            }
            store.episode_dates.clear().unwrap();
            store.meta.remove(WANTS_INDEXED).unwrap();
            store.flush().unwrap();
        }
        let store = reopen(dir.path());
        assert_eq!(store.feed_episodes.get(index_key(feed, "c-done")).unwrap().unwrap().as_ref(), &[0u8]);
        assert_eq!(store.episode_ids_wanting_transcript(feed).unwrap(), ["a-waiting", "f-later"]);
        assert_eq!(
            ids(store.episodes_wanting_extraction().unwrap()),
            ["a-waiting", "b-to-extract", "d-stand-in", "f-later"]
        );
        assert_eq!(store.episodes_published_between(at, at + chrono::Duration::days(1)).unwrap().len(), 5);
        assert_eq!(store.episode_dates.len(), 6);
    }

    /// A digest marks the episodes it shows in the same transaction, and their insights are not
    /// replaced after that (an extraction made again while the digest was built).
    #[test]
    fn insights_a_digest_showed_are_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().with_timezone(&Utc);
        let mut ep = Episode::new("shown-ep", "https://x/feed", "E", at);
        ep.insights_extracted = true;
        store.put_insights(&ep, &[], Some(&[])).unwrap();
        assert!(!store.episode_shown("shown-ep").unwrap());
        assert!(store.replace_insights(&ep, &[]).unwrap(), "nothing has shown it yet");
        let entry = crate::model::DigestEntry {
            rank: 1,
            id: "i".into(),
            episode_id: "other-ep".into(),
            text: "t".into(),
            quote: "t".into(),
            podcast: "P".into(),
            episode: "E".into(),
            episode_url: None,
            speaker: None,
            start_seconds: 0.0,
            untimed: false,
            link: None,
            score: 1.0,
            also_in: vec![crate::model::AlsoIn {
                insight_id: "j".into(),
                episode_id: "shown-ep".into(),
                podcast: "P".into(),
                episode: "E".into(),
                speaker: None,
                start_seconds: 0.0,
                untimed: false,
                link: None,
                quote: "t".into(),
            }],
        };
        let digest = crate::model::Digest {
            date: at.date_naive(),
            list: None,
            built_at: at,
            candidates: 1,
            episodes: 1,
            insights: vec![entry],
            reserve: vec![],
            edit: None,
            carried: vec![],
        };
        store.put_digest_once(&digest).unwrap();
        assert!(store.episode_shown("shown-ep").unwrap() && store.episode_shown("other-ep").unwrap());
        assert!(!store.replace_insights(&ep, &[]).unwrap(), "a shown episode's insights were replaced");
        // A second build of the day gets the first one back.
        let again = crate::model::Digest { candidates: 9, ..digest.clone() };
        assert_eq!(store.put_digest_once(&again).unwrap(), digest);
        // A digest stored before digests marked their episodes is read for them when opened.
        store.meta.remove(shown_key("shown-ep")).unwrap();
        store.meta.remove(WANTS_INDEXED).unwrap();
        store.flush().unwrap();
        drop(store);
        let store = reopen(dir.path());
        assert!(store.episode_shown("shown-ep").unwrap());
    }

    /// Votes count only through kept digests, so a vote on an insight none of them shows (first
    /// or in reserve) is pruned with its digest; a podcast's failure notice mark outlives the
    /// two days of platform events and goes with the kept days.
    #[test]
    fn votes_and_marks_go_with_the_digests_and_days_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let day = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let entry = |id: &str| crate::model::DigestEntry::example(id, &format!("ep-{id}"), "P", "t");
        let digest = |date: &str, insights: Vec<crate::model::DigestEntry>, reserve| crate::model::Digest {
            date: day(date),
            list: None,
            built_at: at("2026-03-01T00:00:00Z"),
            candidates: 1,
            episodes: 1,
            insights,
            reserve,
            edit: None,
            carried: vec![],
        };
        store.put_digest_once(&digest("2026-01-10", vec![entry("old")], vec![])).unwrap();
        store.put_digest_once(&digest("2026-03-01", vec![entry("kept")], vec![entry("spare")])).unwrap();
        for id in ["old", "kept", "spare"] {
            store.put_feedback("telegram:1", id, true).unwrap();
        }
        store.first_seen("feed-down:telegram:1:https://x/feed:1", at("2026-01-05T00:00:00Z")).unwrap();
        store.first_seen("feed-down:telegram:1:https://y/feed:2", at("2026-02-20T00:00:00Z")).unwrap();
        store.mark_active("telegram:1", at("2026-01-05T00:00:00Z")).unwrap();
        store.mark_active("telegram:2", at("2026-01-05T00:00:00Z")).unwrap();
        store.put_podcast_list("telegram:2", &["https://x/feed".to_string()]).unwrap();
        let pruned = store.prune(Some(day("2026-02-01")), None, at("2026-03-01T00:00:00Z")).unwrap();
        assert_eq!((pruned.digests, pruned.votes, pruned.notices), (1, 1, 1));
        let votes = store.feedback_totals().unwrap();
        assert_eq!((votes.get("old"), votes.get("kept"), votes.get("spare")), (None, Some(&1), Some(&1)));
        assert!(store.first_seen("feed-down:telegram:1:https://x/feed:1", at("2026-03-01T00:00:00Z")).unwrap());
        assert!(!store.first_seen("feed-down:telegram:1:https://y/feed:2", at("2026-03-01T00:00:00Z")).unwrap());
        // A chat's last request goes when it has no list; with one, it stays (idle, it keeps
        // the list's podcasts unread).
        assert!(store.meta.get(active_key("telegram:1")).unwrap().is_none());
        assert!(store.idle_since("telegram:2", at("2026-03-01T00:00:00Z")).unwrap());
        // A digest that cannot be read may show any insight: no vote goes on a guess.
        // The rest of the prune goes on.
        store.put_feedback("telegram:1", "gone", false).unwrap();
        store.digests.insert(b"2026-03-02", b"not a digest".to_vec()).unwrap();
        store.first_seen("feed-down:telegram:1:https://z/feed:3", at("2026-01-06T00:00:00Z")).unwrap();
        let pruned = store.prune(Some(day("2026-02-01")), None, at("2026-03-01T00:00:00Z")).unwrap();
        assert_eq!(store.feedback_totals().unwrap().get("gone"), Some(&-1));
        assert_eq!(pruned.notices, 1, "an unreadable digest stopped the rest of the prune");
    }

    /// A chat's quiet is counted from its last request; one never seen asking (its list came
    /// before the marks did) from the first look; a chat that moved keeps its count.
    #[test]
    fn a_chats_quiet_is_counted_from_its_last_request() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let t = chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().with_timezone(&Utc);
        let days = |n: i64| t + chrono::Duration::days(n);
        store.mark_active("telegram:1", t).unwrap();
        assert!(!store.idle_since("telegram:1", days(READER_IDLE_DAYS)).unwrap());
        assert!(store.idle_since("telegram:1", days(READER_IDLE_DAYS + 1)).unwrap());
        // Never seen: not idle now, and from now on counted.
        assert!(!store.idle_since("telegram:2", t).unwrap());
        assert!(!store.idle_since("telegram:2", days(10)).unwrap());
        assert!(store.idle_since("telegram:2", days(READER_IDLE_DAYS + 1)).unwrap());
        // Moved to a new id: the count goes along, it does not start again.
        store.move_active("telegram:1", "telegram:-100").unwrap();
        assert!(store.idle_since("telegram:-100", days(READER_IDLE_DAYS + 1)).unwrap());
    }

    /// Choices kept before they were dated are still read, and pruned at the next prune.
    #[test]
    fn undated_choices_are_read_and_then_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let hits = vec![crate::model::DirectoryHit {
            title: "JS Party".into(),
            author: None,
            feed_url: "https://x/jsparty".into(),
        }];
        store.adapter_state.insert(b"choices:slack:T1:C1", encode(&hits)).unwrap();
        assert_eq!(store.choices("slack:T1:C1", None).unwrap(), hits);
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().with_timezone(&Utc);
        let pruned = store.prune(Some(now.date_naive()), None, now).unwrap();
        assert_eq!(pruned.choices, 1);
        assert!(store.choices("slack:T1:C1", None).unwrap().is_empty());
    }

    #[test]
    fn writes_for_a_removed_feed_are_refused_until_it_is_added_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let now = chrono::Utc::now();
        let url = "https://x.example/feed";
        let feed = Feed::new(url, now);
        store.put_feed(&feed).unwrap();
        let ep = Episode::new("e1", url, "One", now);
        store.put_episode(&ep).unwrap();
        assert!(store.remove_feed(url).unwrap());
        // The ingest that was running finishes.
        assert!(!store.update_feed(&feed).unwrap(), "the fetch state brought the feed back");
        let late = Episode::new("e2", url, "Two", now);
        store.put_episode(&late).unwrap();
        let transcript = Transcript {
            episode_id: "e1".into(),
            source: crate::model::TranscriptSource::Text,
            url: None,
            fetched_at: now,
            segments: vec![],
        };
        store.put_transcript(&ep, &transcript).unwrap();
        store.put_insights(&ep, &[], Some(&["term".to_string()])).unwrap();
        assert!(store.feed(url).unwrap().is_none());
        assert!(store.episodes().unwrap().is_empty(), "a removed feed's episodes came back");
        assert!(store.transcript("e1").unwrap().is_none());
        assert_eq!(store.corpus().unwrap().docs, 0);
        // The mark is short-lived: kept through a prune of events from before the removal,
        // gone with one of events from after it (an ingest running then has long ended).
        let tomb = removed_key(url);
        let kept = store.prune(None, None, now - chrono::Duration::days(2)).unwrap();
        assert_eq!(kept.removal_marks, 0);
        assert!(store.meta.contains_key(tomb.as_bytes()).unwrap());
        let other = Feed::new("https://y.example/feed", now);
        store.put_feed(&other).unwrap();
        assert!(store.remove_feed(&other.url).unwrap());
        let gone = store.prune(None, None, chrono::Utc::now() + chrono::Duration::days(2)).unwrap();
        assert_eq!(gone.removal_marks, 2);
        assert!(!store.meta.contains_key(tomb.as_bytes()).unwrap());
        store.put_feed(&feed).unwrap();
        assert!(store.remove_feed(url).unwrap());
        // Added again: its episodes are welcome again.
        store.put_feed(&feed).unwrap();
        store.put_episode(&late).unwrap();
        assert_eq!(store.episode_ids_of_feed(url).unwrap(), ["e2"]);
        assert!(store.update_feed(&feed).unwrap());
    }

    #[test]
    fn newer_record_is_refused_not_misread() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut bytes = encode(&Feed::new("http://x", Utc::now()));
        bytes[0] = RECORD_VERSION + 1;
        store.feeds.insert("http://x", bytes).unwrap();
        let err = store.feed("http://x").unwrap_err();
        assert!(matches!(err, StoreError::NewerRecord { .. }), "{err}");
        assert!(err.to_string().contains("upgrade podsift"));
    }

    #[test]
    fn newer_store_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let meta = store.db.open_tree("meta").unwrap();
            meta.insert(META_FORMAT_KEY, b"99").unwrap();
            store.flush().unwrap();
        }
        // sled's flusher thread may hold the directory's lock a moment after the drop.
        let mut err = Store::open(dir.path()).err().unwrap();
        for _ in 0..100 {
            if !matches!(err, StoreError::InUse { .. }) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            err = Store::open(dir.path()).err().unwrap();
        }
        assert!(matches!(err, StoreError::NewerFormat { found: 99, .. }), "{err}");
    }

    /// Several stores in one process, each written, flushed, cloned and dropped from several
    /// threads at once, as the test suite and a busy `podsift run` do. A watchdog turns a
    /// deadlock (sled's shared lock, or the gate taken twice on one thread) into a failure.
    #[test]
    fn stores_written_flushed_and_dropped_from_many_threads_never_stall() {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let workers: Vec<_> = (0..4)
                .map(|w| {
                    std::thread::spawn(move || {
                        for round in 0..10 {
                            let dir = tempfile::tempdir().unwrap();
                            let store = Store::open(dir.path()).unwrap();
                            let writers: Vec<_> = (0..3)
                                .map(|t| {
                                    let store = store.clone();
                                    std::thread::spawn(move || {
                                        let now = Utc::now();
                                        for i in 0..20 {
                                            let ep =
                                                Episode::new(&format!("e{w}-{round}-{t}-{i}"), "http://a", "t", now);
                                            store.put_episode(&ep).unwrap();
                                            store.put_insights(&ep, &[], Some(&["term".to_string()])).unwrap();
                                            if i % 5 == 0 {
                                                store.flush().unwrap();
                                                store.check().unwrap();
                                            }
                                        }
                                    })
                                })
                                .collect();
                            for h in writers {
                                h.join().unwrap();
                            }
                            assert_eq!(store.episode_count("http://a").unwrap(), 60);
                            drop(store);
                        }
                    })
                })
                .collect();
            for h in workers {
                h.join().unwrap();
            }
            let _ = done.send(());
        });
        // Generous: the work takes a few seconds; only a stall comes near this.
        let outcome = finished.recv_timeout(std::time::Duration::from_secs(240));
        assert!(outcome.is_ok(), "stores stalled: a deadlock between transactions, flushes and drops");
    }

    /// Two health checks at once (a load balancer and a monitor) must not read each other's
    /// probe and report a healthy store as broken.
    #[test]
    fn health_checks_at_the_same_time_all_pass() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let checkers: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || (0..25).filter(|_| store.check().is_err()).count())
            })
            .collect();
        let failed: usize = checkers.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(failed, 0, "{failed} of 200 concurrent health checks failed on a healthy store");
    }

    #[test]
    fn removing_a_feed_removes_its_episodes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let now = Utc::now();
        store.put_feed(&Feed::new("http://a", now)).unwrap();
        let ep = Episode::new("e1", "http://a", "t", now);
        store.put_episode(&ep).unwrap();
        assert_eq!(store.episode_count("http://a").unwrap(), 1);
        assert!(store.remove_feed("http://a").unwrap());
        assert_eq!(store.episode_count("http://a").unwrap(), 0);
        assert!(store.episode("e1").unwrap().is_none());
        assert!(!store.remove_feed("http://a").unwrap());
    }
}

/// Where the next pass over old episodes' content starts ([`Store::prune`]).
const CONTENT_SCAN_FROM: &str = "content_scan_from";

/// Why an old episode has no transcript any more ([`Store::prune`]).
pub const CONTENT_PRUNED: &str = "removed with the episode's digests after service.keep_days";

/// The [`Store::first_seen`] mark of a notice that a chat's podcast keeps failing, told once a
/// spell.
pub const FEED_DOWN_MARK: &str = "feed-down:";

/// Marks of notices told once per spell ([`Store::first_seen`]), kept `service.keep_days`.
pub const LONG_LIVED_MARKS: [&str; 1] = [FEED_DOWN_MARK];

/// The [`Store::first_seen`] keys of inbound platform events, which platforms retry for hours
/// at most: pruned after two days.
pub const INBOUND_EVENT_MARKS: [&str; 5] =
    ["slack-event:", "slack-message:", "slack-request:", "discord-request:", "telegram-update:"];

/// What the stored digests show ([`Store::kept_digests`]).
#[derive(Default)]
struct KeptDigests {
    insights: std::collections::HashSet<String>,
    episodes: std::collections::HashSet<String>,
}

/// What one [`Store::prune`] removed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Pruned {
    /// Old episodes whose transcript, insights and cached answers were removed.
    pub episodes_emptied: usize,
    pub deliveries: usize,
    pub messages: usize,
    pub digests: usize,
    pub llm_days: usize,
    pub events: usize,
    pub choices: usize,
    pub llm_cache: usize,
    pub digests_shown: usize,
    /// Readers' 👍 / 👎 on insights no kept digest shows.
    pub votes: usize,
    /// Once-per-spell notice marks older than the kept days.
    pub notices: usize,
    /// Marks of feeds removed before `seen_before`.
    pub removal_marks: usize,
}

/// The podcasts a directory search offered a destination ([`Store::put_choices`]); `Plain` is
/// how they were kept before they were dated.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Offered {
    Dated { at: chrono::DateTime<chrono::Utc>, hits: Vec<crate::model::DirectoryHit> },
    Plain(Vec<crate::model::DirectoryHit>),
}

impl Offered {
    fn hits(self) -> Vec<crate::model::DirectoryHit> {
        match self {
            Offered::Dated { hits, .. } | Offered::Plain(hits) => hits,
        }
    }
}
