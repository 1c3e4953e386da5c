//! Seed "Cancelling tasks and timeouts" (asyncio tutorial, described in prose there):
//! `task.cancel()` makes awaiting the task raise `CancelledError`, and
//! `asyncio.wait_for(aw, timeout)` raises `TimeoutError` when `aw` takes longer.
//!
//! ```text
//! task cancelled: true
//! timed out after 1s
//! Hello there     (at 4 s: the wait_for with room to spare)
//! ```
//!
//! Here a cancelled task's handle gives a [`runtime::JoinError`] with `is_cancelled()`, and
//! [`runtime::timeout`] gives `Err(Elapsed)` and drops the inner future. Run it with
//! `cargo run -p runtime --example cancel_and_timeout`.

use std::sync::Arc;
use std::time::Duration;

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// `async def say_hello_eventually(seconds)`.
async fn say_hello_eventually(out: Out, seconds: u64) -> &'static str {
    runtime::sleep(Duration::from_secs(seconds)).await;
    out("Hello there");
    "Hello!"
}

/// Cancels one task, times one call out, lets one finish in time. Returns whether the
/// three behaved as described: (cancelled, timed out, finished).
pub fn run(rt: &Runtime, out: &Out) -> (bool, bool, bool) {
    let out = out.clone();
    rt.block_on(async move {
        // task.cancel(); await task  ->  CancelledError
        let task = runtime::spawn(say_hello_eventually(out.clone(), 3));
        task.cancel();
        let cancelled = task.await.is_err_and(|e| e.is_cancelled());
        out(&format!("task cancelled: {cancelled}"));

        // await asyncio.wait_for(say_hello_eventually(3), timeout=1)  ->  TimeoutError
        let timed_out =
            runtime::timeout(Duration::from_secs(1), say_hello_eventually(out.clone(), 3))
                .await
                .is_err();
        if timed_out {
            out("timed out after 1s");
        }

        // await asyncio.wait_for(say_hello_eventually(3), timeout=5)  ->  "Hello!"
        let finished =
            runtime::timeout(Duration::from_secs(5), say_hello_eventually(out.clone(), 3)).await
                == Ok("Hello!");
        (cancelled, timed_out, finished)
    })
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    run(&rt, &(Arc::new(|line: &str| println!("{line}")) as Out));
    Ok(())
}
