//! HTTP/1.1 with hyper 1.x on this runtime, both sides, under every mode and both I/O
//! backends: the `aiohttp_fetch` example's server and client (its `support/http.rs`),
//! run in-process, and the example itself (as `tests/seeds.rs` runs examples: its `run`
//! printing to a recorder).

#[macro_use]
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use runtime::Runtime;

#[allow(dead_code)]
#[path = "../examples/aiohttp_fetch.rs"]
mod aiohttp_fetch;

use aiohttp_fetch::http::{self, Server, Session, PAGE_DELAY, POST_COUNT, TITLES};
use aiohttp_fetch::{Out, Post};

/// A sink that records the lines printed.
fn record() -> (Out, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let out: Out = Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_string()));
    (out, lines)
}

rt_test_io! {
    fn example_prints_statuses_posts_and_404(rt: &Runtime) {
        let (out, lines) = record();
        let report = aiohttp_fetch::run(rt, &out).expect("the example runs");
        let lines = lines.lock().unwrap().clone();
        assert_eq!(lines.len(), 9, "{lines:#?}");
        assert_eq!(lines[0], format!("I/O backend: {}", rt.io_backend()));
        assert!(lines[1].starts_with("serving on http://127.0.0.1:"), "{}", lines[1]);
        // The three pages finish together, in any order.
        let mut pages = lines[2..5].to_vec();
        pages.sort();
        let len = http::page_html(1).len();
        let expected: Vec<String> =
            (1..=3).map(|n| format!("GET /page/{n} -> 200, {len} bytes")).collect();
        assert_eq!(pages, expected);
        assert_eq!(lines[5], "200 200 200");
        assert!(lines[6].starts_with("3 GETs as tasks took "), "{}", lines[6]);
        assert!(lines[6].ends_with("; their delays add up to 0.300 s"), "{}", lines[6]);
        assert_eq!(
            lines[7],
            format!("GET /posts/ -> 200, {POST_COUNT} posts, first title: {:?}", TITLES[0])
        );
        assert_eq!(lines[8], "GET /no/such/page -> 404");

        assert_eq!(report.pages, vec![(200, len); 3]);
        assert_eq!(report.posts.len(), POST_COUNT);
        assert_eq!(report.missing, 404);
        assert_eq!(report.delays, PAGE_DELAY * 3);
        assert!(
            report.elapsed < report.delays.mul_f64(0.75),
            "the GETs did not overlap: {:?} for {:?} of delays",
            report.elapsed,
            report.delays
        );
    }

    fn pages_are_200_and_unknown_paths_404(rt: &Runtime) {
        rt.block_on(async {
            let server = Server::start("127.0.0.1:0").await.unwrap();
            let page = http::get(server.addr(), "/page/7").await.unwrap();
            assert_eq!(page.status, 200);
            assert_eq!(page.text(), http::page_html(7));
            for path in ["/", "/missing", "/page/", "/page/x", "/posts/1/comments"] {
                let reply = http::get(server.addr(), path).await.unwrap();
                assert_eq!(reply.status, 404, "{path}");
                assert_eq!(reply.text(), "404: Not Found\n", "{path}");
            }
            assert_eq!(server.stats().requests(), 6);
            server.stop();
        });
    }

    fn posts_parse_as_json(rt: &Runtime) {
        let (status, posts) = rt.block_on(async {
            let server = Server::start("127.0.0.1:0").await.unwrap();
            let reply = http::get(server.addr(), "/posts/").await.unwrap();
            server.stop();
            (reply.status, reply.json::<Vec<Post>>().expect("a JSON list of posts"))
        });
        assert_eq!(status, 200);
        assert_eq!(posts.len(), POST_COUNT);
        assert_eq!(posts[0].title, TITLES[0]);
        assert_eq!(posts[0].user_id, 1);
        let ids: Vec<u32> = posts.iter().map(|p| p.id).collect();
        assert_eq!(ids, (1..=POST_COUNT as u32).collect::<Vec<_>>());
    }

    fn concurrent_fetches_take_about_one_delay(rt: &Runtime) {
        const N: u32 = 5;
        let (replies, elapsed) = rt.block_on(async {
            let server = Server::start("127.0.0.1:0").await.unwrap();
            let addr = server.addr();
            let start = Instant::now();
            let tasks = (1..=N).map(|n| runtime::spawn(async move {
                http::get(addr, &format!("/page/{n}")).await.unwrap()
            }));
            let replies = runtime::gather(tasks).await;
            let elapsed = start.elapsed();
            assert_eq!(server.stats().connections(), N as usize);
            server.stop();
            (replies, elapsed)
        });
        for (n, reply) in (1..=N).zip(replies) {
            let reply = reply.expect("the task finished");
            assert_eq!(reply.status, 200);
            assert_eq!(reply.text(), http::page_html(n));
        }
        let sum = PAGE_DELAY * N;
        assert!(elapsed >= PAGE_DELAY, "{elapsed:?}: faster than one delay");
        assert!(
            elapsed < sum.mul_f64(0.75),
            "{N} concurrent GETs took {elapsed:?}; their delays add up to {sum:?}"
        );
    }

    fn keep_alive_sends_every_request_on_one_connection(rt: &Runtime) {
        rt.block_on(async {
            let server = Server::start("127.0.0.1:0").await.unwrap();
            let mut session = Session::connect(server.addr()).await.unwrap();
            for n in 1..=3 {
                let page = session.get(&format!("/page/{n}")).await.unwrap();
                assert_eq!((page.status, page.text()), (200, http::page_html(n)));
            }
            let posts = session.get("/posts/").await.unwrap();
            assert_eq!(posts.json::<Vec<Post>>().unwrap().len(), POST_COUNT);
            assert_eq!(session.get("/nope").await.unwrap().status, 404);
            // Fifty more responses on the same connection.
            for _ in 0..50 {
                let posts = session.get("/posts/").await.unwrap();
                assert_eq!(posts.body.len(), http::posts_json().len());
            }
            assert_eq!(server.stats().connections(), 1, "the requests did not share a connection");
            assert_eq!(server.stats().requests(), 55);
            session.close().await;
            server.stop();
        });
    }

    fn served_connections_end_without_errors(rt: &Runtime) {
        // Each GET on its own connection: the client reads the whole response, then
        // closes. The server must see that close as the end of an idle connection, not
        // as "connection closed before message completed" (what hyper reports if the
        // response's bytes reached the client while the server's `poll_write` still
        // returned `Pending`, so that it still thought itself mid-response).
        let (errors, connections) = rt.block_on(async {
            let server = Server::start("127.0.0.1:0").await.unwrap();
            for _ in 0..40 {
                let reply = http::get(server.addr(), "/posts/").await.unwrap();
                assert_eq!(reply.status, 200);
            }
            // Let the server's connection tasks see the closes.
            runtime::sleep(Duration::from_millis(50)).await;
            let stats = server.stats().clone();
            server.stop();
            (stats.errors(), stats.connections())
        });
        assert_eq!(connections, 40);
        assert_eq!(errors, 0, "{errors} of {connections} served connections ended in an error");
    }
}
