//! Stream reads and writes on an [`IoFd`]: owned-buffer futures, and the poll forms
//! behind `AsyncRead`/`AsyncWrite`.
//!
//! io_uring stream reads are counted in the descriptor's `Stash` from submission to
//! completion; a read starts only when none is in flight, and a read whose future was
//! dropped after the kernel filled its buffer leaves the bytes in the stash, where the
//! next read finds them first. So cancelling a read loses no received byte and never
//! reorders the stream.

use std::future::poll_fn;
use std::future::Future;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustix::net::{RecvFlags, SendFlags};

use super::buf::{self, IoBuf, IoBufMut};
use super::fd::{FdInner, IoFd, Kind, PollState, Stash};
use super::ready::Direction;
use super::uring::op;

/// The most one `poll_read` asks the ring for (the size of the stream's own buffer).
const MAX_POLL_READ: usize = 64 * 1024;

/// `rustix`'s error as `std`'s.
fn io_err(e: rustix::io::Errno) -> std::io::Error {
    e.into()
}

/// Retries `f` while it is interrupted (`EINTR`).
fn retry<T>(mut f: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// One send of `src` with `flags` (`MSG_NOSIGNAL` always: a closed peer is an `EPIPE`
/// error, not a SIGPIPE), or a `write` on a descriptor that is not a socket (a pipe).
pub(crate) fn send(fd: &FdInner, src: &[u8], flags: SendFlags) -> std::io::Result<usize> {
    if fd.socket {
        match rustix::net::send(&fd.fd, src, flags | SendFlags::NOSIGNAL) {
            Err(rustix::io::Errno::NOTSOCK) => {}
            r => return r.map_err(io_err),
        }
    }
    rustix::io::write(&fd.fd, src).map_err(io_err)
}

/// One non-blocking send on a socket (or write on another descriptor; a non-socket
/// never reports `WouldBlock` here, as it is in blocking mode).
fn try_send(fd: &FdInner, src: &[u8]) -> std::io::Result<usize> {
    retry(|| send(fd, src, SendFlags::DONTWAIT))
}

/// How a stream read starts, decided under the stash lock.
pub(crate) enum Start {
    /// `n` bytes came from the stash.
    Stashed(usize),
    /// A non-blocking receive straight into the caller's memory gave this.
    Direct(std::io::Result<usize>),
    /// The caller should submit a read to the ring (it is now counted in flight).
    Submit,
}

/// Where a stream read's bytes go: an owned buffer or the caller's slice.
trait Dest {
    /// How many bytes fit.
    fn room(&self) -> usize;
    /// Copies the start of `src` (what fits) at offset `at` (the bytes this read has
    /// copied so far); returns how many bytes.
    fn copy_in(&mut self, at: usize, src: &[u8]) -> usize;
    /// One non-blocking receive from the socket `fd` into it.
    fn recv(&mut self, fd: &FdInner) -> std::io::Result<usize>;
    /// One `read` from `fd` into it (the readiness backend, files).
    fn read(&mut self, fd: &FdInner) -> std::io::Result<usize>;
}

/// An owned buffer as a read's destination (from its start, up to its capacity).
struct Owned<'a, B>(&'a mut B);

impl<B: IoBufMut> Dest for Owned<'_, B> {
    fn room(&self) -> usize {
        self.0.bytes_total()
    }
    fn copy_in(&mut self, at: usize, src: &[u8]) -> usize {
        buf::fill(self.0, at, src)
    }
    fn recv(&mut self, fd: &FdInner) -> std::io::Result<usize> {
        buf::read_into(self.0, |dst| {
            let ((init, _), _) = rustix::net::recv(&fd.fd, dst, RecvFlags::DONTWAIT)?;
            Ok(init)
        })
    }
    fn read(&mut self, fd: &FdInner) -> std::io::Result<usize> {
        buf::read_into(self.0, |dst| Ok(rustix::io::read(&fd.fd, dst)?.0))
    }
}

/// Memory that need not be initialised (hyper's `ReadBufCursor`, tokio's `ReadBuf`):
/// only ever written, with bytes, from its start.
impl Dest for &mut [MaybeUninit<u8>] {
    fn room(&self) -> usize {
        self.len()
    }
    fn copy_in(&mut self, at: usize, src: &[u8]) -> usize {
        let at = at.min(self.len());
        let room = &mut self[at..];
        let n = src.len().min(room.len());
        for (d, &b) in room[..n].iter_mut().zip(&src[..n]) {
            d.write(b);
        }
        n
    }
    fn recv(&mut self, fd: &FdInner) -> std::io::Result<usize> {
        let ((init, _), _) = rustix::net::recv(&fd.fd, &mut **self, RecvFlags::DONTWAIT)?;
        Ok(init.len())
    }
    fn read(&mut self, fd: &FdInner) -> std::io::Result<usize> {
        let (init, _) = rustix::io::read(&fd.fd, &mut **self)?;
        Ok(init.len())
    }
}

