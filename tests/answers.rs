//! Follow-up answers on the failure kinds seen on unseen episodes: the passage that answers is
//! found although it repeats few of the question's words, the host's question is never cited as
//! its own answer, the insight the reader already has is not handed back, and what was never
//! said is refused, naming what was asked.

use chrono::Utc;
use podsift::ask::{self, Answer, QuoteAnswerer};
use podsift::config::Config;
use podsift::ingest::transcript;
use podsift::insight::terms;
use podsift::model::{DigestEntry, Episode, Segment, Transcript, TranscriptSource};
use podsift::store::Store;

fn episode(id: &str, podcast: &str, title: &str) -> Episode {
    let mut e = Episode::new(id, "https://feeds.example/show", title, Utc::now());
    e.podcast_title = Some(podcast.into());
    e.link = Some(format!("https://example.com/{id}"));
    e
}

fn transcript(id: &str, segments: Vec<Segment>) -> Transcript {
    Transcript { episode_id: id.into(), source: TranscriptSource::Text, url: None, fetched_at: Utc::now(), segments }
}

/// A store holding `episodes`, with the demo transcripts beside them so word statistics are
/// those of a store with some history.
fn store_with(episodes: &[(Episode, Transcript)]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let demo = podsift::demo::TRANSCRIPTS.iter().map(|(name, text)| {
        let segments = transcript::parse(TranscriptSource::Text, text.as_bytes()).unwrap();
        (episode(name, "Demo", name), transcript(name, segments))
    });
    for (mut ep, tr) in episodes.iter().cloned().chain(demo) {
        store.put_episode(&ep).unwrap();
        store.put_transcript(&ep, &tr).unwrap();
        let mut t: Vec<String> = tr.segments.iter().flat_map(|s| terms::terms(&s.text)).collect();
        t.sort();
        t.dedup();
        ep.insights_extracted = true;
        store.put_insights(&ep, &[], Some(&t)).unwrap();
    }
    (dir, store)
}

fn entry(ep: &Episode, quote: &str, speaker: &str, start: f64) -> DigestEntry {
    DigestEntry {
        rank: 1,
        id: "i1".into(),
        episode_id: ep.id.clone(),
        text: quote.into(),
        quote: quote.into(),
        podcast: ep.podcast_title.clone().unwrap_or_default(),
        episode: ep.title.clone(),
        episode_url: ep.link.clone(),
        speaker: Some(speaker.into()),
        start_seconds: start,
        untimed: false,
        link: None,
        score: 1.0,
        also_in: vec![],
    }
}

async fn ask(store: &Store, entry: &DigestEntry, question: &str) -> Answer {
    ask::ask(store, &Config::default().ask, entry, question, &QuoteAnswerer { max_citations: 3 }, &[]).await.unwrap()
}

/// The insight of the invalidation episodes below.
const STALE_COPY: &str =
    "Distributed invalidation is much harder than local invalidation, because every node may still hold a stale copy.";

fn seg(start: f64, speaker: &str, text: &str) -> Segment {
    Segment { start, end: start + 20.0, speaker: Some(speaker.into()), text: text.into() }
}

/// A conversation about caching: the host asks, the guest answers in their own words.
fn caching_show() -> (Episode, Transcript) {
    let ep = episode("cache-ep", "Backend Banter", "Caching at scale");
    let tr = transcript(
        "cache-ep",
        vec![
            seg(0.0, "Host", "Welcome to Backend Banter. Today we talk about caching with Priya."),
            seg(20.0, "Priya", "Thanks for having me. I have been running caches for a decade now."),
            seg(40.0, "Host", "How do you warm up a Redis cache after a deploy without hammering the database?"),
            seg(
                60.0,
                "Priya",
                "We replay the last hour of read traffic from the access logs against the new nodes before they \
                 take requests. The hot keys are loaded by the time the load balancer switches over.",
            ),
            seg(100.0, "Host", "Nice. And what about the kind of invalidation people usually get wrong?"),
            seg(
                120.0,
                "Priya",
                "Distributed invalidation is much harder than local invalidation, because every node may still \
                 hold a stale copy, and the message that evicts it can arrive late or not at all.",
            ),
            seg(160.0, "Host", "That makes sense. Anything else on your mind?"),
            seg(170.0, "Priya", "Measure your hit rate before you tune anything; most teams never look at it."),
            seg(190.0, "Host", "Thanks, Priya."),
        ],
    );
    (ep, tr)
}

#[tokio::test]
async fn a_natural_question_in_other_words_is_not_refused() {
    let (ep, tr) = caching_show();
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about =
        entry(&ep, "Measure your hit rate before you tune anything; most teams never look at it.", "Priya", 170.0);
    // "folks", "prefer" and "big" are nowhere in the answer; the topic words are.
    let a =
        ask(&store, &about, "Why is distributed invalidation harder than the local kind folks prefer on big systems?")
            .await;
    assert!(a.covered, "{a:#?}");
    assert!(a.citations[0].text.contains("because every node may still hold a stale copy"), "{a:#?}");
    assert_eq!(a.citations[0].speaker.as_deref(), Some("Priya"));
    assert!(a.answer.starts_with("Priya at [00:02:00]"), "{}", a.answer);
    assert!(a.answer.contains("https://example.com/cache-ep#t=120"), "{}", a.answer);
}

#[tokio::test]
async fn the_hosts_question_is_not_cited_as_its_answer() {
    let (ep, tr) = caching_show();
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about =
        entry(&ep, "Measure your hit rate before you tune anything; most teams never look at it.", "Priya", 170.0);
    let a = ask(&store, &about, "How do you warm up a Redis cache after a deploy?").await;
    assert!(a.covered, "{a:#?}");
    assert!(a.citations.iter().all(|c| c.speaker.as_deref() != Some("Host")), "{a:#?}");
    assert!(a.citations[0].text.contains("replay the last hour of read traffic"), "{a:#?}");
}

#[tokio::test]
async fn what_was_never_said_is_refused_naming_what_was_asked() {
    let (ep, tr) = caching_show();
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about =
        entry(&ep, "Measure your hit rate before you tune anything; most teams never look at it.", "Priya", 170.0);
    let a = ask(&store, &about, "Does Priya prefer Memcached or Hazelcast for session storage?").await;
    assert!(!a.covered, "{a:#?}");
    assert!(a.citations.is_empty());
    assert!(a.answer.starts_with("Not covered") && a.answer.contains("Memcached"), "{}", a.answer);
}

/// A question typed in a hurry finds what the same question spelt right finds: a misspelt word
/// is read as the episode's word a letter or two away, a misspelt stop word stops counting.
#[tokio::test]
async fn a_misspelt_question_is_answered_as_if_spelt_right() {
    let (ep, tr) = caching_show();
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about =
        entry(&ep, "Measure your hit rate before you tune anything; most teams never look at it.", "Priya", 170.0);
    let right = ask(&store, &about, "Why is distributed invalidation harder than local invalidation?").await;
    assert!(right.covered, "{right:#?}");
    let typed =
        ask(&store, &about, "waht abuot distribted invalidaton, why is it hardr than lcoal invalidation?").await;
    assert!(typed.covered, "{typed:#?}");
    assert_eq!(typed.citations[0].text, right.citations[0].text);
    // A real word that was never said is no typo of one that was: still refused.
    let a = ask(&store, &about, "Does Priya prefer Memcached for session storage?").await;
    assert!(!a.covered, "{a:#?}");
}

