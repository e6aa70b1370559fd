//! Insight engine speed: extraction of one hour of transcript, clustering 1k / 10k / 50k
//! candidates (growth should be roughly linear), and answering a question over a store of
//! 1,000 episodes.

use chrono::Utc;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use podsift::ask::{self, QuoteAnswerer};
use podsift::config::AskConfig;
use podsift::ingest::transcript;
use podsift::insight::cluster;
use podsift::insight::extract::OfflineExtractor;
use podsift::insight::sentences;
use podsift::insight::terms::{self, Corpus};
use podsift::model::{DigestEntry, Episode, Transcript, TranscriptSource};
use podsift::store::Store;

fn demo_transcripts() -> Vec<Transcript> {
    podsift::demo::TRANSCRIPTS
        .iter()
        .map(|(name, text)| Transcript {
            episode_id: name.to_string(),
            source: TranscriptSource::Text,
            url: None,
            fetched_at: Utc::now(),
            segments: transcript::parse(TranscriptSource::Text, text.as_bytes()).unwrap(),
        })
        .collect()
}

fn episode(id: &str) -> Episode {
    let mut e = Episode::new(id, "bench", id, Utc::now());
    e.podcast_title = Some("Bench".into());
    e.link = Some("https://example.com/e".into());
    e.published = Some(e.first_seen_at);
    e
}

fn doc_terms(t: &Transcript) -> Vec<String> {
    let mut v: Vec<String> = t.segments.iter().flat_map(|s| terms::terms(&s.text)).collect();
    v.sort();
    v.dedup();
    v
}

fn extraction(c: &mut Criterion) {
    let transcripts = demo_transcripts();
    let mut corpus = Corpus::default();
    for t in &transcripts {
        corpus.add(&doc_terms(t));
    }
    let hour = transcripts.iter().find(|t| t.episode_id == "go-time-100.md").unwrap();
    let ep = episode("go-time-100");
    let ex = OfflineExtractor { config: Default::default() };
    c.bench_function("extract_one_hour", |b| b.iter(|| ex.extract_now(&ep, hour, &corpus)));
}

/// `n` candidate texts: real sentences of the demo transcripts, varied past the first pass with
/// words from elsewhere so every text is distinct (a fixed linear congruential generator).
fn candidate_texts(n: usize) -> Vec<String> {
    let transcripts = demo_transcripts();
    let mut pool = Vec::new();
    for t in &transcripts {
        for s in sentences::split(&t.segments) {
            let text = s.text(&t.segments);
            let words = text.split_whitespace().count();
            if (12..=60).contains(&words) {
                pool.push(text.to_string());
            }
        }
    }
    let vocab: Vec<&str> = pool.iter().flat_map(|s| s.split_whitespace()).collect();
    let mut seed: u64 = 42;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    (0..n)
        .map(|i| {
            let base = &pool[i % pool.len()];
            if i < pool.len() {
                return base.clone();
            }
            let mut words: Vec<&str> = base.split_whitespace().collect();
            for _ in 0..4 {
                let at = next() % words.len();
                words[at] = vocab[next() % vocab.len()];
            }
            words.join(" ")
        })
        .collect()
}

fn clustering(c: &mut Criterion) {
    let mut g = c.benchmark_group("cluster");
    g.sample_size(10);
    for n in [1_000usize, 10_000, 50_000] {
        let texts = candidate_texts(n);
        let groups: Vec<String> = (0..n).map(|i| format!("ep{}", i / 8)).collect();
        let group_refs: Vec<&str> = groups.iter().map(String::as_str).collect();
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let v = cluster::vectors(texts.iter().map(String::as_str));
                cluster::cluster(&v, &group_refs, 0.4)
            })
        });
    }
    g.finish();
}

fn answering(c: &mut Criterion) {
    let transcripts = demo_transcripts();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let terms_of: Vec<Vec<String>> = transcripts.iter().map(doc_terms).collect();
    for i in 0..1000 {
        let t = &transcripts[i % transcripts.len()];
        let mut ep = episode(&format!("ep{i:04}"));
        let mut tr = t.clone();
        tr.episode_id = ep.id.clone();
        store.put_episode(&ep).unwrap();
        store.put_transcript(&ep, &tr).unwrap();
        ep.insights_extracted = true;
        store.put_insights(&ep, &[], Some(&terms_of[i % transcripts.len()])).unwrap();
    }
    store.flush().unwrap();
    let go = transcripts.iter().position(|t| t.episode_id == "go-time-100.md").unwrap();
    let entry = DigestEntry {
        rank: 1,
        id: "x".into(),
        episode_id: format!("ep{go:04}"),
        text: "Go has actually had four content management systems.".into(),
        quote: String::new(),
        podcast: "Go Time".into(),
        episode: "Go Time #100".into(),
        episode_url: None,
        speaker: Some("Rob Pike".into()),
        start_seconds: 0.0,
        untimed: false,
        link: None,
        score: 1.0,
        also_in: vec![],
    };
    let cfg = AskConfig::default();
    let answerer = QuoteAnswerer { max_citations: 3 };
    // The offline answerer never waits, so a current-thread runtime adds next to nothing.
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    c.bench_function("ask_store_of_1000_episodes", |b| {
        b.iter(|| {
            rt.block_on(ask::ask(
                &store,
                &cfg,
                &entry,
                "Which content management systems did Go use before Git?",
                &answerer,
                &[],
            ))
            .unwrap()
        })
    });
}

criterion_group!(benches, extraction, clustering, answering);
criterion_main!(benches);
