//! How well follow-up questions are answered, on a labelled set of questions about Changelog
//! episodes (default ../shared/eval/qa.json; another set as the first argument, e.g.
//! tests/fixtures/qa_extra.json). Each episode is parsed by the project's transcript parser and
//! stored with its extracted insights; every question is asked about the episode's first
//! insight, as a reader of the digest would. Prints hit@1 and hit@3 (the labelled answer span
//! inside the first / any of the first three citations, compared without case, punctuation or
//! spacing differences), the share of unanswerable questions refused, and every miss.
//!
//! `cargo bench --bench answers [-- SET.json]`. The fixtures directory defaults to
//! ../shared/fixtures/changelog (PODSIFT_FIXTURES overrides); all of its episodes feed the
//! corpus statistics, as a store with a long history would have them.

use std::path::{Path, PathBuf};

use chrono::Utc;
use podsift::ask::{self, QuoteAnswerer};
use podsift::config::Config;
use podsift::ingest::transcript;
use podsift::insight::extract::OfflineExtractor;
use podsift::insight::terms;
use podsift::model::{DigestEntry, Episode, Transcript, TranscriptSource};
use podsift::store::Store;

#[derive(serde::Deserialize)]
struct Labelled {
    episode: String,
    question: String,
    answer: Option<String>,
}

fn norm(s: &str) -> String {
    ask::retrieve::normalise(s)
}

fn load(root: &Path, rel: &str) -> Option<(Episode, Transcript)> {
    let text = std::fs::read(root.join(rel)).ok()?;
    let segments = transcript::parse(TranscriptSource::Text, &text).ok()?;
    let id = rel.trim_end_matches(".md").replace('/', "-");
    let mut ep = Episode::new(&id, "bench", rel, Utc::now());
    ep.podcast_title = rel.split('/').next().map(str::to_string);
    ep.link = Some(format!("https://changelog.example/{id}"));
    let tr = Transcript { episode_id: id, source: TranscriptSource::Text, url: None, fetched_at: Utc::now(), segments };
    Some((ep, tr))
}

fn doc_terms(t: &Transcript) -> Vec<String> {
    let mut v: Vec<String> = t.segments.iter().flat_map(|s| terms::terms(&s.text)).collect();
    v.sort();
    v.dedup();
    v
}

