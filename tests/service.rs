//! `podsift run` as a real child process: killed with SIGKILL in the middle of a fan-out and
//! restarted, every destination still ends up with exactly one digest; SIGTERM exits 0; the
//! HTTP server answers /healthz and /metrics; bad set-ups fail with a one-line error.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{FakeServer, Reply};
use podsift::config::Config;
use podsift::deliver::Destination;
use podsift::ingest::Quiet;
use podsift::store::Store;

const SECRET: &str = "child-secret-of-the-service-tests";

const CONFIG: &str = r#"
[service]
bind = "127.0.0.1:0"
tick_seconds = 1
ingest_every_minutes = 600
shutdown_grace_seconds = 5

[delivery]
max_concurrency = 4

[adapters.console]
enabled = false

[adapters.webhook]
enabled = true
global_per_second = 200.0
per_destination_per_second = 100.0
timeout_secs = 5
"#;

/// A data dir with the demo ingested and `paths` subscribed as webhook destinations, due now.
async fn prepare(dir: &Path, server: &FakeServer, paths: &[String]) {
    let store = Store::open(&dir.join("data")).unwrap();
    podsift::demo::ingest_demo(&store, &Config::default(), Utc::now(), &Quiet).await.unwrap();
    for p in paths {
        common::subscribe_due(&store, Destination::new("webhook", &server.url(p)), 1);
    }
    store.flush().unwrap();
    std::fs::write(dir.join("podsift.toml"), CONFIG).unwrap();
}

use common::Running;

fn spawn(dir: &Path) -> Running {
    common::podsift_run(&dir.join("data"), &dir.join("podsift.toml"), &[("PODSIFT_WEBHOOK_SECRET", SECRET)])
}

/// Unique (non-duplicate) webhook messages received per path.
fn unique(server: &FakeServer, path: &str) -> usize {
    server.requests(path).iter().filter(|r| !r.duplicate && r.method == "POST").count()
}

async fn wait_until(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success();
    assert!(ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_fan_out_then_restarted_every_destination_gets_exactly_one_digest() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::start().await;
    server.require_signature(SECRET);
    let paths: Vec<String> = (0..40).map(|i| format!("/d{i}")).collect();
    for p in &paths {
        server.route(p, vec![Reply::ok("{}").delay(Duration::from_millis(20))]);
    }
    prepare(dir.path(), &server, &paths).await;
    let total = paths.len() * 5;

    let mut first = spawn(dir.path());
    wait_until("the fan-out to start", 30, || server.all_requests().len() >= 30).await;
    first.child.kill().unwrap(); // SIGKILL: no chance to clean up
    first.child.wait().unwrap();
    let sent_before = paths.iter().map(|p| unique(&server, p)).sum::<usize>();
    assert!(sent_before < total, "the kill came after the fan-out finished ({sent_before} of {total})");

    let mut second = spawn(dir.path());
    wait_until("every destination's digest", 60, || paths.iter().map(|p| unique(&server, p)).sum::<usize>() >= total)
        .await;
    // Give a wrongly repeated send time to show up before counting.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sigterm(&second.child);
    let status = second.child.wait().unwrap();
    assert!(status.success(), "SIGTERM should exit 0, got {status:?}");

    for p in &paths {
        let got: Vec<serde_json::Value> = server
            .requests(p)
            .iter()
            .filter(|r| !r.duplicate)
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        let mut ranks: Vec<u64> = got.iter().map(|b| b["insight"]["rank"].as_u64().unwrap()).collect();
        ranks.sort();
        assert_eq!(ranks, [1, 2, 3, 4, 5], "{p} received {ranks:?}");
    }
    // Resent parts (at most the ones in flight at the kill) carried their original keys.
    let resent = server.all_requests().iter().filter(|r| r.duplicate).count();
    assert!(resent <= 4, "{resent} parts were sent twice");
}

/// A destination still retrying (a webhook that hangs past its timeout, attempt after attempt)
/// does not hold up a digest that falls due meanwhile: each tick runs on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_destination_does_not_delay_one_that_falls_due_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::start().await;
    server.require_signature(SECRET);
    server.route("/hangs", vec![Reply::ok("{}").delay(Duration::from_secs(60))]);
    server.route("/later", vec![Reply::ok("{}")]);
    prepare(dir.path(), &server, &["/hangs".to_string()]).await;
    // Forwarded commands need the admin address.
    let config = CONFIG.replace("[service]\n", "[service]\nadmin_bind = \"127.0.0.1:0\"\n");
    std::fs::write(dir.path().join("podsift.toml"), config).unwrap();
    let mut run = spawn(dir.path());
    wait_until("the hanging destination's first try", 30, || !server.requests("/hangs").is_empty()).await;

    // Due a few seconds from now (a cron schedule with seconds), added while the service runs.
    let fire = Utc::now() + chrono::Duration::seconds(3);
    let expr = fire.format("%S %M %H * * *").to_string();
    let later = format!("webhook:{}", server.url("/later"));
    let data = dir.path().join("data");
    let added = Command::new(env!("CARGO_BIN_EXE_podsift"))
        .arg("--data")
        .arg(&data)
        .args(["subs", "add", &later, "--cron", &expr, "--tz", "UTC"])
        .env_remove("PODSIFT_CONFIG")
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    wait_until("the later destination's digest", 60, || unique(&server, "/later") == 5).await;
    let late = Utc::now() - fire;
    // Waiting for the hanging one's attempts (5 s each) would make it some 20 s late.
    assert!(late < chrono::Duration::seconds(10), "the later digest came {late} after it was due");
    assert!(server.requests("/hangs").len() < 5, "the hanging destination's attempts were already over");
    sigterm(&run.child);
    assert!(run.child.wait().unwrap().success());
}

