//! io_uring operations: the cell the kernel's completion lands in, the future that owns
//! an operation's resources, and one file per operation the I/O layer submits (as
//! monoio's `op/`).
//!
//! Each operation file holds a safe constructor that takes what the kernel will read or
//! write (an owned buffer, a boxed address, a path) into the operation's data, builds the
//! SQE pointing into that data, and makes the one `unsafe` call to [`submit`] with the
//! reason it is sound. `io/stream.rs`, `io/file.rs`, `io/net.rs` and `io/accept.rs` call
//! only these safe functions.
//!
//! | file          | opcodes                     | used by                               |
//! |---------------|-----------------------------|---------------------------------------|
//! | `read.rs`     | `Recv`, `Read`              | stream reads, `read_at`               |
//! | `write.rs`    | `Send`, `Write`             | stream writes, `write_at`             |
//! | `poll.rs`     | `PollAdd`                   | `poll_write` waiting for room         |
//! | `connect.rs`  | `Connect`                   | `connect`                             |
//! | `accept.rs`   | `Accept` (and its probe)    | `accept`                              |
//! | `msg.rs`      | `SendMsg`, `RecvMsg`        | `send_to`, `recv_from`                |
//! | `open.rs`     | `OpenAt`                    | `open`                                |
//! | `fsync.rs`    | `Fsync`                     | `sync_all`                            |
//!
//! Invariants (the cancellation-safety argument):
//! 1. Every submitted SQE carries `user_data = Arc::into_raw(cell)`: the kernel holds one
//!    strong count of the cell until its CQE is reaped, so the cell outlives the kernel's
//!    use of the address.
//! 2. The resources the kernel reads or writes (buffers, socket addresses, paths) live in
//!    the `Op`'s `data` (heap memory, stable when the `Op` moves) until the operation
//!    completes. If the `Op` is dropped first, `data` moves into the cell
//!    (`State::Abandoned`) and is released only by the reaper, after the CQE: the kernel
//!    never writes into freed memory, cancelled or not.
//! 3. What a completed-but-abandoned operation produced is handed to
//!    [`Completion::abandoned`]: an opened file is closed there (`open.rs`), an accepted
//!    connection is kept on its listener for the next accept (`accept.rs`) and a read's
//!    bytes for the next read (`read.rs`), so nothing leaks and nothing is lost.
//! 4. A cancel request holds its own strong count of the cell (`user_data` tagged with
//!    [`CANCEL_TAG`]), released when the cancel's CQE is reaped: the address the cancel
//!    names cannot be reused by another operation meanwhile.
//! 5. All state changes happen under the cell's mutex; the waker is woken after the lock
//!    is released.
//! 6. Every operation on a descriptor holds a clone of its `Arc<FdInner>` in its data, so
//!    the number is not closed (and reused) while an SQE naming it may still run.

pub(crate) mod accept;
pub(crate) mod connect;
pub(crate) mod fsync;
pub(crate) mod msg;
pub(crate) mod open;
pub(crate) mod poll;
pub(crate) mod read;
pub(crate) mod recv_multi;
pub(crate) mod write;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::loom::Mutex;
use std::task::{Context, Poll, Waker};

use super::ring::RingShared;

/// The outcome of a submission: the operation's future, or (not submitted) the error
/// with the data given back.
pub(crate) type Submitted<T> = Result<Op<T>, (std::io::Error, T)>;

/// Waits for a submitted operation, or gives [`Completion::failed`] if it was not
/// submitted.
pub(crate) async fn wait<T: Completion>(submitted: Submitted<T>) -> T::Output {
    match submitted {
        Ok(op) => op.await,
        Err((e, data)) => data.failed(e),
    }
}

/// A CQE's result as a byte count (`res` < 0 is `-errno`).
pub(crate) fn result(res: i32) -> std::io::Result<usize> {
    if res < 0 {
        Err(std::io::Error::from_raw_os_error(-res))
    } else {
        Ok(res as usize)
    }
}

/// The raw descriptor an SQE names.
pub(crate) fn raw(fd: &crate::io::fd::FdInner) -> io_uring::types::Fd {
    io_uring::types::Fd(std::os::fd::AsRawFd::as_raw_fd(&fd.fd))
}

/// Low bit of a `user_data` that is a cancel request for the cell it points to.
pub(crate) const CANCEL_TAG: u64 = 1;

/// What an operation does with its completion. Implemented by the operations of this
/// module's files (`read.rs`'s `StreamRead`, `accept.rs`'s `Accept`, ...).
pub(crate) trait Completion: Send + 'static {
    /// What the operation's future returns.
    type Output;
    /// Turns the kernel's result (`res` < 0 is `-errno`) into the output.
    fn complete(self, res: i32, flags: u32) -> Self::Output;
    /// The output when the operation could not be submitted at all (it gives back what
    /// it owns, a buffer say, with the error).
    fn failed(self, e: std::io::Error) -> Self::Output;
    /// Called (on the ring's thread) when the operation completed after its future was
    /// dropped: close what it opened, keep what it read. The default just drops `self`.
    fn abandoned(self, res: i32, flags: u32)
    where
        Self: Sized,
    {
        let _ = (res, flags);
    }
}

