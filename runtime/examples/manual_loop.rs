//! Seed "The Event Loop" (asyncio tutorial): create a loop by hand, run `main()` on it,
//! close it, print "Done".
//!
//! ```text
//! Running main
//! Done          (after 2 s)
//! ```
//!
//! `asyncio.new_event_loop()` is `Runtime::builder().build()`, `run_until_complete` is
//! `block_on`, and `loop.close()` is dropping the runtime. Run it with
//! `cargo run -p runtime --example manual_loop`.

use std::sync::Arc;
use std::time::Duration;

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// `async def main()`.
async fn main_coroutine(out: Out) {
    out("Running main");
    runtime::sleep(Duration::from_secs(2)).await;
}

/// `try: loop.run_until_complete(main()) finally: loop.close()`, then `print("Done")`.
/// Takes the loop, closes it, and returns the loop time `main()` took.
pub fn run(rt: Runtime, out: &Out) -> Duration {
    let start = rt.time();
    rt.block_on(main_coroutine(out.clone()));
    let elapsed = rt.time() - start;
    drop(rt); // loop.close()
    out("Done");
    elapsed
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?; // loop = asyncio.new_event_loop()
    run(rt, &(Arc::new(|line: &str| println!("{line}")) as Out));
    Ok(())
}
