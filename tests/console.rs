//! The whole loop through the console adapter, in process: /start with a time and timezone,
//! the scheduled digest arrives at that local time, a question gets its answer, /stop ends it.

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use podsift::adapters::console::{ConsoleAdapter, destination};
use podsift::config::Config;
use podsift::deliver::commands::{Core, parse_line};
use podsift::deliver::fanout::Deliverer;
use podsift::deliver::{Adapter, Message, Request, Sender};
use podsift::ingest::Quiet;
use podsift::metrics::Metrics;
use podsift::store::Store;

#[derive(Clone, Default)]
struct Screen(Arc<Mutex<Vec<u8>>>);

impl Write for Screen {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Screen {
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

async fn command(core: &Core, line: &str, now: DateTime<Utc>) -> Message {
    let command = parse_line(line).unwrap().unwrap();
    let request = Request::new(destination(), Sender::owner("tester"), command);
    let reply = core.handle(&request, now).await.unwrap().unwrap();
    core.reply(&destination(), None, &reply).await.unwrap();
    reply
}

#[tokio::test]
async fn start_scheduled_digest_question_stop() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // Episodes published in the hours before 2026-11-28 08:00 UTC.
    let day = Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap();
    podsift::demo::ingest_demo(&store, &Config::default(), day, &Quiet).await.unwrap();
    let screen = Screen::default();
    let console: Arc<dyn Adapter> = Arc::new(ConsoleAdapter::new(Box::new(screen.clone())));
    let metrics = Arc::new(Metrics::default());
    let config = Config::default();
    let deliverer = Arc::new(Deliverer::new(
        store.clone(),
        vec![console],
        config.delivery.clone(),
        config.digest.clone(),
        metrics.clone(),
    ));
    let core = Core::new(
        store.clone(),
        config,
        deliverer.clone(),
        metrics,
        Arc::new(podsift::ask::QuoteAnswerer { max_citations: 3 }),
    );

    // 09:30 in Berlin is 08:30 UTC in November.
    command(&core, "/start 09:30 Europe/Berlin", day).await;
    assert!(screen.take().contains("Subscribed: the top 5 every day at 09:30 Europe/Berlin"));

    assert_eq!(deliverer.tick(day + chrono::Duration::minutes(29)).await.unwrap().delivered, 0);
    assert!(screen.take().is_empty(), "delivered before 09:30 Berlin time");
    assert_eq!(deliverer.tick(day + chrono::Duration::minutes(31)).await.unwrap().delivered, 1);
    let digest = screen.take();
    assert!(digest.contains("== podsift digest for 2026-11-28 =="), "{digest}");
    for n in 1..=5 {
        assert!(digest.contains(&format!("#{n}  ")), "{digest}");
    }
    // Later ticks the same day deliver nothing more.
    assert_eq!(deliverer.tick(day + chrono::Duration::hours(3)).await.unwrap().delivered, 0);

    let reply =
        command(&core, "/ask 2026-11-28#1 what exactly was said about that?", day + chrono::Duration::hours(1)).await;
    assert!(matches!(reply, Message::Answer { .. }), "{reply:?}");
    let answer = screen.take();
    assert!(answer.starts_with("About #1") && answer.contains(" at [0"), "{answer}");

    command(&core, "/ask 2026-11-28#9 why?", day).await;
    assert!(screen.take().contains("valid: 1-5"));

    command(&core, "/stop", day).await;
    assert!(screen.take().contains("Unsubscribed"));
    assert!(store.subscriptions().unwrap().is_empty());
}
