//! Seed "How Does it Work" (asyncio internals): `g()` awaits `f()`: g is suspended at the
//! `await` and resumed with f's result, while the loop runs something else.
//!
//! ```text
//! g: waiting for f
//! meanwhile: the loop runs another task
//! f: done
//! g: got 42
//! ```
//!
//! Run it with `cargo run -p runtime --example await_chain`.

use std::sync::Arc;
use std::time::Duration;

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// `async def f()`: something that takes time.
async fn f(out: Out) -> u32 {
    runtime::sleep(Duration::from_secs(1)).await;
    out("f: done");
    42
}

/// `async def g()`: "Pause here and come back to g() when f() is ready".
async fn g(out: Out) -> u32 {
    out("g: waiting for f");
    let r = f(out.clone()).await;
    out(&format!("g: got {r}"));
    r
}

/// Runs `g()` as a task next to another task, and returns g's result.
pub fn run(rt: &Runtime, out: &Out) -> u32 {
    let g_task = rt.spawn(g(out.clone()));
    let other = out.clone();
    rt.spawn(async move { other("meanwhile: the loop runs another task") });
    rt.block_on(g_task).expect("not cancelled")
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    run(&rt, &(Arc::new(|line: &str| println!("{line}")) as Out));
    Ok(())
}
