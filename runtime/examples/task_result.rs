//! Seed "Retrieving Results from Coroutines" (asyncio basics): wrap a coroutine in a task
//! (`ensure_future`, then `create_task`), run the loop until it finishes, read its result.
//!
//! ```text
//! fetch start
//! fetch end
//! result-server1
//! fetch start
//! fetch end
//! result-server2
//! ```
//!
//! `rt.spawn` is both `ensure_future` and `loop.create_task`. The first result is read by
//! running the loop on the handle (`run_until_complete(future)`); the second with
//! `join()`, which runs the loop until the task is done and returns its result
//! (`run_until_complete(task)` and `task.result()` in one). Run it with
//! `cargo run -p runtime --example task_result`.

use std::sync::Arc;
use std::time::Duration;

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// `async def fetch_data(source)`: 0.8 s of simulated I/O, then a result.
async fn fetch_data(out: Out, source: &'static str) -> String {
    out("fetch start");
    runtime::sleep(Duration::from_millis(800)).await;
    out("fetch end");
    format!("result-{source}")
}

/// Runs both tasks one after the other and returns their results.
pub fn run(rt: &Runtime, out: &Out) -> (String, String) {
    // future = asyncio.ensure_future(fetch_data("server1"), loop=loop)
    let future = rt.spawn(fetch_data(out.clone(), "server1"));
    // loop.run_until_complete(future); print(future.result())
    let first = rt.block_on(future).expect("fetch_data does not fail");
    out(&first);

    // task = loop.create_task(fetch_data("server2"))
    let task = rt.spawn(fetch_data(out.clone(), "server2"));
    // loop.run_until_complete(task); print(task.result())
    let second = task.join().expect("fetch_data does not fail");
    out(&second);
    (first, second)
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    run(&rt, &(Arc::new(|line: &str| println!("{line}")) as Out));
    Ok(())
}
