//! monoio 0.2 (io_uring, thread-per-core) serving `net`, `http` and `bulk`: what a user
//! who wants io_uring would pick instead of this runtime.
//!
//! monoio has no work-stealing pool: a server is N threads, each with its own runtime and
//! ring, accepting from the same listening socket (a duplicate of it each), each
//! connection served where it was accepted. `monoio` is one such thread (against
//! `single`), `monoio-mt` one per worker (against `threads`). Its idiomatic APIs:
//! owned-buffer `read`/`write_all` (`AsyncReadRent`) for the echoes, and for hyper (and
//! the `bulk` traits row) its `poll-io` streams, which implement tokio's `AsyncRead`/
//! `AsyncWrite`, through hyper-util's `TokioIo`. Like the bare loop, only these workloads
//! run here; the orchestration around the server (spawning it, awaiting the client) runs
//! on a `Single` loop of ours, which sleeps while the server runs. Where io_uring is
//! refused, building this runner fails and the bench skips it with a note.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use monoio::io::{AsyncReadRent, AsyncWriteRentExt, IntoPollIo};
use monoio::IoUringDriver;
use runtime::{settable, Mode, Settable, Setter};
use serde::{de::DeserializeOwned, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::exec::hyper_io::serve_hello;
use crate::exec::ours::{Ours, OursExec};
use crate::exec::{BulkApi, Exec, Io, IoKind, Runner, BULK_BUF, ECHO_BUF};

/// How often an accepting thread looks at its stop flag.
const TICK: Duration = Duration::from_millis(10);

/// monoio's server threads, and our loop for the orchestration.
#[derive(Debug)]
pub struct Monoio {
    host: Ours,
    threads: usize,
}

/// One monoio runtime on io_uring, with timers.
fn build_runtime() -> std::io::Result<monoio::Runtime<monoio::time::TimeDriver<IoUringDriver>>> {
    monoio::RuntimeBuilder::<IoUringDriver>::new()
        .enable_timer()
        .build()
        .map_err(|e| std::io::Error::new(e.kind(), format!("io_uring refused: {e}")))
}

impl Monoio {
    /// A server of `threads` monoio threads. Fails if io_uring is refused here (tried by
    /// building one monoio runtime).
    pub fn new(threads: usize) -> Result<Monoio, String> {
        build_runtime().map_err(|e| format!("monoio needs io_uring: {e}"))?;
        Ok(Monoio {
            host: Ours::build(Mode::Single, 1, false).map_err(|e| e.to_string())?,
            threads: threads.max(1),
        })
    }
}

/// [`Exec`] for [`Monoio`]: the host loop's, and the server's thread count.
#[derive(Clone, Debug)]
pub struct MonoioExec {
    host: OursExec,
    threads: usize,
}

impl Exec for MonoioExec {
    type Join<T: Send + 'static> = <OursExec as Exec>::Join<T>;

    fn spawn<F>(&self, fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.host.spawn(fut)
    }

    fn submit<A, R>(&self, f: fn(A) -> R, arg: A) -> Self::Join<R>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.host.submit(f, arg)
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send + 'static {
        self.host.sleep(d)
    }

    fn yield_now(&self) -> impl Future<Output = ()> + Send + 'static {
        self.host.yield_now()
    }
}

/// What a server thread serves on each connection.
#[derive(Clone, Copy, Debug)]
enum Serve {
    Echo,
    Http,
    Bulk(BulkApi),
}

fn io_only() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "monoio runs only the net, http and bulk workloads",
    )
}

/// Binds, starts `threads` server threads on the listener, and once `stop` resolves
/// stops them; returns what their connections returned, summed.
async fn serve(
    threads: usize,
    what: Serve,
    bound: Setter<SocketAddr>,
    stop: Settable<()>,
) -> std::io::Result<u64> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let flag = Arc::new(AtomicBool::new(false));
    let mut done = Vec::with_capacity(threads);
    for i in 0..threads {
        let l = listener.try_clone()?;
        let f = flag.clone();
        let (tx, rx) = settable();
        std::thread::Builder::new()
            .name(format!("bench-monoio-{i}"))
            .spawn(move || {
                let _ = tx.set(server_thread(l, &f, what));
            })?;
        done.push(rx);
    }
    let _ = bound.set(listener.local_addr()?);
    drop(listener);
    let _ = stop.await;
    flag.store(true, Ordering::Release);
    let mut total = 0;
    for rx in done {
        total += rx
            .await
            .unwrap_or_else(|_| Err(std::io::Error::other("a monoio thread panicked")))?;
    }
    Ok(total)
}