/// One non-blocking receive into `dst` on a socket; records whether it drained the
/// socket.
fn try_recv(fd: &FdInner, dst: &mut impl Dest) -> std::io::Result<usize> {
    let len = dst.room();
    let res = retry(|| dst.recv(fd));
    match &res {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            fd.drained.store(true, Ordering::Relaxed);
        }
        Ok(n) => fd.drained.store(*n < len, Ordering::Relaxed),
        Err(_) => {}
    }
    res
}

/// Copies what the stream holds (bytes a cancelled read left, chunks its multishot
/// receive queued) into `dst`, as much as fits. `None` if it holds nothing.
fn take_queued(st: &mut Stash, dst: &mut impl Dest) -> Option<usize> {
    let avail = st.available();
    if !avail.is_empty() {
        let n = dst.copy_in(0, avail);
        st.consume(n);
        return Some(n);
    }
    if st.chunks.is_empty() {
        return None;
    }
    let mut n = 0;
    while let Some(c) = st.chunks.front_mut() {
        let k = dst.copy_in(n, c.bytes());
        n += k;
        c.pos += k;
        if c.pos < c.len {
            break;
        }
        // Emptied: the buffer goes back to its ring.
        st.chunks.pop_front();
        if k == 0 {
            break;
        }
    }
    Some(n)
}

/// Copies queued bytes into `dst`; else waits for the armed multishot receive (or the
/// single read in flight); else, on a socket whose last read filled its buffer (more is
/// likely waiting), receives straight into `dst` without the ring; else arms the
/// stream's multishot receive and waits for it; else says to submit a single read (now
/// counted in flight). All under the stash lock, so no other read of the stream slips
/// in between.
fn take_stash_or_start(
    fd: &Arc<FdInner>,
    cx: &mut Context<'_>,
    dst: &mut impl Dest,
) -> Poll<Start> {
    let mut st = fd.stash();
    if let Some(n) = take_queued(&mut st, dst) {
        return Poll::Ready(Start::Stashed(n));
    }
    let wait = |st: &mut Stash| {
        st.waiters.add(cx.waker());
        Poll::Pending
    };
    if st.in_flight > 0 || st.multi.is_some() {
        return wait(&mut st);
    }
    if st.eof {
        return Poll::Ready(Start::Stashed(0));
    }
    if let Some(e) = st.error.take() {
        return Poll::Ready(Start::Direct(Err(std::io::Error::from_raw_os_error(e))));
    }
    // With no receive armed, the kernel has taken no byte we have not seen: a direct
    // receive keeps the order.
    if fd.socket && dst.room() > 0 && !fd.drained.load(Ordering::Relaxed) {
        match try_recv(fd, dst) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            res => {
                if let Ok(n) = res {
                    fd.note_read(n);
                }
                return Poll::Ready(Start::Direct(res));
            }
        }
    }
    if fd.multishot
        && !fd.bulk.load(Ordering::Relaxed)
        && fd.small.load(Ordering::Relaxed)
        && dst.room() > 0
    {
        // If the buffers ran out last time: one single read, then arm again.
        if !std::mem::take(&mut st.nobufs) && op::recv_multi::arm(fd, &mut st) {
            return wait(&mut st);
        }
    }
    st.in_flight += 1;
    Poll::Ready(Start::Submit)
}

impl IoFd {
    /// Reads from the stream into `buf` (from its start, up to its capacity) and gives
    /// the buffer back with the number of bytes read (0 at end of stream).
    ///
    /// Cancel-safe: a read dropped before it completes loses no data; bytes the kernel
    /// delivered to it are returned by the next read.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// sched.block_on(async {
    ///     let (a, b) = modes::io::IoFd::socket_pair().unwrap();
    ///     let _ = a.write(b"abc".to_vec()).await;
    ///     let (n, buf) = b.read(Vec::with_capacity(2)).await;
    ///     assert_eq!((n.unwrap(), &buf[..]), (2, &b"ab"[..]));
    /// });
    /// ```
    pub async fn read<B: IoBufMut>(&self, mut buf: B) -> (std::io::Result<usize>, B) {
        if let Err(e) = super::check_runtime() {
            return (Err(e), buf);
        }
        match &self.0.kind {
            Kind::Uring => {
                let start =
                    poll_fn(|cx| take_stash_or_start(&self.0, cx, &mut Owned(&mut buf))).await;
                match start {
                    Start::Stashed(n) => return (Ok(n), buf),
                    Start::Direct(res) => return (res, buf),
                    Start::Submit => {}
                }
                op::wait(op::read::stream_read(
                    self.0.clone(),
                    buf,
                    usize::MAX,
                    false,
                ))
                .await
            }
            Kind::Ready(src) => {
                let fd = &self.0;
                let b = &mut buf;
                let res = src
                    .io(Direction::Read, move || {
                        buf::read_into(&mut *b, |dst| Ok(rustix::io::read(&fd.fd, dst)?.0))
                    })
                    .await;
                (res, buf)
            }
            Kind::Blocking => self.read_at(buf, u64::MAX).await,
        }
    }

