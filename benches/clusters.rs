//! Clustering quality at scale: candidates made from 1,200 real transcript sentences plus light
//! variants of them (1-3 words dropped, two words swapped, one or two words replaced by words
//! of other sentences), clustered by the digest's own `cluster::cluster` at the default
//! threshold. Prints for 1k, 10k and 50k candidates:
//!
//! - variants kept with their source: the share of variants in their source sentence's cluster;
//! - purity: the share of all candidates that belong to their cluster's majority source, and
//!   how many clusters fall under 0.95 (a cluster mixing unrelated sentences);
//! - the largest cluster and the time taken, so the growth in time can be compared per item.
//!
//! Sentences come from the Changelog transcripts in `PODSIFT_FIXTURES` (default
//! ../shared/fixtures/changelog beside the crate). A sentence is taken as a source only when it
//! has at least four content terms, as every candidate extraction offers does, and shares under
//! 30% of them (Jaccard) with every source taken before: the shows'
//! openings repeat nearly word for word across a hundred episodes ("On the show today we have
//! myself, Erik St. Martin..."), and joining those is right, not impure. Variants and their order are drawn from a
//! fixed seed, so every run measures the same input.
//!
//! Run: `cargo bench --bench clusters` (or `cargo test --release --bench clusters`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use podsift::config::DigestConfig;
use podsift::insight::terms::terms;
use podsift::insight::{cluster, sentences};
use podsift::model::TranscriptSource;

const SOURCES: usize = 1_200;

/// A small deterministic generator (an LCG), so the input is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            markdown_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "md") {
            out.push(p);
        }
    }
}

/// Up to `SOURCES` distinct sentences of 12-60 words, a few from each transcript in turn.
fn real_sentences(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    markdown_files(root, &mut files);
    let mut per_file: Vec<Vec<String>> = Vec::new();
    for f in files {
        let Ok(bytes) = std::fs::read(&f) else { continue };
        let Ok(segments) = podsift::ingest::transcript::parse(TranscriptSource::Text, &bytes) else { continue };
        let found: Vec<String> = sentences::split(&segments)
            .iter()
            .map(|s| s.text(&segments).to_string())
            .filter(|t| (12..=60).contains(&t.split_whitespace().count()))
            .collect();
        per_file.push(found);
    }
    let mut out = Vec::new();
    let mut taken: Vec<std::collections::BTreeSet<String>> = Vec::new();
    let distinct = |t: &std::collections::BTreeSet<String>, taken: &[std::collections::BTreeSet<String>]| {
        taken.iter().all(|o| {
            let shared = t.intersection(o).count();
            (shared as f64) < 0.3 * (t.len() + o.len() - shared).max(1) as f64
        })
    };
    // Spread over many transcripts rather than all from the first few.
    for i in 0.. {
        let mut any = false;
        for f in &per_file {
            if let Some(s) = f.get(i * 7) {
                any = true;
                let terms: std::collections::BTreeSet<String> = terms(s).into_iter().collect();
                // Extraction never offers a sentence of fewer than four content terms.
                if terms.len() >= 4 && distinct(&terms, &taken) {
                    taken.push(terms);
                    out.push(s.clone());
                }
                if out.len() == SOURCES {
                    return out;
                }
            }
        }
        if !any {
            break;
        }
    }
    out
}

/// A light variant: 1-3 words dropped, two swapped, or one or two replaced.
fn variant(source: &str, vocab: &[&str], rng: &mut Lcg) -> String {
    let mut words: Vec<&str> = source.split_whitespace().collect();
    match rng.next() % 3 {
        0 => {
            for _ in 0..1 + rng.next() % 3 {
                let at = rng.next() % words.len();
                words.remove(at);
            }
        }
        1 => {
            let (a, b) = (rng.next() % words.len(), rng.next() % words.len());
            words.swap(a, b);
        }
        _ => {
            for _ in 0..1 + rng.next() % 2 {
                let at = rng.next() % words.len();
                words[at] = vocab[rng.next() % vocab.len()];
            }
        }
    }
    words.join(" ")
}

