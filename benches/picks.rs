//! Pick quality of the offline engine against a labelled set: for each episode, the three
//! candidates the digest would rank first, compared with the sentences a reader would forward
//! and with tempting non-insights (intros, thanks, sponsor reads, anecdotes, logistics,
//! questions, hypotheticals, sentences that need context, trivia).
//!
//! Reads `insights.json` (a list of `{episode, forward: [{text}], not: [{text, why}]}`, paths
//! under the fixtures folder) from `PODSIFT_EVAL` (default `../shared/eval/insights.json` beside
//! the crate) and transcripts from `PODSIFT_FIXTURES` (default `../fixtures/changelog` beside the
//! eval file). Document frequencies come from the labelled episodes themselves. Prints per
//! episode and overall: how often the first pick and any of the top 3 overlap a "forward" or a
//! "not" sentence, the reasons of the "not" hits, and the same for three random sentences per
//! episode as a floor. `PICKS_VERBOSE=1` also prints the picks; `PICKS_RATED=1` also measures the
//! engine against the candidates rated blind in `benches/data/claim-ratings.json`.
//!
//! Overlap: both texts are lower-cased, Markdown escapes and punctuation dropped, fillers
//! ("um", "uh") removed, and cut into word trigrams; two texts overlap when the trigrams they
//! share are at least half of the shorter text's. A pick of one sentence of a two-sentence label
//! (or the other way round) so overlaps, a pick sharing a phrase does not.
//!
//! Run: `cargo bench --bench picks` (or `cargo test --bench picks` for a debug build).

use std::collections::HashSet;
use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use podsift::config::InsightConfig;
use podsift::insight::extract::{OfflineExtractor, document_terms};
use podsift::insight::sentences;
use podsift::insight::terms::Corpus;
use podsift::model::{Episode, Transcript, TranscriptSource};
use serde::Deserialize;

#[derive(Deserialize)]
struct Labelled {
    episode: String,
    forward: Vec<Label>,
    not: Vec<Label>,
}

#[derive(Deserialize)]
struct Label {
    text: String,
    #[serde(default)]
    why: Option<String>,
}

/// Random draws per episode for the floor.
const RANDOM_DRAWS: usize = 200;

fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let eval = std::env::var_os("PODSIFT_EVAL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/insights.json"));
    let fixtures = std::env::var_os("PODSIFT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| eval.parent().unwrap_or(&eval).join("../fixtures/changelog"));
    let verbose = std::env::var("PICKS_VERBOSE").is_ok_and(|v| v == "1");
    let set: Vec<Labelled> = match std::fs::read(&eval).map(|b| serde_json::from_slice(&b)) {
        Ok(Ok(set)) => set,
        Ok(Err(e)) => return println!("picks: {} is not a labelled set: {e}", eval.display()),
        Err(e) => return println!("picks: no labelled set at {} ({e}); skipped", eval.display()),
    };
    let mut episodes: Vec<(Episode, Transcript, &Labelled)> = Vec::new();
    for l in &set {
        if let Some((e, t)) = load(&fixtures, &l.episode) {
            episodes.push((e, t, l));
        }
    }
    let mut corpus = Corpus::default();
    for (_, t, _) in &episodes {
        corpus.add(&document_terms(t));
    }
    let extractor = OfflineExtractor { config: InsightConfig::default() };
    let started = std::time::Instant::now();
    let mut totals = Totals::default();
    let mut random = (0.0, 0.0);
    println!("{:<48} {:>4} {:>4} {:>4} {:>4}  not-reasons", "episode", "F@1", "F@3", "N@1", "N@3");
    for (e, t, l) in &episodes {
        let mut picks = extractor.extract_now(e, t, &corpus);
        // The digest ranks one episode's candidates by score (they never cluster together).
        picks.sort_by(|a, b| b.score.total_cmp(&a.score));
        let texts: Vec<&str> = picks.iter().take(3).map(|i| i.quote.as_str()).collect();
        let row = score_picks(&texts, l);
        println!(
            "{:<48} {:>4} {:>4} {:>4} {:>4}  {}",
            l.episode,
            mark(row.forward_first),
            mark(row.forward_any),
            mark(row.not_first),
            mark(row.not_any),
            row.reasons.join(", ")
        );
        if verbose {
            for i in picks.iter().take(3) {
                let r = podsift::insight::signals::read(&i.text);
                let speaker = i.speaker.as_deref().unwrap_or("-");
                println!(
                    "    {:>5.2} {:<20} [{:.1} {}] {}",
                    i.score,
                    speaker,
                    r.substance,
                    r.reasons.join(","),
                    i.text
                );
            }
        }
        totals.add(&row);
        let (f, n) = random_floor(t, l);
        random.0 += f;
        random.1 += n;
    }
    if let Some(out) = std::env::var_os("PICKS_DUMP") {
        let list = std::env::var_os("PICKS_EPISODES").map(PathBuf::from);
        dump(&fixtures, list.as_deref(), &PathBuf::from(out));
    }
    if std::env::var("PICKS_RANKS").is_ok_and(|v| v == "1") {
        ranks(&episodes, &corpus);
    }
    let n = episodes.len();
    println!();
    println!("episodes: {n}, extraction {:.1?}", started.elapsed());
    println!("first pick overlaps a forward sentence: {}/{n}", totals.forward_first);
    println!("top 3 overlap a forward sentence:       {}/{n}", totals.forward_any);
    println!("first pick overlaps a not sentence:     {}/{n}", totals.not_first);
    println!("top 3 overlap a not sentence:           {}/{n}", totals.not_any);
    let mut reasons: Vec<(String, usize)> = totals.reasons.clone();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let listed: Vec<String> = reasons.iter().map(|(r, c)| format!("{r} {c}")).collect();
    println!(
        "not hits by reason:                     {}",
        if listed.is_empty() { "none".into() } else { listed.join(", ") }
    );
    println!(
        "three random sentences per episode:     forward {:.1}/{n}, not {:.1}/{n} (mean of {RANDOM_DRAWS} draws)",
        random.0, random.1
    );
    if std::env::var("PICKS_RATED").is_ok_and(|v| v == "1") {
        rated(&fixtures);
    }
}

