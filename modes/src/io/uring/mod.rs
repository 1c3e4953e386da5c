//! The io_uring backend: the loop's ring (`ring.rs`) and one operation's future
//! (`op.rs`).
//!
//! Routing a submission: on a loop thread (a `Single` core, a `Threads` worker) the SQE
//! goes straight into that thread's ring; on any other thread of a runtime (the
//! `block_on` caller of `Threads`, a blocking-pool thread) it is queued on one of the
//! runtime's rings (round robin), whose thread submits it. Either way the completion
//! wakes the awaiting task wherever it runs by then.

pub(crate) mod op;
pub(crate) mod ring;

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use io_uring::squeue;

pub(crate) use op::{Completion, Op, OpCell};
pub(crate) use ring::{Ring, RingShared};

thread_local! {
    static RING: Cell<*const Ring> = const { Cell::new(std::ptr::null()) };
}

/// Restores the previous thread ring when dropped.
pub(crate) struct RingGuard(*const Ring);

impl Drop for RingGuard {
    fn drop(&mut self) {
        let prev = self.0;
        let _ = RING.try_with(|r| r.set(prev));
    }
}

/// Makes `ring` this thread's ring until the guard drops. The caller keeps `ring` alive
/// and on this thread meanwhile.
pub(crate) fn enter(ring: Option<&Ring>) -> RingGuard {
    let p = ring.map_or(std::ptr::null(), |r| r as *const Ring);
    RingGuard(RING.with(|r| r.replace(p)))
}

fn with_current<R>(f: impl FnOnce(Option<&Ring>) -> R) -> R {
    RING.with(|r| {
        // SAFETY: `RING` is non-null only between `enter` and its guard's drop, on this
        // thread, while the ring it points to is alive (its owner holds the guard); all
        // access is through `&Ring`.
        f(unsafe { r.get().as_ref() })
    })
}

/// Runs `f` on this thread's ring if it is the one `shared` belongs to.
pub(crate) fn with_local<R>(shared: &Arc<RingShared>, f: impl FnOnce(&Ring) -> R) -> Option<R> {
    with_current(|ring| match ring {
        Some(r) if Arc::ptr_eq(&r.shared, shared) => Some(f(r)),
        _ => None,
    })
}

/// `true` if this thread runs a ring.
pub(crate) fn on_ring_thread() -> bool {
    with_current(|r| r.is_some())
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
    let reclaim = || {
        // SAFETY: `ud` came from `Arc::into_raw` above and no SQE carrying it was queued.
        drop(unsafe { Arc::from_raw(ud as *const OpCell) });
    };
    let local = with_current(|ring| {
        ring.map(|r| {
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
            let rings = crate::context::with(|s| s.map(|s| s.io_rings()).unwrap_or_default());
            if rings.is_empty() {
                reclaim();
                return Err((no_ring(), data));
            }
            let shared = rings[NEXT.fetch_add(1, Ordering::Relaxed) % rings.len()].clone();
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
