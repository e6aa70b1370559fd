//! Discord interactions as serenity deserializes the endpoint's body, then what the adapter
//! reads from them: subcommand options as argument text, autocomplete, button and modal ids.
//! The signature check sees the same bytes with the timestamp header taken from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsift::adapters::discord::PREFIX;
use podsift::adapters::discord::inbound::{argument_text, parse_reference, public_key, timezones_matching, verify};
use podsift::deliver::commands;
use serenity::all::{CommandDataOptionValue, Interaction};
use serenity::interactions_endpoint::Verifier;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = public_key(&text);
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key().to_bytes();
    if let Ok(verifier) = Verifier::try_new(key) {
        let (timestamp, body) = text.split_once('\n').unwrap_or((&text, ""));
        let _ = verify(&verifier, Some("00"), Some(timestamp), body.as_bytes(), 1_764_316_800);
    }
    let Ok(interaction) = serde_json::from_slice::<Interaction>(data) else { return };
    match interaction {
        Interaction::Command(c) => {
            if let Some(sub) = c.data.options.first() {
                let options = match &sub.value {
                    CommandDataOptionValue::SubCommand(o) => o.as_slice(),
                    _ => &[],
                };
                let _ = commands::parse(&sub.name, &argument_text(options), PREFIX);
            }
        }
        Interaction::Autocomplete(c) => {
            let typed = c.data.autocomplete().map(|a| a.value.to_string()).unwrap_or_default();
            assert!(timezones_matching(&typed).len() <= 25);
        }
        Interaction::Component(c) => {
            if let Some(reference) = c.data.custom_id.strip_prefix("ask:") {
                let _ = parse_reference(reference);
            }
        }
        Interaction::Modal(m) => {
            if let Some((reference, id)) = m.data.custom_id.strip_prefix("askm:").and_then(|r| r.rsplit_once(':')) {
                let _ = (parse_reference(reference), id.parse::<u64>());
            }
        }
        _ => {}
    }
});