/// One fixture transcript as an episode of its show, or `None` (said) when it cannot be read.
fn load(fixtures: &std::path::Path, episode: &str) -> Option<(Episode, Transcript)> {
    let path = fixtures.join(episode);
    let Ok(bytes) = std::fs::read(&path) else {
        println!("picks: missing transcript {}", path.display());
        return None;
    };
    let Ok(segments) = podsift::ingest::transcript::parse(TranscriptSource::Text, &bytes) else {
        println!("picks: unreadable transcript {}", path.display());
        return None;
    };
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut e = Episode::new(episode, "eval", episode, at);
    e.podcast_title = episode.split('/').next().map(|dir| show_title(dir).to_string());
    let t = Transcript {
        episode_id: episode.to_string(),
        source: TranscriptSource::Text,
        url: None,
        fetched_at: at,
        segments,
    };
    Some((e, t))
}

/// Every candidate of the named fixture episodes, best first, with its features; document
/// frequencies come from those episodes alone.
fn every_candidate<S: AsRef<str>>(
    fixtures: &std::path::Path,
    names: &[S],
) -> Vec<(Episode, Vec<(podsift::model::Insight, podsift::insight::extract::Features)>)> {
    let episodes: Vec<(Episode, Transcript)> = names.iter().filter_map(|n| load(fixtures, n.as_ref())).collect();
    let mut corpus = Corpus::default();
    for (_, t) in &episodes {
        corpus.add(&document_terms(t));
    }
    let all =
        OfflineExtractor { config: InsightConfig { candidates_per_episode: 100_000, ..InsightConfig::default() } };
    episodes
        .into_iter()
        .map(|(e, t)| {
            let mut picks = all.extract_explained(&e, &t, &corpus);
            picks.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
            (e, picks)
        })
        .collect()
}

/// Every candidate of the listed episodes (one fixture path a line; without a list, the
/// labelled ones) with its features, as JSON lines: the material for labelling candidates
/// and for fitting the signals' weights (`benches/fit_claims.py`).
fn dump(fixtures: &std::path::Path, list: Option<&std::path::Path>, out: &std::path::Path) {
    let names: Vec<String> = match list.map(std::fs::read_to_string) {
        Some(Ok(text)) => text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect(),
        Some(Err(e)) => return println!("picks: cannot read the episode list: {e}"),
        None => return println!("picks: PICKS_DUMP needs PICKS_EPISODES, a file of fixture paths"),
    };
    let episodes = every_candidate(fixtures, &names);
    let mut lines = String::new();
    for (e, picks) in &episodes {
        let n = picks.len();
        for (rank, (i, features)) in picks.iter().enumerate() {
            let reading = podsift::insight::signals::read(&i.text);
            let tokens: Vec<String> = podsift::insight::terms::tokens(&i.text).collect();
            let features: serde_json::Map<String, serde_json::Value> =
                features.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect();
            let row = serde_json::json!({
                "episode": e.id, "podcast": e.podcast_title, "rank": rank, "of": n,
                "speaker": i.speaker, "text": i.text, "quote": i.quote, "tokens": tokens,
                "reasons": reading.reasons, "features": features,
            });
            lines.push_str(&row.to_string());
            lines.push('\n');
        }
    }
    match std::fs::write(out, lines) {
        Ok(()) => println!("picks: candidates of {} episode(s) written to {}", episodes.len(), out.display()),
        Err(e) => println!("picks: cannot write {}: {e}", out.display()),
    }
}

