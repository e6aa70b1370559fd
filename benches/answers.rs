//! How well follow-up questions are answered, on a labelled set of questions about Changelog
//! episodes (default ../shared/eval/qa.json; another set as the first argument, e.g.
//! tests/fixtures/qa_extra.json). Each episode is parsed by the project's transcript parser and
//! stored with its extracted insights; every question is asked about the episode's first
//! insight, as a reader of the digest would. Prints hit@1 and hit@3 (the labelled answer span
//! inside the first / any of the first three citations, compared without case, punctuation or
//! spacing differences), the share of unanswerable questions refused, and every miss; then the
//! same through the LLM answerer against a fake OpenAI-compatible server on 127.0.0.1, which
//! checks each request and cites the passages it is sent (whether the answering span reaches
//! the model and comes back as a verified citation). `--sweep` shows the effect of each
//! `ask.min_coverage` and where the passage holding each answer ranks (with PODSIFT_BENCH_TOP=1,
//! the question's weighted words and its three best passages too).
//!
//! `cargo bench --bench answers [-- SET.json]`. The fixtures directory defaults to
//! ../shared/fixtures/changelog (PODSIFT_FIXTURES overrides); all of its episodes feed the
//! corpus statistics, as a store with a long history would have them.

use std::path::{Path, PathBuf};

use chrono::Utc;
use podsift::ask::{self, QuoteAnswerer};
use podsift::config::Config;
use podsift::ingest::transcript;
use podsift::insight::extract::OfflineExtractor;
use podsift::insight::terms;
use podsift::model::{DigestEntry, Episode, Transcript, TranscriptSource};
use podsift::store::Store;

#[derive(serde::Deserialize)]
struct Labelled {
    episode: String,
    question: String,
    answer: Option<String>,
}

fn norm(s: &str) -> String {
    ask::retrieve::normalise(s)
}

fn load(root: &Path, rel: &str) -> Option<(Episode, Transcript)> {
    let text = std::fs::read(root.join(rel)).ok()?;
    let segments = transcript::parse(TranscriptSource::Text, &text).ok()?;
    let id = rel.trim_end_matches(".md").replace('/', "-");
    let mut ep = Episode::new(&id, "bench", rel, Utc::now());
    ep.podcast_title = rel.split('/').next().map(str::to_string);
    ep.link = Some(format!("https://changelog.example/{id}"));
    let tr = Transcript { episode_id: id, source: TranscriptSource::Text, url: None, fetched_at: Utc::now(), segments };
    Some((ep, tr))
}

fn doc_terms(t: &Transcript) -> Vec<String> {
    let mut v: Vec<String> = t.segments.iter().flat_map(|s| terms::terms(&s.text)).collect();
    v.sort();
    v.dedup();
    v
}