/// A stop whose grace period ends with a send still hanging says the work was cut off (it
/// resumes at the next start), not that it stopped cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_that_cuts_off_a_send_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::start().await;
    server.require_signature(SECRET);
    server.route("/hangs", vec![Reply::ok("{}").delay(Duration::from_secs(60))]);
    prepare(dir.path(), &server, &["/hangs".to_string()]).await;
    let config = CONFIG
        .replace("shutdown_grace_seconds = 5", "shutdown_grace_seconds = 1")
        .replace("timeout_secs = 5", "timeout_secs = 30");
    std::fs::write(dir.path().join("podsift.toml"), config).unwrap();
    let mut run = spawn(dir.path());
    wait_until("the hanging destination's first try", 30, || !server.requests("/hangs").is_empty()).await;
    sigterm(&run.child);
    assert!(run.child.wait().unwrap().success());
    let lines: Vec<String> = run.stderr.iter().collect();
    assert!(
        lines.iter().any(|l| l.contains(
            "podsift: stopped: the grace period (service.shutdown_grace_seconds) ended with work still running"
        )),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("stopped cleanly")), "{lines:?}");
}

/// With `PODSIFT_LOG_FORMAT=json` the service's standard error is one JSON object a line, its
/// start and stop included, for a log shipper.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::start().await;
    server.require_signature(SECRET);
    server.route("/j", vec![Reply::ok("{}")]);
    prepare(dir.path(), &server, &["/j".to_string()]).await;
    let envs = [("PODSIFT_WEBHOOK_SECRET", SECRET), ("PODSIFT_LOG_FORMAT", "json"), ("PODSIFT_LOG", "info")];
    let mut run = common::podsift_run(&dir.path().join("data"), &dir.path().join("podsift.toml"), &envs);
    wait_until("the delivery", 30, || unique(&server, "/j") == 5).await;
    sigterm(&run.child);
    assert!(run.child.wait().unwrap().success());
    // Until the reader meets the end of the stream: every line the service wrote.
    let lines: Vec<String> = run.stderr.iter().collect();
    assert!(lines.iter().any(|l| l.contains("stopped cleanly")), "{lines:?}");
    for line in &lines {
        assert!(serde_json::from_str::<serde_json::Value>(line).is_ok(), "not JSON: {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_a_clean_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::start().await;
    server.require_signature(SECRET);
    server.route("/one", vec![Reply::ok("{}")]);
    prepare(dir.path(), &server, &["/one".to_string()]).await;
    {
        // A chat paused (as after its platform refused it): counted, never sent to.
        let store = Store::open(&dir.path().join("data")).unwrap();
        let quiet = common::subscribe_due(&store, Destination::new("webhook", &server.url("/paused")), 1);
        let mut sub = store.subscription(&quiet.key()).unwrap().unwrap();
        sub.paused = Some("the bot was removed from the chat".into());
        store.put_subscription(&sub).unwrap();
        // The demo's feeds are read from a server that is down.
        for mut feed in store.feeds().unwrap() {
            feed.fetch_url = server.url("/down");
            store.put_feed(&feed).unwrap();
        }
        store.flush().unwrap();
    }
    server.route("/down", vec![Reply::status(503)]);
    let mut run = spawn(dir.path());
    wait_until("the delivery", 30, || unique(&server, "/one") == 5).await;

    let client = reqwest::Client::new();
    let health: serde_json::Value =
        client.get(format!("http://{}/healthz", run.addr)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["store"], "ok");
    assert!(health["last_delivery"].is_string(), "{health}");
    let metrics = client.get(format!("http://{}/metrics", run.addr)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("# TYPE podsift_deliveries_ok_total counter"), "{metrics}");
    assert!(metrics.contains("# TYPE podsift_subscriptions_without_adapter gauge"), "{metrics}");
    assert!(metrics.contains("podsift_deliveries_ok_total 1"), "{metrics}");
    for promised in [
        "podsift_llm_transcriptions_today 0",
        "podsift_subscriptions_without_adapter 0",
        "podsift_requests_total 0",
        "# TYPE podsift_subscriptions_paused gauge",
        "podsift_subscriptions_active 1\n",
        "podsift_subscriptions_paused 1\n",
        "# TYPE podsift_feeds_failing gauge",
    ] {
        assert!(metrics.contains(promised), "{promised} missing from {metrics}");
    }
    assert!(server.requests("/paused").is_empty(), "a paused chat was sent to");
    // The service's first ingest finds all 8 of the demo's feeds failing.
    let mut failing = String::new();
    for _ in 0..300 {
        let m = client.get(format!("http://{}/metrics", run.addr)).send().await.unwrap().text().await.unwrap();
        failing = m.lines().filter(|l| l.starts_with("podsift_feeds_failing ")).collect();
        if failing == "podsift_feeds_failing 8" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(failing, "podsift_feeds_failing 8");
    assert!(server.requests("/down").len() >= 8, "the feeds were read elsewhere");
    // (The request body limit is tested on a route that takes bodies: tests/slack.rs.)

    sigterm(&run.child);
    assert!(run.child.wait().unwrap().success());
    // The store is flushed and free again: a new process opens it and sees the delivery.
    let store = Store::open(&dir.path().join("data")).unwrap();
    let dest = Destination::new("webhook", &server.url("/one"));
    let rec = store.delivery(&dest.key(), Utc::now().date_naive()).unwrap().unwrap();
    assert!(matches!(rec.state, podsift::deliver::DeliveryState::Sent { .. }));
}

#[test]
fn an_enabled_adapter_without_its_secret_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("podsift.toml"), CONFIG).unwrap();
    // `podsift run` with the secret as given (or unset): it must fail with one line.
    let refused = |secret: Option<&str>| {
        let mut run = Command::new(env!("CARGO_BIN_EXE_podsift"));
        run.arg("--data").arg(dir.path().join("data")).arg("--config").arg(dir.path().join("podsift.toml")).arg("run");
        match secret {
            Some(s) => run.env("PODSIFT_WEBHOOK_SECRET", s),
            None => run.env_remove("PODSIFT_WEBHOOK_SECRET"),
        };
        let out = run.stdin(Stdio::null()).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        err
    };
    let err = refused(None);
    assert!(err.contains("PODSIFT_WEBHOOK_SECRET") && err.contains("adapters.webhook"), "{err}");
    // A secret short enough to guess is refused as plainly.
    let err = refused(Some("hunter2"));
    assert!(err.contains("PODSIFT_WEBHOOK_SECRET has 7 characters") && err.contains("at least 16"), "{err}");
}

