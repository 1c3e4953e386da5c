//! `bare-uring`: the `net` echo served by a bare io_uring loop on one thread, with no
//! runtime at all: the ceiling any runtime's echo server can reach on this machine.
//!
//! It does the least work per message that io_uring allows today: a multishot accept;
//! one multishot receive per connection, armed once, into a ring of provided buffers
//! (`IORING_REGISTER_PBUF_RING`), so a message costs no SQE and no poll arming; the echo
//! is a send SQE from the very buffer the kernel filled, submitted with everything else
//! in one `io_uring_enter` per loop turn; `SINGLE_ISSUER | DEFER_TASKRUN`, so completion
//! work runs in that one enter, never interrupts the thread and batches wake-ups. No
//! tasks, no wakers, no allocation per message.
//!
//! So the difference between a runtime's `net` row and this one is what the runtime
//! costs; the rest (most of it, on loopback) is the kernel's TCP work, which no server
//! can avoid. Only the `net` workload runs here; the other workloads are skipped. The
//! orchestration around the server (spawning it, awaiting the client) runs on a
//! `Single` loop of ours, which sleeps while the echo runs.
//!
//! Memory the kernel writes (the receive buffers) or reads (the provided-buffer ring)
//! lives until no request that may touch it is in flight: the loop ends only after the
//! multishot accept is cancelled and every connection has closed (its multishot receive
//! ended), and if the kernel still held a request after a bounded wait the memory is
//! leaked rather than freed.

use std::collections::HashMap;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

use io_uring::types::{BufRingEntry, Fd, SubmitArgs, Timespec};
use io_uring::{cqueue, opcode, IoUring};
use runtime::{settable, Mode, Settable, Setter};
use serde::{de::DeserializeOwned, Serialize};

use crate::exec::ours::{Ours, OursExec};
use crate::exec::{Exec, Io, IoKind, Runner, ECHO_BUF};

/// Provided receive buffers (a power of two), each of [`ECHO_BUF`] bytes.
const BUFS: u16 = 512;
/// The provided-buffer group id.
const GROUP: u16 = 0;
/// How long one wait for completions lasts before the loop looks at its stop flag.
const TICK: Duration = Duration::from_millis(10);

/// What a completion is for: the low two bits of its `user_data`.
const ACCEPT: u64 = 0;
const RECV: u64 = 1;
const SEND: u64 = 2;
const CANCEL: u64 = 3;

/// The bare loop as a [`Runner`]: its `serve_echo` runs [`serve`] on a thread of its own;
/// everything else is a `Single` runtime of ours (see the module docs).
#[derive(Debug)]
pub struct Bare {
    host: Ours,
}

impl Bare {
    /// The host loop for the orchestration around the bare server.
    pub fn new() -> Result<Bare, runtime::BuildError> {
        Ok(Bare {
            host: Ours::build(Mode::Single, 1, false)?,
        })
    }
}

/// [`Exec`] for [`Bare`]: the host loop's.
#[derive(Clone, Debug)]
pub struct BareExec(OursExec);

impl Exec for BareExec {
    type Join<T: Send + 'static> = <OursExec as Exec>::Join<T>;

    fn spawn<F>(&self, fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.spawn(fut)
    }

    fn submit<A, R>(&self, f: fn(A) -> R, arg: A) -> Self::Join<R>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.0.submit(f, arg)
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send + 'static {
        self.0.sleep(d)
    }

    fn yield_now(&self) -> impl Future<Output = ()> + Send + 'static {
        self.0.yield_now()
    }
}

fn net_only() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "bare-uring serves only the net workload",
    )
}

// Not `async fn`s: those would borrow `self`, and the trait wants `'static` futures.
#[allow(clippy::manual_async_fn)]
impl Io for BareExec {
    type File = ();

    fn serve_echo(
        &self,
        bound: Setter<SocketAddr>,
        stop: Settable<()>,
    ) -> impl Future<Output = std::io::Result<u64>> + Send + 'static {
        async move {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let _ = bound.set(listener.local_addr()?);
            let flag = Arc::new(AtomicBool::new(false));
            let (done_tx, done) = settable();
            let f = flag.clone();
            std::thread::Builder::new()
                .name("bench-bare-uring".into())
                .spawn(move || {
                    let _ = done_tx.set(serve(listener, &f));
                })?;
            let _ = stop.await;
            flag.store(true, Ordering::Release);
            done.await
                .unwrap_or_else(|_| Err(std::io::Error::other("the bare loop panicked")))
        }
    }

    fn open(&self, _: PathBuf) -> impl Future<Output = std::io::Result<()>> + Send + 'static {
        async { Err(net_only()) }
    }

    fn read_at(
        &self,
        _: Arc<()>,
        buf: Vec<u8>,
        _: u64,
    ) -> impl Future<Output = (std::io::Result<usize>, Vec<u8>)> + Send + 'static {
        async { (Err(net_only()), buf) }
    }
}

