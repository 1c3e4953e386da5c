//! Seed "Distinction Between gather and wait" (asyncio basics): two `gather` groups of four
//! fetches; the first group is cancelled as a whole, and both are gathered with
//! `return_exceptions=True`.
//!
//! ```text
//! start siteB/0 … start siteB/3
//! end siteB/0 … end siteB/3        (1.2 s later)
//! g1: cancelled
//! g2: ["SITEB/0", "SITEB/1", "SITEB/2", "SITEB/3"]
//! ```
//!
//! Each group is one task running a [`runtime::gather`]; cancelling the task drops the
//! gather and with it every fetch in the group. Gathering the two `JoinHandle`s gives one
//! `Result` per group, which is `return_exceptions=True`. As in asyncio, the first group is
//! cancelled before the loop runs, so none of its fetches even starts (the seed prints
//! nothing for it; the two result lines are added here). `main` then shows a cancellation
//! in mid-flight: the first group's fetches start, and none of them ends.
//!
//! Run it with `cargo run -p runtime --example gather_group_cancel`.

use std::sync::Arc;
use std::time::Duration;

use runtime::{gather, BuildError, JoinError, JoinHandle, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// What each group gave: its pages, or why it has none.
pub type GroupResult = Result<Vec<String>, JoinError>;

/// `async def fetch_page(url)`: 1.2 s of simulated I/O, then the URL in capitals.
async fn fetch_page(out: Out, url: String) -> String {
    out(&format!("start {url}"));
    runtime::sleep(Duration::from_millis(1200)).await;
    out(&format!("end {url}"));
    url.to_uppercase()
}

/// `g = asyncio.gather(*batch)`: one task gathering four fetches of `site`.
fn group(rt: &Runtime, out: &Out, site: &str) -> JoinHandle<Vec<String>> {
    let batch: Vec<_> = (0..4)
        .map(|i| fetch_page(out.clone(), format!("{site}/{i}")))
        .collect();
    rt.spawn(gather(batch))
}

/// `asyncio.gather(g1, g2, return_exceptions=True)`, printing what each group gave.
fn gather_groups(
    rt: &Runtime,
    out: &Out,
    g1: JoinHandle<Vec<String>>,
    g2: JoinHandle<Vec<String>>,
) -> Vec<GroupResult> {
    let results = rt.block_on(gather([g1, g2]));
    for (name, result) in ["g1", "g2"].into_iter().zip(&results) {
        match result {
            Ok(pages) => out(&format!("{name}: {pages:?}")),
            Err(e) if e.is_cancelled() => out(&format!("{name}: cancelled")),
            Err(e) => out(&format!("{name}: {e}")),
        }
    }
    results
}

/// The seed: `g1.cancel()` before the loop runs, then gather both groups.
pub fn run(rt: &Runtime, out: &Out) -> Vec<GroupResult> {
    let g1 = group(rt, out, "siteA");
    let g2 = group(rt, out, "siteB");
    g1.cancel(); // cancel the entire first group
    gather_groups(rt, out, g1, g2)
}

/// The same, but the first group is cancelled 0.6 s in, while its fetches are sleeping:
/// they print "start" and never "end".
pub fn run_cancel_midway(rt: &Runtime, out: &Out) -> Vec<GroupResult> {
    let g1 = group(rt, out, "siteA");
    let g2 = group(rt, out, "siteB");
    let g1_ref = g1.task_ref().expect("g1 has not run yet");
    rt.call_later(Duration::from_millis(600), move || {
        g1_ref.cancel();
    });
    gather_groups(rt, out, g1, g2)
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    let out: Out = Arc::new(|line: &str| println!("{line}"));
    run(&rt, &out);
    println!("-- the same, cancelling g1 after 0.6 s --");
    run_cancel_midway(&rt, &out);
    Ok(())
}
