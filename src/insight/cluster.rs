//! Near-duplicate clustering: the same point made in other words, across episodes and podcasts,
//! collapses into one cluster.
//!
//! Each candidate becomes a unit-length TF-IDF vector over its content terms (IDF over the day's
//! candidates). Candidates are only compared when MinHash LSH says their term sets overlap
//! enough to be worth it (they share one of 40 bands of three min-hashes: a pair overlapping by
//! half almost surely does, one sharing a fifth of its terms rarely), each pair at most once, so
//! the work grows about linearly with the number of candidates. Pairs above the cosine threshold
//! that share at least two terms are joined with union-find when their clusters' first members
//! are alike too: plain single links chained thousands of distinct candidates into one cluster
//! at 10k, and one rare shared word (a name) made short sentences look alike.

use std::collections::HashMap;

use super::terms::{Corpus, stem, terms};

/// In a bucket larger than this, each member is compared only with the bucket's first
/// [`ANCHORS`] members: the work stays linear however many near-copies one text has.
const MAX_BUCKET: usize = 100;
const ANCHORS: usize = 20;
/// Min-hashes per band...
const MINHASH_ROWS: usize = 3;
/// ...and bands: P(share a band) = 1 - (1 - J^3)^40 for term-set overlap (Jaccard) J: 0.995 at
/// J = 0.5, 0.66 at 0.3, 0.27 at 0.2.
const MINHASH_BANDS: usize = 40;

/// A sparse unit vector: (term id, weight) sorted by term id.
pub type Vector = Vec<(u32, f32)>;

/// Turns texts into TF-IDF vectors over a shared vocabulary.
pub fn vectors<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<Vector> {
    let docs: Vec<Vec<String>> = texts.into_iter().map(terms).collect();
    let mut corpus = Corpus::default();
    for d in &docs {
        corpus.add(d);
    }
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let idf: HashMap<&str, f64> = corpus.df.keys().map(|t| (t.as_str(), corpus.idf(t))).collect();
    docs.iter()
        .map(|d| {
            // Sorted, so term ids and float sums come out the same on every run.
            let mut tf: std::collections::BTreeMap<&str, f64> = std::collections::BTreeMap::new();
            for t in d {
                *tf.entry(t.as_str()).or_default() += 1.0;
            }
            let mut v: Vector = tf
                .into_iter()
                .map(|(t, n)| {
                    let next = ids.len() as u32;
                    let id = *ids.entry(t).or_insert(next);
                    (id, (n * idf.get(t).copied().unwrap_or(1.0)) as f32)
                })
                .collect();
            let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
            if norm > 0.0 {
                v.iter_mut().for_each(|(_, w)| *w /= norm);
            }
            v.sort_by_key(|(id, _)| *id);
            v
        })
        .collect()
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &Vector, b: &Vector) -> f32 {
    overlap(a, b).0
}

/// One walk over two sorted sparse vectors: their dot product and how many terms they share.
fn overlap(a: &Vector, b: &Vector) -> (f32, usize) {
    let (mut i, mut j, mut sum, mut shared) = (0, 0, 0.0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[j].1;
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    (sum, shared)
}

/// Groups near-duplicates. `group[i]` says which source (episode) item i comes from: items of
/// one source are never joined directly, since one episode repeating itself is not corroboration.
/// Returns clusters as lists of indices, each sorted, in order of their first member.
pub fn cluster(vectors: &[Vector], group: &[&str], threshold: f32) -> Vec<Vec<usize>> {
    let bands: Vec<Vec<u64>> = vectors.iter().map(minhash_bands).collect();
    let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, keys) in bands.iter().enumerate() {
        for key in keys {
            buckets.entry(*key).or_default().push(i);
        }
    }
    join_similar(
        vectors.len(),
        group,
        &buckets,
        |i| bands[i].clone(),
        |a, b| {
            let (va, vb) = (&vectors[a], &vectors[b]);
            let (cos, shared) = overlap(va, vb);
            cos >= threshold && shared >= 2.min(va.len()).min(vb.len())
        },
    )
}

