//! [`IoFd`]: a descriptor bound to one I/O backend.
//!
//! Every io_uring operation holds a clone of the descriptor's `Arc<FdInner>` until its
//! completion is reaped, so the descriptor number is closed only when no SQE naming it
//! can still be submitted or run: a number is never reused under an operation in flight.

use crate::loom::{Mutex, MutexGuard};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Waker;

use socket2::{Domain, SockRef, Type};

use super::accept::Backlog;
use super::ready::Source;

pub(crate) enum Kind {
    /// Operations go to an io_uring ring.
    Uring,
    /// A non-blocking socket on the readiness reactor.
    Ready(Arc<Source>),
    /// A file under the readiness backend: operations run on the blocking pool.
    Blocking,
}

/// What a stream has received and not yet handed out (io_uring only): bytes a cancelled
/// single read received after its future was dropped, and the chunks its multishot
/// receive queued (`uring/op/recv_multi.rs`), in that order; and the state of both kinds
/// of read.
#[derive(Default)]
pub(crate) struct Stash {
    pub(crate) data: Vec<u8>,
    pub(crate) pos: usize,
    /// Provided buffers the multishot receive filled, oldest first.
    pub(crate) chunks: std::collections::VecDeque<crate::driver::bufs::Chunk>,
    /// The armed multishot receive, if any.
    pub(crate) multi: Option<std::sync::Weak<super::uring::op::recv_multi::MultiRecv>>,
    /// The multishot receive saw the end of the stream.
    pub(crate) eof: bool,
    /// The error that ended the multishot receive, for the next read.
    pub(crate) error: Option<i32>,
    /// The multishot receive ended for want of buffers: the next read with nothing
    /// queued does one single receive before it re-arms.
    pub(crate) nobufs: bool,

    /// Stream reads in flight (from submission until their result is collected or
    /// stashed): a new read waits for them, so bytes are handed out in arrival order.
    pub(crate) in_flight: usize,
    pub(crate) waiters: Waiters,
}

/// The tasks waiting on a stream's reads. Nearly always one (the stream's reader), kept
/// without allocating: a `Vec` taken out to wake its wakers outside the lock left no
/// capacity behind, so the next wait allocated again (a `malloc` and a `free` per
/// request in a profile of hyper on this runtime).
#[derive(Default)]
pub(crate) struct Waiters {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl Waiters {
    /// Adds `w`, unless a waker that wakes the same task is there already.
    pub(crate) fn add(&mut self, w: &Waker) {
        match &self.first {
            None => self.first = Some(w.clone()),
            Some(f) if f.will_wake(w) => {}
            Some(_) => {
                if !self.rest.iter().any(|r| r.will_wake(w)) {
                    self.rest.push(w.clone());
                }
            }
        }
    }

    /// Takes every waiter out (to wake them once the lock is released).
    pub(crate) fn take(&mut self) -> Waiters {
        std::mem::take(self)
    }

