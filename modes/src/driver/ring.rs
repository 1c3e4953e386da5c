//! The io_uring instance of one loop (per worker in `Threads`): it submits the loop's
//! I/O, and the loop parks on it. It knows nothing of the park state machine: it waits
//! inside [`Remote::park`], which orders the wait against other threads' requests.
//!
//! Ownership: the `Ring` belongs to its loop's `Driver` and is reached only from the
//! thread running that loop, through `&Ring` (interior mutability). Other threads reach
//! it only through [`RingShared`]: they queue a request (a prepared SQE, or a cancel) on
//! its [`Remote`] queue, which unparks the loop; the loop moves queued requests into its
//! submission queue at its next `poll` or `park`.
//!
//! When SQEs reach the kernel: when `SUBMIT_BATCH` of them are waiting, at every `poll`
//! (each `Single` iteration, each `Threads` maintenance tick) and when the loop parks
//! (one `io_uring_enter` submits and waits). Completions are reaped at the same points;
//! each wakes its task wherever that task runs now. A wake from another thread is a
//! write to the unparker's eventfd, whose read this ring keeps armed while it waits.

use std::cell::{Cell, RefCell, UnsafeCell};
use std::mem::ManuallyDrop;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use io_uring::{opcode, squeue, types, IoUring};

use super::bufs::{self, BufRing};
use super::remote::{Parked, Remote};
use crate::io::uring::op::recv_multi::{MultiRecv, MULTI_TAG};
use crate::io::uring::op::{OpCell, CANCEL_TAG};

/// `user_data` of the eventfd read that carries cross-thread wakes.
const WAKE: u64 = 0;
/// `user_data` of the cancel-everything request sent when the ring is dropped.
const CANCEL_ALL: u64 = 2;
/// Submit as soon as this many SQEs wait.
const SUBMIT_BATCH: u32 = 32;
/// Submission queue entries (the completion queue gets twice as many).
const ENTRIES: u32 = 256;

/// A request from a thread that is not the ring's own.
pub(crate) enum Request {
    Submit(squeue::Entry),
    Cancel(Arc<OpCell>),
    /// Ends a stream's multishot receive (its last `IoFd` was dropped).
    CancelMulti(Arc<MultiRecv>),
}

/// The part of a ring other threads may touch: its request queue, and how many
/// streams it is home to.
pub(crate) struct RingShared {
    remote: Remote<Request>,
    /// Multishot receives armed on this ring (the streams whose home it is): a live
    /// `MultiRecv` counts one. For `WorkerMetrics::io_homes`, read relaxed.
    homes: AtomicUsize,
}

impl RingShared {
    /// Cancels the operation of `cell` (whose future was dropped), from any thread,
    /// its ring's own included (the loop takes the request at its next poll or park).
    pub(crate) fn cancel(&self, cell: Arc<OpCell>) {
        // A closed ring completed (cancelled) everything before it went: nothing to do.
        let _ = self.remote.push(Request::Cancel(cell));
    }

    /// Ends the multishot receive `multi`, from any thread (as [`RingShared::cancel`]).
    pub(crate) fn cancel_multi(&self, multi: Arc<MultiRecv>) {
        // A closed ring cancelled its multishots before it went.
        let _ = self.remote.push(Request::CancelMulti(multi));
    }

    /// The streams whose multishot receive is armed here.
    pub(crate) fn homes(&self) -> usize {
        self.homes.load(Ordering::Relaxed)
    }

