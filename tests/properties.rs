//! Properties of what users see, over generated input: every message rendered for a platform
//! stays within that platform's limits, splits only between characters and keeps its markup
//! valid and escaped; a schedule delivers exactly once per local day in any IANA zone; the quote
//! check never accepts words that are not in the transcript.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use podsift::adapters::{discord, slack, telegram};
use podsift::ask::{Answer, Citation};
use podsift::deliver::parts::split_text;
use podsift::deliver::schedule::{Due, due};
use podsift::deliver::{Part, Schedule, TextUnit};
use podsift::insight::sentences::FILLERS;
use podsift::insight::terms::word_spans;
use podsift::llm::quote;
use podsift::model::{AlsoIn, DigestEntry, Segment};
use podsift::render::cut;
use proptest::prelude::*;
use serde_json::Value;

/// Text that is hard on renderers: markup and escape characters, mentions, line breaks, wide
/// characters and characters outside the BMP (two UTF-16 units), mixed with anything at all.
fn hostile(max: usize) -> impl Strategy<Value = String> {
    let c = prop_oneof![
        4 => prop::char::range('a', 'z'),
        2 => Just(' '),
        1 => Just('\n'),
        1 => prop::sample::select(vec!['&', '<', '>', '"', '\'', '*', '_', '~', '`', '|', '\\', '@', '#', '[', ']', ':']),
        1 => prop::sample::select(vec!['é', '—', '…', '中', '😀', '👍', '\u{200b}', '\u{feff}']),
        1 => any::<char>(),
    ];
    prop::collection::vec(c, 0..max).prop_map(String::from_iter)
}

/// Mostly short names with now and then one far over any limit.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![6 => hostile(40), 1 => hostile(4500)]
}

fn entry() -> impl Strategy<Value = DigestEntry> {
    (
        (1usize..100, name(), name(), name(), name()),
        (prop::option::of(name()), prop::option::of(hostile(3000)), 0.0f64..1e6, 0usize..3, any::<bool>()),
    )
        .prop_map(|((rank, text, quote, podcast, episode), (speaker, link, start, also, untimed))| DigestEntry {
            rank,
            id: format!("insight{rank}"),
            episode_id: "e".into(),
            text,
            quote,
            podcast: podcast.clone(),
            episode: episode.clone(),
            episode_url: None,
            speaker,
            start_seconds: start,
            untimed,
            link: link.map(|l| format!("https://podcast.example/{l}")),
            score: 1.0,
            also_in: (0..also)
                .map(|i| AlsoIn {
                    insight_id: format!("o{i}"),
                    episode_id: "o".into(),
                    podcast: podcast.clone(),
                    episode: episode.clone(),
                    speaker: None,
                    start_seconds: 1.0,
                    untimed,
                    link: None,
                    quote: "q".into(),
                })
                .collect(),
        })
}

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
}

fn part() -> impl Strategy<Value = Part> {
    prop_oneof![
        entry().prop_map(|e| Part::Entry { date: date(), total: 5, entry: Box::new(e) }),
        (entry(), hostile(6000)).prop_map(|(e, a)| Part::Answer {
            date: date(),
            entry: Box::new(e),
            answer: Answer {
                answer: a,
                covered: true,
                citations: vec![Citation {
                    podcast: "P".into(),
                    episode: "E".into(),
                    speaker: None,
                    start_seconds: 0.0,
                    untimed: false,
                    text: "t".into(),
                    link: None,
                }],
            },
        }),
        (0usize..1000).prop_map(|n| Part::DigestHeader { date: date(), count: n, candidates: n, episodes: n }),
        (0usize..1000).prop_map(|rank| Part::Prompt { date: date(), rank }),
        hostile(3000).prop_map(Part::Text),
    ]
}

/// Text with every occurrence of `&` starting one of `entities`, or the first bad spot.
fn bad_ampersand<'a>(s: &'a str, entities: &[&str]) -> Option<&'a str> {
    s.match_indices('&').map(|(i, _)| &s[i..]).find(|rest| !entities.iter().any(|e| rest.starts_with(e)))
}

