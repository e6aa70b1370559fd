//! The store after a crash: `podsift ingest` and `podsift digest` killed with SIGKILL at points
//! drawn from a fixed seed, the store reopened after each kill and checked (no episode claims a
//! transcript or insights it does not have, no episode counted twice into the document
//! frequencies, a digest absent or whole); and a damaged data directory refused with one clear
//! error that names it and says how to recover, never a panic.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{FakeServer, Reply};
use podsift::insight::extract::document_terms;
use podsift::model::TranscriptStatus;
use podsift::store::Store;

/// The seed of the kill points, so a failure replays.
const SEED: u64 = 0x5eed_c0ff_ee15;
const EPISODES: usize = 30;

/// xorshift64*: enough randomness for kill points, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn podsift(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_podsift"));
    c.arg("--data")
        .arg(data)
        .env_remove("PODSIFT_CONFIG")
        .env_remove("OPENAI_BASE_URL")
        .current_dir(data.parent().unwrap_or(data))
        .stdin(Stdio::null());
    c
}

fn run(data: &Path, args: &[&str]) -> Output {
    podsift(data).args(args).output().unwrap()
}

/// A real transcript (SRT), with the episode's number in its first cue so that no two
/// episodes are the same document.
fn srt(episode: usize) -> String {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/transcripts/example.srt"))
        .unwrap();
    text.replacen("\n\n", &format!(" Episode {episode}.\n\n"), 1)
}

/// A feed of `EPISODES` episodes with SRT transcripts, each served after a short delay so an
/// ingest spends a while between its writes.
async fn serve() -> FakeServer {
    let server = FakeServer::start().await;
    let items: Vec<(String, String, String)> =
        (0..EPISODES).map(|i| (format!("ep-{i}"), format!("Episode {i}"), format!("/t/{i}.srt"))).collect();
    let refs: Vec<common::Item> =
        items.iter().map(|(g, t, p)| (g.as_str(), t.as_str(), Some((p.as_str(), "application/x-subrip")))).collect();
    server.route("/feed.xml", vec![Reply::ok(common::rss(&server.base, "Crash Pod", &refs))]);
    for i in 0..EPISODES {
        server.route(&format!("/t/{i}.srt"), vec![Reply::ok(srt(i)).delay(Duration::from_millis(20))]);
    }
    server
}

/// What a reopened store must hold whatever moment the process died at.
fn check(data: &Path, when: &str) -> (usize, usize) {
    let store = Store::open(data).unwrap_or_else(|e| panic!("{when}: the store does not reopen: {e}"));
    let episodes = store.episodes().unwrap_or_else(|e| panic!("{when}: episodes unreadable: {e}"));
    let mut docs = 0u64;
    let mut df: HashMap<String, u64> = HashMap::new();
    for ep in &episodes {
        let transcript = store.transcript(&ep.id).unwrap();
        if let TranscriptStatus::Stored { segments, .. } = ep.transcript {
            let t = transcript.as_ref().unwrap_or_else(|| panic!("{when}: {} claims a transcript it has not", ep.id));
            assert_eq!(t.segments.len(), segments, "{when}: {} has another transcript than it says", ep.id);
        }
        let insights = store.insights_of(&ep.id).unwrap();
        if ep.insights_extracted {
            let t = transcript.unwrap_or_else(|| panic!("{when}: {} has insights but no transcript", ep.id));
            docs += 1;
            for term in document_terms(&t) {
                *df.entry(term).or_default() += 1;
            }
        } else {
            assert!(insights.is_empty(), "{when}: {} has insights stored but not marked", ep.id);
        }
    }
    let corpus = store.corpus().unwrap();
    assert_eq!(corpus.docs, docs, "{when}: episodes counted into the corpus vs episodes extracted");
    assert_eq!(corpus.df, df, "{when}: document frequencies differ from the extracted episodes' terms");
    for digest in store.digests().unwrap_or_else(|e| panic!("{when}: a digest is unreadable: {e}")) {
        let ranks: Vec<usize> = digest.insights.iter().map(|e| e.rank).collect();
        assert_eq!(ranks, (1..=ranks.len()).collect::<Vec<_>>(), "{when}: digest {} is not whole", digest.date);
        for e in &digest.insights {
            let ids: Vec<String> = store.insights_of(&e.episode_id).unwrap().into_iter().map(|i| i.id).collect();
            assert!(ids.contains(&e.id), "{when}: digest {} names insight {} that is not stored", digest.date, e.id);
        }
    }
    (episodes.len(), docs as usize)
}

