//! Feed parsing: feed-rs first, plus a lenient quick-xml pass for what feed-rs loses or refuses.
//!
//! feed-rs reads RSS, Atom and JSON Feed well, but drops `itunes:duration` precision, the
//! transcript's `language`, `podcast:chapters` and `podcast:person` names, and rejects broken
//! documents outright (a missing `<channel>`, an undeclared `podcast:` prefix). The lenient pass
//! reads raw element names without namespace checks, so it recovers those fields and, when
//! feed-rs fails, the episodes themselves. A feed gives its episodes or a clear error, never a
//! panic and never a silent zero.

use chrono::{DateTime, Utc};
use quick_xml::events::{BytesStart, Event};

use super::transcript::html::{decode_entities, html_to_text};
use crate::model::{Person, TranscriptLink};

/// Show notes longer than this are cut (they are a fallback, not the transcript).
pub const MAX_SHOW_NOTES_CHARS: usize = 20_000;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct ParsedFeed {
    pub title: Option<String>,
    pub episodes: Vec<ParsedEpisode>,
    /// Problems worth telling the operator that did not stop the feed from being read.
    pub warnings: Vec<String>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct ParsedEpisode {
    pub guid: Option<String>,
    pub title: Option<String>,
    pub link: Option<String>,
    pub enclosure_url: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub duration_secs: Option<u64>,
    pub show_notes: String,
    pub transcripts: Vec<TranscriptLink>,
    pub chapters_url: Option<String>,
    pub persons: Vec<Person>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FeedError {
    #[error("not a readable feed: {0}")]
    Unreadable(String),
}

/// Parses a feed document. `base_url` resolves relative links. A document that makes a parser
/// panic is this feed's error, never the end of the ingest of every other feed.
pub fn parse_feed(bytes: &[u8], base_url: &str) -> Result<ParsedFeed, FeedError> {
    let bytes = as_utf8(bytes);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse_utf8(&bytes, base_url))).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(FeedError::Unreadable(format!("a parser failed on this document ({what}); the feed is skipped")))
    })
}

/// UTF-16 documents (with a byte order mark, or detected from `<?` as two-byte units) as UTF-8,
/// their declaration saying so: both readers then see one encoding.
fn as_utf8(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let (body, big_endian) = match bytes {
        [0xFE, 0xFF, rest @ ..] => (rest, true),
        [0xFF, 0xFE, rest @ ..] => (rest, false),
        [0, b'<', 0, b'?', ..] => (bytes, true),
        [b'<', 0, b'?', 0, ..] => (bytes, false),
        _ => return std::borrow::Cow::Borrowed(bytes),
    };
    let units: Vec<u16> = body
        .chunks_exact(2)
        .map(|c| if big_endian { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_le_bytes([c[0], c[1]]) })
        .collect();
    let text = String::from_utf16_lossy(&units);
    let text = match text.find("?>") {
        Some(end) if text.starts_with("<?xml") => {
            let decl = text[..end].replace("utf-16be", "utf-8").replace("utf-16le", "utf-8").replace("utf-16", "utf-8");
            let decl = decl.replace("UTF-16BE", "UTF-8").replace("UTF-16LE", "UTF-8").replace("UTF-16", "UTF-8");
            format!("{decl}{}", &text[end..])
        }
        _ => text,
    };
    std::borrow::Cow::Owned(text.into_bytes())
}

