//! The loop behind `TcpStream::write_all` and `File::write_all_at`: write the rest of an
//! owned buffer until all of it is written.

use std::future::Future;

use modes::io::IoBuf;

/// `buf[start..]` as an owned buffer.
pub(crate) struct Suffix<B> {
    pub(crate) buf: B,
    start: usize,
}

// SAFETY: a suffix of a stable buffer is stable; its initialised bytes are the suffix of
// the buffer's.
unsafe impl<B: IoBuf> IoBuf for Suffix<B> {
    fn stable_ptr(&self) -> *const u8 {
        // `start <= bytes_init`, so the pointer stays in (or one past) the buffer.
        self.buf.stable_ptr().wrapping_add(self.start)
    }
    fn bytes_init(&self) -> usize {
        self.buf.bytes_init() - self.start
    }
}

/// Calls `write(rest, written_so_far)` until every byte of `buf` is written; a write of
/// zero bytes is an error (`WriteZero`, with `what` saying who stopped), an interrupted
/// one is retried.
pub(crate) async fn write_all<B, F, Fut>(
    buf: B,
    what: &str,
    mut write: F,
) -> (std::io::Result<()>, B)
where
    B: IoBuf,
    F: FnMut(Suffix<B>, usize) -> Fut,
    Fut: Future<Output = (std::io::Result<usize>, Suffix<B>)>,
{
    let total = buf.bytes_init();
    let mut done = 0;
    let mut buf = buf;
    while done < total {
        let (res, rest) = write(Suffix { buf, start: done }, done).await;
        buf = rest.buf;
        match res {
            Ok(0) => {
                let e = std::io::Error::new(std::io::ErrorKind::WriteZero, what.to_string());
                return (Err(e), buf);
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return (Err(e), buf),
        }
    }
    (Ok(()), buf)
}
