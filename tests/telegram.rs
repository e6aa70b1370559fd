//! The Telegram adapter against a fake Bot API server (teloxide's `set_api_url`): the full loop
//! /start → scheduled digest → reply with a question → answer as a reply, buttons, groups,
//! 429 / 403 / migration, webhook secret checks, an invalid token.
#![cfg(feature = "telegram")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::telegram::{FakeTelegram, TOKEN, error};
use podsift::adapters::telegram::{TelegramAdapter, TelegramInbound, WEBHOOK_PATH, check_visible_limit};
use podsift::config::{Config, TelegramConfig};
use podsift::deliver::commands::Core;
use podsift::deliver::fanout::Deliverer;
use podsift::deliver::inbound::Inbound;
use podsift::deliver::{Adapter, Destination, Message};
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

struct Setup {
    _dir: tempfile::TempDir,
    store: Store,
    fake: FakeTelegram,
    adapter: Arc<TelegramAdapter>,
    core: Arc<Core>,
    deliverer: Arc<Deliverer>,
    _stop: tokio::sync::watch::Sender<bool>,
}

async fn setup(poll: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    podsift::demo::ingest_demo(&store, &Config::default(), Utc::now(), &Quiet).await.unwrap();
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
    let mut config = Config::default();
    config.delivery.backoff_base_ms = 20;
    let metrics = Arc::new(Metrics::default());
    let deliverer = Arc::new(Deliverer::new(
        store.clone(),
        vec![adapter.clone() as Arc<dyn Adapter>],
        config.delivery.clone(),
        config.digest.clone(),
        metrics.clone(),
    ));
    let core = Arc::new(Core::new(
        store.clone(),
        config,
        deliverer.clone(),
        metrics,
        Arc::new(podsift::ask::QuoteAnswerer { max_citations: 3 }),
    ));
    let (stop, rx) = tokio::sync::watch::channel(false);
    if poll {
        let inbound = Box::new(TelegramInbound { adapter: adapter.clone(), webhook_secret: None });
        let _ = inbound.start(core.clone(), rx);
    }
    Setup { _dir: dir, store, fake, adapter, core, deliverer, _stop: stop }
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

fn message(update_id: i64, message_id: i64, chat: Value, from: i64, text: &str, reply_to: Option<i64>) -> Value {
    let mut m = json!({"message_id": message_id, "date": 1764316800, "chat": chat,
        "from": {"id": from, "is_bot": false, "first_name": "Reader"}, "text": text});
    if let Some(r) = reply_to {
        m["reply_to_message"] =
            json!({"message_id": r, "date": 1764316800, "chat": m["chat"].clone(), "text": "insight"});
    }
    json!({"update_id": update_id, "message": m})
}

fn private() -> Value {
    json!({"id": CHAT, "type": "private", "first_name": "Chris"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_loop_start_digest_reply_answer_buttons() {
    let s = setup(true).await;
    // Commands were registered for autocomplete.
    let commands = &s.fake.calls("setMyCommands")[0].body["commands"];
    assert!(commands.as_array().unwrap().iter().any(|c| c["command"] == "ask"), "{commands}");

    // The real /start update subscribes the private chat.
    s.fake.push_update(real_start_update());
    wait_for("the /start reply", || !s.fake.sent_to(CHAT).is_empty()).await;
    assert!(s.fake.sent_to(CHAT)[0].body["text"].as_str().unwrap().contains("Subscribed"));
    let dest = Destination::new("telegram", &CHAT.to_string());
    assert!(s.store.subscription(&dest.key()).unwrap().is_some());

    // Set a time that is already due, then the scheduled tick delivers.
    let time = (Utc::now() - chrono::Duration::minutes(1)).format("%H:%M").to_string();
    s.fake.push_update(message(633291300, 130, private(), CHAT, &format!("/time {time} UTC"), None));
    wait_for("the /time reply", || s.fake.sent_to(CHAT).len() >= 2).await;
    assert_eq!(s.deliverer.tick(Utc::now()).await.unwrap().delivered, 1);
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
    s.fake.push_update(message(633291301, 131, private(), CHAT, "what exactly was said about that?", Some(second_id)));
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
    s.fake.push_update(message(633291304, 140, private(), CHAT, "what was the point?", Some(prompt_id)));
    wait_for("the answer to the prompt", || s.fake.sent_to(CHAT).len() > before + 1).await;
    assert!(s.fake.sent_to(CHAT).last().unwrap().body["text"].as_str().unwrap().starts_with("About #1"));
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_need_an_admin_and_ignore_other_bots() {
    let s = setup(true).await;
    let group = json!({"id": -1001, "type": "supergroup", "title": "Readers"});
    s.fake.push_update(message(1, 10, group.clone(), 5, "/start@podsift_bot", None));
    wait_for("the refusal", || !s.fake.sent_to(-1001).is_empty()).await;
    assert!(s.fake.sent_to(-1001)[0].body["text"].as_str().unwrap().contains("Only the group's admins"));
    assert!(s.store.subscriptions().unwrap().is_empty());
    s.fake.push_update(message(2, 11, group.clone(), 6, "/start@other_bot", None));
    s.fake.make_admin(5);
    s.fake.push_update(message(3, 12, group.clone(), 5, "/start@podsift_bot 07:30 Europe/Berlin", None));
    wait_for("the subscription", || s.store.subscriptions().unwrap().len() == 1).await;
    assert_eq!(s.store.subscriptions().unwrap()[0].schedule.describe(), "07:30 Europe/Berlin");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.fake.sent_to(-1001).len(), 2, "the command for another bot was answered");
    // Anyone may ask or read the help.
    s.fake.push_update(message(4, 13, group, 6, "/help", None));
    wait_for("the help", || s.fake.sent_to(-1001).len() == 3).await;
}

fn subscribe(store: &Store, chat: i64) -> Destination {
    common::subscribe_due(store, Destination::new("telegram", &chat.to_string()), 1)
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
    // The group became a supergroup: the digest and the subscription move there.
    subscribe(&s.store, -3);
    s.fake.script(
        -3,
        vec![error(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            Some(json!({"migrate_to_chat_id": -1003})),
        )],
    );

    let summary = s.deliverer.tick(Utc::now()).await.unwrap();
    assert_eq!((summary.delivered, summary.paused), (2, 1), "{summary:?}");

    let tries = s.fake.calls("sendMessage").into_iter().filter(|c| c.body["chat_id"] == 1).collect::<Vec<_>>();
    assert!(tries[1].at - tries[0].at >= Duration::from_millis(1000), "the 429 wait was not honoured");
    assert_eq!(s.fake.sent_to(1).len(), 6);

    let sub = s.store.subscription(&blocked.key()).unwrap().unwrap();
    assert!(sub.paused.as_deref().unwrap().contains("blocked"), "{:?}", sub.paused);

    assert_eq!(s.fake.sent_to(-1003).len(), 6);
    assert!(s.store.subscription("telegram:-3").unwrap().is_none());
    assert!(s.store.subscription("telegram:-1003").unwrap().is_some());
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
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
    let long = "word & <tag> ".repeat(1000);
    let parts = s.adapter.render(&Message::Notice(long));
    assert!(parts.len() >= 3);
    for p in &parts {
        check_visible_limit(&p.body).unwrap();
    }
    let dest = Destination::new("telegram", "77");
    s.deliverer.send_now(&dest, &Message::Notice("a < b && c > d".into())).await.unwrap();
    assert_eq!(s.fake.sent_to(77)[0].body["text"], "a &lt; b &amp;&amp; c &gt; d");
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}
