//! Seed "Python concurrent futures": a `ThreadPoolExecutor(max_workers=3)` runs five
//! sleeping tasks, three at a time; leaving the `with` block waits for all of them.
//!
//! ```text
//! Task 0 started
//! Task 1 started
//! Task 2 started
//! Task 0 finished      (at 2 s; the order among the three varies)
//! Task 3 started
//! …
//! Task 4 finished      (at 4 s)
//! Main thread finished
//! submit: [0, 1, 4, 9, 16]
//! ```
//!
//! The pool is the runtime's blocking pool, capped with `.max_blocking_threads(3)`;
//! `executor.submit(task, i)` is [`runtime::Runtime::spawn_blocking`], and the `with`
//! block's exit is gathering the handles. Only three tasks are ever running at once, so
//! tasks 3 and 4 start only after one of the first three finished.
//!
//! concurrent.futures' `submit(fn, arg)` also exists as such: `rt.submit(f, arg)` runs a
//! plain function where the runtime's mode runs submitted work (in `Single` mode, on the
//! loop thread; in the pool modes, on a worker). Run it with
//! `cargo run -p runtime --example thread_pool_submit` (it takes 4 s).

use std::sync::Arc;
use std::time::Duration;

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// What each task does between "started" and "finished" (`time.sleep(2)` in the seed).
pub type Work = Arc<dyn Fn(usize) + Send + Sync>;

/// The workers of the seed's `ThreadPoolExecutor(max_workers=3)`.
pub const MAX_WORKERS: usize = 3;

/// `def task(x)`.
fn task(out: &Out, work: &Work, x: usize) {
    out(&format!("Task {x} started"));
    work(x);
    out(&format!("Task {x} finished"));
}

/// A plain function for `submit`: its argument and result cross to wherever the mode runs
/// submitted work, so they are serialisable values.
fn square(x: u64) -> u64 {
    x * x
}

/// Runs the five tasks on `rt` (build it with `.max_blocking_threads(MAX_WORKERS)`), then
/// five `submit`s. Returns the submitted results.
pub fn run(rt: &Runtime, out: &Out, work: &Work) -> Vec<u64> {
    // for i in range(5): executor.submit(task, i)
    let handles: Vec<_> = (0..5)
        .map(|i| {
            let (out, work) = (out.clone(), work.clone());
            rt.spawn_blocking(move || task(&out, &work, i))
        })
        .collect();
    // Leaving `with ThreadPoolExecutor(...)` waits for every task.
    for outcome in rt.block_on(runtime::gather(handles)) {
        outcome.expect("a task panicked");
    }
    out("Main thread finished");

    let futures: Vec<_> = (0..5).map(|x| rt.submit(square, x)).collect();
    let results: Vec<u64> = rt
        .block_on(runtime::gather(futures))
        .into_iter()
        .map(|r| r.expect("square does not fail"))
        .collect();
    out(&format!("submit: {results:?}"));
    results
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder()
        .max_blocking_threads(MAX_WORKERS)
        .build()?;
    let out: Out = Arc::new(|line: &str| println!("{line}"));
    let work: Work = Arc::new(|_| std::thread::sleep(Duration::from_secs(2)));
    run(&rt, &out, &work);
    Ok(())
}
