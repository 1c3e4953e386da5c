//! The adapter from `futures_io` streams to hyper 1.x's I/O traits (hyper-util's
//! `TokioIo`, for futures-io), shared by the examples and tests (`support/http.rs`) and the
//! bench's `http` and `bulk` servers (`bench/src/exec/hyper_io.rs`), so that every runner
//! on futures-io serves hyper through the same code.

use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;

/// The most bytes one `poll_read` zero-fills and asks the stream for.
const READ_CHUNK: usize = 16 * 1024;

/// A `futures_io` stream (`AsyncRead + AsyncWrite`) seen through hyper's `rt::Read` and
/// `rt::Write`: hyper-util's `TokioIo`, for futures-io.
#[derive(Debug)]
pub struct FuturesIo<T>(T);

impl<T> FuturesIo<T> {
    /// Wraps `io`.
    pub fn new(io: T) -> FuturesIo<T> {
        FuturesIo(io)
    }
}

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
