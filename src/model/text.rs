//! Text cut to a length: shortened with an ellipsis, or split into pieces that lose nothing,
//! measured as the place it goes measures (characters, or Telegram's UTF-16 units).

/// How a platform measures message length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextUnit {
    Chars,
    /// UTF-16 code units (Telegram).
    Utf16,
    /// UTF-8 bytes (requests sized in bytes).
    Bytes,
}

/// Cuts `s` to at most `max` characters, at a character boundary, with an ellipsis when cut:
/// how every platform shortens text to its limits.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn len(s: &str, unit: TextUnit) -> usize {
    match unit {
        TextUnit::Chars => s.chars().count(),
        TextUnit::Utf16 => s.encode_utf16().count(),
        TextUnit::Bytes => s.len(),
    }
}

/// Pieces of `text`, each at most `max` units long: whole lines where they fit, long lines cut
/// at a space when there is one in the second half of the piece.
pub fn split_text(text: &str, max: usize, unit: TextUnit) -> Vec<String> {
    let max = max.max(16);
    let mut pieces = Vec::new();
    let mut current = String::new();
    for line in text.split('\n') {
        let mut line = line;
        // A line too long for any piece is cut first.
        while len(line, unit) > max {
            let mut cut = 0;
            let mut used = 0;
            for (i, c) in line.char_indices() {
                let w = len(c.encode_utf8(&mut [0; 4]), unit);
                if used + w > max {
                    break;
                }
                used += w;
                cut = i + c.len_utf8();
            }
            let head = &line[..cut];
            let at = head.rfind(' ').filter(|&sp| sp >= cut / 2).map(|sp| sp + 1).unwrap_or(cut);
            if !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
            }
            pieces.push(line[..at].trim_end().to_string());
            line = &line[at..];
        }
        let extra = if current.is_empty() { 0 } else { 1 };
        if !current.is_empty() && len(&current, unit) + extra + len(line, unit) > max {
            pieces.push(std::mem::take(&mut current));
        } else if extra == 1 {
            current.push('\n');
        }
        current.push_str(line);
    }
    if !current.is_empty() || pieces.is_empty() {
        pieces.push(current);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_splits_at_lines_then_spaces_within_the_limit() {
        let text = format!("{}\n{}\n{}", "a".repeat(10), "b".repeat(10), "word ".repeat(20));
        let pieces = split_text(&text, 24, TextUnit::Chars);
        assert!(pieces.iter().all(|p| p.chars().count() <= 24), "{pieces:?}");
        assert_eq!(pieces[0], format!("{}\n{}", "a".repeat(10), "b".repeat(10)));
        assert!(pieces[1..].iter().all(|p| p.starts_with("word")), "{pieces:?}");
        assert_eq!(pieces.concat().matches("word").count(), 20, "nothing lost");
    }

    #[test]
    fn utf16_units_count_emoji_twice_and_nothing_is_cut_inside_a_character() {
        let text = "😀".repeat(40);
        let pieces = split_text(&text, 20, TextUnit::Utf16);
        assert!(pieces.iter().all(|p| p.encode_utf16().count() <= 20), "{pieces:?}");
        assert_eq!(pieces.concat(), text);
        assert_eq!(split_text("", 20, TextUnit::Chars), vec![String::new()]);
    }
}