    /// A new home here (a `MultiRecv` made for this ring), and its end.
    pub(crate) fn add_home(&self) {
        self.homes.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn drop_home(&self) {
        self.homes.fetch_sub(1, Ordering::Relaxed);
    }

    /// Queues `entry` for the ring's thread to submit. Fails once the ring is gone.
    pub(crate) fn submit_remote(&self, entry: squeue::Entry) -> std::io::Result<()> {
        self.remote
            .push(Request::Submit(entry))
            .map_err(|_| std::io::Error::other("the runtime that owns this I/O ring has shut down"))
    }
}

/// The loop thread's ring.
pub(crate) struct Ring {
    /// Dropped by hand in `Drop`, only once the kernel holds nothing of ours.
    ring: ManuallyDrop<RefCell<IoUring>>,
    pub(crate) shared: Arc<RingShared>,
    /// The unparker's eventfd, read for wakes (closed only after this ring is dropped).
    event_fd: RawFd,
    /// SQEs whose CQE has not been reaped (the wake read excluded).
    in_flight: Cell<usize>,
    unsubmitted: Cell<u32>,
    /// Target of the eventfd read; written by the kernel while `armed`.
    wake_buf: ManuallyDrop<Box<UnsafeCell<[u8; 8]>>>,
    armed: Cell<bool>,
    reaped: RefCell<Vec<(u64, i32, u32)>>,
    /// The provided buffers of multishot receives, registered on first use.
    bufs: RefCell<Bufs>,
    /// Set while `reap` runs: a push from a completion handler (an abandoned accept's
    /// probe) must not reap the next completions before this batch is done, which
    /// would reorder a stream's multishot chunks.
    reaping: Cell<bool>,
    /// Set by `Drop`: the `-ECANCELED` completions that follow are ours.
    closing: Cell<bool>,
}

/// Whether this ring's provided-buffer group is registered.
enum Bufs {
    Untried,
    Ready(Arc<BufRing>),
    /// The kernel refused it (or memory ran out): stream reads use single receives.
    Refused,
}

impl Ring {
    /// A new ring and its eventfd. `Err` says why io_uring cannot be used.
    ///
    /// COOP_TASKRUN: completions do not interrupt (IPI) the thread that submitted them
    /// while it runs; their task work runs at its next kernel entry, a timer tick at the
    /// latest, and TASKRUN_FLAG tells `poll` when it is due. Measured: a `Single` loop
    /// without it served `net` at 0.38-0.48x tokio-ct, with it 0.93-0.98x (IPIs are VM
    /// exits here). A `Single` loop can move between the threads that call `block_on`;
    /// completion work still goes to the thread that submitted, which the kernel wakes
    /// from an interruptible sleep for it (TWA_SIGNAL_NO_IPI sets the notify flag and
    /// wakes interruptible sleepers; only the IPI to a running thread is left out), so a
    /// thread that has left the loop still posts its completions.
    /// SUBMIT_ALL: one bad SQE does not hold back the ones after it.
    /// `event_fd` is the one `remote`'s unparker writes; it must stay open until this
    /// ring is dropped.
    pub(crate) fn new(event_fd: RawFd, remote: Remote<Request>) -> Result<Ring, String> {
        let mut b = IoUring::builder();
        b.setup_submit_all()
            .setup_coop_taskrun()
            .setup_taskrun_flag();
        let ring = b
            .build(ENTRIES)
            .or_else(|_| IoUring::new(ENTRIES))
            .map_err(|e| format!("io_uring refused: {e}"))?;
        if !ring.params().is_feature_ext_arg() {
            return Err("io_uring lacks IORING_FEAT_EXT_ARG (kernel < 5.11)".into());
        }
        Ok(Ring {
            ring: ManuallyDrop::new(RefCell::new(ring)),
            shared: Arc::new(RingShared {
                remote,
                homes: AtomicUsize::new(0),
            }),
            event_fd,
            in_flight: Cell::new(0),
            unsubmitted: Cell::new(0),
            wake_buf: ManuallyDrop::new(Box::new(UnsafeCell::new([0; 8]))),
            armed: Cell::new(false),
            reaped: RefCell::new(Vec::with_capacity(64)),
            bufs: RefCell::new(Bufs::Untried),
            reaping: Cell::new(false),
            closing: Cell::new(false),
        })
    }

    /// The ring's provided buffers, registered with the kernel on the first call;
    /// `None` if the kernel refuses them (then stream reads use single receives).
    pub(crate) fn bufs(&self) -> Option<Arc<BufRing>> {
        let mut b = self.bufs.borrow_mut();
        if let Bufs::Untried = *b {
            *b = match BufRing::new() {
                Ok(ring) => {
                    // SAFETY: `ring`'s entries hold `COUNT` initialised, page-aligned
                    // entries, kept allocated by the `Arc` this ring holds until the
                    // group is unregistered (`Drop`), or leaked with the ring.
                    let reg = unsafe {
                        self.ring.borrow().submitter().register_buf_ring_with_flags(
                            ring.entries_addr(),
                            bufs::COUNT,
                            bufs::GROUP,
                            0,
                        )
                    };
                    match reg {
                        Ok(()) => Bufs::Ready(ring),
                        Err(_) => Bufs::Refused,
                    }
                }
                Err(_) => Bufs::Refused,
            };
        }
        match &*b {
            Bufs::Ready(ring) => Some(ring.clone()),
            _ => None,
        }
    }

