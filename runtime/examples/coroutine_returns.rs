//! Seed "Coroutines" (asyncio tutorial): an `async fn` returns its value through
//! `asyncio.run`.
//!
//! ```text
//! My coroutine
//! 66
//! ```
//!
//! Calling `my_coroutine()` only builds a future; nothing runs until the runtime polls it,
//! exactly as a coroutine object does nothing until it is put on a loop. Run it with
//! `cargo run -p runtime --example coroutine_returns`.

use std::sync::Arc;

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// `async def my_coroutine()`.
async fn my_coroutine(out: Out) -> u32 {
    out("My coroutine");
    66
}

/// `r = asyncio.run(my_coroutine()); print(r)`. Returns `r`.
pub fn run(rt: &Runtime, out: &Out) -> u32 {
    let coroutine = my_coroutine(out.clone()); // prints nothing yet
    let r = rt.block_on(coroutine);
    out(&r.to_string());
    r
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    run(&rt, &(Arc::new(|line: &str| println!("{line}")) as Out));
    Ok(())
}
