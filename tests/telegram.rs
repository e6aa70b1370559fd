//! The Telegram adapter against a fake Bot API server (teloxide's `set_api_url`): the full loop
//! /start → scheduled digest → reply with a question → answer as a reply, buttons, groups,
//! replies to a digest asked for, first-digest timing, 429 / 403 / migration, webhook secret
//! checks, an invalid token. The core runs on a clock the tests set.
#![cfg(feature = "telegram")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::telegram::{FakeTelegram, TOKEN, error};
use podsift::adapters::telegram::{TelegramAdapter, TelegramInbound, WEBHOOK_PATH};
use podsift::config::{Config, TelegramConfig};
use podsift::deliver::commands::Core;
use podsift::deliver::fanout::Deliverer;
use podsift::deliver::inbound::Inbound;
use podsift::deliver::{Adapter, DeliveryState, Destination, Message};
use podsift::ingest::Quiet;
use podsift::metrics::Metrics;
use podsift::store::Store;
use serde_json::{Value, json};

/// The real `/start` update from the telemetree-python fixtures, read as JSON.
fn real_start_update() -> Value {
    let py = std::fs::read_to_string(format!(
        "{}/tests/fixtures/platform/telegram_telemetree-python_fixtures.py",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let start = py.find("message_update_telegram_tracked = {").unwrap();
    let body = &py[py[start..].find('{').unwrap() + start..];
    let mut depth = 0;
    let end = body
        .char_indices()
        .find(|&(_, c)| {
            depth += match c {
                '{' => 1,
                '}' => -1,
                _ => 0,
            };
            depth == 0
        })
        .unwrap()
        .0;
    // Python literals to JSON: booleans, null, and the trailing commas Python allows.
    let text = body[..=end].replace("True", "true").replace("False", "false").replace("None", "null");
    let chars: Vec<char> = text.chars().collect();
    let mut json = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
        if c == ',' && matches!(next, Some('}') | Some(']')) {
            continue;
        }
        json.push(c);
    }
    let text = json;
    serde_json::from_str(&text).unwrap()
}

const CHAT: i64 = 714862471;
/// The fake Bot API's getMe id for the bot.
const BOT: i64 = 42;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The morning the tests happen: the demo's episodes came out in the hours before 07:00 UTC.
fn morning() -> DateTime<Utc> {
    at("2026-11-28T07:00:00Z")
}

struct Setup {
    store: Store,
    fake: FakeTelegram,
    adapter: Arc<TelegramAdapter>,
    core: Arc<Core>,
    deliverer: Arc<Deliverer>,
    metrics: Arc<Metrics>,
    clock: Arc<std::sync::Mutex<DateTime<Utc>>>,
    _stop: tokio::sync::watch::Sender<bool>,
    /// Last, so the store is closed before its directory is deleted: sled flushing into a
    /// deleted directory waits forever.
    _dir: tempfile::TempDir,
}

impl Setup {
    fn set_time(&self, t: DateTime<Utc>) {
        *self.clock.lock().unwrap() = t;
    }

    fn requests(&self) -> String {
        self.metrics.render().lines().find(|l| l.starts_with("podsift_requests_total")).unwrap().to_string()
    }
}

async fn setup(poll: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    podsift::demo::ingest_demo(&store, &Config::default(), morning(), &Quiet).await.unwrap();
    let fake = FakeTelegram::start().await;
    let cfg = TelegramConfig {
        enabled: true,
        api_url: Some(fake.base.clone()),
        poll_timeout_secs: 1,
        global_per_second: 200.0,
        per_chat_per_second: 100.0,
        per_group_per_minute: 6000.0,
        ..TelegramConfig::default()
    };
    let adapter = Arc::new(TelegramAdapter::connect(&cfg, TOKEN).await.unwrap());
    let clock = Arc::new(std::sync::Mutex::new(morning()));
    let read = clock.clone();
    let (deliverer, core, metrics) =
        common::core_with(&store, adapter.clone() as Arc<dyn Adapter>, Arc::new(move || *read.lock().unwrap()));
    let (stop, rx) = tokio::sync::watch::channel(false);
    if poll {
        let inbound = Box::new(TelegramInbound { adapter: adapter.clone(), webhook_secret: None });
        let _ = inbound.start(core.clone(), rx);
    }
    Setup { _dir: dir, store, fake, adapter, core, deliverer, metrics, clock, _stop: stop }
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A message from user `from`; `reply_to` is (message id, its author) of the message it replies to.
fn message(update_id: i64, message_id: i64, chat: Value, from: i64, text: &str, reply_to: Option<(i64, i64)>) -> Value {
    let mut m = json!({"message_id": message_id, "date": 1764316800, "chat": chat,
        "from": {"id": from, "is_bot": false, "first_name": "Reader"}, "text": text});
    if let Some((r, author)) = reply_to {
        m["reply_to_message"] = json!({"message_id": r, "date": 1764316800, "chat": m["chat"].clone(),
            "from": {"id": author, "is_bot": author == BOT, "first_name": "Someone"}, "text": "earlier"});
    }
    json!({"update_id": update_id, "message": m})
}

fn text_of(call: &common::telegram::Call) -> String {
    call.body["text"].as_str().unwrap_or_default().to_string()
}

fn private() -> Value {
    json!({"id": CHAT, "type": "private", "first_name": "Chris"})
}

/// The next send to `chat` finds it upgraded to a supergroup, now `to`.
fn upgraded_on_next_send(fake: &FakeTelegram, chat: i64, to: i64) {
    let why = "Bad Request: group chat was upgraded to a supergroup chat";
    fake.script(chat, vec![error(400, why, Some(json!({"migrate_to_chat_id": to})))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_loop_start_digest_reply_answer_buttons() {
    let s = setup(true).await;
    // Commands were registered for autocomplete, from the core's table.
    let commands = &s.fake.calls("setMyCommands")[0].body["commands"];
    let names: Vec<&str> = commands.as_array().unwrap().iter().map(|c| c["command"].as_str().unwrap()).collect();
    let table: Vec<&str> = podsift::deliver::commands::COMMANDS.iter().map(|c| c.name).collect();
    assert_eq!(names, table);

    // The real /start update subscribes the private chat.
    s.fake.push_update(real_start_update());
    wait_for("the /start reply", || !s.fake.sent_to(CHAT).is_empty()).await;
    assert!(s.fake.sent_to(CHAT)[0].body["text"].as_str().unwrap().contains("Subscribed"));
    let dest = Destination::new("telegram", &CHAT.to_string());
    assert!(s.store.subscription(&dest.key()).unwrap().is_some());

    assert!(text_of(&s.fake.sent_to(CHAT)[0]).contains("The first comes today at 08:00 (UTC)."));

    // A new time; the scheduled tick delivers at that time, not before.
    s.fake.push_update(message(633291300, 130, private(), CHAT, "/time 07:30 UTC", None));
    wait_for("the /time reply", || s.fake.sent_to(CHAT).len() >= 2).await;
    assert!(text_of(&s.fake.sent_to(CHAT)[1]).contains("now comes every day at 07:30 UTC"));
    assert_eq!(s.deliverer.tick(at("2026-11-28T07:29:00Z")).await.unwrap().delivered, 0);
    assert_eq!(s.deliverer.tick(at("2026-11-28T07:31:00Z")).await.unwrap().delivered, 1);
    let sent = s.fake.sent_to(CHAT);
    let digest: Vec<_> = sent[2..].to_vec();
    assert_eq!(digest.len(), 6, "header + 5 insights");
    assert!(digest[0].body["text"].as_str().unwrap().contains("top 5"));
    for (i, m) in digest[1..].iter().enumerate() {
        let text = m.body["text"].as_str().unwrap();
        assert!(text.starts_with(&format!("<b>#{}</b>", i + 1)), "{text}");
        assert!(text.contains("#t="), "{text}");
        // Offline insights are their quotes, cleaned: the quote is not repeated.
        assert!(!text.contains("<blockquote>"), "{text}");
        let buttons = &m.body["reply_markup"]["inline_keyboard"][0];
        assert_eq!(buttons.as_array().unwrap().len(), 3);
        assert!(buttons[0]["callback_data"].as_str().unwrap().starts_with("fb:up:"));
        assert!(buttons[2]["callback_data"].as_str().unwrap().starts_with("ask:"));
    }
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());

    // Replying to insight #2's message with a question gets the answer as a reply.
    let second_id = digest[2].body["message_id"].as_i64().unwrap();
    s.fake.push_update(message(
        633291301,
        131,
        private(),
        CHAT,
        "what exactly was said about that?",
        Some((second_id, BOT)),
    ));
    wait_for("the answer", || s.fake.sent_to(CHAT).len() >= 9).await;
    let answer = s.fake.sent_to(CHAT).last().unwrap().clone();
    assert!(answer.body["text"].as_str().unwrap().starts_with("About #2"), "{}", answer.body);
    assert_eq!(answer.body["reply_parameters"]["message_id"], 131);

    // 👍 on #1: acknowledged with a toast and stored as feedback, no chat message.
    let first = &digest[1].body;
    let up = first["reply_markup"]["inline_keyboard"][0][0]["callback_data"].as_str().unwrap().to_string();
    let before = s.fake.sent_to(CHAT).len();
    s.fake.push_update(json!({"update_id": 633291302, "callback_query": {"id": "cb1", "chat_instance": "1",
        "from": {"id": CHAT, "is_bot": false, "first_name": "Chris"}, "data": up,
        "message": {"message_id": first["message_id"], "date": 1764316800, "chat": private(), "text": "x"}}}));
    wait_for("the callback answer", || !s.fake.calls("answerCallbackQuery").is_empty()).await;
    wait_for("the feedback", || s.store.feedback_totals().unwrap().values().sum::<i64>() == 1).await;
    assert_eq!(s.fake.sent_to(CHAT).len(), before);

    // "Ask" prompts with a forced reply; replying to the prompt asks about that insight.
    let ask = first["reply_markup"]["inline_keyboard"][0][2]["callback_data"].as_str().unwrap().to_string();
    s.fake.push_update(json!({"update_id": 633291303, "callback_query": {"id": "cb2", "chat_instance": "1",
        "from": {"id": CHAT, "is_bot": false, "first_name": "Chris"}, "data": ask,
        "message": {"message_id": first["message_id"], "date": 1764316800, "chat": private(), "text": "x"}}}));
    wait_for("the prompt", || s.fake.sent_to(CHAT).len() > before).await;
    let prompt = s.fake.sent_to(CHAT).last().unwrap().clone();
    assert_eq!(prompt.body["reply_markup"]["force_reply"], true);
    let prompt_id = prompt.body["message_id"].as_i64().unwrap();
    s.fake.push_update(message(633291304, 140, private(), CHAT, "what was the point?", Some((prompt_id, BOT))));
    wait_for("the answer to the prompt", || s.fake.sent_to(CHAT).len() > before + 1).await;
    assert!(s.fake.sent_to(CHAT).last().unwrap().body["text"].as_str().unwrap().starts_with("About #1"));
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

/// Options offered with a message are inline buttons; pressing one is the command it stands for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_choice_button_runs_its_command() {
    let s = setup(true).await;
    let dest = Destination::new("telegram", &CHAT.to_string());
    s.store.put_podcast_list(&dest.key(), &["demo:gotime".to_string()]).unwrap();
    let choices =
        vec![podsift::deliver::Choice { label: "Remove Go Time".into(), command: "podcasts remove 1".into() }];
    let offer = podsift::deliver::Message::Choices { text: "Your podcasts: 1. Go Time <b>".into(), choices };
    s.core.reply(&dest, None, &offer).await.unwrap();
    let sent = s.fake.sent_to(CHAT).last().unwrap().body.clone();
    assert!(sent["text"].as_str().unwrap().ends_with("Go Time &lt;b&gt;"), "{sent}");
    let button = &sent["reply_markup"]["inline_keyboard"][0][0];
    assert_eq!(
        (button["text"].as_str(), button["callback_data"].as_str()),
        (Some("Remove Go Time"), Some("cmd:podcasts remove 1"))
    );
    s.fake.push_update(json!({"update_id": 633291399, "callback_query": {"id": "cb9", "chat_instance": "1",
        "from": {"id": CHAT, "is_bot": false, "first_name": "Chris"}, "data": "cmd:podcasts remove 1",
        "message": {"message_id": sent["message_id"], "date": 1764316800, "chat": private(), "text": "x"}}}));
    wait_for("the list to empty", || s.store.podcast_list(&dest.key()).unwrap().is_none()).await;
    wait_for("the confirmation", || text_of(s.fake.sent_to(CHAT).last().unwrap()).contains("Removed Go Time")).await;
    // A button for no command podsift knows is answered as such, and changes nothing.
    s.fake.push_update(json!({"update_id": 633291400, "callback_query": {"id": "cb10", "chat_instance": "1",
        "from": {"id": CHAT, "is_bot": false, "first_name": "Chris"}, "data": "cmd:launch rockets",
        "message": {"message_id": sent["message_id"], "date": 1764316800, "chat": private(), "text": "x"}}}));
    wait_for("the answer", || s.fake.calls("answerCallbackQuery").len() == 2).await;
    let toast = s.fake.calls("answerCallbackQuery")[1].body.clone();
    assert!(toast["text"].as_str().unwrap_or("").contains("no longer supported"), "{toast}");
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

/// Two commands sent in quick succession are answered in the order sent, even when the first
/// takes longer (it asks Telegram whether its sender is an admin).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_of_one_chat_are_answered_in_the_order_sent() {
    let s = setup(true).await;
    s.fake.slow_member_lookups(Duration::from_millis(800));
    s.fake.make_admin(5);
    let group = json!({"id": -1005, "type": "supergroup", "title": "Readers"});
    s.fake.push_update(message(1, 10, group.clone(), 5, "/subscribe@podsift_bot 07:30 UTC", None));
    s.fake.push_update(message(2, 11, group.clone(), 5, "/help@podsift_bot", None));
    wait_for("both answers", || s.fake.sent_to(-1005).len() >= 2).await;
    let sent = s.fake.sent_to(-1005);
    let texts: Vec<String> = sent.iter().map(text_of).collect();
    assert!(texts[0].starts_with("Subscribed"), "the subscription's answer came second: {texts:#?}");
    assert_eq!(s.store.subscriptions().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_need_an_admin_and_ignore_other_bots() {
    let s = setup(true).await;
    let group = json!({"id": -1001, "type": "supergroup", "title": "Readers"});
    s.fake.push_update(message(1, 10, group.clone(), 5, "/start@podsift_bot", None));
    wait_for("the refusal", || !s.fake.sent_to(-1001).is_empty()).await;
    assert!(text_of(&s.fake.sent_to(-1001)[0]).contains("Only people who can manage this chat"));
    assert!(s.store.subscriptions().unwrap().is_empty());
    s.fake.make_admin(5);
    s.fake.push_update(message(3, 12, group.clone(), 5, "/start@podsift_bot 07:30 Europe/Berlin", None));
    wait_for("the subscription", || s.store.subscriptions().unwrap().len() == 1).await;
    assert_eq!(s.store.subscriptions().unwrap()[0].schedule.describe(), "07:30 Europe/Berlin");
    wait_for("the confirmation", || s.fake.sent_to(-1001).len() == 2).await;

    // Handled directly, so that "ignored" is a fact and not a wait: a command for another bot
    // and a reply between two people reach the core not at all.
    let before = s.requests();
    for ignored in [
        message(20, 20, group.clone(), 6, "/start@other_bot", None),
        message(21, 21, group.clone(), 6, "I agree with you", Some((12, 5))),
        // Another bot's command without its name: not podsift's to answer.
        message(22, 22, group.clone(), 6, "/roll 2d6", None),
        // Every bot's /stop and /start, bare: maybe another bot's; they would change the
        // group's subscription.
        message(25, 25, group.clone(), 5, "/stop", None),
        message(26, 26, group.clone(), 5, "/start 09:00 UTC", None),
    ] {
        // As Telegram sends it: JSON text (read from a `Value`, teloxide takes every update
        // for an unknown kind, and the check would pass without looking).
        let update: teloxide::types::Update = serde_json::from_str(&ignored.to_string()).unwrap();
        assert!(!matches!(update.kind, teloxide::types::UpdateKind::Error(_)), "{:?}", update.kind);
        s.adapter.handle_update(&s.core, update).await;
    }
    assert_eq!(s.requests(), before, "an update meant for someone else reached the core");
    assert_eq!(s.fake.sent_to(-1001).len(), 2, "another bot's command was answered");
    // Named to podsift, an unknown command is explained.
    s.fake.push_update(message(5, 23, group.clone(), 6, "/roll@podsift_bot", None));
    wait_for("the explanation", || s.fake.sent_to(-1001).len() == 3).await;
    assert!(text_of(&s.fake.sent_to(-1001)[2]).contains("/help"), "{}", text_of(&s.fake.sent_to(-1001)[2]));
    // An admin posting anonymously writes as the group: they may change its time.
    let mut anonymous = message(6, 24, group.clone(), 1087968824, "/time 06:45 UTC", None);
    anonymous["message"]["sender_chat"] = group.clone();
    s.fake.push_update(anonymous);
    wait_for("the new time", || s.store.subscriptions().unwrap()[0].schedule.describe() == "06:45 UTC").await;
    wait_for("the confirmation", || s.fake.sent_to(-1001).len() == 4).await;
    // Anyone may ask or read the help.
    s.fake.push_update(message(7, 13, group.clone(), 6, "/help", None));
    wait_for("the help", || s.fake.sent_to(-1001).len() == 5).await;
    // "Ask" under an insight in a group tells the one who tapped how to ask, instead of posting
    // a prompt for everyone at every tap.
    s.fake.push_update(json!({"update_id": 8, "callback_query": {"id": "cb-g", "chat_instance": "1",
        "from": {"id": 6, "is_bot": false, "first_name": "Reader"}, "data": "ask:2026-11-28#2",
        "message": {"message_id": 12, "date": 1764316800, "chat": group, "text": "x"}}}));
    wait_for("the toast", || !s.fake.calls("answerCallbackQuery").is_empty()).await;
    let toast = s.fake.calls("answerCallbackQuery")[0].body.clone();
    assert!(toast["text"].as_str().unwrap_or("").contains("Reply to this insight's message"), "{toast}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.fake.sent_to(-1001).len(), 5, "a prompt was posted to the whole group");
    let before = s.requests();
    // An edited command is not taken again (it could subscribe or post a digest twice)...
    let mut edited_command = message(27, 12, group.clone(), 5, "/start@podsift_bot 08:15 UTC", None);
    edited_command["message"]["edit_date"] = json!(1764316900);
    edited_command["edited_message"] = edited_command["message"].take();
    edited_command.as_object_mut().unwrap().remove("message");
    let update: teloxide::types::Update = serde_json::from_str(&edited_command.to_string()).unwrap();
    s.adapter.handle_update(&s.core, update).await;
    assert_eq!(s.requests(), before, "an edited command was taken again");
    // ...but a question edited (a typo fixed) is asked again as it now reads.
    let mut edited_question = message(28, 29, group.clone(), 6, "who said that, exactly?", Some((12, BOT)));
    edited_question["message"]["edit_date"] = json!(1764316900);
    edited_question["edited_message"] = edited_question["message"].take();
    edited_question.as_object_mut().unwrap().remove("message");
    let update: teloxide::types::Update = serde_json::from_str(&edited_question.to_string()).unwrap();
    s.adapter.handle_update(&s.core, update).await;
    assert_ne!(s.requests(), before, "an edited question was not asked");
    wait_for("the answer to the edited question", || s.fake.sent_to(-1001).len() == 6).await;
}

/// A group upgraded to a supergroup says so at once (a service message in each): the
/// subscription follows then, not only when the next digest finds the old chat gone, so the
/// chat under its new id is not taken for one never subscribed. What readers already set under
/// the new id stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_group_takes_its_subscription_along_at_once() {
    let s = setup(true).await;
    subscribe(&s.store, -5);
    s.fake.push_update(json!({"update_id": 900, "message": {"message_id": 1, "date": 1764316800,
        "chat": {"id": -5, "type": "group", "title": "Readers"},
        "from": {"id": 6, "is_bot": false, "first_name": "Admin"}, "migrate_to_chat_id": -1005}}));
    wait_for("the move", || s.store.subscription("telegram:-1005").unwrap().is_some()).await;
    assert!(s.store.subscription("telegram:-5").unwrap().is_none());

    // Readers of the new supergroup subscribed it anew (at their own time) before the old
    // group's news came: their subscription stands.
    subscribe(&s.store, -6);
    let fresh = podsift::deliver::Subscription::new(
        Destination::new("telegram", "-1006"),
        podsift::deliver::Schedule::daily("06:00", "UTC").unwrap(),
        "telegram:7",
        morning(),
    );
    s.store.put_subscription(&fresh).unwrap();
    s.fake.push_update(json!({"update_id": 901, "message": {"message_id": 2, "date": 1764316800,
        "chat": {"id": -1006, "type": "supergroup", "title": "Readers"},
        "from": {"id": 6, "is_bot": false, "first_name": "Admin"}, "migrate_from_chat_id": -6}}));
    wait_for("the old subscription to go", || s.store.subscription("telegram:-6").unwrap().is_none()).await;
    assert_eq!(s.store.subscription("telegram:-1006").unwrap().unwrap().schedule.describe(), "06:00 UTC");
    assert!(s.fake.sent_to(-5).is_empty() && s.fake.sent_to(-1006).is_empty(), "a service message was answered");
}

/// In a forum supergroup, a chat subscribed from a topic gets its digests in that topic, not in
/// the General topic (which may be closed to the bot).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forum_topic_gets_its_own_digest() {
    let s = setup(true).await;
    s.fake.make_admin(5);
    let forum = json!({"id": -1007, "type": "supergroup", "title": "Club", "is_forum": true});
    let mut start = message(10, 30, forum, 5, "/subscribe 07:59 UTC", None);
    start["message"]["message_thread_id"] = json!(77);
    start["message"]["is_topic_message"] = json!(true);
    s.fake.push_update(start);
    wait_for("the subscription", || s.store.subscription("telegram:-1007/77").unwrap().is_some()).await;
    wait_for("the confirmation", || !s.fake.sent_to(-1007).is_empty()).await;
    assert_eq!(s.fake.sent_to(-1007)[0].body["message_thread_id"], 77, "confirmed outside the topic");
    // Made a day before, so that this morning's digest is owed to it.
    let mut sub = s.store.subscription("telegram:-1007/77").unwrap().unwrap();
    sub.created_at = morning() - chrono::Duration::days(1);
    s.store.put_subscription(&sub).unwrap();
    assert_eq!(s.deliverer.tick(at("2026-11-28T08:00:00Z")).await.unwrap().delivered, 1);
    let sent = s.fake.sent_to(-1007);
    assert_eq!(sent.len(), 7, "a confirmation and a digest of six parts");
    assert!(sent.iter().all(|m| m.body["message_thread_id"] == 77), "a part went to the General topic");
    // Its topics share the group's rate limits: Telegram counts messages per chat.
    let (topic, group) = (Destination::new("telegram", "-1007/77"), Destination::new("telegram", "-1007"));
    assert_eq!(s.adapter.rate_key(&topic), s.adapter.rate_key(&group));

    // A forum subscribed as a whole (as all were before topics were told apart) stays one chat:
    // asked from a topic, it answers for the whole forum rather than "not subscribed".
    subscribe(&s.store, -1008);
    let whole = json!({"id": -1008, "type": "supergroup", "title": "Old club", "is_forum": true});
    let mut look = message(11, 31, whole, 5, "/time", None);
    look["message"]["message_thread_id"] = json!(5);
    look["message"]["is_topic_message"] = json!(true);
    s.fake.push_update(look);
    wait_for("the settings", || !s.fake.sent_to(-1008).is_empty()).await;
    let said = text_of(&s.fake.sent_to(-1008)[0]);
    assert!(said.contains("This chat gets the top 5 every day at 07:59 UTC"), "{said}");
    assert!(s.store.subscription("telegram:-1008/5").unwrap().is_none());
    // But a topic that subscribes gets its own subscription, whole forum (or General) or not.
    let whole = json!({"id": -1008, "type": "supergroup", "title": "Old club", "is_forum": true});
    let mut own = message(12, 32, whole, 5, "/subscribe 06:00 UTC", None);
    own["message"]["message_thread_id"] = json!(9);
    own["message"]["is_topic_message"] = json!(true);
    s.fake.push_update(own);
    wait_for("the topic's own subscription", || s.store.subscription("telegram:-1008/9").unwrap().is_some()).await;
    let whole_sub = s.store.subscription("telegram:-1008").unwrap().unwrap();
    assert_eq!(whole_sub.schedule.describe(), "07:59 UTC", "the whole forum's subscription was changed");
}

/// Subscribes `chat` daily at 07:59 UTC, two days before the test's morning.
fn subscribe(store: &Store, chat: i64) -> Destination {
    let dest = Destination::new("telegram", &chat.to_string());
    common::subscribe_at(store, dest, at("2026-11-28T08:00:00Z"), 1, morning() - chrono::Duration::days(2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_blocked_and_migrated_chats() {
    let s = setup(false).await;
    // 429: waits exactly retry_after, then delivers once.
    subscribe(&s.store, 1);
    s.fake.script(1, vec![error(429, "Too Many Requests: retry after 1", Some(json!({"retry_after": 1})))]);
    // 403: the user blocked the bot; the subscription is paused with the reason.
    let blocked = subscribe(&s.store, 2);
    s.fake.script(2, vec![error(403, "Forbidden: bot was blocked by the user", None)]);
    // Removed from a basic group, in Telegram's wording of today (teloxide knows an older one):
    // paused too, not skipped day after day.
    let kicked = subscribe(&s.store, -4);
    s.fake.script(-4, vec![error(403, "Forbidden: bot was kicked from the group chat", None)]);
    // The group became a supergroup: the digest and the subscription move there.
    subscribe(&s.store, -3);
    upgraded_on_next_send(&s.fake, -3, -1003);

    let summary = s.deliverer.tick(at("2026-11-28T08:00:00Z")).await.unwrap();
    assert_eq!((summary.delivered, summary.paused), (2, 2), "{summary:?}");
    let sub = s.store.subscription(&kicked.key()).unwrap().unwrap();
    assert!(sub.paused.as_deref().unwrap().contains("kicked"), "{:?}", sub.paused);

    let tries = s.fake.calls("sendMessage").into_iter().filter(|c| c.body["chat_id"] == 1).collect::<Vec<_>>();
    assert!(tries[1].at - tries[0].at >= Duration::from_millis(1000), "the 429 wait was not honoured");
    assert_eq!(s.fake.sent_to(1).len(), 6);

    let sub = s.store.subscription(&blocked.key()).unwrap().unwrap();
    assert!(sub.paused.as_deref().unwrap().contains("blocked"), "{:?}", sub.paused);

    assert_eq!(s.fake.sent_to(-1003).len(), 6);
    assert!(s.store.subscription("telegram:-3").unwrap().is_none());
    assert!(s.store.subscription("telegram:-1003").unwrap().is_some());
    // The day's record moved with the chat, so later ticks do not send the digest again.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    assert!(s.store.delivery("telegram:-3", day).unwrap().is_none());
    let moved = s.store.delivery("telegram:-1003", day).unwrap().unwrap();
    assert!(matches!(moved.state, DeliveryState::Sent { .. }), "{moved:?}");
    let again = s.deliverer.tick(at("2026-11-28T08:01:00Z")).await.unwrap();
    assert_eq!(again.delivered, 0, "{again:?}");
    assert_eq!(s.fake.sent_to(-1003).len(), 6, "the moved chat got the digest twice");
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

/// Telegram's own trouble (a 500 with its JSON error, whose code teloxide drops) and a refused
/// token are tried again, not taken for a refusal that gives up the day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_is_tried_again_later() {
    let s = setup(false).await;
    let dest = subscribe(&s.store, 5);
    s.fake.script(5, vec![error(500, "Internal Server Error", None)]);
    // So is a refused token (revoked and replaced with @BotFather): the bot's, not the message's.
    let refused = subscribe(&s.store, 6);
    s.fake.script(6, vec![error(401, "Unauthorized", None)]);
    let summary = s.deliverer.tick(at("2026-11-28T08:00:00Z")).await.unwrap();
    assert_eq!((summary.delivered, summary.skipped), (2, 0), "{summary:?}");
    assert_eq!(s.fake.sent_to(6).len(), 6, "the digest once the token works again");
    assert!(s.store.subscription(&refused.key()).unwrap().unwrap().paused.is_none());
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let record = s.store.delivery(&dest.key(), day).unwrap().unwrap();
    assert!(matches!(record.state, DeliveryState::Sent { .. }), "{record:?}");
    let tries = s.fake.calls("sendMessage").into_iter().filter(|c| c.body["chat_id"] == 5).count();
    assert_eq!((tries, s.fake.sent_to(5).len()), (7, 6), "the failed part was not sent again");
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

/// A chat that becomes a supergroup after its digest went out, found out by a later reply:
/// the day's record moves with it, so the schedule does not send the digest there again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_migrated_after_its_digest_is_not_sent_it_again() {
    let s = setup(false).await;
    let old = subscribe(&s.store, -5);
    assert_eq!(s.deliverer.tick(at("2026-11-28T08:00:00Z")).await.unwrap().delivered, 1);
    assert_eq!(s.fake.sent_to(-5).len(), 6);
    upgraded_on_next_send(&s.fake, -5, -1005);
    s.deliverer.send_now(&old, None, &Message::Notice("Subscribed.".into())).await.unwrap();
    assert_eq!(s.fake.sent_to(-1005).len(), 1, "the notice follows the chat");
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    assert!(s.store.delivery("telegram:-1005", day).unwrap().is_some(), "the day's record stayed behind");
    let again = s.deliverer.tick(at("2026-11-28T08:05:00Z")).await.unwrap();
    assert_eq!(again.delivered, 0, "{again:?}");
    assert_eq!(s.fake.sent_to(-1005).len(), 1, "the migrated chat got the digest again");
}

/// A `/digest` whose chat is upgraded to a supergroup while it is sent is recorded under the
/// new id: the schedule does not send that chat the digest again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_asked_for_by_a_chat_that_migrates_is_recorded_where_it_went() {
    use podsift::deliver::{Command, Request, Sender};
    let s = setup(false).await;
    let old = subscribe(&s.store, -7);
    upgraded_on_next_send(&s.fake, -7, -1007);
    s.core.handle_and_reply(Request::new(old, Sender::owner("reader"), Command::DigestNow)).await;
    let parts = s.fake.sent_to(-1007).len();
    assert!(parts >= 2, "the digest did not follow the chat: {parts}");
    let day = morning().date_naive();
    let rec = s.store.delivery("telegram:-1007", day).unwrap().expect("the record went with the chat");
    assert!(matches!(rec.state, DeliveryState::Sent { .. }), "{rec:?}");
    assert_eq!(s.deliverer.tick(at("2026-11-28T08:00:30Z")).await.unwrap().delivered, 0);
    assert_eq!(s.fake.sent_to(-1007).len(), parts, "the schedule sent the migrated chat its digest again");
}

/// A reader's `/digest` whose chat moves to an id the schedule is sending the digest to right now
/// sends no more: the scheduled delivery there is the one the chat gets.
#[tokio::test]
async fn a_digest_asked_for_stops_when_its_chat_moves_where_the_schedule_is_sending() {
    use podsift::deliver::{Command, Request, Sender};
    let s = setup(false).await;
    let old = subscribe(&s.store, -8);
    upgraded_on_next_send(&s.fake, -8, -1008);
    let scheduled = s.deliverer.claim("telegram:-1008").expect("nobody sends there yet");
    let request = Request::new(old, Sender::owner("reader"), Command::DigestNow);
    s.core.handle_and_reply(request).await;
    // The reader is told why no digest came: only that one message went to the new id.
    let told = s.fake.sent_to(-1008);
    assert_eq!(told.len(), 1, "the requested digest went where the schedule was sending it");
    assert_eq!(told[0].body["text"], "A digest is being sent here right now; ask again in a minute if none comes.");
    let day = morning().date_naive();
    assert!(
        s.store.delivery("telegram:-1008", day).unwrap().is_none_or(|r| !matches!(r.state, DeliveryState::Sent { .. }))
    );
    drop(scheduled);
    assert_eq!(s.deliverer.tick(at("2026-11-28T08:00:30Z")).await.unwrap().delivered, 1);
    assert!(s.fake.sent_to(-1008).len() >= 3, "the moved chat never got its digest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_checks_the_secret_token() {
    let s = setup(false).await;
    let mut adapter_cfg = TelegramConfig {
        webhook_url: Some("https://podsift.example.com/telegram/webhook".into()),
        ..TelegramConfig::default()
    };
    adapter_cfg.api_url = Some(s.fake.base.clone());
    let webhook_adapter = Arc::new(TelegramAdapter::connect(&adapter_cfg, TOKEN).await.unwrap());
    let (_stop, rx) = tokio::sync::watch::channel(false);
    let inbound = Box::new(TelegramInbound { adapter: webhook_adapter, webhook_secret: Some("hook-secret".into()) });
    let router = inbound.start(s.core.clone(), rx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let url = format!("http://{addr}{WEBHOOK_PATH}");
    let client = reqwest::Client::new();
    let update = real_start_update();
    for secret in [None, Some("wrong")] {
        let mut req = client.post(&url).json(&update);
        if let Some(sec) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", sec);
        }
        assert_eq!(req.send().await.unwrap().status(), 401);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(s.store.subscriptions().unwrap().is_empty(), "an unauthenticated update was processed");
    let resp =
        client.post(&url).header("X-Telegram-Bot-Api-Secret-Token", "hook-secret").json(&update).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    wait_for("the subscription", || s.store.subscriptions().unwrap().len() == 1).await;
    wait_for("setWebhook", || !s.fake.calls("setWebhook").is_empty()).await;
    assert_eq!(s.fake.calls("setWebhook")[0].body["secret_token"], "hook-secret");
    // Telegram sends a call again when it missed the answer: the update is taken once.
    wait_for("the confirmation", || s.fake.calls("sendMessage").len() == 1).await;
    let again =
        client.post(&url).header("X-Telegram-Bot-Api-Secret-Token", "hook-secret").json(&update).send().await.unwrap();
    assert_eq!(again.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.fake.calls("sendMessage").len(), 1, "a re-sent update was answered twice");
}

/// A long poll as long as Telegram's default (30 s) is waited out: the HTTP client does not give
/// up on it first (teloxide's own gives up after 17 s), which made every quiet poll a failure
/// and the bot slow to answer after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_long_poll_is_waited_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let fake = FakeTelegram::start().await;
    fake.hold_polls(Duration::from_secs(25));
    let cfg = TelegramConfig {
        enabled: true,
        api_url: Some(fake.base.clone()),
        poll_timeout_secs: 30,
        ..TelegramConfig::default()
    };
    let adapter = Arc::new(TelegramAdapter::connect(&cfg, TOKEN).await.unwrap());
    let (_deliverer, core, _metrics) =
        common::core_with(&store, adapter.clone() as Arc<dyn Adapter>, Arc::new(morning));
    let (stop, rx) = tokio::sync::watch::channel(false);
    let inbound = Box::new(TelegramInbound { adapter, webhook_secret: None });
    let _router = inbound.start(core, rx);
    tokio::time::sleep(Duration::from_secs(22)).await;
    let polls = fake.calls("getUpdates").len();
    let _ = stop.send(true);
    assert_eq!(polls, 1, "a poll was given up before Telegram's answer and asked again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_token_is_one_clear_error() {
    let fake = FakeTelegram::start().await;
    let cfg = TelegramConfig { api_url: Some(fake.base.clone()), ..TelegramConfig::default() };
    let err = TelegramAdapter::connect(&cfg, "999:wrong").await.err().unwrap();
    assert!(err.contains("TELEGRAM_BOT_TOKEN") && err.contains("invalid token"), "{err}");
    assert_eq!(err.lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_texts_split_within_the_limit() {
    let s = setup(false).await;
    // Emoji count twice in UTF-16 and entities are longer in HTML than on screen: the fake counts
    // both its own way, and everything sent must arrive whole.
    let long = "word & <tag> 😀 ".repeat(1000);
    let dest = Destination::new("telegram", "77");
    s.deliverer.send_now(&dest, None, &Message::Notice(long.clone())).await.unwrap();
    let sent = s.fake.sent_to(77);
    assert!(sent.len() >= 3, "{} messages", sent.len());
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
    let received: String = sent
        .iter()
        .map(|c| text_of(c).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(received.matches("😀").count(), 1000);
    assert_eq!(received.matches("<tag>").count(), 1000);
    s.deliverer.send_now(&dest, None, &Message::Notice("a < b && c > d".into())).await.unwrap();
    assert_eq!(s.fake.sent_to(77).last().unwrap().body["text"], "a &lt; b &amp;&amp; c &gt; d");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_to_a_digest_asked_for_is_answered_and_other_replies_get_a_hint() {
    let s = setup(true).await;
    s.fake.push_update(message(1, 10, private(), CHAT, "/digest", None));
    wait_for("the digest", || s.fake.sent_to(CHAT).len() == 6).await;
    let digest = s.fake.sent_to(CHAT);
    assert!(text_of(&digest[3]).starts_with("<b>#3</b>"), "{}", text_of(&digest[3]));
    let third = digest[3].body["message_id"].as_i64().unwrap();
    s.fake.push_update(message(2, 11, private(), CHAT, "who said that?", Some((third, BOT))));
    wait_for("the answer", || s.fake.sent_to(CHAT).len() == 7).await;
    let answer = s.fake.sent_to(CHAT)[6].clone();
    assert!(text_of(&answer).starts_with("About #3"), "{}", text_of(&answer));
    assert_eq!(answer.body["reply_parameters"]["message_id"], 11);

    // A reply to podsift's digest header carries no insight: a hint, never silence.
    let header = digest[0].body["message_id"].as_i64().unwrap();
    s.fake.push_update(message(3, 12, private(), CHAT, "and this?", Some((header, BOT))));
    wait_for("the hint", || s.fake.sent_to(CHAT).len() == 8).await;
    let hint = text_of(&s.fake.sent_to(CHAT)[7]);
    assert!(hint.contains("not one of the insights") && hint.contains("/ask N question"), "{hint}");
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_digest_comes_when_announced_and_never_twice_a_day_unasked() {
    let s = setup(true).await;
    // Subscribed at 08:17 to the default 08:00: today's 08:00 was never owed to this chat.
    s.set_time(at("2026-11-28T08:17:00Z"));
    s.fake.push_update(message(1, 10, private(), CHAT, "/start", None));
    wait_for("the confirmation", || s.fake.sent_to(CHAT).len() == 1).await;
    let confirmation = text_of(&s.fake.sent_to(CHAT)[0]);
    assert!(confirmation.contains("The first comes tomorrow at 08:00 (UTC)."), "{confirmation}");
    assert_eq!(s.deliverer.tick(at("2026-11-28T08:18:00Z")).await.unwrap().delivered, 0);
    assert_eq!(s.fake.sent_to(CHAT).len(), 1, "a digest due before the subscription was sent");
    assert_eq!(s.deliverer.tick(at("2026-11-29T08:00:30Z")).await.unwrap().delivered, 1);
    assert_eq!(s.fake.sent_to(CHAT).len(), 7);

    // Another chat asks for today's digest at 07:30, before its 08:00 delivery: the schedule does
    // not send it again that day; asking again does.
    let other = 555;
    let chat = json!({"id": other, "type": "private", "first_name": "Sam"});
    s.set_time(at("2026-11-28T07:00:00Z"));
    s.fake.push_update(message(2, 20, chat.clone(), other, "/start", None));
    wait_for("the confirmation", || s.fake.sent_to(other).len() == 1).await;
    s.set_time(at("2026-11-28T07:30:00Z"));
    s.fake.push_update(message(3, 21, chat.clone(), other, "/digest", None));
    wait_for("the digest", || s.fake.sent_to(other).len() == 7).await;
    let dest = Destination::new("telegram", &other.to_string());
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    wait_for("the record", || s.store.delivery(&dest.key(), date).unwrap().is_some()).await;
    assert_eq!(s.deliverer.tick(at("2026-11-28T08:01:00Z")).await.unwrap().delivered, 0);
    assert_eq!(s.fake.sent_to(other).len(), 7, "the same digest was sent twice in a day unasked");
    s.fake.push_update(message(4, 22, chat, other, "/digest", None));
    wait_for("the digest asked again", || s.fake.sent_to(other).len() == 13).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_limits_are_telegrams() {
    let fake = FakeTelegram::start().await;
    let cfg = TelegramConfig { api_url: Some(fake.base.clone()), ..TelegramConfig::default() };
    let adapter = TelegramAdapter::connect(&cfg, TOKEN).await.unwrap();
    let limits = adapter.limits();
    assert_eq!((limits.global_per_second, limits.per_destination_per_second), (30.0, 1.0));
    assert_eq!(adapter.per_destination_rate(&Destination::new("telegram", "714862471")), 1.0);
    // Groups: 20 a minute.
    let group = adapter.per_destination_rate(&Destination::new("telegram", "-1001234"));
    assert!((group - 20.0 / 60.0).abs() < 1e-9, "{group}");
    assert_eq!(limits.max_message_len, 4096);
    assert_eq!(limits.unit, podsift::deliver::TextUnit::Utf16);
}

/// A webhook secret set but empty (or not of Telegram's characters) is refused at start: an
/// empty one would let unsigned requests through.
#[test]
fn an_empty_or_malformed_webhook_secret_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("podsift.toml");
    std::fs::write(
        &config,
        "[adapters.telegram]\nenabled = true\nwebhook_url = \"https://podsift.example.com/telegram/webhook\"\n",
    )
    .unwrap();
    for (secret, says) in [
        ("", "TELEGRAM_WEBHOOK_SECRET is not"),
        ("   ", "TELEGRAM_WEBHOOK_SECRET is not"),
        ("has spaces and é", "only A-Z, a-z, 0-9, _ and -"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_podsift"))
            .arg("--data")
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env("TELEGRAM_BOT_TOKEN", "123:abc")
            .env("TELEGRAM_WEBHOOK_SECRET", secret)
            .env_remove("PODSIFT_CONFIG")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "started with secret {secret:?}");
        assert!(err.contains(says), "{secret:?}: {err}");
    }
}

/// A command acknowledged to Telegram (its offset moved on) that still asks whether its sender
/// is an admin is waited for by a stopping service, as a request already submitted is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_still_asking_telegram_counts_as_taken() {
    let s = setup(true).await;
    s.fake.slow_member_lookups(Duration::from_millis(800));
    let group = json!({"id": -1002, "type": "supergroup", "title": "Readers"});
    let text = message(1, 10, group, 5, "/subscribe@podsift_bot", None).to_string();
    let update: teloxide::types::Update = serde_json::from_str(&text).unwrap();
    let (adapter, core) = (s.adapter.clone(), s.core.clone());
    tokio::spawn(async move { adapter.handle_update(&core, update).await });
    let started = std::time::Instant::now();
    while s.core.requests_answered(Duration::from_millis(5)).await {
        assert!(started.elapsed() < Duration::from_secs(10), "the update was never counted as taken");
    }
    assert!(s.fake.calls("getChatMember").is_empty(), "counted only once submitted, after Telegram answered");
    assert!(s.core.requests_answered(Duration::from_secs(10)).await);
    assert_eq!(s.fake.calls("getChatMember").len(), 1);
}
