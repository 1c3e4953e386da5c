//! tokio's `current_thread` and `multi_thread` runtimes as [`Runner`]s. `submit` spawns the
//! job as a task, like this runtime's `Threads` mode: inline on the one thread in
//! `current_thread`, on a worker in `multi_thread`.
//!
//! I/O, idiomatic tokio: `tokio::net` on its epoll driver (enabled only for the I/O
//! workloads, so the other workloads' figures stay those of a timer-only runtime), and
//! file reads as `spawn_blocking` jobs doing `pread` (`FileExt::read_at`). tokio has no
//! asynchronous file I/O: `tokio::fs` itself runs every operation on the same blocking
//! pool, so this is the honest comparison, minus `tokio::fs::File`'s seek-and-read
//! state machine and its extra copy through an internal buffer.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use runtime::{Settable, Setter};
use serde::{de::DeserializeOwned, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::{Builder, Handle, Runtime};
use tokio::task::JoinHandle;

use crate::exec::hyper_io::serve_hello;
use crate::exec::{accept_until, BulkApi, Exec, Io, IoKind, Runner, Unwrap, BULK_BUF, ECHO_BUF};

/// A tokio runtime.
#[derive(Debug)]
pub struct Tokio {
    rt: Runtime,
}

impl Tokio {
    /// `current_thread`: one thread runs every task; with `io`, sockets on its epoll driver.
    pub fn current_thread(io: bool) -> std::io::Result<Tokio> {
        let mut b = Builder::new_current_thread();
        b.enable_time();
        if io {
            b.enable_io();
        }
        Ok(Tokio { rt: b.build()? })
    }

    /// `multi_thread` with `workers` worker threads, each pinned to its own core if `pin`;
    /// with `io`, sockets on its epoll driver.
    pub fn multi_thread(workers: usize, pin: bool, io: bool) -> std::io::Result<Tokio> {
        let mut b = Builder::new_multi_thread();
        b.worker_threads(workers).enable_time();
        if io {
            b.enable_io();
        }
        if pin {
            b.on_thread_start(crate::pin::round_robin(0));
        }
        Ok(Tokio { rt: b.build()? })
    }
}

/// [`Exec`] for [`Tokio`].
#[derive(Clone, Debug)]
pub struct TokioExec(Handle);

impl Exec for TokioExec {
    type Join<T: Send + 'static> = Unwrap<JoinHandle<T>>;

    fn spawn<F>(&self, fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(self.0.spawn(fut))
    }

    fn submit<A, R>(&self, f: fn(A) -> R, arg: A) -> Self::Join<R>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        Unwrap(self.0.spawn(async move { f(arg) }))
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send + 'static {
        let _context = self.0.enter();
        tokio::time::sleep(d)
    }

    fn yield_now(&self) -> impl Future<Output = ()> + Send + 'static {
        tokio::task::yield_now()
    }
}

/// The echo of one connection, as tokio's own echo example writes it.
async fn echo(conn: TcpStream) -> std::io::Result<u64> {
    echo_sized(conn, ECHO_BUF).await
}

/// The echo with reads of up to `size` bytes.
async fn echo_sized(mut conn: TcpStream, size: usize) -> std::io::Result<u64> {
    conn.set_nodelay(true)?;
    let mut buf = vec![0u8; size];
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

impl Io for TokioExec {
    type File = std::fs::File;

    fn serve_echo(
        &self,
        bound: Setter<SocketAddr>,
        stop: Settable<()>,
    ) -> impl Future<Output = std::io::Result<u64>> + Send + 'static {
        let ex = self.clone();
        async move {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let _ = bound.set(listener.local_addr()?);
            accept_until(&ex, stop, || async { Ok(listener.accept().await?.0) }, echo).await
        }
    }

    fn serve_http(
        &self,
        bound: Setter<SocketAddr>,
        stop: Settable<()>,
    ) -> impl Future<Output = std::io::Result<u64>> + Send + 'static {
        let ex = self.clone();
        async move {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let _ = bound.set(listener.local_addr()?);
            let accept = || async { Ok(listener.accept().await?.0) };
            accept_until(&ex, stop, accept, |conn: TcpStream| async move {
                conn.set_nodelay(true)?;
                serve_hello(hyper_util::rt::TokioIo::new(conn)).await
            })
            .await
        }
    }

    /// tokio has no owned-buffer stream API: both `api`s are its `AsyncRead`/`AsyncWrite`.
    fn serve_bulk(
        &self,
        bound: Setter<SocketAddr>,
        stop: Settable<()>,
        api: BulkApi,
    ) -> impl Future<Output = std::io::Result<u64>> + Send + 'static {
        let _ = api;
        let ex = self.clone();
        async move {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let _ = bound.set(listener.local_addr()?);
            let accept = || async { Ok(listener.accept().await?.0) };
            accept_until(&ex, stop, accept, |c| echo_sized(c, BULK_BUF)).await
        }
    }

    fn open(
        &self,
        path: PathBuf,
    ) -> impl Future<Output = std::io::Result<std::fs::File>> + Send + 'static {
        let opened = self.0.spawn_blocking(move || std::fs::File::open(path));
        async move { opened.await.map_err(std::io::Error::other)? }
    }

    fn read_at(
        &self,
        file: Arc<std::fs::File>,
        buf: Vec<u8>,
        pos: u64,
    ) -> impl Future<Output = (std::io::Result<usize>, Vec<u8>)> + Send + 'static {
        let job = self.0.spawn_blocking(move || super::pread(&file, buf, pos));
        async move {
            job.await
                .unwrap_or_else(|e| panic!("a read job failed: {e}"))
        }
    }
}

impl Runner for Tokio {
    type Exec = TokioExec;

    fn exec(&self) -> TokioExec {
        TokioExec(self.rt.handle().clone())
    }

    fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.block_on(fut)
    }

    fn io_backend(&self, kind: IoKind) -> String {
        match kind {
            IoKind::Net | IoKind::Http | IoKind::Bulk => "epoll".into(),
            IoKind::File => "blocking pool".into(),
        }
    }
}
