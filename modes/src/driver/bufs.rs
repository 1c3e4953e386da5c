//! A ring of provided receive buffers (`IORING_REGISTER_PBUF_RING`) for one loop's ring:
//! the memory multishot stream receives (`io/uring/op/recv_multi.rs`) land in.
//!
//! Ownership of a buffer moves in a circle: the ring's entries hand it to the kernel
//! (`give`); a receive's completion names it (`IORING_CQE_F_BUFFER`) and it belongs to
//! that stream's queue ([`Chunk`]); once read out (or the stream is gone) the chunk's
//! drop gives it back. The kernel reads only the entries between its head and the tail
//! published here, and writes only buffers it was given and has not yet reported, so
//! user code never reads memory the kernel may be writing.
//!
//! Any thread may give a buffer back (a `Threads` task runs wherever it was stolen to):
//! the tail moves under a mutex and is published with a release store, which the
//! kernel reads with an acquire load. The memory lives as long as the last `Arc`: the
//! loop's ring holds one until it has unregistered the group (or leaks it if the kernel
//! might still write), each queued chunk holds one.

use std::alloc::Layout;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use io_uring::types::BufRingEntry;

use crate::loom::Mutex;

/// Buffers per ring (a power of two).
pub(crate) const COUNT: u16 = 256;
/// Bytes per buffer: what one multishot completion carries at most.
pub(crate) const SIZE: usize = 16 * 1024;
/// The buffer group id multishot receives select from.
pub(crate) const GROUP: u16 = 0;

/// The provided-buffer ring and the buffers it hands out.
pub(crate) struct BufRing {
    /// `COUNT` entries, page-aligned as the kernel requires (`layout`).
    entries: *mut BufRingEntry,
    layout: Layout,
    /// `COUNT * SIZE` bytes.
    data: *mut u8,
    /// Our tail (the next entry to fill), published after each give.
    tail: Mutex<u16>,
}

// SAFETY: the raw pointers are to heap memory owned by this value; the entries are
// written only under `tail`'s lock, and a buffer's bytes are read only by the holder of
// its `Chunk`, after the kernel reported it and before it is given back.
unsafe impl Send for BufRing {}
// SAFETY: as above.
unsafe impl Sync for BufRing {}

impl BufRing {
    /// `COUNT` zeroed buffers, every one given to the (not yet registered) ring.
    pub(crate) fn new() -> std::io::Result<Arc<BufRing>> {
        let oom = || std::io::Error::from(std::io::ErrorKind::OutOfMemory);
        let layout = Layout::from_size_align(COUNT as usize * size_of::<BufRingEntry>(), 4096)
            .map_err(std::io::Error::other)?;
        let data_layout =
            Layout::from_size_align(COUNT as usize * SIZE, 64).map_err(std::io::Error::other)?;
        // SAFETY: both layouts have a non-zero size.
        let entries = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<BufRingEntry>();
        if entries.is_null() {
            return Err(oom());
        }
        // SAFETY: as above.
        let data = unsafe { std::alloc::alloc_zeroed(data_layout) };
        if data.is_null() {
            // SAFETY: allocated just above with `layout`.
            unsafe { std::alloc::dealloc(entries.cast(), layout) };
            return Err(oom());
        }
        let ring = Arc::new(BufRing {
            entries,
            layout,
            data,
            tail: Mutex::new(0),
        });
        for bid in 0..COUNT {
            ring.give(bid);
        }
        Ok(ring)
    }

    /// The address the kernel is told the entries are at.
    pub(crate) fn entries_addr(&self) -> u64 {
        self.entries as u64
    }

    /// Gives buffer `bid` back to the kernel.
    pub(crate) fn give(&self, bid: u16) {
        let mut tail = self.tail.lock();
        let slot = (*tail & (COUNT - 1)) as usize;
        // SAFETY: `slot < COUNT`, inside the entries' allocation; the kernel reads only
        // the entries between its head and the published tail, and this one is past it
        // (at most `COUNT` buffers exist, and `bid` was not in the ring).
        let e = unsafe { &mut *self.entries.add(slot) };
        // SAFETY: `bid < COUNT`, so the offset is inside `data`.
        e.set_addr(unsafe { self.data.add(bid as usize * SIZE) } as u64);
        e.set_len(SIZE as u32);
        e.set_bid(bid);
        *tail = tail.wrapping_add(1);
        // SAFETY: the first entry's `resv` field is the shared tail, a naturally
        // aligned u16 in the page-aligned allocation, read by the kernel atomically.
        let shared = unsafe { &*(BufRingEntry::tail(self.entries).cast::<AtomicU16>()) };
        shared.store(*tail, Ordering::Release);
    }

    /// The first `len` bytes of buffer `bid`.
    ///
    /// # Safety
    /// The caller holds `bid` (a completion reported it and it was not given back), and
    /// the kernel wrote at least `len <= SIZE` bytes into it.
    pub(crate) unsafe fn bytes(&self, bid: u16, len: usize) -> &[u8] {
        debug_assert!(bid < COUNT && len <= SIZE);
        // SAFETY: the caller's contract; the range is inside `data`.
        unsafe { std::slice::from_raw_parts(self.data.add(bid as usize * SIZE), len) }
    }
}

impl Drop for BufRing {
    /// Frees the memory: the last `Arc` is gone, so the group is unregistered (or its
    /// ring leaked this `Arc`) and no chunk names a buffer any more.
    fn drop(&mut self) {
        // SAFETY: both allocated in `new` with these layouts, freed once, here.
        unsafe {
            std::alloc::dealloc(self.entries.cast(), self.layout);
            let data_layout = Layout::from_size_align_unchecked(COUNT as usize * SIZE, 64);
            std::alloc::dealloc(self.data, data_layout);
        }
    }
}

/// Received bytes in one provided buffer, owned by a stream's queue until read out;
/// dropping it gives the buffer back to its ring.
pub(crate) struct Chunk {
    pub(crate) ring: Arc<BufRing>,
    pub(crate) bid: u16,
    pub(crate) len: usize,
    /// Bytes already read out.
    pub(crate) pos: usize,
}

impl Chunk {
    /// The bytes not yet read out.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: a chunk is made only from a completion that reported `bid` with `len`
        // bytes, and it gives `bid` back only when dropped.
        unsafe { &self.ring.bytes(self.bid, self.len)[self.pos..] }
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        self.ring.give(self.bid);
    }
}
