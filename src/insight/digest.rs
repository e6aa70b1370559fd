//! The day's digest: cluster the candidates of recent episodes, rank the clusters, keep the top
//! few, and store the result so the same day always gives the same digest.
//!
//! Ranking multiplies a cluster's best insight score by its corroboration (independent podcasts
//! saying the same thing strengthen it, but it still takes one slot), the recency of its episode,
//! and its novelty against recent digests (a theme already sent must be much stronger to return).
//! Diversity: by default at most one insight per episode, never two from one cluster, and never
//! two that make the same point in different words (`cluster::same_point`).
//!
//! In LLM mode a daily editor pass ([`edit_day`], after each ingest) shows the model the day's
//! best few dozen candidates; it groups those making one point in any words and orders the
//! points. The day's digests follow that order (local clusters joining their members' groups),
//! and local ranking fills any slot left, or stands alone when the pass failed.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::cluster::{self, cosine, vectors};
use super::{EditCandidate, Editor};
use crate::config::DigestConfig;
use crate::model::{AlsoIn, Digest, DigestEntry, Edit, Episode, Insight};
use crate::store::{Store, StoreError};

/// A theme sent within `novelty_days` keeps this share of its score.
const REPEAT_PENALTY: f64 = 0.35;
/// Each net 👍 (or 👎) on a podcast's earlier insights moves its score by this share...
const FEEDBACK_STEP: f64 = 0.05;
/// ...up to this much either way: feedback tilts the ranking, it never takes it over.
const FEEDBACK_RANGE: f64 = 0.3;

/// What each place down the editor's order weighs against the one before, for reader feedback
/// to tilt it by.
const EDITOR_PLACE: f64 = 0.8;

/// Today's date in the digest's timezone.
pub fn today(config: &DigestConfig, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&config.tz()).date_naive()
}

/// The first instant of `date` in `tz`, in UTC (the earliest valid local time on DST days).
fn day_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    match tz.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        // A DST gap at midnight: the day starts when the clocks jump.
        chrono::LocalResult::None => tz
            .from_local_datetime(&(midnight + Duration::hours(1)))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&midnight)),
    }
}

