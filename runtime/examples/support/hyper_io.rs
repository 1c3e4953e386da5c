//! The adapter from `futures_io` streams to hyper 1.x's I/O traits (hyper-util's
//! `TokioIo`, for futures-io), shared by the examples and tests (`support/http.rs`) and the
//! bench's `http` and `bulk` servers (`bench/src/exec/hyper_io.rs`), so that every runner
//! on futures-io serves hyper through the same code. A stream that can read into
//! uninitialised memory (the runtime's `TcpStream`) implements [`ReadUninit`] with its
//! own read; any other gets the default, which zero-fills first.

use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;

/// The most bytes one read zero-fills and asks the stream for, for a stream that can
/// only read into initialised memory.
const READ_CHUNK: usize = 16 * 1024;

/// How the adapter reads into hyper's buffer, whose free part is not initialised
/// (`ReadBufCursor`). `futures_io::AsyncRead` wants a `&mut [u8]`, so the default
/// zero-fills up to 16 KiB first and reads into that; a stream that can read into
/// uninitialised memory says so, as the runtime's `TcpStream` does
/// (`TcpStream::poll_read_uninit`), and saves the zero-fill (a `memset` of 16 KiB per
/// request, 4% of a hyper server's CPU in a profile of `bench --workload http`).
pub trait ReadUninit: AsyncRead + Unpin {
    /// Reads into `dst`; `Ready(Ok(n))` means its first `n` bytes are initialised and
    /// nothing else in it was written.
    fn poll_read_uninit(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [MaybeUninit<u8>],
    ) -> Poll<std::io::Result<usize>> {
        let len = dst.len().min(READ_CHUNK);
        let dst = &mut dst[..len];
        dst.fill(MaybeUninit::new(0));
        // SAFETY: every byte of `dst` was just initialised (zeroed), and `MaybeUninit<u8>`
        // has the layout of `u8`, so this is a valid `&mut [u8]` over the same memory,
        // borrowed only for this call.
        let dst: &mut [u8] = unsafe { &mut *(dst as *mut [MaybeUninit<u8>] as *mut [u8]) };
        self.poll_read(cx, dst).map(|r| r.map(|n| n.min(len)))
    }
}

impl ReadUninit for runtime::net::TcpStream {
    fn poll_read_uninit(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [MaybeUninit<u8>],
    ) -> Poll<std::io::Result<usize>> {
        runtime::net::TcpStream::poll_read_uninit(self, cx, dst)
    }
}

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

impl<T: ReadUninit> hyper::rt::Read for FuturesIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        // SAFETY: nothing is de-initialised: `poll_read_uninit` only writes bytes.
        let unfilled = unsafe { buf.as_mut() };
        let len = unfilled.len();
        let n = std::task::ready!(Pin::new(&mut self.0).poll_read_uninit(cx, unfilled))?;
        // SAFETY: `poll_read_uninit` initialised the first `n` bytes of the unfilled
        // part (`n <= len` is checked, not trusted).
        unsafe { buf.advance(n.min(len)) };
        Poll::Ready(Ok(()))
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