#[test]
fn bad_schedule_config_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("podsift.toml");
    std::fs::write(&cfg, "[service]\ndefault_timezone = \"Mars/Olympus\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_podsift"))
        .arg("--data")
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&cfg)
        .arg("run")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("service.default_timezone") && err.contains("Europe/Berlin"), "{err}");
}

/// `podsift run --demo` as the README shows it: the digest on the terminal within seconds, a
/// typed question answered, a clean stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_demo_shows_the_whole_loop_on_the_terminal() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("podsift.toml"), "[service]\nbind = \"127.0.0.1:0\"\n").unwrap();
    // No --data: the demo run keeps to a temporary store, away from ./data and the store the
    // environment names.
    let mut child = Command::new(env!("CARGO_BIN_EXE_podsift"))
        .arg("--config")
        .arg(dir.path().join("podsift.toml"))
        .args(["run", "--demo"])
        .current_dir(dir.path())
        .env("PODSIFT_DATA_DIR", dir.path().join("real-store"))
        .env_remove("PODSIFT_BIND")
        .env_remove("OPENAI_BASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(String::from_utf8_lossy(&buf[..n]).into_owned()).is_err() {
                break;
            }
        }
    });
    let mut screen = String::new();
    let mut wait_for = |what: &str, done: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done(&screen) {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(s) => screen.push_str(&s),
                Err(_) => panic!("timed out waiting for {what}; the screen:\n{screen}"),
            }
        }
    };
    wait_for("the digest", &|s| s.contains("== podsift digest for") && s.contains("#5  "));
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "/ask 1 what exactly was said about that?").unwrap();
    wait_for("the answer", &|s| s.contains("About #1"));
    // A mistyped command and a line that is none are answered on the same screen.
    writeln!(stdin, "/time 25:99 Europe/Berlin").unwrap();
    wait_for("the answer to a bad time", &|s| s.contains("\"25:99\" is not a time of day"));
    writeln!(stdin, "hello").unwrap();
    wait_for("the hint", &|s| s.contains("Commands start with /"));
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    assert!(!dir.path().join("data").exists(), "the demo run wrote into ./data");
    assert!(!dir.path().join("real-store").exists(), "the demo run wrote into PODSIFT_DATA_DIR");
}

