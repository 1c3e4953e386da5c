//! Accepting connections on a listening [`IoFd`], and what a cancelled accept leaves.
//!
//! An io_uring accept runs in the kernel: one whose future is dropped may still complete
//! with a connection (the kernel took it off the listen queue before the cancel reached
//! it). That connection is not closed. The protocol, per listener (its `Backlog`, under
//! one mutex):
//! 1. The abandoned accept's completion (`Accept::abandoned`, on the ring's thread)
//!    pushes the connection to the back of the backlog and wakes every accept that
//!    waits on it.
//! 2. An accept first takes the front of the backlog; only if it is empty does it submit
//!    an accept to the kernel.
//! 3. While its accept is in the kernel, the future also watches the backlog: each poll
//!    polls the operation, then, under the backlog's lock, takes a connection if one is
//!    there or stores its waker (keyed by the future's id) if not. A push (step 1)
//!    happens under the same lock, so either the poll sees the connection or the push
//!    finds the waker: a connection never waits in the backlog while an accept waits
//!    for the kernel.
//! 4. A future that takes from the backlog drops its own operation, which is cancelled;
//!    if the kernel had already given that one a connection too, it goes to the backlog
//!    by step 1, for the next accept.
//! 5. A future removes its waker when it finishes or is dropped, so the waiter list
//!    holds only live accepts.
//! 6. A cancelled accept that ends with `-ECANCELED` (or `-EINTR`) may have swallowed
//!    a connection's wake-up: the kernel's accepts wait on the listener *exclusively*
//!    (one wake per connection), and a cancel that reaches the woken accept before its
//!    task work ran (with COOP_TASKRUN that waits for the ring thread's next kernel
//!    entry) completes it without accepting and without waking the next waiter. The
//!    connection then sits in the kernel's queue while other accepts wait for it. So
//!    that completion (`Accept::abandoned`) submits a probe: one accept with
//!    `IORING_ACCEPT_DONTWAIT`, which never waits (so swallows nothing and is never
//!    cancelled) and, if a connection is queued, takes it into the backlog by step 1,
//!    waking the accepts that wait. A probe does not probe again.
//! 7. Dropping the listener (`TcpListener`'s `Drop`, through `IoFd::release_listener`)
//!    closes what waits in the backlog: with the descriptor, if the drop let go of its
//!    last reference; else (a cancelled accept not yet reaped holds it) by
//!    `stop_listening`, which also stops the socket listening. A connection such an
//!    accept still takes goes to the backlog of a descriptor nobody accepts on and is
//!    closed with its last reference, when that accept is reaped.
//!
//! So cancelling an accept loses no connection: as a cancelled read's bytes wait in the
//! stash for the next read, its connection waits for the next accept. The readiness
//! backend needs none of this: `accept4` runs inside the poll, so a dropped accept has
//! taken nothing and the connection stays in the kernel's queue.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Poll, Waker};

use socket2::SockRef;

use super::fd::{FdInner, IoFd, Kind};
use super::ready::Direction;
use super::sockaddr::{to_socket, RawAddr};
use super::uring::op::{self, Completion};

/// Connections taken by accepts whose futures were dropped, for the next accept, and
/// the accepts waiting meanwhile (see the module docs).
#[derive(Default)]
pub(crate) struct Backlog {
    conns: VecDeque<(OwnedFd, RawAddr)>,
    /// `(future id, waker)` of each accept waiting in the kernel.
    waiters: Vec<(u64, Waker)>,
}

/// Ids for waiting accepts (never reused).
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A connection from the backlog as an accept's result.
fn taken((fd, addr): (OwnedFd, RawAddr)) -> std::io::Result<(OwnedFd, SocketAddr)> {
    Ok((fd, addr.into_addr()?))
}

/// Step 1: a connection an abandoned accept took goes to the back of `fd`'s backlog, and
/// every accept waiting on it is woken (called by the accept's completion, on the ring's
/// thread).
pub(crate) fn push_abandoned(fd: &FdInner, conn: OwnedFd, addr: RawAddr) {
    let waiters = {
        let mut b = fd.backlog();
        b.conns.push_back((conn, addr));
        std::mem::take(&mut b.waiters)
    };
    for (_, w) in waiters {
        w.wake();
    }
}