    /// Pushes one SQE if the queue has room, without submitting or reaping (so the
    /// caller may hold a stream's lock that a completion would take). The loop's next
    /// poll or park submits it.
    ///
    /// # Safety
    /// As [`Ring::push`].
    pub(crate) unsafe fn try_push(&self, entry: &squeue::Entry) -> bool {
        // SAFETY: the caller keeps the entry's memory valid until its completion.
        let pushed = unsafe { self.ring.borrow_mut().submission().push(entry) };
        if pushed.is_ok() {
            self.in_flight.set(self.in_flight.get() + 1);
            self.unsubmitted.set(self.unsubmitted.get() + 1);
        }
        pushed.is_ok()
    }

    /// Pushes one SQE, submitting first if the queue is full, and at once when a batch
    /// is complete.
    ///
    /// # Safety
    /// Whatever memory `entry` points to stays valid until its CQE is reaped (see the
    /// invariants in `op.rs`).
    pub(crate) unsafe fn push(&self, entry: &squeue::Entry) -> std::io::Result<()> {
        for _ in 0..8 {
            // SAFETY: the caller keeps the entry's memory valid until its completion.
            let pushed = unsafe { self.ring.borrow_mut().submission().push(entry) };
            if pushed.is_ok() {
                self.in_flight.set(self.in_flight.get() + 1);
                let n = self.unsubmitted.get() + 1;
                self.unsubmitted.set(n);
                if n >= SUBMIT_BATCH {
                    self.submit();
                }
                return Ok(());
            }
            // Full: hand the queue to the kernel (reaping if it pushes back) and retry.
            self.submit();
            self.reap();
        }
        Err(std::io::Error::other(
            "io_uring submission queue stays full",
        ))
    }

    fn push_cancel(&self, cell: Arc<OpCell>) {
        let target = Arc::as_ptr(&cell) as u64;
        let tagged = Arc::into_raw(cell) as u64 | CANCEL_TAG;
        let entry = opcode::AsyncCancel::new(target).build().user_data(tagged);
        // SAFETY: a cancel carries no buffer; the cell it names is kept alive by the
        // strong count in `tagged` until this cancel's own CQE.
        if unsafe { self.push(&entry) }.is_err() {
            // SAFETY: `tagged` came from `Arc::into_raw` just above and was not pushed.
            drop(unsafe { Arc::from_raw((tagged & !CANCEL_TAG) as *const OpCell) });
        }
    }

    /// As `push_cancel`, for a multishot receive (its `user_data` carries `MULTI_TAG`).
    fn push_cancel_multi(&self, multi: Arc<MultiRecv>) {
        let target = Arc::as_ptr(&multi) as u64 | MULTI_TAG;
        let tagged = Arc::into_raw(multi) as u64 | MULTI_TAG | CANCEL_TAG;
        let entry = opcode::AsyncCancel::new(target).build().user_data(tagged);
        // SAFETY: a cancel carries no buffer; the receive it names is kept alive by the
        // strong count in `tagged` until this cancel's own CQE.
        if unsafe { self.push(&entry) }.is_err() {
            // SAFETY: `tagged` came from `Arc::into_raw` just above and was not pushed.
            drop(unsafe {
                Arc::from_raw((tagged & !(CANCEL_TAG | MULTI_TAG)) as *const MultiRecv)
            });
        }
    }

    /// Hands queued SQEs to the kernel without waiting; also enters when completions
    /// wait as task work (or in the overflow list) to be posted.
    fn submit(&self) {
        if self.unsubmitted.get() == 0 {
            let mut ring = self.ring.borrow_mut();
            let sq = ring.submission();
            if !sq.taskrun() && !sq.cq_overflow() {
                return;
            }
        }
        loop {
            let res = self.ring.borrow().submit();
            match res {
                Ok(_) => break,
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && !self.reaping.get() => {
                    // Completions must be reaped before the kernel takes more.
                    self.reap();
                    continue;
                }
                Err(_) => break,
            }
        }
        self.count_unsubmitted();
    }