/// The LSH band keys of a term set: each band hashes [`MINHASH_ROWS`] min-hashes (fixed
/// multiply-xorshift hash functions, so the same input always gives the same keys).
fn minhash_bands(v: &Vector) -> Vec<u64> {
    if v.is_empty() {
        return Vec::new();
    }
    let mix = |mut x: u64| {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    };
    (0..MINHASH_BANDS)
        .map(|band| {
            let mut key = mix(band as u64 + 1);
            for row in 0..MINHASH_ROWS {
                let salt = mix(((band * MINHASH_ROWS + row) as u64) << 32 | 0x5bd1);
                let min = v.iter().map(|(term, _)| mix(*term as u64 ^ salt)).min().unwrap_or(0);
                key = mix(key ^ min);
            }
            key
        })
        .collect()
}

/// Bits of each SimHash band; a pair shares a band when all its bits agree...
const BAND_BITS: u32 = 6;
/// ...and bands of the signature. Two vectors at angle θ agree on a bit with p = 1 - θ/π, so
/// they share a band with 1 - (1 - p^6)^16: 0.99 at cosine 0.78 (the measured default
/// threshold) and 0.999 at 0.85, where 12 bands of 8 bits gave 0.84 and 0.94.
const BANDS: u32 = 16;

/// The same grouping for dense embeddings (unit or not): random-hyperplane LSH (SimHash) puts
/// vectors that point the same way into shared buckets, and only bucket-mates are compared.
pub fn cluster_dense(vectors: &[Vec<f32>], group: &[&str], threshold: f32) -> Vec<Vec<usize>> {
    let dims = vectors.iter().map(Vec::len).max().unwrap_or(0);
    // Fixed hyperplanes (a small LCG), so the same input always clusters the same way.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    let planes: Vec<Vec<f32>> = (0..BANDS * BAND_BITS).map(|_| (0..dims).map(|_| next()).collect()).collect();
    let signature = |v: &[f32]| -> Vec<u64> {
        (0..BANDS)
            .map(|band| {
                let mut bits = 0u32;
                for b in 0..BAND_BITS {
                    let plane = &planes[(band * BAND_BITS + b) as usize];
                    let dot: f32 = v.iter().zip(plane).map(|(x, p)| x * p).sum();
                    bits = bits << 1 | (dot >= 0.0) as u32;
                }
                (band << BAND_BITS | bits) as u64
            })
            .collect()
    };
    let signatures: Vec<Vec<u64>> = vectors.iter().map(|v| signature(v)).collect();
    let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, sig) in signatures.iter().enumerate() {
        for key in sig {
            buckets.entry(*key).or_default().push(i);
        }
    }
    let dense_cosine = |a: &[f32], b: &[f32]| {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
        if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na * nb) }
    };
    join_similar(
        vectors.len(),
        group,
        &buckets,
        |i| signatures[i].clone(),
        |a, b| dense_cosine(&vectors[a], &vectors[b]) >= threshold,
    )
}

/// Union-find over the pairs that share a bucket and pass `similar`, joined only when the roots
/// of their clusters (each cluster's first member) pass it too, so every member is at most a few
/// links from its root. Items of one group are never joined directly; in buckets over
/// MAX_BUCKET only the first ANCHORS members are compared with the rest; each pair is compared
/// once.
fn join_similar(
    n: usize,
    group: &[&str],
    buckets: &HashMap<u64, Vec<usize>>,
    keys: impl Fn(usize) -> Vec<u64>,
    similar: impl Fn(usize, usize) -> bool,
) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    // `seen[j] == i` marks j as already compared with i.
    let mut seen = vec![usize::MAX; n];
    for a in 0..n {
        for key in keys(a) {
            let members = &buckets[&key];
            // Members are in index order: compare only with later ones, so each pair once. In a
            // crowded bucket, the anchors meet everyone and everyone else only the anchors.
            let later = members.partition_point(|&m| m <= a);
            let crowded = members.len() > MAX_BUCKET;
            let others: &[usize] = match (crowded, later <= ANCHORS) {
                (false, _) | (true, true) => &members[later..],
                (true, false) => &members[..ANCHORS],
            };
            for &b in others {
                if seen[b] == a || group[a] == group[b] {
                    continue;
                }
                seen[b] = a;
                let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                // The two clusters' first members must be alike too: single links alone chain
                // distinct points into one giant cluster once there are thousands of candidates.
                if ra != rb
                    && similar(a, b)
                    && (ra == a || similar(ra, b))
                    && (rb == b || similar(a, rb))
                    && (ra == a || rb == b || similar(ra, rb))
                {
                    parent[ra.max(rb)] = ra.min(rb);
                }
            }
        }
    }
    let mut clusters: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let root = find(&mut parent, i);
        clusters.entry(root).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = clusters.into_values().collect();
    out.sort_by_key(|c| c[0]);
    out
}