fn main() {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let set = std::env::args()
        .skip(1)
        .find(|a| a.ends_with(".json"))
        .map(PathBuf::from)
        .unwrap_or_else(|| here.join("../shared/eval/qa.json"));
    let root = std::env::var("PODSIFT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| here.join("../shared/fixtures/changelog"));
    let Ok(raw) = std::fs::read(&set) else {
        eprintln!("no question set at {}; nothing to measure", set.display());
        return;
    };
    let questions: Vec<Labelled> = serde_json::from_slice(&raw).expect("a JSON list of {episode, question, answer}");
    // PODSIFT_BENCH_STORE keeps the loaded store between runs (for calibrating); by default a
    // fresh temporary one.
    let dir = tempfile::tempdir().unwrap();
    let kept = std::env::var("PODSIFT_BENCH_STORE").ok().map(PathBuf::from);
    let store_dir = kept.clone().unwrap_or_else(|| dir.path().to_path_buf());
    let store = Store::open(&store_dir).unwrap();
    let config = Config::default();
    let mut wanted: Vec<&str> = questions.iter().map(|q| q.episode.as_str()).collect();
    wanted.sort();
    wanted.dedup();
    let started = std::time::Instant::now();
    let marker = store_dir.join(format!("loaded-for-{}", set.file_name().and_then(|n| n.to_str()).unwrap_or("set")));
    if !marker.exists() {
        // Corpus statistics from every fixture episode; the questioned ones are stored whole.
        let mut all: Vec<String> = Vec::new();
        for show in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(show.path()).into_iter().flatten().flatten() {
                if f.path().extension().is_some_and(|e| e == "md") {
                    if let (Some(s), Some(n)) = (show.file_name().to_str(), f.file_name().to_str()) {
                        all.push(format!("{s}/{n}"));
                    }
                }
            }
        }
        all.sort();
        for rel in all.iter().map(String::as_str).chain(wanted.iter().copied().filter(|w| !all.iter().any(|a| a == w)))
        {
            if let Some((mut ep, tr)) = load(&root, rel) {
                if wanted.contains(&rel) {
                    store.put_episode(&ep).unwrap();
                    store.put_transcript(&ep, &tr).unwrap();
                }
                ep.insights_extracted = true;
                store.put_insights(&ep, &[], Some(&doc_terms(&tr))).unwrap();
            }
        }
        store.flush().unwrap();
        if kept.is_some() {
            std::fs::write(&marker, b"").unwrap();
        }
    }
    eprintln!("{} corpus episodes ready in {:.1}s", store.corpus().unwrap().docs, started.elapsed().as_secs_f64());
    let corpus = store.corpus().unwrap();
    let extractor = OfflineExtractor { config: config.insight.clone() };
    let mut entries: Vec<(String, DigestEntry)> = Vec::new();
    for rel in &wanted {
        let Some((ep, tr)) = load(&root, rel) else {
            eprintln!("cannot read {rel}");
            continue;
        };
        let Some(i) = extractor.extract_now(&ep, &tr, &corpus).into_iter().next() else {
            eprintln!("no insight in {rel}");
            continue;
        };
        entries.push((rel.to_string(), DigestEntry::from_insight(1, &i, i.score, vec![])));
    }

    let answerer = QuoteAnswerer { max_citations: config.ask.max_citations };
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (mut answerable, mut hit1, mut hit3, mut unanswerable, mut refused) = (0, 0, 0, 0, 0);
    let mut misses: Vec<String> = Vec::new();
    let mut slowest = std::time::Duration::ZERO;
    for q in &questions {
        let Some((_, entry)) = entries.iter().find(|(rel, _)| *rel == q.episode) else {
            misses.push(format!("(episode missing) {}", q.question));
            continue;
        };
        let t = std::time::Instant::now();
        let a = rt.block_on(ask::ask(&store, &config.ask, entry, &q.question, &answerer, &[])).unwrap();
        slowest = slowest.max(t.elapsed());
        match &q.answer {
            Some(span) => {
                answerable += 1;
                let span = norm(span);
                let at = a.citations.iter().take(3).position(|c| norm(&c.text).contains(&span));
                hit1 += usize::from(at == Some(0));
                hit3 += usize::from(at.is_some());
                if let Some(k @ 1..) = at {
                    println!("CITED {}: {} [{}]", k + 1, q.question, q.episode);
                }
                if at.is_none() {
                    let got = if a.covered {
                        a.citations
                            .iter()
                            .map(|c| format!("[{}] {}", c.start_seconds, c.text.chars().take(140).collect::<String>()))
                            .collect::<Vec<_>>()
                            .join("\n               ")
                    } else {
                        format!("refused: {}", a.answer.chars().take(160).collect::<String>())
                    };
                    // An answer inside the insight asked about is masked: the reader has it.
                    let known = if norm(&entry.quote).contains(&span) { " (the insight itself)" } else { "" };
                    misses.push(format!(
                        "MISS   {} [{}]{known}\n       wanted: {}\n       about:  {}\n       got:    {got}",
                        q.question,
                        q.episode,
                        span,
                        entry.quote.chars().take(140).collect::<String>()
                    ));
                }
            }
            None => {
                unanswerable += 1;
                if a.covered {
                    let got =
                        a.citations.first().map(|c| c.text.chars().take(140).collect::<String>()).unwrap_or_default();
                    misses.push(format!("ANSWERED {} [{}]\n       got:    {got}", q.question, q.episode));
                } else {
                    refused += 1;
                }
            }
        }
    }
    if std::env::args().any(|a| a == "--sweep") {
        sweep(&store, &config, &questions, &entries, &answerer);
    }
    let llm = llm_path(&store, &config, &questions, &entries);
    for m in &misses {
        println!("{m}");
    }
    let pct = |a: usize, b: usize| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
    println!("set: {}", set.display());
    println!("hit@1    {hit1}/{answerable} ({:.0}%)", pct(hit1, answerable));
    println!("hit@3    {hit3}/{answerable} ({:.0}%)", pct(hit3, answerable));
    println!("refused  {refused}/{unanswerable} ({:.0}%)", pct(refused, unanswerable));
    println!("slowest answer {:.1} ms", slowest.as_secs_f64() * 1000.0);
    println!("LLM path (fake OpenAI-compatible server citing the passages it is sent, in order):");
    println!("hit@1    {}/{answerable} ({:.0}%)", llm.hit1, pct(llm.hit1, answerable));
    println!("hit@3    {}/{answerable} ({:.0}%)", llm.hit3, pct(llm.hit3, answerable));
    println!("sent     {}/{answerable} (the answer among the passages the model is sent)", llm.sent);
    println!("refused  {}/{unanswerable} ({:.0}%)", llm.refused, pct(llm.refused, unanswerable));
    println!(
        "requests {} (largest transcript block {} chars), refused by the fake: {}",
        llm.requests,
        llm.largest,
        llm.problems.len()
    );
    for p in &llm.problems {
        println!("  request problem: {p}");
    }
}

