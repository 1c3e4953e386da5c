//! Seed "Additional Loop Utilities" (asyncio basics): `call_later`, `call_soon`,
//! `call_at`, then a `call_soon(stop)` and `run_forever`.
//!
//! ```text
//! Triggered after 1s
//! ```
//!
//! That is all asyncio prints: the two `call_soon` callbacks run in the loop's first
//! iteration, the second one stops the loop, and the 2 s and 3 s timers are not due yet.
//! The same happens here. `main` then runs the loop again (the seed closes it instead)
//! until 4 s, to show the two timers fire at their times:
//!
//! ```text
//! -- running the loop again until 4 s --
//! Triggered after 2s
//! Triggered after 3s
//! ```
//!
//! Run it with `cargo run -p runtime --example loop_callbacks`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// `def after_delay(seconds)`.
fn after_delay(out: &Out, seconds: u64) {
    out(&format!("Triggered after {seconds}s"));
}

/// The seed. Returns the loop time when the callbacks were scheduled, and how long
/// `run_forever` ran.
pub fn run(rt: &Runtime, out: &Out) -> (Instant, Duration) {
    let o = out.clone();
    rt.call_later(Duration::from_secs(2), move || after_delay(&o, 2));
    let o = out.clone();
    rt.call_soon(move || after_delay(&o, 1));
    let current = rt.time();
    let o = out.clone();
    rt.call_at(current + Duration::from_secs(3), move || after_delay(&o, 3));
    let handle = rt.handle();
    rt.call_soon(move || handle.stop()); // stop_loop(loop)
    rt.run_forever();
    (current, rt.time() - current)
}

/// Runs the loop again until `start + 4 s`, so that the seed's pending timers fire.
/// Returns the loop time when it stopped.
pub fn run_pending_timers(rt: &Runtime, start: Instant) -> Instant {
    let handle = rt.handle();
    rt.call_at(start + Duration::from_secs(4), move || handle.stop());
    rt.run_forever();
    rt.time()
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    let out: Out = Arc::new(|line: &str| println!("{line}"));
    let (start, _) = run(&rt, &out);
    println!("-- running the loop again until 4 s --");
    run_pending_timers(&rt, start);
    Ok(())
}
