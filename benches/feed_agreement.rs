//! Prints how often podsift's feed reading agrees with Python feedparser on feedparser's own
//! test corpus (entry counts and first titles, from each file's `Expect:` lines), and lists every
//! disagreement. `cargo bench --bench feed_agreement`, or `cargo test --bench feed_agreement` to
//! reuse the debug build.

#[path = "../tests/common/mod.rs"]
mod common;

use common::feedparser;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let files = feedparser::load();
    let reads = rt.block_on(feedparser::read_all_over_http(&files));
    let figures = feedparser::figures(&files, &reads);
    for d in &figures.disagreements {
        println!("{d}");
    }
    println!("{}", feedparser::report(&figures));
}