/// The LLM answerer's figures.
#[derive(Default)]
struct LlmFigures {
    hit1: usize,
    hit3: usize,
    sent: usize,
    refused: usize,
    requests: usize,
    largest: usize,
    problems: Vec<String>,
}

/// The same questions through the LLM answerer, against a fake OpenAI-compatible server on
/// 127.0.0.1 that checks each request and cites, in order, the passages it was sent: the
/// figures say whether the answering span reaches the model and comes back as a verified
/// citation. Whether a question is covered is decided before the model (the same as offline).
fn llm_path(store: &Store, config: &Config, questions: &[Labelled], entries: &[(String, DigestEntry)]) -> LlmFigures {
    use podsift::llm::LlmClient;
    use podsift::llm::answer::LlmAnswerer;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let fake = rt.block_on(fake_llm::start(MODEL));
    let mut llm_config = config.llm.clone();
    llm_config.base_url = Some(fake.base.clone());
    llm_config.model = MODEL.into();
    llm_config.api_key = Some("bench".into());
    let client = LlmClient::new(&llm_config, store.clone()).unwrap();
    let answerer =
        LlmAnswerer::new(std::sync::Arc::new(client), QuoteAnswerer { max_citations: config.ask.max_citations });
    let mut f = LlmFigures::default();
    for q in questions {
        let Some((_, entry)) = entries.iter().find(|(rel, _)| *rel == q.episode) else { continue };
        fake.expect(&q.question);
        let a = rt.block_on(ask::ask(store, &config.ask, entry, &q.question, &answerer, &[])).unwrap();
        let seen = fake.take();
        let Some(span) = q.answer.as_deref().map(norm) else {
            f.refused += usize::from(!a.covered);
            continue;
        };
        let Some(seen) = seen else { continue };
        f.requests += 1;
        f.largest = f.largest.max(seen.chars);
        if let Some(p) = seen.problem {
            f.problems.push(format!("{} ({})", p, q.question));
            continue;
        }
        f.sent += usize::from(seen.passages.iter().any(|p| norm(p).contains(&span)));
        // Cited back and kept by the citation check.
        let quoted = norm(&a.citations.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join(" "));
        let at = seen.passages.iter().take(3).position(|p| norm(p).contains(&span));
        let kept = a.covered && quoted.contains(&span);
        f.hit1 += usize::from(kept && at == Some(0));
        f.hit3 += usize::from(kept && at.is_some());
    }
    f
}

const MODEL: &str = "bench-model";

/// A fake OpenAI-compatible chat endpoint that plays a model answering from the passages.
mod fake_llm {
    use std::sync::{Arc, Mutex};

    use axum::body::Bytes;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use serde_json::{Value, json};

    /// Passages shown at most, in characters (the answerer's budget).
    const BUDGET: usize = 9_000;
    /// Passages cited per answer.
    const CITED: usize = 3;
    /// Words per quoted span: the citation check takes spans of at most 200 words.
    const QUOTE_WORDS: usize = 150;

    /// What the fake saw of one request.
    pub struct Seen {
        /// The said lines of each passage sent, in order (the lines marked as asking left out).
        pub passages: Vec<String>,
        pub chars: usize,
        pub problem: Option<String>,
    }