/// Content words of speech on any subject: sharing them says nothing about making one point.
const GENERIC: &[&str] = &[
    "people",
    "person",
    "time",
    "times",
    "work",
    "works",
    "working",
    "need",
    "needs",
    "use",
    "used",
    "using",
    "want",
    "good",
    "great",
    "better",
    "best",
    "new",
    "old",
    "first",
    "last",
    "year",
    "years",
    "day",
    "days",
    "able",
    "different",
    "everyone",
    "everybody",
    "everything",
    "someone",
    "somebody",
    "anything",
    "nothing",
    "whole",
    "big",
    "little",
    "start",
    "started",
    "come",
    "comes",
    "came",
    "look",
    "looking",
    "find",
    "put",
    "take",
    "give",
    "thought",
    "idea",
    "part",
    "point",
    "place",
    "world",
    "team",
    "teams",
    "company",
    "companies",
    "build",
    "building",
    "built",
    "help",
    "run",
    "running",
    "try",
    "trying",
    "feel",
    "sense",
    "case",
    "problem",
    "question",
    "example",
    "whatever",
];

/// Content terms that share at least this many...
const SAME_POINT_TERMS: usize = 3;
/// ...making up at least this share of the shorter text's terms.
const SAME_POINT_SHARE: f64 = 0.25;

