//! Seed "Create Tasks and Gather Tasks" / "Get Results" (asyncio internals): four tasks
//! created with `create_task`, collected four ways: `wait`, `gather`, results from
//! `wait`'s done set, results from `gather`.
//!
//! ```text
//! -- create_task + wait --
//! coroutine 1 starting execution
//! …
//! coroutine 4 starting execution
//! coroutine 1 completes!          (each section: 2 s later)
//! …
//! coroutine 4 completes!
//! -- create_task + gather --
//! (the same)
//! -- wait: results from the done set --
//! (the same, then)
//! Execution results: 1
//! …
//! -- gather: results in order --
//! (the same, then)
//! Execution results: 1
//! …
//! ```
//!
//! `wait` returns `(done, pending)` handles and leaves reading each result to the caller;
//! `gather` returns the results themselves, in argument order. asyncio's `done` is a set
//! (no order); here `done` keeps the order the handles were given in. The seed's `func1`
//! returns `None`; here it returns `i`, so the results can be told apart. `main` sleeps
//! 1 s per section instead of the seed's 2 s. Run it with
//! `cargo run -p runtime --example wait_vs_gather`.

use std::sync::Arc;
use std::time::Duration;

use runtime::{BuildError, JoinHandle, ReturnWhen, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// `async def func1(i)`.
async fn func1(out: Out, i: usize, pause: Duration) -> usize {
    out(&format!("coroutine {i} starting execution"));
    runtime::sleep(pause).await;
    out(&format!("coroutine {i} completes!"));
    i
}

/// `for i in range(1, 5): tasks.append(asyncio.create_task(func1(i)))`.
fn create_tasks(out: &Out, pause: Duration) -> Vec<JoinHandle<usize>> {
    (1..5)
        .map(|i| runtime::spawn(func1(out.clone(), i, pause)))
        .collect()
}

/// The seed's four programs, one after the other, each task sleeping `pause`. Returns the
/// results read from `wait`'s done list and those `gather` gave.
pub fn run(rt: &Runtime, out: &Out, pause: Duration) -> (Vec<usize>, Vec<usize>) {
    let out = out.clone();
    rt.block_on(async move {
        out("-- create_task + wait --");
        runtime::wait(create_tasks(&out, pause), ReturnWhen::AllCompleted).await;

        out("-- create_task + gather --");
        runtime::gather(create_tasks(&out, pause)).await;

        out("-- wait: results from the done set --");
        let (done, _pending) =
            runtime::wait(create_tasks(&out, pause), ReturnWhen::AllCompleted).await;
        let mut from_wait = Vec::new();
        for task in done {
            let result = task.await.expect("not cancelled"); // task.result()
            out(&format!("Execution results: {result}"));
            from_wait.push(result);
        }

        out("-- gather: results in order --");
        let results = runtime::gather(create_tasks(&out, pause)).await;
        let mut from_gather = Vec::new();
        for result in results {
            let result = result.expect("not cancelled");
            out(&format!("Execution results: {result}"));
            from_gather.push(result);
        }
        (from_wait, from_gather)
    })
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    run(
        &rt,
        &(Arc::new(|line: &str| println!("{line}")) as Out),
        Duration::from_secs(1),
    );
    Ok(())
}
