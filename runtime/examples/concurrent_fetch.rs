//! Seed "Concurrent Execution" (asyncio basics): eight fetches started together and
//! awaited with `wait` take 1.5 s in all, not 8 × 1.5 s.
//!
//! ```text
//! fetch init      (× 8, at once)
//! fetch done      (× 8, 1.5 s later)
//! 1.500s
//! ```
//!
//! `asyncio.wait(jobs)` wraps each coroutine in a task; here each is spawned explicitly and
//! the `JoinHandle`s go to [`runtime::wait`]. Run it with
//! `cargo run -p runtime --example concurrent_fetch`.

use std::sync::Arc;
use std::time::Duration;

use runtime::{BuildError, ReturnWhen, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// `async def fetch_page(url)`: the request is a 1.5 s sleep.
async fn fetch_page(out: Out, _url: String) {
    out("fetch init");
    runtime::sleep(Duration::from_millis(1500)).await;
    out("fetch done");
}

/// Spawns the eight fetches, waits for all of them and prints the loop time. Returns that
/// time and how many tasks `wait` reported done.
pub fn run(rt: &Runtime, out: &Out) -> (Duration, usize) {
    let start = rt.time();
    let jobs: Vec<_> = (0..8)
        .map(|i| rt.spawn(fetch_page(out.clone(), format!("url_{i}"))))
        .collect();
    let (done, _pending) = rt.block_on(runtime::wait(jobs, ReturnWhen::AllCompleted));
    let elapsed = rt.time() - start;
    out(&format!("{elapsed:.3?}"));
    (elapsed, done.len())
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    run(&rt, &(Arc::new(|line: &str| println!("{line}")) as Out));
    Ok(())
}