/// Starts `args`, kills it with SIGKILL after `after`, and waits for it.
fn kill_after(data: &Path, args: &[&str], after: Duration) -> bool {
    let mut child = podsift(data).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return false; // finished before the kill
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_ingest_and_digest_the_store_is_never_half_written() {
    let mut rng = Rng(SEED);
    let server = serve().await;
    let feed = server.url("/feed.xml");
    let dir = tempfile::tempdir().unwrap();

    // An undisturbed run first, to learn how long an ingest takes here (kill points are drawn
    // within it) and what a finished store holds.
    let clean = dir.path().join("clean");
    assert!(run(&clean, &["feeds", "add", &feed]).status.success());
    let started = Instant::now();
    let out = run(&clean, &["ingest"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ingest_time = started.elapsed();
    let finished = check(&clean, "after a clean ingest");
    assert_eq!(finished, (EPISODES, EPISODES));

    // Two stores, each killed in five ingests in a row: each ingest resumes what the killed one
    // left, so later kills land in later work (transcripts, then extraction).
    let mut killed = 0;
    let mut data = clean.clone();
    for store in ["a", "b"] {
        data = dir.path().join(store);
        assert!(run(&data, &["feeds", "add", &feed]).status.success());
        for round in 0..5 {
            let at = Duration::from_millis(rng.below(ingest_time.as_millis() as u64 * 3 / 5 + 20));
            // --force: a feed the killed ingest had just fetched is fetched again, not backed off.
            killed += kill_after(&data, &["ingest", "--force"], at) as usize;
            check(&data, &format!("store {store}: ingest killed after {at:?} (round {round})"));
        }
        let out = run(&data, &["ingest", "--force"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(check(&data, "the ingest after the kills"), finished);
        let (reopened, clean_store) = (Store::open(&data).unwrap(), Store::open(&clean).unwrap());
        assert_eq!(reopened.corpus().unwrap(), clean_store.corpus().unwrap(), "statistics of an undisturbed ingest");
    }
    // How many kills land before an ingest finishes depends on the machine's speed; a few
    // always do, since the kill points are drawn within the first three fifths of one.
    println!("{killed} of 10 ingests killed before they finished");
    assert!(killed >= 2, "only {killed} of 10 ingests were killed before finishing");

    let started = Instant::now();
    let out = run(&clean, &["digest", "--json"]);
    assert!(out.status.success());
    let digest_time = started.elapsed();
    let clean_digest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(clean_digest["insights"].as_array().is_some_and(|a| !a.is_empty()), "{clean_digest}");
    for round in 0..6 {
        let at = Duration::from_millis(rng.below(digest_time.as_millis() as u64 + 20));
        kill_after(&data, &["digest", "--json"], at);
        check(&data, &format!("digest killed after {at:?} (round {round})"));
    }
    let out = run(&data, &["digest", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let digest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids =
        |d: &serde_json::Value| d["insights"].as_array().map(|a| a.iter().map(|e| e["id"].clone()).collect::<Vec<_>>());
    assert_eq!(ids(&digest), ids(&clean_digest), "the digest a killed store ends with is an undisturbed store's");
    check(&data, "after the last digest");
}

/// Damages a data directory in place.
type Damage = fn(&Path);

/// Each way a data directory gets damaged: the database file cut short, overwritten with
/// garbage, or its configuration file garbled.
#[test]
fn a_damaged_store_is_one_clear_error_naming_the_directory_and_the_way_out() {
    let damages: [(&str, Damage); 4] = [
        ("db cut short", |d| {
            let f = std::fs::OpenOptions::new().write(true).open(d.join("db")).unwrap();
            let len = f.metadata().unwrap().len();
            f.set_len(len / 3).unwrap();
        }),
        ("db overwritten with garbage", |d| {
            let len = std::fs::metadata(d.join("db")).unwrap().len() as usize;
            let garbage: Vec<u8> = (0..len.max(4096)).map(|i| (i * 7919 % 251) as u8).collect();
            std::fs::write(d.join("db"), garbage).unwrap();
        }),
        ("conf garbled", |d| std::fs::write(d.join("conf"), b"\xff\xfenot a sled config\0\0").unwrap()),
        ("db emptied", |d| std::fs::write(d.join("db"), b"").unwrap()),
    ];
    for (what, damage) in damages {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        assert!(run(&data, &["feeds", "add", "https://podcast.example/feed.xml"]).status.success());
        assert!(run(&data, &["demo"]).status.success());
        damage(&data);
        let out = run(&data, &["feeds", "ls"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            // sled may recover what it wrote before the damage; it must then still be a store.
            assert!(String::from_utf8_lossy(&out.stdout).contains("podcast.example"), "{what}: {stderr}");
            continue;
        }
        assert!(!stderr.contains("panicked"), "{what}: a panic, not an error:\n{stderr}");
        // sled may log what it found above it; the error itself is one line.
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{what}: one error, not:\n{stderr}");
        assert!(errors[0].contains(&data.display().to_string()), "{what}: the directory is not named:\n{stderr}");
        assert!(errors[0].contains("damaged"), "{what}: not said to be damaged:\n{stderr}");
        assert!(errors[0].contains("backup") && errors[0].contains("--data"), "{what}: no way out:\n{stderr}");
    }
}