impl Runner for Bare {
    type Exec = BareExec;

    fn exec(&self) -> BareExec {
        BareExec(self.host.exec())
    }

    fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.host.block_on(fut)
    }

    fn io_backend(&self, _: IoKind) -> String {
        "io_uring (bare loop: multishot recv, provided buffers, DEFER_TASKRUN)".into()
    }
}

/// The receive buffers and the provided-buffer ring that hands them to the kernel.
struct Buffers {
    /// `BUFS` entries, page-aligned as the kernel requires.
    ring: *mut BufRingEntry,
    layout: std::alloc::Layout,
    data: Box<[u8]>,
    /// The ring's tail as we advance it; published to the kernel by [`Buffers::publish`].
    tail: u16,
    /// The byte count each buffer received (what its send must write).
    filled: Vec<u32>,
}

impl Buffers {
    fn new() -> std::io::Result<Buffers> {
        let layout =
            std::alloc::Layout::from_size_align(BUFS as usize * size_of::<BufRingEntry>(), 4096)
                .map_err(std::io::Error::other)?;
        // SAFETY: the layout has a non-zero size.
        let ring = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<BufRingEntry>();
        if ring.is_null() {
            return Err(std::io::Error::from(std::io::ErrorKind::OutOfMemory));
        }
        let mut b = Buffers {
            ring,
            layout,
            data: vec![0u8; BUFS as usize * ECHO_BUF].into_boxed_slice(),
            tail: 0,
            filled: vec![0; BUFS as usize],
        };
        for bid in 0..BUFS {
            b.give(bid);
        }
        b.publish();
        Ok(b)
    }

    fn addr(&self, bid: u16) -> *const u8 {
        self.data[bid as usize * ECHO_BUF..].as_ptr()
    }

