//! What every runner's `http` and `bulk` servers share, so that only the runtime's own
//! sockets and tasks differ: the hyper 1.x HTTP/1.1 connection ([`serve_hello`]), the
//! adapter from `futures_io` streams to hyper's I/O traits ([`FuturesIo`], hyper-util's
//! `TokioIo` for futures-io, as `runtime/examples/support/http.rs` has it), and the
//! `bulk` echo through the `futures_io` traits ([`echo_traits`]).

use std::convert::Infallible;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use http_body_util::Full;
use hyper::rt::ReadBufCursor;
use hyper::service::service_fn;
use hyper::Response;

use super::BULK_BUF;

/// The body of every `http` response (TechEmpower's plaintext).
pub const HELLO: &[u8] = b"Hello, World!";

/// Serves one HTTP/1.1 connection with hyper until the client closes it (keep-alive):
/// every request gets `200` with [`HELLO`]. Returns the requests served. No timer is
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
    hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await
        .map_err(std::io::Error::other)?;
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

/// The most bytes one `poll_read` zero-fills and asks the stream for.
const READ_CHUNK: usize = 16 * 1024;

/// A `futures_io` stream (`AsyncRead + AsyncWrite`) seen through hyper's `rt::Read` and
/// `rt::Write`: hyper-util's `TokioIo`, for futures-io. `futures_io::AsyncRead` reads
/// into initialised memory, so each read zero-fills what it offers (at most
/// [`READ_CHUNK`]), as `tokio-util`'s compat layer does.
#[derive(Debug)]
pub struct FuturesIo<T>(pub T);

impl<T: AsyncRead + Unpin> hyper::rt::Read for FuturesIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        // SAFETY: nothing is de-initialised: the bytes are only overwritten with zeros
        // (below) and then with what the stream reads.
        let unfilled = unsafe { buf.as_mut() };
        let len = unfilled.len().min(READ_CHUNK);
        let dst: &mut [MaybeUninit<u8>] = &mut unfilled[..len];
        for b in dst.iter_mut() {
            b.write(0);
        }
        // SAFETY: every byte of `dst` was just initialised (zeroed), and `MaybeUninit<u8>`
        // has the layout of `u8`, so this is a valid `&mut [u8]` over the same memory,
        // borrowed only for this call.
        let dst: &mut [u8] = unsafe { &mut *(dst as *mut [MaybeUninit<u8>] as *mut [u8]) };
        match Pin::new(&mut self.0).poll_read(cx, dst) {
            Poll::Ready(Ok(n)) => {
                let n = n.min(len);
                // SAFETY: the first `n <= len` bytes of the unfilled part are initialised
                // (zeroed above, then filled by the read).
                unsafe { buf.advance(n) };
                Poll::Ready(Ok(()))
            }
            other => other.map(|r| r.map(|_| ())),
        }
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for FuturesIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}
