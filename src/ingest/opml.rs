//! OPML import and export: the format podcast apps use to move subscription lists around.

use quick_xml::escape::escape;
use quick_xml::events::Event;

use super::transcript::html::decode_entities;
use crate::model::Feed;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OpmlError {
    #[error("not a valid OPML file: {0}")]
    Invalid(String),
    #[error("the OPML file lists no feeds (no <outline xmlUrl=\"...\"> elements)")]
    NoFeeds,
}

/// One feed listed in an OPML file.
#[derive(Debug, Clone, PartialEq)]
pub struct OpmlFeed {
    pub url: String,
    pub title: Option<String>,
}

/// Reads every `<outline xmlUrl=...>`, at any depth (apps nest them in folders).
pub fn parse(text: &str) -> Result<Vec<OpmlFeed>, OpmlError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = Vec::new();
    // Duplicates are found through a set: scanning the list for each outline is quadratic.
    let mut seen = std::collections::HashSet::new();
    let mut saw_opml = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let name = e.name();
                if name.as_ref().eq_ignore_ascii_case(b"opml") {
                    saw_opml = true;
                }
                if !name.as_ref().eq_ignore_ascii_case(b"outline") {
                    continue;
                }
                let mut url = None;
                let mut title = None;
                for a in e.attributes().with_checks(false).flatten() {
                    // Only the attributes read are decoded, and leniently: exporters write a bare
                    // `&` in addresses (`htmlUrl="...?a=1&b=2"`), which strict XML refuses, and
                    // one such attribute must not lose the whole list.
                    let value = || match a.unescape_value() {
                        Ok(v) => v.trim().to_string(),
                        Err(_) => decode_entities(String::from_utf8_lossy(&a.value).trim()),
                    };
                    match a.key.as_ref().to_ascii_lowercase().as_slice() {
                        b"xmlurl" => url = Some(value()),
                        b"title" => title = Some(value()),
                        b"text" if title.is_none() => title = Some(value()),
                        _ => {}
                    }
                }
                if let Some(url) = url.filter(|u| !u.is_empty()) {
                    if seen.insert(url.clone()) {
                        out.push(OpmlFeed { url, title: title.filter(|t| !t.is_empty()) });
                    }
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(OpmlError::Invalid(format!("at byte {}: {e}", reader.error_position())));
            }
        }
    }
    if !saw_opml {
        return Err(OpmlError::Invalid("no <opml> element".into()));
    }
    if out.is_empty() {
        return Err(OpmlError::NoFeeds);
    }
    Ok(out)
}

/// Writes the feeds as an OPML 2.0 document.
pub fn export(feeds: &[Feed]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n    <title>podsift feeds</title>\n  </head>\n  <body>\n",
    );
    for f in feeds {
        let title = f.title.as_deref().unwrap_or(&f.url);
        s.push_str(&format!(
            "    <outline type=\"rss\" text=\"{}\" title=\"{}\" xmlUrl=\"{}\"/>\n",
            escape(title),
            escape(title),
            escape(f.url.as_str())
        ));
    }
    s.push_str("  </body>\n</opml>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_nesting_and_escaping() {
        let mut a = Feed::new("https://a.example/feed?x=1&y=2", chrono::Utc::now());
        a.title = Some("A & \"B\"".into());
        let b = Feed::new("https://b.example/rss", chrono::Utc::now());
        let text = export(&[a, b]);
        let feeds = parse(&text).unwrap();
        assert_eq!(feeds.len(), 2);
        assert_eq!(feeds[0].url, "https://a.example/feed?x=1&y=2");
        assert_eq!(feeds[0].title.as_deref(), Some("A & \"B\""));
        let nested = r#"<opml version="1.0"><body><outline text="Tech"><outline text="Go" xmlUrl="https://go.example/rss"/></outline></body></opml>"#;
        assert_eq!(parse(nested).unwrap()[0].url, "https://go.example/rss");
        // A bare `&` (not XML, but what exporters write) in any attribute loses nothing.
        let sloppy = r#"<opml version="2.0"><body><outline text="Q&A Show" htmlUrl="https://q.example/?a=1&b=2" xmlUrl="https://q.example/rss?id=1&fmt=rss"/><outline text="Go" xmlUrl="https://go.example/rss"/></body></opml>"#;
        let feeds = parse(sloppy).unwrap();
        assert_eq!(feeds.len(), 2);
        assert_eq!(feeds[0].url, "https://q.example/rss?id=1&fmt=rss");
        assert_eq!(feeds[0].title.as_deref(), Some("Q&A Show"));
    }

    #[test]
    fn errors_are_clear() {
        assert_eq!(parse("<opml><body/></opml>"), Err(OpmlError::NoFeeds));
        assert!(matches!(parse("<html></html>"), Err(OpmlError::Invalid(_))));
    }
}