/// Object-safe form of `Completion::abandoned`, for `State::Abandoned`.
pub(crate) trait Abandon: Send {
    fn finish(self: Box<Self>, res: i32, flags: u32);
}

impl<T: Completion> Abandon for T {
    fn finish(self: Box<Self>, res: i32, flags: u32) {
        (*self).abandoned(res, flags)
    }
}

pub(crate) enum State {
    /// In the kernel's hands; the waker of whoever awaits it.
    Pending(Option<Waker>),
    /// Completed; the result waits for the future's next poll.
    Done(i32, u32),
    /// The future was dropped before completion: its resources wait here for the CQE.
    Abandoned(Box<dyn Abandon>),
    /// Result taken (or resources released): nothing left to do.
    Finished,
}

pub(crate) struct OpCell {
    pub(crate) state: Mutex<State>,
    /// The SQE as submitted, for the ring to submit again if the kernel cancels it on
    /// its own (`driver/ring.rs`: the submitting thread exited).
    pub(crate) sqe: std::sync::OnceLock<io_uring::squeue::Entry>,
}

impl OpCell {
    pub(crate) fn new() -> Arc<OpCell> {
        Arc::new(OpCell {
            state: Mutex::new(State::Pending(None)),
            sqe: std::sync::OnceLock::new(),
        })
    }

    /// `true` while someone awaits the result (not abandoned, not completed): an
    /// `ECANCELED` completion then was not asked for by us (every cancel we send is for
    /// an abandoned operation), so the ring submits the operation again.
    pub(crate) fn awaited(&self) -> bool {
        matches!(*self.lock(), State::Pending(_))
    }

    pub(crate) fn lock(&self) -> impl std::ops::DerefMut<Target = State> + '_ {
        self.state.lock()
    }

    /// The reaper's side: records the CQE, then wakes the awaiting task or releases the
    /// abandoned resources (outside the lock).
    pub(crate) fn complete(&self, res: i32, flags: u32) {
        let mut st = self.lock();
        match std::mem::replace(&mut *st, State::Done(res, flags)) {
            State::Pending(w) => {
                drop(st);
                if let Some(w) = w {
                    w.wake();
                }
            }
            State::Abandoned(data) => {
                *st = State::Finished;
                drop(st);
                data.finish(res, flags);
            }
            // A CQE arrives once per SQE; anything else would be a kernel bug. Keep the
            // first outcome.
            other => *st = other,
        }
    }
}

impl OpCell {
    /// The future's poll: the result if the CQE arrived (taking it), else registers
    /// `waker`.
    pub(crate) fn poll_result(&self, waker: &Waker) -> Option<(i32, u32)> {
        let mut st = self.lock();
        match &mut *st {
            State::Done(res, flags) => {
                let out = (*res, *flags);
                *st = State::Finished;
                Some(out)
            }
            State::Pending(w) => {
                match w {
                    Some(w) if w.will_wake(waker) => {}
                    _ => *w = Some(waker.clone()),
                }
                None
            }
            State::Abandoned(_) | State::Finished => {
                panic!("an Op is not polled after completion")
            }
        }
    }

    /// The future's drop before it took a result: `data` goes to the cell until the
    /// CQE, or straight to `abandoned` if the CQE is already here. `true` if the
    /// operation is still in the kernel and should be cancelled.
    pub(crate) fn abandon<T: Completion>(&self, data: T) -> bool {
        let mut st = self.lock();
        match &*st {
            State::Done(res, flags) => {
                // Completed but never collected: treat it as abandoned.
                let (res, flags) = (*res, *flags);
                *st = State::Finished;
                drop(st);
                data.abandoned(res, flags);
                false
            }
            State::Pending(_) => {
                *st = State::Abandoned(Box::new(data));
                true
            }
            State::Abandoned(_) | State::Finished => false,
        }
    }
}

/// The future of one submitted operation. Resolves to `T::Output`; dropping it before
/// completion cancels the operation without freeing what the kernel still uses.
pub(crate) struct Op<T: Completion> {
    pub(crate) cell: Arc<OpCell>,
    pub(crate) ring: Arc<RingShared>,
    pub(crate) data: Option<T>,
}

impl<T: Completion> Unpin for Op<T> {}

impl<T: Completion> Future for Op<T> {
    type Output = T::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        match self.cell.poll_result(cx.waker()) {
            Some((res, flags)) => {
                let data = self
                    .data
                    .take()
                    .expect("an Op is not polled after completion");
                Poll::Ready(data.complete(res, flags))
            }
            None => Poll::Pending,
        }
    }
}

impl<T: Completion> Op<T> {
    /// Leaves the operation to finish with nobody awaiting it: what it produces goes to
    /// [`Completion::abandoned`], as for a dropped `Op`, but no cancel is sent. For
    /// operations that complete on their own at once (a `DONTWAIT` accept).
    pub(crate) fn detach(mut self) {
        if let Some(data) = self.data.take() {
            let _ = self.cell.abandon(data);
        }
    }
}

impl<T: Completion> Drop for Op<T> {
    fn drop(&mut self) {
        if let Some(data) = self.data.take() {
            if self.cell.abandon(data) {
                self.ring.cancel(self.cell.clone());
            }
        }
    }
}
