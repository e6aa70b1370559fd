//! Telegram updates as teloxide deserializes a webhook body, then what the adapter reads from
//! them: a command's name, its bot and its arguments, and a button's callback data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsift::deliver::commands;
use teloxide::types::{Update, UpdateKind};

fuzz_target!(|data: &[u8]| {
    let Ok(update) = serde_json::from_slice::<Update>(data) else { return };
    match update.kind {
        UpdateKind::Message(m) => {
            let _ = m.chat.is_private();
            let _ = m.reply_to_message().map(|r| r.id);
            if let Some(rest) = m.text().and_then(|t| t.strip_prefix('/')) {
                let (word, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                let (name, _bot) = word.split_once('@').map_or((word, None), |(n, b)| (n, Some(b)));
                let _ = commands::spec(name);
                let _ = commands::parse(name, args, "/");
            }
        }
        UpdateKind::CallbackQuery(q) => {
            let _ = q.message.as_ref().map(|m| m.chat().id);
            let data = q.data.unwrap_or_default();
            let _ = data.strip_prefix("fb:up:").or(data.strip_prefix("fb:down:")).or(data.strip_prefix("ask:"));
        }
        _ => {}
    }
});
