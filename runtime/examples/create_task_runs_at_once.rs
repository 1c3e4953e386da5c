//! Seed "Tasks" (asyncio tutorial): a task starts running as soon as the loop gets control,
//! whether or not anyone awaits it yet. `calculate_task` is created second and awaited
//! last, yet prints at once, while `message_task` is still sleeping.
//!
//! ```text
//! 500           (at once)
//! Hello there   (at 3 s)
//! ```
//!
//! Run it with `cargo run -p runtime --example create_task_runs_at_once`.

use std::sync::Arc;
use std::time::Duration;

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// `async def calculate(number) -> None`: prints the result.
async fn calculate(out: Out, number: u64) {
    out(&(number * 100).to_string());
}

/// `async def say_hello_eventually(seconds) -> None`.
async fn say_hello_eventually(out: Out, seconds: u64) {
    runtime::sleep(Duration::from_secs(seconds)).await;
    out("Hello there");
}

/// `async def main()`.
async fn main_coroutine(out: Out) {
    let message_task = runtime::spawn(say_hello_eventually(out.clone(), 3));
    let calculate_task = runtime::spawn(calculate(out, 5));
    message_task.await.expect("not cancelled");
    calculate_task.await.expect("not cancelled");
}

/// `asyncio.run(main())`. Returns the loop time it took.
pub fn run(rt: &Runtime, out: &Out) -> Duration {
    let start = rt.time();
    rt.block_on(main_coroutine(out.clone()));
    rt.time() - start
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    run(&rt, &(Arc::new(|line: &str| println!("{line}")) as Out));
    Ok(())
}