fn main() {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let set = std::env::args()
        .skip(1)
        .find(|a| a.ends_with(".json"))
        .map(PathBuf::from)
        .unwrap_or_else(|| here.join("../shared/eval/qa.json"));
    let root = std::env::var("PODSIFT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| here.join("../shared/fixtures/changelog"));
    let Ok(raw) = std::fs::read(&set) else {
        eprintln!("no question set at {}; nothing to measure", set.display());
        return;
    };
    let questions: Vec<Labelled> = serde_json::from_slice(&raw).expect("a JSON list of {episode, question, answer}");
    // PODSIFT_BENCH_STORE keeps the loaded store between runs (for calibrating); by default a
    // fresh temporary one.
    let dir = tempfile::tempdir().unwrap();
    let kept = std::env::var("PODSIFT_BENCH_STORE").ok().map(PathBuf::from);
    let store_dir = kept.clone().unwrap_or_else(|| dir.path().to_path_buf());
    let store = Store::open(&store_dir).unwrap();
    let config = Config::default();
    let mut wanted: Vec<&str> = questions.iter().map(|q| q.episode.as_str()).collect();
    wanted.sort();
    wanted.dedup();
    let started = std::time::Instant::now();
    let marker = store_dir.join(format!("loaded-for-{}", set.file_name().and_then(|n| n.to_str()).unwrap_or("set")));
    if !marker.exists() {
        // Corpus statistics from every fixture episode; the questioned ones are stored whole.
        let mut all: Vec<String> = Vec::new();
        for show in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(show.path()).into_iter().flatten().flatten() {
                if f.path().extension().is_some_and(|e| e == "md") {
                    if let (Some(s), Some(n)) = (show.file_name().to_str(), f.file_name().to_str()) {
                        all.push(format!("{s}/{n}"));
                    }
                }
            }
        }
        all.sort();
        for rel in all.iter().map(String::as_str).chain(wanted.iter().copied().filter(|w| !all.iter().any(|a| a == w)))
        {
            if let Some((mut ep, tr)) = load(&root, rel) {
                if wanted.contains(&rel) {
                    store.put_episode(&ep).unwrap();
                    store.put_transcript(&ep, &tr).unwrap();
                }
                ep.insights_extracted = true;
                store.put_insights(&ep, &[], &doc_terms(&tr)).unwrap();
            }
        }
        store.flush().unwrap();
        if kept.is_some() {
            std::fs::write(&marker, b"").unwrap();
        }
    }
    eprintln!("{} corpus episodes ready in {:.1}s", store.corpus().unwrap().docs, started.elapsed().as_secs_f64());
    let corpus = store.corpus().unwrap();
    let extractor = OfflineExtractor { config: config.insight.clone() };
    let mut entries: Vec<(String, DigestEntry)> = Vec::new();
    for rel in &wanted {
        let Some((ep, tr)) = load(&root, rel) else {
            eprintln!("cannot read {rel}");
            continue;
        };
        let Some(i) = extractor.extract_now(&ep, &tr, &corpus).into_iter().next() else {
            eprintln!("no insight in {rel}");
            continue;
        };
        entries.push((rel.to_string(), DigestEntry::from_insight(1, &i, i.score, vec![])));
    }

    let answerer = QuoteAnswerer { max_citations: config.ask.max_citations };
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (mut answerable, mut hit1, mut hit3, mut unanswerable, mut refused) = (0, 0, 0, 0, 0);
    let mut misses: Vec<String> = Vec::new();
    let mut slowest = std::time::Duration::ZERO;
    for q in &questions {
        let Some((_, entry)) = entries.iter().find(|(rel, _)| *rel == q.episode) else {
            misses.push(format!("(episode missing) {}", q.question));
            continue;
        };
        let t = std::time::Instant::now();
        let a = rt.block_on(ask::ask(&store, &config.ask, entry, &q.question, &answerer, &[])).unwrap();
        slowest = slowest.max(t.elapsed());
        match &q.answer {
            Some(span) => {
                answerable += 1;
                let span = norm(span);
                let at = a.citations.iter().take(3).position(|c| norm(&c.text).contains(&span));
                hit1 += usize::from(at == Some(0));
                hit3 += usize::from(at.is_some());
                if at.is_none() {
                    let got = if a.covered {
                        a.citations
                            .iter()
                            .map(|c| format!("[{}] {}", c.start_seconds, c.text.chars().take(140).collect::<String>()))
                            .collect::<Vec<_>>()
                            .join("\n               ")
                    } else {
                        "refused".to_string()
                    };
                    // An answer inside the insight asked about is masked: the reader has it.
                    let known = if norm(&entry.quote).contains(&span) { " (the insight itself)" } else { "" };
                    misses.push(format!(
                        "MISS   {} [{}]{known}\n       wanted: {}\n       got:    {got}",
                        q.question, q.episode, span
                    ));
                }
            }
            None => {
                unanswerable += 1;
                if a.covered {
                    let got =
                        a.citations.first().map(|c| c.text.chars().take(140).collect::<String>()).unwrap_or_default();
                    misses.push(format!("ANSWERED {} [{}]\n       got:    {got}", q.question, q.episode));
                } else {
                    refused += 1;
                }
            }
        }
    }
    if std::env::args().any(|a| a == "--sweep") {
        sweep(&store, &config, &questions, &entries, &answerer);
    }
    for m in &misses {
        println!("{m}");
    }
    let pct = |a: usize, b: usize| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
    println!("set: {}", set.display());
    println!("hit@1    {hit1}/{answerable} ({:.0}%)", pct(hit1, answerable));
    println!("hit@3    {hit3}/{answerable} ({:.0}%)", pct(hit3, answerable));
    println!("refused  {refused}/{unanswerable} ({:.0}%)", pct(refused, unanswerable));
    println!("slowest answer {:.1} ms", slowest.as_secs_f64() * 1000.0);
}