    /// Writes `buf`'s bytes to the stream; returns how many were written (possibly
    /// fewer) and the buffer.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// sched.block_on(async {
    ///     let (a, _b) = modes::io::IoFd::socket_pair().unwrap();
    ///     let (n, buf) = a.write(vec![7u8; 10]).await;
    ///     assert_eq!(n.unwrap(), 10);
    ///     assert_eq!(buf.len(), 10); // the buffer comes back
    /// });
    /// ```
    pub async fn write<B: IoBuf>(&self, mut buf: B) -> (std::io::Result<usize>, B) {
        if let Err(e) = super::check_runtime() {
            return (Err(e), buf);
        }
        match &self.0.kind {
            Kind::Uring => {
                // Sockets: a send that fits in the socket buffer (the common case) is one
                // non-blocking syscall, with no completion to wait for; only a full
                // buffer goes through the ring, which waits for room.
                if self.0.socket {
                    match try_send(&self.0, buf.as_bytes()) {
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        res => return (res, buf),
                    }
                }
                op::wait(op::write::stream_write(self.0.clone(), buf)).await
            }
            Kind::Ready(src) => {
                let fd = &self.0;
                let b = &mut buf;
                let res = src
                    .io(Direction::Write, move || {
                        send(fd, b.as_bytes(), SendFlags::empty())
                    })
                    .await;
                (res, buf)
            }
            Kind::Blocking => self.write_at(buf, u64::MAX).await,
        }
    }

    /// The poll form of [`read`](IoFd::read) into a borrowed slice (for `AsyncRead`);
    /// `state` keeps the operation in flight between polls.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// sched.block_on(async {
    ///     let (a, b) = modes::io::IoFd::socket_pair().unwrap();
    ///     let _ = a.write(b"hey".to_vec()).await;
    ///     let mut state = modes::io::PollState::default();
    ///     let mut dst = [0u8; 8];
    ///     let n = poll_fn(|cx| b.poll_read(cx, &mut dst, &mut state)).await.unwrap();
    ///     assert_eq!(&dst[..n], b"hey");
    /// });
    /// ```
    pub fn poll_read(
        &self,
        cx: &mut Context<'_>,
        dst: &mut [u8],
        state: &mut PollState,
    ) -> Poll<std::io::Result<usize>> {
        // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and the read only ever writes
        // initialised bytes into `dst` (the `Dest` contract), so it stays initialised.
        let dst = unsafe { &mut *(dst as *mut [u8] as *mut [MaybeUninit<u8>]) };
        self.poll_read_dest(cx, dst, state)
    }