/// The configuration with `service.keep_days` set.
fn keeping(days: u64) -> Config {
    let mut config = Config::default();
    config.service.keep_days = days;
    config
}

/// An old episode's transcript, candidate insights and cached model answers go once no stored
/// digest shows it; its record stays (its item is not new again) and says why.
#[test]
fn old_episodes_lose_their_content_unless_a_stored_digest_shows_them() {
    use podsift::model::{DigestEntry, Episode, Insight, Segment, Transcript, TranscriptSource, TranscriptStatus};
    let dir = tempfile::tempdir().unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z").unwrap().with_timezone(&Utc);
    // An old episode whose record cannot be read (a disk fault): the pass goes on around it.
    {
        let store = podsift::store::Store::open(dir.path()).unwrap();
        let mut bad = Episode::new("ep-bad", "https://x/feed", "Bad", now);
        bad.published = Some(now - chrono::Duration::days(250));
        store.put_episode(&bad).unwrap();
        store.flush().unwrap();
    }
    let store = common::write_past_podsift(dir.path(), "episodes", b"ep-bad", b"\xff not a record");
    let stored = |id: &str, days_ago: i64| {
        let mut ep = Episode::new(id, "https://x/feed", id, now);
        ep.published = Some(now - chrono::Duration::days(days_ago));
        let transcript = Transcript {
            episode_id: id.into(),
            source: TranscriptSource::Text,
            url: None,
            fetched_at: now,
            segments: vec![Segment {
                start: 0.0,
                end: 5.0,
                speaker: None,
                text: "Caching cut latency by half.".into(),
            }],
        };
        ep.transcript = TranscriptStatus::Stored { source: TranscriptSource::Text, bytes: 28, segments: 1 };
        store.put_transcript(&ep, &transcript).unwrap();
        let insight = Insight {
            id: format!("{id}-i"),
            episode_id: id.into(),
            feed_url: ep.feed_url.clone(),
            podcast: "Show".into(),
            episode: id.into(),
            episode_url: None,
            speaker: None,
            start_seconds: 0.0,
            text: "Caching cut latency by half.".into(),
            quote: "Caching cut latency by half.".into(),
            score: 1.0,
            published: ep.published_or_seen(),
            source: TranscriptSource::Text,
            embedding: None,
        };
        ep.insights_extracted = true;
        store.put_insights(&ep, std::slice::from_ref(&insight), Some(&["cach".into()])).unwrap();
        store.put_llm_cache(&format!("{id}:abc"), &serde_json::json!([])).unwrap();
        insight
    };
    stored("ep-old", 200);
    let shown = stored("ep-old-shown", 200);
    stored("ep-recent", 3);
    // An old episode still waiting for its transcript keeps the pieces already paid for.
    let mut waiting = Episode::new("ep-waiting", "https://x/feed", "Waiting", now);
    waiting.published = Some(now - chrono::Duration::days(200));
    waiting.transcript = TranscriptStatus::Failed { error: "HTTP 500".into(), attempts: 1, retry_at: None };
    store.put_episode(&waiting).unwrap();
    store.put_llm_cache("ep-waiting:stt:m:abc:0", &serde_json::json!("piece")).unwrap();
    // A digest still kept shows the second old episode (a question may come about it).
    let recent = now.date_naive() - chrono::Duration::days(3);
    store
        .put_digest_once(&podsift::model::Digest {
            date: recent,
            list: None,
            built_at: now,
            candidates: 1,
            episodes: 1,
            insights: vec![DigestEntry::from_insight(1, &shown, 1.0, vec![])],
            reserve: vec![],
            edit: None,
            carried: vec![],
        })
        .unwrap();
    // keep_days = 0 keeps everything; a digest window reaching back that far keeps it too.
    assert_eq!(podsift::service::prune_if_due(&store, &keeping(0), now).unwrap().episodes_emptied, 0);
    let mut wide = keeping(180);
    wide.digest.recency_window_hours = 24 * 300;
    let later = now + chrono::Duration::days(1);
    assert_eq!(podsift::service::prune_if_due(&store, &wide, later).unwrap().episodes_emptied, 0);

    let later = later + chrono::Duration::days(1);
    let pruned = podsift::service::prune_if_due(&store, &keeping(180), later).unwrap();
    assert_eq!(pruned.episodes_emptied, 1);
    assert!(store.transcript("ep-old").unwrap().is_none());
    assert!(store.insights_of("ep-old").unwrap().is_empty());
    assert!(store.llm_cache("ep-old:abc").unwrap().is_none());
    let ep = store.episode("ep-old").unwrap().expect("the record stays");
    assert!(matches!(&ep.transcript, TranscriptStatus::Skipped { reason } if reason.contains("keep_days")), "{ep:?}");
    assert!(!ep.wants_transcript() && !ep.wants_extraction());
    for kept in ["ep-old-shown", "ep-recent"] {
        assert!(store.transcript(kept).unwrap().is_some(), "{kept}");
        assert_eq!(store.insights_of(kept).unwrap().len(), 1, "{kept}");
        assert!(store.llm_cache(&format!("{kept}:abc")).unwrap().is_some(), "{kept}");
    }
    assert!(store.llm_cache("ep-waiting:stt:m:abc:0").unwrap().is_some(), "paid pieces removed");
    assert!(store.episode("ep-waiting").unwrap().unwrap().wants_transcript());
    // Done once: the next day's pass finds nothing more to remove.
    let pruned = podsift::service::prune_if_due(&store, &keeping(180), later + chrono::Duration::days(1)).unwrap();
    assert_eq!(pruned.episodes_emptied, 0);
    // Once the digest that showed it is pruned too, the other old episode goes as well (each
    // pass starts where the episodes it left alone begin).
    let much_later = now + chrono::Duration::days(200);
    let pruned = podsift::service::prune_if_due(&store, &keeping(180), much_later).unwrap();
    assert_eq!((pruned.digests, pruned.episodes_emptied), (1, 2), "{pruned:?}");
    assert!(store.transcript("ep-old-shown").unwrap().is_none() && store.transcript("ep-recent").unwrap().is_none());
}

