//! What the socket workloads (`net`, `http`, `bulk`) share: a server spawned on the runner under test, a load client on a thread of its
//! own running a `Single` loop of ours, and the server's CPU time as the process's less
//! the client thread's.

use std::io::{Error, ErrorKind};
use std::net::SocketAddr;
use std::time::Duration;

use runtime::net::TcpStream;
use runtime::{settable, Mode, Runtime, Settable, Setter};

use crate::exec::{Exec, Runner};

/// How long past its window a connection may take before the client gives up on a stuck
/// server.
pub const STUCK: Duration = Duration::from_secs(10);

/// A spawned server task: what it returns (requests answered, bytes echoed).
pub type Served<R> = <<R as Runner>::Exec as Exec>::Join<std::io::Result<u64>>;

/// Starts the server with `server` (which spawns it on the given executor), runs `client(addr)` on a thread of its own once the server has
/// bound, stops the server once the client is done, and returns what each returned.
pub fn with_server<R, S, C, T>(r: &R, server: S, client: C) -> std::io::Result<(T, u64)>
where
    R: Runner,
    S: FnOnce(&R::Exec, Setter<SocketAddr>, Settable<()>) -> Served<R> + Send + 'static,
    C: FnOnce(SocketAddr) -> std::io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let ex = r.exec();
    let (report, thread) = r.block_on(async move {
        let (bound_tx, bound) = settable();
        let (stop_tx, stop) = settable();
        let served = server(&ex, bound_tx, stop);
        let Ok(addr) = bound.await else {
            let why = served.await.err();
            return (
                Err(why.unwrap_or_else(|| Error::other("the server never bound"))),
                None,
            );
        };
        let (done_tx, done) = settable();
        let spawned = std::thread::Builder::new()
            .name("bench-load-client".into())
            .spawn(move || {
                let _ = done_tx.set(client(addr));
            });
        let report = match &spawned {
            Ok(_) => done
                .await
                .unwrap_or_else(|_| Err(Error::other("the client thread panicked"))),
            Err(e) => Err(Error::new(
                e.kind(),
                format!("cannot start the client: {e}"),
            )),
        };
        // The client has closed its connections: the server's connection tasks end.
        let _ = stop_tx.set(());
        let report = match (report, served.await) {
            (Ok(c), Ok(n)) => Ok((c, n)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        (report, spawned.ok())
    });
    if let Some(t) = thread {
        let _ = t.join();
    }
    report
}

/// The client's runtime: a `Single` loop of ours (io_uring where the kernel allows it),
/// and its I/O backend's name. Same for every server, whatever `--io` says.
pub fn client_runtime() -> std::io::Result<(Runtime, String)> {
    let rt = Runtime::builder()
        .mode(Mode::Single)
        .long_poll_threshold(None)
        .build()
        .map_err(Error::other)?;
    let backend = rt.io_backend().to_string();
    Ok((rt, backend))
}

/// Opens `n` connections to `addr`, each given [`STUCK`] before it counts as refused by
/// a stuck server.
pub async fn connect_all(addr: SocketAddr, n: usize) -> std::io::Result<Vec<TcpStream>> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        let c = runtime::timeout(STUCK, TcpStream::connect(addr))
            .await
            .map_err(|_| Error::new(ErrorKind::TimedOut, "connect took over 10 s"))??;
        conns.push(c);
    }
    Ok(conns)
}

/// CPU time the process used less what the calling thread used, between two
/// [`super::net::cpu_times`] readings: the server's share when the caller is the client.
pub fn server_cpu(before: (Duration, Duration), after: (Duration, Duration)) -> Duration {
    (after.0.saturating_sub(before.0)).saturating_sub(after.1.saturating_sub(before.1))
}