    /// Hands buffer `bid` back to the kernel (visible at the next `publish`).
    fn give(&mut self, bid: u16) {
        let slot = (self.tail & (BUFS - 1)) as usize;
        // SAFETY: `slot < BUFS`, inside the ring's allocation; the kernel reads only the
        // entries between its head and the published tail, and this one is past the tail.
        let e = unsafe { &mut *self.ring.add(slot) };
        e.set_addr(self.addr(bid) as u64);
        e.set_len(ECHO_BUF as u32);
        e.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    /// Publishes the tail: the entries given so far become the kernel's to fill.
    fn publish(&self) {
        // SAFETY: `ring` is the ring's first entry, page-aligned and initialised; its
        // `resv` field is the shared tail, a naturally aligned u16 the kernel reads
        // atomically.
        let tail = unsafe { &*(BufRingEntry::tail(self.ring).cast::<AtomicU16>()) };
        tail.store(self.tail, Ordering::Release);
    }
}

impl Drop for Buffers {
    /// Frees the ring's entries. Dropped only once the kernel holds no request that may
    /// touch them (else `serve` forgets the buffers instead).
    fn drop(&mut self) {
        // SAFETY: allocated in `Buffers::new` with this layout, freed once, here.
        unsafe { std::alloc::dealloc(self.ring.cast(), self.layout) };
    }
}

/// `user_data` of a request: kind, descriptor, and for a send its buffer and offset.
fn ud(kind: u64, fd: i32, bid: u16, off: u32) -> u64 {
    kind | (((fd as u64) << 2) & 0xFFFF_FFFF) | ((bid as u64) << 32) | ((off as u64) << 48)
}

fn parts(ud: u64) -> (u64, i32, u16, u32) {
    (
        ud & 3,
        ((ud & 0xFFFF_FFFF) >> 2) as i32,
        (ud >> 32) as u16,
        (ud >> 48) as u32,
    )
}

/// The echo loop (see the module docs): serves every connection `listener` accepts until
/// `stop` is set and every connection has closed; returns the bytes echoed.
pub fn serve(listener: TcpListener, stop: &AtomicBool) -> std::io::Result<u64> {
    let mut ring: IoUring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .setup_coop_taskrun()
        .build(1024)
        .map_err(|e| std::io::Error::new(e.kind(), format!("io_uring refused: {e}")))?;
    let mut bufs = Buffers::new()?;
    // SAFETY: `bufs.ring` holds BUFS initialised entries, page-aligned, and stays
    // allocated until the group is unregistered (or forever, see the end).
    unsafe {
        ring.submitter()
            .register_buf_ring_with_flags(bufs.ring as u64, BUFS, GROUP, 0)
            .map_err(|e| std::io::Error::new(e.kind(), format!("provided buffers refused: {e}")))?;
    }
    let lfd = listener.as_raw_fd();
    let mut queue: Vec<io_uring::squeue::Entry> = vec![opcode::AcceptMulti::new(Fd(lfd))
        .flags(libc::SOCK_CLOEXEC)
        .build()
        .user_data(ud(ACCEPT, lfd, 0, 0))];
    // Each open connection: its sends in flight, and whether its receive has ended.
    let mut open: HashMap<i32, (u32, bool)> = HashMap::new();
    let mut accepting = true;
    let mut in_flight = 0usize;
    let mut echoed = 0u64;
    let mut cqes = Vec::with_capacity(1024);
    let fatal = 'turn: loop {
        for e in queue.drain(..) {
            // SAFETY: every entry points only into `bufs.data` (sends), which outlives
            // the requests (module docs); accepts and receives carry no pointer.
            while unsafe { ring.submission().push(&e) }.is_err() {
                if let Err(e) = ring.submit() {
                    break 'turn Some(e);
                }
            }
            in_flight += 1;
        }
        let ts = Timespec::from(TICK);
        match ring
            .submitter()
            .submit_with_args(1, &SubmitArgs::new().timespec(&ts))
        {
            Ok(_) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::ETIME | libc::EINTR)) => {}
            Err(e) => break Some(e),
        }
        cqes.extend(
            ring.completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        let mut gave = false;
        for (data, res, flags) in cqes.drain(..) {
            let more = cqueue::more(flags);
            if !more {
                in_flight -= 1;
            }
            let (kind, fd, bid, off) = parts(data);
            match kind {
                ACCEPT if res >= 0 => {
                    let one: libc::c_int = 1;
                    // SAFETY: `res` is the descriptor just accepted, ours to configure;
                    // the option value is a live int of the size given.
                    unsafe {
                        libc::setsockopt(
                            res,
                            libc::IPPROTO_TCP,
                            libc::TCP_NODELAY,
                            (&one as *const libc::c_int).cast(),
                            size_of::<libc::c_int>() as libc::socklen_t,
                        )
                    };
                    open.insert(res, (0, false));
                    queue.push(recv(res));
                }
                ACCEPT if !more => accepting = false,
                RECV if res > 0 => {
                    let bid = cqueue::buffer_select(flags).expect("a provided-buffer receive");
                    bufs.filled[bid as usize] = res as u32;
                    queue.push(send(fd, &bufs, bid, 0));
                    if let Some(c) = open.get_mut(&fd) {
                        c.0 += 1;
                    }
                    if !more {
                        queue.push(recv(fd));
                    }
                }
                // Out of buffers for a moment: arm again once this turn gave some back.
                RECV if res == -libc::ENOBUFS => queue.push(recv(fd)),
                RECV => {
                    // End of stream or an error: the connection is over.
                    if let Some(b) = cqueue::buffer_select(flags) {
                        bufs.give(b);
                        gave = true;
                    }
                    if !more {
                        if let Some(c) = open.get_mut(&fd) {
                            c.1 = true;
                        }
                        close_if_done(&mut open, fd);
                    }
                }
                SEND => {
                    let total = bufs.filled[bid as usize];
                    let sent = off + res.max(0) as u32;
                    echoed += res.max(0) as u64;
                    if res > 0 && sent < total {
                        queue.push(send(fd, &bufs, bid, sent));
                        continue;
                    }
                    // Done, or failed (the peer went away: the byte count tells).
                    bufs.give(bid);
                    gave = true;
                    if let Some(c) = open.get_mut(&fd) {
                        c.0 -= 1;
                    }
                    close_if_done(&mut open, fd);
                }
                _ => {}
            }
        }
        if gave {
            bufs.publish();
        }
        if stop.load(Ordering::Acquire) {
            if accepting {
                accepting = false;
                queue.push(
                    opcode::AsyncCancel::new(ud(ACCEPT, lfd, 0, 0))
                        .build()
                        .user_data(ud(CANCEL, lfd, 0, 0)),
                );
            }
            if open.is_empty() && in_flight == 0 && queue.is_empty() {
                break None;
            }
        }
    };
    let _ = ring.submitter().unregister_buf_ring(GROUP);
    for (fd, _) in open.drain() {
        // SAFETY: an accepted descriptor of ours, closed once.
        unsafe { libc::close(fd) };
    }
    drop(ring);
    if in_flight > 0 {
        // The kernel may still hold a request that points into the buffers: keep them.
        std::mem::forget(bufs);
    }
    match fatal {
        Some(e) => Err(e),
        None => Ok(echoed),
    }
}

