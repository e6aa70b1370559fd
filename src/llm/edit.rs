//! The daily editor pass in LLM mode: one request a day over the day's best candidates. The
//! model groups candidates that make the same point in any words and orders the points by
//! importance to a busy reader; the digest follows it (`insight::digest::edit_day`).
//!
//! Candidates are shown under short ids (c1, c2, ...) so the model cannot confuse or invent
//! stored ids; ids it was not shown are ignored, and an answer naming none is a failure.

use std::collections::HashSet;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::json;

use super::{LlmClient, LlmError, UNTRUSTED, as_data};
use crate::insight::{EditCandidate, Editor};

/// Characters of one candidate's text shown at most: insights are a sentence or two.
const TEXT_CHARS: usize = 600;
/// Groups read from an answer at most: more than there were candidates is nonsense.
const MAX_GROUPS: usize = 100;

pub struct LlmEditor {
    pub llm: Arc<LlmClient>,
}

fn system() -> String {
    format!(
        "You edit a daily digest of podcast insights for busy readers. Each line between the delimiters \
is one candidate insight as JSON: its id, its podcast and its text. Group the candidates that make the same \
point, in any words (the same claim from several podcasts is one point). Then order the distinct points by how \
much a busy reader would want to know them: substantive, specific, surprising claims first. Leave out \
candidates that are not insights (introductions, thanks, sponsor reads, small talk, logistics, unfinished \
questions). Use only the ids you were given, each at most once. Answer with the groups, most important first, \
each with a short summary of its point.\n\n{UNTRUSTED}"
    )
}

fn schema() -> serde_json::Value {
    json!({
        "type": "object",
        "properties": {
            "groups": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "point": {"type": "string", "description": "the point the group makes, in a few words"},
                    "ids": {"type": "array", "items": {"type": "string"}, "description": "candidate ids, e.g. c3"}
                },
                "required": ["point", "ids"],
                "additionalProperties": false
            }}
        },
        "required": ["groups"],
        "additionalProperties": false
    })
}

#[derive(Deserialize)]
struct Answer {
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    ids: Vec<String>,
}

/// The candidate list as the model reads it: one JSON object a line, under short ids.
fn shown(candidates: &[EditCandidate]) -> String {
    candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let text: String = c.text.chars().take(TEXT_CHARS).collect();
            json!({"id": format!("c{}", i + 1), "podcast": c.podcast, "text": text}).to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The model's groups as stored ids: short ids it was not shown are dropped, each candidate
/// counts in its first group only, and empty groups go.
pub fn read_groups(value: serde_json::Value, candidates: &[EditCandidate]) -> Result<Vec<Vec<String>>, LlmError> {
    let answer: Answer =
        serde_json::from_value(value).map_err(|e| LlmError::Malformed(format!("not the groups asked for: {e}")))?;
    let mut used = HashSet::new();
    let groups: Vec<Vec<String>> = answer
        .groups
        .into_iter()
        .take(MAX_GROUPS)
        .map(|g| {
            g.ids
                .iter()
                .filter_map(|id| id.trim().strip_prefix('c')?.parse::<usize>().ok())
                .filter(|&n| n >= 1 && n <= candidates.len() && used.insert(n))
                .map(|n| candidates[n - 1].id.clone())
                .collect::<Vec<_>>()
        })
        .filter(|g| !g.is_empty())
        .collect();
    if groups.is_empty() {
        return Err(LlmError::Malformed("no group names a candidate that was shown".into()));
    }
    Ok(groups)
}

impl Editor for LlmEditor {
    fn name(&self) -> String {
        self.llm.config.model.clone()
    }

    fn edit<'a>(&'a self, candidates: &'a [EditCandidate]) -> BoxFuture<'a, Result<Vec<Vec<String>>, String>> {
        Box::pin(async move {
            let user = format!("Today's {} candidates, one a line:\n{}", candidates.len(), as_data(&shown(candidates)));
            let result = self
                .llm
                .chat_json(&system(), &user, "daily_edit", schema())
                .await
                .and_then(|v| read_groups(v, candidates));
            match result {
                Ok(groups) => {
                    self.llm.count(|u| u.edits += 1);
                    Ok(groups)
                }
                Err(e) => {
                    self.llm.count(|u| u.edit_fallbacks += 1);
                    // The refusal and its fix are logged once, where it is found.
                    match e {
                        LlmError::Refused(_) => Err("the model server refused the key (said above)".into()),
                        e => Err(e.to_string()),
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates() -> Vec<EditCandidate> {
        ["a", "b", "c"]
            .iter()
            .map(|id| EditCandidate { id: format!("ins-{id}"), podcast: "P".into(), text: "T".into() })
            .collect()
    }

    #[test]
    fn unknown_and_repeated_ids_are_dropped() {
        let v = json!({"groups": [
            {"point": "x", "ids": ["c2", "c9", "c0", "zz", "c2"]},
            {"point": "y", "ids": ["c2", "c1"]},
            {"point": "z", "ids": ["c77"]}
        ]});
        assert_eq!(read_groups(v, &candidates()).unwrap(), vec![vec!["ins-b".to_string()], vec!["ins-a".to_string()]]);
    }

    #[test]
    fn an_answer_naming_nothing_shown_is_a_failure() {
        assert!(read_groups(json!({"groups": [{"point": "x", "ids": ["c4"]}]}), &candidates()).is_err());
        assert!(read_groups(json!({"order": []}), &candidates()).is_err());
    }
}
