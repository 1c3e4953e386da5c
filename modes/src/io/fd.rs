//! [`IoFd`]: a descriptor bound to one I/O backend.
//!
//! Every io_uring operation holds a clone of the descriptor's `Arc<FdInner>` until its
//! completion is reaped, so the descriptor number is closed only when no SQE naming it
//! can still be submitted or run: a number is never reused under an operation in flight.

use crate::loom::{Mutex, MutexGuard};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::task::Waker;

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

pub(crate) fn cvt(r: libc::c_int) -> std::io::Result<libc::c_int> {
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn set_nonblocking(fd: RawFd, on: bool) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor we own; results checked.
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    let new = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if new != flags {
        // SAFETY: as above.
        cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, new) })?;
    }
    Ok(())
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
        let raw = fd.as_raw_fd();
        let kind = match (uring, pollable) {
            (true, true) => {
                set_nonblocking(raw, false)?;
                Kind::Uring
            }
            (true, false) => Kind::Uring,
            (false, true) => {
                set_nonblocking(raw, true)?;
                Kind::Ready(Source::register(raw)?)
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
        // SAFETY: socket(2) has no memory-safety preconditions; result checked.
        let fd = cvt(unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, 0) })?;
        // SAFETY: a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        IoFd::new(fd, true)
    }

    /// A connected pair of Unix stream sockets on the current backend.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// assert!(sched.block_on(async { modes::io::IoFd::socket_pair() }).is_ok());
    /// ```
    pub fn socket_pair() -> std::io::Result<(IoFd, IoFd)> {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors; result checked.
        cvt(unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        })?;
        // SAFETY: fresh descriptors nothing else owns.
        let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok((IoFd::new(a, true)?, IoFd::new(b, true)?))
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

    /// Sets an integer socket option (`setsockopt`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let s = sched.block_on(async { modes::io::IoFd::socket(libc::AF_INET, libc::SOCK_STREAM) }).unwrap();
    /// s.set_option(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1).unwrap();
    /// ```
    pub fn set_option(&self, level: i32, name: i32, value: i32) -> std::io::Result<()> {
        // SAFETY: passes a pointer to a live i32 and its size.
        cvt(unsafe {
            libc::setsockopt(
                self.as_raw_fd(),
                level,
                name,
                (&value as *const i32).cast(),
                std::mem::size_of::<i32>() as libc::socklen_t,
            )
        })
        .map(drop)
    }

    /// Reads an integer socket option (`getsockopt`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let s = sched.block_on(async { modes::io::IoFd::socket(libc::AF_INET, libc::SOCK_STREAM) }).unwrap();
    /// s.set_option(libc::IPPROTO_TCP, libc::TCP_NODELAY, 1).unwrap();
    /// assert_eq!(s.option(libc::IPPROTO_TCP, libc::TCP_NODELAY).unwrap(), 1);
    /// ```
    pub fn option(&self, level: i32, name: i32) -> std::io::Result<i32> {
        let mut v: i32 = 0;
        let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
        // SAFETY: passes a pointer to a live i32 and its size.
        cvt(unsafe {
            libc::getsockopt(
                self.as_raw_fd(),
                level,
                name,
                (&mut v as *mut i32).cast(),
                &mut len,
            )
        })?;
        Ok(v)
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
        super::sockaddr::name(self.as_raw_fd(), false)
    }

    /// The peer's address (`getpeername`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let s = sched.block_on(async { modes::io::IoFd::socket(libc::AF_INET, libc::SOCK_STREAM) }).unwrap();
    /// assert!(s.peer_addr().is_err()); // not connected
    /// ```
    pub fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        super::sockaddr::name(self.as_raw_fd(), true)
    }

    /// Binds the socket to `addr` (`bind(2)`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let s = sched.block_on(async { modes::io::IoFd::socket(libc::AF_INET, libc::SOCK_DGRAM) }).unwrap();
    /// assert!(s.bind("127.0.0.1:0".parse().unwrap()).is_ok());
    /// ```
    pub fn bind(&self, addr: std::net::SocketAddr) -> std::io::Result<()> {
        let raw = super::sockaddr::RawAddr::from_addr(&addr);
        // SAFETY: `raw` holds a valid address of `raw.len` bytes.
        cvt(unsafe { libc::bind(self.as_raw_fd(), raw.as_ptr(), raw.len) }).map(drop)
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
        // SAFETY: listen(2) on a descriptor we own.
        cvt(unsafe { libc::listen(self.as_raw_fd(), backlog) }).map(drop)
    }

    /// Shuts down one or both directions (`shutdown(2)`); `how` is `libc::SHUT_RD`,
    /// `SHUT_WR` or `SHUT_RDWR`.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// sched.block_on(async {
    ///     let (a, b) = modes::io::IoFd::socket_pair().unwrap();
    ///     a.shutdown(libc::SHUT_WR).unwrap();
    ///     let (n, _) = b.read(Vec::with_capacity(8)).await;
    ///     assert_eq!(n.unwrap(), 0); // end of stream
    /// });
    /// ```
    pub fn shutdown(&self, how: i32) -> std::io::Result<()> {
        // SAFETY: shutdown(2) on a descriptor we own.
        cvt(unsafe { libc::shutdown(self.as_raw_fd(), how) }).map(drop)
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
    pub(crate) read: Option<super::uring::Op<super::stream::StreamRead<Vec<u8>>>>,
    pub(crate) write: Option<super::uring::Op<super::stream::PollFor>>,
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
