//! [`IoFd`]: a descriptor bound to one I/O backend.
//!
//! Every io_uring operation holds a clone of the descriptor's `Arc<FdInner>` until its
//! completion is reaped, so the descriptor number is closed only when no SQE naming it
//! can still be submitted or run: a number is never reused under an operation in flight.

use crate::loom::{Mutex, MutexGuard};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
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

/// Bytes a cancelled stream read received after its future was dropped, kept for the
/// next read so that no received data is lost (io_uring only).
#[derive(Default)]
pub(crate) struct Stash {
    pub(crate) data: Vec<u8>,
    pub(crate) pos: usize,
    /// Stream reads in flight (from submission until their result is collected or
    /// stashed): a new read waits for them, so bytes are handed out in arrival order.
    pub(crate) in_flight: usize,
    pub(crate) waiters: Vec<Waker>,
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
    pub(crate) drained: std::sync::atomic::AtomicBool,
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
#[derive(Clone)]
pub struct IoFd(pub(crate) Arc<FdInner>);

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
        Ok(IoFd(Arc::new(FdInner {
            kind,
            socket: pollable,
            drained: std::sync::atomic::AtomicBool::new(false),
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