/// Returns the stored digest of `date`, building and storing it first if there is none.
/// A digest with no insights of its own is not stored, so a later ingest can still fill that
/// day; one kept for what it carried ([`keep`]) is built again until the day has its own.
pub fn build_or_get(
    store: &Store,
    config: &DigestConfig,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Digest, StoreError> {
    build_or_get_for(store, config, date, now, None)
}

/// [`build_or_get`] for the digest drawn from podcast list `list` (None: the operator's feeds).
/// One is built per day and distinct list, however many destinations share it.
pub fn build_or_get_for(
    store: &Store,
    config: &DigestConfig,
    date: NaiveDate,
    now: DateTime<Utc>,
    list: Option<&[String]>,
) -> Result<Digest, StoreError> {
    let id = list.map(crate::model::list_id);
    let stored = store.digest_of(date, id.as_deref())?;
    if let Some(d) = stored.as_ref().filter(|d| !d.insights.is_empty()) {
        return Ok(d.clone());
    }
    let digest = build_for(store, config, date, now, list)?;
    if digest.insights.is_empty() {
        return Ok(stored.unwrap_or(digest));
    }
    keep(store, digest)
}

/// Stores a built digest as its day's for good, unless one was stored meanwhile (that one is
/// returned): also one with no insight of its own, once a chat is sent what it carries.
pub fn keep(store: &Store, digest: Digest) -> Result<Digest, StoreError> {
    let stored = store.put_digest_once(&digest)?;
    store.flush()?;
    Ok(stored)
}

/// Builds the digest of `date` from the stored candidates without storing it.
pub fn build(store: &Store, config: &DigestConfig, date: NaiveDate, now: DateTime<Utc>) -> Result<Digest, StoreError> {
    build_for(store, config, date, now, None)
}

/// What a day's digest is chosen from: the candidates in scope, in content order, and what
/// earlier digests say about them.
struct Day {
    candidates: Vec<Insight>,
    episodes: usize,
    recent_texts: Vec<String>,
    taste: HashMap<String, i64>,
    window_start: DateTime<Utc>,
    window_end: DateTime<Utc>,
    /// The list's digests of the days before.
    earlier: Vec<Digest>,
}

/// What recency leaves of a candidate's score at the start of the day's window (all of it at
/// the end): an insight carried from an earlier digest counts as that old.
pub const OLDEST_RECENCY: f64 = 0.7;

/// Days a digest's window reaches back at most to where the list's last digest stopped.
pub const MAX_CATCH_UP_DAYS: i64 = 4;

/// The candidates of `date` from the podcasts in `list` (None: the operator's feeds; with
/// `every_feed`, readers' own podcasts too), minus those already sent to the list's readers.
///
/// The window ends with the day, or at `now` for a digest built before its day is over. A
/// reader ahead of the operator's timezone (Tokyo, with the operator on UTC) has tomorrow's
/// digest built today: its window ending now means the next one starts from here, so an episode
/// published between the two builds is in the next digest rather than in neither.
fn gather(
    store: &Store,
    config: &DigestConfig,
    date: NaiveDate,
    now: DateTime<Utc>,
    list: Option<&[String]>,
    every_feed: bool,
) -> Result<Day, StoreError> {
    let tz = config.tz();
    let day_end = day_start(tz, date.succ_opt().unwrap_or(date));
    let window_end = day_end.min(now);
    let id = list.map(crate::model::list_id);
    // Insights already sent to this list's readers are not candidates again.
    let earlier: Vec<Digest> = store.digests_of_list(id.as_deref())?.into_iter().filter(|d| d.date < date).collect();
    // The window reaches back to where the list's last digest stopped, when that is further
    // than the recency window: a weekday schedule's Monday digest takes in the weekend's
    // episodes, which no digest had (a few days at most: a list dormant for weeks starts anew).
    let recent_start = window_end - Duration::hours(config.recency_window_hours as i64);
    let covered_to = earlier.iter().map(|d| d.built_at.min(day_start(tz, d.date.succ_opt().unwrap_or(d.date)))).max();
    let window_start = match covered_to {
        Some(to) if to < recent_start => to.max(window_end - Duration::days(MAX_CATCH_UP_DAYS)).min(recent_start),
        _ => recent_start,
    };
    let feeds: Option<HashSet<&str>> = list.map(|l| l.iter().map(String::as_str).collect());
    // The operator's digest leaves out feeds only readers' own lists brought in.
    let readers_only: HashSet<String> = match list {
        Some(_) => HashSet::new(),
        None if every_feed => HashSet::new(),
        None => store.feeds()?.into_iter().filter(|f| f.reader_added).map(|f| f.url).collect(),
    };
    let sent: HashSet<&str> = earlier.iter().flat_map(|d| d.insights.iter().map(|e| e.id.as_str())).collect();
    let mut candidates: Vec<Insight> = Vec::new();
    let mut episodes = HashSet::new();
    // Only the window's episodes are read: a digest's cost does not grow with the catalogue.
    let mut window: Vec<Episode> = store
        .episodes_published_between(window_start, window_end + Duration::milliseconds(1))?
        .into_iter()
        .filter(|ep| {
            let when = ep.published_or_seen();
            let in_window = when >= window_start && when < day_end && when <= now && ep.insights_extracted;
            let listed = feeds.as_ref().is_none_or(|f| f.contains(ep.feed_url.as_str()));
            in_window && listed && !readers_only.contains(&ep.feed_url)
        })
        .collect();
    // One episode listed by two feeds is one episode ([`Episode::copy_keys`]): taken twice, its
    // points would fill two slots or count as said on two podcasts. The copy seen first speaks
    // for it.
    window.sort_by(|a, b| {
        a.first_seen_at
            .cmp(&b.first_seen_at)
            .then_with(|| a.podcast_title.cmp(&b.podcast_title))
            .then_with(|| a.feed_url.cmp(&b.feed_url))
    });
    let mut known = HashSet::new();
    window.retain(|ep| {
        let keys = ep.copy_keys();
        let new = keys.iter().all(|k| !known.contains(k));
        if new {
            known.extend(keys);
        }
        new
    });
    for ep in window {
        let insights: Vec<Insight> =
            store.insights_of(&ep.id)?.into_iter().filter(|i| !sent.contains(i.id.as_str())).collect();
        if !insights.is_empty() {
            episodes.insert(ep.id.clone());
        }
        candidates.extend(insights);
    }
    // An order on content, not on ids: ids derive from feed addresses, and the same episodes
    // served from elsewhere must give the same digest.
    candidates.sort_by(by_content);
    let novelty_from = date - Duration::days(config.novelty_days as i64);
    let recent_texts: Vec<String> = earlier
        .iter()
        .filter(|d| d.date >= novelty_from)
        .flat_map(|d| d.insights.iter().map(|e| e.text.clone()))
        .collect();
    // Readers' 👍 / 👎 on earlier insights, summed per podcast, tilt that podcast's chances.
    let feedback = store.feedback_totals()?;
    let mut taste: HashMap<String, i64> = HashMap::new();
    // Each insight once, however many digests carried it on.
    let mut counted = HashSet::new();
    for e in earlier.iter().flat_map(|d| d.entries()).filter(|e| counted.insert(e.id.as_str())) {
        if let Some(n) = feedback.get(&e.id) {
            *taste.entry(e.podcast.clone()).or_default() += n;
        }
    }
    Ok(Day { candidates, episodes: episodes.len(), recent_texts, taste, window_start, window_end, earlier })
}

/// Builds the digest of `date` from the candidates of the podcasts in `list` (None: all),
/// following the day's editor pass when there is one.
pub fn build_for(
    store: &Store,
    config: &DigestConfig,
    date: NaiveDate,
    now: DateTime<Utc>,
    list: Option<&[String]>,
) -> Result<Digest, StoreError> {
    let day = gather(store, config, date, now, list, false)?;
    let edit = store.edit_of(date)?;
    let recent: Vec<&str> = day.recent_texts.iter().map(String::as_str).collect();
    let window = (day.window_start, day.window_end);
    let (insights, reserve) = rank_with_reserve(&day.candidates, &recent, &day.taste, config, window, edit.as_ref());
    let since = date - Duration::days(MAX_CATCH_UP_DAYS);
    let carried = day
        .earlier
        .into_iter()
        .filter(|d| d.date >= since)
        .flat_map(|d| d.insights.into_iter().map(move |entry| crate::model::Carried { date: d.date, entry }))
        .collect();
    Ok(Digest {
        date,
        list: list.map(crate::model::list_id),
        built_at: now,
        candidates: day.candidates.len(),
        episodes: day.episodes,
        insights,
        reserve,
        edit,
        carried,
    })
}

/// Candidates the editor pass is shown: the best of the local ranking, a few dozen.
pub const EDIT_CANDIDATES: usize = 40;
/// At most this many of them from one episode, so one long episode cannot fill the list.
const EDIT_PER_EPISODE: usize = 3;

/// Guards the editor pass: two ingests finishing together make one request, not two.
static EDITING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The daily editor pass for `now`'s date; see [`edit_day_of`].
pub async fn edit_day(
    store: &Store,
    config: &DigestConfig,
    now: DateTime<Utc>,
    editor: &dyn Editor,
) -> Result<Option<Edit>, StoreError> {
    edit_day_of(store, config, today(config, now), now, editor).await
}

/// The editor pass for the digests of `date`: that day's best candidates so far (every feed's,
/// so readers' lists take their part of it) go to `editor`, and its grouping and order are
/// stored for the digests of that day to follow. Made once, and again only when a later ingest
/// brought candidates the last pass did not see and no digest of the day is built yet (a built
/// digest never changes). A failure is stored too, as the reason local ranking stands, so a
/// broken model costs one request per new batch, not one per delivery. Returns the pass made,
/// if any.
pub async fn edit_day_of(
    store: &Store,
    config: &DigestConfig,
    date: NaiveDate,
    now: DateTime<Utc>,
    editor: &dyn Editor,
) -> Result<Option<Edit>, StoreError> {
    let _turn = EDITING.lock().await;
    if store.has_digest_on(date)? {
        return Ok(None);
    }
    let day = gather(store, config, date, now, None, true)?;
    let recent: Vec<&str> = day.recent_texts.iter().map(String::as_str).collect();
    let ranked = Ranked::new(&day.candidates, &recent, &day.taste, config, day.window_start, day.window_end);
    let mut per_episode: HashMap<&str, usize> = HashMap::new();
    let chosen: Vec<usize> = ranked
        .order
        .iter()
        .map(|&(_, best, _)| best)
        .filter(|&b| {
            let n = per_episode.entry(day.candidates[b].episode_id.as_str()).or_default();
            *n += 1;
            *n <= EDIT_PER_EPISODE
        })
        .take(EDIT_CANDIDATES)
        .collect();
    if chosen.is_empty() {
        return Ok(None);
    }
    let sent: Vec<String> = chosen.iter().map(|&i| day.candidates[i].id.clone()).collect();
    // Made again only for candidates the last pass has not seen: the window moving with the
    // clock reorders and drops some, which is no reason to ask again.
    if store.edit_of(date)?.is_some_and(|e| sent.iter().all(|id| e.sent.contains(id))) {
        return Ok(None);
    }
    let shown: Vec<EditCandidate> = chosen
        .iter()
        .map(|&i| EditCandidate {
            id: day.candidates[i].id.clone(),
            podcast: day.candidates[i].podcast.clone(),
            text: day.candidates[i].text.clone(),
        })
        .collect();
    let (groups, fallback) = match editor.edit(&shown).await {
        Ok(groups) => {
            let groups = only_sent(groups, &sent);
            if groups.is_empty() {
                (groups, Some("the editor's answer named no candidate that was sent".to_string()))
            } else {
                (groups, None)
            }
        }
        Err(e) => (Vec::new(), Some(e)),
    };
    let earlier = store.edit_of(date)?.filter(|e| e.fallback.is_none() && !e.groups.is_empty());
    if let (Some(why), Some(good)) = (&fallback, earlier) {
        // A pass that failed (a spent budget, a timeout) does not undo one that worked: its
        // groups stand, the new candidates are ranked locally, and it is not asked again until
        // further candidates come.
        tracing::warn!(%date, "daily editor pass failed ({why}); the earlier pass stands");
        let edit = Edit { sent, ..good };
        store.put_edit(&edit)?;
        return Ok(Some(edit));
    }
    if let Some(why) = &fallback {
        tracing::warn!(%date, "daily editor pass failed ({why}); the digest uses local ranking");
    }
    let edit = Edit { date, made_at: now, model: editor.name(), sent, groups, fallback };
    store.put_edit(&edit)?;
    Ok(Some(edit))
}

/// Groups reduced to ids that were sent, each id in its first group only, empty groups dropped.
fn only_sent(groups: Vec<Vec<String>>, sent: &[String]) -> Vec<Vec<String>> {
    let sent: HashSet<&str> = sent.iter().map(String::as_str).collect();
    let mut seen: HashSet<String> = HashSet::new();
    groups
        .into_iter()
        .map(|g| g.into_iter().filter(|id| sent.contains(id.as_str()) && seen.insert(id.clone())).collect::<Vec<_>>())
        .filter(|g| !g.is_empty())
        .collect()
}

/// The candidates' clusters, scored and ordered best first: (score, best member, cluster).
struct Ranked {
    clusters: Vec<Vec<usize>>,
    order: Vec<(f64, usize, usize)>,
    /// Clusters whose point a recent digest of the list made already.
    repeated: HashSet<usize>,
}

impl Ranked {
    fn new(
        candidates: &[Insight],
        recent_texts: &[&str],
        taste: &HashMap<String, i64>,
        config: &DigestConfig,
        window_start: DateTime<Utc>,
        window_end: DateTime<Utc>,
    ) -> Ranked {
        // One vocabulary for today's candidates and recent digests, so they can be compared.
        let texts: Vec<&str> = candidates.iter().map(|c| c.text.as_str()).chain(recent_texts.iter().copied()).collect();
        let mut vecs = vectors(texts);
        let recent = vecs.split_off(candidates.len());
        let groups: Vec<&str> = candidates.iter().map(|c| c.episode_id.as_str()).collect();
        let dense: Option<Vec<Vec<f32>>> = candidates.iter().map(|c| c.embedding.clone()).collect();
        let clusters = match dense.filter(|d| d.iter().all(|e| !e.is_empty() && e.len() == d[0].len())) {
            Some(embeddings) => cluster::cluster_dense(&embeddings, &groups, config.embedding_cluster_threshold),
            None => cluster::cluster(&vecs, &groups, config.cluster_threshold),
        };
        let window_secs = (window_end - window_start).num_seconds().max(1) as f64;
        let mut repeated_clusters = HashSet::new();
        let mut order: Vec<(f64, usize, usize)> = clusters
            .iter()
            .enumerate()
            .filter_map(|(ci, members)| {
                let rep = best_member(candidates, members)?;
                let feeds: HashSet<&str> = members.iter().map(|&m| candidates[m].feed_url.as_str()).collect();
                let corroboration = (1.0 + 0.5 * (feeds.len() as f64 - 1.0)).min(3.0);
                let age = (window_end - candidates[rep].published).num_seconds().max(0) as f64 / window_secs;
                let recency = 1.0 - (1.0 - OLDEST_RECENCY) * age.min(1.0);
                let repeated = recent.iter().any(|r| cosine(&vecs[rep], r) >= config.cluster_threshold);
                let novelty = if repeated { REPEAT_PENALTY } else { 1.0 };
                if repeated {
                    repeated_clusters.insert(ci);
                }
                let feedback = feedback(taste, &candidates[rep].podcast);
                Some((candidates[rep].score * corroboration * recency * novelty * feedback, rep, ci))
            })
            .collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        Ranked { clusters, order, repeated: repeated_clusters }
    }
}

/// The share readers' net 👍 / 👎 on a podcast's earlier insights moves its points by.
fn feedback(taste: &HashMap<String, i64>, podcast: &str) -> f64 {
    let net = taste.get(podcast).copied().unwrap_or(0) as f64;
    (1.0 + FEEDBACK_STEP * net).clamp(1.0 - FEEDBACK_RANGE, 1.0 + FEEDBACK_RANGE)
}

/// Candidates are in content order, so ties on score go to the earlier index: the order
/// `best_member` takes the maximum of.
fn by_score_then_index(candidates: &[Insight], a: usize, b: usize) -> std::cmp::Ordering {
    candidates[a].score.total_cmp(&candidates[b].score).then(b.cmp(&a))
}

/// The member that speaks for a group: the best-scored, the earliest on a tie.
fn best_member(candidates: &[Insight], members: &[usize]) -> Option<usize> {
    members.iter().copied().max_by(|&a, &b| by_score_then_index(candidates, a, b))
}

/// Clusters and ranks candidates; returns the top `config.size` entries. `taste` is the net
/// reader feedback per podcast title.
pub fn rank(
    candidates: &[Insight],
    recent_texts: &[&str],
    taste: &HashMap<String, i64>,
    config: &DigestConfig,
    window_start: DateTime<Utc>,
    window_end: DateTime<Utc>,
) -> Vec<DigestEntry> {
    rank_with_reserve(candidates, recent_texts, taste, config, (window_start, window_end), None).0
}

/// A point offered a slot: (score, best member, members).
type Offer = (f64, usize, Vec<usize>);

/// Clusters and ranks candidates, following an editor pass when one stands (its points first, in
/// its order, each joined by the local clusters of its members; the local ranking fills what is
/// left), with a reserve: up to `config.size` more entries, numbered on, that fill in for what a
/// chat's filters leave out. The reserve goes on down the same order, and may take a
/// second point of an episode already in the top (the point a chat was sent on another day
/// leaves that episode's slot empty for it).
pub fn rank_with_reserve(
    candidates: &[Insight],
    recent_texts: &[&str],
    taste: &HashMap<String, i64>,
    config: &DigestConfig,
    (window_start, window_end): (DateTime<Utc>, DateTime<Utc>),
    edit: Option<&Edit>,
) -> (Vec<DigestEntry>, Vec<DigestEntry>) {
    let offers = offers(candidates, recent_texts, taste, config, window_start, window_end, edit);
    let (top, used) = pick_after(candidates, &offers, config.size, config.max_per_episode, &[]);
    // Only points the top did not make: a point taken there by another podcast's words must not
    // come back through this episode's.
    let rest: Vec<Offer> =
        offers.into_iter().enumerate().filter(|(i, _)| !used.contains(i)).map(|(_, offer)| offer).collect();
    let (reserve, _) = pick_after(candidates, &rest, config.size, config.max_per_episode * 2, &top);
    (top, reserve)
}

/// Every point offered a slot, in the order offered: the editor's, then local ranking's, then
/// those a recent digest made.
fn offers(
    candidates: &[Insight],
    recent_texts: &[&str],
    taste: &HashMap<String, i64>,
    config: &DigestConfig,
    window_start: DateTime<Utc>,
    window_end: DateTime<Utc>,
    edit: Option<&Edit>,
) -> Vec<Offer> {
    if candidates.is_empty() {
        return Vec::new();
    }
    let ranked = Ranked::new(candidates, recent_texts, taste, config, window_start, window_end);
    let mut cluster_of = vec![0; candidates.len()];
    for (ci, members) in ranked.clusters.iter().enumerate() {
        members.iter().for_each(|&m| cluster_of[m] = ci);
    }
    let score_of: HashMap<usize, f64> = ranked.order.iter().map(|&(score, _, ci)| (ci, score)).collect();
    // (score, best member, members), in the order they are offered slots; the editor's points
    // a recent digest made, last.
    let mut offers: Vec<Offer> = Vec::new();
    let mut repeats: Vec<Offer> = Vec::new();
    let mut taken_clusters: HashSet<usize> = HashSet::new();
    if let Some(edit) = edit.filter(|e| e.fallback.is_none()) {
        let index: HashMap<&str, usize> = candidates.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
        for group in &edit.groups {
            // Ids of another scope (a list without that podcast) or already sent drop out here.
            let chosen: Vec<usize> = group.iter().filter_map(|id| index.get(id.as_str()).copied()).collect();
            let clusters: Vec<usize> =
                chosen.iter().map(|&m| cluster_of[m]).filter(|c| !taken_clusters.contains(c)).collect();
            if clusters.is_empty() {
                continue;
            }
            let mut members: Vec<usize> = Vec::new();
            for &c in &clusters {
                if taken_clusters.insert(c) {
                    members.extend(&ranked.clusters[c]);
                }
            }
            members.sort_unstable();
            let Some(best) = best_member(candidates, &members) else { continue };
            let score = clusters.iter().filter_map(|c| score_of.get(c)).copied().fold(0.0, f64::max);
            // The editor says its members make one point: one of them sent lately is the point
            // sent. The editor does not know what recent digests said: such a point comes after
            // every new one, the editor's and local ranking's, as local ranking weighs it down.
            if clusters.iter().any(|c| ranked.repeated.contains(c)) {
                repeats.push((score, best, members));
            } else {
                offers.push((score, best, members));
            }
        }
    }
    // Readers' 👍 / 👎 tilt the editor's order as they tilt local ranking's scores: each place
    // down the editor's list weighs a fifth less, and the podcast's share moves that weight,
    // so a 👎-heavy podcast's point yields to the next one (a place or two), never to the end.
    let weight = |i: usize, best: usize| EDITOR_PLACE.powi(i as i32) * feedback(taste, &candidates[best].podcast);
    let mut tilted: Vec<(f64, Offer)> =
        offers.drain(..).enumerate().map(|(i, offer)| (weight(i, offer.1), offer)).collect();
    // Stable: equal weights keep the editor's order.
    tilted.sort_by(|a, b| b.0.total_cmp(&a.0));
    offers.extend(tilted.into_iter().map(|(_, offer)| offer));
    for &(score, best, ci) in &ranked.order {
        if !taken_clusters.contains(&ci) {
            offers.push((score, best, ranked.clusters[ci].clone()));
        }
    }
    offers.extend(repeats);
    offers
}

/// The first `size` points of `offers` after the entries `before` (numbered on from them, none
/// making the same point as one of them), at most `per_episode_cap` from one episode counting
/// `before`'s, each shown by its best member from an episode with room and carrying the rest
/// as also_in; with the indices of the offers taken.
fn pick_after(
    candidates: &[Insight],
    offers: &[Offer],
    size: usize,
    per_episode_cap: usize,
    before: &[DigestEntry],
) -> (Vec<DigestEntry>, HashSet<usize>) {
    let mut per_episode: HashMap<&str, usize> = HashMap::new();
    for e in before {
        *per_episode.entry(e.episode_id.as_str()).or_default() += 1;
    }
    let mut out: Vec<DigestEntry> = Vec::new();
    let mut used = HashSet::new();
    for (index, (score, best, members)) in offers.iter().enumerate() {
        let (score, best) = (*score, *best);
        if out.len() >= size {
            break;
        }
        // The best member from an episode that still has room speaks for the cluster, so a point
        // several podcasts made is not lost because one of them already has a slot.
        let mut by_score: Vec<usize> = members.clone();
        by_score.sort_by(|&a, &b| by_score_then_index(candidates, b, a));
        let Some(rep) = by_score
            .into_iter()
            .find(|&m| per_episode.get(candidates[m].episode_id.as_str()).copied().unwrap_or(0) < per_episode_cap)
        else {
            continue;
        };
        // A point another podcast made in its own words, already in the digest, does not take a
        // second slot (the clusters' cosine misses such paraphrases).
        if before.iter().chain(&out).any(|e: &DigestEntry| cluster::same_point(&e.text, &candidates[rep].text)) {
            continue;
        }
        used.insert(index);
        let score = score * candidates[rep].score / candidates[best].score.max(f64::MIN_POSITIVE);
        let r = &candidates[rep];
        *per_episode.entry(r.episode_id.as_str()).or_default() += 1;
        let mut seen_episodes = HashSet::from([r.episode_id.as_str()]);
        let also_in = members
            .iter()
            .filter(|&&m| m != rep)
            .map(|&m| &candidates[m])
            .filter(|c| seen_episodes.insert(c.episode_id.as_str()))
            .map(|c| AlsoIn {
                insight_id: c.id.clone(),
                episode_id: c.episode_id.clone(),
                podcast: c.podcast.clone(),
                episode: c.episode.clone(),
                speaker: c.speaker.clone(),
                start_seconds: c.start_seconds,
                untimed: c.untimed(),
                link: c.link(),
                quote: c.quote.clone(),
            })
            .collect();
        out.push(DigestEntry::from_insight(before.len() + out.len() + 1, r, (score * 100.0).round() / 100.0, also_in));
    }
    (out, used)
}

/// Candidates in an order that depends on what they say and where, never on ids: publication,
/// podcast, episode, position, text. The id only separates exact duplicates.
fn by_content(a: &Insight, b: &Insight) -> std::cmp::Ordering {
    a.published
        .cmp(&b.published)
        .then_with(|| a.podcast.cmp(&b.podcast))
        .then_with(|| a.episode.cmp(&b.episode))
        .then_with(|| a.start_seconds.total_cmp(&b.start_seconds))
        .then_with(|| a.text.cmp(&b.text))
        .then_with(|| a.quote.cmp(&b.quote))
        .then_with(|| a.id.cmp(&b.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TranscriptSource;

    fn insight(id: &str, podcast: &str, text: &str, score: f64) -> Insight {
        Insight {
            id: id.into(),
            episode_id: format!("ep-{id}"),
            feed_url: format!("feed-{podcast}"),
            podcast: podcast.into(),
            episode: "E".into(),
            episode_url: None,
            speaker: None,
            start_seconds: 0.0,
            text: text.into(),
            quote: text.into(),
            score,
            published: Utc.with_ymd_and_hms(2026, 11, 28, 6, 0, 0).unwrap(),
            source: TranscriptSource::Text,
            embedding: None,
        }
    }

    /// The reserve goes on down the ranking: a second point of an episode the top has, the next
    /// episodes' points, never a point the top made in another podcast's words.
    #[test]
    fn the_reserve_holds_the_next_points_and_none_the_top_made() {
        let in_episode = |id: &str, episode: &str, podcast: &str, text: &str, score: f64| Insight {
            episode_id: episode.into(),
            ..insight(id, podcast, text, score)
        };
        let c = vec![
            in_episode(
                "a1",
                "ep-a",
                "Alpha",
                "Columnar storage made analytics queries twelve times faster than rows.",
                20.0,
            ),
            in_episode(
                "a2",
                "ep-a",
                "Alpha",
                "Data contracts stopped most silent schema breakages between teams.",
                8.0,
            ),
            in_episode(
                "b1",
                "ep-b",
                "Beta",
                "Data contracts stopped most silent schema breakages between the teams.",
                7.0,
            ),
            in_episode(
                "a3",
                "ep-a",
                "Alpha",
                "Feature flags let the team ship on Fridays without the usual dread.",
                6.0,
            ),
            in_episode(
                "c1",
                "ep-c",
                "Gamma",
                "Rust's borrow checker caught the race that had crashed production twice.",
                5.0,
            ),
        ];
        let cfg = DigestConfig { size: 2, ..DigestConfig::default() };
        let window = (
            Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 29, 0, 0, 0).unwrap(),
        );
        let (top, reserve) = rank_with_reserve(&c, &[], &HashMap::new(), &cfg, window, None);
        let ids = |entries: &[DigestEntry]| entries.iter().map(|e| (e.rank, e.id.clone())).collect::<Vec<_>>();
        // Alpha's slot goes to its best point; the data-contracts point is made by Beta.
        assert_eq!(ids(&top), [(1, "a1".to_string()), (2, "b1".to_string())]);
        assert!(top[1].also_in.iter().any(|a| a.insight_id == "a2"), "{:?}", top[1]);
        // Not Alpha's words for the same point (a2): Alpha's next point, then Gamma's.
        assert_eq!(ids(&reserve), [(3, "a3".to_string()), (4, "c1".to_string())]);
    }

    #[test]
    fn reader_feedback_tilts_but_does_not_take_over() {
        let c = vec![
            insight("a", "Alpha", "Columnar storage made analytics queries twelve times faster than rows.", 5.0),
            insight("b", "Beta", "Data contracts stopped most silent schema breakages between teams.", 4.9),
        ];
        let cfg = DigestConfig { size: 2, ..DigestConfig::default() };
        let (start, end) = (
            Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 29, 0, 0, 0).unwrap(),
        );
        let order = |taste: &HashMap<String, i64>| -> Vec<String> {
            rank(&c, &[], taste, &cfg, start, end).into_iter().map(|e| e.id).collect()
        };
        assert_eq!(order(&HashMap::new()), ["a", "b"]);
        assert_eq!(order(&HashMap::from([("Alpha".to_string(), -2)])), ["b", "a"]);
        // However many 👎, an insight keeps at least 70% of its score.
        let low = rank(&c, &[], &HashMap::from([("Alpha".to_string(), -1000)]), &cfg, start, end);
        assert!((low.iter().find(|e| e.id == "a").unwrap().score - 5.0 * 0.7 * (1.0 - 0.3 * 18.0 / 48.0)).abs() < 0.01);
    }

    #[test]
    fn reader_feedback_tilts_the_editors_order_by_a_place_or_two() {
        let c = vec![
            insight("a", "Alpha", "Columnar storage made analytics queries twelve times faster than rows.", 3.0),
            insight("b", "Beta", "Data contracts stopped most silent schema breakages between teams.", 4.0),
            insight("c", "Gamma", "Canary releases caught nine of ten bad deploys before customers did.", 5.0),
            insight("d", "Delta", "Pairing on incident reviews halved how long outages took to fix.", 2.0),
        ];
        let cfg = DigestConfig { size: 4, ..DigestConfig::default() };
        let (start, end) = (
            Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 29, 0, 0, 0).unwrap(),
        );
        let edit = Edit {
            date: NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
            made_at: end,
            model: "m".into(),
            sent: vec![],
            groups: vec![vec!["a".into()], vec!["b".into()], vec!["c".into()], vec!["d".into()]],
            fallback: None,
        };
        let order = |taste: &[(&str, i64)]| -> Vec<String> {
            let taste: HashMap<String, i64> = taste.iter().map(|(p, n)| (p.to_string(), *n)).collect();
            rank_with_reserve(&c, &[], &taste, &cfg, (start, end), Some(&edit)).0.into_iter().map(|e| e.id).collect()
        };
        assert_eq!(order(&[]), ["a", "b", "c", "d"], "the editor's order, not the scores'");
        // Alpha's readers said 👎 often: its point yields to the next one, not to the end.
        assert_eq!(order(&[("Alpha", -1000)]), ["b", "a", "c", "d"]);
        // Delta's said 👍: its point moves up a place.
        assert_eq!(order(&[("Delta", 1000)]), ["a", "b", "d", "c"]);
        assert_eq!(order(&[("Beta", -1)]), ["a", "b", "c", "d"], "one 👎 moves nothing");
    }
}
