//! This runtime, in any [`Mode`], through its public API only.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use runtime::fs::File;
use runtime::net::{TcpListener, TcpStream};
use runtime::{BuildError, Handle, IoBackend, JoinHandle, Mode, Runtime, Settable, Setter};
use serde::{de::DeserializeOwned, Serialize};

use super::hyper_io::{echo_traits, serve_hello, FuturesIo};
use super::{accept_until, BulkApi, Exec, Io, IoKind, Runner, Unwrap, BULK_BUF, ECHO_BUF};

static SWITCH_INTERVAL: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();

/// Whether `--io readiness` asked for the readiness backend.
static READINESS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Sets `gil` mode's switch interval for every runtime built afterwards (`--switch-interval-us`).
pub fn set_switch_interval(d: Duration) {
    let _ = SWITCH_INTERVAL.set(d);
}

/// Builds every runtime afterwards on the readiness backend (`--io readiness`); without
/// it the builder's default holds (io_uring unless `RUNTIME_IO_URING=0` or refused).
pub fn set_readiness(on: bool) {
    let _ = READINESS.set(on);
}

/// A runtime built in one mode with the bench's worker count.
#[derive(Debug)]
pub struct Ours {
    rt: Runtime,
}

impl Ours {
    /// Builds `mode` with `workers` workers on the real clock, worker i pinned to core i
    /// if `pin`, on the I/O backend `--io` chose. The long-poll detector is off: the CPU
    /// workloads' jobs are long polls on purpose.
    pub fn build(mode: Mode, workers: usize, pin: bool) -> Result<Ours, BuildError> {
        let interval = SWITCH_INTERVAL
            .get()
            .copied()
            .unwrap_or(Duration::from_millis(5));
        Ours::build_with(mode, workers, pin, interval)
    }

    /// As [`build`](Ours::build), with `gil` mode's switch interval given (`gil_sweep`).
    pub fn build_with(
        mode: Mode,
        workers: usize,
        pin: bool,
        switch_interval: Duration,
    ) -> Result<Ours, BuildError> {
        let readiness = READINESS.get().copied().unwrap_or(false);
        Ours::build_io_with(mode, workers, pin, !readiness, switch_interval)
    }

    /// As [`build`](Ours::build) (in tests), with io_uring allowed (`uring`: the builder's default)
    /// or forced off (`!uring`: `Builder::io_uring(false)`).
    #[cfg(test)]
    pub fn build_io(
        mode: Mode,
        workers: usize,
        pin: bool,
        uring: bool,
    ) -> Result<Ours, BuildError> {
        let interval = SWITCH_INTERVAL
            .get()
            .copied()
            .unwrap_or(Duration::from_millis(5));
        Ours::build_io_with(mode, workers, pin, uring, interval)
    }

    fn build_io_with(
        mode: Mode,
        workers: usize,
        pin: bool,
        uring: bool,
        switch_interval: Duration,
    ) -> Result<Ours, BuildError> {
        let mut b = Runtime::builder();
        if !uring {
            b = b.io_uring(false);
        }
        let rt = b
            .mode(mode)
            .workers(workers)
            .pin_workers(pin)
            .long_poll_threshold(None)
            .switch_interval(switch_interval)
            .build()?;
        Ok(Ours { rt })
    }

    /// How this runtime's loop parks.
    pub fn park_backend(&self) -> String {
        self.rt.park_backend().to_string()
    }
}

/// The echo of one connection with the owned-buffer API: the same `Vec` goes to every
/// read and comes back to be written.
async fn echo(conn: TcpStream) -> std::io::Result<u64> {
    echo_owned(conn, ECHO_BUF).await
}

/// The owned-buffer echo with reads of up to `size` bytes.
async fn echo_owned(conn: TcpStream, size: usize) -> std::io::Result<u64> {
    conn.set_nodelay(true)?;
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

/// [`Exec`] for [`Ours`]: a runtime [`Handle`].
#[derive(Clone, Debug)]
pub struct OursExec(Handle);

impl Exec for OursExec {
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
        Unwrap(self.0.submit(f, arg))
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send + 'static {
        runtime::sleep(d)
    }

    fn yield_now(&self) -> impl Future<Output = ()> + Send + 'static {
        runtime::yield_now()
    }
}

impl Io for OursExec {
    type File = File;

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
                serve_hello(FuturesIo::new(conn)).await
            })
            .await
        }
    }

    fn serve_bulk(
        &self,
        bound: Setter<SocketAddr>,
        stop: Settable<()>,
        api: BulkApi,
    ) -> impl Future<Output = std::io::Result<u64>> + Send + 'static {
        let ex = self.clone();
        async move {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let _ = bound.set(listener.local_addr()?);
            let accept = || async { Ok(listener.accept().await?.0) };
            accept_until(&ex, stop, accept, move |conn: TcpStream| async move {
                match api {
                    BulkApi::Owned => echo_owned(conn, BULK_BUF).await,
                    BulkApi::Traits => {
                        conn.set_nodelay(true)?;
                        echo_traits(conn).await
                    }
                }
            })
            .await
        }
    }

    fn open(&self, path: PathBuf) -> impl Future<Output = std::io::Result<File>> + Send + 'static {
        File::open(path)
    }

    // Not an `async fn`: that would borrow `self`, and the trait wants a `'static` future.
    #[allow(clippy::manual_async_fn)]
    fn read_at(
        &self,
        file: Arc<File>,
        buf: Vec<u8>,
        pos: u64,
    ) -> impl Future<Output = (std::io::Result<usize>, Vec<u8>)> + Send + 'static {
        async move { file.read_at(buf, pos).await }
    }
}

impl Runner for Ours {
    type Exec = OursExec;

    fn exec(&self) -> OursExec {
        OursExec(self.rt.handle())
    }

    fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.block_on(fut)
    }

    fn io_backend(&self, kind: IoKind) -> String {
        match (self.rt.io_backend(), kind) {
            (IoBackend::Readiness { reason }, IoKind::File) => {
                format!("readiness (blocking pool; {reason})")
            }
            (backend, _) => backend.to_string(),
        }
    }
}
