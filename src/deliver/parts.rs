//! Cuts a message into the parts an adapter sends: a digest into its header and one part per
//! insight, plain text into pieces within the platform's declared length (at line breaks, then
//! at spaces, never inside a character).

pub use crate::model::split_text;

use super::{Limits, Message, Part};

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
