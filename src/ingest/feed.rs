//! Feed parsing: feed-rs first, plus a lenient quick-xml pass for what feed-rs loses or refuses.
//!
//! feed-rs reads RSS, Atom and JSON Feed well, but drops `itunes:duration` precision, the
//! transcript's `language`, `podcast:chapters` and `podcast:person` names, and rejects broken
//! documents outright (a missing `<channel>`, an undeclared `podcast:` prefix). The lenient pass
//! reads raw element names without namespace checks, so it recovers those fields and, when
//! feed-rs fails or knows no items (Atom 0.3, RSS 0.90), the episodes themselves. Titles are
//! plain text: base64, HTML and inline XHTML titles are decoded and lose their markup (script
//! bodies included). Documents in legacy encodings are read as UTF-8 first. A feed gives its
//! episodes or a clear error, never a panic and never a silent zero.

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
    let bytes = to_utf8(bytes);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse_utf8(&bytes, base_url))).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(FeedError::Unreadable(format!("a parser failed on this document ({what}); the feed is skipped")))
    })
}

/// The document as UTF-8, its declaration saying so, so both readers see one encoding: a byte
/// order mark (UTF-8, UTF-16), UTF-16 detected from `<?` as two-byte units, or the encoding the
/// XML declaration names (EUC-JP, Big5, windows-1252...). Undeclared bytes that are not UTF-8 are
/// read as windows-1252, as browsers and feedparser do, rather than lost to replacement characters.
fn to_utf8(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    let (encoding, body) = match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => (encoding_rs::UTF_8, rest),
        [0xFE, 0xFF, rest @ ..] => (encoding_rs::UTF_16BE, rest),
        [0xFF, 0xFE, rest @ ..] => (encoding_rs::UTF_16LE, rest),
        [0, b'<', 0, b'?', ..] => (encoding_rs::UTF_16BE, bytes),
        [b'<', 0, b'?', 0, ..] => (encoding_rs::UTF_16LE, bytes),
        _ => match declared_encoding(bytes) {
            // A declaration of a single-byte Western encoding on text that is valid UTF-8 with
            // characters beyond ASCII is a common server mistake: the bytes are believed, or
            // every accented letter would turn into two ("CafÃ©"). Text that is not valid UTF-8
            // never looks so by chance when it has such letters.
            Some(e)
                if (e == encoding_rs::WINDOWS_1252 || e.name() == "ISO-8859-15")
                    && !bytes.is_ascii()
                    && std::str::from_utf8(bytes).is_ok() =>
            {
                (encoding_rs::UTF_8, bytes)
            }
            // A declaration of UTF-16 on single-byte text is wrong; the bytes say what they are.
            Some(e) if e != encoding_rs::UTF_16BE && e != encoding_rs::UTF_16LE => (e, bytes),
            _ if std::str::from_utf8(bytes).is_ok() => return Cow::Borrowed(bytes),
            _ => (encoding_rs::WINDOWS_1252, bytes),
        },
    };
    // UTF-8 as it stands, unless its declaration names another encoding, which the readers
    // would then follow: rewritten below.
    let declares_other = declared_encoding(body).is_some_and(|e| e != encoding_rs::UTF_8);
    if encoding == encoding_rs::UTF_8 && !declares_other && std::str::from_utf8(body).is_ok() {
        return Cow::Borrowed(body);
    }
    let (text, _) = encoding.decode_without_bom_handling(body);
    let text = match text.find("?>") {
        Some(end) if text.starts_with("<?xml") => {
            let decl = &text[..end];
            let decl = match decl.find("encoding") {
                Some(at) => format!("{} encoding=\"UTF-8\"", &decl[..at].trim_end()),
                None => decl.to_string(),
            };
            format!("{decl}{}", &text[end..])
        }
        _ => text.into_owned(),
    };
    Cow::Owned(text.into_bytes())
}

/// The encoding named by `<?xml ... encoding="..."?>`, when encoding_rs knows it.
fn declared_encoding(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = &bytes[..bytes.len().min(256)];
    let head = String::from_utf8_lossy(head);
    let decl = &head[..head.find("?>")?];
    let after = decl[decl.find("encoding")? + "encoding".len()..].trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let label = &after[1..][..after[1..].find(quote)?];
    encoding_rs::Encoding::for_label(label.trim().as_bytes())
}

