//! The Discord adapter against a fake Discord REST API (serenity's client pointed at it) and
//! signed interaction requests: forged, stale and unsigned requests refused, PING answered,
//! /podsift subscribe with and without Manage Channels, the scheduled digest as embeds with
//! buttons within Discord's limits, Ask → modal → answer in the insight's thread, 👍 stored,
//! 429 waited out, 403 pausing the subscription. The endpoint and the gateway share one handler;
//! its glue is exercised with the same payloads.
#![cfg(feature = "discord")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::discord::{APP, FakeDiscord, TOKEN};
use ed25519_dalek::{Signer, SigningKey};
use podsift::adapters::discord::inbound::{DiscordInbound, ENDPOINT_PATH, Interactions, VerifyError, verify};
use podsift::adapters::discord::{DiscordAdapter, MAX_CONTENT};
use podsift::config::{Config, DiscordConfig, DiscordMode};
use podsift::deliver::fanout::Deliverer;
use podsift::deliver::inbound::Inbound;
use podsift::deliver::{Adapter, Destination};
use podsift::ingest::Quiet;
use podsift::metrics::Metrics;
use podsift::store::Store;
use serde_json::{Value, json};
use serenity::all::Interaction;
use serenity::interactions_endpoint::Verifier;

const CHANNEL: &str = "1100";
const SECRET: [u8; 32] = [7; 32];

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn morning() -> DateTime<Utc> {
    at("2026-11-28T07:00:00Z")
}

