//! Seed "Async web calls" (asyncio tutorial): three requests as three tasks, awaited one
//! by one, printing the three status codes.
//!
//! ```text
//! 200 200 200    (after the slowest request, 0.5 s; not 0.3 + 0.5 + 0.4 s)
//! ```
//!
//! SIMULATED: the seed uses aiohttp; this runtime has no HTTP client yet, so each request
//! is a sleep (its simulated latency) that returns 200. The shape of the program, three
//! tasks in flight at once, is the seed's. Run it with
//! `cargo run -p runtime --example web_requests`.

use std::sync::Arc;
use std::time::Duration;

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// The simulated latency of each site.
fn latency(url: &str) -> Duration {
    match url {
        "https://www.google.com" => Duration::from_millis(300),
        "https://www.facebook.com" => Duration::from_millis(500),
        _ => Duration::from_millis(400),
    }
}

/// `async def make_request(url) -> int`: a simulated GET returning the status code.
async fn make_request(url: &'static str) -> u16 {
    runtime::sleep(latency(url)).await;
    200
}

/// `asyncio.run(main())`. Returns the three statuses and the loop time it took.
pub fn run(rt: &Runtime, out: &Out) -> ([u16; 3], Duration) {
    let start = rt.time();
    let out = out.clone();
    let statuses = rt.block_on(async move {
        let task_1 = runtime::spawn(make_request("https://www.google.com"));
        let task_2 = runtime::spawn(make_request("https://www.facebook.com"));
        let task_3 = runtime::spawn(make_request("https://www.twitter.com"));
        let r1 = task_1.await.expect("not cancelled");
        let r2 = task_2.await.expect("not cancelled");
        let r3 = task_3.await.expect("not cancelled");
        out(&format!("{r1} {r2} {r3}"));
        [r1, r2, r3]
    });
    (statuses, rt.time() - start)
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    run(&rt, &(Arc::new(|line: &str| println!("{line}")) as Out));
    Ok(())
}