    /// `unsubmitted` from what the kernel really left in the queue (it may take fewer
    /// SQEs than offered, e.g. on EAGAIN/ENOMEM), so they are offered again.
    fn count_unsubmitted(&self) {
        let left = self.ring.borrow_mut().submission().len() as u32;
        self.unsubmitted.set(left);
    }

    /// Moves requests other threads queued into the submission queue. `true` if any.
    fn drain_requests(&self) -> bool {
        let reqs = self.shared.remote.take();
        self.push_requests(reqs)
    }

    fn push_requests(&self, reqs: Vec<Request>) -> bool {
        let any = !reqs.is_empty();
        for req in reqs {
            match req {
                Request::Submit(entry) => self.push_remote_entry(&entry, -libc::EBUSY),
                Request::Cancel(cell) => self.push_cancel(cell),
                Request::CancelMulti(multi) => self.push_cancel_multi(multi),
            }
        }
        any
    }

    /// Pushes an SQE another thread queued; if it cannot be pushed, completes its cell
    /// with `err` (a negative errno) so that its future does not hang.
    fn push_remote_entry(&self, entry: &squeue::Entry, err: i32) {
        // SAFETY: the remote submitter's `Op` keeps the entry's memory alive until the
        // completion, as for a local push.
        if unsafe { self.push(entry) }.is_err() {
            let ud = entry.get_user_data();
            // SAFETY: a Submit request's user_data is `Arc::into_raw` of its cell, owned
            // by that (never pushed) SQE.
            let cell = unsafe { Arc::from_raw(ud as *const OpCell) };
            cell.complete(err, 0);
        }
    }

    /// Moves completions off the queue, then (with the ring released) completes each.
    /// `true` if any operation completed.
    ///
    /// An operation the kernel cancelled on its own (`-ECANCELED` while still awaited:
    /// its submitting thread exited, see invariant 7 in `op/mod.rs`) is submitted
    /// again instead, once the batch is done. Not reentrant: a call from inside a
    /// completion handler returns `false` at once.
    fn reap(&self) -> bool {
        if self.reaping.replace(true) {
            return false;
        }
        let mut again = Vec::new();
        let mut reaped = self.reaped.take();
        {
            let mut ring = self.ring.borrow_mut();
            for cqe in ring.completion() {
                reaped.push((cqe.user_data(), cqe.result(), cqe.flags()));
            }
        }
        let mut any = false;
        for (ud, res, flags) in reaped.drain(..) {
            match ud {
                WAKE => self.armed.set(false),
                CANCEL_ALL => self.in_flight.set(self.in_flight.get() - 1),
                ud if ud & CANCEL_TAG != 0 && ud & MULTI_TAG != 0 => {
                    self.in_flight.set(self.in_flight.get() - 1);
                    let ptr = (ud & !(CANCEL_TAG | MULTI_TAG)) as *const MultiRecv;
                    // SAFETY: made by `push_cancel_multi` from `Arc::into_raw`; its CQE
                    // arrives once, so this runs once.
                    drop(unsafe { Arc::from_raw(ptr) });
                }
                ud if ud & CANCEL_TAG != 0 => {
                    self.in_flight.set(self.in_flight.get() - 1);
                    // SAFETY: a tagged user_data is `Arc::into_raw` of the cancelled cell,
                    // made by `push_cancel`; its CQE arrives once, so this runs once.
                    drop(unsafe { Arc::from_raw((ud & !CANCEL_TAG) as *const OpCell) });
                }
                ud if ud & MULTI_TAG != 0 => {
                    let ptr = (ud & !MULTI_TAG) as *const MultiRecv;
                    if io_uring::cqueue::more(flags) {
                        // SAFETY: the kernel's strong count (`Arc::into_raw` in
                        // `recv_multi::arm`) is released only by the final CQE, which
                        // comes after this one.
                        unsafe { &*ptr }.on_cqe(res, flags);
                    } else {
                        self.in_flight.set(self.in_flight.get() - 1);
                        // SAFETY: the final CQE of the receive: the kernel's count is
                        // ours now, taken once.
                        let multi = unsafe { Arc::from_raw(ptr) };
                        multi.on_cqe(res, flags);
                    }
                    any = true;
                }
                ud => {
                    self.in_flight.set(self.in_flight.get() - 1);
                    // SAFETY: every other user_data is `Arc::into_raw` of an `OpCell`,
                    // whose one strong count the kernel held until this CQE.
                    let cell = unsafe { Arc::from_raw(ud as *const OpCell) };
                    if res == -libc::ECANCELED && !self.closing.get() && cell.awaited() {
                        if let Some(sqe) = cell.sqe.get() {
                            // The count goes with the SQE again.
                            again.push(sqe.clone());
                            std::mem::forget(cell);
                            continue;
                        }
                    }
                    cell.complete(res, flags);
                    any = true;
                }
            }
        }
        *self.reaped.borrow_mut() = reaped;
        self.reaping.set(false);
        for sqe in again {
            // As a remote submission: its `Op` keeps its memory alive; if it cannot be
            // pushed, the cell completes with the kernel's `ECANCELED`.
            self.push_remote_entry(&sqe, -libc::ECANCELED);
        }
        any
    }

