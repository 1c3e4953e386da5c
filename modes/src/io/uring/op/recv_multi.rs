//! A stream's multishot receive (`IORING_OP_RECV` with `IORING_RECV_MULTISHOT`) into the
//! provided buffers of the ring it runs on (`driver/bufs.rs`).
//!
//! One receive is armed per stream and keeps posting: each completion names a buffer
//! the kernel filled, which joins the stream's queue of chunks (`Stash::chunks`); reads
//! copy out of the queue and each emptied chunk's buffer goes back to its ring. So a
//! message costs no SQE and no poll arming, and a read future owns nothing the kernel
//! touches: dropping one loses no byte (what arrived stays queued for the next read).
//!
//! Lifetime: the kernel holds one strong count of the [`MultiRecv`] (its `user_data`,
//! tagged [`MULTI_TAG`]) until the completion without `IORING_CQE_F_MORE`; the stream
//! holds only a `Weak` (no cycle). The receive ends when:
//! - the peer closes (`res == 0`): the stream records end of stream;
//! - the buffers run out (`-ENOBUFS`): the stream's next read that finds the queue empty
//!   does one single receive into its own buffer, then re-arms (never a busy loop on an
//!   empty group, never a lost byte: the kernel left unread bytes in the socket);
//! - the last `IoFd` of the stream is dropped: it cancels the receive (`-ECANCELED`);
//! - the kernel cancels it (the submitting thread exited): the next read re-arms;
//! - it filled a whole buffer (a bulk transfer: the socket held more than one buffer):
//!   it is cancelled and the stream's reads stay single receives, which go straight
//!   into the caller's memory with no copy and no completion per 16 KiB;
//! - an error: recorded once for the next read.
//!
//! A direct `recv` outside the ring is never made while a receive is armed (the kernel
//! may have taken bytes not yet queued): `stream.rs` checks.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use io_uring::{cqueue, opcode};

use super::raw;
use crate::driver::bufs::{BufRing, Chunk, GROUP, SIZE};
use crate::driver::RingShared;
use crate::io::fd::{FdInner, Stash};

/// Bit of a `user_data` that points to a [`MultiRecv`] rather than an `OpCell`
/// (pointers are 8-aligned: bits 0 and 1 are free).
pub(crate) const MULTI_TAG: u64 = 2;

/// One armed multishot receive of a stream.
pub(crate) struct MultiRecv {
    /// Keeps the descriptor open while the kernel may receive on it.
    fd: Arc<FdInner>,
    bufs: Arc<BufRing>,
    /// The ring it was submitted to (where a cancel must go).
    ring: Arc<RingShared>,
}

impl MultiRecv {
    /// The reaper's side (on the ring's thread): queues the received chunk, records how
    /// the receive ended if it did, and wakes the stream's waiting reads.
    pub(crate) fn on_cqe(&self, res: i32, flags: u32) {
        let chunk = cqueue::buffer_select(flags).map(|bid| Chunk {
            ring: self.bufs.clone(),
            bid,
            len: res.max(0) as usize,
            pos: 0,
        });
        let mut stop = None;
        let waiters = {
            let mut st = self.fd.stash();
            if let Some(c) = chunk {
                if c.len == SIZE && !self.fd.bulk.swap(true, Ordering::Relaxed) {
                    // A full buffer: the socket had more waiting than one buffer holds,
                    // a bulk transfer. Such a stream reads cheaper by single receives
                    // straight into the caller's buffer (`stream.rs`), so this receive
                    // is ended; what it queued until then stays queued.
                    stop = st.multi.as_ref().and_then(Weak::upgrade);
                }
                if c.len > 0 {
                    st.chunks.push_back(c);
                }
                // An empty chunk (none should come) is given back by its drop.
            }
            if !cqueue::more(flags) {
                st.multi = None;
                match res {
                    0 => st.eof = true,
                    r if r == -libc::ENOBUFS => st.nobufs = true,
                    // Ours (the stream was dropped) or the kernel's (its submitting
                    // thread exited): nothing was lost; a later read re-arms.
                    r if r == -libc::ECANCELED => {}
                    r if r < 0 => st.error = Some(-r),
                    _ => {}
                }
            }
            st.waiters.take()
        };
        waiters.wake();
        if let Some(m) = stop {
            self.ring.cancel_multi(m);
        }
    }
}

/// Arms a multishot receive for `fd` on this thread's ring, under the stream's lock
/// (`st`). `false` if it cannot be armed here (no ring on this thread, no provided
/// buffers, a full submission queue): the caller does a single receive instead.
pub(crate) fn arm(fd: &Arc<FdInner>, st: &mut Stash) -> bool {
    crate::context::with_driver(|d| {
        let Some(ring) = d.and_then(|d| d.ring()) else {
            return false;
        };
        let Some(bufs) = ring.bufs() else {
            return false;
        };
        ring.shared.add_home();
        let multi = Arc::new(MultiRecv {
            fd: fd.clone(),
            bufs,
            ring: ring.shared.clone(),
        });
        let weak = Arc::downgrade(&multi);
        let ud = Arc::into_raw(multi) as u64 | MULTI_TAG;
        let entry = opcode::RecvMulti::new(raw(fd), GROUP).build().user_data(ud);
        // SAFETY: the entry carries no pointer of ours: the kernel writes only into the
        // group's buffers, owned by the ring's `BufRing` for as long as the group is
        // registered; `ud`'s strong count keeps `MultiRecv` (and so the descriptor)
        // alive until the final CQE. `try_push` never reaps, so no completion takes
        // the stream's lock we hold.
        if unsafe { ring.try_push(&entry) } {
            st.multi = Some(weak);
            true
        } else {
            // SAFETY: `ud` came from `Arc::into_raw` above and was not pushed.
            drop(unsafe { Arc::from_raw((ud & !MULTI_TAG) as *const MultiRecv) });
            false
        }
    })
}

/// Ends the stream's armed receive, if any (its last `IoFd` is gone). The chunks
/// already queued are dropped with the stream, giving their buffers back.
pub(crate) fn disarm(multi: &Weak<MultiRecv>) {
    if let Some(m) = multi.upgrade() {
        let ring = m.ring.clone();
        ring.cancel_multi(m);
    }
}

impl Drop for MultiRecv {
    /// One home fewer on its ring (counted from `arm`).
    fn drop(&mut self) {
        self.ring.drop_home();
    }
}
