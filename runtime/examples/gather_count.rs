//! Seed "AsyncIO" (coroutines): three `count()` coroutines gathered interleave at their
//! `await`: all three print "One", sleep together, then all print "Two".
//!
//! ```text
//! One
//! One
//! One
//! Two     (at 1 s)
//! Two
//! Two
//! ```
//!
//! Run it with `cargo run -p runtime --example gather_count`.

use std::sync::Arc;
use std::time::Duration;

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// `async def count()`.
async fn count(out: Out) {
    out("One");
    runtime::sleep(Duration::from_secs(1)).await;
    out("Two");
}

/// `asyncio.run(main())` with `main` awaiting `gather(count(), count(), count())`. Returns
/// the loop time it took.
pub fn run(rt: &Runtime, out: &Out) -> Duration {
    let start = rt.time();
    rt.block_on(runtime::gather([
        count(out.clone()),
        count(out.clone()),
        count(out.clone()),
    ]));
    rt.time() - start
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    run(&rt, &(Arc::new(|line: &str| println!("{line}")) as Out));
    Ok(())
}
