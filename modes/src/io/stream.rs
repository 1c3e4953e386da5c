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
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use io_uring::{opcode, types};

use super::buf::{IoBuf, IoBufMut};
use super::fd::{FdInner, IoFd, Kind, PollState};
use super::ready::Direction;
use super::uring::{self, Completion};

/// A raw pointer that may cross threads inside a future: it points into a buffer the
/// same future owns.
#[derive(Clone, Copy)]
pub(crate) struct SendPtr(pub(crate) usize);

pub(crate) fn result(res: i32) -> std::io::Result<usize> {
    if res < 0 {
        Err(std::io::Error::from_raw_os_error(-res))
    } else {
        Ok(res as usize)
    }
}

pub(crate) fn cvt_size(r: isize) -> std::io::Result<usize> {
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// An io_uring stream read into `buf`.
pub(crate) struct StreamRead<B> {
    pub(crate) buf: B,
    pub(crate) fd: Arc<FdInner>,
    /// The `poll_read` path: its caller ends the read's count itself, in the same stash
    /// lock as it puts back what did not fit, so no other read slips in between.
    pub(crate) poll: bool,
    /// The bytes the read asked for (at most the buffer's capacity).
    pub(crate) asked: usize,
}

impl<B> StreamRead<B> {
    fn finished(&self) {
        let waiters = {
            let mut st = self.fd.stash();
            st.in_flight -= 1;
            std::mem::take(&mut st.waiters)
        };
        for w in waiters {
            w.wake();
        }
    }
}

impl<B: IoBufMut> Completion for StreamRead<B> {
    type Output = (std::io::Result<usize>, B);

    fn failed(self, e: std::io::Error) -> Self::Output {
        self.finished();
        (Err(e), self.buf)
    }

    fn complete(mut self, res: i32, _flags: u32) -> Self::Output {
        if !self.poll {
            self.finished();
        }
        if res >= 0 {
            let drained = (res as usize) < self.asked;
            self.fd
                .drained
                .store(drained, std::sync::atomic::Ordering::Relaxed);
            // SAFETY: the kernel wrote `res` bytes at the start of the buffer.
            unsafe { self.buf.set_init(res as usize) };
        }
        (result(res), self.buf)
    }

    fn abandoned(self, res: i32, _flags: u32) {
        if res > 0 {
            let n = (res as usize).min(self.asked);
            // SAFETY: the kernel wrote `n` bytes at the start of the buffer (exactly
            // these, whatever the buffer counts as initialised: a boxed slice counts all).
            let got = unsafe { std::slice::from_raw_parts(self.buf.stable_ptr(), n) };
            self.fd.stash().data.extend_from_slice(got);
        }
        self.finished();
    }
}

/// An io_uring write of `buf`'s bytes (positional when `pos` is set on the entry).
pub(crate) struct Write<B> {
    pub(crate) buf: B,
    pub(crate) _fd: Arc<FdInner>,
}

impl<B: IoBuf> Completion for Write<B> {
    type Output = (std::io::Result<usize>, B);

    fn failed(self, e: std::io::Error) -> Self::Output {
        (Err(e), self.buf)
    }

    fn complete(self, res: i32, _flags: u32) -> Self::Output {
        (result(res), self.buf)
    }
}

/// The most one `poll_read` asks the ring for (the size of the stream's own buffer).
const MAX_POLL_READ: usize = 64 * 1024;

/// `IORING_RECVSEND_POLL_FIRST`.
const POLL_FIRST: u16 = 1;

fn read_entry(fd: &FdInner, ptr: *mut u8, len: u32) -> io_uring::squeue::Entry {
    let raw = types::Fd(std::os::fd::AsRawFd::as_raw_fd(&fd.fd));
    if fd.socket {
        // A socket the last read drained (fewer bytes than asked) most likely has nothing
        // now: wait for data first instead of a receive attempt that would fail.
        let drained = fd.drained.load(std::sync::atomic::Ordering::Relaxed);
        let ioprio = if drained { POLL_FIRST } else { 0 };
        opcode::Recv::new(raw, ptr, len).ioprio(ioprio).build()
    } else {
        opcode::Read::new(raw, ptr, len).offset(u64::MAX).build()
    }
}

fn write_entry(fd: &FdInner, ptr: *const u8, len: u32) -> io_uring::squeue::Entry {
    let raw = types::Fd(std::os::fd::AsRawFd::as_raw_fd(&fd.fd));
    if fd.socket {
        // MSG_NOSIGNAL: a closed peer is an EPIPE error, not a SIGPIPE.
        opcode::Send::new(raw, ptr, len)
            .flags(libc::MSG_NOSIGNAL)
            .build()
    } else {
        opcode::Write::new(raw, ptr, len).offset(u64::MAX).build()
    }
}

/// One non-blocking send on a socket (or write on another descriptor; a non-socket
/// never reports `WouldBlock` here, as it is in blocking mode).
fn try_send(fd: &FdInner, src: &[u8]) -> std::io::Result<usize> {
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd.fd);
    loop {
        // SAFETY: reads `src.len()` bytes of `src`.
        let r = cvt_size(unsafe {
            if fd.socket {
                libc::send(
                    raw,
                    src.as_ptr().cast(),
                    src.len(),
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            } else {
                libc::write(raw, src.as_ptr().cast(), src.len())
            }
        });
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// An io_uring poll request: completes when the descriptor is ready.
pub(crate) struct PollFor {
    _fd: Arc<FdInner>,
}

impl Completion for PollFor {
    type Output = std::io::Result<()>;

    fn failed(self, e: std::io::Error) -> Self::Output {
        Err(e)
    }

    fn complete(self, res: i32, _flags: u32) -> Self::Output {
        result(res).map(drop)
    }
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

/// One non-blocking receive of up to `len` bytes at `dst` on a socket; records whether it
/// drained the socket.
///
/// # Safety
/// `dst` points to `len` writable bytes.
unsafe fn try_recv(fd: &FdInner, dst: *mut u8, len: usize) -> std::io::Result<usize> {
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd.fd);
    loop {
        // SAFETY: the caller's contract: `len` writable bytes at `dst`.
        let r = cvt_size(unsafe { libc::recv(raw, dst.cast(), len, libc::MSG_DONTWAIT) });
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                fd.drained.store(true, std::sync::atomic::Ordering::Relaxed);
                return Err(e);
            }
            Ok(n) => {
                fd.drained
                    .store(n < len, std::sync::atomic::Ordering::Relaxed);
                return Ok(n);
            }
            r => return r,
        }
    }
}

/// Hands stashed bytes to `take` (which copies what fits and says how many); else, on a
/// socket whose last read filled its buffer (more is likely waiting), receives straight
/// into `direct` (`len` bytes at a pointer) without the ring: no completion to wait for,
/// no wake, no copy; else says to submit a read (now counted in flight). All under the
/// stash lock, so no other read of the stream slips in between.
///
/// # Safety
/// `direct`, if given, points to writable bytes of the given length, not otherwise
/// borrowed during this call.
unsafe fn take_stash_or_start(
    fd: &FdInner,
    cx: &mut Context<'_>,
    take: impl FnOnce(&[u8]) -> usize,
    direct: Option<(*mut u8, usize)>,
) -> Poll<Start> {
    let mut st = fd.stash();
    let avail = st.available();
    if !avail.is_empty() {
        let n = take(avail);
        st.consume(n);
        return Poll::Ready(Start::Stashed(n));
    }
    if st.in_flight > 0 {
        if !st.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            st.waiters.push(cx.waker().clone());
        }
        return Poll::Pending;
    }
    if let Some((ptr, len)) = direct {
        if fd.socket && len > 0 && !fd.drained.load(std::sync::atomic::Ordering::Relaxed) {
            // SAFETY: the caller's contract on `direct`.
            match unsafe { try_recv(fd, ptr, len) } {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                res => return Poll::Ready(Start::Direct(res)),
            }
        }
    }
    st.in_flight += 1;
    Poll::Ready(Start::Submit)
}