/// Near misses are not typos: a name one letter from a word that was said ("Deno" and "demo")
/// is still a name never said, and a question naming tools in English is not taken for another
/// language because the tools' names are not English words.
#[tokio::test]
async fn a_name_near_a_said_word_is_not_read_as_a_typo_of_it() {
    let ep = episode("deploy-ep", "Ops Hour", "Deploys");
    let tr = transcript(
        "deploy-ep",
        vec![
            seg(0.0, "Host", "What runs your services these days?"),
            seg(
                20.0,
                "Sam",
                "Every service runs on Kubernetes clusters behind one API that the platform team keeps patched.",
            ),
            seg(40.0, "Host", "And what do you run for the demo site?"),
            seg(60.0, "Sam", "The demo site runs on a single small server that we rebuild every night."),
            seg(90.0, "Sam", "Measure before you tune anything; most teams never look at their numbers."),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(&ep, "Measure before you tune anything; most teams never look at their numbers.", "Sam", 90.0);
    for (question, never) in
        [("What does the site run on, Deno?", "Deno"), ("Pulumi vs Terraform for Kubernetes?", "Terraform")]
    {
        let a = ask(&store, &about, question).await;
        assert!(!a.covered, "{question}: {a:#?}");
        assert!(a.answer.contains(&format!("it never mentions {never}")), "{question}: {}", a.answer);
    }
    // A plural of a short name is said where the name is.
    let a = ask(&store, &about, "Which APIs does the demo site call, Deno?").await;
    assert!(a.answer.contains("it never mentions Deno.") && !a.answer.contains("APIs"), "{}", a.answer);
    // A name misspelt is read as the episode's name, not as one it never mentions.
    let a = ask(&store, &about, "Which clusters run on Kubrenetes?").await;
    assert!(a.covered, "{a:#?}");
    assert!(a.citations[0].text.contains("Kubernetes clusters"), "{a:#?}");
}

/// A compound is written together or apart ("gofmt", "go fmt"; "runbook", "run book"): asked
/// the other way than the episode says it, it is still found, while a name whose part happens
/// to be said ("Overcast", where only "cast" is) is still one the episode never mentions.
#[tokio::test]
async fn a_compound_written_together_or_apart_is_one_word() {
    let ep = episode("tidy-ep", "Ops Hour", "Tidy code");
    let tr = transcript(
        "tidy-ep",
        vec![
            seg(0.0, "Host", "How do you keep the code tidy?"),
            seg(20.0, "Sam", "Every commit runs through go fmt before review, so nobody argues about layout anymore."),
            seg(40.0, "Host", "And what happens when a service goes down at night?"),
            seg(60.0, "Sam", "Whoever is on call follows one runbook that the platform team rewrites every quarter."),
            seg(80.0, "Sam", "We cast a wide net when we hire, and we pair new people with someone senior."),
            seg(100.0, "Sam", "Measure before you tune anything; most teams never look at their numbers."),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(&ep, "Measure before you tune anything; most teams never look at their numbers.", "Sam", 100.0);
    for (question, answer) in [
        ("What did Sam say about gofmt?", "runs through go fmt"),
        ("What did Sam say about the run book?", "follows one runbook"),
    ] {
        let a = ask(&store, &about, question).await;
        assert!(a.covered, "{question}: {a:#?}");
        assert!(a.citations[0].text.contains(answer), "{question}: {a:#?}");
    }
    let a = ask(&store, &about, "Does Sam listen on Overcast?").await;
    assert!(!a.covered, "{a:#?}");
    assert!(a.answer.contains("it never mentions Overcast"), "{}", a.answer);
}

/// "Who is Jenn?" of someone the episode names but who does not speak in it is answered where
/// they are first named, from the sentence that names them, not where the name is said most.
#[tokio::test]
async fn who_someone_named_but_not_heard_is_read_where_they_are_first_named() {
    let ep = episode("team-ep", "Open Source Hour", "Keeping contributors informed");
    let tr = transcript(
        "team-ep",
        vec![
            seg(0.0, "Host", "How do you keep your contributors informed?"),
            seg(
                20.0,
                "Mara",
                "Transparency is table stakes, but it is not communication. People cannot follow every thread, so \
                 somebody has to tell the story of the week. We actually have Jenn Turner who writes the project \
                 newsletter every Friday.",
            ),
            seg(60.0, "Host", "Oh, I love Jenn."),
            seg(70.0, "Host", "Jenn is great, Jenn really is. Say hi to Jenn from us, and Jenn's dog too."),
            seg(90.0, "Mara", "A project that explains its decisions keeps the contributors it already has."),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about =
        entry(&ep, "A project that explains its decisions keeps the contributors it already has.", "Mara", 90.0);
    for question in ["Who is Jenn?", "who's Jenn Turner?"] {
        let a = ask(&store, &about, question).await;
        assert!(a.covered, "{question}: {a:#?}");
        assert!(a.citations[0].text.starts_with("We actually have Jenn Turner who writes"), "{question}: {a:#?}");
    }
    let a = ask(&store, &about, "Who is Gregor?").await;
    assert!(!a.covered && a.answer.contains("it never mentions Gregor"), "{a:#?}");
}

/// A question in another language (the offline engine compares words; it does not translate)
/// is searched by the words it shares with the episode, not refused for the words it does not.
#[tokio::test]
async fn a_question_in_another_language_is_searched_by_the_words_it_shares() {
    let (ep, tr) = caching_show();
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about =
        entry(&ep, "Measure your hit rate before you tune anything; most teams never look at it.", "Priya", 170.0);
    let a = ask(&store, &about, "Warum ist distributed invalidation schwieriger als lokale invalidation?").await;
    assert!(a.covered, "{a:#?}");
    assert!(a.citations[0].text.contains("because every node may still hold a stale copy"), "{a:#?}");
    // Nothing shared: nothing to answer from, and the refusal says why, for a question in
    // another script as for one in another language's words; a passage found through a shared
    // word is not offered as the closest.
    for question in [
        "Wie viele Kunden hatte die Firma im letzten Quartal?",
        "Was hat sie über den Cache gesagt?",
        "她对缓存说了什么？",
        "Что она сказала о кэше?",
    ] {
        let a = ask(&store, &about, question).await;
        assert!(!a.covered, "{a:#?}");
        assert!(a.answer.contains("another language than the episode"), "{question}: {}", a.answer);
        assert!(!a.answer.contains("closest passage") && !a.answer.contains("Nothing said there"), "{}", a.answer);
    }
    // An English question never answered there is refused as before, with no word of language.
    let a = ask(&store, &about, "How many customers did the company have last quarter?").await;
    assert!(!a.covered && !a.answer.contains("language"), "{}", a.answer);
    // An episode in that language: its own language is no other.
    let ep = episode("zh-ep", "缓存播客", "缓存");
    let tr = transcript(
        "zh-ep",
        vec![
            seg(0.0, "主持人", "欢迎收听。今天我们聊缓存。"),
            seg(20.0, "Priya", "分布式失效比本地失效难得多，因为每个节点都可能保存着旧的副本。"),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(&ep, "分布式失效比本地失效难得多，因为每个节点都可能保存着旧的副本。", "Priya", 20.0);
    let a = ask(&store, &about, "她对数据库迁移说了什么？").await;
    assert!(!a.answer.contains("another language"), "{}", a.answer);
}

#[tokio::test]
async fn a_refusal_offers_the_closest_passage_as_not_an_answer() {
    let (ep, tr) = caching_show();
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about =
        entry(&ep, "Measure your hit rate before you tune anything; most teams never look at it.", "Priya", 170.0);
    let answer = QuoteAnswerer { max_citations: 3 };
    let mut pool = ask::passages(&ep, &store.transcript(&ep.id).unwrap().unwrap(), 45.0);
    for p in &mut pool {
        p.mask(&about.quote);
    }
    let query = ask::Query::new("How long does the replay of read traffic take?", &["Priya".into()], ("", 0.0));
    let ranked = ask::rank(&pool, &query, &store.corpus_for(&query.stems()).unwrap());
    let a = answer.answer_now("How long does the replay of read traffic take?", &about, &ranked, false);
    assert!(!a.covered && a.citations.is_empty());
    assert!(a.answer.starts_with("Not covered"), "{}", a.answer);
    assert!(a.answer.contains("does not answer it") && a.answer.contains("replay the last hour"), "{}", a.answer);
}

#[tokio::test]
async fn code_the_dream_is_described_not_the_insight_repeated() {
    // JS Party #100 (demo): Crystal says what Code The Dream is a minute before the insight,
    // which is about the two people who founded it.
    let text = podsift::demo::TRANSCRIPTS.iter().find(|(n, _)| *n == "js-party-100.md").unwrap().1;
    let segments = transcript::parse(TranscriptSource::Text, text.as_bytes()).unwrap();
    let ep = episode("js-party-100", "JS Party", "JS Party #100");
    let insight = "So two of the people who worked for Uniting NC, Ramiro and Dan - they both joined together to \
                   create Code The Dream, because Ramiro had studied computer programming in school; he has a \
                   computer science degree.";
    let start = segments.iter().find(|s| s.text.contains("joined together to create")).unwrap().start;
    let (_dir, store) = store_with(&[(ep.clone(), transcript("js-party-100", segments))]);
    let about = entry(&ep, insight, "Crystal Williams-Brown", start);
    let a = ask(&store, &about, "What does Code The Dream do?").await;
    assert!(a.covered, "{a:#?}");
    assert!(a.citations[0].text.contains("It's a nonprofit that offers free programming classes"), "{a:#?}");
    assert_eq!(a.citations[0].speaker.as_deref(), Some("Crystal Williams-Brown"));
    for c in &a.citations {
        assert!(!c.text.contains("joined together to create Code The Dream"), "the insight came back: {a:#?}");
    }
}

/// A conversation with numbers in it, only some of them about what is asked.
fn numbers_show() -> (Episode, Transcript) {
    let ep = episode("numbers-ep", "Ops Hour", "Moving off the cloud");
    let tr = transcript(
        "numbers-ep",
        vec![
            seg(0.0, "Host", "Welcome to Ops Hour. Today Lena tells us how her team left the cloud."),
            seg(20.0, "Lena", "Thanks. We had been renting virtual machines for about eight years."),
            seg(40.0, "Host", "What did the move cost you in hardware?"),
            seg(
                60.0,
                "Lena",
                "We bought the racks outright. The whole hardware order came to about $600,000, spread over two \
                 data centers.",
            ),
            seg(100.0, "Host", "And the databases, what did you do with those?"),
            seg(
                120.0,
                "Lena",
                "Three companies run most of the world's servers, and we did not want to depend on them for our \
                 databases. So the databases moved first, onto the new machines.",
            ),
            seg(170.0, "Host", "How did the team take it?"),
            seg(180.0, "Lena", "The team found it rough at first."),
            seg(190.0, "Host", "Yeah, I can imagine."),
            seg(
                195.0,
                "Lena",
                "But after the first month the on-call pages dropped, and nobody wanted to go back to the old \
                 setup.",
            ),
            seg(230.0, "Host", "Thanks, Lena."),
        ],
    );
    (ep, tr)
}

#[tokio::test]
async fn an_amount_is_answered_only_by_a_number_of_the_kind_asked() {
    let (ep, tr) = numbers_show();
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(&ep, "We had been renting virtual machines for about eight years.", "Lena", 20.0);
    // Money is asked and money is said, though not in the question's words.
    let a = ask(&store, &about, "How much money did the hardware order cost?").await;
    assert!(a.covered, "{a:#?}");
    assert!(a.citations[0].text.contains("$600,000"), "{a:#?}");
    // The pages are talked about, but never counted.
    let a = ask(&store, &about, "How many on-call pages did the team get after the move?").await;
    assert!(!a.covered, "{a:#?}");
    assert!(a.answer.starts_with("Not covered"), "{}", a.answer);
    // A time is asked; the talk about the move never says when.
    let a = ask(&store, &about, "When did the databases move onto the new machines?").await;
    assert!(!a.covered, "{a:#?}");
}

#[tokio::test]
async fn a_quote_goes_on_after_a_brief_interjection() {
    let (ep, tr) = numbers_show();
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(&ep, "We had been renting virtual machines for about eight years.", "Lena", 20.0);
    let a = ask(&store, &about, "How did the team take the move?").await;
    assert!(a.covered, "{a:#?}");
    let first = &a.citations[0];
    assert_eq!(first.speaker.as_deref(), Some("Lena"));
    assert!(first.text.contains("The team found it rough at first"), "{a:#?}");
    // Her answer goes on after the host's "Yeah, I can imagine", which is not quoted as hers.
    assert!(first.text.contains("the on-call pages dropped"), "{a:#?}");
    assert!(!first.text.contains("I can imagine"), "{a:#?}");
}

#[tokio::test]
async fn a_quote_does_not_go_on_past_a_question() {
    let (ep, tr) = caching_show();
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about =
        entry(&ep, "Measure your hit rate before you tune anything; most teams never look at it.", "Priya", 170.0);
    let a = ask(&store, &about, "How do you warm up a Redis cache after a deploy?").await;
    assert!(a.covered, "{a:#?}");
    // The host's short "And what about ... invalidation?" starts another answer.
    assert!(!a.citations[0].text.contains("Distributed invalidation"), "{a:#?}");
}

#[tokio::test]
async fn an_answer_in_other_words_for_the_same_thing_is_found() {
    let ep = episode("worm-ep", "Security Stories", "Worms of the year 2000");
    let tr = transcript(
        "worm-ep",
        vec![
            seg(0.0, "Host", "Welcome back. Today Mat tells the story of the ILoveYou worm."),
            seg(
                20.0,
                "Mat",
                "It arrived as an email attachment called ILoveYou, and it mailed itself to every contact in the \
                 address book. Within days it had spread to about ten million machines.",
            ),
            seg(60.0, "Host", "Wow."),
            seg(65.0, "Mat", "Windows hid the file extension, so the script looked like a harmless letter."),
            seg(90.0, "Host", "Thanks, Mat."),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(&ep, "Windows hid the file extension, so the script looked like a harmless letter.", "Mat", 65.0);
    // "Computers" is never said: a number of machines answers how many computers.
    let a = ask(&store, &about, "How many computers did the ILoveYou worm infect?").await;
    assert!(a.covered, "{a:#?}");
    assert!(a.citations[0].text.contains("about ten million machines"), "{a:#?}");
    // A number of something else still does not.
    let a = ask(&store, &about, "How many viruses did the ILoveYou worm carry?").await;
    assert!(!a.covered, "{a:#?}");
}

#[tokio::test]
async fn the_quote_is_the_part_of_a_turn_that_answers_when_the_insight_sits_in_between() {
    let ep = episode("edge-ep", "Web Talk", "Sites and apps");
    let insight = "The line between websites and web apps is an artificial one.";
    let tr = transcript(
        "edge-ep",
        vec![
            seg(0.0, "Host", "Welcome. Today we argue about websites and web apps."),
            seg(
                20.0,
                "Nick",
                &format!(
                    "People still picture a static site on a CDN as a folder of plain files. {insight} With edge \
                     computing, CDNs became far more powerful. Now you can run logic like redirects right at the \
                     edge."
                ),
            ),
            seg(70.0, "Host", "Thanks, Nick."),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(&ep, insight, "Nick", 20.0);
    let a = ask(&store, &about, "What logic can a static site now run at the CDN edge?").await;
    assert!(a.covered, "{a:#?}");
    assert!(a.citations[0].text.contains("run logic like redirects"), "{a:#?}");
    assert!(a.citations.iter().all(|c| !c.text.contains("artificial")), "the insight came back: {a:#?}");
}

#[tokio::test]
async fn a_quote_that_ends_naming_what_was_asked_takes_the_next_sentence() {
    let ep = episode("drive-ep", "Brain Matters", "Working from home");
    let tr = transcript(
        "drive-ep",
        vec![
            seg(0.0, "Host", "Welcome to Brain Matters. Today: why remote work changes how we feel about work."),
            seg(
                20.0,
                "Mira",
                "Most research says remote work raises productivity, but it cannot say why. Have you heard of \
                 Daniel Pink? He wrote a book called Drive, which is all about motivation.",
            ),
            seg(60.0, "Host", "It's on my list, that would be a good one."),
            seg(
                70.0,
                "Mira",
                "Right. This is really at the heart of learning, and I would say of life too, because life \
                 involves learning and adapting, and that is what all of us are doing right now, every single \
                 day of the week. So he talks about motivation as resting on a few different critical aspects. \
                 They are autonomy, purpose and mastery. Autonomy is our inherent drive to create.",
            ),
            seg(130.0, "Host", "Thanks, Mira."),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(&ep, "Autonomy is our inherent drive to create.", "Mira", 70.0);
    let a = ask(&store, &about, "Which factors does Daniel Pink's book Drive say motivation rests on?").await;
    assert!(a.covered, "{a:#?}");
    // Her answer goes on past the host's remark; the quote stops after the sentence that
    // announces the aspects only when the next one names them.
    let first = &a.citations[0];
    assert!(first.text.contains("He wrote a book called Drive"), "{a:#?}");
    assert!(first.text.contains("They are autonomy, purpose and mastery."), "{a:#?}");
    assert!(!first.text.contains("inherent drive to create"), "the insight came back: {a:#?}");
}

/// "What exactly did she say about that?" names nothing but the insight: the answer is what the
/// speaker said there, the insight's words with what came around them, not a host's question
/// minutes before or a reaction after that repeat its words.
#[tokio::test]
async fn a_question_that_names_nothing_is_answered_with_what_was_said_around_the_insight() {
    let ep = episode("stale-ep", "Backend Banter", "Invalidation");
    let said = STALE_COPY;
    let tr = transcript(
        "stale-ep",
        vec![
            seg(0.0, "Host", "Welcome to Backend Banter. Today Priya tells us about invalidation."),
            seg(20.0, "Priya", "Happy to be here, thanks for having me on the show."),
            seg(
                30.0,
                "Host",
                "Is distributed invalidation harder than local invalidation, with a stale copy on every node and \
                 invalidation that arrives late? Distributed invalidation, local invalidation, stale copies: which?",
            ),
            seg(60.0, "Priya", "Not at the size we had then, no. We had one node."),
            seg(
                200.0,
                "Priya",
                &format!("We learned this the hard way at Shopline. {said} So we put a version in every key now."),
            ),
            seg(
                240.0,
                "Host",
                "A stale copy on every node, invalidation arriving late, distributed invalidation harder than local \
                 invalidation: that is a lot to take in.",
            ),
            seg(260.0, "Priya", "It is. Thanks for having me."),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(&ep, said, "Priya", 200.0);
    for question in ["What exactly did she say about that?", "why?", "Can you elaborate?"] {
        let a = ask(&store, &about, question).await;
        assert!(a.covered, "{question}: {a:#?}");
        let first = &a.citations[0];
        assert_eq!(first.speaker.as_deref(), Some("Priya"), "{question}: {a:#?}");
        assert!(first.text.contains("every node may still hold a stale copy"), "{question}: {a:#?}");
        assert!(first.text.contains("version in every key"), "{question}: {a:#?}");
        assert!(first.text.starts_with("We learned this the hard way at Shopline."), "{question}: {a:#?}");
        assert!(a.citations.iter().all(|c| c.speaker.as_deref() != Some("Host")), "{question}: {a:#?}");
    }
    // Naming someone else asks for their words, not the insight's.
    let a = ask(&store, &about, "What did the host say about that?").await;
    assert_eq!(a.citations[0].speaker.as_deref(), Some("Host"), "{a:#?}");
    // Who the speaker is: the introduction, where the host names her.
    for question in ["Who is she?", "who's Priya?"] {
        let a = ask(&store, &about, question).await;
        assert!(
            a.citations.first().is_some_and(|c| c.text.contains("Today Priya tells us about invalidation")),
            "{question}: {a:#?}"
        );
    }
    // Who said it: her, there.
    let a = ask(&store, &about, "Who said that?").await;
    assert!(a.citations[0].text.contains("every node may still hold a stale copy"), "{a:#?}");
}

/// In a long turn cut into overlapping windows, one of which opens on the insight itself, the
/// answer still starts with the sentence that leads into it.
#[tokio::test]
async fn the_quote_around_the_insight_keeps_its_lead_in_when_a_window_opens_on_it() {
    let ep = episode("long-ep", "Backend Banter", "Invalidation at length");
    let numbers = ["one", "two", "three", "four", "five", "", "", "eight", "nine", "ten", "eleven", "twelve"];
    let lead = "We learned this the hard way at Shopline last year.";
    let said = "Distributed invalidation is much harder because every node holds copies.";
    // Ten words a sentence: windows of eleven sentences, each starting six on from the last,
    // so the second opens on the seventh sentence, the insight.
    let turn: Vec<String> = (0..20)
        .map(|i| match i {
            5 => lead.to_string(),
            6 => said.to_string(),
            _ => {
                format!("Filler line {} keeps this long turn going for now.", numbers.get(i).copied().unwrap_or("more"))
            }
        })
        .collect();
    let tr = transcript(
        "long-ep",
        vec![seg(0.0, "Host", "Tell us about invalidation, Priya?"), seg(10.0, "Priya", &turn.join(" "))],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr.clone())]);
    let found = ask::passages(&ep, &tr, Config::default().ask.passage_seconds);
    assert!(
        found.iter().any(|p| p.sentences.first().is_some_and(|s| s.2 == said)),
        "no window opens on the insight: this test shows nothing"
    );
    let about = entry(&ep, said, "Priya", 12.0);
    let a = ask(&store, &about, "What exactly did she say about that?").await;
    assert!(a.citations[0].text.starts_with(lead), "{a:#?}");
    assert!(a.citations[0].text.contains(said), "{a:#?}");
}

/// A question repeating the insight's words ("what did he say about prioritizing and Zoom?") is
/// answered from around the insight, where those words were said, before a passage elsewhere that
/// repeats one of them more often: the insight's own sentence is not quoted back, but it is what
/// the words around it go on about.
#[tokio::test]
async fn a_question_in_the_insights_words_is_answered_from_around_the_insight() {
    let ep = episode("video-ep", "Founders Chat", "Async video");
    let said = "Zoom is great at prioritizing the audio, because that is what matters most between people.";
    let tr = transcript(
        "video-ep",
        vec![
            seg(0.0, "Host", "Welcome to Founders Chat. Today Connor tells us about meetings."),
            seg(
                600.0,
                "Connor",
                &format!(
                    "The things that made Zoom popular were its latency and its consistency. When I use Zoom \
                     next to the others, you see where its priorities are. {said} The picture might stutter, but \
                     you still hear each other clearly."
                ),
            ),
            seg(700.0, "Host", "And what about the roadmap?"),
            seg(
                2400.0,
                "Connor",
                "Sometimes prioritization is painful, if you are doing it right. Several other things were \
                 prioritized first. Sequencing gets to it, but it is also prioritization on any roadmap.",
            ),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(&ep, said, "Connor", 600.0);
    let a = ask(&store, &about, "What did Connor say about prioritizing and Zoom?").await;
    assert!(a.covered, "{a:#?}");
    let first = &a.citations[0];
    assert!(first.text.contains("made Zoom popular"), "{a:#?}");
    assert!(!first.text.contains(said), "the insight is quoted back: {a:#?}");
    // A question in other words still finds what it names elsewhere.
    let a = ask(&store, &about, "What did Connor say about the roadmap?").await;
    assert!(a.citations[0].text.contains("also prioritization on any roadmap"), "{a:#?}");
}

/// An insight said as a turn of its own has no words around it to stand for: the answer is found
/// elsewhere, and the insight is not quoted back.
#[tokio::test]
async fn an_insight_that_is_a_whole_turn_does_not_stand_in_for_the_answer() {
    let ep = episode("alone-ep", "Founders Chat", "Async video");
    let said = "Zoom is great at prioritizing the audio, because that is what matters most between people.";
    let tr = transcript(
        "alone-ep",
        vec![
            seg(0.0, "Host", "Welcome to Founders Chat. Today Connor tells us about meetings."),
            seg(600.0, "Connor", said),
            seg(620.0, "Host", "Right. And what about the video itself?"),
            seg(
                1800.0,
                "Connor",
                "On calls we gave the audio track priority over the picture: Zoom taught everyone that a frozen \
                 face is fine and a garbled voice is not.",
            ),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(&ep, said, "Connor", 600.0);
    let a = ask(&store, &about, "What did Connor say about prioritizing and Zoom?").await;
    assert!(a.covered, "{a:#?}");
    assert!(a.citations[0].text.contains("a frozen face is fine"), "{a:#?}");
    assert!(a.citations.iter().all(|c| !c.text.contains("great at prioritizing")), "the insight quoted back: {a:#?}");
}

/// "What else did she say about it?" asks where else the insight's subject comes up: another
/// passage on it, not the insight again, nor whatever passage holds the word "else".
#[tokio::test]
async fn what_else_was_said_about_it_is_found_elsewhere_in_the_episode() {
    let ep = episode("else-ep", "Backend Banter", "Invalidation");
    let said = STALE_COPY;
    let tr = transcript(
        "else-ep",
        vec![
            seg(0.0, "Host", "Welcome to Backend Banter. Today Priya tells us about her team."),
            seg(20.0, "Priya", "Happy to be here. Or else I would be debugging something, as usual."),
            seg(200.0, "Priya", &format!("We learned this the hard way at Shopline. {said}")),
            seg(240.0, "Host", "Tell us about hiring. How big is the team?"),
            seg(260.0, "Priya", "We are eleven engineers now, three of them hired this year from bootcamps."),
            seg(300.0, "Host", "And the stale data problem, did it ever come back?"),
            seg(
                320.0,
                "Priya",
                "Once. A node missed the eviction message during a network partition and served a stale copy for an \
                 hour, so now every invalidation carries a version and nodes drop anything older.",
            ),
            seg(
                360.0,
                "Marco",
                "At my last company distributed invalidation broke on every network partition: eviction messages \
                 lost, nodes serving a stale copy for hours.",
            ),
            seg(380.0, "Priya", "Anyway, thanks for having me."),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(&ep, said, "Priya", 200.0);
    // What backs it is said away from it too: here by another guest.
    let a = ask(&store, &about, "What's the evidence for that?").await;
    assert!(a.citations[0].text.contains("serving a stale copy for hours"), "{a:#?}");
    for question in ["What else did she say about this?", "Anything other than that?", "Did she say it elsewhere?"] {
        let a = ask(&store, &about, question).await;
        assert!(a.covered, "{question}: {a:#?}");
        assert!(
            a.citations.iter().any(|c| c.text.contains("every invalidation carries a version")),
            "{question}: {a:#?}"
        );
        assert!(!a.citations[0].text.contains("much harder than local"), "{question}: the insight again: {a:#?}");
    }
}

/// On a real episode: "what else did he say about this?" of Rob Pike's `go fmt` insight finds
/// him on `go fmt` elsewhere, though others say more about it; without the "he", whoever does.
#[tokio::test]
async fn what_else_he_said_is_the_insights_speaker_elsewhere() {
    let (_dir, store) = store_with(&[]);
    let ep = episode("go-time-100.md", "Demo", "go-time-100.md");
    let said = "I think because of Robert's `go fmt`, it's pretty much now accepted that most of the work of laying \
                out your code should be done by a tool, not by a human.";
    let about = entry(&ep, said, "Rob Pike", 3259.0);
    let a = ask(&store, &about, "What else did he say about this?").await;
    assert_eq!(a.citations[0].speaker.as_deref(), Some("Rob Pike"), "{a:#?}");
    assert!(a.citations[0].text.contains("go fmt") && !a.citations[0].text.contains("laying out"), "{a:#?}");
    let a = ask(&store, &about, "Anything else about this?").await;
    assert!(a.citations.iter().all(|c| !c.text.contains("laying out your code")), "{a:#?}");
    assert!(a.citations.iter().any(|c| c.speaker.as_deref() != Some("Rob Pike")), "{a:#?}");
}

/// A question pointing at the insight ("how does that work in practice?") is asked of its
/// subject: the passage on it that says what is asked, not the one that says "practice" most;
/// and what it asks must still be said ("push back" never is).
#[tokio::test]
async fn a_question_pointing_at_the_insight_is_asked_of_its_subject() {
    let ep = episode("practice-ep", "Backend Banter", "Invalidation");
    let said = STALE_COPY;
    let tr = transcript(
        "practice-ep",
        vec![
            seg(0.0, "Host", "Welcome to Backend Banter. Today Priya tells us about her team."),
            seg(
                20.0,
                "Priya",
                "Outside the office I play drums. Band practice every Tuesday, and practice, practice, practice.",
            ),
            seg(60.0, "Host", "Nice. Let's get to caches."),
            seg(100.0, "Priya", said),
            seg(140.0, "Host", "So what do you do about it?"),
            seg(
                160.0,
                "Priya",
                "In practice every invalidation carries a version number, and a node drops any copy older than the \
                 newest version it has seen.",
            ),
            seg(200.0, "Host", "Thanks, Priya."),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(&ep, said, "Priya", 100.0);
    for question in ["How does that work in practice?", "How does it work in practice?"] {
        let a = ask(&store, &about, question).await;
        assert!(a.citations[0].text.contains("carries a version number"), "{question}: {a:#?}");
    }
    let a = ask(&store, &about, "Did anyone push back on this?").await;
    assert!(!a.covered, "{a:#?}");
}

/// "Did anyone push back on that?" and "how did the others react?" are answered by the turns
/// right after the insight, whatever words they use (an objection asked as a question too); a
/// reply that only follows a long stretch of the speaker going on, or a host's next question,
/// is no reply to it. "What was the question?" is answered by the turns before it.
#[tokio::test]
async fn how_the_others_took_the_insight_is_read_after_it() {
    let ep = episode("reply-ep", "Backend Banter", "Invalidation");
    let said = STALE_COPY;
    let tr = transcript(
        "reply-ep",
        vec![
            seg(0.0, "Host", "Welcome to Backend Banter. Priya and Marco are here to talk caches."),
            seg(100.0, "Priya", said),
            seg(125.0, "Marco", "Yeah."),
            seg(128.0, "Priya", "So every message we send now carries a version."),
            seg(
                150.0,
                "Host",
                "That matches what we saw when our cache cluster grew past twenty nodes last spring. We had a \
                 week where one node kept serving prices from the day before, and nobody could say why until \
                 someone found the eviction messages it had never received. We ended up doing much the same \
                 thing you describe, with a counter on every message, and it has held up well since, right?",
            ),
            seg(
                175.0,
                "Marco",
                "But isn't the risk that a version on every message adds a round trip to each write, eating the \
                 latency you wanted from the cache?",
            ),
            seg(190.0, "Host", "Good question, I wondered about the cost of all those extra writes myself."),
            seg(205.0, "Priya", "Only for writes, and those are rare for us."),
            seg(400.0, "Host", "Let's talk about hiring. How big is the team now? I keep hearing numbers."),
            seg(420.0, "Priya", "Eleven engineers, three of them hired this year from bootcamps."),
            seg(
                440.0,
                "Host",
                "Let me take us somewhere else for a minute, because listeners keep writing in about it. Half of the \
                 mail we got this month was about offices, commutes and whether teams should go back to them at \
                 all, and I promised to ask every guest this season. Then back to the bootcamp hires: do they stay \
                 with you, in your experience, or do they leave after a year?",
            ),
            seg(
                460.0,
                "Priya",
                "They do. Teaching them is the best investment we made: two of the three lead projects now, and \
                 mentoring them made our seniors better too.",
            ),
            seg(
                480.0,
                "Priya",
                "We pair every new hire with a senior for their first quarter, and we protect that time in the \
                 planning, so it never gets squeezed out by deadlines or on-call duty.",
            ),
            seg(
                540.0,
                "Priya",
                "Our office moved to the harbour last year, which made the commute easier for half the team and \
                 harder for the rest of us, but the coffee is better.",
            ),
            seg(600.0, "Marco", "I'd push back on the office part: a harbour office is hard to reach without a car."),
            seg(650.0, "Host", "Tell us about the bootcamp hires."),
            seg(660.0, "Priya", "They came from two bootcamps in town, and all three had built a cache of their own."),
            seg(700.0, "Host", &format!("To sum up the caching part: {said}")),
            seg(800.0, "Priya", "Our on-call rotation has six people, and nobody is ever on call two weeks in a row."),
            seg(
                815.0,
                "Priya",
                "It took a year to get there. We started with three people and a pager that went off every night, \
                 two of them burned out and left, and only then did we get the budget for more hires. Now the \
                 pages are rare, because whoever is on call fixes the cause the next morning instead of \
                 silencing the alert, and the week after is theirs for that.",
            ),
            seg(900.0, "Host", "Wow, that's a humane rotation. How did you convince management to pay for six people?"),
            seg(920.0, "Priya", "We showed them what the turnover had cost us, but I disagree that it was hard."),
            seg(1300.0, "Priya", "Looking back, the best decision was hiring for curiosity rather than for a stack."),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(&ep, said, "Priya", 100.0);
    // Chat shorthand asks the same ("any1", "w/"): it is no word the episode never says.
    for question in [
        "Did anyone push back on that?",
        "Did anyone disagree?",
        "What did Marco say to that?",
        "did any1 disagree w/ her",
    ] {
        let a = ask(&store, &about, question).await;
        assert!(a.covered, "{question}: {a:#?}");
        assert_eq!(a.citations[0].speaker.as_deref(), Some("Marco"), "{question}: {a:#?}");
        assert!(a.citations[0].text.contains("adds a round trip"), "{question}: {a:#?}");
    }
    // A reply ending on "..., right?" asks nothing new; the host's recap of the insight at the
    // end is not where it was said.
    let a = ask(&store, &about, "How did the others react?").await;
    assert!(a.covered, "{a:#?}");
    assert!(a.citations[0].text.contains("past twenty nodes"), "the first reply: {a:#?}");

    // Nobody takes issue with the hiring point before the host moves on; Marco's objection
    // minutes later is to something else.
    let hires = "Teaching them is the best investment we made: two of the three lead projects now, and mentoring \
                 them made our seniors better too.";
    let about = entry(&ep, hires, "Priya", 460.0);
    let a = ask(&store, &about, "Did anyone push back on this?").await;
    assert!(!a.covered, "{a:#?}");
    let a = ask(&store, &about, "How did the others react?").await;
    assert!(!a.covered, "{a:#?}");
    // A reaction that then asks on is the reply, also after the speaker went on for a while; it
    // is no objection, and what answers its question is none either.
    let rotation = "Our on-call rotation has six people, and nobody is ever on call two weeks in a row.";
    let about = entry(&ep, rotation, "Priya", 800.0);
    let a = ask(&store, &about, "How did the host react?").await;
    assert!(a.covered && a.citations[0].text.contains("a humane rotation"), "{a:#?}");
    let a = ask(&store, &about, "Did anyone push back on that?").await;
    assert!(!a.covered, "{a:#?}");
    // The host's next question, however long its lead-in, follows the team size: no reply to it.
    let team = "Eleven engineers, three of them hired this year from bootcamps.";
    let a = ask(&store, &entry(&ep, team, "Priya", 420.0), "How did the host react?").await;
    assert!(!a.covered, "{a:#?}");

    // "What was the question?" is the last question someone else asked before it, its end
    // quoted past a long lead-in; an insight that answered none is not covered.
    let a = ask(&store, &entry(&ep, team, "Priya", 420.0), "What was the question?").await;
    assert!(a.covered && a.citations[0].text.contains("How big is the team now?"), "{a:#?}");
    assert_eq!(a.citations[0].speaker.as_deref(), Some("Host"), "{a:#?}");
    let a = ask(&store, &entry(&ep, hires, "Priya", 460.0), "What was she asked?").await;
    assert!(a.covered && a.citations[0].text.contains("leave after a year?"), "{a:#?}");
    // A request is a question too.
    let bootcamps = "They came from two bootcamps in town, and all three had built a cache of their own.";
    let a = ask(&store, &entry(&ep, bootcamps, "Priya", 660.0), "What was the question?").await;
    assert!(a.covered && a.citations[0].text.contains("Tell us about the bootcamp hires"), "{a:#?}");
    // Five minutes on, the last question asked is not what a remark answers.
    let looking_back = "Looking back, the best decision was hiring for curiosity rather than for a stack.";
    let a = ask(&store, &entry(&ep, looking_back, "Priya", 1300.0), "What was the question?").await;
    assert!(!a.covered, "{a:#?}");
    // Past a remark in between, to the question.
    let writes = "Only for writes, and those are rare for us.";
    let a = ask(&store, &entry(&ep, writes, "Priya", 205.0), "What was the question?").await;
    assert!(a.covered && a.citations[0].text.contains("adds a round trip"), "{a:#?}");
    let a = ask(&store, &entry(&ep, said, "Priya", 100.0), "Who asked that?").await;
    assert!(!a.covered && a.answer.contains("here to talk caches"), "the host's welcome is no question: {a:#?}");

    // "What did Marco say?" of Priya's insight: what he said to it, not her words.
    let a = ask(&store, &entry(&ep, said, "Priya", 100.0), "What did Marco say?").await;
    assert!(a.covered && a.citations[0].text.contains("adds a round trip"), "{a:#?}");
    assert_eq!(a.citations[0].speaker.as_deref(), Some("Marco"), "{a:#?}");
    // Marco said nothing to the hiring point: not covered, and not because he is never heard.
    let a = ask(&store, &entry(&ep, hires, "Priya", 460.0), "What did Marco say to that?").await;
    assert!(!a.covered && !a.answer.contains("never mentions"), "{a:#?}");

    // "Did anyone agree?" is answered by a reply that does not take issue; an objection is
    // shown as no answer to it.
    let ep = episode("agree-ep", "Backend Banter", "Queues");
    let queues = "Most teams add a message queue years before their traffic needs one, and pay for it in on-call.";
    let retries = "Retries without a budget turn one slow dependency into an outage for everyone upstream.";
    let tr = transcript(
        "agree-ep",
        vec![
            seg(0.0, "Host", "Welcome back. Today Kai argues about queues and retries, and a guest joins us."),
            seg(20.0, "Lee", "Hi, I'm Lee."),
            seg(25.0, "Host", "Hey Lee, good to see you."),
            seg(
                30.0,
                "Lee",
                "I run the platform team at a bank, and I have carried the pager for our queues for ten years.",
            ),
            seg(100.0, "Kai", queues),
            seg(
                115.0,
                "Lee",
                "But the risk is the other way round: teams that wait rewrite every synchronous call in a hurry \
                 when the first big customer arrives.",
            ),
            seg(140.0, "Host", "Let's move to retries. What goes wrong there?"),
            seg(150.0, "Kai", retries),
            seg(160.0, "Lee", "Exactly."),
            seg(165.0, "Kai", "So we give every client a retry budget and it has saved us twice this year already."),
            seg(
                175.0,
                "Kai",
                "Last spring our payment dependency slowed down, every client retried five times, and checkout \
                 was down for an hour.",
            ),
            seg(280.0, "Host", "And caching, where does that go wrong?"),
            seg(
                300.0,
                "Kai",
                "Caches hide slow queries until they expire all at once. Last month our product page cache \
                 expired at noon and the database fell over for ten minutes.",
            ),
            seg(400.0, "Host", "For example, the example app in our docs has examples of every setting."),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    for question in ["Did anyone agree?", "Who else agreed?"] {
        let a = ask(&store, &entry(&ep, queues, "Kai", 100.0), question).await;
        assert!(!a.covered && a.answer.contains("risk is the other way round"), "{question}: {a:#?}");
        let a = ask(&store, &entry(&ep, retries, "Kai", 150.0), question).await;
        assert!(a.covered && a.citations[0].text.contains("Exactly"), "{question}: {a:#?}");
        assert_eq!(a.citations[0].speaker.as_deref(), Some("Lee"), "{question}: {a:#?}");
    }
    // "What's an example?" asks for one of the insight's, which follows it, not for any passage
    // saying "example".
    let a = ask(&store, &entry(&ep, retries, "Kai", 150.0), "What's an example?").await;
    assert!(a.covered && a.citations[0].text.contains("payment dependency"), "{a:#?}");
    // Who someone is, when nobody else introduces them at length: their own first words of
    // substance, not a greeting.
    for question in ["Who is Lee?", "Who is the Lee he mentions?", "Who is the Lee Kai refers to?"] {
        let a = ask(&store, &entry(&ep, queues, "Kai", 100.0), question).await;
        assert!(a.covered && a.citations[0].text.contains("I run the platform team"), "{question}: {a:#?}");
    }
    let caches = "Caches hide slow queries until they expire all at once.";
    let a = ask(&store, &entry(&ep, caches, "Kai", 300.0), "What's an example?").await;
    assert!(a.covered && a.citations[0].text.contains("product page cache expired"), "{a:#?}");
}

/// "Who founded it?" wants someone named as its maker, and the show saying its own name
/// ("Founders Talk") says nothing about founding.
#[tokio::test]
async fn who_made_something_is_answered_by_who_made_it() {
    let ep = episode("rewatch-ep", "Founders Talk", "Async video");
    let tr = transcript(
        "rewatch-ep",
        vec![
            seg(0.0, "Adam", "Welcome to Founders Talk. Today Connor is here to talk about Rewatch and async video."),
            seg(
                20.0,
                "Connor",
                "Rewatch records every meeting, so people who missed it can catch up later at double speed.",
            ),
            seg(50.0, "Adam", "How did the company come about?"),
            seg(
                60.0,
                "Connor",
                "My co-founder Scott and I left our jobs in 2020 and shipped the first version of Rewatch in a month.",
            ),
            seg(90.0, "Adam", "Founders Talk listeners have asked about Rewatch for a year, so this one is for them."),
            seg(
                110.0,
                "Connor",
                "Async video beats most meetings, because nobody has to be in the same room at the same time.",
            ),
            seg(140.0, "Adam", "Thanks for coming on Founders Talk to tell the Rewatch story, Connor."),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(
        &ep,
        "Async video beats most meetings, because nobody has to be in the same room at the same time.",
        "Connor",
        110.0,
    );
    for question in ["Who founded Rewatch?", "Who were the founders of Rewatch?"] {
        let a = ask(&store, &about, question).await;
        assert!(a.covered, "{question}: {a:#?}");
        assert!(a.citations[0].text.contains("My co-founder Scott and I"), "{question}: {a:#?}");
    }
}

/// A host's long question repeats the words a reader asks with; the guest's reply answers
/// them, and is cited first.
#[tokio::test]
async fn the_reply_answers_before_the_question_that_handed_over() {
    let ep = episode("gdk-ep", "Ship It", "Contributing to GitLab");
    let tr = transcript(
        "gdk-ep",
        vec![
            seg(0.0, "Justin", "Welcome back. Today we talk about how a large open source company ships."),
            seg(
                20.0,
                "Abu",
                "Everything we build is public, so most merge requests come from people outside the company.",
            ),
            seg(
                60.0,
                "Justin",
                "Let's say I am an outside contributor and I want to test a change to GitLab. In a lot of \
                 projects you need to run it locally: you spin up the web interface, then you tweak it, the \
                 button is going to be blue, whatever. With a full GitLab locally that means the database, \
                 the runners, the whole thing, which sounds like a lot for one laptop. So how do you test?",
            ),
            seg(
                90.0,
                "Abu",
                "We have what we call the GDK, the GitLab Development Kit. One command brings up every service \
                 on your machine, at the version you choose.",
            ),
            seg(130.0, "Justin", "Nice. And what about the documentation side of things for newcomers?"),
            seg(
                140.0,
                "Abu",
                "The docs live in the same repository, so a change and its documentation land in one merge request.",
            ),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(
        &ep,
        "Everything we build is public, so most merge requests come from people outside the company.",
        "Abu",
        20.0,
    );
    let a = ask(&store, &about, "How can an outside contributor spin up a full GitLab locally to test a change?").await;
    assert!(a.covered, "{a:#?}");
    assert!(a.citations[0].text.contains("GitLab Development Kit"), "{a:#?}");
}

/// "How many?" wants a count: a year says when, not how many.
#[tokio::test]
async fn a_year_is_no_answer_to_how_many() {
    let ep = episode("gdn-ep", "Go Time", "Go meetups");
    let tr = transcript(
        "gdn-ep",
        vec![
            seg(0.0, "Natalie", "Today we talk about the Go community and its meetups around the world."),
            seg(
                20.0,
                "Jennifer",
                "I went to GopherCon in 2018, and there was a Go Developer Network session about meetup groups \
                 and how the network helps meetup groups find speakers.",
            ),
            seg(60.0, "Natalie", "And the organizers, what keeps them going?"),
            seg(
                70.0,
                "Wilken",
                "We have about 370 organizers. At one point we were up to 200 meetup groups, and now we're \
                 down to 109, but the ones left are strong.",
            ),
            seg(100.0, "Natalie", "Thank you both for joining us today."),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(&ep, "Today we talk about the Go community and its meetups around the world.", "Natalie", 0.0);
    let a = ask(&store, &about, "How many meetup groups are in the Go Developer Network?").await;
    assert!(a.covered, "{a:#?}");
    assert!(a.citations[0].text.contains("109"), "{a:#?}");
}

/// An amount supposed ("if you were doing a quarter of the exports, it would be a two billion
/// dollar run rate") is not one stated: asked for the real figure, the episode does not say it.
#[tokio::test]
async fn an_amount_supposed_is_no_amount_stated() {
    let ep = episode("raygun-ep", "Founders Talk", "Raygun");
    let tr = transcript(
        "raygun-ep",
        vec![
            seg(0.0, "Adam", "Today John-Daniel tells the story of Raygun, the error tracking company."),
            seg(
                20.0,
                "John-Daniel",
                "New Zealand software companies sell to the world, because the home market is tiny.",
            ),
            seg(50.0, "Adam", "How big could the software sector get there?"),
            seg(
                60.0,
                "John-Daniel",
                "Well, to put it in context, if you were targeting a quarter of the export revenue of the \
                 country, it would be about a two billion dollar a year revenue run rate for Raygun.",
            ),
            seg(90.0, "Adam", "Thanks for coming on the show."),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(
        &ep,
        "New Zealand software companies sell to the world, because the home market is tiny.",
        "John-Daniel",
        20.0,
    );
    let a = ask(&store, &about, "What is Raygun's current annual recurring revenue?").await;
    assert!(!a.covered, "{a:#?}");
}

/// One episode listed by two feeds is stored under each; with the feed the digest took it from
/// removed, the other feed's copy answers. An episode of another title saying other things is
/// no copy.
#[tokio::test]
async fn the_other_feeds_copy_answers_when_the_digests_feed_is_removed() {
    let (ep, tr) = caching_show();
    let mut copy = Episode::new("cache-ep-network", "https://network.example/all", &ep.title, Utc::now());
    copy.podcast_title = ep.podcast_title.clone();
    let copy_tr = Transcript { episode_id: copy.id.clone(), ..tr.clone() };
    let (_dir, store) = store_with(&[(copy, copy_tr)]);
    assert!(store.episode(&ep.id).unwrap().is_none());
    let about =
        entry(&ep, "Measure your hit rate before you tune anything; most teams never look at it.", "Priya", 170.0);
    let a = ask(&store, &about, "How do you warm up a Redis cache after a deploy?").await;
    assert!(a.covered, "{a:#?}");
    assert!(a.citations[0].text.contains("replay the last hour of read traffic"), "{a:#?}");

    let mut other = Episode::new("other-ep", "https://network.example/all", &ep.title, Utc::now());
    other.podcast_title = ep.podcast_title.clone();
    let mut other_tr = Transcript { episode_id: other.id.clone(), ..tr };
    other_tr.segments.retain(|s| !s.text.contains("hit rate"));
    let (_dir, store) = store_with(&[(other, other_tr)]);
    let gone = ask::ask(
        &store,
        &Config::default().ask,
        &about,
        "How do you warm up a Redis cache?",
        &QuoteAnswerer { max_citations: 3 },
        &[],
    )
    .await;
    assert!(matches!(gone, Err(ask::AskError::EpisodeGone(_))), "{gone:?}");
}

/// A number that names what it counts, something other than what is asked ("a hundred pull
/// requests" for "how many contributors"), does not answer, even next to the asked word; one
/// that counts it does.
#[tokio::test]
async fn a_count_of_other_things_is_no_answer_to_how_many() {
    let ep = episode("hoodie-ep", "Request For Commits", "Hoodie");
    let tr = transcript(
        "hoodie-ep",
        vec![
            seg(0.0, "Nadia", "Today we talk about keeping first-time contributors involved in Hoodie."),
            seg(
                20.0,
                "Charlotte",
                "Imagine I'm not a Hoodie contributor at this point and I get a hundred people in a room, and \
                 suddenly I've got a hundred pull requests for Hoodie by the end of the day.",
            ),
            seg(60.0, "Nadia", "That would be a lot to review for the Hoodie maintainers."),
            seg(70.0, "Charlotte", "It would, and we'd be terrified. A couple of weeks of review, at least."),
            seg(100.0, "Nadia", "Thank you for joining us today."),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr.clone())]);
    let about = entry(&ep, "Today we talk about keeping first-time contributors involved in Hoodie.", "Nadia", 0.0);
    let a = ask(&store, &about, "How many contributors does Hoodie have?").await;
    assert!(!a.covered, "{a:#?}");

    // Said of the contributors themselves, the same count answers.
    let mut said = tr;
    said.segments[3].text = "Hoodie has about forty active contributors right now, and more every month.".into();
    let (_dir, store) = store_with(&[(ep.clone(), said)]);
    let a = ask(&store, &about, "How many contributors does Hoodie have?").await;
    assert!(a.covered, "{a:#?}");
    assert!(a.citations[0].text.contains("forty"), "{a:#?}");
}

/// A word of the question the episode says apart in another form ("code layout" where "laying
/// out your code" is said) is searched as its parts.
#[tokio::test]
async fn a_compound_is_found_said_apart_in_another_form() {
    let ep = episode("fmt-ep", "Go Time", "Ten years of Go");
    let tr = transcript(
        "fmt-ep",
        vec![
            seg(0.0, "Mat", "Today we look back at ten years of Go with its creators."),
            seg(
                20.0,
                "Rob",
                "It's pretty much now accepted that most of the work of laying out your code should be done by \
                 a tool, not by a human.",
            ),
            seg(60.0, "Mat", "And the module system, was that planned from the start?"),
            seg(70.0, "Rob", "No, modules came much later, after years of arguing about dependency management."),
            seg(100.0, "Mat", "Thank you both for joining us today."),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(&ep, "Today we look back at ten years of Go with its creators.", "Mat", 0.0);
    let a = ask(&store, &about, "What did Rob say about code layout?").await;
    assert!(a.covered, "{a:#?}");
    assert!(a.citations[0].text.contains("laying out your code"), "{a:#?}");
}

/// A guest welcomed by name alone ("Connor, welcome to the show.") says who they are later, in
/// their own words: "who is he?" quotes that too.
#[tokio::test]
async fn who_someone_is_takes_what_they_say_of_themselves_along() {
    let ep = episode("rewatch-ep", "Founders Talk", "Rewatch");
    let tr = transcript(
        "rewatch-ep",
        vec![
            seg(
                0.0,
                "Adam",
                "Connor, welcome to Founders Talk. I've been using Rewatch for a while and I'm excited to talk about it.",
            ),
            seg(20.0, "Connor", "Thank you. I'm happy to be here."),
            seg(30.0, "Adam", "So how did the idea start?"),
            seg(
                40.0,
                "Connor",
                "It started with an internal video site. I joined GitHub in 2013, when it was a startup, and my \
                 co-founder and I both watched every all-hands on that site.",
            ),
            seg(90.0, "Adam", "And what matters most in a video tool?"),
            seg(
                100.0,
                "Connor",
                "Zoom is great at prioritizing the audio, because that is the most important thing when you're \
                 communicating with people.",
            ),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(
        &ep,
        "Zoom is great at prioritizing the audio, because that is the most important thing when you're communicating \
         with people.",
        "Connor",
        100.0,
    );
    for question in ["Who is Connor?", "Who is he?"] {
        let a = ask(&store, &about, question).await;
        assert!(a.covered, "{question}: {a:#?}");
        assert!(a.citations[0].text.contains("welcome to Founders Talk"), "{question}: {a:#?}");
        assert!(a.citations.iter().any(|c| c.text.contains("I joined GitHub in 2013")), "{question}: {a:#?}");
    }
}

/// An introduction that ends asking the guest who they are ("Let's start with what your name is
/// and where you're from.") is answered with their reply as well.
#[tokio::test]
async fn who_someone_is_takes_their_reply_to_the_introduction_along() {
    let ep = episode("node-ep", "Spotlight", "Node in China");
    let tr = transcript(
        "node-ep",
        vec![
            seg(
                0.0,
                "Adam",
                "In this episode I talked to Mei Lin about how developers in China work with Node and its \
                 documentation. Let's start with what your name is and where you're from.",
            ),
            seg(
                20.0,
                "Mei Lin",
                "My name is Mei, I am from Shanghai, and I lead the frontend platform team at a travel company.",
            ),
            seg(40.0, "Adam", "What slows developers down there the most?"),
            seg(
                50.0,
                "Mei Lin",
                "Waiting for translated documentation is the real bottleneck, because programming happens in English.",
            ),
        ],
    );
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = entry(
        &ep,
        "Waiting for translated documentation is the real bottleneck, because programming happens in English.",
        "Mei Lin",
        50.0,
    );
    for question in ["Who is Mei Lin?", "Who is she?"] {
        let a = ask(&store, &about, question).await;
        assert!(a.covered, "{question}: {a:#?}");
        assert!(a.citations[0].text.contains("I talked to Mei Lin"), "{question}: {a:#?}");
        assert!(a.citations.iter().any(|c| c.text.contains("I lead the frontend platform team")), "{question}: {a:#?}");
    }
}

/// An episode known only by its show notes: what it says is quoted as the show notes, with the
/// episode's page and no time, since the parser's times for written notes are no times in it.
#[tokio::test]
async fn a_quote_from_the_show_notes_is_cited_as_the_show_notes_without_a_time() {
    let ep = episode("notes-ep", "Backend Banter", "Caching at scale");
    let notes = "This week we look at caching. Distributed invalidation is much harder than local invalidation. \
                 Replaying the last hour of read traffic warms a cold cache before a deploy.";
    let segments = transcript::parse(TranscriptSource::ShowNotes, notes.as_bytes()).unwrap();
    let tr = Transcript { source: TranscriptSource::ShowNotes, ..transcript("notes-ep", segments) };
    let (_dir, store) = store_with(&[(ep.clone(), tr)]);
    let about = DigestEntry { untimed: true, speaker: None, ..entry(&ep, STALE_COPY, "Host", 0.0) };
    let a = ask(&store, &about, "How do you warm up a cold cache?").await;
    assert!(a.covered, "{a:#?}");
    assert!(a.citations[0].untimed && a.citations[0].text.contains("read traffic"), "{a:#?}");
    assert!(a.answer.starts_with("The show notes (Backend Banter — Caching at scale): \""), "{}", a.answer);
    assert!(a.answer.contains("https://example.com/notes-ep") && !a.answer.contains("#t="), "{}", a.answer);
    assert!(!a.answer.contains("[00:"), "{}", a.answer);
}
