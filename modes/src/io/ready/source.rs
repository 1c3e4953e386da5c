//! A registered fd and the waiting side of the protocol (in the parent module).

use crate::loom::Mutex;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::reactor::Reactor;

/// How many times one poll retries `f` because an event arrived meanwhile, before it
/// yields (wakes itself and returns `Pending`) so as not to monopolise its thread.
const RETRY_BUDGET: u32 = 32;

/// Which readiness an operation waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Readable, read-closed by the peer, hung up or in error.
    Read,
    /// Writable, hung up or in error.
    Write,
}

impl Direction {
    /// The index of this direction's tick and waker slot.
    fn index(self) -> usize {
        match self {
            Direction::Read => 0,
            Direction::Write => 1,
        }
    }
}

/// The state a source shares with the reactor: per direction, a tick counter and a waker.
pub(crate) struct Shared {
    /// Incremented by the reactor (under `wakers`' lock) on every event concerning the
    /// direction; read by waiters before their syscall.
    ticks: [AtomicU64; 2],
    /// The waiting task's waker per direction (at most one each; see the module docs).
    wakers: Mutex<[Option<Waker>; 2]>,
}

impl Shared {
    /// A state with no event seen and no waiter.
    fn new() -> Shared {
        Shared {
            ticks: [AtomicU64::new(0), AtomicU64::new(0)],
            wakers: Mutex::new([None, None]),
        }
    }

    /// Called by the reactor for an event: ticks the directions concerned and moves their
    /// wakers to `out`, to be woken once no lock is held.
    pub(super) fn fire(&self, read: bool, write: bool, out: &mut Vec<Waker>) {
        let mut wakers = self.wakers.lock();
        for (i, hit) in [read, write].into_iter().enumerate() {
            if hit {
                self.ticks[i].fetch_add(1, Ordering::Release);
                out.extend(wakers[i].take());
            }
        }
    }
}

/// A non-blocking fd registered with the process's readiness reactor.
pub(crate) struct Source {
    /// The registered fd (not owned: the caller closes it, after dropping this).
    fd: RawFd,
    /// This source's key in the reactor.
    key: u64,
    /// The reactor it is registered with.
    reactor: &'static Reactor,
    /// Ticks and wakers, shared with the reactor.
    shared: Arc<Shared>,
}

impl Source {
    /// Registers `fd` (which the caller has already set `O_NONBLOCK`) with the global
    /// reactor, edge-triggered for reading and writing, starting the reactor on first use.
    ///
    /// The `Source` does not own `fd`. The owner of the fd must drop the `Source` (which
    /// deregisters it) *before* closing the fd: once closed, the number may name another
    /// file, which the deregistration would then remove from the reactor instead.
    ///
    /// Fails, without panicking, if the reactor's epoll instance or thread cannot be
    /// created, or if epoll refuses `fd` (e.g. a regular file: `EPERM`).
    pub(crate) fn register(fd: BorrowedFd<'_>) -> io::Result<Arc<Source>> {
        let reactor = Reactor::get()?;
        let shared = Arc::new(Shared::new());
        let key = reactor.add(fd, shared.clone())?;
        Ok(Arc::new(Source {
            fd: fd.as_raw_fd(),
            key,
            reactor,
            shared,
        }))
    }