/// Checks Telegram HTML: only the tags podsift writes, balanced, every text `<`, `>` and `&`
/// escaped. Returns the visible text, unescaped.
fn check_telegram_html(html: &str) -> Result<String, String> {
    let mut open: Vec<String> = Vec::new();
    let mut visible = String::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        visible.push_str(&rest[..lt]);
        let gt = rest[lt..].find('>').ok_or("a '<' that opens no tag")? + lt;
        let tag = &rest[lt + 1..gt];
        if let Some(name) = tag.strip_prefix('/') {
            if open.pop().as_deref() != Some(name) {
                return Err(format!("</{name}> closes nothing open"));
            }
        } else {
            let name = tag.split(' ').next().unwrap_or("");
            if !["b", "i", "a", "blockquote"].contains(&name) {
                return Err(format!("tag <{tag}> is not one podsift writes"));
            }
            if name == "a" && !(tag.starts_with("a href=\"") && tag.ends_with('"') && tag.matches('"').count() == 2) {
                return Err(format!("link tag <{tag}> is malformed"));
            }
            open.push(name.to_string());
        }
        rest = &rest[gt + 1..];
    }
    visible.push_str(rest);
    if !open.is_empty() {
        return Err(format!("unclosed {open:?}"));
    }
    if visible.contains('>') {
        return Err("a bare '>' in the text".into());
    }
    if let Some(bad) = bad_ampersand(html, &["&amp;", "&lt;", "&gt;", "&quot;"]) {
        return Err(format!("unescaped '&' at {:?}", bad.chars().take(12).collect::<String>()));
    }
    Ok(visible.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&"))
}