/// Copies the start of `src` into `buf` (up to its capacity) and makes that its contents.
fn fill<B: IoBufMut>(buf: &mut B, src: &[u8]) -> usize {
    let n = src.len().min(buf.bytes_total());
    // SAFETY: `n` fits in the buffer's capacity; the regions do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), buf.stable_mut_ptr(), n);
        buf.set_init(n);
    }
    n
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
                let start = poll_fn(|cx| {
                    let direct = Some((buf.stable_mut_ptr(), buf.bytes_total()));
                    // SAFETY: `direct` is `buf`'s memory, `bytes_total` bytes of it
                    // writable; `buf` is touched meanwhile only by `take`, which runs
                    // instead of the direct receive, never with it.
                    unsafe { take_stash_or_start(&self.0, cx, |s| fill(&mut buf, s), direct) }
                })
                .await;
                match start {
                    Start::Stashed(n) => return (Ok(n), buf),
                    Start::Direct(res) => {
                        if let Ok(n) = res {
                            // SAFETY: the kernel wrote `n` bytes at the start of the buffer.
                            unsafe { buf.set_init(n) };
                        }
                        return (res, buf);
                    }
                    Start::Submit => {}
                }
                let ptr = buf.stable_mut_ptr();
                let len = buf.bytes_total().min(u32::MAX as usize) as u32;
                let entry = read_entry(&self.0, ptr, len);
                let data = StreamRead {
                    buf,
                    fd: self.0.clone(),
                    poll: false,
                    asked: len as usize,
                };
                // SAFETY: the entry points into `buf`'s heap memory, owned by `data`.
                unsafe { uring::run(entry, data) }.await
            }
            Kind::Ready(src) => {
                let fd = self.as_raw_fd();
                let ptr = SendPtr(buf.stable_mut_ptr() as usize);
                let len = buf.bytes_total();
                let res = src
                    .io(Direction::Read, || {
                        // SAFETY: writes at most `len` bytes into `buf`, which this
                        // future owns and does not touch meanwhile.
                        cvt_size(unsafe { libc::read(fd, ptr.0 as *mut libc::c_void, len) })
                    })
                    .await;
                if let Ok(n) = res {
                    // SAFETY: the kernel wrote `n` bytes at the start of the buffer.
                    unsafe { buf.set_init(n) };
                }
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
    pub async fn write<B: IoBuf>(&self, buf: B) -> (std::io::Result<usize>, B) {
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
                let len = buf.bytes_init().min(u32::MAX as usize) as u32;
                let entry = write_entry(&self.0, buf.stable_ptr(), len);
                let data = Write {
                    buf,
                    _fd: self.0.clone(),
                };
                // SAFETY: the entry points into `buf`'s heap memory, owned by `data`.
                unsafe { uring::run(entry, data) }.await
            }
            Kind::Ready(src) => {
                let fd = self.as_raw_fd();
                let ptr = SendPtr(buf.stable_ptr() as usize);
                let len = buf.bytes_init();
                let res = src
                    .io(Direction::Write, || {
                        // SAFETY: reads `len` initialised bytes of `buf`, owned by this
                        // future. MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE.
                        cvt_size(unsafe {
                            libc::send(fd, ptr.0 as *const libc::c_void, len, libc::MSG_NOSIGNAL)
                        })
                        .or_else(|e| {
                            if e.raw_os_error() == Some(libc::ENOTSOCK) {
                                // SAFETY: as above, for a pipe.
                                cvt_size(unsafe {
                                    libc::write(fd, ptr.0 as *const libc::c_void, len)
                                })
                            } else {
                                Err(e)
                            }
                        })
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
        super::check_runtime()?;
        if dst.is_empty() {
            return Poll::Ready(Ok(0));
        }
        match &self.0.kind {
            Kind::Uring => loop {
                if let Some(op) = &mut state.read {
                    let (res, buf) = std::task::ready!(Pin::new(op).poll(cx));
                    state.read = None;
                    let n = *res.as_ref().unwrap_or(&0);
                    let n = n.min(buf.len());
                    let k = n.min(dst.len());
                    dst[..k].copy_from_slice(&buf[..k]);
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
                        std::mem::take(&mut st.waiters)
                    };
                    for w in waiters {
                        w.wake();
                    }
                    // The buffer is kept for the next read: no allocation per read.
                    let mut buf = buf;
                    buf.clear();
                    state.spare = buf;
                    res?;
                    return Poll::Ready(Ok(k));
                }
                let (ptr, len) = (dst.as_mut_ptr(), dst.len());
                let copy = |src: &[u8]| {
                    let n = src.len().min(dst.len());
                    dst[..n].copy_from_slice(&src[..n]);
                    n
                };
                // SAFETY: `ptr` is `dst`'s memory, `len` bytes; `dst` is touched meanwhile
                // only by `copy`, which runs instead of the direct receive, never with it.
                let start = std::task::ready!(unsafe {
                    take_stash_or_start(&self.0, cx, copy, Some((ptr, len)))
                });
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
                        let entry = read_entry(&self.0, tmp.as_mut_ptr(), want as u32);
                        let data = StreamRead {
                            buf: tmp,
                            fd: self.0.clone(),
                            poll: true,
                            asked: want,
                        };
                        // SAFETY: the entry points into `tmp`'s heap memory, owned by
                        // `data`.
                        match unsafe { uring::submit(entry, data) } {
                            Ok(op) => state.read = Some(op),
                            Err((e, data)) => {
                                data.finished();
                                return Poll::Ready(Err(e));
                            }
                        }
                    }
                }
            },
            Kind::Ready(src) => {
                let fd = self.as_raw_fd();
                src.poll_io(Direction::Read, cx, || {
                    // SAFETY: writes at most `dst.len()` bytes into `dst`.
                    cvt_size(unsafe { libc::read(fd, dst.as_mut_ptr().cast(), dst.len()) })
                })
            }
            Kind::Blocking => {
                let fd = self.as_raw_fd();
                // SAFETY: a file read into `dst`; files are always "ready".
                Poll::Ready(cvt_size(unsafe {
                    libc::read(fd, dst.as_mut_ptr().cast(), dst.len())
                }))
            }
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
                        let entry =
                            opcode::PollAdd::new(types::Fd(self.as_raw_fd()), libc::POLLOUT as u32)
                                .build();
                        let data = PollFor {
                            _fd: self.0.clone(),
                        };
                        // SAFETY: a poll request carries no buffer; `data` keeps the
                        // descriptor open.
                        match unsafe { uring::submit(entry, data) } {
                            Ok(op) => state.write = Some(op),
                            Err((e, _)) => return Poll::Ready(Err(e)),
                        }
                    }
                    res => return Poll::Ready(res),
                }
            },
            Kind::Ready(source) => {
                let fd = self.as_raw_fd();
                source.poll_io(Direction::Write, cx, || {
                    // SAFETY: reads `src.len()` bytes of `src`.
                    cvt_size(unsafe {
                        libc::send(fd, src.as_ptr().cast(), src.len(), libc::MSG_NOSIGNAL)
                    })
                })
            }
            Kind::Blocking => {
                let fd = self.as_raw_fd();
                // SAFETY: a file write from `src`.
                Poll::Ready(cvt_size(unsafe {
                    libc::write(fd, src.as_ptr().cast(), src.len())
                }))
            }
        }
    }
}
