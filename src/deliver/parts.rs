//! Cuts a message into the parts an adapter sends: a digest into its header and one part per
//! insight, plain text into pieces within the platform's declared length (at line breaks, then
//! at spaces, never inside a character).

use super::{Limits, Message, Part, TextUnit};

/// The parts of `message` for a platform with these limits.
pub fn split(message: &Message, limits: &Limits) -> Vec<Part> {
    match message {
        Message::Digest(d) => {
            let mut parts = vec![Part::DigestHeader {
                date: d.date,
                count: d.insights.len(),
                candidates: d.candidates,
                episodes: d.episodes,
            }];
            parts.extend(d.insights.iter().map(|e| Part::Entry {
                date: d.date,
                total: d.insights.len(),
                entry: Box::new(e.clone()),
            }));
            parts
        }
        Message::Answer { date, entry, answer } => {
            vec![Part::Answer { date: *date, entry: entry.clone(), answer: answer.clone() }]
        }
        Message::AskPrompt { date, rank } => vec![Part::Prompt { date: *date, rank: *rank }],
        Message::Notice(text) => {
            split_text(text, limits.max_message_len, limits.unit).into_iter().map(Part::Text).collect()
        }
        // The options go with the last piece of the text.
        Message::Choices { text, choices } => {
            let mut pieces = split_text(text, limits.max_message_len, limits.unit);
            let last = pieces.pop().unwrap_or_default();
            let mut parts: Vec<Part> = pieces.into_iter().map(Part::Text).collect();
            parts.push(Part::Choices { text: last, choices: choices.clone() });
            parts
        }
    }
}

fn len(s: &str, unit: TextUnit) -> usize {
    match unit {
        TextUnit::Chars => s.chars().count(),
        TextUnit::Utf16 => s.encode_utf16().count(),
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
