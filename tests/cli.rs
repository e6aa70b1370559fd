//! The `podsift` binary as a user runs it: feeds, ingest, episodes, the demo, config errors and
//! a second process on the same store.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn podsift(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_podsift"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("PODSIFT_CONFIG")
        .env_remove("OPENAI_BASE_URL")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Environment left half set (`-e PODSIFT_DATA_DIR=` in a container, a `.env` line without a
/// value) reads as unset; a log format that is no format is said, not ignored.
#[test]
fn empty_or_misspelt_environment_is_read_as_an_operator_means_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_podsift"))
        .args(["feeds", "ls"])
        .current_dir(dir.path())
        .env("PODSIFT_DATA_DIR", "")
        .env("PODSIFT_CONFIG", "")
        .env("PODSIFT_LOG_FORMAT", "jsn")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!err.contains("a value is required"), "{err}");
    assert!(err.contains("no store at data"), "{err}");
    assert!(err.contains("PODSIFT_LOG_FORMAT=\"jsn\" is not a log format"), "{err}");
}

#[test]
fn second_process_on_the_same_store_is_refused_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let _held = podsift::store::Store::open(dir.path()).unwrap();
    let out = podsift(dir.path(), &["feeds", "ls"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("is in use by another podsift process"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn feeds_add_ls_export_import_rm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let feed = format!("{}/tests/fixtures/feeds/podcast-namespace_example.xml", env!("CARGO_MANIFEST_DIR"));
    let out = podsift(&data, &["feeds", "add", &feed, "http://127.0.0.1:9/rss"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let file_url = url::Url::from_file_path(&feed).unwrap().to_string();
    assert!(stdout(&out).contains(&format!("added {file_url}")), "{}", stdout(&out));

    let out = podsift(&data, &["feeds", "ls", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);

    let out = podsift(&data, &["feeds", "export"]);
    let opml = stdout(&out);
    assert!(opml.contains("xmlUrl=\"http://127.0.0.1:9/rss\""), "{opml}");
    let opml_path = dir.path().join("feeds.opml");
    std::fs::write(&opml_path, &opml).unwrap();

    let out = podsift(&data, &["feeds", "rm", "http://127.0.0.1:9/rss"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = podsift(&data, &["feeds", "rm", "http://127.0.0.1:9/rss"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no feed http://127.0.0.1:9/rss is subscribed"), "{}", stderr(&out));

    let out = podsift(&data, &["feeds", "import", opml_path.to_str().unwrap()]);
    assert!(stdout(&out).contains("imported 1 new feed(s) of 2"), "{}", stdout(&out));

    // A local file is read now: one that is no feed is refused with what it is instead.
    let notes = dir.path().join("notes.md");
    std::fs::write(&notes, "# My podcasts\n\n- Go Time\n").unwrap();
    let out = podsift(&data, &["feeds", "add", notes.to_str().unwrap()]);
    assert!(!out.status.success() && stderr(&out).contains("notes.md is not a feed"), "{}", stderr(&out));
    // A file URL must name a file here.
    for missing in ["file:///nonexistent/feed.xml", "file://relative.xml"] {
        let out = podsift(&data, &["feeds", "add", missing]);
        assert!(!out.status.success() && stderr(&out).contains("names no file here"), "{missing}: {}", stderr(&out));
    }
    // A list's entries are checked as `feeds add` checks them, its relative paths taken from
    // its own folder; what names no feed is skipped and said.
    let lists = dir.path().join("lists");
    std::fs::create_dir_all(lists.join("www")).unwrap();
    std::fs::copy(&feed, lists.join("www/local.xml")).unwrap();
    let mixed = r#"<opml version="2.0"><body>
        <outline text="Local" xmlUrl="www/local.xml"/>
        <outline text="Typo" xmlUrl="not a url"/>
        <outline text="Hosted" xmlUrl="file://relative.xml"/>
        </body></opml>"#;
    std::fs::write(lists.join("mixed.opml"), mixed).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_podsift"))
        .args(["--data", data.to_str().unwrap(), "feeds", "import", lists.join("mixed.opml").to_str().unwrap()])
        .env_remove("PODSIFT_CONFIG")
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert!(stdout(&out).contains("imported 1 new feed(s) of 3"), "{}", stdout(&out));
    assert!(stderr(&out).contains("skipped 2 entries that name no feed"), "{}", stderr(&out));
    let local = url::Url::from_file_path(lists.join("www/local.xml").canonicalize().unwrap()).unwrap().to_string();
    let listed = stdout(&podsift(&data, &["feeds", "ls"]));
    assert!(listed.contains(&local), "{listed}");
}

#[test]
fn ingest_then_list_episodes_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let feed = format!("{}/tests/fixtures/feeds/podcastparser_html_in_description.rss", env!("CARGO_MANIFEST_DIR"));
    assert!(podsift(&data, &["feeds", "add", &feed]).status.success());
    let out = podsift(&data, &["ingest"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("New episodes: 1. Transcripts: 1 show notes."), "{}", stdout(&out));
    // Without a terminal, progress is plain log lines on stderr.
    assert!(stderr(&out).contains("ingest: HTML Podcast: 1 new episode(s)"), "{}", stderr(&out));

    let out = podsift(&data, &["episodes", "--json"]);
    let eps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ep = &eps[0];
    assert_eq!(ep["title"], "Ep 1");
    assert_eq!(ep["podcast_title"], "HTML Podcast");
    assert_eq!(ep["transcript"]["state"], "stored");
    assert_eq!(ep["transcript"]["source"], "show_notes");

    // The feed named as `feeds add` took it: a path relative to where the command runs.
    let out = podsift(&data, &["episodes", "--feed", "tests/fixtures/feeds/podcastparser_html_in_description.rss"]);
    assert!(out.status.success() && stdout(&out).contains("HTML Podcast — Ep 1"), "{}", stderr(&out));

    let out = podsift(&data, &["episodes", "--since", "2999-01-01"]);
    assert!(stdout(&out).contains("No episodes"), "{}", stdout(&out));
    let out = podsift(&data, &["episodes", "--since", "yesterday"]);
    assert!(!out.status.success());
    // A service started later on this store reports that ingest as its last (/healthz).
    let store = podsift::store::Store::open(&data).unwrap();
    assert!(store.state("last_ingest").unwrap().is_some(), "the command line's ingest was not recorded");
}

#[test]
fn config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[ingest]\nmax_feed_byte = 10\n").unwrap();
    let out = podsift(&dir.path().join("data"), &["--config", cfg.to_str().unwrap(), "feeds", "ls"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("max_feed_byte") && err.contains("bad.toml"), "{err}");
}

#[test]
fn adding_a_missing_file_says_what_feeds_can_be() {
    let dir = tempfile::tempdir().unwrap();
    let out = podsift(dir.path(), &["feeds", "add", "no/such/feed.xml"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("neither a URL nor an existing file"), "{}", stderr(&out));
}

#[test]
fn demo_ingests_the_bundled_podcasts_offline() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = podsift(&data, &["demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("New episodes: 8. Transcripts: 8 text."), "{text}");
    assert!(text.contains("Go Time — Go Time #100"), "{text}");
    // A second run on the same store finds nothing new and duplicates nothing.
    let out = podsift(&data, &["demo"]);
    assert!(stdout(&out).contains("New episodes: 0."), "{}", stdout(&out));
    let out = podsift(&data, &["episodes", "--json"]);
    let eps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(eps.as_array().unwrap().len(), 8);
    // Its feeds are served only while the demo runs: an ingest without it says so, and how to
    // remove them.
    let out = podsift(&data, &["ingest"]);
    assert!(!out.status.success());
    let said = stdout(&out) + &stderr(&out);
    assert!(said.contains("a demo feed") && said.contains("podsift feeds rm demo:gotime"), "{said}");
}

fn podsift_stdin(data: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_podsift"))
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn digest_and_ask_as_a_user_runs_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(podsift(&data, &["demo"]).status.success());

    let out = podsift(&data, &["digest", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries = d["insights"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    for key in [
        "rank",
        "id",
        "text",
        "quote",
        "podcast",
        "episode",
        "episode_url",
        "speaker",
        "start_seconds",
        "link",
        "score",
        "also_in",
    ] {
        assert!(entries[0].get(key).is_some(), "digest entry lacks {key}");
    }
    assert!(d["date"].is_string());
    // Asked twice, the same digest.
    let again: serde_json::Value = serde_json::from_slice(&podsift(&data, &["digest", "--json"]).stdout).unwrap();
    assert_eq!(d, again);
    let date = d["date"].as_str().unwrap().to_string();
    let by_date: serde_json::Value =
        serde_json::from_slice(&podsift(&data, &["digest", "--date", &date, "--json"]).stdout).unwrap();
    assert_eq!(d, by_date);

    let out = podsift(&data, &["ask", "1", "what exactly was said about that?", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["covered"], true);
    let c = &a["citations"][0];
    for key in ["episode", "speaker", "start_seconds", "text"] {
        assert!(c.get(key).is_some(), "citation lacks {key}");
    }
    let out = podsift(&data, &["ask", &format!("{date}#2"), "how do I bake sourdough bread at home?"]);
    assert!(stdout(&out).starts_with("Not covered"), "{}", stdout(&out));

    // A day without a digest: the way to one, or that it has not come.
    let out = podsift(&data, &["ask", "2099-01-01#1", "why?"]);
    assert!(!out.status.success() && stderr(&out).contains("that day has not come yet"), "{}", stderr(&out));
    // A day nothing was new: said so, not sent to `digest --date`, which would show nothing.
    let out = podsift(&data, &["ask", "2020-01-01#1", "why?"]);
    let err = stderr(&out);
    assert!(err.contains("no episode with a transcript was new in its window") && !err.contains("--date"), "{err}");

    let out = podsift(&data, &["ask", "7", "why?"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no insight #7") && stderr(&out).contains("valid: 1-5"), "{}", stderr(&out));

    // No question: a prompt reading one question per line (from a pipe, a blank line is no end).
    let out = podsift_stdin(&data, &["ask", "1"], "what exactly was said about that?\n\nrecipe for banana bread?\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(" at [0") && text.contains("Not covered"), "{text}");
}

#[test]
fn digest_of_a_day_without_episodes_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(podsift(&data, &["demo"]).status.success());
    let out = podsift(&data, &["digest", "--date", "2020-01-01"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("2020-01-01: no insights (no episode"), "{}", stdout(&out));
    // A day still to come is not built (it would be kept without what is published until then).
    let ahead = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive().to_string();
    for _ in 0..2 {
        let out = podsift(&data, &["digest", "--date", &ahead]);
        assert!(!out.status.success() && stderr(&out).contains("has not begun yet"), "{}", stderr(&out));
    }
    // Nor one kept only for what it carried (a reader ahead of the digest's timezone was sent
    // that): it is built again with the day's own insights, which are still to come.
    {
        let store = podsift::store::Store::open(&data).unwrap();
        let today = store.digests().unwrap().pop().expect("the demo's digest");
        let carried = today.insights.iter().map(|e| podsift::model::Carried { date: today.date, entry: e.clone() });
        let kept = podsift::model::Digest {
            date: (chrono::Utc::now() + chrono::Duration::days(2)).date_naive(),
            insights: vec![],
            reserve: vec![],
            carried: carried.collect(),
            ..today.clone()
        };
        store.put_digest_once(&kept).unwrap();
        store.flush().unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let out = podsift(&data, &["digest", "--date", &ahead]);
    assert!(!out.status.success() && stderr(&out).contains("has not begun yet"), "{}", stderr(&out));
}

/// A directory holding a new, empty store (read-only commands refuse a directory without one).
fn empty_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    drop(podsift::store::Store::open(dir.path()).unwrap());
    dir
}

#[test]
fn stats_without_an_llm_says_so() {
    let dir = empty_store();
    let out = podsift(dir.path(), &["stats"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("No LLM use recorded"), "{}", stdout(&out));
    let out = podsift(dir.path(), &["stats", "--json"]);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(), serde_json::json!({}));
    // A directory that is no store (`--data .`, an empty volume) is not made one by a reading
    // command.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("notes.txt"), "mine").unwrap();
    let out = podsift(other.path(), &["feeds", "ls"]);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stderr(&out).contains("the directory is there, without a podsift store in it"), "{}", stderr(&out));
    let left: Vec<_> = std::fs::read_dir(other.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["notes.txt"], "a store was created");
}

#[test]
fn output_cut_short_by_its_reader_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    {
        let store = podsift::store::Store::open(dir.path()).unwrap();
        for i in 0..2000 {
            store
                .put_feed(&podsift::model::Feed::new(&format!("https://example.com/{i}/feed.xml"), chrono::Utc::now()))
                .unwrap();
        }
        store.flush().unwrap();
    }
    let piped = |data: &Path, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_podsift"))
            .arg("--data")
            .arg(data)
            .args(args)
            .env_remove("PODSIFT_CONFIG")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // `podsift feeds ls | head -1`: the reader takes one line and goes away.
    let mut child = piped(dir.path(), &["feeds", "ls"]);
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(!first.is_empty());
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
    assert!(out.status.success(), "{:?} {err}", out.status);

    // Output that cannot be written for another reason (a full disk) is incomplete: said, and
    // the command fails.
    let full = Command::new(env!("CARGO_BIN_EXE_podsift"))
        .arg("--data")
        .arg(dir.path())
        .args(["feeds", "ls"])
        .env_remove("PODSIFT_CONFIG")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(full.status.code(), Some(1), "{}", stderr(&full));
    assert!(stderr(&full).contains("the output could not be written"), "{}", stderr(&full));

    // The demo too: its output is a command's like any other.
    let mut child = piped(&dir.path().join("demo"), &["demo"]);
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success() && !err.contains("panicked"), "{:?} {err}", out.status);
}

#[test]
fn demo_keeps_away_from_the_store_named_in_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("real-store");
    let out = Command::new(env!("CARGO_BIN_EXE_podsift"))
        .arg("demo")
        .env("PODSIFT_DATA_DIR", &data)
        .env_remove("PODSIFT_CONFIG")
        .env_remove("OPENAI_BASE_URL")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("podsift digest for"));
    // The real store was not even created, let alone given feeds that point at a dead port.
    assert!(!data.exists(), "the demo wrote into PODSIFT_DATA_DIR");
}

/// A demo stopped by SIGTERM (a container or service manager's stop) removes its temporary
/// store, as Ctrl-C does.
#[cfg(unix)]
#[test]
fn a_demo_stopped_by_sigterm_leaves_no_temporary_store() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_podsift"))
        .arg("demo")
        .env("TMPDIR", tmp.path())
        .env_remove("PODSIFT_DATA_DIR")
        .env_remove("PODSIFT_CONFIG")
        .env_remove("OPENAI_BASE_URL")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.contains("store in"), "{first}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1, "the demo's store is not where it said");
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success() && stderr(&out).contains("interrupted"), "{}", stderr(&out));
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn subscriptions_whose_adapter_is_off_are_said_to_be_undelivered() {
    let dir = tempfile::tempdir().unwrap();
    let add = podsift(dir.path(), &["subs", "add", "telegram:12345", "--time", "08:00", "--tz", "UTC"]);
    assert!(add.status.success(), "{}", stderr(&add));
    let ls = podsift(dir.path(), &["subs", "ls"]);
    let text = stdout(&ls);
    assert!(text.contains("not delivered: no telegram adapter is enabled; enable [adapters.telegram]"), "{text}");
}

/// `subs ls` says how each destination's latest digest went, in JSON too.
#[test]
fn subs_ls_shows_the_last_delivery() {
    use podsift::deliver::{Delivery, DeliveryState, Destination};
    let dir = tempfile::tempdir().unwrap();
    assert!(podsift(dir.path(), &["subs", "add", "console:a", "--time", "08:00", "--tz", "UTC"]).status.success());
    assert!(podsift(dir.path(), &["subs", "add", "console:b", "--time", "08:00", "--tz", "UTC"]).status.success());
    assert!(podsift(dir.path(), &["subs", "add", "console:c", "--time", "08:00", "--tz", "UTC"]).status.success());
    assert!(podsift(dir.path(), &["subs", "add", "console:d", "--time", "08:00", "--tz", "UTC"]).status.success());
    assert!(podsift(dir.path(), &["subs", "pause", "console:d", "--reason", "migrating"]).status.success());
    {
        let store = podsift::store::Store::open(dir.path()).unwrap();
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-27T08:00:03Z").unwrap().to_utc();
        // c's delivery is being tried again after a failure.
        for (id, day, state) in [
            ("a", "2026-11-26", DeliveryState::Failed { error: "HTTP 500".into() }),
            ("a", "2026-11-27", DeliveryState::Sent { at }),
            ("c", "2026-11-27", DeliveryState::Pending),
            (
                "d",
                "2026-11-27",
                DeliveryState::Failed { error: "HTTP 500 (attempt 2; next at 2026-11-27 08:05:00 UTC)".into() },
            ),
        ] {
            store
                .put_delivery(&Delivery {
                    destination: Destination { platform: "console".into(), id: id.into() },
                    date: day.parse().unwrap(),
                    state,
                    attempts: 1,
                    sent: Vec::new(),
                    updated_at: at,
                    list: None,
                    shown: Vec::new(),
                    retry_at: None,
                    reserve_points: Vec::new(),
                    last_error: (id == "c").then(|| "HTTP 503 (attempt 1; next at 2026-11-27 08:01:00 UTC)".into()),
                })
                .unwrap();
        }
        store.flush().unwrap();
    }
    // The store's lock may outlive its drop by a moment.
    let mut out = podsift(dir.path(), &["subs", "ls", "--json"]);
    for _ in 0..100 {
        if out.status.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        out = podsift(dir.path(), &["subs", "ls", "--json"]);
    }
    let ls: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let by_id = |id: &str| ls.as_array().unwrap().iter().find(|s| s["destination"]["id"] == id).unwrap().clone();
    assert_eq!(
        by_id("a")["last_delivery"],
        serde_json::json!({"date": "2026-11-27", "state": "sent", "at": "2026-11-27T08:00:03Z"})
    );
    assert_eq!(by_id("b")["last_delivery"], serde_json::Value::Null);
    assert_eq!(by_id("c")["last_delivery"]["last_error"], "HTTP 503 (attempt 1; next at 2026-11-27 08:01:00 UTC)");
    let plain = stdout(&podsift(dir.path(), &["subs", "ls"]));
    assert!(plain.contains("last digest 2026-11-27: sent 2026-11-27 08:00 UTC"), "{plain}");
    assert!(
        plain.contains("last digest 2026-11-27: being tried again now (attempt 1); before: HTTP 503 (attempt 1;"),
        "{plain}"
    );
    // Paused, its failed day waits for the resume, whatever time its error named.
    assert!(plain.contains("next at 2026-11-27 08:05:00 UTC); not tried again while paused"), "{plain}");
}

#[test]
fn every_subs_subcommand_and_flag_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let d = "webhook:https://hooks.example.com/x";
    let add = podsift(
        dir.path(),
        &[
            "subs",
            "add",
            d,
            "--cron",
            "0 0 8 * * Mon-Fri",
            "--tz",
            "Europe/Berlin",
            "--only",
            "Go Time",
            "--mute",
            "JS Party",
            "--keyword",
            "cache",
        ],
    );
    assert!(add.status.success(), "{}", stderr(&add));
    // When the first digest comes: a weekday at 08:00 in Berlin, today or later.
    let said = stdout(&add);
    assert!(said.contains("The first comes ") && said.contains(" at 08:00 (Europe/Berlin)."), "{said}");
    let ls: serde_json::Value = serde_json::from_str(&stdout(&podsift(dir.path(), &["subs", "ls", "--json"]))).unwrap();
    let s = &ls[0];
    assert_eq!(s["destination"]["platform"], "webhook");
    assert_eq!(
        s["schedule"],
        serde_json::json!({"kind": "cron", "expr": "0 0 8 * * Mon-Fri", "timezone": "Europe/Berlin"})
    );
    assert_eq!(
        (s["only_podcasts"][0].as_str(), s["mute_podcasts"][0].as_str(), s["keywords"][0].as_str()),
        (Some("Go Time"), Some("JS Party"), Some("cache"))
    );
    // The plain listing shows the filters too.
    let listed = stdout(&podsift(dir.path(), &["subs", "ls"]));
    assert!(
        listed.contains("only podcasts: Go Time")
            && listed.contains("muted: JS Party")
            && listed.contains("keywords: cache"),
        "{listed}"
    );

    for (typo, says) in [
        ("telegram:abc", "a Telegram chat id is a number"),
        ("telegram:-100/x", "a Telegram chat id is a number"),
        ("discord:general", "a Discord channel id is a number"),
        ("discord:0", "a Discord channel id is a number"),
        ("discord:+123", "a Discord channel id is a number"),
        ("slack:C0456", "slack:TEAM/CHANNEL"),
    ] {
        let refused = podsift(dir.path(), &["subs", "add", typo]);
        assert!(!refused.status.success() && stderr(&refused).contains(says), "{typo}: {}", stderr(&refused));
    }
    let bad = podsift(dir.path(), &["subs", "add", "webhook:https://x", "--time", "25:00", "--tz", "UTC"]);
    assert!(!bad.status.success() && stderr(&bad).contains("HH:MM"), "{}", stderr(&bad));

    assert!(podsift(dir.path(), &["subs", "pause", d, "--reason", "migrating"]).status.success());
    assert!(stdout(&podsift(dir.path(), &["subs", "ls"])).contains("paused: migrating"));
    // Paused again without a reason: the one given stays.
    let again = stdout(&podsift(dir.path(), &["subs", "pause", d]));
    assert!(again.contains("was paused already (migrating); nothing changed"), "{again}");
    assert!(stdout(&podsift(dir.path(), &["subs", "ls"])).contains("paused: migrating"));
    let again = stdout(&podsift(dir.path(), &["subs", "pause", d, "--reason", "moving house"]));
    assert!(again.contains("was paused already (migrating); the reason is now the new one"), "{again}");
    let same = stdout(&podsift(dir.path(), &["subs", "pause", d, "--reason", "moving house"]));
    assert!(same.contains("paused already for the same reason (moving house); nothing changed"), "{same}");
    // A podcast of its own, which only it follows, was not read while it was paused: said.
    {
        let store = podsift::store::Store::open(dir.path()).unwrap();
        let mut feed = podsift::model::Feed::new("https://feeds.example/own.xml", chrono::Utc::now());
        feed.reader_added = true;
        store.put_feed(&feed).unwrap();
        store.put_podcast_list(d, &[feed.url.clone()]).unwrap();
        store.flush().unwrap();
    }
    let resumed = podsift(dir.path(), &["subs", "resume", d]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(stdout(&resumed).contains("its own podcasts were not read while paused"), "{}", stdout(&resumed));
    assert!(stdout(&resumed).contains("(it was paused: moving house)"), "{}", stdout(&resumed));
    assert!(stdout(&podsift(dir.path(), &["subs", "ls"])).contains("active"));
    // Days that fell due while it was paused are not owed to it (nor given up).
    {
        let store = podsift::store::Store::open(dir.path()).unwrap();
        let sub = store.subscription(d).unwrap().unwrap();
        let from = sub.owed_from.expect("the resume is remembered");
        // A day due while it was paused, unless still within the catch-up window at the resume.
        let paused_day = sub.created_at + (from - sub.created_at) / 2;
        assert!(!sub.owed_when_missed(paused_day, chrono::Duration::zero()));
        assert!(sub.owed_when_missed(paused_day, from - paused_day));
        assert!(sub.owed_when_missed(from, chrono::Duration::zero()));
    }
    // Subscribing a paused chat again resumes it too.
    assert!(podsift(dir.path(), &["subs", "pause", d]).status.success());
    let owed_from = || {
        let listed: serde_json::Value =
            serde_json::from_str(&stdout(&podsift(dir.path(), &["subs", "ls", "--json"]))).unwrap();
        let at = listed[0]["owed_from"].as_str().expect("owed_from is listed").to_string();
        chrono::DateTime::parse_from_rfc3339(&at).unwrap()
    };
    let before = owed_from();
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert!(podsift(dir.path(), &["subs", "add", d]).status.success());
    assert!(owed_from() > before, "{before}");
    let twice = stdout(&podsift(dir.path(), &["subs", "resume", d]));
    assert!(twice.contains("is not paused: nothing to resume"), "{twice}");
    assert!(podsift(dir.path(), &["subs", "rm", d]).status.success());
    let gone = podsift(dir.path(), &["subs", "rm", d]);
    assert!(!gone.status.success() && stderr(&gone).contains("not subscribed"), "{}", stderr(&gone));
}

#[test]
fn ingest_json_force_and_the_data_dir_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("from-env");
    let feed = dir.path().join("feed.rss");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_podsift"))
            .args(args)
            .env("PODSIFT_DATA_DIR", &data)
            .env_remove("PODSIFT_CONFIG")
            .env_remove("OPENAI_BASE_URL")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap()
    };
    // The feed file is gone by the first ingest, which fails it and backs off.
    std::fs::write(&feed, "<rss version=\"2.0\"><channel><title>Soon</title></channel></rss>").unwrap();
    let added = run(&["feeds", "add", feed.to_str().unwrap()]);
    assert!(added.status.success(), "{}", stderr(&added));
    std::fs::remove_file(&feed).unwrap();
    let first: serde_json::Value = serde_json::from_slice(&run(&["ingest", "--json"]).stdout).unwrap();
    assert_eq!(first["feeds_failed"], 1, "{first}");
    assert_eq!(first["feeds"][0]["outcome"], "failed");
    assert!(first["feeds"][0]["next_attempt_at"].is_string());
    assert!(data.exists(), "PODSIFT_DATA_DIR was not used");

    std::fs::copy(
        format!("{}/tests/fixtures/feeds/podcastparser_html_in_description.rss", env!("CARGO_MANIFEST_DIR")),
        &feed,
    )
    .unwrap();
    // Still backing off: skipped (and, no feed read, an error). With --force: fetched.
    let second = run(&["ingest", "--json"]);
    assert!(!second.status.success());
    let second: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!((second["feeds_skipped"].as_u64(), second["new_episodes"].as_u64()), (Some(1), Some(0)), "{second}");
    let forced: serde_json::Value = serde_json::from_slice(&run(&["ingest", "--force", "--json"]).stdout).unwrap();
    assert_eq!(forced["new_episodes"], 1, "{forced}");
    assert_eq!(forced["transcripts"]["show_notes"], 1, "one spelling of sources everywhere: {forced}");
    assert!(forced["insights_extracted"].is_u64());
}

#[test]
fn podsift_log_sets_the_log_filter_and_logs_carry_no_colour_codes_into_files() {
    let dir = empty_store();
    let run = |log: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_podsift"));
        c.arg("--data").arg(dir.path()).args(["feeds", "ls"]).env_remove("PODSIFT_CONFIG");
        match log {
            Some(l) => c.env("PODSIFT_LOG", l),
            None => c.env_remove("PODSIFT_LOG"),
        };
        stderr(&c.current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap())
    };
    let debug = run(Some("debug"));
    assert!(debug.contains("DEBUG"), "{debug}");
    assert!(!debug.contains('\u{1b}'), "colour codes in a log that is not a terminal: {debug:?}");
    assert!(!run(None).contains("DEBUG"));
}

/// A feed failing run after run is a warning in the log (a service logging warnings only shows
/// it); its first failures are information.
#[test]
fn a_feed_failing_again_and_again_is_logged_as_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.xml");
    std::fs::write(&feed, "<rss version=\"2.0\"><channel><title>Show</title></channel></rss>").unwrap();
    let feed = feed.to_str().unwrap().to_string();
    assert!(podsift(dir.path(), &["feeds", "add", &feed]).status.success());
    std::fs::write(&feed, "this is no feed").unwrap();
    let ingest = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_podsift"));
        c.arg("--data").arg(dir.path()).args(["ingest", "--force"]).env_remove("PODSIFT_CONFIG");
        stderr(&c.env("PODSIFT_LOG", "warn").current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap())
    };
    for run in 1..=4 {
        let log = ingest();
        let warned = log.contains("WARN") && log.contains("failures=");
        assert_eq!(warned, run >= 3, "run {run}: {log}");
    }
}

/// `.env` in the working directory is read at start (what is already set wins), `--env-file`
/// names another, a missing one is a one-line error, and PODSIFT_LOG_FORMAT=json gives one JSON
/// object a log line.
#[test]
fn the_env_file_is_read_and_logs_can_be_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "PODSIFT_DATA_DIR=./from-dotenv\nPODSIFT_LOG=info\nPODSIFT_LOG_FORMAT=json\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("other.env"), "PODSIFT_DATA_DIR=./from-other\n").unwrap();
    let run = |args: &[&str], envs: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_podsift"));
        c.args(args).current_dir(dir.path());
        for k in ["PODSIFT_DATA_DIR", "PODSIFT_LOG", "PODSIFT_LOG_FORMAT", "PODSIFT_CONFIG", "PODSIFT_ADMIN_TOKEN"] {
            c.env_remove(k);
        }
        for (k, v) in envs {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let added = run(&["feeds", "add", "http://127.0.0.1:9/feed.xml"], &[]);
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(dir.path().join("from-dotenv").is_dir(), "PODSIFT_DATA_DIR from .env was not used");

    let ingest = run(&["ingest"], &[]);
    let logs: Vec<serde_json::Value> =
        stderr(&ingest).lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(logs.iter().any(|l| l["feed"] == "http://127.0.0.1:9/feed.xml" && l["level"] == "INFO"), "{logs:?}");

    let set = run(&["feeds", "add", "http://127.0.0.1:9/b.xml"], &[("PODSIFT_DATA_DIR", "./from-env")]);
    assert!(set.status.success());
    assert!(dir.path().join("from-env").is_dir(), "the environment did not win over .env");
    let other = run(&["--env-file", "other.env", "feeds", "add", "http://127.0.0.1:9/c.xml"], &[]);
    assert!(other.status.success(), "{}", stderr(&other));
    assert!(dir.path().join("from-other").is_dir());
    let missing = run(&["--env-file", "nope.env", "feeds", "ls"], &[]);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("cannot read the environment file nope.env"), "{}", stderr(&missing));
}

#[test]
fn subscribing_again_changes_what_is_given_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let d = "webhook:https://hooks.example.com/x";
    let first = podsift(
        dir.path(),
        &["subs", "add", d, "--time", "22:22", "--tz", "Europe/Berlin", "--mute", "Go Time", "--keyword", "cache"],
    );
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stderr(&first).contains("no feed is titled \"Go Time\""), "{}", stderr(&first));
    let again = podsift(dir.path(), &["subs", "add", d, "--time", "07:00"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("updated") && stdout(&again).contains("muted: Go Time"), "{}", stdout(&again));
    let ls: serde_json::Value = serde_json::from_str(&stdout(&podsift(dir.path(), &["subs", "ls", "--json"]))).unwrap();
    let s = &ls[0];
    assert_eq!(s["schedule"], serde_json::json!({"kind": "daily", "time": "07:00", "timezone": "Europe/Berlin"}));
    assert_eq!((s["mute_podcasts"][0].as_str(), s["keywords"][0].as_str()), (Some("Go Time"), Some("cache")));
    // A new timezone alone keeps the time, and subscribing again resumes a paused one.
    assert!(podsift(dir.path(), &["subs", "pause", d, "--reason", "destination gone: 404"]).status.success());
    let resumed = podsift(dir.path(), &["subs", "add", d, "--tz", "Asia/Tokyo"]);
    assert!(resumed.status.success());
    assert!(stdout(&resumed).contains("resumed (it was paused: destination gone: 404)"), "{}", stdout(&resumed));
    assert!(stdout(&podsift(dir.path(), &["subs", "ls"])).contains("active"));
    let ls: serde_json::Value = serde_json::from_str(&stdout(&podsift(dir.path(), &["subs", "ls", "--json"]))).unwrap();
    assert_eq!(ls[0]["schedule"], serde_json::json!({"kind": "daily", "time": "07:00", "timezone": "Asia/Tokyo"}));
    // Filters are cleared only when asked, and new ones may be given at the same time.
    let cleared = podsift(dir.path(), &["subs", "add", d, "--clear-filters", "--keyword", "rust"]);
    assert!(cleared.status.success(), "{}", stderr(&cleared));
    assert!(stdout(&cleared).contains("cleared 2 filter(s)"), "{}", stdout(&cleared));
    let ls: serde_json::Value = serde_json::from_str(&stdout(&podsift(dir.path(), &["subs", "ls", "--json"]))).unwrap();
    assert_eq!(ls[0]["mute_podcasts"], serde_json::json!([]));
    assert_eq!(ls[0]["keywords"], serde_json::json!(["rust"]));
    assert_eq!(ls[0]["schedule"]["time"], "07:00");
    // A podcast both only and muted, given now or with the one kept from before: refused,
    // nothing changed.
    assert!(podsift(dir.path(), &["subs", "add", d, "--mute", "Go Time"]).status.success());
    for args in [&["--only", "go time"][..], &["--only", "JS Party", "--mute", "JS Party"]] {
        let both = podsift(dir.path(), &[&["subs", "add", d][..], args].concat());
        assert!(!both.status.success(), "{args:?}: {}", stdout(&both));
        assert!(stderr(&both).contains("both in --only and --mute"), "{}", stderr(&both));
    }
    let ls: serde_json::Value = serde_json::from_str(&stdout(&podsift(dir.path(), &["subs", "ls", "--json"]))).unwrap();
    assert_eq!(ls[0]["only_podcasts"], serde_json::json!([]));
    // With the old filters cleared, it is no contradiction.
    assert!(podsift(dir.path(), &["subs", "add", d, "--clear-filters", "--only", "Go Time"]).status.success());
}

#[test]
fn a_destination_podsift_cannot_deliver_to_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    for (dest, says) in [
        ("webhook:notaurl", "webhook:https://host/path"),
        ("webhook:ftp://files.example.com/x", "webhook:https://host/path"),
        ("consol:x", "console, telegram, discord, slack, webhook"),
    ] {
        let out = podsift(dir.path(), &["subs", "add", dest, "--time", "08:00", "--tz", "UTC"]);
        assert!(!out.status.success(), "{dest} was accepted");
        assert!(stderr(&out).contains(says), "{dest}: {}", stderr(&out));
    }
    let ls = stdout(&podsift(dir.path(), &["subs", "ls"]));
    assert!(ls.contains("No subscriptions yet"), "{ls}");
}

/// One receiver is one subscription however its address is written: a second spelling would
/// be sent every digest again, under other idempotency keys.
#[test]
fn a_webhook_address_written_another_way_is_the_same_subscription() {
    let dir = tempfile::tempdir().unwrap();
    let add = |d: &str| podsift(dir.path(), &["subs", "add", d, "--time", "08:00", "--tz", "UTC"]);
    assert!(add("webhook:HTTP://Hooks.Example.com:80/hook").status.success());
    let ls: serde_json::Value = serde_json::from_str(&stdout(&podsift(dir.path(), &["subs", "ls", "--json"]))).unwrap();
    assert_eq!(ls.as_array().unwrap().len(), 1);
    assert_eq!(ls[0]["destination"]["id"], "http://hooks.example.com/hook", "{ls}");
    // The same spelling again changes that subscription; another spelling or a trailing slash
    // is refused, naming the one there is.
    assert!(add("webhook:http://hooks.example.com/hook").status.success());
    for twin in ["webhook:http://HOOKS.example.com/hook/", "webhook:http://hooks.example.com/hook/"] {
        let out = add(twin);
        assert!(!out.status.success(), "{twin} was subscribed as well");
        let err = stderr(&out);
        assert!(err.contains("subscribed already") && err.contains("webhook:http://hooks.example.com/hook"), "{err}");
    }
    // Another path is another receiver.
    assert!(add("webhook:http://hooks.example.com/other").status.success());
    // Any spelling names it for the other commands.
    let out = podsift(dir.path(), &["subs", "pause", "webhook:HTTP://hooks.example.com/hook"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = podsift(dir.path(), &["subs", "rm", "webhook:HTTP://hooks.example.com/hook"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ls: serde_json::Value = serde_json::from_str(&stdout(&podsift(dir.path(), &["subs", "ls", "--json"]))).unwrap();
    assert_eq!(ls.as_array().unwrap().len(), 1, "{ls}");
}

#[test]
fn feed_and_episode_commands_say_what_went_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.xml");
    std::fs::write(&feed, "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Show</title></channel></rss>")
        .unwrap();
    let feed = feed.to_str().unwrap();
    // A bad location among good ones adds none of them, and says which.
    let out = podsift(dir.path(), &["feeds", "add", feed, "no/such/feed.xml", "http://127.0.0.1:9/b.xml"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("nothing was added") && stderr(&out).contains("no/such/feed.xml"),
        "{}",
        stderr(&out)
    );
    // A directory is no feed.
    let out = podsift(dir.path(), &["feeds", "add", "tests/fixtures"]);
    assert!(!out.status.success() && stderr(&out).contains("is a directory"), "{}", stderr(&out));
    let empty = stdout(&podsift(dir.path(), &["feeds", "ls"]));
    assert!(empty.contains("No feeds"), "a feed was added");
    // An empty store's message names which.
    assert!(empty.contains(&format!("the store at {}", dir.path().display())), "{empty}");
    // A mistyped --data is said to be one, and no store is left there.
    let typo = dir.path().join("dta");
    for args in [&["episodes"][..], &["feeds", "ls"], &["subs", "ls"], &["digest"], &["ingest"], &["stats"]] {
        let out = podsift(&typo, args);
        assert!(!out.status.success(), "{args:?}: {}", stdout(&out));
        assert!(
            stderr(&out).contains(&format!("no store at {}: check --data", typo.display())),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!typo.exists(), "{args:?} left a store at the mistyped path");
    }
    // The same address with a fragment is the same feed.
    assert!(podsift(dir.path(), &["feeds", "add", "http://127.0.0.1:9/a.xml"]).status.success());
    let again = podsift(dir.path(), &["feeds", "add", "http://127.0.0.1:9/a.xml#again"]);
    assert!(stdout(&again).contains("already subscribed"), "{}", stdout(&again));
    // Every feed failing is an error a script can see.
    let ingest = podsift(dir.path(), &["ingest"]);
    assert!(!ingest.status.success(), "{}", stdout(&ingest));
    assert!(stderr(&ingest).contains("no feed could be read: 1 failed now, 0 backing off"), "{}", stderr(&ingest));
    // Still backing off at the next run: still nothing read, still an error.
    let ingest = podsift(dir.path(), &["ingest"]);
    assert!(!ingest.status.success(), "{}", stdout(&ingest));
    assert!(stderr(&ingest).contains("0 failed now, 1 backing off from earlier failures"), "{}", stderr(&ingest));
    // Nothing was asked, so no error is printed above: `feeds ls` holds it.
    assert!(
        !stderr(&ingest).contains("above") && stderr(&ingest).contains("errors are in `podsift feeds ls`"),
        "{}",
        stderr(&ingest)
    );
    // Days are named in the form the command takes.
    let since = podsift(dir.path(), &["episodes", "--since", "yesterday"]);
    assert!(!since.status.success() && stderr(&since).contains("use YYYY-MM-DD"), "{}", stderr(&since));
    // What a read had to warn about stays with the feed, whoever ran the ingest, until a read
    // without it.
    assert!(podsift(dir.path(), &["feeds", "add", feed]).status.success());
    podsift(dir.path(), &["ingest"]);
    let ls = stdout(&podsift(dir.path(), &["feeds", "ls"]));
    assert!(ls.contains("warning at the last read: the feed lists no episodes"), "{ls}");
    std::fs::write(
        feed,
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Show</title><item><title>One</title><guid>1</guid><enclosure url=\"http://127.0.0.1:9/1.mp3\" type=\"audio/mpeg\"/></item></channel></rss>",
    )
    .unwrap();
    podsift(dir.path(), &["ingest"]);
    let ls = stdout(&podsift(dir.path(), &["feeds", "ls"]));
    assert!(!ls.contains("warning") && ls.contains("1 episode(s)"), "{ls}");
}

/// `feeds rm` takes several addresses, all or none; adding a feed already there does not
/// suggest an ingest as if something new had come.
#[test]
fn feeds_are_removed_several_at_once_all_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = ("http://127.0.0.1:9/a.xml", "http://127.0.0.1:9/b.xml");
    let added = podsift(dir.path(), &["feeds", "add", a, b]);
    assert!(stdout(&added).contains("podsift ingest"), "{}", stdout(&added));
    let again = podsift(dir.path(), &["feeds", "add", a]);
    assert!(again.status.success() && stdout(&again).contains("already subscribed"), "{}", stdout(&again));
    assert!(!stdout(&again).contains("podsift ingest"), "{}", stdout(&again));
    let feeds = |dir: &std::path::Path| -> usize {
        let ls: serde_json::Value = serde_json::from_str(&stdout(&podsift(dir, &["feeds", "ls", "--json"]))).unwrap();
        ls.as_array().unwrap().len()
    };
    let typo = podsift(dir.path(), &["feeds", "rm", a, "http://127.0.0.1:9/c.xml"]);
    assert!(!typo.status.success());
    assert!(
        stderr(&typo).contains("nothing was removed: no feed http://127.0.0.1:9/c.xml is subscribed"),
        "{}",
        stderr(&typo)
    );
    assert_eq!(feeds(dir.path()), 2, "a failed rm removed a feed");
    // Under another spelling, and named twice: each is removed once.
    let rm = podsift(dir.path(), &["feeds", "rm", "https://127.0.0.1:9/a.xml/", b, a]);
    assert!(rm.status.success(), "{}", stderr(&rm));
    assert_eq!(stdout(&rm).matches("removed ").count(), 2, "{}", stdout(&rm));
    assert_eq!(feeds(dir.path()), 0);
}

#[test]
fn one_feed_under_another_spelling_is_not_added_twice() {
    let dir = tempfile::tempdir().unwrap();
    assert!(podsift(dir.path(), &["feeds", "add", "http://127.0.0.1:9/show/feed.xml"]).status.success());
    let again = podsift(dir.path(), &["feeds", "add", "https://127.0.0.1:9/show/feed.xml/"]);
    assert!(again.status.success());
    assert!(
        stdout(&again).contains("already subscribed") && stdout(&again).contains("the same feed"),
        "{}",
        stdout(&again)
    );
    let ls: serde_json::Value =
        serde_json::from_str(&stdout(&podsift(dir.path(), &["feeds", "ls", "--json"]))).unwrap();
    assert_eq!(ls.as_array().unwrap().len(), 1, "{ls}");
    // Removed under the other spelling too.
    let rm = podsift(dir.path(), &["feeds", "rm", "https://127.0.0.1:9/show/feed.xml/"]);
    assert!(rm.status.success(), "{}", stderr(&rm));
    assert!(stdout(&rm).contains("removed http://127.0.0.1:9/show/feed.xml"), "{}", stdout(&rm));
}

/// A bad value in an environment variable is blamed on the variable, not on a config file that
/// does not hold it; an empty one (a blank `.env` line) overrides nothing.
#[test]
fn a_bad_environment_value_names_its_variable() {
    let dir = empty_store();
    let run = |value: &str| {
        Command::new(env!("CARGO_BIN_EXE_podsift"))
            .args(["--data", dir.path().to_str().unwrap(), "feeds", "ls"])
            .env_remove("PODSIFT_CONFIG")
            .env_remove("OPENAI_BASE_URL")
            .env("PODSIFT_BIND", value)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap()
    };
    let bad = run("8080");
    assert!(!bad.status.success());
    let err = stderr(&bad);
    assert!(err.contains("environment variable PODSIFT_BIND") && err.contains("service.bind"), "{err}");
    assert!(!err.contains("config file"), "{err}");
    assert!(run("").status.success(), "{}", stderr(&run("")));
    // A log level misspelt would be taken for a module's name and silence every line: said.
    let quiet = Command::new(env!("CARGO_BIN_EXE_podsift"))
        .args(["--data", dir.path().to_str().unwrap(), "feeds", "ls"])
        .env_remove("PODSIFT_CONFIG")
        .env("PODSIFT_LOG", "warning")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(stderr(&quiet).contains("PODSIFT_LOG=\"warning\" names no level"), "{}", stderr(&quiet));
}

/// A cron schedule stored before numbered weekdays were refused is kept as it is when the
/// subscription's filters or timezone change.
#[test]
fn an_old_numbered_cron_is_kept_through_subs_add() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = podsift::store::Store::open(dir.path()).unwrap();
        let old = podsift::deliver::Schedule::Cron { expr: "0 0 8 * * 2-6".into(), timezone: "UTC".into() };
        let dest = podsift::deliver::Destination::new("console", "old");
        store.put_subscription(&podsift::deliver::Subscription::new(dest, old, "test", chrono::Utc::now())).unwrap();
        store.flush().unwrap();
    }
    let out = podsift(dir.path(), &["subs", "add", "console:old", "--tz", "Europe/Berlin", "--keyword", "cache"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ls = stdout(&podsift(dir.path(), &["subs", "ls"]));
    assert!(ls.contains("cron \"0 0 8 * * 2-6\" Europe/Berlin"), "{ls}");
    // A numbered weekday typed anew is refused.
    let typed = podsift(dir.path(), &["subs", "add", "console:old", "--cron", "0 0 8 * * 1-5"]);
    assert!(!typed.status.success() && stderr(&typed).contains("1 is Sunday"), "{}", stderr(&typed));
}

/// An environment file with a line that is not KEY=value: the error names the line by number.
#[test]
fn a_bad_env_file_line_is_named_by_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("bad.env");
    std::fs::write(&env, "TELEGRAM_BOT_TOKEN=1:abc\n# a comment\nSLACK TOKEN xoxb\n").unwrap();
    let out = podsift(dir.path(), &["--env-file", env.to_str().unwrap(), "feeds", "ls"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("line 3 (\"SLACK TOKEN xoxb\") is not KEY=value"), "{err}");
}

/// `digest` before the day's deliveries builds the day's digest for good: it says so the first
/// time, so a preview is not mistaken for a draft. (A day well past, so that no midnight can
/// fall between the two looks.)
#[test]
fn a_first_look_at_a_days_digest_says_it_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let store = podsift::store::Store::open(&data).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(podsift::demo::ingest_demo(
            &store,
            &podsift::config::Config::default(),
            chrono::Utc::now() - chrono::Duration::days(3),
            &podsift::ingest::Quiet,
        ))
        .unwrap();
        store.flush().unwrap();
    }
    let day = (chrono::Utc::now() - chrono::Duration::days(3)).date_naive().to_string();
    let first = podsift(&data, &["digest", "--date", &day]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stdout(&first).contains("#5 "), "{}", stdout(&first));
    let said = format!("kept the digest of {day}, built now");
    assert!(stderr(&first).contains(&said), "{}", stderr(&first));
    let again = podsift(&data, &["digest", "--date", &day]);
    assert_eq!(stdout(&again), stdout(&first));
    assert!(!stderr(&again).contains("built now"), "{}", stderr(&again));
}

/// An address that moved for good to a feed subscribed already is that feed: `feeds add` says
/// so at once instead of adding a second copy that only the next ingest merges. One that moved
/// elsewhere is added and read from its new address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_an_address_that_moved_to_a_subscribed_feed_adds_nothing() {
    use common::{FakeServer, Reply, rss};
    let server = FakeServer::start().await;
    server.route("/show", vec![Reply::ok(rss(&server.base, "Show", &[("s1", "S1", None)]))]);
    server.route("/alias", vec![Reply::status(301).header("location", "/show")]);
    server.route("/other", vec![Reply::ok(rss(&server.base, "Other", &[("o1", "O1", None)]))]);
    server.route("/old-other", vec![Reply::status(308).header("location", "/other")]);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(podsift(&data, &["feeds", "add", &server.url("/show")]).status.success());
    let out = podsift(&data, &["feeds", "add", &server.url("/alias")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = format!("already subscribed: {} moved permanently to {}", server.url("/alias"), server.url("/show"));
    assert!(stdout(&out).contains(&said), "{}", stdout(&out));
    let out = podsift(&data, &["feeds", "add", &server.url("/old-other")]);
    assert!(stdout(&out).contains(&format!("added {}", server.url("/old-other"))), "{}", stdout(&out));
    let store = podsift::store::Store::open(&data).unwrap();
    let feeds = store.feeds().unwrap();
    let urls: Vec<&str> = feeds.iter().map(|f| f.url.as_str()).collect();
    assert_eq!(urls.len(), 2, "{urls:?}");
    assert!(!urls.contains(&server.url("/alias").as_str()), "{urls:?}");
    let moved = feeds.iter().find(|f| f.url == server.url("/old-other")).unwrap();
    assert_eq!(moved.fetch_url, server.url("/other"));
    // Moved to a feed only readers had picked: it becomes the operator's too, as adding the new
    // address would make it.
    let mut readers = podsift::model::Feed::new(&server.url("/readers"), chrono::Utc::now());
    readers.reader_added = true;
    store.put_feed(&readers).unwrap();
    store.flush().unwrap();
    drop(store);
    server.route("/to-readers", vec![Reply::status(301).header("location", "/readers")]);
    server.route("/readers", vec![Reply::ok(rss(&server.base, "Readers", &[("r1", "R1", None)]))]);
    let out = podsift(&data, &["feeds", "add", &server.url("/to-readers")]);
    assert!(stdout(&out).contains("(readers had added it to their own lists)"), "{}", stdout(&out));
    let store = podsift::store::Store::open(&data).unwrap();
    assert!(!store.feed(&server.url("/readers")).unwrap().unwrap().reader_added);
    assert!(store.feed(&server.url("/to-readers")).unwrap().is_none());
}

/// An https:// address of a server that speaks plain HTTP is an address written wrong, not an
/// outage: `feeds add` names it and the http:// address to add, and adds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_address_of_a_plain_http_server_is_refused_with_the_fix() {
    use common::{FakeServer, Reply, rss};
    let server = FakeServer::start().await;
    server.route("/show", vec![Reply::ok(rss(&server.base, "Show", &[("s1", "S1", None)]))]);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let https = server.url("/show").replacen("http://", "https://", 1);
    let out = podsift(&data, &["feeds", "add", &https]);
    // Not killed by SIGPIPE either: the server closes the connection on the TLS handshake.
    assert_eq!(out.status.code(), Some(1), "{:?} {}", out.status, stdout(&out));
    let says = format!("add {} if that is the feed", server.url("/show"));
    assert!(stderr(&out).contains("answers in plain HTTP") && stderr(&out).contains(&says), "{}", stderr(&out));
    let store = podsift::store::Store::open(&data).unwrap();
    assert!(store.feeds().unwrap().is_empty());
    drop(store);
    // Reached through a redirect to https://: the address that failed is the one named.
    server.route("/moved", vec![Reply::status(301).header("location", &https)]);
    let out = podsift(&data, &["feeds", "add", &server.url("/moved")]);
    assert_eq!(out.status.code(), Some(1), "{:?} {}", out.status, stdout(&out));
    assert!(
        stderr(&out).contains(&format!("(it redirects to {https})")) && stderr(&out).contains(&says),
        "{}",
        stderr(&out)
    );
    // The address it names is the feed.
    assert!(podsift(&data, &["feeds", "add", &server.url("/show")]).status.success());
}
