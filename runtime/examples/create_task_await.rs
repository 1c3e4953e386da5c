//! Seed "Task" (coroutines): `asyncio.create_task(coroutine())` schedules the coroutine on
//! the loop; `await task` waits for it.
//!
//! ```text
//! main: task created
//! coroutine: some asynchronous task
//! main: task done
//! ```
//!
//! The seed's coroutine is `pass`; here it prints a line, so the order shows: the task
//! runs when `main` gives the loop control by awaiting, not when it is created. Run it
//! with `cargo run -p runtime --example create_task_await`.

use std::sync::Arc;

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// `async def coroutine()`.
async fn coroutine(out: Out) {
    out("coroutine: some asynchronous task");
}

/// `async def main()`.
async fn main_coroutine(out: Out) {
    let task = runtime::spawn(coroutine(out.clone()));
    out("main: task created");
    task.await.expect("not cancelled");
    out("main: task done");
}

/// `loop.run_until_complete(main())`.
pub fn run(rt: &Runtime, out: &Out) {
    rt.block_on(main_coroutine(out.clone()));
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    run(&rt, &(Arc::new(|line: &str| println!("{line}")) as Out));
    Ok(())
}
