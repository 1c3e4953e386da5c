//! What every runner's `http` and `bulk` servers share, so that only the runtime's own
//! sockets and tasks differ: the hyper 1.x HTTP/1.1 connection ([`serve_hello`]), the
//! adapter from `futures_io` streams to hyper's I/O traits ([`FuturesIo`], hyper-util's
//! `TokioIo` for futures-io, as `runtime/examples/support/http.rs` has it), and the
//! `bulk` echo through the `futures_io` traits ([`echo_traits`]).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::Response;

use super::BULK_BUF;

#[path = "../../../runtime/examples/support/hyper_io.rs"]
mod adapter;
pub use adapter::{FuturesIo, ReadUninit};

/// The body of every `http` response (TechEmpower's plaintext).
pub const HELLO: &[u8] = b"Hello, World!";

/// Serves one HTTP/1.1 connection with hyper until the client closes it (keep-alive):
/// every request gets `200` with [`HELLO`]. Returns the requests served; a client that
/// goes away mid-request or with a reset ends the connection without an error. No timer is
/// given to hyper, so its header-read timeout is off (as in the runtime's example).
pub async fn serve_hello<I>(io: I) -> std::io::Result<u64>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
{
    let served = Arc::new(AtomicU64::new(0));
    let count = served.clone();
    let service = service_fn(move |_req| {
        count.fetch_add(1, Ordering::Relaxed);
        std::future::ready(Ok::<_, Infallible>(Response::new(Full::new(
            Bytes::from_static(HELLO),
        ))))
    });
    let done = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
    if let Err(e) = done {
        let why = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<std::io::Error>());
        // A client that goes away (as `wrk` does at its end: a request cut off, a reset
        // with answers on the way) ends the connection, it does not fail the server.
        // Closing a reset stream is `Ok` in our runtime and tokio; monoio's poll-io
        // stream still says `NotConnected` (seen under wrk), so that counts as gone too.
        // The `http` workload still checks that every request its client saw answered
        // was served, and the other way round.
        let gone = e.is_incomplete_message()
            || why.is_some_and(|w| {
                use std::io::ErrorKind::{BrokenPipe, ConnectionReset, NotConnected};
                matches!(w.kind(), BrokenPipe | ConnectionReset | NotConnected)
            });
        if !gone {
            // hyper's own message ("error shutting down connection") names the step;
            // the source says what the socket answered.
            return Err(match why {
                Some(why) => std::io::Error::other(format!("{e}: {why}")),
                None => std::io::Error::other(e),
            });
        }
    }
    Ok(served.load(Ordering::Relaxed))
}

/// The `bulk` echo of one connection through the `futures_io` traits: read up to
/// [`BULK_BUF`] bytes into a borrowed buffer, write them all back, until the peer
/// closes; returns the bytes echoed.
pub async fn echo_traits<S: AsyncRead + AsyncWrite + Unpin>(mut conn: S) -> std::io::Result<u64> {
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