fn parse_utf8(bytes: &[u8], base_url: &str) -> Result<ParsedFeed, FeedError> {
    let lenient = lenient_pass(bytes);
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base_url))
        // feed-rs invents a random id for items without a guid; an empty one tells us there was none.
        .id_generator(|_, _, _| String::new())
        .build();
    let mut warnings = Vec::new();
    let parsed = match parser.parse(bytes) {
        Ok(feed) => {
            let title = feed.title.as_ref().map(|t| clean(&t.content));
            let from_rs: Vec<ParsedEpisode> = feed.entries.iter().map(from_feed_rs).collect();
            let episodes = if from_rs.len() == lenient.episodes.len() {
                from_rs.into_iter().zip(lenient.episodes).map(|(a, b)| merge(a, b)).collect()
            } else {
                if !lenient.episodes.is_empty() {
                    warnings.push(format!(
                        "items disagree between readers ({} vs {}); durations, persons and transcript languages may be missing",
                        from_rs.len(),
                        lenient.episodes.len()
                    ));
                }
                from_rs
            };
            ParsedFeed { title: title.filter(|t| !t.is_empty()).or(lenient.title), episodes, warnings }
        }
        Err(e) => {
            if lenient.episodes.is_empty() {
                return Err(FeedError::Unreadable(e.to_string()));
            }
            warnings.push(format!(
                "malformed feed ({e}); recovered {} episode(s) with the lenient reader",
                lenient.episodes.len()
            ));
            ParsedFeed { title: lenient.title, episodes: lenient.episodes, warnings }
        }
    };
    let mut parsed = parsed;
    for ep in &mut parsed.episodes {
        for link in &mut ep.transcripts {
            link.url = resolve(base_url, &link.url);
        }
        ep.enclosure_url = ep.enclosure_url.take().map(|u| resolve(base_url, &u));
        ep.chapters_url = ep.chapters_url.take().map(|u| resolve(base_url, &u));
    }
    if parsed.episodes.is_empty() {
        parsed.warnings.push("the feed lists no episodes".into());
    }
    Ok(parsed)
}

fn resolve(base: &str, href: &str) -> String {
    match url::Url::parse(base).and_then(|b| b.join(href)) {
        Ok(u) => u.to_string(),
        Err(_) => href.to_string(),
    }
}

fn clean(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn from_feed_rs(e: &feed_rs::model::Entry) -> ParsedEpisode {
    let notes = e
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .or_else(|| e.summary.as_ref().map(|s| s.content.clone()))
        .or_else(|| e.media.iter().find_map(|m| m.description.as_ref().map(|d| d.content.clone())))
        .unwrap_or_default();
    let enclosure_url =
        e.media.iter().flat_map(|m| m.content.iter()).find_map(|c| c.url.as_ref().map(|u| u.to_string()));
    let transcripts = e
        .media
        .iter()
        .flat_map(|m| m.transcripts.iter())
        .map(|t| TranscriptLink {
            url: t.url.to_string(),
            mime: t.content_type.to_string().to_ascii_lowercase(),
            language: t.language.clone(),
            rel: t.rel.clone(),
        })
        .collect();
    ParsedEpisode {
        guid: Some(e.id.trim().to_string()).filter(|g| !g.is_empty()),
        title: e.title.as_ref().map(|t| clean(&t.content)).filter(|t| !t.is_empty()),
        link: e.links.iter().find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate")).map(|l| l.href.clone()),
        enclosure_url,
        published: e.published.or(e.updated),
        duration_secs: None,
        show_notes: notes_to_text(&notes),
        transcripts,
        chapters_url: None,
        persons: Vec::new(),
    }
}

/// Combines one item as read by feed-rs (`a`) with the same item from the lenient pass (`b`):
/// feed-rs wins where it has a value, the lenient pass fills the gaps it leaves.
fn merge(a: ParsedEpisode, b: ParsedEpisode) -> ParsedEpisode {
    ParsedEpisode {
        guid: b.guid.or(a.guid),
        title: a.title.or(b.title),
        link: a.link.or(b.link),
        enclosure_url: a.enclosure_url.or(b.enclosure_url),
        published: a.published.or(b.published),
        duration_secs: b.duration_secs,
        show_notes: if a.show_notes.is_empty() { b.show_notes } else { a.show_notes },
        // The lenient pass keeps the language feed-rs drops.
        transcripts: if b.transcripts.is_empty() { a.transcripts } else { b.transcripts },
        chapters_url: b.chapters_url,
        persons: b.persons,
    }
}

fn notes_to_text(html: &str) -> String {
    let text = html_to_text(html);
    match text.char_indices().nth(MAX_SHOW_NOTES_CHARS) {
        Some((i, _)) => text[..i].to_string(),
        None => text,
    }
}

/// Parses `itunes:duration`: seconds, `mm:ss` or `hh:mm:ss`.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    for part in s.split(':') {
        let n: f64 = part.trim().parse().ok()?;
        if !(n.is_finite() && n >= 0.0) {
            return None;
        }
        total = total.checked_mul(60)?.checked_add(n as u64)?;
    }
    Some(total)
}

fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc2822(s).or_else(|_| DateTime::parse_from_rfc3339(s)).ok().map(|d| d.with_timezone(&Utc))
}

fn attr(e: &BytesStart, name: &str) -> Option<String> {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.as_ref().eq_ignore_ascii_case(name.as_bytes()))
        .map(|a| match a.unescape_value() {
            Ok(v) => v.into_owned(),
            Err(_) => decode_entities(&String::from_utf8_lossy(&a.value)),
        })
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Reads items by raw element name, ignoring namespaces and mismatched tags.
fn lenient_pass(bytes: &[u8]) -> ParsedFeed {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    {
        let c = reader.config_mut();
        c.check_end_names = false;
        c.allow_unmatched_ends = true;
        c.expand_empty_elements = false;
    }
    let mut out = ParsedFeed::default();
    let mut stack: Vec<String> = Vec::new();
    let mut item: Option<ParsedEpisode> = None;
    let mut text = String::new();
    let mut notes: (Option<String>, Option<String>, Option<String>) = (None, None, None);
    // role and name attributes of the open podcast:person, for when its text is empty.
    let mut person_attrs: (Option<String>, Option<String>) = (None, None);
    let mut buf = Vec::new();
    // A lenient reader stops at the first unrecoverable error and keeps what it has.
    while let Ok(event) = reader.read_event_into(&mut buf) {
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).to_ascii_lowercase();
                if name == "item" || name == "entry" {
                    item = Some(ParsedEpisode::default());
                    notes = (None, None, None);
                }
                if name == "podcast:person" {
                    person_attrs = (attr(&e, "role"), attr(&e, "name"));
                } else if let Some(it) = item.as_mut() {
                    empty_element(it, &name, &e);
                }
                stack.push(name);
                text.clear();
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).to_ascii_lowercase();
                if let Some(it) = item.as_mut() {
                    empty_element(it, &name, &e);
                }
            }
            Event::Text(t) => text.push_str(&String::from_utf8_lossy(&t.into_inner())),
            Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t.into_inner())),
            Event::GeneralRef(r) => {
                let raw = format!("&{};", String::from_utf8_lossy(&r.into_inner()));
                text.push_str(&decode_entities(&raw));
            }
            Event::End(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).to_ascii_lowercase();
                // Unwind to the matching start tag; an unmatched end tag is ignored.
                if let Some(pos) = stack.iter().rposition(|n| *n == name) {
                    stack.truncate(pos);
                } else {
                    text.clear();
                    continue;
                }
                let mut value = clean(&text);
                if name == "podcast:person" && value.is_empty() {
                    value = person_attrs.1.take().unwrap_or_default();
                }
                let parent = stack.last().map(String::as_str).unwrap_or("");
                if name == "item" || name == "entry" {
                    if let Some(mut it) = item.take() {
                        let (content, desc, summary) = std::mem::take(&mut notes);
                        it.show_notes = notes_to_text(&content.or(desc).or(summary).unwrap_or_default());
                        out.episodes.push(it);
                    }
                } else if let Some(it) = item.as_mut() {
                    if !value.is_empty() {
                        match name.as_str() {
                            "guid" | "id" => it.guid = Some(value),
                            "title" => {
                                it.title.get_or_insert(value);
                            }
                            "itunes:title" => {
                                it.title.get_or_insert(value);
                            }
                            "link" => {
                                it.link.get_or_insert(value);
                            }
                            "pubdate" | "published" | "updated" | "dc:date" if it.published.is_none() => {
                                it.published = parse_date(&value);
                            }
                            "itunes:duration" => it.duration_secs = parse_duration(&value),
                            "content:encoded" | "content" => notes.0 = Some(text.clone()),
                            "description" => notes.1 = Some(text.clone()),
                            "itunes:summary" | "summary" => notes.2 = Some(text.clone()),
                            "podcast:person" => it.persons.push(Person { name: value, role: person_attrs.0.take() }),
                            _ => {}
                        }
                    }
                } else if name == "title"
                    && matches!(parent, "channel" | "rss" | "feed" | "")
                    && out.title.is_none()
                    && !value.is_empty()
                {
                    out.title = Some(value);
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    out
}

