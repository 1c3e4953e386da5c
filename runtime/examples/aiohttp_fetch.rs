//! Seeds "Async web calls" (asyncio tutorial) and "Event Loop" (AsyncIO notes), for real:
//! aiohttp GETs over HTTP/1.1, several at once as tasks, and a JSON list of posts parsed.
//!
//! ```python
//! async def make_request(url: str) -> int:
//!     async with aiohttp.ClientSession() as session:
//!         async with session.get(url) as response:
//!             return response.status
//!
//! async def main():
//!     task_1 = asyncio.create_task(make_request("https://www.google.com"))
//!     task_2 = asyncio.create_task(make_request("https://www.facebook.com"))
//!     task_3 = asyncio.create_task(make_request("https://www.twitter.com"))
//!     r1 = await task_1
//!     r2 = await task_2
//!     r3 = await task_3
//!     print(r1, r2, r3)
//!
//! async def fetch_data():
//!     async with aiohttp.ClientSession() as session:
//!         async with session.get('https://jsonplaceholder.typicode.com/posts/') as response:
//!             data = await response.json()
//!             return data
//! ```
//!
//! ```text
//! mode: single
//! I/O backend: io_uring
//! serving on http://127.0.0.1:40143
//! GET /page/3 -> 200, 120 bytes     (the three finish together, in any order)
//! GET /page/1 -> 200, 120 bytes
//! GET /page/2 -> 200, 120 bytes
//! 200 200 200
//! 3 GETs as tasks took 0.103 s; their delays add up to 0.300 s
//! GET /posts/ -> 200, 10 posts, first title: "sunt aut facere repellat provident occaecati excepturi optio reprehenderit"
//! GET /no/such/page -> 404
//! ```
//!
//! Instead of google.com and jsonplaceholder.typicode.com, the example starts its own
//! server on 127.0.0.1 (so it runs offline): `/page/<n>` answers after 100 ms, like a
//! slow site, and `/posts/` serves jsonplaceholder-like posts. Both sides are hyper 1.x
//! (HTTP/1.1) over this runtime's `TcpListener`/`TcpStream`, through a small adapter from
//! `futures_io` to hyper's I/O traits (`support/http.rs`). The three GETs overlap, so they
//! take about one delay, not three.
//!
//! Run it with `cargo run -p runtime --example aiohttp_fetch`, or give a mode:
//! `cargo run -p runtime --example aiohttp_fetch -- threads` (`single`, `threads`, `gil`,
//! `processes`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime::{Mode, Runtime};

/// The HTTP adapter, server and client (shared with `tests/http.rs`).
#[allow(dead_code)] // some of its helpers serve only the tests
#[path = "support/http.rs"]
pub mod http;

use http::{Error, Server, Session, PAGE_DELAY};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// The pages fetched concurrently (for the seed's three sites).
pub const PAGES: [&str; 3] = ["/page/1", "/page/2", "/page/3"];

/// A path the server does not have.
pub const MISSING: &str = "/no/such/page";

/// One element of `/posts/`, as `response.json()` gives it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Post {
    /// `userId`.
    pub user_id: u32,
    /// `id`.
    pub id: u32,
    /// `title`.
    pub title: String,
    /// `body`.
    pub body: String,
}

/// What the run saw, for the tests.
#[derive(Clone, Debug)]
pub struct Report {
    /// `rt.io_backend()`, as printed.
    pub backend: String,
    /// `(status, body length)` of each of [`PAGES`], in order.
    pub pages: Vec<(u16, usize)>,
    /// Wall time of the concurrent GETs of [`PAGES`].
    pub elapsed: Duration,
    /// What those GETs would take one after another: the sum of the server's delays.
    pub delays: Duration,
    /// The posts `/posts/` returned.
    pub posts: Vec<Post>,
    /// The status of [`MISSING`].
    pub missing: u16,
}

/// `async def make_request(url) -> int`: a new session, one GET; returns the status and
/// the body's length.
async fn make_request(out: Out, server: std::net::SocketAddr, path: &'static str) -> (u16, usize) {
    let reply = http::get(server, path).await.expect("GET a page");
    out(&format!(
        "GET {path} -> {}, {} bytes",
        reply.status,
        reply.body.len()
    ));
    (reply.status, reply.body.len())
}

/// `async def fetch_data()`: GET `/posts/` and `await response.json()`.
async fn fetch_data(server: std::net::SocketAddr) -> Result<(u16, Vec<Post>), Error> {
    let mut session = Session::connect(server).await?;
    let response = session.get("/posts/").await?;
    let data: Vec<Post> = response.json()?;
    session.close().await;
    Ok((response.status, data))
}

/// Starts the server on `rt`, then runs the seeds' `main`s against it. Returns what it saw.
///
/// # Errors
/// If the server does not start, or a request fails.
pub fn run(rt: &Runtime, out: &Out) -> Result<Report, Error> {
    let backend = rt.io_backend().to_string();
    out(&format!("I/O backend: {backend}"));
    let out = out.clone();
    rt.block_on(async move {
        let server = Server::start("127.0.0.1:0").await?;
        out(&format!("serving on {}", server.url("")));
        let addr = server.addr();

        // task_i = asyncio.create_task(make_request(url_i)); r_i = await task_i
        let start = Instant::now();
        let tasks: Vec<_> = PAGES
            .iter()
            .map(|path| runtime::spawn(make_request(out.clone(), addr, path)))
            .collect();
        let mut pages = Vec::new();
        for task in tasks {
            pages.push(
                task.await
                    .expect("the task is neither cancelled nor panicked"),
            );
        }
        let elapsed = start.elapsed();
        let statuses: Vec<String> = pages.iter().map(|(s, _)| s.to_string()).collect();
        out(&statuses.join(" "));
        let delays = PAGE_DELAY * PAGES.len() as u32;
        out(&format!(
            "{} GETs as tasks took {:.3} s; their delays add up to {:.3} s",
            PAGES.len(),
            elapsed.as_secs_f64(),
            delays.as_secs_f64()
        ));

        // data = await fetch_data()
        let (status, posts) = fetch_data(addr).await?;
        out(&format!(
            "GET /posts/ -> {status}, {} posts, first title: {:?}",
            posts.len(),
            posts.first().map_or("", |p| p.title.as_str())
        ));

        // A path the server does not have: a response with status 404, not an error.
        let missing = http::get(addr, MISSING).await?.status;
        out(&format!("GET {MISSING} -> {missing}"));

        server.stop();
        Ok(Report {
            backend,
            pages,
            elapsed,
            delays,
            posts,
            missing,
        })
    })
}

fn main() -> Result<(), Error> {
    let mode: Mode = match std::env::args().nth(1) {
        Some(name) => name.parse()?,
        None => Mode::Single,
    };
    let rt = Runtime::builder().mode(mode).build()?;
    println!("mode: {mode}");
    run(&rt, &(Arc::new(|line: &str| println!("{line}")) as Out))?;
    Ok(())
}