#[derive(Deserialize)]
struct Rated {
    episode: String,
    text: String,
    rating: u8,
}

/// How the engine orders the candidates of `benches/data/claim-ratings.json` (rated blind 0 / 1
/// / 2 by readers): the AUC of its score for "rated 2" and for "rated 1 or 2", and the rating of
/// the candidate it ranks first among each episode's rated best 8.
fn rated(fixtures: &std::path::Path) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/data/claim-ratings.json");
    let set: Vec<Rated> = match std::fs::read(&path).map(|b| serde_json::from_slice(&b)) {
        Ok(Ok(set)) => set,
        Ok(Err(e)) => return println!("picks: {} is not a rated set: {e}", path.display()),
        Err(e) => return println!("picks: no rated set at {} ({e})", path.display()),
    };
    let mut names: Vec<&str> = set.iter().map(|r| r.episode.as_str()).collect();
    names.sort();
    names.dedup();
    // (episode, text) -> (score, rank in its episode)
    let mut scored: std::collections::HashMap<(String, String), (f64, usize)> = std::collections::HashMap::new();
    for (e, picks) in every_candidate(fixtures, &names) {
        for (rank, (i, _)) in picks.into_iter().enumerate() {
            scored.insert((e.id.clone(), i.text), (i.score, rank));
        }
    }
    let joined: Vec<(f64, usize, &Rated)> = set
        .iter()
        .filter_map(|r| scored.get(&(r.episode.clone(), r.text.clone())).map(|&(s, rank)| (s, rank, r)))
        .collect();
    let auc = |at_least: u8| -> f64 {
        let (pos, neg): (Vec<f64>, Vec<f64>) = (
            joined.iter().filter(|j| j.2.rating >= at_least).map(|j| j.0).collect(),
            joined.iter().filter(|j| j.2.rating < at_least).map(|j| j.0).collect(),
        );
        let wins: f64 = pos
            .iter()
            .map(|p| {
                neg.iter()
                    .map(|n| {
                        if p > n {
                            1.0
                        } else if p == n {
                            0.5
                        } else {
                            0.0
                        }
                    })
                    .sum::<f64>()
            })
            .sum();
        wins / (pos.len() * neg.len()).max(1) as f64
    };
    let mut firsts: std::collections::HashMap<&str, (f64, u8)> = std::collections::HashMap::new();
    for (s, rank, r) in &joined {
        if *rank < 8 {
            let e = firsts.entry(r.episode.as_str()).or_insert((f64::MIN, 0));
            if *s > e.0 {
                *e = (*s, r.rating);
            }
        }
    }
    let n = firsts.len().max(1) as f64;
    let mean = firsts.values().map(|f| f.1 as f64).sum::<f64>() / n;
    let twos = firsts.values().filter(|f| f.1 == 2).count();
    println!();
    println!(
        "rated set: {} of {} candidates found; score AUC for rated 2 {:.3}, for rated 1+ {:.3}",
        joined.len(),
        set.len(),
        auc(2),
        auc(1)
    );
    println!(
        "rated set: first among each episode's best 8 ({} episodes): mean rating {mean:.2}, rated 2 in {twos}",
        firsts.len()
    );
}

/// The podcast's title as its feed gives it, for the fixture folders.
fn show_title(dir: &str) -> &str {
    match dir {
        "afk" => "Away From Keyboard",
        "backstage" => "Backstage",
        "brainscience" => "Brain Science",
        "founderstalk" => "Founders Talk",
        "friends" => "Changelog & Friends",
        "gotime" => "Go Time",
        "jsparty" => "JS Party",
        "rfc" => "Request For Commits",
        "shipit" => "Ship It!",
        "spotlight" => "Spotlight",
        other => other,
    }
}

#[derive(Default)]
struct Row {
    forward_first: bool,
    forward_any: bool,
    not_first: bool,
    not_any: bool,
    reasons: Vec<String>,
}

#[derive(Default)]
struct Totals {
    forward_first: usize,
    forward_any: usize,
    not_first: usize,
    not_any: usize,
    reasons: Vec<(String, usize)>,
}

