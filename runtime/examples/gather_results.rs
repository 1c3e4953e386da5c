//! Seed "Async IO Gather" (coroutines): `results = await asyncio.gather(coroutine_1(),
//! coroutine_2())` gives the results in argument order.
//!
//! ```text
//! ["coroutine_1", "coroutine_2"]
//! ```
//!
//! The seed's coroutines are `pass` and it prints `[None, None]`; here each returns its
//! name, and the first one takes longer, so the order shown is the arguments' and not the
//! order of completion. Run it with `cargo run -p runtime --example gather_results`.

use std::sync::Arc;
use std::time::Duration;

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// `async def coroutine_1()`: some asynchronous task.
async fn coroutine_1() -> &'static str {
    runtime::sleep(Duration::from_millis(200)).await;
    "coroutine_1"
}

/// `async def coroutine_2()`: some other asynchronous task.
async fn coroutine_2() -> &'static str {
    runtime::sleep(Duration::from_millis(100)).await;
    "coroutine_2"
}

/// `loop.run_until_complete(main())` with `main` printing the gathered results. Returns
/// them.
pub fn run(rt: &Runtime, out: &Out) -> Vec<&'static str> {
    let out = out.clone();
    rt.block_on(async move {
        // Two different `async fn`s are two types: wrap each in a task to gather them.
        let results: Vec<&str> =
            runtime::gather([runtime::spawn(coroutine_1()), runtime::spawn(coroutine_2())])
                .await
                .into_iter()
                .map(|r| r.expect("not cancelled"))
                .collect();
        out(&format!("{results:?}"));
        results
    })
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    run(&rt, &(Arc::new(|line: &str| println!("{line}")) as Out));
    Ok(())
}
