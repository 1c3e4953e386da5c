//! Seed "Single Event Loop" (asyncio basics): one `fetch_page` on a new loop, then the
//! loop time it took.
//!
//! ```text
//! fetch init
//! fetch done
//! 1.500s
//! ```
//!
//! The fetch is simulated by a 1.5 s sleep, as in the seed. Run it with
//! `cargo run -p runtime --example single_fetch`.

use std::sync::Arc;
use std::time::Duration;

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// `async def fetch_page(url)`: the request is a 1.5 s sleep.
async fn fetch_page(out: Out, _url: String) {
    out("fetch init");
    runtime::sleep(Duration::from_millis(1500)).await;
    out("fetch done");
}

/// `loop.run_until_complete(fetch_page(...))`, then `print(loop.time() - start)`.
/// Returns the loop time the fetch took.
pub fn run(rt: &Runtime, out: &Out) -> Duration {
    let start = rt.time();
    rt.block_on(fetch_page(out.clone(), "https://example.com".into()));
    let elapsed = rt.time() - start;
    out(&format!("{elapsed:.3?}"));
    elapsed
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?; // loop = asyncio.new_event_loop()
    run(&rt, &(Arc::new(|line: &str| println!("{line}")) as Out));
    Ok(())
}