fn parse_utf8(bytes: &[u8], base_url: &str) -> Result<ParsedFeed, FeedError> {
    let lenient = lenient_pass(bytes);
    let base = base_as_url(base_url);
    let parser = feed_rs::parser::Builder::new()
        // feed-rs refuses a base that is not a URL: a local path goes in as its file:// URL.
        .base_uri(base.as_ref().map(url::Url::as_str))
        // feed-rs invents a random id for items without a guid; an empty one tells us there was none.
        .id_generator(|_, _, _| String::new())
        .build();
    let mut warnings = Vec::new();
    // feed-rs panics on some documents (quick-xml asserts on a second XML declaration naming
    // another encoding): that is feed-rs failing, and the lenient pass may still read the items.
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(bytes))).unwrap_or_else(|_| {
        let panicked = std::io::Error::other("feed-rs's XML reader panicked on this document");
        Err(feed_rs::parser::ParseFeedError::IoError(panicked))
    });
    let parsed = match read {
        Ok(feed) => {
            let title = feed.title.as_ref().map(|t| clean(&t.content));
            let from_rs: Vec<ParsedEpisode> = feed.entries.iter().map(from_feed_rs).collect();
            let episodes = if from_rs.len() == lenient.episodes.len() {
                from_rs.into_iter().zip(lenient.episodes).map(|(a, b)| merge(a, b)).collect()
            } else if from_rs.len() < lenient.episodes.len() {
                // feed-rs does not know Atom 0.3 or RSS 0.90 items and reads them as none: the
                // lenient reader, which found more, is the better witness.
                if !from_rs.is_empty() {
                    warnings.push(format!(
                        "items disagree between readers ({} vs {}); kept the lenient reader's",
                        from_rs.len(),
                        lenient.episodes.len()
                    ));
                }
                lenient.episodes
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
            // The lenient pass reads titles as items' are read (character references, HTML).
            let title = lenient.title.filter(|t| !t.is_empty()).or(title.filter(|t| !t.is_empty()));
            ParsedFeed { title, episodes, warnings }
        }
        Err(e) => {
            if lenient.episodes.is_empty() {
                return Err(FeedError::Unreadable(format!("{e}{}", what_it_is_instead(bytes))));
            }
            warnings.push(format!(
                "malformed feed ({e}); recovered {} episode(s) with the lenient reader",
                lenient.episodes.len()
            ));
            ParsedFeed { title: lenient.title, episodes: lenient.episodes, warnings }
        }
    };
    let mut parsed = parsed;
    if let Some(base) = &base {
        for ep in &mut parsed.episodes {
            for link in &mut ep.transcripts {
                link.url = resolve(base, &link.url);
            }
            ep.enclosure_url = ep.enclosure_url.take().map(|u| resolve(base, &u));
            ep.chapters_url = ep.chapters_url.take().map(|u| resolve(base, &u));
        }
    }
    if parsed.episodes.is_empty() {
        parsed.warnings.push("the feed lists no episodes".into());
    }
    Ok(parsed)
}

/// The feed's address as a URL: itself, or for a local path the file:// URL of that path.
fn base_as_url(base: &str) -> Option<url::Url> {
    match url::Url::parse(base) {
        // A Windows drive letter parses as a one-letter scheme.
        Ok(u) if u.scheme().len() > 1 => Some(u),
        _ => std::path::absolute(base).ok().and_then(|p| url::Url::from_file_path(p).ok()),
    }
}