    /// Wakes every waiter.
    pub(crate) fn wake(self) {
        if let Some(f) = self.first {
            f.wake();
        }
        for w in self.rest {
            w.wake();
        }
    }
}

impl Stash {
    pub(crate) fn available(&self) -> &[u8] {
        &self.data[self.pos..]
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.pos += n;
        if self.pos == self.data.len() {
            self.data.clear();
            self.pos = 0;
        }
    }
}

pub(crate) struct FdInner {
    // Field order matters: the reactor source is dropped (deregistered) before the
    // descriptor is closed.
    pub(crate) kind: Kind,
    /// A socket (send/recv flags apply), not a file or pipe.
    pub(crate) socket: bool,
    /// The last stream read returned fewer bytes than it asked for (io_uring reads then
    /// wait for data before trying).
    pub(crate) drained: AtomicBool,
    /// A stream socket on io_uring: its reads may use a multishot receive (a datagram
    /// socket's may not, as chunks would merge its messages).
    pub(crate) multishot: bool,
    /// The stream carries bulk data (a read or a multishot completion got a provided
    /// buffer's worth, 16 KiB, or more at once): its reads no longer arm a multishot
    /// receive.
    pub(crate) bulk: AtomicBool,
    /// The last read received a message-sized amount (1 byte to under 16 KiB): only
    /// then does a read arm a multishot receive, so a bulk stream's first burst is not
    /// cut into provided buffers (up to all 4 MiB of them) before it is recognised.
    pub(crate) small: AtomicBool,
    /// Live `IoFd` handles (operations hold the `Arc` too): the last one's drop ends the
    /// multishot receive, which otherwise keeps the descriptor open.
    pub(crate) users: AtomicUsize,
    pub(crate) stash: Mutex<Stash>,
    /// Connections cancelled accepts took, for the next accept (listeners, io_uring).
    pub(crate) backlog: Mutex<Backlog>,
    pub(crate) fd: OwnedFd,
}

impl FdInner {
    pub(crate) fn stash(&self) -> MutexGuard<'_, Stash> {
        self.stash.lock()
    }

    pub(crate) fn backlog(&self) -> MutexGuard<'_, Backlog> {
        self.backlog.lock()
    }

    /// Records the size of a read's result for the multishot rule (`bulk`, `small`).
    pub(crate) fn note_read(&self, n: usize) {
        if n >= crate::driver::bufs::SIZE {
            self.bulk.store(true, Ordering::Relaxed);
        }
        self.small
            .store(n > 0 && n < crate::driver::bufs::SIZE, Ordering::Relaxed);
    }
}

/// A socket or file descriptor whose operations run on the current runtime's I/O
/// backend: its io_uring ring, or the readiness reactor (sockets) and blocking pool
/// (files). Cloning shares the descriptor; it is closed when the last clone and the
/// last operation on it are gone.
///
/// ```
/// use modes::io::IoFd;
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// sched.block_on(async {
///     let (a, b) = IoFd::socket_pair().unwrap();
///     let (res, _) = a.write(b"ping".to_vec()).await;
///     assert_eq!(res.unwrap(), 4);
///     let (res, buf) = b.read(Vec::with_capacity(16)).await;
///     assert_eq!(res.unwrap(), 4);
///     assert_eq!(buf, b"ping");
/// });
/// ```
pub struct IoFd(pub(crate) Arc<FdInner>);

impl Clone for IoFd {
    fn clone(&self) -> IoFd {
        self.0.users.fetch_add(1, Ordering::Relaxed);
        IoFd(self.0.clone())
    }
}

impl Drop for IoFd {
    /// The last handle ends the stream's multishot receive, if one is armed (its final
    /// completion then drops the descriptor's last count and closes it).
    fn drop(&mut self) {
        if self.0.users.fetch_sub(1, Ordering::AcqRel) == 1 {
            let multi = self.0.stash().multi.clone();
            if let Some(m) = multi {
                super::uring::op::recv_multi::disarm(&m);
            }
        }
    }
}

impl std::fmt::Debug for IoFd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.0.kind {
            Kind::Uring => "io_uring",
            Kind::Ready(_) => "readiness",
            Kind::Blocking => "blocking pool",
        };
        f.debug_struct("IoFd")
            .field("fd", &self.0.fd.as_raw_fd())
            .field("backend", &backend)
            .finish()
    }
}

