//! Seed "Event Loop" example (coroutines): fetch a JSON list of posts and print it.
//!
//! ```text
//! [Post { user_id: 1, id: 1, title: "sunt aut facere" }, Post { user_id: 1, id: 2, title: "qui est esse" }]
//! ```
//!
//! SIMULATED: the seed GETs `https://jsonplaceholder.typicode.com/posts/` with aiohttp;
//! this runtime has no HTTP client yet, so `fetch_data` sleeps 0.5 s (the simulated
//! latency) and returns two posts already decoded. Run it with
//! `cargo run -p runtime --example fetch_json`.

use std::sync::Arc;
use std::time::Duration;

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// One element of the posts list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Post {
    /// `userId`.
    pub user_id: u32,
    /// `id`.
    pub id: u32,
    /// `title`.
    pub title: String,
}

/// `async def fetch_data()`: simulated GET plus `response.json()`.
async fn fetch_data() -> Vec<Post> {
    runtime::sleep(Duration::from_millis(500)).await;
    vec![
        Post {
            user_id: 1,
            id: 1,
            title: "sunt aut facere".into(),
        },
        Post {
            user_id: 1,
            id: 2,
            title: "qui est esse".into(),
        },
    ]
}

/// `loop.run_until_complete(main())` with `main` printing `await fetch_data()`. Returns
/// the data and the loop time it took.
pub fn run(rt: &Runtime, out: &Out) -> (Vec<Post>, Duration) {
    let start = rt.time();
    let out = out.clone();
    let data = rt.block_on(async move {
        let data = fetch_data().await;
        out(&format!("{data:?}"));
        data
    });
    (data, rt.time() - start)
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    run(&rt, &(Arc::new(|line: &str| println!("{line}")) as Out));
    Ok(())
}
