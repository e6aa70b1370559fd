//! Words that say the same thing in other words ("cost" and "price", "computers" and
//! "machines"), so a question can find an answer that does not repeat its words.
//!
//! The table (`related-words.txt`, one word a line followed by its neighbours and their
//! cosine) was made once by `benches/related_words.py`: every common lower-case word of a
//! thousand podcast transcripts embedded alone with all-MiniLM-L6-v2, its nearest neighbours
//! at cosine 0.65 or more kept (0.62 to 0.65 measure the same on the answers benchmark, 0.68
//! one answer fewer). Words mostly written with a capital (names, places, days) were
//! left out: a neighbour of "Germany" is another country, not the same answer. Neighbours that
//! share a root with their word are dropped here; search already joins them.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::retrieve::search_terms;

const TABLE: &str = include_str!("related-words.txt");

/// A related root and how close it is (cosine of the two words' embeddings).
pub type Related = (String, f64);

/// The roots related to `root`, closest first; empty for a word the table does not know.
pub fn related(root: &str) -> &'static [Related] {
    static TABLE_BY_ROOT: OnceLock<HashMap<String, Vec<Related>>> = OnceLock::new();
    TABLE_BY_ROOT.get_or_init(|| parse(TABLE)).get(root).map(Vec::as_slice).unwrap_or(&[])
}

/// Whether `root` is a common English word: one of the table's, or a neighbour of one. A word
/// of a question that is none of these and is never said in the episode is likely misspelt.
pub fn known(root: &str) -> bool {
    static KNOWN: OnceLock<std::collections::HashSet<String>> = OnceLock::new();
    KNOWN
        .get_or_init(|| {
            let mut all = std::collections::HashSet::new();
            for line in TABLE.lines() {
                for word in line.split(['\t', ' ']).map(|w| w.split(':').next().unwrap_or(w)) {
                    all.extend(search_terms(word));
                }
            }
            all
        })
        .contains(root)
}

fn parse(table: &str) -> HashMap<String, Vec<Related>> {
    let mut out: HashMap<String, Vec<Related>> = HashMap::new();
    for line in table.lines() {
        let Some((word, rest)) = line.split_once('\t') else { continue };
        let Some(from) = one_root(word) else { continue };
        for item in rest.split_whitespace() {
            let Some((other, sim)) = item.rsplit_once(':') else { continue };
            let Ok(sim) = sim.parse::<f64>() else { continue };
            let Some(to) = one_root(other) else { continue };
            if to == from {
                continue;
            }
            let list = out.entry(from.clone()).or_default();
            match list.iter_mut().find(|(r, _)| *r == to) {
                Some(known) => known.1 = known.1.max(sim),
                None => list.push((to, sim)),
            }
        }
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    }
    out
}

fn one_root(word: &str) -> Option<String> {
    let mut roots = search_terms(word);
    if roots.len() == 1 { roots.pop() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_words_for_the_same_thing() {
        let price = related(&search_terms("cost")[0]);
        assert!(price.iter().any(|(r, _)| *r == search_terms("price")[0]), "{price:?}");
        let machines = related(&search_terms("computers")[0]);
        assert!(machines.iter().any(|(r, _)| *r == search_terms("machines")[0]), "{machines:?}");
        // Forms of one word are one root already, and names are not in the table.
        assert!(price.iter().all(|(r, _)| *r != search_terms("costs")[0]));
        assert!(related(&search_terms("germany")[0]).is_empty());
        assert!(related("no-such-word").is_empty());
    }

    #[test]
    fn a_table_line_that_is_not_understood_is_skipped() {
        let t = parse("cost\tprice:0.74 junk nothing:x\nbroken line\n\tprice:0.9\n");
        assert_eq!(t.len(), 1);
        assert_eq!(t[&search_terms("cost")[0]].len(), 1);
    }
}
