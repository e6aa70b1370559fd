//! Plain-text rendering of digests and answers, for the terminal and the console adapter.

pub use crate::model::cut;
use crate::model::{Digest, DigestEntry};

/// Whether an entry's verbatim quote says anything its text does not: not when the text is the
/// quote itself with its disfluencies cleaned (as the offline engine writes it). Every renderer
/// asks this, so no platform shows the same words twice.
pub fn quote_adds(e: &DigestEntry) -> bool {
    !e.quote.trim().is_empty() && crate::insight::sentences::clean(&e.quote) != e.text
}

/// The digest as numbered entries: insight, source line, quote, and where else it was said.
/// `size` is how many were asked for, so a short digest says so.
pub fn digest(d: &Digest, size: usize) -> String {
    let mut s = String::new();
    let shown = d.insights.len();
    if shown == 0 {
        s.push_str(&format!(
            "podsift digest for {}: no insights (no episode with a transcript was published in its window)\n",
            d.date
        ));
        return s;
    }
    s.push_str(&format!(
        "podsift digest for {}: top {shown} from {} candidate insight(s) in {} episode(s)\n",
        d.date, d.candidates, d.episodes
    ));
    for e in &d.insights {
        s.push('\n');
        s.push_str(&entry(e));
    }
    if shown < size {
        s.push_str(&format!("\nOnly {shown} distinct insight(s) for {}.\n", d.date));
    }
    s
}

/// One numbered entry: the insight, podcast, episode, speaker, timestamp link, the verbatim
/// quote when it says more than the text, and where else the point was made. Ends with a newline.
pub fn entry(e: &DigestEntry) -> String {
    let speaker = e.speaker.as_deref().map(|x| format!(" · {x}")).unwrap_or_default();
    let mut s = format!("#{}  {}\n    {} — {}{speaker} · {}", e.rank, e.text, e.podcast, e.episode, e.moment());
    if let Some(link) = &e.link {
        s.push_str(&format!("  {link}"));
    }
    s.push('\n');
    // The offline engine's text is the quote cleaned: showing both would say it twice.
    if quote_adds(e) {
        s.push_str(&format!("    \"{}\"\n", e.quote));
    }
    if !e.also_in.is_empty() {
        let podcasts: std::collections::BTreeSet<&str> = e.also_in.iter().map(|a| a.podcast.as_str()).collect();
        let others: Vec<String> =
            e.also_in.iter().map(|a| format!("{} — {} ({})", a.podcast, a.episode, a.moment())).collect();
        // "podcast" only when every other mention is on a different show.
        let what = if podcasts.len() == e.also_in.len() && !podcasts.contains(e.podcast.as_str()) {
            "podcast"
        } else {
            "episode"
        };
        s.push_str(&format!("    also on {} other {what}(s): {}\n", e.also_in.len(), others.join("; ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_entry(text: &str, quote: &str) -> DigestEntry {
        DigestEntry { quote: quote.into(), ..DigestEntry::example("a", "e", "P", text) }
    }

    #[test]
    fn a_quote_is_shown_only_when_it_says_more_than_the_text() {
        let quote = "So, um, the the cache cut latency by half.";
        let cleaned = digest_entry(&crate::insight::sentences::clean(quote), quote);
        assert!(!quote_adds(&cleaned));
        assert_eq!(entry_text(&cleaned).matches("latency").count(), 1, "{}", entry_text(&cleaned));
        let paraphrase = digest_entry("Edge caching halved latency.", quote);
        assert!(quote_adds(&paraphrase));
        assert!(entry_text(&paraphrase).contains(&format!("\"{quote}\"")));
    }

    #[test]
    fn a_quote_from_the_show_notes_says_so_instead_of_a_time() {
        let e = DigestEntry {
            untimed: true,
            link: Some("https://x.example/ep".into()),
            ..DigestEntry::example("a", "e", "P", "Caching halves latency.")
        };
        let shown = entry_text(&e);
        assert!(shown.contains("P — P #1 · show notes  https://x.example/ep\n"), "{shown}");
        assert!(!shown.contains("00:00"), "{shown}");
    }

    fn entry_text(e: &DigestEntry) -> String {
        super::entry(e)
    }
}