/// Whether two texts make the same point in their own words: they share several content terms
/// (stemmed, stop words out), and those are a good part of the shorter text. Looser than the
/// clusters' cosine, whose weights fall exactly on the words many podcasts share when they make
/// one point; so only used to keep a point from taking a second slot, never to credit a source.
pub fn same_point(a: &str, b: &str) -> bool {
    let generic: std::collections::BTreeSet<String> = GENERIC.iter().map(|w| stem(w)).collect();
    let content = |text: &str| -> std::collections::BTreeSet<String> {
        terms(text).into_iter().filter(|t| !generic.contains(t)).collect()
    };
    let (a, b) = (content(a), content(b));
    let shared = a.intersection(&b).count();
    let shorter = a.len().min(b.len()).max(1);
    shared >= SAME_POINT_TERMS && shared as f64 >= SAME_POINT_SHARE * shorter as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paraphrases_cluster_and_distinct_claims_do_not() {
        let texts = [
            "Caching at the edge cut our p99 latency by forty percent last quarter.",
            "We saw p99 latency drop forty percent once we started caching at the edge.",
            "Rust's borrow checker catches data races at compile time, before they ship.",
            "The outage came from a bad config push to every region at once.",
            "A bad config push that went to every region at once caused the whole outage.",
        ];
        let v = vectors(texts.iter().copied());
        let groups = ["a", "b", "c", "d", "e"];
        let c = cluster(&v, &groups, 0.4);
        assert_eq!(c, vec![vec![0, 1], vec![2], vec![3, 4]]);
        assert!(cosine(&v[0], &v[2]) < 0.1 && cosine(&v[0], &v[3]) < 0.1);
    }

    #[test]
    fn dense_embeddings_cluster_by_direction() {
        // Two near-duplicates pointing one way, one pointing elsewhere, one close but below 0.9.
        let v = vec![
            vec![1.0, 0.1, 0.0, 0.0],
            vec![0.95, 0.12, 0.02, 0.0],
            vec![0.0, 0.0, 1.0, 0.1],
            vec![0.6, 0.0, 0.8, 0.0],
        ];
        let c = cluster_dense(&v, &["a", "b", "c", "d"], 0.9);
        assert_eq!(c, vec![vec![0, 1], vec![2], vec![3]]);
        assert_eq!(cluster_dense(&v[..2], &["same", "same"], 0.9).len(), 2);
    }

    #[test]
    fn a_chain_of_small_steps_does_not_make_one_giant_cluster() {
        // Each text shares four of five words with the next; the first and last share none.
        let words = ["kernel", "scheduler", "latency", "budget", "tracing", "sampling", "storage", "quota", "billing"];
        let texts: Vec<String> = (0..5).map(|i| words[i..i + 5].join(" ")).collect();
        let v = vectors(texts.iter().map(String::as_str));
        let groups = ["a", "b", "c", "d", "e"];
        let c = cluster(&v, &groups, 0.4);
        assert!(cosine(&v[0], &v[1]) >= 0.4 && cosine(&v[3], &v[4]) >= 0.4);
        let first = c.iter().find(|m| m.contains(&0)).unwrap();
        assert!(first.contains(&1) && !first.contains(&4), "{c:?}");
    }

    #[test]
    fn the_same_point_in_other_words_is_recognised_and_a_shared_subject_is_not() {
        let a = "Shipping small changes many times a day is far safer than one big quarterly release.";
        let b = "Deploy often and deploy small; the bigger the batch of changes in a release, the riskier it gets.";
        let c = "Deploy previews let designers review a change in the browser before anyone merges it.";
        assert!(same_point(a, b));
        assert!(!same_point(b, c));
        // Generic words of speech do not make two claims one point.
        assert!(!same_point(
            "People need time to work out what good tooling looks like for the whole team.",
            "Most people on the team need more time to build anything good at work."
        ));
    }

    #[test]
    fn one_episode_repeating_itself_is_not_a_cluster() {
        let texts = [
            "Caching at the edge cut p99 latency by forty percent.",
            "Caching at the edge cut p99 latency by forty percent.",
        ];
        let v = vectors(texts.iter().copied());
        assert_eq!(cluster(&v, &["same", "same"], 0.45).len(), 2);
        assert_eq!(cluster(&v, &["one", "two"], 0.45).len(), 1);
    }

    #[test]
    fn one_rare_shared_name_does_not_make_two_sentences_one_point() {
        let texts = [
            "Cockroach is here, that's me; Adam is here, that's you, Adam.",
            "I get to be this and then that Adam, with contacts in.",
        ];
        let v = vectors(texts.iter().copied());
        assert_eq!(cluster(&v, &["a", "b"], 0.4).len(), 2);
    }

    #[test]
    fn hundreds_of_copies_of_one_point_still_form_one_cluster() {
        // Every band bucket is crowded: the anchors still meet every copy.
        let texts: Vec<String> = (0..300)
            .map(|_| "Columnar storage made analytics queries twelve times faster than rows.".to_string())
            .collect();
        let v = vectors(texts.iter().map(String::as_str));
        let groups: Vec<String> = (0..300).map(|i| format!("ep{i}")).collect();
        let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
        let c = cluster(&v, &refs, 0.4);
        assert_eq!(c.len(), 1, "{} clusters", c.len());
    }

    #[test]
    fn dense_pairs_at_the_default_threshold_are_found() {
        // 200 pairs in 64 dimensions, each second vector at cosine ~0.8 from the first, every
        // pair far from the others: each must end as one cluster of two.
        let mut seed: u64 = 11;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let (mut vectors, mut groups) = (Vec::new(), Vec::new());
        for i in 0..200 {
            let mut a = vec![0.0f32; 64];
            a[i % 64] = 1.0;
            a[(i / 64 + 7 * i) % 64] += 0.9;
            let noise: Vec<f32> = (0..64).map(|_| next()).collect();
            let b: Vec<f32> = a.iter().zip(&noise).map(|(x, n)| x + 0.45 * n).collect();
            vectors.push(a);
            vectors.push(b);
            groups.push(format!("a{i}"));
            groups.push(format!("b{i}"));
        }
        let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
        let clusters = cluster_dense(&vectors, &refs, 0.78);
        let dense_cosine = |a: &[f32], b: &[f32]| {
            let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            dot / (a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt())
        };
        let pairs_above = (0..200).filter(|i| dense_cosine(&vectors[2 * i], &vectors[2 * i + 1]) >= 0.78).count();
        let joined =
            (0..200).filter(|i| clusters.iter().any(|c| c.contains(&(2 * i)) && c.contains(&(2 * i + 1)))).count();
        assert!(pairs_above >= 100, "the test's pairs: only {pairs_above} above 0.78");
        assert!(joined as f64 >= 0.97 * pairs_above as f64, "{joined} of {pairs_above} pairs above 0.78 joined");
    }
}