/// Calibration: hit@3 and refusals for a range of `min_coverage` values, and where the passage
/// holding each answer ranks.
fn sweep(
    store: &Store,
    config: &Config,
    questions: &[Labelled],
    entries: &[(String, DigestEntry)],
    answerer: &QuoteAnswerer,
) {
    use podsift::ask::retrieve::{Query, passages};
    let thresholds = [0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6];
    let mut hits = vec![0; thresholds.len()];
    let mut refusals = vec![0; thresholds.len()];
    let mut ranks: Vec<Option<usize>> = Vec::new();
    for q in questions {
        let Some((_, entry)) = entries.iter().find(|(rel, _)| *rel == q.episode) else { continue };
        let ep = store.episode(&entry.episode_id).unwrap().unwrap();
        let tr = store.transcript(&entry.episode_id).unwrap().unwrap();
        let mut pool = passages(&ep, &tr, config.ask.passage_seconds);
        for p in &mut pool {
            p.mask(&entry.quote);
        }
        let mut speakers: Vec<String> = pool.iter().filter_map(|p| p.speaker().map(str::to_string)).collect();
        speakers.sort();
        speakers.dedup();
        let query = Query::new(&q.question, &speakers, (&entry.text, entry.start_seconds));
        let corpus = store.corpus_for(&query.stems()).unwrap();
        let ranked = ask::rank(&pool, &query, &corpus);
        let cov =
            ranked.iter().filter(|s| s.score > 0.0 && !s.passage.asks).take(3).map(|s| s.local).fold(0.0, f64::max);
        let mut line = format!("{:<5} cov {cov:.2} ", if q.answer.is_some() { "ANS" } else { "NULL" });
        if let Some(span) = &q.answer {
            let span = norm(span);
            let at = ranked.iter().position(|s| {
                norm(&s.passage.sentences.iter().map(|l| l.2.as_str()).collect::<Vec<_>>().join(" ")).contains(&span)
            });
            ranks.push(at);
            line.push_str(&format!("rank {at:?} "));
        }
        println!("{line}{}", q.question);
        if std::env::var("PODSIFT_BENCH_TOP").is_ok() {
            let t: Vec<String> = query.terms.iter().map(|t| format!("{}:{:.2}", t.root, corpus.idf(&t.stem))).collect();
            println!("      terms {t:?} needs {} counted {:?}", query.needs, query.counted);
            for s in ranked.iter().filter(|s| s.score > 0.0 && !s.passage.asks).take(3) {
                let text = s.passage.sentences.iter().map(|l| l.2.as_str()).collect::<Vec<_>>().join(" ");
                println!(
                    "      {:.2} local {:.2} [{}] {}",
                    s.score,
                    s.local,
                    s.passage.start(),
                    text.chars().take(300).collect::<String>()
                );
            }
        }
        for (k, th) in thresholds.iter().enumerate() {
            let covered = ask::is_covered(&pool, &query, &corpus, *th);
            let a = answerer.answer_now(&q.question, entry, &ranked, covered);
            match &q.answer {
                Some(span) => {
                    let span = norm(span);
                    hits[k] += usize::from(a.citations.iter().take(3).any(|c| norm(&c.text).contains(&span)));
                }
                None => refusals[k] += usize::from(!a.covered),
            }
        }
    }
    let within = |n: usize| ranks.iter().filter(|r| r.is_some_and(|r| r < n)).count();
    println!(
        "answer passage ranked first {}, in top 3 {}, top 5 {}, top 10 {}, of {}",
        within(1),
        within(3),
        within(5),
        within(10),
        ranks.len()
    );
    for (k, th) in thresholds.iter().enumerate() {
        println!("min_coverage {th:.2}: hit@3 {} refused {}", hits[k], refusals[k]);
    }
}
