//! Seed "Coroutine, Task and Future" (asyncio internals): a future is a handle to a
//! result that someone else sets, like C++'s `std::promise`/`std::future`; the waiter gets
//! the value even if the thread that set it has already exited.
//!
//! ```text
//! loop callback set: ready       (at 1 s, from call_later)
//! main: waiting for the worker
//! worker: computing
//! worker: set 42
//! main: got 42
//! worker: set 7 and exited
//! main: got 7
//! main: broken promise: the setter was dropped without setting a value
//! ```
//!
//! [`runtime::settable`] returns the promise ([`runtime::Setter`], `Send`, set once) and
//! the future ([`runtime::Settable`], awaited by any task). The first part is asyncio's
//! `loop.create_future()` resolved by a loop callback; the others use a plain
//! `std::thread` as the worker. Run it with `cargo run -p runtime --example settable_future`.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use runtime::{BuildError, Runtime, SettableError};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// What each of the four futures gave.
pub type Results = (
    Result<&'static str, SettableError>,
    Result<u64, SettableError>,
    Result<u64, SettableError>,
    Result<u64, SettableError>,
);

/// Runs the four cases in order and returns what each future gave.
pub fn run(rt: &Runtime, out: &Out) -> Results {
    // fut = loop.create_future(); loop.call_later(1, fut.set_result, "ready")
    let (setter, fut) = runtime::settable();
    rt.call_later(Duration::from_secs(1), move || {
        let _ = setter.set("ready");
    });
    let from_callback = rt.block_on(fut);
    if let Ok(v) = from_callback {
        out(&format!("loop callback set: {v}"));
    }

    // std::promise kept by a worker thread while the loop waits.
    let (promise, future) = runtime::settable();
    out("main: waiting for the worker");
    let o = out.clone();
    let worker = thread::spawn(move || {
        o("worker: computing");
        let answer: u64 = 6 * 7;
        o(&format!("worker: set {answer}"));
        let _ = promise.set(answer);
    });
    let from_worker = rt.block_on(future);
    if let Ok(v) = from_worker {
        out(&format!("main: got {v}"));
    }
    worker.join().expect("the worker does not panic");

    // The worker is gone before anyone awaits: the value waits in the future.
    let (promise, future) = runtime::settable();
    let o = out.clone();
    thread::spawn(move || {
        let _ = promise.set(7);
        o("worker: set 7 and exited");
    })
    .join()
    .expect("the worker does not panic");
    let after_exit = rt.block_on(future);
    if let Ok(v) = after_exit {
        out(&format!("main: got {v}"));
    }

    // A worker that drops its promise: the future fails instead of hanging.
    let (promise, future) = runtime::settable::<u64>();
    thread::spawn(move || drop(promise));
    let broken = rt.block_on(future);
    if let Err(e) = broken {
        out(&format!("main: broken promise: {e}"));
    }

    (from_callback, from_worker, after_exit, broken)
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    let _ = run(&rt, &(Arc::new(|line: &str| println!("{line}")) as Out));
    Ok(())
}
