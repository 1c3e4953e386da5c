//! Seed "Using Callbacks" (asyncio basics): `task.add_done_callback(partial(notify,
//! "server1"))` runs when the task finishes, before `run_until_complete` returns.
//!
//! ```text
//! fetch start
//! fetch end
//! Notification for server1
//! result-server1
//! ```
//!
//! `functools.partial` is a closure that captures the host. The callback receives the
//! task's outcome (asyncio passes the task itself). Run it with
//! `cargo run -p runtime --example done_callback`.

use std::sync::Arc;
use std::time::Duration;

use runtime::{BuildError, JoinError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// `async def fetch_data(source)`: 0.8 s of simulated I/O, then a result.
async fn fetch_data(out: Out, source: &'static str) -> String {
    out("fetch start");
    runtime::sleep(Duration::from_millis(800)).await;
    out("fetch end");
    format!("result-{source}")
}

/// `def notify(host, future)`.
fn notify(out: &Out, host: &str, _outcome: &Result<String, JoinError>) {
    out(&format!("Notification for {host}"));
}

/// Spawns the task, attaches the callback, runs the loop until the task is done and prints
/// its result, which it returns.
pub fn run(rt: &Runtime, out: &Out) -> String {
    let task = rt.spawn(fetch_data(out.clone(), "server1"));
    let cb_out = out.clone();
    task.add_done_callback(move |outcome| notify(&cb_out, "server1", outcome));
    let result = rt.block_on(task).expect("fetch_data does not fail");
    out(&result);
    result
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    run(&rt, &(Arc::new(|line: &str| println!("{line}")) as Out));
    Ok(())
}
