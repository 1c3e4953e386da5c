//! The worker sockets as ordinary I/O on the parent's own loop (steps 6 and 8 of the
//! protocol in `procs/mod.rs`): no reader thread per worker, no flusher thread.
//!
//! The parent is a `Single` loop, with an io_uring ring or, where io_uring is refused, the
//! plain park and the readiness reactor. Either way each worker incarnation's socket is an
//! [`IoFd`] with at most one read and one write in flight, polled by [`Sockets::drive`],
//! which the loop calls at every iteration (`single/mod.rs`), as it polls its ring:
//!
//! 1. `spawn_worker` hands the new connection to [`Sockets::add`] (any thread) and wakes
//!    the loop. The loop binds the connection's duplicate descriptor (made with it) to
//!    its backend as an `IoFd` at its next iteration.
//! 2. One waker serves every socket: an I/O completion (a CQE reaped by the loop, or the
//!    reactor's wake) sets `woken` and unparks the loop; `drive` then polls every socket.
//!    With a handful of workers, polling them all is cheaper than telling them apart.
//! 3. A read's bytes go through a [`FrameParser`]; each whole frame is handled at once on
//!    the loop (`inbound.rs`): a result completes its job's reply, which wakes the task
//!    awaiting it *on this thread* (no cross-thread wake), and dispatches the next job.
//! 4. A write happens here only for what a direct write could not place in the socket
//!    buffer (`conn.rs`): the outbox, in order, one write in flight.
//! 5. EOF or an error ends the connection (`death.rs`).
//!
//! Nothing runs while no thread runs the loop, exactly as for the loop's tasks: a job's
//! result waits in the socket until someone runs the loop (`block_on`, or `join` on the
//! job's handle, which runs it). The pool's state is kept under its own lock as before, so
//! `metrics()` and dispatch from other threads see it at once.

use crate::loom::Mutex;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};

use super::conn::Conn;
use super::ipc::{Frame, FrameParser};
use super::pool::Inner;
use crate::driver::Unparker;
use crate::io::IoFd;

/// One read's buffer.
const READ_BUF: usize = 64 * 1024;
/// Reads one socket may complete in one `drive` before the others get their turn (a
/// worker streaming a huge result does not hold the loop).
const READS_PER_TURN: usize = 16;

type IoFuture = Pin<Box<dyn Future<Output = (io::Result<usize>, Vec<u8>)> + Send>>;

/// The loop's wake for the worker sockets.
#[derive(Default)]
pub(crate) struct SocketsWake {
    woken: AtomicBool,
    owner: OnceLock<Unparker>,
}

impl SocketsWake {
    /// Asks the loop to poll the sockets (at its next iteration; unparks it).
    pub(super) fn notify(&self) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            if let Some(u) = self.owner.get() {
                u.unpark();
            }
        }
    }
}

impl Wake for SocketsWake {
    fn wake(self: Arc<Self>) {
        self.notify();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.notify();
    }
}

/// Every worker socket of the pool, as the loop sees them.
pub(super) struct Sockets {
    pub(super) wake: Arc<SocketsWake>,
    waker: Waker,
    /// Connections not yet picked up by the loop.
    added: Mutex<Vec<Arc<Conn>>>,
    /// Touched only by `drive` (the loop's thread) and `close` (shutdown).
    live: Mutex<Vec<ConnIo>>,
}

impl Sockets {
    pub(super) fn new() -> Sockets {
        let wake = Arc::new(SocketsWake::default());
        Sockets {
            waker: Waker::from(wake.clone()),
            wake,
            added: Mutex::new(Vec::new()),
            live: Mutex::new(Vec::new()),
        }
    }

    /// The loop to wake.
    pub(super) fn set_owner(&self, owner: Unparker) {
        let _ = self.wake.owner.set(owner);
    }

    /// `true` if `drive` has work.
    pub(super) fn woken(&self) -> bool {
        self.wake.woken.load(Ordering::Acquire)
    }

    /// Hands a new worker connection to the loop (step 1).
    pub(super) fn add(&self, conn: Arc<Conn>) {
        self.added.lock().push(conn);
        self.wake.notify();
    }

