//! The Slack adapter against a fake Slack Web API (the slack-morphism client pointed at it) and
//! signed requests: Slack's published signing example, forged, stale and unsigned requests
//! refused, url_verification, /podsift subscribe → the scheduled digest as Block Kit within the
//! limits, a thread reply answered in the thread and its retry taken once, Ask → views.open →
//! view_submission → the answer in the thread, 👍, 429 and token_revoked, the OAuth callback's
//! state check and stored token, and the whole loop through `podsift run`.
#![cfg(feature = "slack")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::slack::{APP_TOKEN, CLIENT_ID, CLIENT_SECRET, FakeSlack, OAUTH_CODE, OAUTH_TEAM, OAUTH_TOKEN, TEAM, TOKEN};
use podsift::adapters::slack::inbound::{OAuth, SlackInbound, VerifyError, signature, verify};
use podsift::adapters::slack::{SlackAdapter, destination, entry_blocks};
use podsift::config::{Config, DeliveryConfig, SlackConfig};
use podsift::deliver::Adapter;
use podsift::deliver::fanout::Deliverer;
use podsift::deliver::inbound::Inbound;
use podsift::ingest::Quiet;
use podsift::store::Store;
use serde_json::{Value, json};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const CHANNEL: &str = "C0DIGEST";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn morning() -> DateTime<Utc> {
    at("2026-11-28T07:00:00Z")
}

struct Setup {
    store: Store,
    fake: FakeSlack,
    deliverer: Arc<Deliverer>,
    base: String,
    stop: tokio::sync::watch::Sender<bool>,
    /// Last, so the store is closed before its directory is deleted: sled flushing into a
    /// deleted directory waits forever.
    _dir: tempfile::TempDir,
}

async fn setup(admins_only: bool) -> Setup {
    setup_with(admins_only, false).await
}