struct Setup {
    store: Store,
    fake: FakeDiscord,
    interactions: Arc<Interactions>,
    deliverer: Arc<Deliverer>,
    /// The endpoint, served on 127.0.0.1.
    endpoint: String,
    _stop: tokio::sync::watch::Sender<bool>,
    /// Last, so the store is closed before its directory is deleted: sled flushing into a
    /// deleted directory waits forever.
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    podsift::demo::ingest_demo(&store, &Config::default(), morning(), &Quiet).await.unwrap();
    let fake = FakeDiscord::start().await;
    let cfg = DiscordConfig {
        enabled: true,
        mode: DiscordMode::Endpoint,
        api_url: Some(fake.base.clone()),
        global_per_second: 500.0,
        per_channel_per_second: 200.0,
        ..DiscordConfig::default()
    };
    let adapter = Arc::new(DiscordAdapter::connect(&cfg, TOKEN, APP).await.unwrap());
    let (deliverer, core, _) =
        common::core_with(&store, adapter.clone() as Arc<dyn Adapter>, Arc::new(|| at("2026-11-28T07:30:00Z")));
    let interactions = Arc::new(Interactions::new(adapter.clone(), core.clone()));
    let public_key = SigningKey::from_bytes(&SECRET).verifying_key().to_bytes();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let inbound = Box::new(DiscordInbound { adapter, token: TOKEN.into(), public_key: Some(public_key) });
    let router = inbound.start(core, rx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}{ENDPOINT_PATH}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Setup { _dir: dir, store, fake, interactions, deliverer, endpoint, _stop: stop }
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

/// POSTs `body` to the endpoint signed with the test key at `timestamp`.
async fn post_signed(s: &Setup, body: &Value, timestamp: i64) -> reqwest::Response {
    Signed { endpoint: s.endpoint.clone() }.post(body, timestamp).await
}

fn user() -> Value {
    json!({"id": "170531778354741248", "username": "miles", "discriminator": "0", "avatar": null})
}

fn base(kind: u8, token: &str) -> Value {
    json!({"id": "995105663481028770", "application_id": APP.to_string(), "type": kind, "token": token,
        "version": 1, "channel_id": CHANNEL, "guild_id": "1", "locale": "en-US", "entitlements": [],
        "authorizing_integration_owners": {}, "app_permissions": "2248473465835073",
        "attachment_size_limit": 8388608})
}

/// A /podsift SUBCOMMAND interaction from a server member with `permissions`.
fn slash(token: &str, sub: &str, options: Value, permissions: &str) -> Value {
    let mut v = base(2, token);
    v["data"] =
        json!({"id": "1", "name": "podsift", "type": 1, "options": [{"name": sub, "type": 1, "options": options}]});
    v["member"] = json!({"user": user(), "roles": [], "joined_at": "2020-01-01T00:00:00+00:00", "deaf": false,
        "mute": false, "flags": 0, "permissions": permissions});
    v
}

fn button(token: &str, custom_id: &str, message_id: &str) -> Value {
    let mut v = base(3, token);
    v["data"] = json!({"custom_id": custom_id, "component_type": 2});
    v["member"] = json!({"user": user(), "roles": [], "joined_at": "2020-01-01T00:00:00+00:00", "deaf": false,
        "mute": false, "flags": 0, "permissions": "0"});
    v["message"] = json!({"id": message_id, "channel_id": CHANNEL, "author": {"id": "42", "username": "podsift",
        "discriminator": "0", "avatar": null, "bot": true}, "content": "", "timestamp": "2026-11-28T08:00:00+00:00",
        "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": [], "pinned": false, "type": 0});
    v
}

fn modal_submit(token: &str, custom_id: &str, question: &str) -> Value {
    let mut v = base(5, token);
    v["data"] = json!({"custom_id": custom_id, "components": [{"type": 1, "components": [
        {"type": 4, "custom_id": "question", "value": question}]}]});
    v["member"] = json!({"user": user(), "roles": [], "joined_at": "2020-01-01T00:00:00+00:00", "deaf": false,
        "mute": false, "flags": 0, "permissions": "0"});
    v
}

/// The shared handler, as the gateway calls it: the response as JSON.
async fn handle(s: &Setup, payload: Value) -> Value {
    let interaction: Interaction = serde_json::from_value(payload).unwrap();
    serde_json::to_value(s.interactions.handle(interaction).await).unwrap()
}

#[test]
fn the_real_signature_vector_verifies_and_its_forgery_does_not() {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/../shared/fixtures/platform/discord_ssMMiles-discord-interactions_verify-node_data.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let key = podsift::adapters::discord::inbound::public_key(v["PUBLIC_KEY"].as_str().unwrap()).unwrap();
    let verifier = Verifier::try_new(key).unwrap();
    let s = |k: &str| v[k].as_str().unwrap().to_string();
    let ts: i64 = s("TIMESTAMP_VALID").parse().unwrap();
    let body = s("BODY_VALID");
    assert_eq!(
        verify(&verifier, Some(&s("SIGNATURE_VALID")), Some(&s("TIMESTAMP_VALID")), body.as_bytes(), ts),
        Ok(())
    );
    let forged = s("BODY_INVALID");
    assert_eq!(
        verify(&verifier, Some(&s("SIGNATURE_VALID")), Some(&s("TIMESTAMP_VALID")), forged.as_bytes(), ts),
        Err(VerifyError::BadSignature)
    );
    // The same genuine request, replayed ten minutes later.
    assert_eq!(
        verify(&verifier, Some(&s("SIGNATURE_VALID")), Some(&s("TIMESTAMP_VALID")), body.as_bytes(), ts + 600),
        Err(VerifyError::Stale)
    );
    assert_eq!(verify(&verifier, None, Some("1"), b"{}", 1), Err(VerifyError::Missing));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_refuses_forged_stale_and_unsigned_requests_and_answers_ping() {
    let s = setup().await;
    let ping = json!({"id": "1", "application_id": APP.to_string(), "type": 1, "token": "t", "version": 1,
        "attachment_size_limit": 8388608});
    let now = Utc::now().timestamp();
    let ok = post_signed(&s, &ping, now).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap()["type"], 1, "PONG");
    assert_eq!(post_signed(&s, &ping, now - 301).await.status(), 401, "a stale request was taken");
    // Signed, then changed: the subscription it asks for must not happen.
    let sub = slash("tok-forged", "subscribe", json!([]), "16");
    let key = SigningKey::from_bytes(&SECRET);
    let sig: String =
        key.sign(format!("{now}{sub}").as_bytes()).to_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let tampered = sub.to_string().replace("subscribe", "unsubscribe");
    let client = reqwest::Client::new();
    let forged = client
        .post(&s.endpoint)
        .header("x-signature-ed25519", sig)
        .header("x-signature-timestamp", now.to_string())
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let unsigned = client.post(&s.endpoint).body(sub.to_string()).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.fake.followups().is_empty(), "a refused request was acted on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_interaction_sent_again_is_refused() {
    let s = setup().await;
    let now = Utc::now().timestamp();
    let subscribe = slash("tok-first", "subscribe", json!([]), "16");
    assert_eq!(post_signed(&s, &subscribe, now).await.status(), 200);
    wait_for("the subscription", || s.store.subscriptions().unwrap().len() == 1).await;
    post_signed(&s, &slash("tok-second", "unsubscribe", json!([]), "16"), now).await;
    wait_for("the unsubscription", || s.store.subscriptions().unwrap().is_empty()).await;
    // The first interaction, signed by Discord and still within its five minutes, sent again
    // by whoever saw it: refused, and nothing done.
    let again = post_signed(&s, &subscribe, now).await;
    assert_eq!(again.status(), 401);
    assert!(again.text().await.unwrap().contains("already taken"));
    // The same signature spelled in capitals (the check reads hex in either case): the same copy.
    let body = subscribe.to_string();
    let signature = SigningKey::from_bytes(&SECRET).sign(format!("{now}{body}").as_bytes());
    let upper: String = signature.to_bytes().iter().map(|b| format!("{b:02X}")).collect();
    let spelled = reqwest::Client::new()
        .post(&s.endpoint)
        .header("x-signature-ed25519", upper)
        .header("x-signature-timestamp", now.to_string())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(spelled.status(), 401, "a copy with its signature in capitals was taken");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(s.store.subscriptions().unwrap().is_empty(), "a replayed interaction subscribed the channel again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_needs_manage_channels_and_the_digest_arrives_as_embeds_within_limits() {
    let s = setup().await;
    let now = Utc::now().timestamp();
    // Without Manage Channels: deferred, then told politely, only the asker sees it.
    let resp = post_signed(&s, &slash("tok-a", "subscribe", json!([]), "0"), now).await;
    assert_eq!(resp.json::<Value>().await.unwrap()["type"], 5);
    wait_for("the refusal", || s.fake.followups().len() == 1).await;
    let refusal = &s.fake.followups()[0];
    assert!(refusal.path.ends_with("/tok-a"), "{}", refusal.path);
    assert_eq!(refusal.body["flags"], 64, "the refusal is for the asker alone");
    assert!(refusal.body["content"].as_str().unwrap().contains("Only people who can manage this chat"));
    assert!(s.store.subscriptions().unwrap().is_empty());
    // With it (MANAGE_CHANNELS = 16): subscribed at 07:45 in Berlin.
    let options = json!([{"name": "time", "type": 3, "value": "08:45"}, {"name": "timezone", "type": 3, "value": "Europe/Berlin"}]);
    post_signed(&s, &slash("tok-b", "subscribe", options, "16"), now).await;
    wait_for("the confirmation", || s.fake.followups().len() == 2).await;
    let confirmation = s.fake.followups()[1].body["content"].as_str().unwrap().to_string();
    assert!(confirmation.contains("08:45 Europe/Berlin") && confirmation.contains("/podsift time"), "{confirmation}");
    assert_eq!(s.store.subscriptions().unwrap()[0].destination, Destination::new("discord", CHANNEL));

    assert_eq!(s.deliverer.tick(at("2026-11-28T07:46:00Z")).await.unwrap().delivered, 1);
    let digest = s.fake.messages_in(CHANNEL);
    assert_eq!(digest.len(), 6, "header + 5 insights");
    assert!(digest[0].body["content"].as_str().unwrap().contains("top 5"));
    for (i, m) in digest[1..].iter().enumerate() {
        let embed = &m.body["embeds"][0];
        assert!(embed["title"].as_str().unwrap().starts_with(&format!("#{} ", i + 1)), "{embed}");
        let fields: Vec<&str> =
            embed["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert!(fields.contains(&"Podcast") && fields.contains(&"Episode") && fields.contains(&"Moment"), "{fields:?}");
        let buttons = m.body["components"][0]["components"].as_array().unwrap();
        let ids: Vec<&str> = buttons.iter().filter_map(|b| b["custom_id"].as_str()).collect();
        assert!(
            ids[0].starts_with("ask:2026-11-28#") && ids[1].starts_with("fb:up:") && ids[2].starts_with("fb:down:")
        );
        assert!(buttons.iter().any(|b| b["style"] == 5 && b["url"].as_str().unwrap().contains("#t=")), "{buttons:?}");
    }
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

/// `/podsift digest` posts the digest in the channel as the schedule does; a refusal, and what
/// is said about the digest, reach the asker alone; where podsift may not post, subscribing and
/// asking are refused at once, naming the missing permission.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_asked_for_is_posted_in_the_channel_and_only_the_asker_hears_about_it() {
    let s = setup().await;
    let dest = Destination::new("discord", CHANNEL);
    // View Channel and Embed Links, no Send Messages.
    let mut mute = slash("tok-m", "subscribe", json!([]), "16");
    mute["app_permissions"] = json!("17408");
    let resp = handle(&s, mute).await;
    assert_eq!((resp["type"].clone(), resp["data"]["flags"].clone()), (json!(4), json!(64)), "{resp}");
    let said = resp["data"]["content"].as_str().unwrap();
    assert!(said.contains("lacks the Send Messages permission"), "{said}");
    let mut blind = slash("tok-n", "digest", json!([]), "0");
    blind["app_permissions"] = json!("0");
    let resp = handle(&s, blind).await;
    let said = resp["data"]["content"].as_str().unwrap();
    assert!(said.contains("the View Channel, Send Messages and Embed Links permissions"), "{said}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(s.store.subscriptions().unwrap().is_empty(), "subscribed where nothing can be posted");
    assert!(s.fake.messages_in(CHANNEL).is_empty() && s.fake.followups().is_empty());

    let schedule = podsift::deliver::Schedule::daily("08:00", "UTC").unwrap();
    let mut sub = podsift::deliver::Subscription::new(dest.clone(), schedule, "test", at("2026-11-20T00:00:00Z"));
    sub.paused = Some("holiday".into());
    s.store.put_subscription(&sub).unwrap();
    let resp = handle(&s, slash("tok-p", "digest", json!([]), "0")).await;
    assert_eq!((resp["type"].clone(), resp["data"]["flags"].clone()), (json!(5), json!(64)), "{resp}");
    wait_for("the refusal", || s.fake.followups().len() == 1).await;
    let refusal = &s.fake.followups()[0];
    assert!(refusal.path.ends_with("/tok-p") && refusal.body["flags"] == 64, "{refusal:?}");
    assert!(refusal.body["content"].as_str().unwrap().contains("paused (holiday)"), "{}", refusal.body);
    assert!(s.fake.messages_in(CHANNEL).is_empty(), "the refusal went to the channel");

    sub.paused = None;
    s.store.put_subscription(&sub).unwrap();
    handle(&s, slash("tok-d", "digest", json!([]), "0")).await;
    wait_for("the note to the asker", || s.fake.followups().len() == 2).await;
    let digest = s.fake.messages_in(CHANNEL);
    assert_eq!(digest.len(), 6, "header and 5 insights in the channel");
    assert!(digest[1].body["embeds"][0]["title"].as_str().unwrap().starts_with("#1 "), "{}", digest[1].body);
    let note = &s.fake.followups()[1];
    assert!(note.path.ends_with("/tok-d") && note.body["flags"] == 64, "{note:?}");
    let note = note.body["content"].as_str().unwrap();
    assert!(note.contains("posted here") && note.contains("The next comes tomorrow at 08:00 (UTC)"), "{note}");
    // A reply to an insight posted so is a question about it, as under a scheduled digest.
    let id = digest[2].body["id"].as_str().unwrap();
    assert_eq!(s.store.message_ref(&dest.key(), id).unwrap().map(|(_, rank)| rank), Some(2));
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

/// A digest asked for whose one message Discord refuses (an embed it will not take) posts the
/// others, and the asker is told which was left out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_asked_for_with_a_refused_message_posts_the_rest_and_says_so() {
    let s = setup().await;
    let dest = Destination::new("discord", CHANNEL);
    let schedule = podsift::deliver::Schedule::daily("08:00", "UTC").unwrap();
    let sub = podsift::deliver::Subscription::new(dest.clone(), schedule, "test", at("2026-11-20T00:00:00Z"));
    s.store.put_subscription(&sub).unwrap();
    let refused = json!({"message": "Invalid Form Body", "code": 50035});
    s.fake.script(CHANNEL, vec![(200, Value::Null), (200, Value::Null), (200, Value::Null), (400, refused)]);
    handle(&s, slash("tok-d", "digest", json!([]), "0")).await;
    wait_for("the note to the asker", || s.fake.followups().len() == 1).await;
    let note = s.fake.followups()[0].body["content"].as_str().unwrap().to_string();
    assert!(note.contains("posted here") && note.contains("#3 refused by the platform here, so left out"), "{note}");
    let posted = s.fake.messages_in(CHANNEL);
    assert_eq!(posted.len(), 5, "header, #1, #2, #4 and #5");
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

/// A digest asked for that stops part-way is recorded as far as it went: the asker is told,
/// replies to the insights posted reach them, and the schedule later posts only the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_asked_for_that_stops_part_way_is_finished_by_the_schedule_not_repeated() {
    let s = setup().await;
    let dest = Destination::new("discord", CHANNEL);
    let schedule = podsift::deliver::Schedule::daily("08:00", "UTC").unwrap();
    let sub = podsift::deliver::Subscription::new(dest.clone(), schedule, "test", at("2026-11-20T00:00:00Z"));
    s.store.put_subscription(&sub).unwrap();
    // Discord down after the third message, through every retry (delivery.max_attempts: 5).
    let mut script = vec![(200, Value::Null); 3];
    script.extend(vec![(500, json!({"message": "Internal Server Error", "code": 0})); 5]);
    s.fake.script(CHANNEL, script);
    handle(&s, slash("tok-d", "digest", json!([]), "0")).await;
    wait_for("the note to the asker", || s.fake.followups().len() == 1).await;
    let note = s.fake.followups()[0].body["content"].as_str().unwrap().to_string();
    assert!(note.contains("stopped after 3 of its 6 messages"), "{note}");
    assert!(note.contains("in a while, try again"), "{note}");
    let posted = s.fake.messages_in(CHANNEL);
    assert_eq!(posted.len(), 3, "header, #1 and #2");
    let id = posted[2].body["id"].as_str().unwrap();
    assert_eq!(s.store.message_ref(&dest.key(), id).unwrap().map(|(_, rank)| rank), Some(2));

    assert_eq!(s.deliverer.tick(at("2026-11-28T08:00:30Z")).await.unwrap().delivered, 1);
    let posted = s.fake.messages_in(CHANNEL);
    let titles: Vec<&str> = posted[1..]
        .iter()
        .map(|m| m.body["embeds"][0]["title"].as_str().unwrap_or("").get(..3).unwrap_or(""))
        .collect();
    assert_eq!(titles, ["#1 ", "#2 ", "#3 ", "#4 ", "#5 "], "the schedule repeated what was posted");
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_opens_a_modal_and_the_answer_lands_in_the_insights_thread() {
    let s = setup().await;
    common::subscribe_at(
        &s.store,
        Destination::new("discord", CHANNEL),
        at("2026-11-28T07:40:00Z"),
        0,
        morning() - chrono::Duration::days(1),
    );
    assert_eq!(s.deliverer.tick(at("2026-11-28T07:40:30Z")).await.unwrap().delivered, 1);
    let second = s.fake.messages_in(CHANNEL)[2].clone();
    let ask = second.body["components"][0]["components"][0]["custom_id"].as_str().unwrap().to_string();
    let message_id = second.body["id"].as_str().unwrap().to_string();

    // The button opens a modal (answered at once, through the shared handler as the gateway would).
    let modal = handle(&s, button("tok-c", &ask, &message_id)).await;
    assert_eq!(modal["type"], 9, "{modal}");
    let custom_id = modal["data"]["custom_id"].as_str().unwrap().to_string();
    assert!(custom_id.contains(&message_id));

    // Submitting it: deferred, a thread started from the insight's message, the answer in it.
    let now = Utc::now().timestamp();
    let resp = post_signed(&s, &modal_submit("tok-d", &custom_id, "who said that?"), now).await;
    assert_eq!(resp.json::<Value>().await.unwrap()["type"], 5);
    wait_for("the answer in the thread", || !s.fake.messages_in(&message_id).is_empty()).await;
    let answer = s.fake.messages_in(&message_id)[0].body["content"].as_str().unwrap().to_string();
    assert!(answer.starts_with("**About #2**"), "{answer}");
    assert!(answer.chars().count() <= MAX_CONTENT);
    wait_for("the note to the asker", || {
        s.fake
            .calls()
            .iter()
            .any(|c| c.method == "PATCH" && c.body["content"].as_str().unwrap_or("").contains(&message_id))
    })
    .await;

    // A form naming message 0 (no message has it) is refused, not a panic in serenity's ids.
    let reference = custom_id.rsplit_once(':').unwrap().0.to_string();
    let malformed = handle(&s, modal_submit("tok-z", &format!("{reference}:0"), "who?")).await;
    assert!(malformed.to_string().contains("This form is malformed"), "{malformed}");

    // A second question reuses the thread (Discord refuses a second thread on one message).
    post_signed(&s, &modal_submit("tok-e", &custom_id, "and why?"), now).await;
    wait_for("the second answer", || s.fake.messages_in(&message_id).len() == 2).await;
    let threads = s.fake.calls().into_iter().filter(|c| c.path.ends_with("/threads")).count();
    assert_eq!(threads, 2, "one creation, one refusal");

    // 👍: stored as this reader's feedback and acknowledged only to them; a second click by the
    // same reader changes the vote rather than adding one.
    let up = second.body["components"][0]["components"][1]["custom_id"].as_str().unwrap().to_string();
    let ack = handle(&s, button("tok-f", &up, &message_id)).await;
    assert_eq!((ack["type"].clone(), ack["data"]["flags"].clone()), (json!(4), json!(64)), "{ack}");
    wait_for("the feedback", || s.store.feedback_totals().unwrap().values().sum::<i64>() == 1).await;
    let down = up.replace("fb:up:", "fb:down:");
    handle(&s, button("tok-f2", &down, &message_id)).await;
    wait_for("the changed vote", || s.store.feedback_totals().unwrap().values().sum::<i64>() == -1).await;
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

/// Against discord.com itself (the TLS fake), so serenity's own rate limiter handles the 429 as
/// in production: it waits the retry_after Discord gives (1.5 s here, not a fixed second) and
/// sends again; a channel without access pauses its subscription.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_waited_out_and_a_channel_without_access_is_paused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    podsift::demo::ingest_demo(&store, &Config::default(), morning(), &Quiet).await.unwrap();
    let fake = FakeDiscord::start_tls().await;
    let http = serenity::all::HttpBuilder::new(TOKEN).client(fake.client()).application_id(APP.into()).build();
    assert!(http.ratelimiter.is_some(), "serenity's rate limiter must be on");
    let cfg = DiscordConfig {
        enabled: true,
        global_per_second: 500.0,
        per_channel_per_second: 200.0,
        ..DiscordConfig::default()
    };
    let adapter = Arc::new(DiscordAdapter::with_http(&cfg, Arc::new(http)).await.unwrap());
    let mut config = Config::default();
    config.delivery.backoff_base_ms = 20;
    let deliverer = Deliverer::new(
        store.clone(),
        vec![adapter as Arc<dyn Adapter>],
        config.delivery.clone(),
        config.digest.clone(),
        Arc::new(Metrics::default()),
    );
    let created = morning() - chrono::Duration::days(1);
    let due = at("2026-11-28T07:40:00Z");
    common::subscribe_at(&store, Destination::new("discord", "2001"), due, 0, created);
    fake.script(
        "2001",
        vec![(429, json!({"message": "You are being rate limited.", "retry_after": 1.5, "global": false}))],
    );
    let gone = common::subscribe_at(&store, Destination::new("discord", "2002"), due, 0, created);
    fake.script("2002", vec![(403, json!({"message": "Missing Access", "code": 50001}))]);
    // A forum channel (subscribed from one of its posts) takes no messages of its own.
    let forum = common::subscribe_at(&store, Destination::new("discord", "2003"), due, 0, created);
    fake.script("2003", vec![(400, json!({"message": "Cannot send messages in a non-text channel", "code": 50008}))]);
    // The bot's token refused for a moment (reset in the developer portal): the bot's trouble,
    // not the message's, so tried again rather than the day given up.
    let refused = common::subscribe_at(&store, Destination::new("discord", "2004"), due, 0, created);
    fake.script("2004", vec![(401, json!({"message": "401: Unauthorized", "code": 0}))]);
    // A channel id no channel has (stored by hand or by an older podsift): that destination's
    // day is refused; not a panic in serenity's ids taking the whole tick down.
    let zero = common::subscribe_at(&store, Destination::new("discord", "0"), due, 0, created);
    let summary = deliverer.tick(due).await.unwrap();
    assert_eq!((summary.delivered, summary.paused, summary.skipped), (2, 2, 1), "{summary:?}");
    let day = store.delivery(&zero.key(), due.date_naive()).unwrap().unwrap();
    assert!(format!("{:?}", day.state).contains("is not a Discord channel id"), "{:?}", day.state);
    assert_eq!(fake.messages_in("2004").len(), 6, "the digest once the token works again");
    assert!(store.subscription(&refused.key()).unwrap().unwrap().paused.is_none());
    let paused = store.subscription(&forum.key()).unwrap().unwrap().paused.unwrap();
    assert!(paused.contains("non-text channel"), "{paused}");
    let tries: Vec<_> = fake.calls().into_iter().filter(|c| c.path.ends_with("/channels/2001/messages")).collect();
    let waited = tries[1].at - tries[0].at;
    assert!(waited >= Duration::from_millis(1500), "the 429's retry_after was not waited out: {waited:?}");
    assert_eq!(fake.messages_in("2001").len(), 6);
    let paused = store.subscription(&gone.key()).unwrap().unwrap().paused.unwrap();
    assert!(paused.contains("Missing Access"), "{paused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_ask_and_help_answer_only_the_asker_and_timezones_autocomplete() {
    let s = setup().await;
    let options =
        json!([{"name": "rank", "type": 4, "value": 1}, {"name": "question", "type": 3, "value": "what was said?"}]);
    let deferred = handle(&s, slash("tok-g", "ask", options, "0")).await;
    assert_eq!((deferred["type"].clone(), deferred["data"]["flags"].clone()), (json!(5), json!(64)), "{deferred}");
    wait_for("the answer", || s.fake.followups().len() == 1).await;
    let answer = &s.fake.followups()[0].body;
    assert!(answer["content"].as_str().unwrap().starts_with("**About #1**"), "{answer}");
    assert_eq!(answer["flags"], 64, "the answer to /podsift ask is only for the asker");

    let bad = handle(&s, slash("tok-h", "time", json!([{"name": "time", "type": 3, "value": "7pm"}]), "16")).await;
    assert_eq!(bad["type"], 4);
    assert!(bad["data"]["content"].as_str().unwrap().contains("Example: /podsift time 07:30 Europe/Berlin"), "{bad}");

    let mut auto =
        slash("tok-i", "subscribe", json!([{"name": "timezone", "type": 3, "value": "berl", "focused": true}]), "16");
    auto["type"] = json!(4);
    let choices = handle(&s, auto).await;
    assert_eq!(choices["type"], 8);
    assert_eq!(choices["data"]["choices"][0]["value"], "Europe/Berlin", "{choices}");
}

/// The whole loop through `podsift run` in endpoint mode: the scheduled digest reaches the
/// channel, a signed PING is answered, /podsift help is deferred and answered as a follow-up,
/// an unsigned request is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_loop_through_podsift_run_in_endpoint_mode() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeDiscord::start().await;
    {
        let store = Store::open(&dir.path().join("data")).unwrap();
        podsift::demo::ingest_demo(&store, &Config::default(), Utc::now(), &Quiet).await.unwrap();
        common::subscribe_due(&store, Destination::new("discord", CHANNEL), 1);
        store.flush().unwrap();
    }
    let config = format!(
        "[service]\nbind = \"127.0.0.1:0\"\ntick_seconds = 1\ningest_every_minutes = 600\n\n[adapters.console]\nenabled = false\n\n\
         [adapters.discord]\nenabled = true\nmode = \"endpoint\"\napi_url = \"{}\"\n",
        fake.base
    );
    std::fs::write(dir.path().join("podsift.toml"), config).unwrap();
    let public_key: String =
        SigningKey::from_bytes(&SECRET).verifying_key().to_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let app = APP.to_string();
    let envs =
        [("DISCORD_BOT_TOKEN", TOKEN), ("DISCORD_APPLICATION_ID", app.as_str()), ("DISCORD_PUBLIC_KEY", &public_key)];
    let mut run = common::podsift_run(&dir.path().join("data"), &dir.path().join("podsift.toml"), &envs);
    let addr = run.addr.clone();
    wait_for("the scheduled digest", || fake.messages_in(CHANNEL).len() == 6).await;

    let endpoint = format!("http://{addr}{ENDPOINT_PATH}");
    let s = Signed { endpoint };
    let now = Utc::now().timestamp();
    let ping = json!({"id": "1", "application_id": APP.to_string(), "type": 1, "token": "t", "version": 1,
        "attachment_size_limit": 8388608});
    assert_eq!(s.post(&ping, now).await.json::<Value>().await.unwrap()["type"], 1);
    let help = s.post(&slash("tok-run", "help", json!([]), "0"), now).await;
    assert_eq!(help.json::<Value>().await.unwrap()["type"], 5);
    wait_for("the help follow-up", || {
        fake.followups().iter().any(|c| c.body["content"].as_str().unwrap_or("").contains("/podsift subscribe"))
    })
    .await;
    // Discord sends no replies to an insight's message: the help says how a question is asked here.
    let said: Vec<String> =
        fake.followups().iter().filter_map(|c| c.body["content"].as_str().map(String::from)).collect();
    let help_text = said.iter().find(|t| t.contains("/podsift subscribe")).unwrap();
    assert!(help_text.contains("press Ask") && !help_text.contains("reply to one of the insights"), "{help_text}");
    let unsigned = reqwest::Client::new().post(&s.endpoint).body(ping.to_string()).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    assert!(common::stop(&mut run.child), "podsift run did not stop cleanly");
}

/// Signs requests for an endpoint with the test key.
struct Signed {
    endpoint: String,
}

impl Signed {
    async fn post(&self, body: &Value, timestamp: i64) -> reqwest::Response {
        let body = body.to_string();
        let signature = SigningKey::from_bytes(&SECRET).sign(format!("{timestamp}{body}").as_bytes());
        let hex: String = signature.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        reqwest::Client::new()
            .post(&self.endpoint)
            .header("x-signature-ed25519", hex)
            .header("x-signature-timestamp", timestamp.to_string())
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

/// Gateway mode shares the handler: the same payloads as gateway events are answered through
/// the REST interaction callback, and a message typed in an answer thread is a question.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_events_take_the_same_way_and_thread_messages_are_questions() {
    let s = setup().await;
    // A help is ready at once, before the acknowledgement (slow here) has reached Discord,
    // which refuses a follow-up until then: it is tried again, not given up.
    s.fake.check_acks(Duration::from_millis(300));
    let help: Interaction = serde_json::from_value(slash("tok-gw", "help", json!([]), "0")).unwrap();
    s.interactions.answer_over_rest(help).await;
    let callbacks: Vec<_> = s.fake.calls().into_iter().filter(|c| c.path.ends_with("/tok-gw/callback")).collect();
    assert_eq!(callbacks.len(), 1);
    assert_eq!(callbacks[0].body["type"], 5, "deferred, as at the endpoint");
    wait_for("the help follow-up", || {
        s.fake.followups().iter().any(|c| c.path.ends_with("/tok-gw") && c.body["content"].is_string())
    })
    .await;
    assert!(
        s.fake.followups().iter().any(|c| c.path.ends_with("/tok-gw") && c.body["refused"].is_string()),
        "the follow-up did not race the acknowledgement: not the case under test"
    );

    // An answer thread of insight #1, then a message typed in it.
    common::subscribe_at(
        &s.store,
        Destination::new("discord", CHANNEL),
        at("2026-11-28T07:40:00Z"),
        0,
        morning() - chrono::Duration::days(1),
    );
    assert_eq!(s.deliverer.tick(at("2026-11-28T07:40:30Z")).await.unwrap().delivered, 1);
    let first = s.fake.messages_in(CHANNEL)[1].clone();
    let ask = first.body["components"][0]["components"][0]["custom_id"].as_str().unwrap().to_string();
    let message_id = first.body["id"].as_str().unwrap().to_string();
    let modal = handle(&s, button("tok-gw2", &ask, &message_id)).await;
    let custom_id = modal["data"]["custom_id"].as_str().unwrap().to_string();
    handle(&s, modal_submit("tok-gw3", &custom_id, "who said it?")).await;
    wait_for("the first answer", || s.fake.messages_in(&message_id).len() == 1).await;
    let thread = serenity::all::ChannelId::new(message_id.parse().unwrap());
    // Typed by the reader who asked through the modal: their thread of questions goes on.
    let reader = serenity::all::UserId::new(170531778354741248);
    s.interactions.thread_message(thread, reader, "and when?").await;
    wait_for("the answer to the typed question", || s.fake.messages_in(&message_id).len() == 2).await;
    let answer = s.fake.messages_in(&message_id)[1].body["content"].as_str().unwrap().to_string();
    assert!(answer.starts_with("**About #1**"), "{answer}");
    // Where a channel hangs from is asked of Discord once, not for every message typed in it.
    s.interactions.thread_message(thread, serenity::all::UserId::new(42), "and who else?").await;
    wait_for("the third answer", || s.fake.messages_in(&message_id).len() == 3).await;
    let looked_up = s
        .fake
        .calls()
        .iter()
        .filter(|c| c.method == "GET" && c.path.ends_with(&format!("/channels/{message_id}")))
        .count();
    assert_eq!(looked_up, 1, "a REST call for every message in the thread");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_token_is_one_line_naming_the_variable() {
    let fake = FakeDiscord::start().await;
    let cfg = DiscordConfig { api_url: Some(fake.base.clone()), ..DiscordConfig::default() };
    let err = DiscordAdapter::connect(&cfg, "not-the-token", APP).await.err().unwrap();
    assert!(err.contains("DISCORD_BOT_TOKEN") && err.contains("invalid token"), "{err}");
    assert_eq!(err.lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_registered_from_the_table_globally_or_in_one_guild() {
    for guild in [None, Some(4242u64)] {
        let fake = FakeDiscord::start().await;
        let cfg = DiscordConfig { api_url: Some(fake.base.clone()), guild_id: guild, ..DiscordConfig::default() };
        DiscordAdapter::connect(&cfg, TOKEN, APP).await.unwrap();
        let puts: Vec<_> = fake.calls().into_iter().filter(|c| c.method == "PUT").collect();
        assert_eq!(puts.len(), 1);
        let expected = match guild {
            Some(g) => format!("/api/v10/applications/{APP}/guilds/{g}/commands"),
            None => format!("/api/v10/applications/{APP}/commands"),
        };
        assert_eq!(puts[0].path, expected);
        let subs: Vec<&str> =
            puts[0].body[0]["options"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
        let table: Vec<&str> = podsift::deliver::commands::COMMANDS.iter().map(|c| c.name).collect();
        assert_eq!(subs, table);
    }
}

/// Options offered with a message are buttons whose custom id is the command they stand for.
#[test]
fn choices_are_buttons_that_carry_their_command() {
    let choices = (1..=7)
        .map(|i| podsift::deliver::Choice { label: format!("{i}. Show {i}"), command: format!("podcasts add {i}") })
        .collect();
    let part = podsift::deliver::Part::Choices { text: "Found: @everyone".into(), choices };
    let json = serde_json::to_value(podsift::adapters::discord::render(&part)).unwrap();
    let rows = json["components"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "five buttons a row: {json}");
    assert_eq!(rows[0]["components"][0]["custom_id"], "cmd:podcasts add 1");
    assert_eq!(rows[1]["components"][1]["label"], "7. Show 7");
    assert_eq!(json["allowed_mentions"]["parse"], serde_json::json!([]), "mentions must stay off: {json}");
}

/// Pressing a choice button is typing its command: with the same rights (Manage Channels to
/// change the channel's podcasts), answered only to the one who pressed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_choice_button_runs_its_command_with_the_pressers_rights() {
    let s = setup().await;
    let dest = Destination::new("discord", CHANNEL);
    s.store.put_podcast_list(&dest.key(), &["demo:gotime".to_string()]).unwrap();
    let now = Utc::now().timestamp();
    let resp = post_signed(&s, &button("tok-c1", "cmd:podcasts remove 1", "111"), now).await;
    assert_eq!(resp.json::<Value>().await.unwrap()["type"], 5, "deferred");
    wait_for("the refusal", || s.fake.followups().len() == 1).await;
    assert!(s.fake.followups()[0].body["content"].as_str().unwrap().contains("Only people who can manage"));
    assert!(s.store.podcast_list(&dest.key()).unwrap().is_some());
    let mut manager = button("tok-c2", "cmd:podcasts remove 1", "111");
    manager["member"]["permissions"] = json!("16");
    post_signed(&s, &manager, now).await;
    wait_for("the list to empty", || s.store.podcast_list(&dest.key()).unwrap().is_none()).await;
    wait_for("the confirmation", || s.fake.followups().len() == 2).await;
    let done = &s.fake.followups()[1];
    assert_eq!(done.body["flags"], 64);
    assert!(done.body["content"].as_str().unwrap().contains("Removed Go Time"), "{}", done.body);
}

/// `/podsift ask` typed in an insight's thread (as the Ask prompt suggests) reads the numbers
/// of the channel the thread hangs from: its filters, its digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_ask_in_a_thread_means_the_channels_numbers() {
    let s = setup().await;
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let digest =
        podsift::insight::digest::build_or_get(&s.store, &Config::default().digest, date, at("2026-11-28T07:40:00Z"))
            .unwrap();
    let dest = Destination::new("discord", CHANNEL);
    let mut sub = podsift::deliver::Subscription::new(
        dest.clone(),
        podsift::deliver::Schedule::daily("07:45", "UTC").unwrap(),
        "test",
        at("2026-11-20T00:00:00Z"),
    );
    sub.mute_podcasts = vec![digest.insights[0].podcast.clone()];
    s.store.put_subscription(&sub).unwrap();
    assert_eq!(s.deliverer.tick(at("2026-11-28T07:46:00Z")).await.unwrap().delivered, 1);

    let thread = "1300000000000000001";
    let options =
        json!([{"name": "rank", "type": 4, "value": 1}, {"name": "question", "type": 3, "value": "what was said?"}]);
    let mut ask = slash("tok-t", "ask", options, "0");
    ask["channel_id"] = json!(thread);
    ask["channel"] = json!({"id": thread, "type": 11, "parent_id": CHANNEL, "name": "#1 question"});
    handle(&s, ask).await;
    wait_for("the answer", || s.fake.followups().len() == 1).await;
    let answer = s.fake.followups()[0].body["content"].as_str().unwrap().to_string();
    let shown_first = &digest.insights[1];
    assert!(answer.starts_with("**About #1**") && answer.contains(&shown_first.podcast), "{answer}");
    assert!(!answer.contains(&digest.insights[0].podcast), "answered from the unfiltered digest: {answer}");

    // /podsift digest typed in the thread would post only there, yet count as the channel's:
    // it is pointed to the channel instead, and nothing is recorded.
    let next_day = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    let mut digest_here = slash("tok-d", "digest", json!([]), "0");
    digest_here["channel_id"] = json!(thread);
    digest_here["channel"] = json!({"id": thread, "type": 11, "parent_id": CHANNEL, "name": "#1 question"});
    let resp = handle(&s, digest_here).await;
    assert_eq!(resp["type"], 4, "{resp}");
    assert_eq!(resp["data"]["flags"], 64, "only the asker sees it: {resp}");
    assert!(resp["data"]["content"].as_str().unwrap().contains(&format!("<#{CHANNEL}>")), "{resp}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(s.fake.followups().len(), 1, "a digest went to the thread");
    assert!(s.store.delivery(&dest.key(), next_day).unwrap().is_none());

    // Subscribing from the thread subscribes the channel, and is refused where podsift may not
    // post there, as in the channel itself.
    s.store.remove_subscription(&dest.key()).unwrap();
    let mut subscribe_here = slash("tok-s", "subscribe", json!([]), "16");
    subscribe_here["channel_id"] = json!(thread);
    subscribe_here["channel"] = json!({"id": thread, "type": 11, "parent_id": CHANNEL, "name": "#1 question"});
    subscribe_here["app_permissions"] = json!("1024");
    let resp = handle(&s, subscribe_here).await;
    let said = resp["data"]["content"].as_str().unwrap_or_default();
    assert!(said.contains(&format!("cannot post digests in <#{CHANNEL}>")), "{resp}");
    assert!(said.contains("lacks the Send Messages and Embed Links permissions"), "{said}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(s.store.subscription(&dest.key()).unwrap().is_none(), "subscribed where nothing can be posted");
    // Typed in a forum's post: the forum takes no messages, whatever the permissions say.
    let (forum, post) = ("1400000000000000001", "1400000000000000002");
    s.fake.forum(forum);
    let mut in_a_post = slash("tok-f", "subscribe", json!([]), "16");
    in_a_post["channel_id"] = json!(post);
    in_a_post["channel"] = json!({"id": post, "type": 11, "parent_id": forum, "name": "a post"});
    let resp = handle(&s, in_a_post).await;
    let said = resp["data"]["content"].as_str().unwrap_or_default();
    assert!(said.contains(&format!("<#{forum}> is a forum")), "{resp}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let forum_dest = Destination::new("discord", forum);
    assert!(s.store.subscription(&forum_dest.key()).unwrap().is_none(), "a forum subscribed");

    // A button under an answer in the thread acts for the channel, as its command did.
    s.store.put_podcast_list(&dest.key(), &["demo:gotime".to_string()]).unwrap();
    let mut pressed = button("tok-b", "cmd:podcasts remove 1", "111");
    pressed["member"]["permissions"] = json!("16");
    pressed["channel_id"] = json!(thread);
    pressed["channel"] = json!({"id": thread, "type": 11, "parent_id": CHANNEL, "name": "#1 question"});
    handle(&s, pressed).await;
    wait_for("the channel's list to empty", || s.store.podcast_list(&dest.key()).unwrap().is_none()).await;
}