impl Totals {
    fn add(&mut self, r: &Row) {
        self.forward_first += r.forward_first as usize;
        self.forward_any += r.forward_any as usize;
        self.not_first += r.not_first as usize;
        self.not_any += r.not_any as usize;
        for why in &r.reasons {
            match self.reasons.iter_mut().find(|(w, _)| w == why) {
                Some((_, c)) => *c += 1,
                None => self.reasons.push((why.clone(), 1)),
            }
        }
    }
}

fn mark(b: bool) -> &'static str {
    if b { "x" } else { "." }
}

fn score_picks(picks: &[&str], l: &Labelled) -> Row {
    let hits = |pick: &str, labels: &[Label]| -> Vec<usize> {
        labels.iter().enumerate().filter(|(_, x)| overlaps(pick, &x.text)).map(|(i, _)| i).collect()
    };
    let mut row = Row::default();
    for (k, p) in picks.iter().enumerate() {
        let f = hits(p, &l.forward);
        let n = hits(p, &l.not);
        if !f.is_empty() {
            row.forward_any = true;
            row.forward_first |= k == 0;
        }
        if !n.is_empty() {
            row.not_any = true;
            row.not_first |= k == 0;
            row.reasons.extend(n.iter().map(|&i| l.not[i].why.clone().unwrap_or_else(|| "?".into())));
        }
    }
    row
}

/// Expected overlaps of three sentences drawn at random (at least 8 words, as candidates are).
fn random_floor(t: &Transcript, l: &Labelled) -> (f64, f64) {
    let sents: Vec<&str> = sentences::split(&t.segments)
        .into_iter()
        .map(|s| &t.segments[s.segment].text[s.range])
        .filter(|s| s.split_whitespace().count() >= 8)
        .collect();
    if sents.len() < 3 {
        return (0.0, 0.0);
    }
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d ^ l.episode.len() as u64;
    let mut next = |n: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    let (mut f, mut n) = (0usize, 0usize);
    for _ in 0..RANDOM_DRAWS {
        let picks: Vec<&str> = (0..3).map(|_| sents[next(sents.len())]).collect();
        let row = score_picks(&picks, l);
        f += row.forward_any as usize;
        n += row.not_any as usize;
    }
    (f as f64 / RANDOM_DRAWS as f64, n as f64 / RANDOM_DRAWS as f64)
}

fn trigrams(text: &str) -> HashSet<String> {
    let words: Vec<String> = text
        .to_lowercase()
        .replace('\\', "")
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_string())
        .filter(|w| !w.is_empty() && !matches!(w.as_str(), "um" | "uh" | "erm" | "hmm"))
        .collect();
    words.windows(3).map(|w| w.join(" ")).collect()
}

fn overlaps(a: &str, b: &str) -> bool {
    let (x, y) = (trigrams(a), trigrams(b));
    let shorter = x.len().min(y.len());
    shorter > 0 && x.intersection(&y).count() * 2 >= shorter
}

/// Where the labelled sentences stand in each episode's full ranking (every candidate kept):
/// whether extraction offers them at all, and how far from the top they are.
fn ranks(episodes: &[(Episode, Transcript, &Labelled)], corpus: &Corpus) {
    let all =
        OfflineExtractor { config: InsightConfig { candidates_per_episode: 100_000, ..InsightConfig::default() } };
    let (mut forward, mut not) = (Vec::new(), Vec::new());
    for (e, t, l) in episodes {
        let mut picks = all.extract_now(e, t, corpus);
        picks.sort_by(|a, b| b.score.total_cmp(&a.score));
        let rank_of = |label: &str| picks.iter().position(|p| overlaps(&p.quote, label));
        for f in &l.forward {
            let r = rank_of(&f.text);
            if r.is_none() && std::env::var("PICKS_VERBOSE").is_ok_and(|v| v == "1") {
                println!("not offered: {}", f.text);
            }
            forward.push((r, picks.len()));
        }
        for x in &l.not {
            not.push((rank_of(&x.text), picks.len()));
        }
    }
    for (name, list) in [("forward", &forward), ("not", &not)] {
        let missing = list.iter().filter(|(r, _)| r.is_none()).count();
        let mut found: Vec<f64> = list.iter().filter_map(|(r, n)| r.map(|r| r as f64 / *n as f64)).collect();
        found.sort_by(f64::total_cmp);
        let q = |p: f64| found.get(((found.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN);
        let top10 = list.iter().filter(|(r, _)| r.is_some_and(|r| r < 10)).count();
        println!(
            "{name:<8} labels {:>3}: not offered {missing:>3}; rank as share of candidates: p25 {:.2} median {:.2} p75 {:.2}; in top 10: {top10}",
            list.len(),
            q(0.25),
            q(0.5),
            q(0.75)
        );
    }
}