/// Fields carried in attributes, which may come on empty or non-empty elements.
fn empty_element(it: &mut ParsedEpisode, name: &str, e: &BytesStart) {
    match name {
        "enclosure" if it.enclosure_url.is_none() => it.enclosure_url = attr(e, "url"),
        "podcast:transcript" => {
            if let Some(url) = attr(e, "url") {
                it.transcripts.push(TranscriptLink {
                    url,
                    mime: attr(e, "type").unwrap_or_default().to_ascii_lowercase(),
                    language: attr(e, "language"),
                    rel: attr(e, "rel"),
                });
            }
        }
        "podcast:chapters" => it.chapters_url = attr(e, "url"),
        "podcast:person" => {
            if let Some(name) = attr(e, "name") {
                it.persons.push(Person { name, role: attr(e, "role") });
            }
        }
        // Atom: <link rel="alternate" href="..."/>
        "link" if it.link.is_none() && attr(e, "rel").is_none_or(|r| r == "alternate") => {
            it.link = attr(e, "href");
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The UTF-16 documents of feedparser's corpus once made quick-xml panic ("set_encoding()
    /// called after prefix buffer was drained") and with it the whole ingest.
    #[test]
    fn utf16_feeds_never_panic_and_read_like_their_utf8_original() {
        for name in ["utf-16be-bom.xml", "utf-16be-autodetect.xml", "utf-16le-bom.xml", "utf-16le-autodetect.xml"] {
            let path = format!("{}/../shared/fixtures/feedparser/encoding/{name}", env!("CARGO_MANIFEST_DIR"));
            // These hold an empty <rss/>: a clear error is the right answer, a panic is not.
            let _ = parse_feed(&std::fs::read(&path).unwrap(), "http://127.0.0.1/feed.xml");
        }
        let path = format!("{}/../shared/fixtures/feeds/podcast-namespace_example.xml", env!("CARGO_MANIFEST_DIR"));
        let utf8 = std::fs::read_to_string(&path).unwrap();
        let original = parse_feed(utf8.as_bytes(), "http://x/").unwrap();
        assert!(!original.episodes.is_empty());
        let declared = utf8.replacen("encoding=\"UTF-8\"", "encoding=\"UTF-16\"", 1);
        let be: Vec<u8> = [0xFE, 0xFF].into_iter().chain(declared.encode_utf16().flat_map(u16::to_be_bytes)).collect();
        let le: Vec<u8> = declared.encode_utf16().flat_map(u16::to_le_bytes).collect();
        for bytes in [be, le] {
            let parsed = parse_feed(&bytes, "http://x/").unwrap();
            assert_eq!(parsed.title, original.title);
            let titles = |f: &ParsedFeed| f.episodes.iter().map(|e| e.title.clone()).collect::<Vec<_>>();
            assert_eq!(titles(&parsed), titles(&original));
        }
    }

    #[test]
    fn a_truncated_utf16_document_is_a_clear_error() {
        let err = parse_feed(b"\xFE\xFF\x00", "http://x/").unwrap_err();
        assert!(err.to_string().contains("not a readable feed"), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("45:10"), Some(2710));
        assert_eq!(parse_duration("1:02:03"), Some(3723));
        assert_eq!(parse_duration("4968"), Some(4968));
        assert_eq!(parse_duration("abc"), None);
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = parse_feed(b"this is not xml at all", "http://x/feed").unwrap_err();
        assert!(err.to_string().starts_with("not a readable feed"), "{err}");
    }
}