fn main() {
    let root = std::env::var_os("PODSIFT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/changelog"));
    let sources = real_sentences(&root);
    if sources.len() < 100 {
        return println!(
            "clusters: only {} sentences found under {}; nothing to measure",
            sources.len(),
            root.display()
        );
    }
    let vocab: Vec<&str> = sources.iter().flat_map(|s| s.split_whitespace()).collect();
    let threshold = DigestConfig::default().cluster_threshold;
    println!("{} source sentences; threshold {threshold}", sources.len());
    println!(
        "{:>7} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9} {:>10}",
        "items", "sources", "variants", "kept", "purity", "impure", "largest", "µs/item"
    );
    for n in [1_000usize, 10_000, 50_000] {
        let mut rng = Lcg(7);
        let used = sources.len().min(n / 5);
        // (text, source index); sources first, then variants round-robin, then shuffled.
        let mut items: Vec<(String, usize)> = (0..used).map(|s| (sources[s].clone(), s)).collect();
        for i in 0..n - used {
            let s = i % used;
            items.push((variant(&sources[s], &vocab, &mut rng), s));
        }
        for i in (1..items.len()).rev() {
            let j = rng.next() % (i + 1);
            items.swap(i, j);
        }
        let groups: Vec<String> = (0..items.len()).map(|i| format!("ep{i}")).collect();
        let group_refs: Vec<&str> = groups.iter().map(String::as_str).collect();
        let started = Instant::now();
        let vectors = cluster::vectors(items.iter().map(|(t, _)| t.as_str()));
        let clusters = cluster::cluster(&vectors, &group_refs, threshold);
        let took = started.elapsed();
        let mut cluster_of = vec![0; items.len()];
        for (c, members) in clusters.iter().enumerate() {
            members.iter().for_each(|&m| cluster_of[m] = c);
        }
        // Where each source sentence itself ended up (its first copy, the unmodified one).
        let mut source_at: HashMap<usize, usize> = HashMap::new();
        for (i, (text, s)) in items.iter().enumerate() {
            if *text == sources[*s] {
                source_at.entry(*s).or_insert(i);
            }
        }
        let (mut variants, mut kept) = (0, 0);
        for (i, (text, s)) in items.iter().enumerate() {
            if *text != sources[*s] {
                variants += 1;
                if source_at.get(s).is_some_and(|&at| cluster_of[at] == cluster_of[i]) {
                    kept += 1;
                } else if std::env::var("CLUSTERS_VERBOSE").is_ok_and(|v| v == "2") && variants - kept <= 12 {
                    let at = source_at[s];
                    println!(
                        "apart (cosine {:.2}, cluster sizes {} / {}):\n  {}\n  {}",
                        cluster::cosine(&vectors[at], &vectors[i]),
                        clusters[cluster_of[at]].len(),
                        clusters[cluster_of[i]].len(),
                        sources[*s],
                        text
                    );
                }
            }
        }
        let (mut majority_total, mut impure) = (0, 0);
        for members in &clusters {
            let mut count: HashMap<usize, usize> = HashMap::new();
            for &m in members {
                *count.entry(items[m].1).or_default() += 1;
            }
            let majority = count.values().copied().max().unwrap_or(0);
            majority_total += majority;
            if (majority as f64) < 0.95 * members.len() as f64 {
                impure += 1;
                if std::env::var("CLUSTERS_VERBOSE").is_ok_and(|v| v == "1") && impure <= 6 {
                    println!("impure cluster of {}:", members.len());
                    let mut shown = std::collections::HashSet::new();
                    for &m in members {
                        if shown.insert(items[m].1) {
                            println!("  [{}] {}", items[m].1, items[m].0);
                        }
                    }
                }
            }
        }
        let largest = clusters.iter().map(Vec::len).max().unwrap_or(0);
        println!(
            "{:>7} {:>9} {:>9} {:>8.2}% {:>8.4} {:>8} {:>9} {:>10.1}",
            n,
            used,
            variants,
            100.0 * kept as f64 / variants.max(1) as f64,
            majority_total as f64 / items.len() as f64,
            impure,
            largest,
            took.as_micros() as f64 / n as f64
        );
    }
}