    /// Non-blocking turn of the ring: queue other threads' requests, submit, reap.
    /// `true` if an operation completed (and woke its task).
    pub(crate) fn poll(&self) -> bool {
        self.drain_requests();
        if self.in_flight.get() == 0 {
            return false;
        }
        self.submit();
        self.reap()
    }

    /// Reaps the completions the kernel has already posted, without entering it: one
    /// load of the completion queue's tail when there are none. `true` if an operation
    /// completed. A busy loop calls it between tasks: its own syscalls (a send, say) run
    /// the ring's pending task work on their way out, which posts completions.
    pub(crate) fn reap_posted(&self) -> bool {
        // Nothing in flight, nothing to post (the eventfd's wake is the park's business):
        // a loop running only tasks pays one `Cell` read per poll, not a queue load.
        if self.in_flight.get() == 0 || self.ring.borrow_mut().completion().is_empty() {
            return false;
        }
        self.reap()
    }

    /// `true` if `poll` may have something to do.
    pub(crate) fn needs_poll(&self) -> bool {
        self.in_flight.get() > 0 || self.shared.remote.may_have_requests()
    }

    fn arm(&self) {
        for _ in 0..2 {
            if self.armed.get() {
                return;
            }
            let read = opcode::Read::new(types::Fd(self.event_fd), self.wake_buf.get().cast(), 8)
                .build()
                .user_data(WAKE);
            // SAFETY: the read targets `wake_buf`, which stays allocated until the read
            // completes (`armed` tracks it; `Drop` waits for it).
            let pushed = unsafe { self.ring.borrow_mut().submission().push(&read) };
            if pushed.is_ok() {
                self.unsubmitted.set(self.unsubmitted.get() + 1);
                self.armed.set(true);
                return;
            }
            // The queue is full: hand it to the kernel, then try once more.
            self.submit();
            self.reap();
        }
    }

    /// Blocks until a completion, a wake or `timeout`; submits everything queued first
    /// (the protocol of `remote.rs`: requests are taken after `begin_park`, before the
    /// wait).
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        let parked = self.shared.remote.park(
            |reqs| {
                self.push_requests(reqs);
            },
            |took_requests| {
                let timeout = if took_requests {
                    Some(Duration::ZERO)
                } else {
                    timeout
                };
                self.wait(timeout);
            },
        );
        match parked {
            Parked::Notified => {
                self.poll();
            }
            Parked::Waited => {
                self.reap();
            }
        }
    }

    /// One `io_uring_enter`: submits what is queued and waits for one completion (the
    /// eventfd read among them) or `timeout`.
    fn wait(&self, timeout: Option<Duration>) {
        self.arm();
        // Without the eventfd read in the ring a wake could not end the wait: wait
        // briefly instead, and try again at the next park.
        let timeout = if self.armed.get() {
            timeout
        } else {
            Some(timeout.map_or(Duration::from_millis(1), |t| {
                t.min(Duration::from_millis(1))
            }))
        };
        let res = {
            let ring = self.ring.borrow();
            match timeout {
                Some(t) => {
                    let ts = types::Timespec::from(t);
                    let args = types::SubmitArgs::new().timespec(&ts);
                    ring.submitter().submit_with_args(1, &args)
                }
                None => ring.submit_and_wait(1),
            }
        };
        // ETIME (timeout) and EINTR are ordinary returns; anything else leaves us awake,
        // which the protocol allows (the caller re-checks and parks again).
        let _ = res;
        self.count_unsubmitted();
    }
}