    /// [`poll_read`](IoFd::poll_read) into memory that need not be initialised (what
    /// hyper's `ReadBufCursor` and tokio's `ReadBuf` hand out): `Ready(Ok(n))` means
    /// the first `n` bytes of `dst` are now initialised with what was read; nothing
    /// else in `dst` is written. It saves the caller zero-filling memory that the read
    /// overwrites anyway.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::mem::MaybeUninit;
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// sched.block_on(async {
    ///     let (a, b) = modes::io::IoFd::socket_pair().unwrap();
    ///     let _ = a.write(b"hey".to_vec()).await;
    ///     let mut state = modes::io::PollState::default();
    ///     let mut dst = [MaybeUninit::<u8>::uninit(); 8];
    ///     let n = poll_fn(|cx| b.poll_read_uninit(cx, &mut dst, &mut state)).await.unwrap();
    ///     // SAFETY: the read initialised the first `n` bytes.
    ///     let read: Vec<u8> = dst[..n].iter().map(|b| unsafe { b.assume_init() }).collect();
    ///     assert_eq!(read, b"hey");
    /// });
    /// ```
    #[doc(alias = "ReadBuf")]
    pub fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        dst: &mut [MaybeUninit<u8>],
        state: &mut PollState,
    ) -> Poll<std::io::Result<usize>> {
        self.poll_read_dest(cx, dst, state)
    }

    /// The poll read behind both forms: `dst` is only written, from its start.
    fn poll_read_dest<D: Dest>(
        &self,
        cx: &mut Context<'_>,
        mut dst: D,
        state: &mut PollState,
    ) -> Poll<std::io::Result<usize>> {
        super::check_runtime()?;
        if dst.room() == 0 {
            return Poll::Ready(Ok(0));
        }
        match &self.0.kind {
            Kind::Uring => loop {
                if let Some(op) = &mut state.read {
                    let (res, buf) = std::task::ready!(Pin::new(op).poll(cx));
                    state.read = None;
                    let n = *res.as_ref().unwrap_or(&0);
                    let n = n.min(buf.len());
                    let k = dst.copy_in(0, &buf[..n]);
                    // One lock: what did not fit goes in front of the stash, and only
                    // then does the read stop counting, so no other read slips between.
                    let waiters = {
                        let mut st = self.0.stash();
                        if k < n {
                            let rest = st.available().to_vec();
                            st.data.clear();
                            st.pos = 0;
                            st.data.extend_from_slice(&buf[k..n]);
                            st.data.extend_from_slice(&rest);
                        }
                        st.in_flight -= 1;
                        st.waiters.take()
                    };
                    waiters.wake();
                    // The buffer is kept for the next read: no allocation per read.
                    let mut buf = buf;
                    buf.clear();
                    state.spare = buf;
                    res?;
                    return Poll::Ready(Ok(k));
                }
                let len = dst.room();
                let start = std::task::ready!(take_stash_or_start(&self.0, cx, &mut dst));
                match start {
                    Start::Stashed(n) => return Poll::Ready(Ok(n)),
                    Start::Direct(res) => return Poll::Ready(res),
                    Start::Submit => {
                        // The ring writes into a buffer of the stream's own (the caller's
                        // slice may be gone by the time it completes), reused read after
                        // read, and asked for no more than fits in `dst`.
                        let want = len.min(MAX_POLL_READ);
                        let mut tmp = std::mem::take(&mut state.spare);
                        tmp.clear();
                        tmp.reserve(want);
                        match op::read::stream_read(self.0.clone(), tmp, want, true) {
                            Ok(op) => state.read = Some(op),
                            Err((e, data)) => {
                                data.finished();
                                return Poll::Ready(Err(e));
                            }
                        }
                    }
                }
            },
            Kind::Ready(src) => src.poll_io(Direction::Read, cx, || dst.read(&self.0)),
            // A file is always "ready".
            Kind::Blocking => Poll::Ready(dst.read(&self.0)),
        }
    }

    /// The poll form of [`write`](IoFd::write) from a borrowed slice (for
    /// `AsyncWrite`). `Pending` means nothing was written: the bytes are sent by a
    /// non-blocking send inside this call; when the socket buffer is full, the ring (or
    /// the reactor) waits for room and the next poll sends.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// sched.block_on(async {
    ///     let (a, b) = modes::io::IoFd::socket_pair().unwrap();
    ///     let mut state = modes::io::PollState::default();
    ///     let n = poll_fn(|cx| a.poll_write(cx, b"yo", &mut state)).await.unwrap();
    ///     assert_eq!(n, 2);
    ///     let (_, buf) = b.read(Vec::with_capacity(4)).await;
    ///     assert_eq!(buf, b"yo");
    /// });
    /// ```
    pub fn poll_write(
        &self,
        cx: &mut Context<'_>,
        src: &[u8],
        state: &mut PollState,
    ) -> Poll<std::io::Result<usize>> {
        super::check_runtime()?;
        match &self.0.kind {
            Kind::Uring => loop {
                // `Pending` must mean "nothing written" (the AsyncWrite contract: the
                // caller may come back with other bytes, or never). So the bytes go out
                // only here, in a non-blocking send; the ring is used to wait for
                // writability (a poll request) when the socket buffer is full.
                if let Some(op) = &mut state.write {
                    let res = std::task::ready!(Pin::new(op).poll(cx));
                    state.write = None;
                    res?;
                }
                match try_send(&self.0, src) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        match op::poll::writable(self.0.clone()) {
                            Ok(op) => state.write = Some(op),
                            Err((e, _)) => return Poll::Ready(Err(e)),
                        }
                    }
                    res => return Poll::Ready(res),
                }
            },
            Kind::Ready(source) => source.poll_io(Direction::Write, cx, || {
                send(&self.0, src, SendFlags::empty())
            }),
            Kind::Blocking => Poll::Ready(rustix::io::write(&self.0.fd, src).map_err(io_err)),
        }
    }
}
