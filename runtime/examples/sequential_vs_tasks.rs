//! Seed "Coroutines" (asyncio tutorial): awaiting two coroutines one after the other is not
//! concurrency. `say_hello_eventually(5)` is awaited to the end before `calculate(5)` even
//! starts, so both results print after 5 s.
//!
//! ```text
//! 500        (at 5 s)
//! Hello!     (at 5 s)
//! ```
//!
//! For the concurrent version, with tasks, see `create_task_runs_at_once`. Run it with
//! `cargo run -p runtime --example sequential_vs_tasks` (it takes 5 s).

use std::sync::Arc;
use std::time::Duration;

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// `async def calculate(number) -> int`.
async fn calculate(number: u64) -> u64 {
    number * 100
}

/// `async def say_hello_eventually(seconds) -> str`.
async fn say_hello_eventually(seconds: u64) -> &'static str {
    runtime::sleep(Duration::from_secs(seconds)).await;
    "Hello!"
}

/// `async def main()`.
async fn main_coroutine(out: Out) {
    let message = say_hello_eventually(5).await;
    let calculated_number = calculate(5).await;
    out(&calculated_number.to_string());
    out(message);
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