/// One server thread: its own monoio runtime accepting on `listener` until `stop` is set,
/// then waiting for its connections to close.
fn server_thread(
    listener: std::net::TcpListener,
    stop: &AtomicBool,
    what: Serve,
) -> std::io::Result<u64> {
    let mut rt = build_runtime()?;
    rt.block_on(async move {
        let listener = monoio::net::TcpListener::from_std(listener)?;
        let mut conns = Vec::new();
        loop {
            let stopped = async {
                while !stop.load(Ordering::Acquire) {
                    monoio::time::sleep(TICK).await;
                }
                None
            };
            let next = futures_lite::future::or(async { Some(listener.accept().await) }, stopped);
            match next.await {
                Some(Ok((conn, _))) => conns.push(monoio::spawn(serve_conn(conn, what))),
                Some(Err(e)) => return Err(e),
                None => break,
            }
        }
        let mut total = 0;
        for c in conns {
            total += c.await?;
        }
        Ok(total)
    })
}

async fn serve_conn(conn: monoio::net::TcpStream, what: Serve) -> std::io::Result<u64> {
    conn.set_nodelay(true)?;
    match what {
        Serve::Echo => echo_owned(conn, ECHO_BUF).await,
        Serve::Bulk(BulkApi::Owned) => echo_owned(conn, BULK_BUF).await,
        Serve::Bulk(BulkApi::Traits) => {
            let mut conn = conn.into_poll_io()?;
            let mut buf = vec![0u8; BULK_BUF];
            let mut echoed = 0;
            loop {
                let n = conn.read(&mut buf).await?;
                if n == 0 {
                    return Ok(echoed);
                }
                conn.write_all(&buf[..n]).await?;
                echoed += n as u64;
            }
        }
        Serve::Http => serve_hello(hyper_util::rt::TokioIo::new(conn.into_poll_io()?)).await,
    }
}

/// monoio's owned-buffer echo, the same `Vec` going to every read and write.
async fn echo_owned(mut conn: monoio::net::TcpStream, size: usize) -> std::io::Result<u64> {
    let mut buf = Vec::with_capacity(size);
    let mut echoed = 0;
    loop {
        let (res, b) = conn.read(buf).await;
        buf = b;
        let n = res?;
        if n == 0 {
            return Ok(echoed);
        }
        let (res, b) = conn.write_all(buf).await;
        buf = b;
        res?;
        echoed += n as u64;
    }
}

// Not `async fn`s: those would borrow `self`, and the trait wants `'static` futures.
#[allow(clippy::manual_async_fn)]
impl Io for MonoioExec {
    type File = ();

    fn serve_echo(
        &self,
        bound: Setter<SocketAddr>,
        stop: Settable<()>,
    ) -> impl Future<Output = std::io::Result<u64>> + Send + 'static {
        serve(self.threads, Serve::Echo, bound, stop)
    }

    fn serve_http(
        &self,
        bound: Setter<SocketAddr>,
        stop: Settable<()>,
    ) -> impl Future<Output = std::io::Result<u64>> + Send + 'static {
        serve(self.threads, Serve::Http, bound, stop)
    }

    fn serve_bulk(
        &self,
        bound: Setter<SocketAddr>,
        stop: Settable<()>,
        api: BulkApi,
    ) -> impl Future<Output = std::io::Result<u64>> + Send + 'static {
        serve(self.threads, Serve::Bulk(api), bound, stop)
    }

    fn open(&self, _: PathBuf) -> impl Future<Output = std::io::Result<()>> + Send + 'static {
        async { Err(io_only()) }
    }

    fn read_at(
        &self,
        _: Arc<()>,
        buf: Vec<u8>,
        _: u64,
    ) -> impl Future<Output = (std::io::Result<usize>, Vec<u8>)> + Send + 'static {
        async { (Err(io_only()), buf) }
    }
}

impl Runner for Monoio {
    type Exec = MonoioExec;

    fn exec(&self) -> MonoioExec {
        MonoioExec {
            host: self.host.exec(),
            threads: self.threads,
        }
    }

    fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.host.block_on(fut)
    }

    fn io_backend(&self, _: IoKind) -> String {
        format!("io_uring (monoio, {} thread(s))", self.threads)
    }
}