impl IoFd {
    /// Binds `fd` to the current runtime's backend. A socket (`pollable`) becomes
    /// blocking for io_uring (the ring waits for it) or non-blocking on the readiness
    /// reactor; a file (`!pollable`) goes to the ring or the blocking pool.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let file = std::fs::File::open("/dev/null").unwrap();
    /// let fd = sched.block_on(async { modes::io::IoFd::new(file.into(), false) }).unwrap();
    /// assert!(fd.as_raw_fd() >= 0);
    /// assert!(modes::io::IoFd::new(std::fs::File::open("/dev/null").unwrap().into(), false).is_err()); // no runtime here
    /// ```
    pub fn new(fd: OwnedFd, pollable: bool) -> std::io::Result<IoFd> {
        let uring = super::current_backend().ok_or_else(super::no_runtime)?;
        let kind = match (uring, pollable) {
            (true, true) => {
                rustix::io::ioctl_fionbio(&fd, false)?;
                Kind::Uring
            }
            (true, false) => Kind::Uring,
            (false, true) => {
                rustix::io::ioctl_fionbio(&fd, true)?;
                Kind::Ready(Source::register(fd.as_fd())?)
            }
            (false, false) => Kind::Blocking,
        };
        let multishot = matches!(kind, Kind::Uring)
            && pollable
            && SockRef::from(&fd).r#type().is_ok_and(|t| t == Type::STREAM);
        Ok(IoFd(Arc::new(FdInner {
            kind,
            socket: pollable,
            drained: AtomicBool::new(false),
            multishot,
            bulk: AtomicBool::new(false),
            small: AtomicBool::new(false),
            users: AtomicUsize::new(1),
            stash: Mutex::new(Stash::default()),
            backlog: Mutex::new(Backlog::default()),
            fd,
        })))
    }

    /// A new socket (`socket(2)` with `SOCK_CLOEXEC`) on the current backend.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let s = sched.block_on(async { modes::io::IoFd::socket(libc::AF_INET, libc::SOCK_STREAM) });
    /// assert!(s.is_ok());
    /// ```
    pub fn socket(domain: i32, ty: i32) -> std::io::Result<IoFd> {
        // socket2 opens it close-on-exec.
        let s = socket2::Socket::new(Domain::from(domain), Type::from(ty), None)?;
        IoFd::new(s.into(), true)
    }

    /// A connected pair of Unix stream sockets on the current backend.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// assert!(sched.block_on(async { modes::io::IoFd::socket_pair() }).is_ok());
    /// ```
    pub fn socket_pair() -> std::io::Result<(IoFd, IoFd)> {
        // socket2 opens them close-on-exec.
        let (a, b) = socket2::Socket::pair(Domain::UNIX, Type::STREAM, None)?;
        Ok((IoFd::new(a.into(), true)?, IoFd::new(b.into(), true)?))
    }

    /// The descriptor number.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let (a, b) = sched.block_on(async { modes::io::IoFd::socket_pair() }).unwrap();
    /// assert_ne!(a.as_raw_fd(), b.as_raw_fd());
    /// ```
    pub fn as_raw_fd(&self) -> RawFd {
        self.0.fd.as_raw_fd()
    }

    /// `true` if this descriptor's operations go to io_uring.
    ///
    /// ```
    /// let cfg = modes::Config { io_uring: false, ..Default::default() };
    /// let (sched, _) = modes::Scheduler::single(&cfg);
    /// let (a, _b) = sched.block_on(async { modes::io::IoFd::socket_pair() }).unwrap();
    /// assert!(!a.is_uring());
    /// ```
    pub fn is_uring(&self) -> bool {
        matches!(self.0.kind, Kind::Uring)
    }

