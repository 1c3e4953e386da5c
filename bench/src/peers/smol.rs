//! async-executor driven by `workers` threads, with async-io's timers: the parts smol is
//! made of. The thread calling `block_on` is one of the `workers`.
//!
//! I/O as smol does it: sockets are async-io `Async<TcpStream>`s on its epoll reactor,
//! and file reads run on the `blocking` crate's thread pool (`unblock`, what `async-fs`
//! uses), as `pread` jobs.

use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use async_executor::{Executor, Task};
use async_io::Async;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use runtime::{Settable, Setter};
use serde::{de::DeserializeOwned, Serialize};

use crate::exec::hyper_io::{echo_traits, serve_hello, FuturesIo, ReadUninit};
use crate::exec::{accept_until, BulkApi, Exec, Io, IoKind, Runner, ECHO_BUF};

/// An async-executor with its driving threads.
pub struct Smol {
    ex: Arc<Executor<'static>>,
    stops: Vec<Setter<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Smol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smol")
            .field("threads", &(self.threads.len() + 1))
            .finish()
    }
}

impl Smol {
    /// An executor run by `workers` threads in all: `workers - 1` in the background and
    /// the caller of `block_on`. With `pin`, the background threads go to cores 1, 2, ...
    /// (the caller pins itself to core 0).
    pub fn new(workers: usize, pin: bool) -> std::io::Result<Smol> {
        let ex = Arc::new(Executor::new());
        let mut stops = Vec::new();
        let mut threads = Vec::new();
        for i in 1..workers.max(1) {
            let (stop, stopped) = runtime::settable::<()>();
            let ex = ex.clone();
            let t = std::thread::Builder::new()
                .name(format!("async-executor-{i}"))
                .spawn(move || {
                    if pin {
                        crate::pin::pin_current(i);
                    }
                    let _ = async_io::block_on(ex.run(stopped));
                })?;
            stops.push(stop);
            threads.push(t);
        }
        Ok(Smol { ex, stops, threads })
    }
}

impl Drop for Smol {
    fn drop(&mut self) {
        for stop in self.stops.drain(..) {
            let _ = stop.set(());
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// [`Exec`] for [`Smol`].
#[derive(Clone, Debug)]
pub struct SmolExec(Arc<Executor<'static>>);

impl Exec for SmolExec {
    type Join<T: Send + 'static> = Task<T>;

    fn spawn<F>(&self, fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.spawn(fut)
    }

    fn spawn_detached<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.spawn(fut).detach();
    }

    fn submit<A, R>(&self, f: fn(A) -> R, arg: A) -> Self::Join<R>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.0.spawn(async move { f(arg) })
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send + 'static {
        let timer = async_io::Timer::after(d);
        async move {
            timer.await;
        }
    }

    fn yield_now(&self) -> impl Future<Output = ()> + Send + 'static {
        futures_lite::future::yield_now()
    }
}

/// The echo of one connection, as smol's examples write it.
async fn echo(mut conn: Async<TcpStream>) -> std::io::Result<u64> {
    conn.get_ref().set_nodelay(true)?;
    let mut buf = vec![0u8; ECHO_BUF];
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

impl Io for SmolExec {
    type File = std::fs::File;

    fn serve_echo(
        &self,
        bound: Setter<SocketAddr>,
        stop: Settable<()>,
    ) -> impl Future<Output = std::io::Result<u64>> + Send + 'static {
        let ex = self.clone();
        async move {
            let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0))?;
            let _ = bound.set(listener.get_ref().local_addr()?);
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
            let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0))?;
            let _ = bound.set(listener.get_ref().local_addr()?);
            let accept = || async { Ok(listener.accept().await?.0) };
            accept_until(&ex, stop, accept, |conn: Async<TcpStream>| async move {
                conn.get_ref().set_nodelay(true)?;
                serve_hello(FuturesIo::new(conn)).await
            })
            .await
        }
    }

    /// smol has no owned-buffer stream API: both `api`s are its `futures_io` traits.
    fn serve_bulk(
        &self,
        bound: Setter<SocketAddr>,
        stop: Settable<()>,
        api: BulkApi,
    ) -> impl Future<Output = std::io::Result<u64>> + Send + 'static {
        let _ = api;
        let ex = self.clone();
        async move {
            let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0))?;
            let _ = bound.set(listener.get_ref().local_addr()?);
            let accept = || async { Ok(listener.accept().await?.0) };
            accept_until(&ex, stop, accept, |conn: Async<TcpStream>| async move {
                conn.get_ref().set_nodelay(true)?;
                echo_traits(conn).await
            })
            .await
        }
    }

    fn open(
        &self,
        path: PathBuf,
    ) -> impl Future<Output = std::io::Result<std::fs::File>> + Send + 'static {
        blocking::unblock(move || std::fs::File::open(path))
    }

    fn read_at(
        &self,
        file: Arc<std::fs::File>,
        buf: Vec<u8>,
        pos: u64,
    ) -> impl Future<Output = (std::io::Result<usize>, Vec<u8>)> + Send + 'static {
        blocking::unblock(move || super::pread(&file, buf, pos))
    }
}

impl Runner for Smol {
    type Exec = SmolExec;

    fn exec(&self) -> SmolExec {
        SmolExec(self.ex.clone())
    }

    fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        async_io::block_on(self.ex.run(fut))
    }

    fn io_backend(&self, kind: IoKind) -> String {
        match kind {
            IoKind::Net | IoKind::Http | IoKind::Bulk => "epoll".into(),
            IoKind::File => "blocking pool".into(),
        }
    }
}

/// async-io's streams read only into initialised memory: hyper's adapter zero-fills first
/// (the trait's default), as it would for any `futures_io` stream.
impl ReadUninit for Async<TcpStream> {}