    /// Runs `f` until it returns something other than `ErrorKind::WouldBlock`, waiting for
    /// readiness in `dir` between tries; `Interrupted` is retried at once.
    ///
    /// Cancel-safe: `f` is only called synchronously inside a poll, so dropping the future
    /// between tries loses nothing.
    pub(crate) async fn io<R>(
        &self,
        dir: Direction,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_io(dir, cx, &mut f)).await
    }

    /// The poll form of [`Source::io`], for `AsyncRead`/`AsyncWrite`-style impls: tries
    /// `f`; on `WouldBlock` registers `cx`'s waker for `dir` and returns `Pending`, unless
    /// an event arrived since just before the try, in which case it tries again.
    /// `Interrupted` is retried at once.
    ///
    /// One waker per direction: a task waiting here replaces the waker of another task
    /// waiting in the same direction (unless both `will_wake` the same task), which is then
    /// not woken; see the module docs.
    pub(crate) fn poll_io<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let i = dir.index();
        let tick = &self.shared.ticks[i];
        let mut budget = RETRY_BUDGET;
        loop {
            // Before `f`: an event for a change after `f`'s syscall must move it.
            let seen = tick.load(Ordering::Acquire);
            match f() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return Poll::Ready(r),
            }
            let mut wakers = self.shared.wakers.lock();
            if tick.load(Ordering::Acquire) != seen {
                // An event arrived since `seen`: the fd may be ready now.
                drop(wakers);
                budget -= 1;
                if budget == 0 {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                continue;
            }
            let old = match &wakers[i] {
                Some(w) if w.will_wake(cx.waker()) => None,
                _ => wakers[i].replace(cx.waker().clone()),
            };
            drop(wakers);
            // Dropped with no lock held: dropping a waker can run arbitrary code.
            drop(old);
            return Poll::Pending;
        }
    }
}

