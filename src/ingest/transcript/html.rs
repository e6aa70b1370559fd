//! HTML to plain text, for HTML transcripts and show notes.
//!
//! A forgiving scanner rather than a DOM: block elements become line breaks, script and style
//! bodies are dropped, entities are decoded, and broken markup degrades to text.

/// Converts an HTML fragment to plain text with one line per block.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..lt]));
        if rest[lt..].starts_with("<!--") {
            rest = match rest[lt + 4..].find("-->") {
                Some(i) => &rest[lt + 4 + i + 3..],
                None => "",
            };
            continue;
        }
        let after = &rest[lt + 1..];
        if !after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!') {
            // "a < b" is text, not a tag.
            out.push('<');
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else {
            // A lone '<' is text.
            out.push_str(&decode_entities(&rest[lt..]));
            rest = "";
            break;
        };
        let tag = &after[..gt];
        rest = &after[gt + 1..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if (name == "script" || name == "style") && !tag.starts_with('/') {
            let close = format!("</{name}");
            // Lower-casing the whole rest for every script tag would be quadratic.
            let found = find_ascii_ci(rest, &close, 0);
            match found {
                Some(i) => {
                    rest = &rest[i..];
                    if let Some(g) = rest.find('>') {
                        rest = &rest[g + 1..];
                    }
                }
                None => rest = "",
            }
            continue;
        }
        match name.as_str() {
            "br" | "p" | "div" | "li" | "ul" | "ol" | "tr" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote"
            | "section" | "article" | "table" | "hr" => out.push('\n'),
            "td" | "th" | "cite" | "time" | "span" if !out.ends_with(char::is_whitespace) => out.push(' '),
            _ => {}
        }
    }
    out.push_str(&decode_entities(rest));
    // Collapse runs of blank space while keeping line structure.
    let mut clean = String::with_capacity(out.len());
    for line in out.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if !line.is_empty() {
            clean.push_str(&line);
            clean.push('\n');
        }
    }
    clean
}

/// Where `needle` (ASCII) first occurs in `haystack` from `from` on, ignoring ASCII case: a
/// byte position in `haystack` itself, so slicing it there is safe (lower-casing the whole
/// text first can change its length: "İ" becomes three bytes).
pub(super) fn find_ascii_ci(haystack: &str, needle: &str, from: usize) -> Option<usize> {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    (from..=h.len().checked_sub(n.len())?).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// Whether a document is a web page (a home page given for a feed, a sign-in or "not found"
/// page served with 200 for a transcript): it opens as HTML does, after any XML declaration,
/// comments and whitespace.
pub fn is_html_page(text: &str) -> bool {
    let mut rest = text.trim_start_matches('\u{feff}').trim_start();
    loop {
        if rest.starts_with("<?xml") || rest.starts_with("<!--") {
            let close = if rest.starts_with("<!--") { "-->" } else { "?>" };
            match rest.find(close) {
                Some(at) => rest = rest[at + close.len()..].trim_start(),
                None => return false,
            }
        } else {
            break;
        }
    }
    let head: String = rest.chars().take(16).collect::<String>().to_ascii_lowercase();
    ["<!doctype html", "<html", "<head", "<body"].iter().any(|p| head.starts_with(p))
}

/// Decodes HTML's named character references (typographic quotes and dashes made plain, a
/// no-break space a space) and numeric ones; anything else is left as written.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        // Only as far as the longest entity: searching the whole rest for every '&' is quadratic.
        let end = after.bytes().take(33).position(|b| b == b';');
        let decoded = end.and_then(|i| {
            let ent = &after[..i];
            let ch = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                "rsquo" | "lsquo" => Some('\''),
                "rdquo" | "ldquo" => Some('"'),
                "mdash" => Some('—'),
                "ndash" => Some('–'),
                "hellip" => Some('…'),
                // Any other of HTML's named characters (&eacute; &uuml; &euro; ...).
                _ if !ent.starts_with('#') => {
                    let mut chars = quick_xml::escape::resolve_html5_entity(ent)?.chars();
                    chars.next().filter(|_| chars.next().is_none())
                }
                _ => {
                    let num = ent.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            };
            ch.map(|c| (c, i))
        });
        match decoded {
            Some((c, i)) => {
                out.push(c);
                rest = &after[i + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_pages_are_told_from_other_documents() {
        assert!(is_html_page("\u{feff}  <!DOCTYPE html><html>"));
        assert!(is_html_page(
            "<?xml version=\"1.0\"?>\n<!-- generated -->\n<html xmlns=\"http://www.w3.org/1999/xhtml\">"
        ));
        assert!(is_html_page("<HEAD><title>Sign in</title>"));
        assert!(!is_html_page("<?xml version=\"1.0\"?><rss version=\"2.0\">"));
        assert!(!is_html_page("Ana: the <html> tag comes first."));
        assert!(!is_html_page("<!-- never closed"));
    }

    #[test]
    fn strips_tags_and_decodes() {
        let t = html_to_text(
            "<p>Hello &amp; <b>welcome</b></p><script>var x = '<p>';</script><p>Q&amp;A &#8212; &#x41;</p>",
        );
        assert_eq!(t, "Hello & welcome\nQ&A — A\n");
    }

    #[test]
    fn broken_markup_degrades_to_text() {
        assert_eq!(html_to_text("a < b and <i>c"), "a < b and c\n");
        assert_eq!(decode_entities("AT&T &bogus; &#xZZ;"), "AT&T &bogus; &#xZZ;");
        assert_eq!(decode_entities("Caf&eacute; &uuml;ber &euro;5 &copy; &trade;"), "Café über €5 © ™");
        assert_eq!(decode_entities("Don&#8217;t &rsquo;"), "Don’t '");
    }
}