impl Drop for Ring {
    /// Cancels everything in flight and waits (bounded) for the kernel to let go of it,
    /// so no buffer is freed under the kernel. Requests queued by other threads after
    /// this point fail.
    fn drop(&mut self) {
        let left = self.shared.remote.close();
        for req in left {
            match req {
                // Pushed to be cancelled below with the rest.
                Request::Submit(entry) => self.push_remote_entry(&entry, -libc::ECANCELED),
                Request::Cancel(cell) => self.push_cancel(cell),
                Request::CancelMulti(multi) => self.push_cancel_multi(multi),
            }
        }
        self.closing.set(true);
        if self.in_flight.get() > 0 || self.armed.get() {
            let any = opcode::AsyncCancel2::new(types::CancelBuilder::any())
                .build()
                .user_data(CANCEL_ALL);
            // SAFETY: a cancel carries no buffer.
            let _ = unsafe { self.push(&any) };
            // The eventfd read is cancelled too (ANY matches every request).
            for _ in 0..200 {
                if self.in_flight.get() == 0 && !self.armed.get() {
                    break;
                }
                let ts = types::Timespec::from(Duration::from_millis(10));
                let args = types::SubmitArgs::new().timespec(&ts);
                let _ = self.ring.borrow().submitter().submit_with_args(1, &args);
                self.unsubmitted.set(0);
                self.reap();
            }
        }
        let bufs = std::mem::replace(&mut *self.bufs.borrow_mut(), Bufs::Refused);
        if self.in_flight.get() == 0 && !self.armed.get() {
            if let Bufs::Ready(b) = bufs {
                // No receive can pick a buffer any more: the memory may go once the
                // streams holding chunks of it have dropped them.
                let _ = self
                    .ring
                    .borrow()
                    .submitter()
                    .unregister_buf_ring(bufs::GROUP);
                drop(b);
            }
            // SAFETY: dropped once, here; the kernel holds no operation of this ring
            // any more, so neither the ring's memory nor `wake_buf` is in use.
            unsafe {
                ManuallyDrop::drop(&mut self.ring);
                ManuallyDrop::drop(&mut self.wake_buf);
            }
        } else if let Bufs::Ready(b) = bufs {
            // The kernel still holds operations (a blocking file read, say): the ring and
            // the buffers (the provided ones too) stay alive for the life of the process
            // rather than be freed under it.
            std::mem::forget(b);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::Arc;

    use io_uring::opcode;

    use crate::driver::{ClockKind, Driver};
    use crate::io::uring::op::{OpCell, State};

    /// The home rule's peek between tasks (`threads/worker.rs`): what the kernel posted is
    /// reaped without entering it, and nothing is reaped before it is posted.
    #[test]
    fn reap_posted_takes_what_the_kernel_posted() {
        let (driver, _) = Driver::new(true, ClockKind::Real);
        let Some(ring) = driver.ring() else {
            return; // io_uring refused here: nothing to check
        };
        let cell = OpCell::new();
        let ud = Arc::into_raw(cell.clone()) as u64;
        // SAFETY: a no-op names no memory; the kernel's count of the cell is `ud`.
        unsafe { ring.push(&opcode::Nop::new().build().user_data(ud)) }.unwrap();
        assert!(!ring.reap_posted(), "the kernel has not seen the SQE yet");
        assert!(matches!(*cell.lock(), State::Pending(_)));
        // A no-op completes inside the submission, so its CQE is posted when this returns.
        ring.submit();
        assert!(ring.reap_posted());
        assert!(matches!(*cell.lock(), State::Done(0, _)));
        assert_eq!(ring.in_flight.get(), 0);
        assert!(!ring.reap_posted(), "a CQE is reaped once");
    }
}