    /// Polls every socket, if a completion or a new connection asked for it (steps 2-5).
    /// Called on the loop's thread, in its context (the `IoFd`s are bound to its ring).
    pub(super) fn drive(&self, inner: &Arc<Inner>) {
        if !self.wake.woken.swap(false, Ordering::AcqRel) {
            return;
        }
        let mut cx = Context::from_waker(&self.waker);
        // Out of the lock while frames are handled: handling may dispatch, fail jobs,
        // even end the pool.
        let mut live = std::mem::take(&mut *self.live.lock());
        let mut ended = Vec::new();
        for conn in std::mem::take(&mut *self.added.lock()) {
            let fd = conn.io_fd.lock().take();
            let fd = fd.ok_or_else(|| io::Error::other("the socket was already bound"));
            match fd.and_then(|fd| IoFd::new(fd, true)) {
                Ok(fd) => live.push(ConnIo::new(conn, fd)),
                Err(e) => {
                    // The loop cannot watch the socket (descriptors exhausted?): no worker
                    // could run, so the pool breaks and says why.
                    inner.break_pool(format!(
                        "could not watch a worker's socket on the loop: {e}"
                    ));
                    ended.push(conn);
                }
            }
        }
        live.retain_mut(|c| {
            let alive = c.poll(inner, &mut cx);
            if !alive {
                ended.push(c.conn.clone());
            }
            alive
        });
        let closed = {
            let mut l = self.live.lock();
            if inner.is_closed() {
                true
            } else {
                l.append(&mut live);
                false
            }
        };
        if closed {
            drop(live);
        }
        for conn in ended {
            inner.conn_ended(conn);
        }
    }

    /// [`drive`](Self::drive) whether or not a completion asked for it: each socket's
    /// read is tried again (on the readiness backend, a non-blocking `recv`).
    pub(super) fn poll_now(&self, inner: &Arc<Inner>) {
        self.wake.woken.store(true, Ordering::Release);
        self.drive(inner);
    }

    /// Drops every socket's I/O (pending operations cancelled): at shutdown, on the loop
    /// while its ring is alive, or from the pool's own shutdown.
    pub(super) fn close(&self) {
        let live = std::mem::take(&mut *self.live.lock());
        drop(live);
        self.added.lock().clear();
    }
}

/// One connection's I/O on the loop.
struct ConnIo {
    conn: Arc<Conn>,
    fd: IoFd,
    parser: FrameParser,
    frames: Vec<Frame>,
    read: Option<IoFuture>,
    /// The read buffer, between reads.
    spare: Option<Vec<u8>>,
    write: Option<IoFuture>,
}

impl ConnIo {
    fn new(conn: Arc<Conn>, fd: IoFd) -> ConnIo {
        ConnIo {
            conn,
            fd,
            parser: FrameParser::default(),
            frames: Vec::new(),
            read: None,
            spare: None,
            write: None,
        }
    }

    /// Writes what the outbox holds and handles what the worker sent. `false` once the
    /// connection has ended.
    fn poll(&mut self, inner: &Arc<Inner>, cx: &mut Context<'_>) -> bool {
        self.poll_write(cx);
        for _ in 0..READS_PER_TURN {
            let read = self.read.get_or_insert_with(|| {
                let fd = self.fd.clone();
                let buf = self
                    .spare
                    .take()
                    .unwrap_or_else(|| Vec::with_capacity(READ_BUF));
                Box::pin(async move { fd.read(buf).await })
            });
            let Poll::Ready((res, mut buf)) = read.as_mut().poll(cx) else {
                return true;
            };
            self.read = None;
            let n = match res {
                Ok(0) => return false,
                Ok(n) => n,
                Err(e) if retry(&e) => {
                    self.spare = Some(buf);
                    continue;
                }
                Err(_) => return false,
            };
            let parsed = self.parser.feed(&buf[..n], &mut self.frames);
            buf.clear();
            self.spare = Some(buf);
            for frame in self.frames.drain(..) {
                if !inner.on_frame(&self.conn, frame) {
                    return false;
                }
            }
            if parsed.is_err() {
                inner.kill_worker(&self.conn);
                return false;
            }
        }
        // More may be waiting: come back at the next iteration.
        cx.waker().wake_by_ref();
        true
    }

    fn poll_write(&mut self, cx: &mut Context<'_>) {
        loop {
            if self.write.is_none() {
                let Some(chunk) = self.conn.next_chunk() else {
                    return;
                };
                let fd = self.fd.clone();
                self.write = Some(Box::pin(async move { fd.write(chunk).await }));
            }
            let write = self.write.as_mut().expect("set above");
            let Poll::Ready((res, chunk)) = write.as_mut().poll(cx) else {
                return;
            };
            self.write = None;
            match res {
                Ok(n) => self.conn.wrote(n, chunk),
                Err(e) if retry(&e) => self.conn.wrote(0, chunk),
                Err(_) => {
                    // The worker is gone: the read side sees the end.
                    self.conn.write_failed();
                    return;
                }
            }
        }
    }
}

/// An error that says nothing about the socket: the operation was interrupted or found
/// nothing to do yet. It is simply made again. (An operation the kernel cancelled because
/// the thread that submitted it exited, which happens as the loop moves between the
/// threads that run it, is submitted again by the ring itself: `driver/ring.rs`.)
fn retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
    )
}