impl Drop for Source {
    /// Deregisters the fd (`EPOLL_CTL_DEL`, errors ignored: the fd may be closed already)
    /// and removes it from the reactor's map.
    fn drop(&mut self) {
        // SAFETY: `register`'s contract: the owner closes the fd only after dropping this
        // `Source`, so the number still names the registered, open file here.
        let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
        self.reactor.remove(fd, self.key);
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("fd", &self.fd)
            .field("key", &self.key)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::os::fd::{AsFd, AsRawFd, OwnedFd};
    use std::pin::pin;
    use std::sync::atomic::AtomicBool;
    use std::task::Wake;
    use std::thread;
    use std::time::{Duration, Instant};

    /// Serialises these tests, so that the fd count of `no_fd_leak` is not disturbed by
    /// the others.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Wakes the blocked thread and records that it was woken.
    struct ThreadWaker {
        thread: thread::Thread,
        woken: AtomicBool,
    }

    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.woken.store(true, Ordering::SeqCst);
            self.thread.unpark();
        }
    }

    /// Polls `fut` only when woken (so a lost wake shows as a hang, reported after a
    /// wide timeout rather than hidden by re-polling).
    fn block_on<F: Future>(fut: F) -> F::Output {
        let mut fut = pin!(fut);
        let tw = Arc::new(ThreadWaker {
            thread: thread::current(),
            woken: AtomicBool::new(true),
        });
        let waker = Waker::from(tw.clone());
        let mut cx = Context::from_waker(&waker);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if tw.woken.swap(false, Ordering::SeqCst) {
                if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                    return v;
                }
            } else {
                assert!(
                    Instant::now() < deadline,
                    "not woken within 60 s: lost wake"
                );
                thread::park_timeout(Duration::from_millis(100));
            }
        }
    }

    fn socketpair() -> (OwnedFd, OwnedFd) {
        use rustix::net::{AddressFamily, SocketFlags, SocketType};
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        rustix::net::socketpair(AddressFamily::UNIX, SocketType::STREAM, flags, None)
            .expect("socketpair")
    }

    fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
        Ok(rustix::io::read(fd, buf)?)
    }

    fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
        Ok(rustix::io::write(fd, buf)?)
    }

    /// Writes to `fd` until its buffer is full; returns how much was written.
    fn fill(fd: BorrowedFd<'_>) -> usize {
        let chunk = [7u8; 4096];
        let mut total = 0;
        loop {
            match write(fd, &chunk) {
                Ok(n) => total += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return total,
                Err(e) => panic!("fill: {e}"),
            }
        }
    }

    /// Reads `fd` (non-blocking) until it has read at least `want` bytes and it is empty.
    fn drain(fd: BorrowedFd<'_>, want: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 65536];
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match read(fd, &mut buf) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if out.len() >= want {
                        return out;
                    }
                    assert!(Instant::now() < deadline, "drain: timed out");
                    thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("drain: {e}"),
            }
        }
    }

    /// Waits (polling, wide timeout) until `cond` holds.
    fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            thread::sleep(Duration::from_millis(1));
        }
    }

    fn waiting(src: &Source, dir: Direction) -> bool {
        src.shared.wakers.lock()[dir.index()].is_some()
    }

    #[test]
    fn read_waits_for_peer_write() {
        let _s = serial();
        let (a, b) = socketpair();
        let src = Source::register(a.as_fd()).unwrap();
        let peer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            write(b.as_fd(), b"hello").unwrap();
            b
        });
        let mut buf = [0u8; 16];
        let n = block_on(src.io(Direction::Read, || read(a.as_fd(), &mut buf))).unwrap();
        assert_eq!(&buf[..n], b"hello");
        let _b = peer.join().unwrap();
        drop(src);
    }

    #[test]
    fn write_waits_until_peer_drains() {
        let _s = serial();
        let (a, b) = socketpair();
        let src = Source::register(a.as_fd()).unwrap();
        let filled = fill(a.as_fd());
        assert!(filled > 0);
        let peer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            let got = drain(b.as_fd(), filled);
            (b, got.len())
        });
        let n = block_on(src.io(Direction::Write, || write(a.as_fd(), b"more"))).unwrap();
        assert!(n > 0);
        let (b, drained) = peer.join().unwrap();
        assert!(drained >= filled);
        // What the writer wrote after being woken is there too.
        let rest = drain(b.as_fd(), filled + n - drained);
        assert_eq!(drained + rest.len(), filled + n);
        drop(src);
    }

    #[test]
    fn reader_and_writer_wait_together() {
        let _s = serial();
        let (a, b) = socketpair();
        let src = Source::register(a.as_fd()).unwrap();
        let filled = fill(a.as_fd());
        let fd = a.as_fd();
        let (reader, writer) = thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut buf = [0u8; 16];
                let n = block_on(src.io(Direction::Read, || read(fd, &mut buf))).unwrap();
                buf[..n].to_vec()
            });
            let writer =
                s.spawn(|| block_on(src.io(Direction::Write, || write(fd, b"w"))).unwrap());
            // Both really wait before the peer acts.
            wait_until("both directions wait", || {
                waiting(&src, Direction::Read) && waiting(&src, Direction::Write)
            });
            let got = drain(b.as_fd(), filled);
            assert!(got.len() >= filled);
            write(b.as_fd(), b"ping").unwrap();
            (reader.join().unwrap(), writer.join().unwrap())
        });
        assert_eq!(reader, b"ping");
        assert_eq!(writer, 1);
        drop(src);
    }

    #[test]
    fn dropped_pending_io_loses_nothing() {
        let _s = serial();
        let (a, b) = socketpair();
        let src = Source::register(a.as_fd()).unwrap();
        let fd = a.as_fd();
        let mut buf = [0u8; 64];
        let mut calls = 0;
        {
            let fut = pin!(src.io(Direction::Read, || {
                calls += 1;
                read(fd, &mut buf)
            }));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(fut.poll(&mut cx).is_pending());
            // Data arrives while the future is pending; the future is dropped unpolled.
            write(b.as_fd(), b"abc").unwrap();
            wait_until("the event is delivered", || !waiting(&src, Direction::Read));
        }
        assert_eq!(calls, 1);
        let n = block_on(src.io(Direction::Read, || read(fd, &mut buf))).unwrap();
        assert_eq!(&buf[..n], b"abc");
        // Again, now with the data arriving after the drop (the stale waker is replaced).
        {
            let fut = pin!(src.io(Direction::Read, || read(fd, &mut buf)));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(fut.poll(&mut cx).is_pending());
        }
        let peer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            write(b.as_fd(), b"def").unwrap();
            write(b.as_fd(), b"ghi").unwrap();
            b
        });
        let mut got = Vec::new();
        while got.len() < 6 {
            let n = block_on(src.io(Direction::Read, || read(fd, &mut buf))).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"defghi");
        let _b = peer.join().unwrap();
        drop(src);
    }

    #[test]
    fn eof_wakes_reader() {
        let _s = serial();
        let (a, b) = socketpair();
        let src = Source::register(a.as_fd()).unwrap();
        let fd = a.as_fd();
        let peer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            drop(b);
        });
        let mut buf = [0u8; 16];
        let n = block_on(src.io(Direction::Read, || read(fd, &mut buf))).unwrap();
        assert_eq!(n, 0);
        peer.join().unwrap();
        drop(src);
    }

    #[test]
    fn interrupted_is_retried() {
        let _s = serial();
        let (a, _b) = socketpair();
        let src = Source::register(a.as_fd()).unwrap();
        let mut left = 3;
        let r = block_on(src.io(Direction::Write, || {
            if left > 0 {
                left -= 1;
                return Err(io::Error::from(io::ErrorKind::Interrupted));
            }
            Ok(42)
        }));
        assert_eq!(r.unwrap(), 42);
        assert_eq!(left, 0);
        drop(src);
    }

    #[test]
    fn errors_are_returned() {
        let _s = serial();
        // EPERM from epoll_ctl (a regular file cannot be polled): no panic, nothing
        // left in the map.
        let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
        let e = Source::register(file.as_fd()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM));
        // Errors other than WouldBlock/Interrupted from `f` end the operation.
        let (a, _b) = socketpair();
        let src = Source::register(a.as_fd()).unwrap();
        let r: io::Result<()> = block_on(src.io(Direction::Read, || {
            Err(io::Error::from_raw_os_error(libc::ECONNRESET))
        }));
        assert_eq!(r.unwrap_err().raw_os_error(), Some(libc::ECONNRESET));
        drop(src);
    }

    #[test]
    fn ping_pong_loses_no_wake() {
        let _s = serial();
        let (a, b) = socketpair();
        let sa = Source::register(a.as_fd()).unwrap();
        let sb = Source::register(b.as_fd()).unwrap();
        const ROUNDS: u32 = 2000;
        let side = |src: &Source, fd: BorrowedFd<'_>, first: bool| {
            let mut buf = [0u8; 4];
            for i in 0..ROUNDS {
                if !(first && i == 0) {
                    let n = block_on(src.io(Direction::Read, || read(fd, &mut buf))).unwrap();
                    assert_eq!(n, 4);
                }
                if first || i != ROUNDS - 1 {
                    let msg = i.to_le_bytes();
                    let n = block_on(src.io(Direction::Write, || write(fd, &msg))).unwrap();
                    assert_eq!(n, 4);
                }
            }
        };
        thread::scope(|s| {
            s.spawn(|| side(&sa, a.as_fd(), true));
            s.spawn(|| side(&sb, b.as_fd(), false));
        });
        drop((sa, sb));
    }

    fn fd_count() -> usize {
        std::fs::read_dir("/proc/self/fd").unwrap().count()
    }

    /// Whether the epoll instance `ep` has `fd` registered (its fdinfo lists `tfd: fd`).
    fn epoll_has(ep: RawFd, fd: RawFd) -> bool {
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{ep}")).unwrap();
        info.lines().any(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .windows(2)
                .any(|w| w[0] == "tfd:" && w[1] == fd.to_string())
        })
    }

    #[test]
    fn no_fd_leak() {
        let _s = serial();
        // Start the reactor once.
        let reactor = Reactor::get().unwrap();
        let ep = reactor.epoll_fd();
        // Tests of other modules may open fds meanwhile: retry the count a few times.
        let mut counts = Vec::new();
        for _ in 0..5 {
            let before = fd_count();
            for i in 0..1000 {
                let (a, b) = socketpair();
                let src = Source::register(a.as_fd()).unwrap();
                let key = src.key;
                if i % 100 == 0 {
                    assert!(epoll_has(ep, a.as_raw_fd()));
                }
                drop(src);
                assert!(!reactor.contains(key));
                if i % 100 == 0 {
                    // `a` is still open, so its number is ours: deregistered for real.
                    assert!(!epoll_has(ep, a.as_raw_fd()));
                }
                drop((a, b));
            }
            let after = fd_count();
            if after == before {
                return;
            }
            counts.push((before, after));
        }
        panic!("fd count changed over 1000 register/drop cycles: {counts:?}");
    }
}
