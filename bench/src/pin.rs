//! Pinning threads to cores for `--pin`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Pins the calling thread to the `i`-th usable core (modulo their number). Returns false
/// when the cores are unknown or the kernel refused.
pub fn pin_current(i: usize) -> bool {
    match core_affinity::get_core_ids() {
        Some(ids) if !ids.is_empty() => core_affinity::set_for_current(ids[i % ids.len()]),
        _ => false,
    }
}

/// A closure that pins each thread that calls it to the next core, starting at `first`.
pub fn round_robin(first: usize) -> impl Fn() + Send + Sync + 'static {
    let next = Arc::new(AtomicUsize::new(first));
    move || {
        pin_current(next.fetch_add(1, Ordering::Relaxed));
    }
}