    /// The socket as socket2 sees it, for its typed socket options (`TCP_NODELAY`,
    /// `SO_REUSEADDR`, buffer sizes, ...), borrowed from this descriptor.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let s = sched.block_on(async { modes::io::IoFd::socket(libc::AF_INET, libc::SOCK_STREAM) }).unwrap();
    /// s.socket_ref().set_tcp_nodelay(true).unwrap();
    /// assert!(s.socket_ref().tcp_nodelay().unwrap());
    /// ```
    pub fn socket_ref(&self) -> SockRef<'_> {
        SockRef::from(&self.0.fd)
    }

    /// The local address (`getsockname`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let s = sched.block_on(async { modes::io::IoFd::socket(libc::AF_INET, libc::SOCK_STREAM) }).unwrap();
    /// s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// assert!(s.local_addr().unwrap().port() > 0);
    /// ```
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        super::sockaddr::name(&self.0.fd, false)
    }

    /// The peer's address (`getpeername`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let s = sched.block_on(async { modes::io::IoFd::socket(libc::AF_INET, libc::SOCK_STREAM) }).unwrap();
    /// assert!(s.peer_addr().is_err()); // not connected
    /// ```
    pub fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        super::sockaddr::name(&self.0.fd, true)
    }

    /// Binds the socket to `addr` (`bind(2)`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let s = sched.block_on(async { modes::io::IoFd::socket(libc::AF_INET, libc::SOCK_DGRAM) }).unwrap();
    /// assert!(s.bind("127.0.0.1:0".parse().unwrap()).is_ok());
    /// ```
    pub fn bind(&self, addr: std::net::SocketAddr) -> std::io::Result<()> {
        self.socket_ref().bind(&addr.into())
    }

    /// Marks the socket as listening (`listen(2)`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let s = sched.block_on(async { modes::io::IoFd::socket(libc::AF_INET, libc::SOCK_STREAM) }).unwrap();
    /// s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// assert!(s.listen(128).is_ok());
    /// ```
    pub fn listen(&self, backlog: i32) -> std::io::Result<()> {
        self.socket_ref().listen(backlog)
    }

    /// Shuts down one or both directions (`shutdown(2)`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// sched.block_on(async {
    ///     let (a, b) = modes::io::IoFd::socket_pair().unwrap();
    ///     a.shutdown(std::net::Shutdown::Write).unwrap();
    ///     let (n, _) = b.read(Vec::with_capacity(8)).await;
    ///     assert_eq!(n.unwrap(), 0); // end of stream
    /// });
    /// ```
    pub fn shutdown(&self, how: std::net::Shutdown) -> std::io::Result<()> {
        self.socket_ref().shutdown(how)
    }
}

/// The in-flight state of `IoFd::poll_read` / `poll_write` (io_uring needs a buffer of
/// its own behind a borrowed slice). Keep one per direction per reader/writer, e.g. in
/// the struct that implements `AsyncRead`/`AsyncWrite`.
///
/// ```
/// let state = modes::io::PollState::default();
/// drop(state);
/// ```
#[derive(Default)]
pub struct PollState {
    pub(crate) read: Option<super::uring::Op<super::uring::op::read::StreamRead<Vec<u8>>>>,
    pub(crate) write: Option<super::uring::Op<super::uring::op::poll::PollWritable>>,
    /// The buffer io_uring reads go into, kept between reads (empty, its capacity kept).
    pub(crate) spare: Vec<u8>,
}

impl std::fmt::Debug for PollState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollState")
            .field("read_in_flight", &self.read.is_some())
            .field("write_in_flight", &self.write.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    use super::Waiters;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn waiters_wake_each_task_once() {
        let (a, b, c) = (
            Arc::new(Count(AtomicUsize::new(0))),
            Arc::new(Count(AtomicUsize::new(0))),
            Arc::new(Count(AtomicUsize::new(0))),
        );
        let (wa, wb, wc) = (
            Waker::from(a.clone()),
            Waker::from(b.clone()),
            Waker::from(c.clone()),
        );
        let mut w = Waiters::default();
        for waker in [&wa, &wb, &wa, &wc, &wb, &wc] {
            w.add(waker);
        }
        let taken = w.take();
        // Taken out: a wait added now is the next wake's, not this one's.
        w.add(&wa);
        taken.wake();
        let counts = [&a, &b, &c].map(|x| x.0.load(Ordering::Relaxed));
        assert_eq!(counts, [1, 1, 1]);
        w.take().wake();
        assert_eq!(a.0.load(Ordering::Relaxed), 2);
        // Nothing left.
        w.take().wake();
        assert_eq!(a.0.load(Ordering::Relaxed), 2);
    }
}