/// With `socket`, the app receives over Socket Mode only (an app-level token, no signing secret).
async fn setup_with(admins_only: bool, socket: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    podsift::demo::ingest_demo(&store, &Config::default(), morning(), &Quiet).await.unwrap();
    let fake = FakeSlack::start().await;
    let cfg = SlackConfig {
        enabled: true,
        api_url: Some(fake.api.clone()),
        admins_only,
        global_per_second: 500.0,
        per_channel_per_second: 200.0,
        ..SlackConfig::default()
    };
    let adapter = Arc::new(SlackAdapter::connect(&cfg, Some(TOKEN)).await.unwrap());
    let (deliverer, core, _) =
        common::core_with(&store, adapter.clone() as Arc<dyn Adapter>, Arc::new(|| at("2026-11-28T07:30:00Z")));
    let oauth = Some(OAuth { client_id: CLIENT_ID.into(), client_secret: CLIENT_SECRET.into() });
    let inbound = Box::new(if socket {
        SlackInbound { adapter, signing_secret: None, app_token: Some(APP_TOKEN.into()), oauth }
    } else {
        SlackInbound { adapter, signing_secret: Some(SECRET.into()), app_token: None, oauth }
    });
    let (stop, rx) = tokio::sync::watch::channel(false);
    let router = inbound.start(core, rx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Setup { _dir: dir, store, fake, deliverer, base, stop }
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

/// POSTs `body` to `path`, signed now, with extra headers.
async fn post(base: &str, path: &str, body: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let ts = Utc::now().timestamp().to_string();
    let mut req = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("x-slack-request-timestamp", &ts)
        .header("x-slack-signature", signature(SECRET, &ts, body.as_bytes()))
        .body(body.to_string());
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// A slash command's form body; each with its own trigger id, as Slack gives every invocation.
fn command(text: &str, user: &str) -> String {
    static TRIGGERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = TRIGGERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("team_id", TEAM)
        .append_pair("channel_id", CHANNEL)
        .append_pair("user_id", user)
        .append_pair("command", "/podsift")
        .append_pair("text", text)
        .append_pair("trigger_id", &format!("398738663015.47445629121.803a0bc887a14d10d2c447fce8b{n:05}"))
        .finish()
}

fn interaction(payload: Value) -> String {
    url::form_urlencoded::Serializer::new(String::new()).append_pair("payload", &payload.to_string()).finish()
}

fn thread_reply(event_id: &str, thread_ts: &str, text: &str) -> String {
    thread_event(event_id, "message", &format!("1764316999.{event_id}"), thread_ts, text)
}

/// An event of `kind` (`message`, `app_mention`) about the message `ts` in thread `thread_ts`.
fn thread_event(event_id: &str, kind: &str, ts: &str, thread_ts: &str, text: &str) -> String {
    json!({"type": "event_callback", "team_id": TEAM, "api_app_id": "A1", "event_id": event_id, "event_time": 1764316800,
        "event": {"type": kind, "channel": CHANNEL, "user": "U2CERLKJA", "text": text, "ts": ts, "thread_ts": thread_ts}})
    .to_string()
}

#[test]
fn slacks_published_signing_example_verifies() {
    let py = std::fs::read_to_string(format!(
        "{}/../shared/fixtures/platform/slack_python-slack-sdk_test_signature_verifier.py",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let quoted = |name: &str| {
        let line = py.lines().find(|l| l.trim_start().starts_with(&format!("{name} = \""))).unwrap();
        line.split('"').nth(1).unwrap().to_string()
    };
    let (secret, body, ts, sig) =
        (quoted("signing_secret"), quoted("body"), quoted("timestamp"), quoted("valid_signature"));
    assert_eq!(signature(&secret, &ts, body.as_bytes()), sig);
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("x-slack-request-timestamp", ts.parse().unwrap());
    headers.insert("x-slack-signature", sig.parse().unwrap());
    let now: i64 = ts.parse().unwrap();
    assert_eq!(verify(&secret, &headers, body.as_bytes(), now), Ok(()));
    assert_eq!(verify(&secret, &headers, format!("{body}------").as_bytes(), now), Err(VerifyError::BadSignature));
    assert_eq!(verify(&secret, &headers, body.as_bytes(), now + 301), Err(VerifyError::Stale));
    assert_eq!(verify(&secret, &axum::http::HeaderMap::new(), body.as_bytes(), now), Err(VerifyError::Missing));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_stale_and_unsigned_requests_are_refused_and_the_challenge_answered() {
    let s = setup(false).await;
    let challenge = json!({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "token": "x"}).to_string();
    let resp = post(&s.base, "/slack/events", &challenge, &[]).await;
    assert_eq!(
        resp.json::<Value>().await.unwrap()["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    let client = reqwest::Client::new();
    let body = command("subscribe", "U2CERLKJA");
    let old = (Utc::now().timestamp() - 600).to_string();
    let stale = client
        .post(format!("{}/slack/commands", s.base))
        .header("x-slack-request-timestamp", &old)
        .header("x-slack-signature", signature(SECRET, &old, body.as_bytes()))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 401);
    let now = Utc::now().timestamp().to_string();
    let forged = client
        .post(format!("{}/slack/commands", s.base))
        .header("x-slack-request-timestamp", &now)
        .header("x-slack-signature", signature("not-the-secret", &now, body.as_bytes()))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let unsigned = client.post(format!("{}/slack/commands", s.base)).body(body).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.store.subscriptions().unwrap().is_empty(), "a refused request was acted on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_request_sent_again_is_not_taken_twice() {
    let s = setup(false).await;
    let client = reqwest::Client::new();
    let send = |body: String, ts: String| {
        let req = client
            .post(format!("{}/slack/commands", s.base))
            .header("x-slack-request-timestamp", &ts)
            .header("x-slack-signature", signature(SECRET, &ts, body.as_bytes()))
            .body(body);
        async move { req.send().await.unwrap() }
    };
    let ts = Utc::now().timestamp().to_string();
    let subscribe = command("subscribe", "U2CERLKJA");
    assert_eq!(send(subscribe.clone(), ts.clone()).await.status(), 200);
    wait_for("the subscription", || s.store.subscriptions().unwrap().len() == 1).await;
    send(command("unsubscribe", "U2CERLKJA"), ts.clone()).await;
    wait_for("the unsubscription", || s.store.subscriptions().unwrap().is_empty()).await;
    // Whoever saw the first request sends it again within its five minutes: Slack is told all
    // is well (so it would not retry), and nothing is done.
    let again = send(subscribe, ts).await;
    assert_eq!(again.status(), 200);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(s.store.subscriptions().unwrap().is_empty(), "a replayed request subscribed the channel again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_then_the_digest_arrives_as_block_kit_and_a_thread_reply_is_answered_once() {
    let s = setup(false).await;
    let bad = post(&s.base, "/slack/commands", &command("time 7pm", "U2CERLKJA"), &[]).await;
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["response_type"], "ephemeral");
    assert!(bad["text"].as_str().unwrap().contains("Example: /podsift time 07:30 Europe/Berlin"), "{bad}");

    let resp = post(&s.base, "/slack/commands", &command("subscribe 07:45 UTC", "U2CERLKJA"), &[]).await;
    assert_eq!(resp.status(), 200);
    wait_for("the confirmation", || !s.fake.calls("chat.postEphemeral").is_empty()).await;
    let confirmation = &s.fake.calls("chat.postEphemeral")[0].body;
    assert_eq!(confirmation["user"], "U2CERLKJA");
    assert!(confirmation["text"].as_str().unwrap().contains("The first comes today at 07:45 (UTC)"), "{confirmation}");
    assert!(s.store.subscription(&destination(TEAM, CHANNEL).key()).unwrap().is_some());

    assert_eq!(s.deliverer.tick(at("2026-11-28T07:46:00Z")).await.unwrap().delivered, 1);
    let digest = s.fake.posted(CHANNEL);
    assert_eq!(digest.len(), 6, "header + 5 insights");
    for (i, m) in digest[1..].iter().enumerate() {
        let blocks = m.body["blocks"].as_array().unwrap();
        assert!(blocks[0]["text"]["text"].as_str().unwrap().starts_with(&format!("*#{}*", i + 1)));
        assert_eq!(blocks[1]["type"], "context");
        assert!(blocks[1]["elements"][0]["text"].as_str().unwrap().contains("#t="), "{}", blocks[1]);
        let actions = blocks.last().unwrap();
        let ids: Vec<&str> =
            actions["elements"].as_array().unwrap().iter().map(|e| e["action_id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["ask", "fb_up", "fb_down"]);
        assert!(m.body["text"].as_str().unwrap().starts_with(&format!("#{} ", i + 1)), "fallback text");
    }
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());

    // A reply in insight #3's thread is answered in that thread; Slack's retry is taken once.
    let third_ts = digest[3].body["ts"].as_str().unwrap().to_string();
    let event = thread_reply("Ev0001", &third_ts, "who said that?");
    post(&s.base, "/slack/events", &event, &[]).await;
    wait_for("the answer", || s.fake.posted(CHANNEL).len() == 7).await;
    let answer = s.fake.posted(CHANNEL)[6].body.clone();
    assert_eq!(answer["thread_ts"], third_ts.as_str());
    assert!(answer["text"].as_str().unwrap().starts_with("About #3"), "{answer}");
    let retry =
        post(&s.base, "/slack/events", &event, &[("x-slack-retry-num", "1"), ("x-slack-retry-reason", "http_timeout")])
            .await;
    assert_eq!(retry.status(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.fake.posted(CHANNEL).len(), 7, "a retried event was answered twice");
    // Kept in the store, so a restart recognises the retry too.
    assert!(!s.store.first_seen(&format!("slack-message:{TEAM}:{CHANNEL}:1764316999.Ev0001"), Utc::now()).unwrap());

    // People talking in a thread of someone else's message are not talking to podsift.
    post(&s.base, "/slack/events", &thread_reply("Ev0002", "1764310000.000001", "lunch at noon?"), &[]).await;
    // A question that mentions the app arrives twice (message and app_mention): one answer.
    let ts = "1764317000.000200";
    let mention = "<@U0PODSIFT> and what came next?";
    post(&s.base, "/slack/events", &thread_event("Ev0003", "message", ts, &third_ts, mention), &[]).await;
    post(&s.base, "/slack/events", &thread_event("Ev0004", "app_mention", ts, &third_ts, mention), &[]).await;
    wait_for("the answer", || s.fake.posted(CHANNEL).len() == 8).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let posted = s.fake.posted(CHANNEL);
    assert_eq!(posted.len(), 8, "{:#?}", &posted[7..]);
    assert_eq!(posted[7].body["thread_ts"], third_ts.as_str());
    assert!(s.fake.calls("chat.postEphemeral").len() == 1, "a stranger's thread got a notice");

    // A mention outside the insights' threads gets the hint, whichever of its two events
    // comes first (the `message` copy, which needs nothing, used to take it).
    let top = "1764317100.000300";
    post(&s.base, "/slack/events", &thread_event("Ev0005", "message", top, top, "<@U0PODSIFT> hello"), &[]).await;
    post(&s.base, "/slack/events", &thread_event("Ev0006", "app_mention", top, top, "<@U0PODSIFT> hello"), &[]).await;
    wait_for("the hint", || s.fake.posted(CHANNEL).len() == 9).await;
    let hint = s.fake.posted(CHANNEL)[8].body.clone();
    assert_eq!(hint["thread_ts"], top);
    assert!(hint["text"].as_str().unwrap().contains("Reply in an insight's thread"), "{hint}");
    // Written inside someone's thread, the hint goes in that thread (under its first message);
    // a bare mention in an insight's thread gets it too.
    let other = "1764310000.000001";
    post(
        &s.base,
        "/slack/events",
        &thread_event("Ev0010", "app_mention", "1764317150.000310", other, "<@U0PODSIFT> hi"),
        &[],
    )
    .await;
    wait_for("the hint in a thread", || s.fake.posted(CHANNEL).len() == 10).await;
    assert_eq!(s.fake.posted(CHANNEL)[9].body["thread_ts"], other);
    post(
        &s.base,
        "/slack/events",
        &thread_event("Ev0011", "app_mention", "1764317160.000320", &third_ts, "<@U0PODSIFT>"),
        &[],
    )
    .await;
    wait_for("the hint to a bare mention", || s.fake.posted(CHANNEL).len() == 11).await;
    assert_eq!(s.fake.posted(CHANNEL)[10].body["thread_ts"], third_ts.as_str());
    assert!(s.fake.posted(CHANNEL)[10].body["text"].as_str().unwrap().contains("Reply in an insight's thread"));

    // A reply also sent to the channel, or with a file attached, is a question too; an edit is
    // not.
    let with = |event_id: &str, ts: &str, subtype: &str, text: &str| {
        let mut v: Value = serde_json::from_str(&thread_event(event_id, "message", ts, &third_ts, text)).unwrap();
        v["event"]["subtype"] = json!(subtype);
        v.to_string()
    };
    post(&s.base, "/slack/events", &with("Ev0007", "1764317200.000400", "thread_broadcast", "and the cost?"), &[])
        .await;
    wait_for("the answer to a broadcast reply", || s.fake.posted(CHANNEL).len() == 12).await;
    post(&s.base, "/slack/events", &with("Ev0008", "1764317300.000500", "file_share", "see this chart, why?"), &[])
        .await;
    wait_for("the answer to a reply with a file", || s.fake.posted(CHANNEL).len() == 13).await;
    post(&s.base, "/slack/events", &with("Ev0009", "1764317400.000600", "message_changed", "edited"), &[]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let posted = s.fake.posted(CHANNEL);
    assert_eq!(posted.len(), 13, "an edit was answered: {:#?}", &posted[13..]);
    assert!(posted[11..].iter().all(|p| p.body["thread_ts"] == third_ts.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_opens_a_modal_and_the_submission_is_answered_in_the_thread_and_feedback_is_stored() {
    let s = setup(false).await;
    common::subscribe_at(
        &s.store,
        destination(TEAM, CHANNEL),
        at("2026-11-28T07:40:00Z"),
        0,
        morning() - chrono::Duration::days(1),
    );
    assert_eq!(s.deliverer.tick(at("2026-11-28T07:40:30Z")).await.unwrap().delivered, 1);
    let second = s.fake.posted(CHANNEL)[2].body.clone();
    let ts = second["ts"].as_str().unwrap().to_string();
    let actions = second["blocks"].as_array().unwrap().last().unwrap()["elements"].clone();
    let click = |action: &Value| {
        interaction(json!({"type": "block_actions", "team": {"id": TEAM}, "user": {"id": "U2CERLKJA"},
            "channel": {"id": CHANNEL}, "container": {"type": "message", "message_ts": ts, "channel_id": CHANNEL},
            "trigger_id": "13345224609.738474920.8088930838d88f008e0", "actions": [{"action_id": action["action_id"],
            "value": action["value"], "type": "button", "block_id": "b", "action_ts": "1"}]}))
    };
    post(&s.base, "/slack/interactivity", &click(&actions[0]), &[]).await;
    wait_for("views.open", || !s.fake.calls("views.open").is_empty()).await;
    let open = s.fake.calls("views.open")[0].body.clone();
    assert_eq!(open["trigger_id"], "13345224609.738474920.8088930838d88f008e0");
    let metadata = open["view"]["private_metadata"].as_str().unwrap().to_string();
    assert!(metadata.contains(&ts));

    let submit = interaction(json!({"type": "view_submission", "team": {"id": TEAM}, "user": {"id": "U2CERLKJA"},
        "view": {"callback_id": "podsift_ask", "private_metadata": metadata,
            "state": {"values": {"q": {"question": {"type": "plain_text_input", "value": "what was the point?"}}}}}}));
    assert_eq!(post(&s.base, "/slack/interactivity", &submit, &[]).await.status(), 200);
    wait_for("the answer in the thread", || s.fake.posted(CHANNEL).iter().any(|m| m.body["thread_ts"] == ts.as_str()))
        .await;
    let answer = s.fake.posted(CHANNEL).into_iter().find(|m| m.body["thread_ts"] == ts.as_str()).unwrap();
    assert!(answer.body["text"].as_str().unwrap().starts_with("About #2"), "{}", answer.body);

    post(&s.base, "/slack/interactivity", &click(&actions[1]), &[]).await;
    wait_for("the feedback", || s.store.feedback_totals().unwrap().values().sum::<i64>() == 1).await;
    wait_for("the acknowledgement", || {
        s.fake.calls("chat.postEphemeral").iter().any(|c| c.body["text"].as_str().unwrap_or("").contains("👍"))
    })
    .await;
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_only_rate_limits_and_a_revoked_token() {
    let s = setup(true).await;
    post(&s.base, "/slack/commands", &command("subscribe", "U2MEMBER"), &[]).await;
    wait_for("the refusal", || !s.fake.calls("chat.postEphemeral").is_empty()).await;
    assert!(
        s.fake.calls("chat.postEphemeral")[0].body["text"].as_str().unwrap().contains("Only people who can manage")
    );
    assert!(s.store.subscriptions().unwrap().is_empty());
    s.fake.make_admin("U2ADMIN");
    post(&s.base, "/slack/commands", &command("subscribe", "U2ADMIN"), &[]).await;
    wait_for("the subscription", || s.store.subscriptions().unwrap().len() == 1).await;

    let created = morning() - chrono::Duration::days(1);
    let due = at("2026-11-28T07:40:00Z");
    common::subscribe_at(&s.store, destination(TEAM, "C0LIMITED"), due, 0, created);
    s.fake.script("C0LIMITED", vec![(429, json!({"ok": false, "error": "ratelimited"}))]);
    let revoked = common::subscribe_at(&s.store, destination(TEAM, "C0REVOKED"), due, 0, created);
    s.fake.script("C0REVOKED", vec![(200, json!({"ok": false, "error": "token_revoked"}))]);
    // A channel made read-only after it subscribed: paused with the reason, not given up daily.
    let read_only = common::subscribe_at(&s.store, destination(TEAM, "C0READONLY"), due, 0, created);
    s.fake.script("C0READONLY", vec![(200, json!({"ok": false, "error": "restricted_action_read_only_channel"}))]);
    // An error Slack calls temporary is tried again, not taken as a refusal of the digest.
    common::subscribe_at(&s.store, destination(TEAM, "C0BLIP"), due, 0, created);
    s.fake.script("C0BLIP", vec![(200, json!({"ok": false, "error": "internal_error"}))]);
    let summary = s.deliverer.tick(due).await.unwrap();
    assert_eq!((summary.delivered, summary.paused, summary.skipped), (3, 1, 0), "{summary:?}");
    assert_eq!(s.fake.posted("C0BLIP").len(), 6, "the digest after the temporary error");
    let tries: Vec<_> =
        s.fake.calls("chat.postMessage").into_iter().filter(|c| c.body["channel"] == "C0LIMITED").collect();
    assert!(tries[1].at - tries[0].at >= Duration::from_millis(1000), "Retry-After was not waited out");
    assert_eq!(s.fake.posted("C0LIMITED").len(), 6);
    // A revoked token is the workspace's, not the channel's or the digest's: tried again like an
    // outage (here it works again at once), neither given up nor the channel paused (it would
    // stay so once the token is fixed).
    assert!(s.store.subscription(&revoked.key()).unwrap().unwrap().paused.is_none());
    assert_eq!(s.fake.posted("C0REVOKED").len(), 6, "the digest once the token works again");
    let paused = s.store.subscription(&read_only.key()).unwrap().unwrap().paused.unwrap();
    assert!(paused.contains("restricted_action_read_only_channel"), "{paused}");
}

/// A Retry-After too large to add to what was waited already (or to any date) is a wait that
/// outlasts the day, not a crash of the delivery: the day's record says when it is tried again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_of_ages_is_no_crash() {
    let s = setup(false).await;
    let created = morning() - chrono::Duration::days(1);
    let due = at("2026-11-28T07:40:00Z");
    let limited = common::subscribe_at(&s.store, destination(TEAM, "C0AGES"), due, 0, created);
    s.fake.script(
        "C0AGES",
        vec![
            (429, json!({"ok": false, "error": "ratelimited", "retry_after": "1"})),
            (429, json!({"ok": false, "error": "ratelimited", "retry_after": "18446744073709551615"})),
        ],
    );
    let summary = s.deliverer.tick(due).await.unwrap();
    assert_eq!((summary.delivered, summary.failed), (0, 1), "{summary:?}");
    let rec = s.store.delivery(&limited.key(), due.date_naive()).unwrap().unwrap();
    let next = rec.retry_at.unwrap();
    assert!(next > due + chrono::Duration::days(6) && next < due + chrono::Duration::days(8), "{next}");
}

/// Replies meant for one person go through the `response_url` of their command: they reach a
/// direct message between two people, where the app is no member and chat.postEphemeral fails.
/// A response_url used up falls back to chat.postEphemeral.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_is_answered_through_its_response_url() {
    let s = setup(false).await;
    let in_dm = |text: &str, url: &str| {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("team_id", TEAM)
            .append_pair("channel_id", "D0TWOPEOPLE")
            .append_pair("user_id", "U2CERLKJA")
            .append_pair("command", "/podsift")
            .append_pair("text", text)
            .append_pair("response_url", url)
            .append_pair("trigger_id", "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
            .finish()
    };
    post(&s.base, "/slack/commands", &in_dm("help", &s.fake.response_url("r1")), &[]).await;
    wait_for("the help", || s.fake.responses().len() == 1).await;
    let help = &s.fake.responses()[0].body;
    assert!(help["text"].as_str().unwrap().contains("/podsift subscribe"), "{help}");
    assert!(s.fake.calls("chat.postEphemeral").is_empty(), "asked the Web API for a reply it cannot post");

    // Subscribing where podsift cannot post is refused with the reason, not confirmed and then
    // paused at the first digest.
    post(&s.base, "/slack/commands", &in_dm("subscribe", &s.fake.response_url("r3")), &[]).await;
    wait_for("the refusal", || s.fake.responses().len() == 2).await;
    let refused = s.fake.responses()[1].body["text"].as_str().unwrap().to_string();
    assert!(refused.contains("cannot post here"), "{refused}");
    s.fake.leave("C0NOTINVITED");
    let uninvited = in_dm("subscribe 07:30 UTC", &s.fake.response_url("r4")).replace("D0TWOPEOPLE", "C0NOTINVITED");
    post(&s.base, "/slack/commands", &uninvited, &[]).await;
    wait_for("the second refusal", || s.fake.responses().len() == 3).await;
    let invite = s.fake.responses()[2].body["text"].as_str().unwrap().to_string();
    assert!(invite.contains("/invite @podsift"), "{invite}");
    assert!(s.store.subscriptions().unwrap().is_empty(), "subscribed where nothing can be posted");
    // A digest asked for there is told the same, not posted into the void.
    let asked = in_dm("digest", &s.fake.response_url("r5")).replace("D0TWOPEOPLE", "C0NOTINVITED");
    post(&s.base, "/slack/commands", &asked, &[]).await;
    wait_for("the third refusal", || s.fake.responses().len() == 4).await;
    assert!(s.fake.responses()[3].body["text"].as_str().unwrap().contains("/invite @podsift"));
    assert!(s.fake.posted("C0NOTINVITED").is_empty());

    // Only Slack's host (or the configured API's) is posted to, whatever a request carried.
    post(&s.base, "/slack/commands", &in_dm("help", "http://127.0.0.2:9/elsewhere"), &[]).await;
    wait_for("the fallback for a foreign address", || s.fake.calls("chat.postEphemeral").len() == 1).await;

    s.fake.use_up("r2");
    post(&s.base, "/slack/commands", &in_dm("time", &s.fake.response_url("r2")), &[]).await;
    wait_for("the fallback", || s.fake.calls("chat.postEphemeral").len() == 2).await;
    let fallback = &s.fake.calls("chat.postEphemeral")[1].body;
    assert_eq!(fallback["channel"], "D0TWOPEOPLE");
    assert!(fallback["text"].as_str().unwrap().contains("not subscribed"), "{fallback}");
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

/// `/podsift digest` posts the digest in the channel, for everyone; a refusal, and what is said
/// about the digest (it stands for the day's scheduled one, when the next comes), reach the asker
/// alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_asked_for_is_posted_for_everyone_and_what_is_said_of_it_to_the_asker() {
    let s = setup(false).await;
    let dest = destination(TEAM, CHANNEL);
    let schedule = podsift::deliver::Schedule::daily("08:00", "UTC").unwrap();
    let mut sub = podsift::deliver::Subscription::new(dest.clone(), schedule, "test", at("2026-11-20T00:00:00Z"));
    sub.paused = Some("holiday".into());
    s.store.put_subscription(&sub).unwrap();
    let private = |n: usize| {
        let calls = s.fake.calls("chat.postEphemeral");
        calls.get(n).map(|c| (c.body["user"].clone(), c.body["text"].as_str().unwrap_or("").to_string()))
    };

    post(&s.base, "/slack/commands", &command("digest", "U2CERLKJA"), &[]).await;
    wait_for("the refusal", || private(0).is_some()).await;
    let (user, refused) = private(0).unwrap();
    assert_eq!(user, "U2CERLKJA");
    assert!(refused.contains("Digests here are paused (holiday)"), "{refused}");
    assert!(s.fake.posted(CHANNEL).is_empty(), "the refusal went to the channel");

    sub.paused = None;
    s.store.put_subscription(&sub).unwrap();
    post(&s.base, "/slack/commands", &command("digest", "U2CERLKJA"), &[]).await;
    wait_for("the note to the asker", || private(1).is_some()).await;
    let posted = s.fake.posted(CHANNEL);
    assert_eq!(posted.len(), 6, "header and 5 insights in the channel");
    assert!(posted[0].body["text"].as_str().unwrap().contains("top 5"), "{}", posted[0].body);
    let (user, note) = private(1).unwrap();
    assert_eq!(user, "U2CERLKJA");
    assert!(note.contains("The digest of 2026-11-28 is posted here."), "{note}");
    assert!(note.contains("counts as this chat's digest of that day"), "{note}");
    assert!(note.contains("The next comes tomorrow at 08:00 (UTC)"), "{note}");
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    assert!(s.store.delivery(&dest.key(), day).unwrap().is_some_and(|d| d.state.is_done()));
    assert_eq!(s.deliverer.tick(at("2026-11-28T08:01:00Z")).await.unwrap().delivered, 0, "sent again at 08:00");
    assert_eq!(s.fake.posted(CHANNEL).len(), 6);
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

/// A Slack API that takes a post and never answers: the send is given up after
/// `delivery.send_timeout_secs` and tried again, so the channel is not held for good (and a
/// `/podsift digest` there does not hear "being sent" for ever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_that_never_answers_is_given_up_and_tried_again_later() {
    let s = setup(false).await;
    let due = at("2026-11-28T07:40:00Z");
    let created = morning() - chrono::Duration::days(1);
    let dest = common::subscribe_at(&s.store, destination(TEAM, "C0STALL"), due, 0, created);
    s.fake.hang("C0STALL");
    let config =
        DeliveryConfig { backoff_base_ms: 20, send_timeout_secs: 1, max_attempts: 2, ..DeliveryConfig::default() };
    let deliverer = slack_process(&s, config.clone()).await;
    let ticked = tokio::time::timeout(Duration::from_secs(60), deliverer.tick(due)).await;
    let summary = ticked.expect("a tick waited on a post that never answers").unwrap();
    assert_eq!(summary.failed, 1, "{summary:?}");
    let tries = s.fake.calls("chat.postMessage").into_iter().filter(|c| c.body["channel"] == "C0STALL").count();
    assert_eq!(tries, 2, "tried max_attempts times within the tick");
    let rec = s.store.delivery(&dest.key(), due.date_naive()).unwrap().unwrap();
    match &rec.state {
        podsift::deliver::DeliveryState::Failed { error } => assert!(error.contains("no answer within 1 s"), "{error}"),
        other => panic!("{other:?}"),
    }
    assert!(rec.retry_at.is_some(), "a later tick tries again");

    // A post that went through though its answer never came is found in the channel when it
    // is tried again, not posted twice.
    let lost = common::subscribe_at(&s.store, destination(TEAM, "C0LOST"), due, 0, created);
    s.fake.lose_answers("C0LOST", 1);
    s.fake.foreign_message("C0LOST");
    let ticked = tokio::time::timeout(Duration::from_secs(60), deliverer.tick(due)).await;
    let summary = ticked.expect("a tick waited on a lost answer").unwrap();
    assert_eq!(summary.delivered, 1, "{summary:?}");
    let posted = s.fake.posted("C0LOST");
    let ours: Vec<_> = posted.iter().filter(|c| c.body["text"] != "deploy done").collect();
    assert_eq!(ours.len(), 6, "a part posted twice: {:#?}", ours.iter().map(|c| &c.body["text"]).collect::<Vec<_>>());
    let looked = s.fake.calls("conversations.history").into_iter().filter(|c| c.body["channel"] == "C0LOST").count();
    assert_eq!(looked, 1, "only a part tried again is looked for");
    let rec = s.store.delivery(&lost.key(), due.date_naive()).unwrap().unwrap();
    assert_eq!(rec.sent[0].1, ours[0].body["ts"].as_str().unwrap(), "the first part's id is the post found");

    // The same after a crash: Slack took the first part, and the process died before writing it
    // down. The next process, which never tried that part itself, finds it in the channel.
    let crashed = common::subscribe_at(&s.store, destination(TEAM, "C0CRASH"), due, 0, created);
    s.fake.lose_answers("C0CRASH", 1);
    let once = DeliveryConfig { max_attempts: 1, ..config.clone() };
    let dying = slack_process(&s, once).await;
    let ticked = tokio::time::timeout(Duration::from_secs(60), dying.tick(due)).await;
    assert_eq!(ticked.expect("a tick waited on a lost answer").unwrap().failed, 1);
    let mut rec = s.store.delivery(&crashed.key(), due.date_naive()).unwrap().unwrap();
    assert!(rec.sent.is_empty(), "{rec:?}");
    // As the record stands when the process dies while the first part is on its way.
    (rec.state, rec.retry_at) = (podsift::deliver::DeliveryState::Pending, None);
    s.store.put_delivery(&rec).unwrap();
    let restarted = slack_process(&s, config).await;
    let later = due + chrono::Duration::minutes(2);
    let summary = tokio::time::timeout(Duration::from_secs(60), restarted.tick(later)).await.unwrap().unwrap();
    assert_eq!(summary.delivered, 1, "{summary:?}");
    let texts: Vec<_> = s.fake.posted("C0CRASH").iter().map(|c| c.body["text"].clone()).collect();
    assert_eq!(texts.len(), 6, "a part posted twice: {texts:#?}");
    let looked = s.fake.calls("conversations.history").into_iter().filter(|c| c.body["channel"] == "C0CRASH").count();
    assert_eq!(looked, 1, "only the part that may have gone out is looked for");
}

/// A deliverer with a Slack adapter of its own, as a freshly started podsift has: it remembers
/// nothing of what another process tried.
async fn slack_process(s: &Setup, config: DeliveryConfig) -> Deliverer {
    let slack = SlackConfig { enabled: true, api_url: Some(s.fake.api.clone()), ..SlackConfig::default() };
    let adapter = SlackAdapter::connect(&slack, Some(TOKEN)).await.unwrap();
    Deliverer::new(
        s.store.clone(),
        vec![Arc::new(adapter) as Arc<dyn Adapter>],
        config,
        Config::default().digest,
        Arc::new(podsift::metrics::Metrics::default()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_needs_its_own_state_and_stores_the_workspaces_token() {
    let s = setup(false).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    // A callback with a state this podsift never issued is refused before Slack is asked.
    let forged =
        client.get(format!("{}/slack/oauth/callback?code={OAUTH_CODE}&state=1.2.3", s.base)).send().await.unwrap();
    assert_eq!(forged.status(), 403);
    assert!(s.fake.calls("oauth.v2.access").is_empty());

    let install = client.get(format!("{}/slack/install", s.base)).send().await.unwrap();
    assert_eq!(install.status(), 302);
    let location = url::Url::parse(install.headers()["location"].to_str().unwrap()).unwrap();
    let state = location.query_pairs().find(|(k, _)| k == "state").unwrap().1.to_string();
    assert!(location.query_pairs().any(|(k, v)| k == "scope" && v.contains("chat:write")));
    let cookie = install.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    // The right state from another browser (no cookie) is refused too.
    let elsewhere =
        client.get(format!("{}/slack/oauth/callback?code={OAUTH_CODE}&state={state}", s.base)).send().await.unwrap();
    assert_eq!(elsewhere.status(), 403);
    // The workspace had podsift before and removed it: its channel was paused then.
    let before = destination(OAUTH_TEAM, "C0BEFORE");
    common::subscribe_at(
        &s.store,
        before.clone(),
        at("2026-11-28T07:40:00Z"),
        0,
        morning() - chrono::Duration::days(2),
    );
    let held = destination(OAUTH_TEAM, "C0HELD");
    common::subscribe_at(&s.store, held.clone(), at("2026-11-28T07:40:00Z"), 0, morning() - chrono::Duration::days(2));
    let mut sub = s.store.subscription(&held.key()).unwrap().unwrap();
    sub.paused = Some("paused by the operator".into());
    s.store.put_subscription(&sub).unwrap();
    let removed = json!({"type": "event_callback", "team_id": OAUTH_TEAM, "event_id": "EvGone",
        "event": {"type": "app_uninstalled"}});
    post(&s.base, "/slack/events", &removed.to_string(), &[]).await;
    wait_for("the pause", || s.store.subscription(&before.key()).unwrap().unwrap().paused.is_some()).await;
    let done = client
        .get(format!("{}/slack/oauth/callback?code={OAUTH_CODE}&state={state}", s.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let page = done.text().await.unwrap();
    assert!(page.contains("installed in Other Co"), "{page}");
    assert!(page.contains("The 1 channel(s) that had a digest before it was removed get it again"), "{page}");
    assert_eq!(s.store.subscription(&before.key()).unwrap().unwrap().paused, None, "not resumed by the install");
    let held = s.store.subscription(&held.key()).unwrap().unwrap().paused;
    assert_eq!(held.as_deref(), Some("paused by the operator"), "an operator's pause is the operator's to undo");
    assert!(!format!("{:?}", s.store.subscriptions()).contains(OAUTH_TOKEN));

    // The new workspace's channels are served with its own token.
    common::subscribe_at(
        &s.store,
        destination(OAUTH_TEAM, "C0NEW"),
        at("2026-11-28T07:40:00Z"),
        0,
        morning() - chrono::Duration::days(1),
    );
    assert_eq!(s.deliverer.tick(at("2026-11-28T07:40:30Z")).await.unwrap().delivered, 2);
    assert!(s.fake.posted("C0NEW").iter().all(|c| c.token == OAUTH_TOKEN));
    assert_eq!(s.fake.posted("C0BEFORE").len(), 6, "the resumed channel's digest");
}

/// Socket Mode: the connection is opened with the app-level token, and slash commands, a thread
/// reply and the Ask modal arrive as envelopes, are acknowledged, and are handled as over HTTP.
/// The HTTP routes are not there without a signing secret, and shutdown closes the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_takes_the_same_requests_over_a_websocket_and_stops_with_podsift() {
    let s = setup_with(false, true).await;
    wait_for("a Socket Mode connection", || s.fake.sockets_open() > 0).await;
    let opens = s.fake.calls("apps.connections.open");
    assert!(!opens.is_empty() && opens.iter().all(|c| c.token == APP_TOKEN), "opened with another token");
    let unsigned = post(&s.base, "/slack/events", &thread_reply("EvX", "1.2", "hi"), &[]).await;
    assert_eq!(unsigned.status(), 404, "HTTP routes without a signing secret");

    let response_url = s.fake.response_url("sock-1");
    let fields = |text: &str| {
        json!({"token": "legacy", "team_id": TEAM, "team_domain": "acme", "channel_id": CHANNEL,
            "channel_name": "digest", "user_id": "U2CERLKJA", "user_name": "reader", "command": "/podsift",
            "text": text, "api_app_id": "A1", "response_url": response_url,
            "trigger_id": "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"})
    };
    let envelope = |id: &str, kind: &str, payload: Value| json!({"envelope_id": id, "type": kind, "accepts_response_payload": kind != "events_api", "payload": payload});
    s.fake.socket_send(envelope("env-bad", "slash_commands", fields("time 7pm")));
    wait_for("the usage error", || s.fake.ack("env-bad").is_some()).await;
    let usage = s.fake.ack("env-bad").unwrap();
    assert_eq!(usage["payload"]["response_type"], "ephemeral");
    assert!(usage["payload"]["text"].as_str().unwrap().contains("Example: /podsift time 07:30"), "{usage}");

    s.fake.socket_send(envelope("env-sub", "slash_commands", fields("subscribe 07:45 UTC")));
    wait_for("the subscription", || s.store.subscription(&destination(TEAM, CHANNEL).key()).unwrap().is_some()).await;
    wait_for("the acknowledgement", || s.fake.ack("env-sub").is_some()).await;
    let ack = s.fake.ack("env-sub").unwrap();
    assert!(ack["payload"]["text"].is_null(), "a command that worked is acknowledged without text: {ack}");
    wait_for("the confirmation", || !s.fake.responses().is_empty()).await;
    assert!(s.fake.responses()[0].body["text"].as_str().unwrap().starts_with("Subscribed"));

    assert_eq!(s.deliverer.tick(at("2026-11-28T07:46:00Z")).await.unwrap().delivered, 1);
    let digest = s.fake.posted(CHANNEL);
    assert_eq!(digest.len(), 6);
    let third_ts = digest[3].body["ts"].as_str().unwrap().to_string();
    let event: Value = serde_json::from_str(&thread_reply("EvSock1", &third_ts, "who said that?")).unwrap();
    s.fake.socket_send(envelope("env-q", "events_api", event.clone()));
    wait_for("the answer in the thread", || s.fake.posted(CHANNEL).len() == 7).await;
    let answer = s.fake.posted(CHANNEL)[6].body.clone();
    assert_eq!(answer["thread_ts"], third_ts.as_str());
    assert!(answer["text"].as_str().unwrap().starts_with("About #3"), "{answer}");
    wait_for("the acknowledgement", || s.fake.ack("env-q").is_some()).await;
    // Slack re-sends an event it thinks was lost, in a new envelope: taken once.
    s.fake.socket_send(envelope("env-q-again", "events_api", event));
    wait_for("the second acknowledgement", || s.fake.ack("env-q-again").is_some()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.fake.posted(CHANNEL).len(), 7, "a re-sent event was answered twice");

    let second_ts = digest[2].body["ts"].as_str().unwrap().to_string();
    let ask = &digest[2].body["blocks"].as_array().unwrap().last().unwrap()["elements"][0];
    let click = json!({"type": "block_actions", "team": {"id": TEAM, "domain": "acme"},
        "user": {"id": "U2CERLKJA", "team_id": TEAM}, "api_app_id": "A1", "token": "legacy",
        "channel": {"id": CHANNEL, "name": "digest"},
        "container": {"type": "message", "message_ts": second_ts, "channel_id": CHANNEL, "is_ephemeral": false},
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "actions": [{"action_id": ask["action_id"], "value": ask["value"], "type": "button", "block_id": "b",
            "action_ts": "1764317000.1", "text": {"type": "plain_text", "text": "Ask"}}]});
    s.fake.socket_send(envelope("env-click", "interactive", click));
    wait_for("views.open", || !s.fake.calls("views.open").is_empty()).await;
    let metadata = s.fake.calls("views.open")[0].body["view"]["private_metadata"].as_str().unwrap().to_string();
    let submit = json!({"type": "view_submission", "team": {"id": TEAM, "domain": "acme"},
        "user": {"id": "U2CERLKJA", "team_id": TEAM}, "api_app_id": "A1", "token": "legacy",
        "trigger_id": "1.2.3", "view": {"id": "V1", "team_id": TEAM, "type": "modal", "callback_id": "podsift_ask",
            "private_metadata": metadata, "title": {"type": "plain_text", "text": "Ask about #2"}, "blocks": [],
            "hash": "h", "state": {"values": {"q": {"question": {"type": "plain_text_input", "value": "what was the point?"}}}}}});
    s.fake.socket_send(envelope("env-submit", "interactive", submit));
    wait_for("the answer to the modal", || {
        s.fake.posted(CHANNEL).iter().any(|m| m.body["thread_ts"] == second_ts.as_str())
    })
    .await;
    wait_for("the acknowledgements", || s.fake.ack("env-click").is_some() && s.fake.ack("env-submit").is_some()).await;
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());

    let open = s.fake.sockets_open();
    s.stop.send(true).unwrap();
    wait_for("the connections to close", || s.fake.sockets_closed() >= open && s.fake.sockets_open() == 0).await;
}

#[test]
fn podcast_text_cannot_mention_or_forge_links() {
    let e = podsift::model::DigestEntry {
        rank: 1,
        id: "i".into(),
        episode_id: "e".into(),
        text: "<!channel> read <http://evil|this> & more".into(),
        quote: "<!here> a quote that says more than the text does, much more".into(),
        podcast: "<@U123>".into(),
        episode: "E".into(),
        episode_url: Some("https://x/e".into()),
        speaker: None,
        start_seconds: 1.0,
        untimed: false,
        link: Some("https://x/e#t=1".into()),
        score: 1.0,
        also_in: vec![],
    };
    let (blocks, fallback) = entry_blocks(chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(), &e);
    let json = serde_json::to_string(&blocks).unwrap();
    assert!(!json.contains("<!") && !json.contains("<@") && !json.contains("<http://evil"), "{json}");
    // The plain text beside the blocks (notifications, screen readers) is read as mrkdwn too.
    assert!(!fallback.contains('<') && fallback.contains("&lt;!channel&gt;"), "{fallback}");
    assert!(json.contains("&lt;!channel&gt;") && json.contains("&amp; more"));
    assert!(json.contains("<https://x/e#t=1|00:00:01>"), "the one link podsift means stays a link: {json}");
    let notes = podsift::model::DigestEntry { untimed: true, link: Some("https://x/e".into()), ..e };
    let (blocks, _) = entry_blocks(chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(), &notes);
    let json = serde_json::to_string(&blocks).unwrap();
    assert!(json.contains("<https://x/e|show notes>") && !json.contains("00:00:01"), "{json}");
}

/// The whole loop through `podsift run`: the scheduled digest reaches the channel and a thread
/// reply posted to /slack/events is answered in its thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_loop_through_podsift_run() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSlack::start().await;
    {
        let store = Store::open(&dir.path().join("data")).unwrap();
        podsift::demo::ingest_demo(&store, &Config::default(), Utc::now(), &Quiet).await.unwrap();
        common::subscribe_due(&store, destination(TEAM, CHANNEL), 1);
        store.flush().unwrap();
    }
    let config = format!(
        "[service]\nbind = \"127.0.0.1:0\"\ntick_seconds = 1\ningest_every_minutes = 600\n\n[adapters.console]\nenabled = false\n\n\
         [adapters.slack]\nenabled = true\napi_url = \"{}\"\n",
        fake.api
    );
    std::fs::write(dir.path().join("podsift.toml"), config).unwrap();
    let envs = [("SLACK_BOT_TOKEN", TOKEN), ("SLACK_SIGNING_SECRET", SECRET)];
    let mut run = common::podsift_run(&dir.path().join("data"), &dir.path().join("podsift.toml"), &envs);
    let addr = run.addr.clone();
    wait_for("the scheduled digest", || fake.posted(CHANNEL).len() == 6).await;
    let first_ts = fake.posted(CHANNEL)[1].body["ts"].as_str().unwrap().to_string();
    let base = format!("http://{addr}");
    post(&base, "/slack/events", &thread_reply("EvRun1", &first_ts, "what exactly was said?"), &[]).await;
    wait_for("the answer in the thread", || {
        fake.posted(CHANNEL).iter().any(|m| m.body["thread_ts"] == first_ts.as_str())
    })
    .await;
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());

    // A signed, well-formed body over service.request_body_limit_bytes (64 KiB) is refused before
    // any handler sees it; the same request under the limit is answered.
    let challenge =
        |pad: usize| json!({"type": "url_verification", "challenge": "c", "pad": "x".repeat(pad)}).to_string();
    assert_eq!(post(&base, "/slack/events", &challenge(1_000), &[]).await.status(), 200);
    assert_eq!(post(&base, "/slack/events", &challenge(200_000), &[]).await.status(), 413);
    assert!(common::stop(&mut run.child), "podsift run did not stop cleanly");
}

/// Socket Mode through `podsift run`: a missing or wrong app-level token stops it with a line
/// that names the fix; with the right one the scheduled digest arrives, a thread reply sent over
/// the websocket is answered in its thread, and stopping podsift closes the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_through_podsift_run() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSlack::start().await;
    {
        let store = Store::open(&dir.path().join("data")).unwrap();
        podsift::demo::ingest_demo(&store, &Config::default(), Utc::now(), &Quiet).await.unwrap();
        common::subscribe_due(&store, destination(TEAM, CHANNEL), 1);
        store.flush().unwrap();
    }
    let config = format!(
        "[service]\nbind = \"127.0.0.1:0\"\ntick_seconds = 1\ningest_every_minutes = 600\n\n[adapters.console]\nenabled = false\n\n\
         [adapters.slack]\nenabled = true\nsocket_mode = true\napi_url = \"{}\"\n",
        fake.api
    );
    let config_path = dir.path().join("podsift.toml");
    std::fs::write(&config_path, config).unwrap();
    let refused = |envs: &[(&str, &str)]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_podsift"));
        c.arg("--data").arg(dir.path().join("data")).arg("--config").arg(&config_path).arg("run");
        c.env_remove("SLACK_APP_TOKEN").env_remove("SLACK_SIGNING_SECRET").env_remove("PODSIFT_BIND");
        for (k, v) in envs {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let missing = refused(&[("SLACK_BOT_TOKEN", TOKEN)]);
    assert!(missing.contains("SLACK_APP_TOKEN is not set") && missing.contains("connections:write"), "{missing}");
    let wrong = refused(&[("SLACK_BOT_TOKEN", TOKEN), ("SLACK_APP_TOKEN", TOKEN)]);
    assert!(wrong.contains("app-level token (xapp-...)"), "{wrong}");
    assert!(!wrong.contains(TOKEN), "a token in an error: {wrong}");
    // An app-level token Slack does not take (revoked, mistyped) stops the start too, rather
    // than a listener retrying it unseen.
    let revoked = refused(&[("SLACK_BOT_TOKEN", TOKEN), ("SLACK_APP_TOKEN", "xapp-1-revoked")]);
    assert!(revoked.contains("SLACK_APP_TOKEN was refused by Slack (not_allowed_token_type)"), "{revoked}");
    assert!(!revoked.contains("xapp-1-revoked"), "a token in an error: {revoked}");

    let envs = [("SLACK_BOT_TOKEN", TOKEN), ("SLACK_APP_TOKEN", APP_TOKEN)];
    let mut run = common::podsift_run(&dir.path().join("data"), &config_path, &envs);
    wait_for("a Socket Mode connection", || fake.sockets_open() > 0).await;
    wait_for("the scheduled digest", || fake.posted(CHANNEL).len() == 6).await;
    let first_ts = fake.posted(CHANNEL)[1].body["ts"].as_str().unwrap().to_string();
    let event: Value = serde_json::from_str(&thread_reply("EvRunSock", &first_ts, "what exactly was said?")).unwrap();
    fake.socket_send(json!({"envelope_id": "run-1", "type": "events_api", "accepts_response_payload": false,
        "retry_attempt": 0, "retry_reason": "", "payload": event}));
    wait_for("the answer in the thread", || {
        fake.posted(CHANNEL).iter().any(|m| m.body["thread_ts"] == first_ts.as_str())
    })
    .await;
    wait_for("the acknowledgement", || fake.ack("run-1").is_some()).await;
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    assert!(common::stop(&mut run.child), "podsift run did not stop cleanly");
    wait_for("the connections to close", || fake.sockets_open() == 0).await;
}

/// Options offered with a message are buttons (their value the command); pressing one runs it
/// for the one who pressed, who alone sees the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_choice_button_runs_its_command() {
    let s = setup(false).await;
    let dest = destination(TEAM, CHANNEL);
    s.store.put_podcast_list(&dest.key(), &["demo:gotime".to_string()]).unwrap();
    let choices =
        vec![podsift::deliver::Choice { label: "Remove Go Time".into(), command: "podcasts remove 1".into() }];
    let offer = podsift::deliver::Message::Choices { text: "Your podcasts: 1. Go Time <!channel>".into(), choices };
    let core = common::core_with(
        &s.store,
        Arc::new(
            SlackAdapter::connect(
                &SlackConfig { enabled: true, api_url: Some(s.fake.api.clone()), ..SlackConfig::default() },
                Some(TOKEN),
            )
            .await
            .unwrap(),
        ) as Arc<dyn Adapter>,
        Arc::new(Utc::now),
    )
    .1;
    core.reply(&dest, None, &offer).await.unwrap();
    let sent = s.fake.posted(CHANNEL).last().unwrap().body.clone();
    let button = &sent["blocks"][1]["elements"][0];
    assert_eq!((button["action_id"].as_str(), button["value"].as_str()), (Some("cmd_0"), Some("podcasts remove 1")));
    let click = interaction(json!({"type": "block_actions", "team": {"id": TEAM}, "user": {"id": "U2CERLKJA"},
        "channel": {"id": CHANNEL}, "container": {"type": "message", "message_ts": sent["ts"], "channel_id": CHANNEL},
        "trigger_id": "1.2.3", "actions": [{"action_id": "cmd_0", "value": "podcasts remove 1", "type": "button",
        "block_id": "b", "action_ts": "1"}]}));
    assert_eq!(post(&s.base, "/slack/interactivity", &click, &[]).await.status(), 200);
    wait_for("the list to empty", || s.store.podcast_list(&dest.key()).unwrap().is_none()).await;
    wait_for("the confirmation", || {
        s.fake
            .calls("chat.postEphemeral")
            .iter()
            .any(|c| c.body["text"].as_str().unwrap_or("").contains("Removed Go Time"))
    })
    .await;
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

/// Slack down when podsift starts: the start goes on (the other platforms are not held up), the
/// workspace's digests wait as an outage, and the token is checked again until Slack answers.
#[tokio::test]
async fn slack_unreachable_at_the_start_is_asked_again_later() {
    let fake = FakeSlack::start().await;
    fake.auth_down(1);
    let cfg = SlackConfig { enabled: true, api_url: Some(fake.api.clone()), ..SlackConfig::default() };
    let adapter = Arc::new(SlackAdapter::connect(&cfg, Some(TOKEN)).await.expect("Slack being down stopped the start"));
    match adapter.token(TEAM) {
        Err(podsift::deliver::SendError::Transient(why)) => assert!(why.contains("could not be reached"), "{why}"),
        other => panic!("a workspace not yet known is no outage: {:?}", other.map(|_| "a token")),
    }
    adapter.check_later();
    wait_for("the token checked again", || adapter.token(TEAM).is_ok()).await;
    assert_eq!(fake.calls("auth.test").len(), 2, "asked again until Slack answered");
    assert!(fake.calls("auth.test").iter().all(|c| c.token == TOKEN));
}