fn resolve(base: &url::Url, href: &str) -> String {
    match base.join(href) {
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
    // The episode's audio (or video): a media:content that is a picture (the show's cover, the
    // same on every item) is no enclosure, and taken for one it makes every episode look alike.
    let media: Vec<&feed_rs::model::MediaContent> = e.media.iter().flat_map(|m| m.content.iter()).collect();
    let kind = |c: &feed_rs::model::MediaContent| c.content_type.as_ref().map(|t| t.to_string().to_ascii_lowercase());
    let playable =
        |c: &feed_rs::model::MediaContent| kind(c).is_some_and(|k| k.starts_with("audio/") || k.starts_with("video/"));
    let picture = |c: &feed_rs::model::MediaContent| kind(c).is_some_and(|k| k.starts_with("image/"));
    let enclosure_url = media
        .iter()
        .filter(|c| playable(c))
        .chain(media.iter().filter(|c| !picture(c)))
        .find_map(|c| c.url.as_ref().map(|u| u.to_string()))
        .or_else(|| e.links.iter().find(|l| l.rel.as_deref() == Some("enclosure")).map(|l| l.href.clone()))
        // JSON Feed's attachments come as links with only a media type.
        .or_else(|| {
            let audio = |t: &str| t.starts_with("audio/") || t.starts_with("video/");
            e.links.iter().find(|l| l.media_type.as_deref().is_some_and(audio)).map(|l| l.href.clone())
        });
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
        title: e
            .title
            .as_ref()
            .map(|t| text_value(&t.content, Some(t.content_type.as_ref()), None))
            .filter(|t| !t.is_empty()),
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
        // The lenient pass decodes base64 and HTML titles and knows dc:title and media:title.
        title: b.title.or(a.title),
        link: a.link.or(b.link),
        // feed-rs resolves xml:base; its pick leaves pictures out (`from_feed_rs`).
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

/// What a document that is no feed looks like, for the error: an empty body or a web page
/// (a podcast's home page given instead of its feed) are the usual mistakes.
fn what_it_is_instead(bytes: &[u8]) -> &'static str {
    let start = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).into_owned();
    if start.trim().is_empty() {
        " (the document is empty)"
    } else if super::transcript::html::is_html_page(&start) {
        " (this is a web page, not a feed: look on it for the RSS or Atom feed's address)"
    } else {
        ""
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

/// Zone abbreviations feeds write that RFC 2822 does not know (it knows GMT, UT and the US
/// ones), as offsets. Ambiguous ones (IST: India, Ireland or Israel) are left out.
const ZONE_ABBREVIATIONS: &[(&str, &str)] = &[
    ("UTC", "+0000"),
    ("WET", "+0000"),
    ("WEST", "+0100"),
    ("BST", "+0100"),
    ("CET", "+0100"),
    ("CEST", "+0200"),
    ("MET", "+0100"),
    ("MEST", "+0200"),
    ("EET", "+0200"),
    ("EEST", "+0300"),
    ("MSK", "+0300"),
    ("SGT", "+0800"),
    ("HKT", "+0800"),
    ("AWST", "+0800"),
    ("JST", "+0900"),
    ("KST", "+0900"),
    ("ACST", "+0930"),
    ("ACDT", "+1030"),
    ("AEST", "+1000"),
    ("AEDT", "+1100"),
    ("NZST", "+1200"),
    ("NZDT", "+1300"),
];

/// A feed's date: RFC 2822 or RFC 3339, and the forms feeds write anyway: a zone abbreviation,
/// a weekday that does not match the date, no zone at all (taken as UTC), a bare date. A date
/// not read makes the episode look new (first seen now), which would pull a whole back
/// catalogue into today's digest, so reading more of them matters.
fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let strict = |s: &str| {
        DateTime::parse_from_rfc2822(s).or_else(|_| DateTime::parse_from_rfc3339(s)).ok().map(|d| d.with_timezone(&Utc))
    };
    if let Some(d) = strict(s) {
        return Some(d);
    }
    // Without the weekday, which chrono checks against the date.
    let rest = s.split_once(',').filter(|(day, _)| day.len() <= 9 && day.chars().all(char::is_alphabetic));
    let s = rest.map_or(s, |(_, r)| r.trim());
    let (body, zone) = s.rsplit_once(' ').unwrap_or((s, ""));
    if let Some((_, offset)) = ZONE_ABBREVIATIONS.iter().find(|(name, _)| name.eq_ignore_ascii_case(zone)) {
        if let Some(d) = strict(&format!("{body} {offset}")) {
            return Some(d);
        }
    }
    if let Some(d) = strict(s) {
        return Some(d);
    }
    for format in ["%d %b %Y %H:%M:%S", "%d %b %Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(s, format) {
            return Some(d.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc())
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

/// An element open in the lenient pass.
struct Open {
    name: String,
    /// Where its text starts in the text gathered so far (children's text included).
    text_from: usize,
    /// `type` and `mode` of a title, which say how to read its text.
    kind: Option<String>,
    mode: Option<String>,
}

/// How deep the lenient pass follows elements; feeds nest a dozen deep (XHTML content included).
const MAX_DEPTH: usize = 64;

/// The elements of an item whose text the lenient pass reads: the names the end-of-element
/// match below acts on (a name missing here is never read, which that field's tests show).
const ITEM_FIELDS: &[&str] = &[
    "guid",
    "id",
    "title",
    "dc:title",
    "itunes:title",
    "media:title",
    "link",
    "pubdate",
    "published",
    "updated",
    "dc:date",
    "issued",
    "modified",
    "itunes:duration",
    "content:encoded",
    "content",
    "description",
    "itunes:summary",
    "summary",
    "podcast:person",
];

/// Elements whose text is never shown, as feedparser's sanitizer drops it.
const HIDDEN: [&str; 3] = ["script", "style", "applet"];

/// Reads items by raw element name, ignoring namespaces and mismatched tags.
fn lenient_pass(bytes: &[u8]) -> ParsedFeed {
    let bytes = escape_bare_ampersands(bytes);
    let mut reader = quick_xml::Reader::from_reader(bytes.as_ref());
    {
        let c = reader.config_mut();
        c.check_end_names = false;
        c.allow_unmatched_ends = true;
        c.expand_empty_elements = false;
    }
    let mut out = ParsedFeed::default();
    let mut stack: Vec<Open> = Vec::new();
    let mut item: Option<ParsedEpisode> = None;
    // The text of every open element: each knows where its own begins, so inline markup (an
    // XHTML title) reads as the text of all its children.
    let mut text = String::new();
    let mut notes: (Option<String>, Option<String>, Option<String>) = (None, None, None);
    // role and name attributes of the open podcast:person, for when its text is empty.
    let mut person_attrs: (Option<String>, Option<String>) = (None, None);
    // Prefixes bound to RSS or Atom itself (`<r:item>`), read as if there were none.
    let mut core_prefixes: Vec<String> = Vec::new();
    let mut buf = Vec::new();
    // A lenient reader stops at the first unrecoverable error and keeps what it has.
    while let Ok(event) = reader.read_event_into(&mut buf) {
        match event {
            Event::Start(e) => {
                let name = core_name(&e, &mut core_prefixes);
                let in_item = stack.last().is_some_and(|o| o.name == "item" || o.name == "entry");
                if name == "item" || name == "entry" {
                    // An item left open is still an item: it ends where the next one starts,
                    // and so do the elements left open within it.
                    if let Some(at) = stack.iter().rposition(|o| o.name == "item" || o.name == "entry") {
                        stack.truncate(at);
                    }
                    if let Some(mut it) = item.take() {
                        let (content, desc, summary) = std::mem::take(&mut notes);
                        it.show_notes = notes_to_text(&content.or(desc).or(summary).unwrap_or_default());
                        out.episodes.push(it);
                    }
                    item = Some(ParsedEpisode::default());
                    text.clear();
                }
                if name == "podcast:person" {
                    person_attrs = (attr(&e, "role"), attr(&e, "name"));
                } else if let (Some(it), true) = (item.as_mut(), in_item) {
                    empty_element(it, &name, &e);
                }
                // Deeper than any feed nests, an element is read as part of its parent's text:
                // a document of elements never closed costs no more than its length to read.
                // An item and its fields are always followed (the item before is closed above).
                if stack.len() < MAX_DEPTH || in_item || name == "item" || name == "entry" {
                    stack.push(Open { text_from: text.len(), kind: attr(&e, "type"), mode: attr(&e, "mode"), name });
                }
            }
            Event::Empty(e) => {
                let name = core_name(&e, &mut core_prefixes);
                let in_item = stack.last().is_some_and(|o| o.name == "item" || o.name == "entry");
                if let (Some(it), true) = (item.as_mut(), in_item) {
                    empty_element(it, &name, &e);
                }
            }
            _ if stack.iter().any(|o| HIDDEN.contains(&o.name.as_str()))
                && matches!(event, Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)) => {}
            Event::Text(t) => text.push_str(&String::from_utf8_lossy(&t.into_inner())),
            Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t.into_inner())),
            Event::GeneralRef(r) => {
                let raw = format!("&{};", String::from_utf8_lossy(&r.into_inner()));
                text.push_str(&decode_entities(&raw));
            }
            Event::End(e) => {
                let name = unprefixed(String::from_utf8_lossy(e.name().as_ref()).to_ascii_lowercase(), &core_prefixes);
                // Unwind to the matching start tag; an unmatched end tag is ignored.
                let Some(pos) = stack.iter().rposition(|o| o.name == name) else {
                    buf.clear();
                    continue;
                };
                let open = stack.swap_remove(pos);
                stack.truncate(pos);
                let parent = stack.last().map(|o| o.name.as_str()).unwrap_or("");
                let in_item = parent == "item" || parent == "entry";
                // Only a field that is read has its text copied: copying every element's
                // (children's included) would cost depth times length.
                let read = (in_item && item.is_some() && ITEM_FIELDS.contains(&name.as_str()))
                    || (name == "title" && matches!(parent, "channel" | "rss" | "feed" | "") && out.title.is_none());
                let raw = if read { text.get(open.text_from..).unwrap_or("").to_string() } else { String::new() };
                let mut value = clean(&raw);
                if name == "podcast:person" && value.is_empty() {
                    value = person_attrs.1.take().unwrap_or_default();
                }
                if name == "item" || name == "entry" {
                    if let Some(mut it) = item.take() {
                        let (content, desc, summary) = std::mem::take(&mut notes);
                        it.show_notes = notes_to_text(&content.or(desc).or(summary).unwrap_or_default());
                        out.episodes.push(it);
                    }
                    text.clear();
                } else if let (Some(it), true) = (item.as_mut(), in_item) {
                    if !value.is_empty() {
                        match name.as_str() {
                            "guid" | "id" => it.guid = Some(value),
                            "title" | "dc:title" | "itunes:title" | "media:title" => {
                                let title = text_value(&raw, open.kind.as_deref(), open.mode.as_deref());
                                if it.title.is_none() || name == "title" && !title.is_empty() {
                                    it.title = Some(title).filter(|t| !t.is_empty()).or(it.title.take());
                                }
                            }
                            "link" => {
                                it.link.get_or_insert(value);
                            }
                            "pubdate" | "published" | "updated" | "dc:date" | "issued" | "modified"
                                if it.published.is_none() =>
                            {
                                it.published = parse_date(&value);
                            }
                            "itunes:duration" => it.duration_secs = parse_duration(&value),
                            "content:encoded" | "content" => notes.0 = Some(raw),
                            "description" => notes.1 = Some(raw),
                            "itunes:summary" | "summary" => notes.2 = Some(raw),
                            "podcast:person" => it.persons.push(Person { name: value, role: person_attrs.0.take() }),
                            _ => {}
                        }
                    }
                } else if name == "title"
                    && matches!(parent, "channel" | "rss" | "feed" | "")
                    && out.title.is_none()
                    && !value.is_empty()
                {
                    out.title = Some(text_value(&raw, open.kind.as_deref(), open.mode.as_deref()));
                }
                if stack.is_empty() {
                    text.clear();
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    out
}

/// Namespaces of RSS and Atom themselves, whose elements a document may give a prefix.
const CORE_NAMESPACES: [&str; 7] = [
    "http://backend.userland.com/rss2",
    "http://backend.userland.com/rss",
    "http://purl.org/rss/1.0/",
    "http://my.netscape.com/rdf/simple/0.9/",
    "http://purl.org/net/rss1.1#",
    "http://www.w3.org/2005/atom",
    "http://purl.org/atom/ns#",
];

/// An element's lower-cased name, without its prefix when that prefix stands for RSS or Atom
/// (learnt from the `xmlns:` attributes seen so far, this element's included).
fn core_name(e: &BytesStart, core_prefixes: &mut Vec<String>) -> String {
    for a in e.attributes().with_checks(false).flatten() {
        let key = String::from_utf8_lossy(a.key.as_ref()).to_ascii_lowercase();
        let value = String::from_utf8_lossy(&a.value).trim().to_ascii_lowercase();
        if let Some(prefix) = key.strip_prefix("xmlns:")
            && CORE_NAMESPACES.contains(&value.as_str())
            && !core_prefixes.iter().any(|p| p == prefix)
        {
            core_prefixes.push(prefix.to_string());
        }
    }
    unprefixed(String::from_utf8_lossy(e.name().as_ref()).to_ascii_lowercase(), core_prefixes)
}

fn unprefixed(name: String, core_prefixes: &[String]) -> String {
    match name.split_once(':') {
        Some((prefix, local)) if core_prefixes.iter().any(|p| p == prefix) => local.to_string(),
        _ => name,
    }
}

/// `&` that starts no entity or character reference, as `&amp;`: real feeds put bare ones in
/// links (`?a=1&b=2`), which stops an XML reader at the first. CDATA and comments are left alone.
fn escape_bare_ampersands(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    fn is_reference(rest: &[u8]) -> bool {
        let end = match rest.iter().take(34).position(|b| *b == b';') {
            Some(end) if end > 0 => end,
            _ => return false,
        };
        let name = &rest[..end];
        match name {
            [b'#', b'x' | b'X', hex @ ..] => !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit),
            [b'#', dec @ ..] => !dec.is_empty() && dec.iter().all(u8::is_ascii_digit),
            [first, more @ ..] => {
                first.is_ascii_alphabetic() && more.iter().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(b))
            }
            [] => false,
        }
    }
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < bytes.len() {
        let skip_to = if bytes[i..].starts_with(b"<![CDATA[") {
            Some(find(&bytes[i..], b"]]>").map_or(bytes.len(), |at| i + at + 3))
        } else if bytes[i..].starts_with(b"<!--") {
            Some(find(&bytes[i..], b"-->").map_or(bytes.len(), |at| i + at + 3))
        } else {
            None
        };
        if let Some(end) = skip_to {
            if let Some(o) = out.as_mut() {
                o.extend_from_slice(&bytes[i..end]);
            }
            i = end;
            continue;
        }
        if bytes[i] == b'&' && !is_reference(&bytes[i + 1..]) {
            let o = out.get_or_insert_with(|| bytes[..i].to_vec());
            o.extend_from_slice(b"&amp;");
        } else if let Some(o) = out.as_mut() {
            o.push(bytes[i]);
        }
        i += 1;
    }
    match out {
        Some(o) => std::borrow::Cow::Owned(o),
        None => std::borrow::Cow::Borrowed(bytes),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A title's text: base64 decoded when its mode says so, HTML read as text when its type says
/// so or, without a type, when it carries HTML tags (feedparser sanitizes these; podsift shows
/// titles as plain text, so scripts and their bodies go and only the words stay).
fn text_value(raw: &str, kind: Option<&str>, mode: Option<&str>) -> String {
    let kind = kind.map(|k| k.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    // Atom 1.0 carries any type that is neither text nor XML in base64; Atom 0.3 says so by mode.
    let binary = kind
        .as_deref()
        .is_some_and(|k| k.contains('/') && !k.starts_with("text/") && !k.ends_with("+xml") && !k.ends_with("/xml"));
    let decoded;
    let raw = if binary || mode.is_some_and(|m| m.eq_ignore_ascii_case("base64")) {
        use base64::Engine;
        let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
            Ok(bytes) => {
                decoded = String::from_utf8_lossy(&bytes).into_owned();
                decoded.as_str()
            }
            Err(_) => raw,
        }
    } else {
        raw
    };
    let html = match kind.as_deref().filter(|_| !binary) {
        Some("html" | "text/html") => true,
        Some(_) => false,
        None => looks_like_html(raw),
    };
    match (html, kind) {
        (true, _) => clean(&html_to_text(raw)),
        // An RSS title is often escaped HTML text without tags ("Caf&eacute;", "Don&#8217;t"
        // once the XML's own &amp; is read): its character references are meant as characters.
        (false, None) => clean(&decode_entities(raw)),
        (false, Some(_)) => clean(raw),
    }
}

/// Whether text holds an HTML tag (a known element's start or end tag), as opposed to a plain
/// title that happens to use `<` ("x < y").
fn looks_like_html(s: &str) -> bool {
    const TAGS: [&str; 31] = [
        "a",
        "abbr",
        "applet",
        "b",
        "blink",
        "blockquote",
        "br",
        "code",
        "div",
        "em",
        "embed",
        "font",
        "frame",
        "h1",
        "h2",
        "h3",
        "i",
        "iframe",
        "img",
        "li",
        "meta",
        "object",
        "p",
        "pre",
        "script",
        "span",
        "strong",
        "style",
        "table",
        "u",
        "ul",
    ];
    s.match_indices('<').any(|(i, _)| {
        let rest = s[i + 1..].strip_prefix('/').unwrap_or(&s[i + 1..]);
        let name: String = rest.chars().take_while(char::is_ascii_alphanumeric).collect();
        TAGS.contains(&name.to_ascii_lowercase().as_str()) && rest[name.len()..].contains('>')
    })
}

/// Fields carried in attributes, which may come on empty or non-empty elements.
fn empty_element(it: &mut ParsedEpisode, name: &str, e: &BytesStart) {
    match name {
        // A picture is no enclosure (a cover on every item would make them all one episode).
        "enclosure"
            if it.enclosure_url.is_none()
                && !attr(e, "type").is_some_and(|t| t.to_ascii_lowercase().starts_with("image/")) =>
        {
            it.enclosure_url = attr(e, "url")
        }
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
        // Atom: <link rel="alternate" href="..."/>, and the audio as <link rel="enclosure" href="..."/>.
        "link" => match attr(e, "rel").as_deref() {
            None | Some("alternate") if it.link.is_none() => it.link = attr(e, "href"),
            Some("enclosure") if it.enclosure_url.is_none() => it.enclosure_url = attr(e, "href"),
            _ => {}
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Elements opened and never closed are read in time that grows with the document, not
    /// with its square (each used to be a level deeper, scanned at every piece of text): the
    /// items around them are read, and an item left open ends where the next one starts.
    #[test]
    fn elements_never_closed_are_read_in_one_pass() {
        let mut feed = String::from("<rss><channel><title>Deep</title>");
        for i in 0..300 {
            feed.push_str(&format!("<item><title>Episode {i}</title><guid>g{i}</guid><description><p>notes {i}"));
        }
        feed.push_str("<item><title>Last</title><description>");
        feed.push_str(&"<a>x ".repeat(50_000));
        feed.push_str("</description></item></channel></rss>");
        let parsed = lenient_pass(feed.as_bytes());
        assert_eq!(parsed.title.as_deref(), Some("Deep"));
        assert_eq!(parsed.episodes.len(), 301);
        assert_eq!(parsed.episodes[7].title.as_deref(), Some("Episode 7"));
        assert_eq!(parsed.episodes[7].guid.as_deref(), Some("g7"));
        let last = &parsed.episodes[300];
        assert_eq!(last.title.as_deref(), Some("Last"));
        assert!(last.show_notes.starts_with("x x x x"), "{:?}", last.show_notes.get(..80));
        let whole = parse_feed(feed.as_bytes(), "https://example.com/feed.xml").unwrap();
        assert_eq!(whole.episodes.len(), 301);
        // Markup left open before the first item, deeper than the elements followed: the items
        // are still items.
        let feed = format!("<rss><channel>{}<item><title>Under</title></item></channel></rss>", "<b>".repeat(100));
        assert_eq!(lenient_pass(feed.as_bytes()).episodes[0].title.as_deref(), Some("Under"));
    }

    #[test]
    fn a_web_page_given_for_a_feed_is_said_to_be_one() {
        let page = b"<!-- a site's home page -->\n<!DOCTYPE html><html><head><title>My Show</title></head><body>Listen</body></html>";
        let err = parse_feed(page, "https://example.com/").unwrap_err().to_string();
        assert!(err.contains("this is a web page, not a feed"), "{err}");
        assert!(parse_feed(b"  ", "https://example.com/").unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn a_second_xml_declaration_that_makes_feed_rs_panic_leaves_the_lenient_items() {
        // Found by fuzzing: quick-xml (inside feed-rs) asserts when a declaration later in the
        // document names another encoding; the whole feed used to be lost with it.
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>T</title>\n\
            <item><title>One</title><guid>g1</guid></item>\n<?xml version=\"1.0\" encoding=\"euc-kr\"?>\n\
            <item><title>Two</title><guid>g2</guid></item></channel></rss>";
        let feed = parse_feed(doc.as_bytes(), "https://podcast.example/feed.xml").unwrap();
        let titles: Vec<_> = feed.episodes.iter().filter_map(|e| e.title.as_deref()).collect();
        assert_eq!(titles, ["One", "Two"], "{:?}", feed.warnings);
        assert!(feed.warnings.iter().any(|w| w.contains("panicked")), "feed-rs did not fail: {:?}", feed.warnings);
    }

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

    fn first_title(doc: &str) -> Option<String> {
        parse_feed(doc.as_bytes(), "http://x/feed").unwrap().episodes[0].title.clone()
    }

    /// feed-rs reads no items from Atom 0.3; the lenient reader's were once thrown away.
    #[test]
    fn atom_03_entries_are_read() {
        let doc = r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><entry><title>A</title></entry><entry><title>B</title></entry></feed>"#;
        let feed = parse_feed(doc.as_bytes(), "http://x/feed").unwrap();
        assert_eq!(feed.episodes.iter().map(|e| e.title.as_deref()).collect::<Vec<_>>(), [Some("A"), Some("B")]);
    }

    #[test]
    fn titles_are_plain_text_whatever_their_encoding() {
        let atom = |title: &str| format!(r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry>{title}</entry></feed>"#);
        let html =
            r#"<title type="html">safe&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;description&lt;/b&gt;</title>"#;
        assert_eq!(first_title(&atom(html)).as_deref(), Some("safe description"));
        let xhtml =
            r#"<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Example <b>Atom</b></div></title>"#;
        assert_eq!(first_title(&atom(xhtml)).as_deref(), Some("Example Atom"));
        let base64 = r#"<title type="application/octet-stream">RXhhbXBsZSA8Yj5BdG9tPC9iPg==</title>"#;
        assert_eq!(first_title(&atom(base64)).as_deref(), Some("Example Atom"));
        let text = r#"<title type="text">History of the &lt;blink&gt; tag</title>"#;
        assert_eq!(first_title(&atom(text)).as_deref(), Some("History of the <blink> tag"));
        let rss = |item: &str| {
            format!(
                r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/"><channel><item>{item}</item></channel></rss>"#
            )
        };
        assert_eq!(first_title(&rss("<dc:title>From Dublin Core</dc:title>")).as_deref(), Some("From Dublin Core"));
        assert_eq!(first_title(&rss("<media:title>From Media RSS</media:title>")).as_deref(), Some("From Media RSS"));
        assert_eq!(first_title(&rss("<title>x &lt; y, y &gt; z</title>")).as_deref(), Some("x < y, y > z"));
    }

    #[test]
    fn utf8_declared_as_latin1_is_read_as_utf8() {
        let doc = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>Café Crème</title><item><guid>1</guid><title>Über Größe</title></item></channel></rss>";
        let feed = parse_feed(doc.as_bytes(), "https://x.org/feed").unwrap();
        assert_eq!(feed.title.as_deref(), Some("Café Crème"));
        assert_eq!(feed.episodes[0].title.as_deref(), Some("Über Größe"));
        // Real Latin-1 bytes stay Latin-1.
        let mut latin1 =
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>Caf".to_vec();
        latin1.extend_from_slice(&[0xE9]);
        latin1.extend_from_slice(b"</title></channel></rss>");
        assert_eq!(parse_feed(&latin1, "https://x.org/feed").unwrap().title.as_deref(), Some("Café"));
    }

    #[test]
    fn character_references_in_titles_are_characters() {
        let doc = r#"<rss version="2.0"><channel><title>Caf&amp;eacute; Talk</title>
            <item><guid>1</guid><title>Don&amp;#8217;t panic, caf&amp;eacute; &amp; more</title><enclosure url="https://x.org/1.mp3" type="audio/mpeg" length="1"/></item>
            </channel></rss>"#;
        let feed = parse_feed(doc.as_bytes(), "https://x.org/feed").unwrap();
        assert_eq!(feed.title.as_deref(), Some("Café Talk"));
        assert_eq!(feed.episodes[0].title.as_deref(), Some("Don’t panic, café & more"));
    }

    #[test]
    fn a_cover_picture_in_media_content_is_not_the_enclosure() {
        let doc = r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>T</title>
            <item><guid>1</guid><title>A</title><media:content url="https://x.org/cover.jpg" medium="image" type="image/jpeg"/><enclosure url="https://x.org/ep1.mp3" type="audio/mpeg" length="1"/></item>
            <item><guid>2</guid><title>B</title><media:content url="https://x.org/cover.jpg" medium="image" type="image/jpeg"/><enclosure url="https://x.org/ep2.mp3" type="audio/mpeg" length="1"/></item>
            </channel></rss>"#;
        let feed = parse_feed(doc.as_bytes(), "https://x.org/feed").unwrap();
        let got: Vec<Option<&str>> = feed.episodes.iter().map(|e| e.enclosure_url.as_deref()).collect();
        assert_eq!(got, [Some("https://x.org/ep1.mp3"), Some("https://x.org/ep2.mp3")]);
    }

    #[test]
    fn atom_enclosure_links_are_the_audio() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>e1</id><title>A</title><link rel="alternate" href="/e1"/><link rel="enclosure" type="audio/mpeg" href="/e1.mp3"/></entry></feed>"#;
        let ep = &parse_feed(doc.as_bytes(), "https://x.org/feed").unwrap().episodes[0];
        assert_eq!(ep.enclosure_url.as_deref(), Some("https://x.org/e1.mp3"));
    }

    #[test]
    fn declared_and_undeclared_legacy_encodings_are_decoded() {
        let doc = "<?xml version=\"1.0\" encoding=\"euc-jp\"?><rss version=\"2.0\"><channel><item><title>\u{65e5}\u{672c}\u{8a9e}</title></item></channel></rss>";
        let (euc_jp, _, _) = encoding_rs::EUC_JP.encode(doc);
        assert_eq!(
            parse_feed(&euc_jp, "http://x/").unwrap().episodes[0].title.as_deref(),
            Some("\u{65e5}\u{672c}\u{8a9e}")
        );
        // No declaration and not UTF-8: windows-1252, as browsers read it.
        let latin = b"<rss version=\"2.0\"><channel><item><title>caf\xe9 \x93quoted\x94</title></item></channel></rss>";
        assert_eq!(
            parse_feed(latin, "http://x/").unwrap().episodes[0].title.as_deref(),
            Some("caf\u{e9} \u{201c}quoted\u{201d}")
        );
    }

    #[test]
    fn a_bare_ampersand_in_a_link_costs_no_episode() {
        let doc = "<rss version=\"2.0\"><channel><item><title>A &amp; B</title><link>http://x/?a=1&b=2&c</link></item></channel></rss>";
        let feed = parse_feed(doc.as_bytes(), "http://x/").unwrap();
        assert_eq!(feed.episodes.len(), 1);
        assert_eq!(feed.episodes[0].title.as_deref(), Some("A & B"));
        assert_eq!(feed.episodes[0].link.as_deref(), Some("http://x/?a=1&b=2&c"));
    }

    /// feed-rs refused a local path as its base URL, so a local feed was only ever read by the
    /// lenient reader ("malformed feed"); it now gets the path's file:// URL.
    #[test]
    fn a_local_feed_goes_through_feed_rs_with_its_file_url_as_base() {
        let doc = r#"<rss version="2.0"><channel><title>Local</title><item><guid>1</guid><title>A</title><enclosure url="a.mp3" type="audio/mpeg" length="1"/></item></channel></rss>"#;
        let feed = parse_feed(doc.as_bytes(), "/srv/podcasts/feed.xml").unwrap();
        assert!(feed.warnings.iter().all(|w| !w.contains("malformed")), "{:?}", feed.warnings);
        assert_eq!(feed.episodes[0].enclosure_url.as_deref(), Some("file:///srv/podcasts/a.mp3"));
    }

    #[test]
    fn a_web_page_or_an_empty_body_is_named_as_such() {
        let page = b"<!DOCTYPE html><html><head><title>My Podcast</title></head><body>Listen!</body></html>";
        let err = parse_feed(page, "http://x/").unwrap_err().to_string();
        assert!(err.contains("web page, not a feed"), "{err}");
        let err = parse_feed(b"  \n", "http://x/feed").unwrap_err().to_string();
        assert!(err.contains("the document is empty"), "{err}");
    }

    #[test]
    fn dates_feeds_write_beside_the_standard_are_read() {
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        for (written, meant) in [
            ("Tue, 10 Jun 2025 10:00:00 GMT", "2025-06-10T10:00:00Z"),
            ("Tue, 10 Jun 2025 10:00:00 CEST", "2025-06-10T08:00:00Z"),
            ("Tue, 10 Jun 2025 10:00:00 BST", "2025-06-10T09:00:00Z"),
            ("Wed, 10 Dec 2025 10:00:00 AEDT", "2025-12-09T23:00:00Z"),
            ("Tue, 10 Jun 2025 10:00:00 UTC", "2025-06-10T10:00:00Z"),
            ("Mon, 10 Jun 2025 10:00:00 +0200", "2025-06-10T08:00:00Z"),
            ("Tue, 10 Jun 2025 10:00:00", "2025-06-10T10:00:00Z"),
            ("10 Jun 2025 10:00", "2025-06-10T10:00:00Z"),
            ("2025-06-10T10:00:00", "2025-06-10T10:00:00Z"),
            ("2025-06-10", "2025-06-10T00:00:00Z"),
            ("2025-06-10T10:00:00+02:00", "2025-06-10T08:00:00Z"),
        ] {
            assert_eq!(parse_date(written), Some(utc(meant)), "{written}");
        }
        for nonsense in ["", "soon", "Tue, 10 Jun 2025 10:00:00 XYZT", "Tue, 32 Jun 2025 10:00:00 CEST"] {
            assert_eq!(parse_date(nonsense), None, "{nonsense}");
        }
    }

    /// feed-rs leaves these dates out; the lenient pass's reading fills them in.
    #[test]
    fn an_item_dated_with_a_zone_abbreviation_keeps_its_date() {
        let doc = r#"<rss version="2.0"><channel><title>T</title><item><guid>1</guid><title>A</title><pubDate>Tue, 10 Jun 2025 10:00:00 CEST</pubDate><enclosure url="https://x/a.mp3" type="audio/mpeg" length="1"/></item></channel></rss>"#;
        let feed = parse_feed(doc.as_bytes(), "https://x/feed").unwrap();
        let want = DateTime::parse_from_rfc3339("2025-06-10T08:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(feed.episodes[0].published, Some(want));
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = parse_feed(b"this is not xml at all", "http://x/feed").unwrap_err();
        assert!(err.to_string().starts_with("not a readable feed"), "{err}");
    }
}
