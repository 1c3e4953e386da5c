//! Seed "Python concurrency with asyncio": `gather(task1(), task2())` runs a 2 s and a 3 s
//! task together, so the whole takes 3 s.
//!
//! ```text
//! Task 1 started
//! Task 2 started
//! Task 1 finished   (at 2 s)
//! Task 2 finished   (at 3 s)
//! ```
//!
//! Run it with `cargo run -p runtime --example gather_two_tasks`.

use std::sync::Arc;
use std::time::Duration;

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// `async def task1()`.
async fn task1(out: Out) {
    out("Task 1 started");
    runtime::sleep(Duration::from_secs(2)).await;
    out("Task 1 finished");
}

/// `async def task2()`.
async fn task2(out: Out) {
    out("Task 2 started");
    runtime::sleep(Duration::from_secs(3)).await;
    out("Task 2 finished");
}

/// `asyncio.run(main())` with `main` awaiting `gather(task1(), task2())`. Returns the loop
/// time it took.
pub fn run(rt: &Runtime, out: &Out) -> Duration {
    let start = rt.time();
    let out = out.clone();
    rt.block_on(async move {
        // The two futures have different types: box them to gather them in one list.
        let tasks: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> =
            vec![Box::pin(task1(out.clone())), Box::pin(task2(out))];
        runtime::gather(tasks).await;
    });
    rt.time() - start
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    run(&rt, &(Arc::new(|line: &str| println!("{line}")) as Out));
    Ok(())
}