fn recv(fd: i32) -> io_uring::squeue::Entry {
    opcode::RecvMulti::new(Fd(fd), GROUP)
        .build()
        .user_data(ud(RECV, fd, 0, 0))
}

fn send(fd: i32, bufs: &Buffers, bid: u16, off: u32) -> io_uring::squeue::Entry {
    let total = bufs.filled[bid as usize];
    // SAFETY: `off < total <= ECHO_BUF`: inside buffer `bid`.
    let ptr = unsafe { bufs.addr(bid).add(off as usize) };
    opcode::Send::new(Fd(fd), ptr, total - off)
        .flags(libc::MSG_NOSIGNAL)
        .build()
        .user_data(ud(SEND, fd, bid, off))
}

/// Closes `fd` once its receive has ended and none of its sends is in flight, so that no
/// request can name the number after it is reused.
fn close_if_done(open: &mut HashMap<i32, (u32, bool)>, fd: i32) {
    if open.get(&fd) == Some(&(0, true)) {
        open.remove(&fd);
        // SAFETY: an accepted descriptor of ours whose requests have all ended.
        unsafe { libc::close(fd) };
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// The kernel's TCP sockets on local `port` in state `state` (hex, /proc/net/tcp).
    fn sockets(port: u16, state: &str) -> usize {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
        let local = format!(":{port:04X}");
        table
            .lines()
            .skip(1)
            .filter(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 3 && f[1].ends_with(&local) && f[3] == state
            })
            .count()
    }

    /// Three connections of sequential round trips (and one that closes at once), then
    /// stop: every byte comes back, the count matches, and the loop ends having closed
    /// every socket it accepted (a leaked one would sit in CLOSE_WAIT). Where io_uring
    /// is refused the loop says so.
    #[test]
    fn echoes_every_byte_and_ends_when_stopped() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let server = std::thread::spawn(move || serve(listener, &s));
        let mut sent = 0u64;
        let clients: Vec<_> = (0..3u8)
            .map(|k| {
                std::thread::spawn(move || {
                    let mut c = std::net::TcpStream::connect(addr).unwrap();
                    let mut n = 0u64;
                    for i in 0..50u32 {
                        let msg = vec![k.wrapping_add(i as u8); 1 + (i as usize * 97) % 3000];
                        c.write_all(&msg).unwrap();
                        let mut back = vec![0u8; msg.len()];
                        c.read_exact(&mut back).unwrap();
                        assert_eq!(back, msg);
                        n += msg.len() as u64;
                    }
                    n
                })
            })
            .collect();
        drop(std::net::TcpStream::connect(addr).unwrap());
        for c in clients {
            sent += c.join().unwrap();
        }
        stop.store(true, Ordering::Release);
        match server.join().unwrap() {
            Ok(echoed) => assert_eq!(echoed, sent),
            Err(e) => {
                assert!(e.to_string().contains("refused"), "{e}");
                eprintln!("note: the bare loop could not run here: {e}");
                return;
            }
        }
        const CLOSE_WAIT: &str = "08";
        const LISTEN: &str = "0A";
        assert_eq!(
            sockets(addr.port(), CLOSE_WAIT),
            0,
            "an accepted socket was left open"
        );
        assert_eq!(
            sockets(addr.port(), LISTEN),
            0,
            "the listener was left open"
        );
    }

    #[test]
    fn user_data_round_trips() {
        for (kind, fd, bid, off) in [
            (SEND, 7, 511, 4095),
            (RECV, 1 << 20, 0, 0),
            (ACCEPT, 3, 1, 2),
        ] {
            assert_eq!(parts(ud(kind, fd, bid, off)), (kind, fd, bid, off));
        }
    }
}