/// Records that only grow with time are removed once a day past `service.keep_days`; what is
/// newer, and everything else, stays.
#[test]
fn old_records_are_pruned_once_a_day() {
    use podsift::deliver::{Delivery, DeliveryState};
    let dir = tempfile::tempdir().unwrap();
    let store = podsift::store::Store::open(dir.path()).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z").unwrap().with_timezone(&Utc);
    let old = now.date_naive() - chrono::Duration::days(200);
    let recent = now.date_naive() - chrono::Duration::days(3);
    let dest = Destination::new("telegram", "42");
    for (date, id) in [(old, "m-old"), (recent, "m-new")] {
        store
            .put_delivery(&Delivery {
                destination: dest.clone(),
                date,
                state: DeliveryState::Sent { at: now },
                attempts: 1,
                sent: vec![(Some(1), id.to_string())],
                updated_at: now,
                list: None,
                shown: vec![],
                retry_at: None,
                reserve_points: vec![],
                last_error: None,
            })
            .unwrap();
        store
            .put_digest_once(&podsift::model::Digest {
                date,
                list: None,
                built_at: now,
                candidates: 0,
                episodes: 0,
                insights: vec![],
                reserve: vec![],
                edit: None,
                carried: vec![],
            })
            .unwrap();
        store.update_llm_usage(date, |u| u.requests += 1).unwrap();
    }
    assert!(store.first_seen("slack-event:old", now - chrono::Duration::days(3)).unwrap());
    assert!(store.first_seen("slack-event:new", now - chrono::Duration::hours(1)).unwrap());
    // Not an event: a failing podcast already reported, once per spell however long.
    let reported = "feed-down:telegram:42:https://x/feed:2026-01-01";
    assert!(store.first_seen(reported, now - chrono::Duration::days(90)).unwrap());

    // Podcast choices offered by a directory search: one key per search, so they go too.
    let hit =
        podsift::model::DirectoryHit { title: "Go Time".into(), feed_url: "https://x/gotime".into(), author: None };
    store.put_choices("telegram:42", "aaaaaa", std::slice::from_ref(&hit), now - chrono::Duration::days(3)).unwrap();
    store.put_choices("telegram:42", "bbbbbb", std::slice::from_ref(&hit), now - chrono::Duration::hours(1)).unwrap();

    // A model's answer cached for an episode still stored stays; for one gone, it goes.
    let kept = podsift::model::Episode::new("ep-kept", "https://x/feed", "Kept", now);
    store.put_episode(&kept).unwrap();
    store.put_llm_cache("ep-kept:abc", &serde_json::json!([])).unwrap();
    store.put_llm_cache("ep-gone:abc", &serde_json::json!([])).unwrap();

    let pruned = podsift::service::prune_if_due(&store, &keeping(180), now).expect("the first run prunes");
    assert_eq!(pruned.llm_cache, 1);
    assert!(store.llm_cache("ep-kept:abc").unwrap().is_some() && store.llm_cache("ep-gone:abc").unwrap().is_none());
    assert_eq!((pruned.deliveries, pruned.messages, pruned.digests, pruned.llm_days, pruned.events), (1, 1, 1, 1, 1));
    assert_eq!(pruned.choices, 1, "the old search's choices");
    assert!(store.choices("telegram:42", Some("aaaaaa")).unwrap().is_empty());
    assert_eq!(store.choices("telegram:42", Some("bbbbbb")).unwrap(), vec![hit.clone()]);
    assert_eq!(store.choices("telegram:42", None).unwrap(), vec![hit]);
    assert!(store.delivery(&dest.key(), old).unwrap().is_none());
    assert!(store.delivery(&dest.key(), recent).unwrap().is_some());
    assert_eq!(store.message_ref(&dest.key(), "m-old").unwrap(), None);
    assert_eq!(store.message_ref(&dest.key(), "m-new").unwrap(), Some((recent, 1)));
    assert!(store.digest(old).unwrap().is_none() && store.digest(recent).unwrap().is_some());
    assert_eq!((store.llm_usage(old).unwrap().requests, store.llm_usage(recent).unwrap().requests), (0, 1));
    assert!(!store.first_seen("slack-event:new", now).unwrap(), "a recent event was forgotten");
    assert!(store.first_seen("slack-event:old", now).unwrap(), "an old event was kept");
    assert!(!store.first_seen(reported, now).unwrap(), "a failing podcast's notice would be sent again");
    // A notice that could not be sent takes its mark back, to be sent at the next round.
    store.forget_seen(reported).unwrap();
    assert!(store.first_seen(reported, now).unwrap());
    // Once a day.
    assert_eq!(podsift::service::prune_if_due(&store, &keeping(180), now + chrono::Duration::hours(1)), None);
    assert!(podsift::service::prune_if_due(&store, &keeping(180), now + chrono::Duration::hours(24)).is_some());

    // keep_days = 0 keeps every dated record, and still forgets what only lives for days.
    let later = now + chrono::Duration::days(9);
    store.put_choices("telegram:42", "cccccc", &[], later - chrono::Duration::days(3)).unwrap();
    assert!(store.first_seen("slack-event:older", later - chrono::Duration::days(3)).unwrap());
    store.put_llm_cache("ep-gone-too:abc", &serde_json::json!([])).unwrap();
    let pruned = podsift::service::prune_if_due(&store, &keeping(0), later).expect("a day has passed");
    assert_eq!(
        (pruned.deliveries, pruned.messages, pruned.digests, pruned.llm_days, pruned.digests_shown),
        (0, 0, 0, 0, 0)
    );
    // Events: "new", "old" (seen again by the check above) and "older"; choices: searches
    // bbbbbb and cccccc, and the latest-search key.
    assert_eq!((pruned.events, pruned.choices, pruned.llm_cache), (3, 3, 1));
    assert!(store.delivery(&dest.key(), recent).unwrap().is_some() && store.digest(recent).unwrap().is_some());
    assert_eq!(store.message_ref(&dest.key(), "m-new").unwrap(), Some((recent, 1)));
    assert_eq!(podsift::service::prune_if_due(&store, &keeping(0), later + chrono::Duration::hours(1)), None);
}