/// Removes a waiting accept's waker when the accept finishes or is dropped (step 5).
struct Waiting<'a> {
    fd: &'a FdInner,
    id: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let removed = {
            let mut b = self.fd.backlog();
            let i = b.waiters.iter().position(|(id, _)| *id == self.id);
            i.map(|i| b.waiters.swap_remove(i))
        };
        // Dropped with no lock held: dropping a waker can run arbitrary code.
        drop(removed);
    }
}

impl IoFd {
    /// Accepts one connection on a listening socket: the new socket (on the same
    /// backend) and the peer's address.
    ///
    /// Cancel-safe: a connection the kernel handed to an accept whose future was dropped
    /// is kept on the listener and returned by the next accept (or by one already
    /// waiting); it is closed only with the listener.
    ///
    /// ```
    /// use modes::io::IoFd;
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// sched.block_on(async {
    ///     let l = IoFd::socket(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    ///     l.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     l.listen(16).unwrap();
    ///     let c = IoFd::socket(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    ///     c.connect(l.local_addr().unwrap()).await.unwrap();
    ///     let (s, peer) = l.accept().await.unwrap();
    ///     assert_eq!(peer, c.local_addr().unwrap());
    ///     assert_eq!(s.peer_addr().unwrap(), peer);
    /// });
    /// ```
    pub async fn accept(&self) -> std::io::Result<(IoFd, SocketAddr)> {
        super::check_runtime()?;
        let (fd, addr) = match &self.0.kind {
            Kind::Uring => self.accept_uring().await?,
            Kind::Ready(src) => {
                // socket2's accept is `accept4` with `SOCK_CLOEXEC`.
                let (new, addr) = src
                    .io(Direction::Read, || SockRef::from(&self.0.fd).accept())
                    .await?;
                (OwnedFd::from(new), to_socket(addr)?)
            }
            Kind::Blocking => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "accept on a file",
                ))
            }
        };
        Ok((IoFd::new(fd, true)?, addr))
    }

    /// The io_uring accept: the backlog first, else the kernel while watching the
    /// backlog (steps 2-4).
    async fn accept_uring(&self) -> std::io::Result<(OwnedFd, SocketAddr)> {
        let front = self.0.backlog().conns.pop_front();
        if let Some(conn) = front {
            return taken(conn);
        }
        let mut op = match op::accept::accept(self.0.clone()) {
            Ok(op) => op,
            Err((e, data)) => return data.failed(e),
        };
        let waiting = Waiting {
            fd: &self.0,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        };
        poll_fn(|cx| {
            if let Poll::Ready(r) = Pin::new(&mut op).poll(cx) {
                return Poll::Ready(r);
            }
            let mut b = self.0.backlog();
            if let Some(conn) = b.conns.pop_front() {
                drop(b);
                // `op` is dropped (cancelled) when this future ends (step 4).
                return Poll::Ready(taken(conn));
            }
            let old = match b.waiters.iter_mut().find(|(id, _)| *id == waiting.id) {
                Some((_, w)) if w.will_wake(cx.waker()) => None,
                Some((_, w)) => Some(std::mem::replace(w, cx.waker().clone())),
                None => {
                    b.waiters.push((waiting.id, cx.waker().clone()));
                    None
                }
            };
            drop(b);
            // Dropped with no lock held.
            drop(old);
            Poll::Pending
        })
        .await
    }

    /// Stops a listening socket listening, now: new connections to its port are
    /// refused, those waiting to be accepted (in the kernel's queue, or left by
    /// cancelled accepts) are closed, and accepts in flight fail. The descriptor itself
    /// closes with its last reference; the port is free meanwhile (to a socket bound
    /// with `SO_REUSEADDR`).
    ///
    /// Unlike `close`, this acts on the socket, so on every descriptor that shares it
    /// (a `dup`, a copy inherited across `fork`).
    ///
    /// ```
    /// use modes::io::IoFd;
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// sched.block_on(async {
    ///     let l = IoFd::socket(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    ///     l.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     l.listen(16).unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     l.stop_listening().unwrap();
    ///     let e = std::net::TcpStream::connect(addr).unwrap_err();
    ///     assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    /// });
    /// ```
    pub fn stop_listening(&self) -> std::io::Result<()> {
        // On a listening TCP socket, shutdown(SHUT_RD) disconnects it (Linux
        // `inet_shutdown`: `tcp_disconnect` stops the listen and resets the queue).
        let res = self.shutdown(std::net::Shutdown::Read);
        let left = std::mem::take(&mut self.0.backlog().conns);
        drop(left); // closed outside the lock
        res
    }

    /// What the owner of a listening socket calls as it lets go of it (`TcpListener`'s
    /// `Drop`): if operations still hold the descriptor (an accept cancelled but not yet
    /// reaped keeps it open until its completion), [`stop_listening`](IoFd::stop_listening)
    /// now, so that the port refuses connections and can be bound again as soon as the
    /// owner's drop returns. Otherwise the owner's drop is the last reference and closes
    /// it, as `close` would (a descriptor shared across `fork` stays listening in the
    /// other process).
    ///
    /// ```
    /// use modes::io::IoFd;
    /// use std::future::{poll_fn, Future};
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// sched.block_on(async {
    ///     let l = IoFd::socket(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    ///     l.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     l.listen(16).unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let mut acc = Box::pin(l.accept());
    ///     // Submitted, then dropped: the cancelled accept holds the descriptor a while.
    ///     assert!(poll_fn(|cx| std::task::Poll::Ready(acc.as_mut().poll(cx).is_pending())).await);
    ///     drop(acc);
    ///     l.release_listener();
    ///     drop(l);
    ///     let e = std::net::TcpStream::connect(addr).unwrap_err();
    ///     assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    /// });
    /// ```
    pub fn release_listener(&self) {
        if Arc::strong_count(&self.0) > 1 {
            let _ = self.stop_listening();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Loop turns until `done` (each a 1 ms sleep, so the ring is polled), for at most
    /// 10 s: `false` if it never happened.
    async fn turns_until(mut done: impl FnMut() -> bool) -> bool {
        let end = Instant::now() + Duration::from_secs(10);
        while !done() {
            if Instant::now() > end {
                return false;
            }
            crate::time::sleep(Duration::from_millis(1)).await;
        }
        true
    }

    /// The probe of step 6 never waits: with nothing queued it completes at once (it lets
    /// go of the listener, and takes no later connection); with a connection queued it
    /// moves it to the backlog, where the next accept finds it.
    #[test]
    fn a_probe_takes_what_is_queued_and_never_waits() {
        let (sched, _) = crate::Scheduler::single(&crate::Config::default());
        sched.block_on(async {
            let l = IoFd::socket(libc::AF_INET, libc::SOCK_STREAM).unwrap();
            assert!(l.is_uring(), "the test needs io_uring");
            l.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            l.listen(16).unwrap();
            let addr = l.local_addr().unwrap();
            // Nothing queued: the probe ends (-EAGAIN) and holds the listener no more.
            op::accept::probe(l.0.clone());
            assert!(
                turns_until(|| Arc::strong_count(&l.0) == 1).await,
                "a probe with nothing queued is still in the kernel"
            );
            let late = std::net::TcpStream::connect(addr).unwrap();
            crate::time::sleep(Duration::from_millis(20)).await;
            assert!(
                l.0.backlog().conns.is_empty(),
                "an ended probe took a connection"
            );
            // The late connection waits in the kernel's queue: a probe moves it.
            op::accept::probe(l.0.clone());
            assert!(
                turns_until(|| !l.0.backlog().conns.is_empty()).await,
                "the probe left a queued connection in the kernel"
            );
            let (s, peer) = l.accept().await.unwrap();
            assert_eq!(peer, late.local_addr().unwrap());
            assert_eq!(s.peer_addr().unwrap(), peer);
            assert_eq!(Arc::strong_count(&l.0), 1);
        });
    }
}
