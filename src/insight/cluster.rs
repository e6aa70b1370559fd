//! Near-duplicate clustering: the same point made in other words, across episodes and podcasts,
//! collapses into one cluster.
//!
//! Each candidate becomes a unit-length TF-IDF vector over its content terms (IDF over the day's
//! candidates). Candidates are only compared when they share a term (sparse-vector buckets, an
//! inverted index), each pair at most once, and buckets of very common terms are skipped: their
//! words cannot make two claims the same point on their own. The work so grows roughly linearly
//! with the number of candidates instead of quadratically. Pairs above the cosine threshold are
//! joined with union-find.

use std::collections::HashMap;

use super::terms::{Corpus, terms};

/// A bucket larger than this holds a term too common to identify a point; it is skipped.
const MAX_BUCKET: usize = 100;

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
            let mut tf: HashMap<&str, f64> = HashMap::new();
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
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    sum
}

/// Groups near-duplicates. `group[i]` says which source (episode) item i comes from: items of
/// one source are never joined directly, since one episode repeating itself is not corroboration.
/// Returns clusters as lists of indices, each sorted, in order of their first member.
pub fn cluster(vectors: &[Vector], group: &[&str], threshold: f32) -> Vec<Vec<usize>> {
    let n = vectors.len();
    let mut buckets: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, v) in vectors.iter().enumerate() {
        for (term, _) in v {
            buckets.entry(*term).or_default().push(i);
        }
    }
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
    for (a, v) in vectors.iter().enumerate() {
        for (term, _) in v {
            let members = &buckets[term];
            if members.len() > MAX_BUCKET {
                continue;
            }
            // Members are in index order: compare only with later ones, so each pair once.
            let later = members.partition_point(|&m| m <= a);
            for &b in &members[later..] {
                if seen[b] == a || group[a] == group[b] {
                    continue;
                }
                seen[b] = a;
                let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                if ra != rb && cosine(&vectors[a], &vectors[b]) >= threshold {
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
    fn one_episode_repeating_itself_is_not_a_cluster() {
        let texts = [
            "Caching at the edge cut p99 latency by forty percent.",
            "Caching at the edge cut p99 latency by forty percent.",
        ];
        let v = vectors(texts.iter().copied());
        assert_eq!(cluster(&v, &["same", "same"], 0.45).len(), 2);
        assert_eq!(cluster(&v, &["one", "two"], 0.45).len(), 1);
    }
}
