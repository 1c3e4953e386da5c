//! The io_uring backend: one operation's future (`op.rs`) and the routing of its
//! submission to a loop's ring (`driver/ring.rs`).
//!
//! Routing a submission (`submit`): on a loop thread (a `Single` core, a `Threads`
//! worker) the SQE goes straight into the ring of the thread's driver (`context::
//! with_driver`); on any other thread of a runtime (the `block_on` caller of `Threads`,
//! a blocking-pool thread) it is queued on one of the runtime's rings (round robin over
//! its drivers' handles), whose thread submits it. Either way the completion wakes the
//! awaiting task wherever it runs by then. On a worker this is the first step of
//! `Threads`' home rule (`threads/mod.rs`): the kernel runs a completion's work on the
//! submitting thread, so the worker that submits is the one that completes, and the task
//! it wakes runs there.

pub(crate) mod op;
/// The ring lives in the loop's driver; `op.rs` names it from here.
pub(crate) use crate::driver::ring;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use io_uring::squeue;

pub(crate) use op::{Completion, Op, OpCell};
pub(crate) use ring::RingShared;

/// `true` if this thread runs a loop that parks on io_uring.
pub(crate) fn on_ring_thread() -> bool {
    crate::context::with_driver(|d| d.is_some_and(|d| d.ring().is_some()))
}

/// One of the current runtime's rings (round robin), for a thread that runs none.
fn remote_ring() -> Option<Arc<RingShared>> {
    crate::context::with(|s| {
        let drivers = s?.drivers();
        let with_ring = drivers.iter().filter(|d| d.ring().is_some()).count();
        if with_ring == 0 {
            return None;
        }
        let pick = NEXT.fetch_add(1, Ordering::Relaxed) % with_ring;
        drivers.iter().filter_map(|d| d.ring()).nth(pick).cloned()
    })
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Submits `entry` (whose memory `data` owns) and returns the future of its completion.
///
/// # Safety
/// Every pointer in `entry` points into heap memory owned by `data` (or into memory that
/// outlives the operation), which does not move when `data` moves.
pub(crate) unsafe fn submit<T: Completion>(
    entry: squeue::Entry,
    data: T,
) -> Result<Op<T>, (std::io::Error, T)> {
    let cell = OpCell::new();
    let ud = Arc::into_raw(cell.clone()) as u64;
    let entry = entry.user_data(ud);
    // Kept for a resubmission if the kernel cancels it (op/mod.rs, invariant 7).
    let _ = cell.sqe.set(entry.clone());
    let reclaim = || {
        // SAFETY: `ud` came from `Arc::into_raw` above and no SQE carrying it was queued.
        drop(unsafe { Arc::from_raw(ud as *const OpCell) });
    };
    let local = crate::context::with_driver(|d| {
        d.and_then(|d| d.ring()).map(|r| {
            // SAFETY: the caller's contract: `data` keeps the memory alive; the `Op`
            // below keeps `data` (or moves it into the cell) until the completion.
            unsafe { r.push(&entry) }.map(|()| r.shared.clone())
        })
    });
    let shared = match local {
        Some(Ok(shared)) => shared,
        Some(Err(e)) => {
            reclaim();
            return Err((e, data));
        }
        None => {
            let Some(shared) = remote_ring() else {
                reclaim();
                return Err((no_ring(), data));
            };
            if let Err(e) = shared.submit_remote(entry) {
                reclaim();
                return Err((e, data));
            }
            shared
        }
    };
    Ok(Op {
        cell,
        ring: shared,
        data: Some(data),
    })
}

fn no_ring() -> std::io::Error {
    let in_runtime = crate::context::with(|s| s.is_some());
    if in_runtime {
        std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "this I/O object uses io_uring, but the current runtime runs readiness I/O",
        )
    } else {
        super::no_runtime()
    }
}