    #[derive(Default)]
    struct State {
        question: String,
        seen: Option<Seen>,
    }

    pub struct Fake {
        pub base: String,
        state: Arc<Mutex<State>>,
    }

    impl Fake {
        /// The question the next request must carry.
        pub fn expect(&self, question: &str) {
            let mut st = self.state.lock().unwrap();
            st.question = question.to_string();
            st.seen = None;
        }

        pub fn take(&self) -> Option<Seen> {
            self.state.lock().unwrap().seen.take()
        }
    }

    pub async fn start(model: &'static str) -> Fake {
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: Bytes| {
            let s = s.clone();
            async move {
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let mut st = s.lock().unwrap();
                let question = st.question.clone();
                let (seen, reply) = if uri.path() == "/v1/chat/completions" {
                    answer(&body, model, &question)
                } else {
                    let seen =
                        Seen { passages: vec![], chars: 0, problem: Some(format!("unexpected path {}", uri.path())) };
                    (seen, None)
                };
                let failed = seen.problem.clone();
                st.seen = Some(seen);
                match (failed, reply) {
                    (None, Some(content)) => axum::Json(json!({
                        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1764316800, "model": model,
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": null},
                            "finish_reason": "stop", "logprobs": null}],
                        "usage": {"prompt_tokens": 2000, "completion_tokens": 200, "total_tokens": 2200}
                    }))
                    .into_response(),
                    (problem, _) => (
                        StatusCode::BAD_REQUEST,
                        axum::Json(json!({"error": {"message": problem.unwrap_or_default(),
                            "type": "invalid_request_error", "param": null, "code": null}})),
                    )
                        .into_response(),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Fake { base, state }
    }

    /// Checks a chat request and writes the answer a model would: citing, in order, the said
    /// lines of the first passages.
    fn answer(body: &Value, model: &str, question: &str) -> (Seen, Option<String>) {
        let fail = |p: String| (Seen { passages: vec![], chars: 0, problem: Some(p) }, None);
        if body["model"] != model {
            return fail(format!("model is {}", body["model"]));
        }
        let rf = &body["response_format"];
        if rf["type"] != "json_schema" || rf["json_schema"]["strict"] != true {
            return fail("response_format is not a strict JSON schema".into());
        }
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        let text = |role: &str| {
            messages.iter().find(|m| m["role"] == role).and_then(|m| m["content"].as_str()).unwrap_or("").to_string()
        };
        let (system, user) = (text("system"), text("user"));
        if !system.contains("untrusted") {
            return fail("the system message does not mark the transcript as untrusted".into());
        }
        if !user.contains(&format!("Question: {question}")) {
            return fail("the question is not in the user message".into());
        }
        let (Some(open), Some(close)) = (user.find("<transcript>\n"), user.rfind("\n</transcript>")) else {
            return fail("no <transcript> block".into());
        };
        let block = &user[open + "<transcript>\n".len()..close];
        // The insight and the thread so far come first; the passages from the first "--- " on.
        let transcript = block.find("--- ").map_or(block, |at| &block[at..]);
        // Blocks: "--- podcast — episode", then "[hh:mm:ss] Speaker: text" or "Speaker (asking): ".
        let mut blocks: Vec<Vec<String>> = Vec::new();
        for line in transcript.lines() {
            if line.starts_with("--- ") {
                blocks.push(Vec::new());
                continue;
            }
            let Some(block) = blocks.last_mut() else { return fail("a line outside any passage".into()) };
            let Some((head, said)) = line.split_once("] ").and_then(|(_, rest)| rest.split_once(": ")) else {
                return fail(format!("a passage line without [time] and speaker: {line:?}"));
            };
            if !head.ends_with("(asking)") {
                block.push(said.to_string());
            }
        }
        let blocks: Vec<Vec<String>> = blocks.into_iter().filter(|b| !b.is_empty()).collect();
        let chars = transcript.chars().count();
        if blocks.is_empty() {
            return fail("no passages".into());
        }
        if blocks.len() > 1 && chars > BUDGET {
            return fail(format!("{chars} characters of passages, over the budget of {BUDGET}"));
        }
        let mut quotes: Vec<String> = Vec::new();
        for block in blocks.iter().take(CITED) {
            let words: Vec<&str> = block.iter().flat_map(|l| l.split_whitespace()).collect();
            for chunk in words.chunks(QUOTE_WORDS) {
                quotes.push(chunk.join(" "));
            }
        }
        let content = json!({
            "answer": "From the passages: see the quotes.",
            "covered": true,
            "citations": quotes.iter().map(|q| json!({"quote": q})).collect::<Vec<_>>(),
        });
        let passages: Vec<String> = blocks.iter().map(|b| b.join(" ")).collect();
        (Seen { passages, chars, problem: None }, Some(content.to_string()))
    }
}

/// Calibration: hit@3 and refusals for a range of `min_coverage` values, and where the passage
/// holding each answer ranks.
fn sweep(
    store: &Store,
    config: &Config,
    questions: &[Labelled],
    entries: &[(String, DigestEntry)],
    answerer: &QuoteAnswerer,
) {
    use podsift::ask::retrieve::{Query, passages};
    let thresholds = [0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6];
    let mut hits = vec![0; thresholds.len()];
    let mut refusals = vec![0; thresholds.len()];
    let mut ranks: Vec<Option<usize>> = Vec::new();
    for q in questions {
        let Some((_, entry)) = entries.iter().find(|(rel, _)| *rel == q.episode) else { continue };
        let ep = store.episode(&entry.episode_id).unwrap().unwrap();
        let tr = store.transcript(&entry.episode_id).unwrap().unwrap();
        let mut pool = passages(&ep, &tr, config.ask.passage_seconds);
        for p in &mut pool {
            p.mask(&entry.quote);
        }
        let mut speakers: Vec<String> = pool.iter().filter_map(|p| p.speaker().map(str::to_string)).collect();
        speakers.sort();
        speakers.dedup();
        let query = Query::new(&q.question, &speakers, (&entry.text, entry.start_seconds));
        let corpus = store.corpus_for(&query.stems()).unwrap();
        let ranked = ask::rank(&pool, &query, &corpus);
        let cov =
            ranked.iter().filter(|s| s.score > 0.0 && !s.passage.asks).take(3).map(|s| s.local).fold(0.0, f64::max);
        let mut line = format!("{:<5} cov {cov:.2} ", if q.answer.is_some() { "ANS" } else { "NULL" });
        if let Some(span) = &q.answer {
            let span = norm(span);
            let at = ranked.iter().position(|s| {
                norm(&s.passage.sentences.iter().map(|l| l.2.as_str()).collect::<Vec<_>>().join(" ")).contains(&span)
            });
            ranks.push(at);
            line.push_str(&format!("rank {at:?} "));
        }
        println!("{line}{}", q.question);
        if std::env::var("PODSIFT_BENCH_TOP").is_ok() {
            let t: Vec<String> = query.terms.iter().map(|t| format!("{}:{:.2}", t.root, corpus.idf(&t.stem))).collect();
            println!("      terms {t:?} needs {} counted {:?}", query.needs, query.counted);
            for s in ranked.iter().filter(|s| s.score > 0.0 && !s.passage.asks).take(3) {
                let text = s.passage.sentences.iter().map(|l| l.2.as_str()).collect::<Vec<_>>().join(" ");
                println!(
                    "      {:.2} local {:.2} [{}] {}",
                    s.score,
                    s.local,
                    s.passage.start(),
                    text.chars().take(3000).collect::<String>()
                );
            }
        }
        for (k, th) in thresholds.iter().enumerate() {
            let covered = ask::is_covered(&pool, &query, &corpus, *th);
            let a = answerer.answer_now(&q.question, entry, &ranked, covered);
            match &q.answer {
                Some(span) => {
                    let span = norm(span);
                    hits[k] += usize::from(a.citations.iter().take(3).any(|c| norm(&c.text).contains(&span)));
                }
                None => refusals[k] += usize::from(!a.covered),
            }
        }
    }
    let within = |n: usize| ranks.iter().filter(|r| r.is_some_and(|r| r < n)).count();
    println!(
        "answer passage ranked first {}, in top 3 {}, top 5 {}, top 10 {}, of {}",
        within(1),
        within(3),
        within(5),
        within(10),
        ranks.len()
    );
    for (k, th) in thresholds.iter().enumerate() {
        println!("min_coverage {th:.2}: hit@3 {} refused {}", hits[k], refusals[k]);
    }
}