/// The parts a platform is handed: notices split within its limit first, as the core does.
fn as_sent(part: &Part, max: usize, unit: TextUnit) -> Vec<Part> {
    match part {
        Part::Text(t) => split_text(t, max, unit).into_iter().map(Part::Text).collect(),
        other => vec![other.clone()],
    }
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn split_text_keeps_every_piece_within_the_limit_and_loses_nothing(
        text in hostile(3000), max in 1usize..600, utf16 in any::<bool>()
    ) {
        let unit = if utf16 { TextUnit::Utf16 } else { TextUnit::Chars };
        let pieces = split_text(&text, max, unit);
        let limit = max.max(16);
        for p in &pieces {
            let len = if utf16 { p.encode_utf16().count() } else { p.chars().count() };
            prop_assert!(len <= limit, "{len} > {limit}: {p:?}");
        }
        // Only whitespace at the cuts may go; every character arrives whole and in order.
        prop_assert_eq!(squeeze(&pieces.concat()), squeeze(&text));
    }

    #[test]
    fn cut_stays_within_its_limit_and_keeps_a_prefix(text in hostile(500), max in 1usize..600) {
        let out = cut(&text, max);
        prop_assert!(out.chars().count() <= max);
        let kept = out.strip_suffix('…').filter(|_| out != text).unwrap_or(&out);
        prop_assert!(text.starts_with(kept));
    }

    #[test]
    fn telegram_messages_fit_4096_utf16_units_as_valid_escaped_html(part in part()) {
        let mut shown = String::new();
        for p in as_sent(&part, telegram::MAX_TEXT, TextUnit::Utf16) {
            let rendered = telegram::render(&p);
            let visible = check_telegram_html(&rendered.text)
                .map_err(|e| TestCaseError::fail(format!("{e}: {}", rendered.text)))?;
            let units = visible.encode_utf16().count();
            prop_assert!(units <= telegram::MAX_TEXT, "{units} units");
            prop_assert_eq!(telegram::visible_len(&rendered.text), units);
            shown.push_str(&visible);
        }
        if let Part::Text(text) = &part {
            prop_assert_eq!(squeeze(&shown), squeeze(text), "a notice shows as written, nothing lost");
        }
    }

    #[test]
    fn discord_messages_and_embeds_stay_within_discord_limits_and_escaped(part in part()) {
        for p in as_sent(&part, discord::MAX_CONTENT, TextUnit::Chars) {
            let message = serde_json::to_value(discord::render(&p)).unwrap();
            prop_assert!(chars(&message["content"]) <= discord::MAX_CONTENT);
            prop_assert!(message["allowed_mentions"].is_object(), "mentions are never allowed");
            for embed in message["embeds"].as_array().into_iter().flatten() {
                let fields = embed["fields"].as_array().cloned().unwrap_or_default();
                prop_assert!(fields.len() <= 25);
                prop_assert!(chars(&embed["title"]) <= discord::MAX_TITLE);
                prop_assert!(chars(&embed["description"]) <= discord::MAX_DESCRIPTION);
                let mut total = chars(&embed["title"]) + chars(&embed["description"]) + chars(&embed["footer"]["text"]);
                for f in &fields {
                    prop_assert!(chars(&f["name"]) <= discord::MAX_TITLE && chars(&f["value"]) <= discord::MAX_FIELD);
                    total += chars(&f["name"]) + chars(&f["value"]);
                }
                prop_assert!(total <= discord::MAX_EMBED_TOTAL, "embed of {total} characters");
            }
            if let Part::Entry { entry, .. } = &part {
                // The podcast's name shows as written: every markdown character escaped, no mention.
                let field = message["embeds"][0]["fields"][0]["value"].as_str().unwrap_or("").to_string();
                let mut chars = field.chars().peekable();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => { chars.next(); }
                        '*' | '_' | '~' | '`' | '|' | '>' | '#' | '[' | ']' | '(' | ')' | '<' | ':' => {
                            prop_assert!(false, "unescaped {c:?} in {field:?} from {:?}", entry.podcast);
                        }
                        '@' => prop_assert!(matches!(chars.peek(), Some('\u{200b}') | None | Some('…')), "{field:?}"),
                        _ => {}
                    }
                }
            }
        }
    }

    #[test]
    fn slack_blocks_stay_within_block_kit_limits_and_escaped(part in part()) {
        let mut shown = String::new();
        for p in as_sent(&part, slack::MAX_SECTION, TextUnit::Chars) {
            let content = serde_json::to_value(slack::render(&p)).unwrap();
            let blocks = content["blocks"].as_array().cloned().unwrap_or_default();
            prop_assert!(!blocks.is_empty() && blocks.len() <= slack::MAX_BLOCKS);
            for b in &blocks {
                match b["type"].as_str().unwrap_or("") {
                    "section" => {
                        let text = b["text"]["text"].as_str().unwrap_or("");
                        prop_assert!(text.chars().count() <= slack::MAX_SECTION, "section of {}", text.chars().count());
                        // The only markup is podsift's own quote marker at the start of a line.
                        let quoted = text.starts_with("> ");
                        let body = if quoted { text[2..].replace("\n> ", "\n") } else { text.to_string() };
                        prop_assert!(!body.contains(['<', '>']), "{text:?}");
                        prop_assert!(bad_ampersand(text, &["&amp;", "&lt;", "&gt;"]).is_none(), "{text:?}");
                        shown.push_str(text);
                    }
                    "context" => {
                        for el in b["elements"].as_array().into_iter().flatten() {
                            let text = el["text"].as_str().unwrap_or("");
                            prop_assert!(text.chars().count() <= 2000, "context of {}", text.chars().count());
                            prop_assert!(bad_ampersand(text, &["&amp;", "&lt;", "&gt;"]).is_none(), "{text:?}");
                            // The only markup is podsift's own link to the moment, whole.
                            let link_at = text.find("<https://podcast.example/");
                            let outside = match link_at {
                                Some(i) => {
                                    let end = text[i..].find('>').map(|j| i + j + 1);
                                    prop_assert!(end.is_some(), "a link cut in half: {text:?}");
                                    format!("{}{}", &text[..i], &text[end.unwrap_or(i)..])
                                }
                                None => text.to_string(),
                            };
                            prop_assert!(!outside.contains(['<', '>']), "{text:?}");
                        }
                    }
                    "actions" => {
                        for el in b["elements"].as_array().into_iter().flatten() {
                            prop_assert!(chars(&el["text"]["text"]) <= slack::MAX_BUTTON_LABEL);
                        }
                    }
                    other => prop_assert!(false, "unexpected block {other}"),
                }
            }
        }
        if let Part::Text(text) = &part {
            let unescaped = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
            prop_assert_eq!(squeeze(&unescaped), squeeze(text), "a notice loses nothing to escaping");
        }
    }

    #[test]
    fn a_daily_schedule_delivers_exactly_once_per_local_day_in_any_zone(
        zone in 0usize..chrono_tz::TZ_VARIANTS.len(),
        hour in 0u32..24,
        minute in 0u32..60,
        start in 0i64..20_000,
        days in 1i64..6,
        step in prop::sample::select(vec![1i64, 7, 15, 60]),
    ) {
        let tz = chrono_tz::TZ_VARIANTS[zone];
        let schedule = Schedule::daily(&format!("{hour:02}:{minute:02}"), tz.name()).unwrap();
        let first = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + Duration::days(start);
        let from = Utc.from_utc_datetime(&first.and_hms_opt(0, 0, 0).unwrap());
        let until = from + Duration::days(days);
        // A service that ticks every `step` minutes and drops the days it delivered, as the
        // deliverer does, with a catch-up window longer than a tick.
        let catch_up = Duration::hours(2);
        let mut delivered: HashMap<NaiveDate, chrono::DateTime<Utc>> = HashMap::new();
        let mut missed = Vec::new();
        let mut now = from;
        while now <= until {
            for d in due(&schedule, now, catch_up).unwrap() {
                match d {
                    Due::Now { date, fire } => {
                        prop_assert!(fire <= now && now - fire <= catch_up);
                        delivered.entry(date).or_insert(fire);
                    }
                    // Yesterday's delivery, long done, is reported missed again: the deliverer
                    // drops it as delivered, and so does this loop.
                    Due::Missed { date, fire } if !delivered.contains_key(&date) => missed.push((date, fire, now)),
                    Due::Missed { .. } => {}
                    Due::NotYet => {}
                }
            }
            now += Duration::minutes(step);
        }
        // Every local day whose delivery time falls inside the simulated span was delivered,
        // never skipped, at that day's own time; no two days share a delivery.
        let mut day = from.with_timezone(&tz).date_naive();
        let mut last_fire = None;
        while day <= until.with_timezone(&tz).date_naive() {
            if let Some(fire) = schedule.fire_on(day).unwrap() {
                prop_assert!(last_fire.is_none_or(|l| fire > l), "{} fires on {day} before the day before", tz.name());
                last_fire = Some(fire);
                if fire >= from + Duration::minutes(step) && fire + Duration::minutes(step) <= until {
                    prop_assert_eq!(delivered.get(&day), Some(&fire), "{} on {}", tz.name(), day);
                    prop_assert!(!missed.iter().any(|m| m.0 == day), "{} skipped {day}: {missed:?}", tz.name());
                    prop_assert_eq!(fire.with_timezone(&tz).date_naive(), day, "{} fires on another day", tz.name());
                }
            }
            day = day.succ_opt().unwrap();
        }
        // Nothing was delivered for a day outside the span.
        for d in delivered.keys() {
            prop_assert!(schedule.fire_on(*d).unwrap().is_some_and(|f| f <= until));
        }
    }

    #[test]
    fn the_quote_check_accepts_only_words_that_are_in_the_transcript(
        said in prop::collection::vec(hostile(120), 1..8),
        quote_text in hostile(160),
        window in (0usize..200, 4usize..12),
    ) {
        let segments: Vec<Segment> = said
            .iter()
            .enumerate()
            .map(|(i, t)| Segment { start: i as f64 * 10.0, end: i as f64 * 10.0 + 9.0, speaker: None, text: t.clone() })
            .collect();
        let joined = said.join(" ");
        // The words as the quote check compares them (the one tokenizer, letters and digits
        // lower-cased, fillers left out), written independently of it.
        let words = |s: &str| -> Vec<String> {
            word_spans(s)
                .map(|(a, b)| s[a..b].chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect())
                .filter(|w: &String| !w.is_empty() && !FILLERS.contains(&w.as_str()))
                .collect()
        };
        // Any quote at all: what is accepted is the transcript's own text, word for word.
        if let Some(found) = quote::find(&segments, &quote_text) {
            prop_assert!(joined.contains(&found.verbatim), "{:?} is not in the transcript", found.verbatim);
            prop_assert_eq!(words(&found.verbatim), words(&quote_text));
            prop_assert!(found.segment < segments.len());
        }
        // A quote with a word the transcript never says is refused.
        if !words(&joined).iter().any(|w| w == "zqxjvbkw") {
            let invented = format!("{quote_text} zqxjvbkw");
            prop_assert!(quote::find(&segments, &invented).is_none());
        }
        // A run of the transcript's own words is found (ASCII ones: lower-casing some letters
        // gives marks that are no word characters, so written back they would read otherwise).
        let all = words(&joined);
        let (at, len) = window;
        if all.len() >= len {
            let at = at % (all.len() - len + 1);
            let run = &all[at..at + len];
            if run.iter().all(|w| w.is_ascii()) {
                let q = run.join(" ");
                prop_assert!(quote::find(&segments, &q).is_some(), "{q:?} not found in {joined:?}");
            }
        }
    }
}
