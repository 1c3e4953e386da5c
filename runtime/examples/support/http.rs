//! HTTP/1.1 on this runtime with hyper 1.x, for the `aiohttp_fetch` example and
//! `tests/http.rs`: an adapter from `futures_io` to hyper's I/O traits ([`FuturesIo`]), a
//! small server ([`Server`]: a fake jsonplaceholder with delayed pages) and an
//! aiohttp-like client ([`Session`]: one keep-alive connection, `get(path)`).
//!
//! hyper brings the HTTP; this runtime brings the sockets ([`TcpListener`],
//! [`TcpStream`]) and the tasks (the connection futures run under [`runtime::spawn`]).
//! No timer is given to hyper, so its timeouts (header read) are off.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use runtime::net::{TcpListener, TcpStream};
use runtime::JoinHandle;

#[path = "hyper_io.rs"]
mod hyper_io;
pub use hyper_io::FuturesIo;

/// Any error of the client (I/O or HTTP), as aiohttp's `ClientError`.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// How long the server waits before answering `/page/<n>` (a slow site).
pub const PAGE_DELAY: Duration = Duration::from_millis(100);

/// How many posts `/posts/` returns.
pub const POST_COUNT: usize = 10;

/// The titles of the posts, as on jsonplaceholder.typicode.com.
pub const TITLES: [&str; POST_COUNT] = [
    "sunt aut facere repellat provident occaecati excepturi optio reprehenderit",
    "qui est esse",
    "ea molestias quasi exercitationem repellat qui ipsa sit aut",
    "eum et est occaecati",
    "nesciunt quas odio",
    "dolorem eum magni eos aperiam quia",
    "magnam facilis autem",
    "dolorem dolore est ipsam",
    "nesciunt iure omnis dolorem tempora et accusantium",
    "optio molestias id quia eum",
];

/// What the server has seen, for the tests (keep-alive: one connection, many requests).
#[derive(Clone, Debug, Default)]
pub struct Stats {
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    errors: Arc<AtomicUsize>,
}

impl Stats {
    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Requests answered (or being answered) so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Connections that ended with an error (each is also printed to stderr).
    pub fn errors(&self) -> usize {
        self.errors.load(Ordering::SeqCst)
    }
}

/// A local HTTP/1.1 server: `GET /posts/` (JSON), `GET /page/<n>` (HTML, after
/// [`PAGE_DELAY`]); anything else is 404 (405 for another method). Each connection is a
/// task; keep-alive is on.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stats: Stats,
    accept: JoinHandle<()>,
}

impl Server {
    /// Binds `addr` (`"127.0.0.1:0"` for any free port) and starts accepting, in a task of
    /// the current runtime.
    ///
    /// # Errors
    /// If the address does not bind.
    pub async fn start(addr: &str) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let stats = Stats::default();
        let accept = runtime::spawn(accept_loop(listener, stats.clone()));
        Ok(Server {
            addr,
            stats,
            accept,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What it has seen so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Stops accepting (connections already open finish on their own when their client
    /// closes them).
    pub fn stop(self) {
        self.accept.cancel();
    }
}

/// Accepts connections until cancelled, one serving task per connection.
async fn accept_loop(listener: TcpListener, stats: Stats) {
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        stats.connections.fetch_add(1, Ordering::SeqCst);
        let stats = stats.clone();
        runtime::spawn(async move {
            let requests = stats.requests.clone();
            let service = service_fn(move |req| {
                requests.fetch_add(1, Ordering::SeqCst);
                route(req)
            });
            let served = hyper::server::conn::http1::Builder::new()
                .serve_connection(FuturesIo::new(stream), service)
                .await;
            if let Err(e) = served {
                stats.errors.fetch_add(1, Ordering::SeqCst);
                eprintln!("server: connection error: {e}");
            }
        });
    }
}

/// The server's routes.
async fn route(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::GET {
        return Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n",
        ));
    }
    let path = req.uri().path();
    if path == "/posts/" || path == "/posts" {
        return Ok(reply(StatusCode::OK, "application/json", posts_json()));
    }
    if let Some(n) = path
        .strip_prefix("/page/")
        .and_then(|n| n.parse::<u32>().ok())
    {
        runtime::sleep(PAGE_DELAY).await;
        return Ok(reply(StatusCode::OK, "text/html", page_html(n)));
    }
    Ok(reply(
        StatusCode::NOT_FOUND,
        "text/plain",
        "404: Not Found\n",
    ))
}

fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body.into()));
    *res.status_mut() = status;
    res.headers_mut().insert(
        CONTENT_TYPE,
        content_type.parse().expect("a valid header value"),
    );
    res
}

/// `/page/<n>`.
pub fn page_html(n: u32) -> String {
    format!(
        "<!doctype html>\n<html><head><title>Page {n}</title></head>\n\
         <body><h1>Page {n}</h1><p>Served after {} ms.</p></body></html>\n",
        PAGE_DELAY.as_millis()
    )
}

/// `/posts/`: `[{"userId":1,"id":1,"title":"...","body":"..."}, ...]`.
pub fn posts_json() -> String {
    let posts: Vec<serde_json::Value> = TITLES
        .iter()
        .enumerate()
        .map(|(i, title)| {
            serde_json::json!({
                "userId": i / 10 + 1,
                "id": i + 1,
                "title": title,
                "body": format!("quia et suscipit\nsuscipit recusandae consequuntur {}", i + 1),
            })
        })
        .collect();
    serde_json::Value::Array(posts).to_string()
}

/// A response, its body read in full (aiohttp's `ClientResponse` after `await
/// response.read()`).
#[derive(Clone, Debug)]
pub struct Reply {
    /// `response.status`.
    pub status: u16,
    /// The body.
    pub body: Bytes,
}

impl Reply {
    /// `await response.json()`.
    ///
    /// # Errors
    /// If the body is not JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// `await response.text()` (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client session (aiohttp's `ClientSession`) with one keep-alive HTTP/1.1 connection
/// to one server: every `get` goes over the same socket.
#[derive(Debug)]
pub struct Session {
    addr: SocketAddr,
    sender: SendRequest<Empty<Bytes>>,
    conn: JoinHandle<()>,
}

impl Session {
    /// Connects to `addr` and runs the HTTP handshake; the connection's I/O runs in a task
    /// of the current runtime.
    ///
    /// # Errors
    /// If the connection fails.
    pub async fn connect(addr: SocketAddr) -> Result<Session, Error> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(FuturesIo::new(stream)).await?;
        let conn = runtime::spawn(async move {
            if let Err(e) = conn.await {
                eprintln!("client connection error: {e}");
            }
        });
        Ok(Session { addr, sender, conn })
    }

    /// `session.get(url)`: GETs `path` and reads the whole body.
    ///
    /// # Errors
    /// If the connection fails or closed (a status other than 2xx is not an error).
    pub async fn get(&mut self, path: &str) -> Result<Reply, Error> {
        self.sender.ready().await?;
        let req = Request::get(path)
            .header(HOST, self.addr.to_string())
            .body(Empty::new())?;
        let res = self.sender.send_request(req).await?;
        let status = res.status().as_u16();
        let body = res.into_body().collect().await?.to_bytes();
        Ok(Reply { status, body })
    }

    /// Leaves `async with`: closes the connection and waits for its task to end.
    pub async fn close(self) {
        drop(self.sender);
        let _ = self.conn.await;
    }
}

/// `async with ClientSession() as s: async with s.get(url) as r`: one GET on a new
/// connection, closed afterwards.
///
/// # Errors
/// As [`Session::get`].
pub async fn get(addr: SocketAddr, path: &str) -> Result<Reply, Error> {
    let mut session = Session::connect(addr).await?;
    let reply = session.get(path).await;
    session.close().await;
    reply
}
