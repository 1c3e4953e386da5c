//! What a workload needs from a runtime, so that each workload is written once and runs
//! unchanged in every mode of ours ([`ours`]) and on the peers (`crate::peers`).
//!
//! The operations are the asyncio ones the workloads use: `create_task` ([`Exec::spawn`]),
//! `executor.submit` ([`Exec::submit`]), `sleep`, `sleep(0)` ([`Exec::yield_now`]) and
//! `run_until_complete` ([`Runner::block_on`]). Joining, gathering and one-shot values use
//! `runtime::gather` and `runtime::settable` everywhere: they are plain futures that work
//! on any executor, so the comparison is between schedulers, not between channel types.
//!
//! The `net` and `file` workloads also need sockets and files, which every runtime
//! spells its own way: [`Io`] is that part, implemented by each runner with its own
//! idiomatic API (ours: the owned-buffer `runtime::net` and `runtime::fs`).

#[allow(unsafe_code)]
pub mod hyper_io;
pub mod ours;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use runtime::{Settable, Setter};
use serde::{de::DeserializeOwned, Serialize};

/// The handle a workload clones into its tasks.
pub trait Exec: Clone + Send + Sync + 'static {
    /// A spawned task's handle; resolves to its output (a failed task is a bench bug and
    /// panics).
    type Join<T: Send + 'static>: Future<Output = T> + Send + Unpin + 'static;

    /// Spawns `fut` as a task (asyncio's `create_task`).
    fn spawn<F>(&self, fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns `fut` and lets it run on its own (dropping an asyncio task's handle).
    fn spawn_detached<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(self.spawn(fut));
    }

    /// Runs `f(arg)` where this runtime runs submitted CPU work (`executor.submit`).
    fn submit<A, R>(&self, f: fn(A) -> R, arg: A) -> Self::Join<R>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static;

    /// Waits `d` on the runtime's timers (`asyncio.sleep(d)`).
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send + 'static;

    /// Lets the other ready tasks run once (`asyncio.sleep(0)`).
    fn yield_now(&self) -> impl Future<Output = ()> + Send + 'static;
}

/// Which kind of I/O a workload does, to name the backend that served it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoKind {
    /// TCP sockets (`net`).
    Net,
    /// Positional reads of a file (`file`).
    File,
    /// An HTTP/1.1 server on TCP (`http`).
    Http,
    /// Long TCP echoes (`bulk`).
    Bulk,
}

/// Which stream API a `bulk` echo server uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkApi {
    /// The runtime's owned-buffer reads and writes (ours, monoio); tokio and smol have
    /// none and use their stream traits here too.
    Owned,
    /// The poll-based stream traits (`futures_io` for ours and smol, tokio's own for
    /// tokio and monoio's `poll-io`), with a borrowed buffer: what hyper and most
    /// libraries drive.
    Traits,
}

/// How many bytes a `bulk` echo server reads at most at once (each server's buffer).
pub const BULK_BUF: usize = 64 * 1024;

/// The error of a server this runner does not have.
pub fn unsupported(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        format!("this runner has no {what} server"),
    )
}

/// How many bytes an echo server reads at most at once (each server's buffer).
pub const ECHO_BUF: usize = 4096;

/// The I/O the `net` and `file` workloads need, each runtime through its own API: the
/// echo server of `net` (the part that runs on the runtime under test; the client is
/// shared, see `workloads::net`) and positional file reads for `file`.
pub trait Io: Exec {
    /// A file open for positional reads, shared by the reading tasks.
    type File: Send + Sync + 'static;

    /// The TCP echo server, to be spawned as a task: binds 127.0.0.1 port 0 and sends the
    /// address through `bound`, then accepts connections (see [`accept_until`]) and serves
    /// each in its own task: `TCP_NODELAY`, then loop { read up to [`ECHO_BUF`] bytes;
    /// write them all back } until the peer closes. Once `stop` resolves it accepts no
    /// more, waits for its connections to close and returns how many bytes it echoed.
    fn serve_echo(
        &self,
        bound: Setter<SocketAddr>,
        stop: Settable<()>,
    ) -> impl Future<Output = std::io::Result<u64>> + Send + 'static;

    /// The `http` server, to be spawned as a task: binds 127.0.0.1 port 0, sends the
    /// address through `bound`, then serves each connection in its own task with hyper
    /// 1.x's HTTP/1.1 connection ([`hyper_io::serve_hello`]: keep-alive, `200 Hello,
    /// World!` to every request) over the runtime's own sockets, until `stop` resolves
    /// and every connection has closed (as [`accept_until`]); returns the requests served.
    fn serve_http(
        &self,
        bound: Setter<SocketAddr>,
        stop: Settable<()>,
    ) -> impl Future<Output = std::io::Result<u64>> + Send + 'static {
        let _ = (bound, stop);
        async { Err(unsupported("http")) }
    }

    /// The `bulk` echo server: as [`serve_echo`](Io::serve_echo), with reads of up to
    /// [`BULK_BUF`] bytes through `api`.
    fn serve_bulk(
        &self,
        bound: Setter<SocketAddr>,
        stop: Settable<()>,
        api: BulkApi,
    ) -> impl Future<Output = std::io::Result<u64>> + Send + 'static {
        let _ = (bound, stop, api);
        async { Err(unsupported("bulk")) }
    }

    /// Opens `path` for reading.
    fn open(
        &self,
        path: PathBuf,
    ) -> impl Future<Output = std::io::Result<Self::File>> + Send + 'static;

    /// Reads into `buf` (from its start, up to its capacity) at offset `pos`; returns the
    /// byte count and the buffer, whose length is set to it.
    fn read_at(
        &self,
        file: Arc<Self::File>,
        buf: Vec<u8>,
        pos: u64,
    ) -> impl Future<Output = (std::io::Result<usize>, Vec<u8>)> + Send + 'static;
}

/// The accept loop every echo server shares, so that only the runtime's own accept and
/// echo code differ: accepts with `accept` and spawns `serve` on each connection until
/// `stop` resolves (the pending accept is dropped: cancelled), then awaits every
/// connection's task and returns the sum of what they return (bytes echoed).
pub async fn accept_until<E, S, A, AF, V, VF>(
    ex: &E,
    mut stop: Settable<()>,
    mut accept: A,
    serve: V,
) -> std::io::Result<u64>
where
    E: Exec,
    A: FnMut() -> AF,
    AF: Future<Output = std::io::Result<S>>,
    V: Fn(S) -> VF,
    VF: Future<Output = std::io::Result<u64>> + Send + 'static,
{
    let mut conns = Vec::new();
    loop {
        let next = futures_lite::future::or(async { Some(accept().await) }, async {
            let _ = (&mut stop).await;
            None
        })
        .await;
        match next {
            Some(conn) => conns.push(ex.spawn(serve(conn?))),
            None => break,
        }
    }
    let mut echoed = 0;
    for conn in conns {
        echoed += conn.await?;
    }
    Ok(echoed)
}

/// A built runtime that runs workloads.
pub trait Runner {
    /// Its task handle type.
    type Exec: Io;

    /// A handle to clone into tasks.
    fn exec(&self) -> Self::Exec;

    /// Runs `fut` to completion on the calling thread (`run_until_complete`).
    fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// The I/O backend that serves `kind` here, as recorded next to the `net` and `file`
    /// figures (`io_uring`, `epoll`, `blocking pool`, ...).
    fn io_backend(&self, kind: IoKind) -> String;
}

/// Turns a `Result`-returning join handle into one that returns the value, panicking with
/// the task's error: a failed task means the workload itself is broken.
#[derive(Debug)]
pub struct Unwrap<J>(pub J);

impl<J, T, E> Future for Unwrap<J>
where
    J: Future<Output = Result<T, E>> + Unpin,
    E: std::fmt::Display,
{
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or_else(|e| panic!("a benchmark task failed: {e}")))
    }
}
