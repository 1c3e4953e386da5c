//! One loop's timers: an ordered map from (deadline, sequence) to what to do when due.
//!
//! A `BTreeMap` gives ordered firing, removal by key for a dropped `Sleep` or a cancelled
//! `call_later`, and FIFO order among equal deadlines (the sequence number), which is
//! what asyncio guarantees for `call_at` with the same time.
//!
//! The map sits behind a mutex because a `Sleep` may be dropped on any thread; the loop
//! that owns the timers is the only one that fires them. `len` mirrors the map's size so
//! the loop can skip the lock (and the clock read) when there are no timers.

use crate::loom::{Mutex, MutexGuard};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

use crate::callback::Callback;

/// What a due timer does.
pub(crate) enum TimerEntry {
    /// Wakes a sleeping task.
    Wake(Waker),
    /// Queues a `call_later` / `call_at` callback on the loop.
    Call(Arc<Callback>),
}

/// Identifies one timer for removal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey(Instant, u64);

impl TimerKey {
    pub(crate) fn deadline(&self) -> Instant {
        self.0
    }
}

#[derive(Default)]
struct Inner {
    map: BTreeMap<TimerKey, TimerEntry>,
    seq: u64,
}

#[derive(Default)]
pub(crate) struct Timers {
    inner: Mutex<Inner>,
    len: AtomicUsize,
}

impl Timers {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock()
    }

    /// Inserts a timer. Returns its key and whether it is now the earliest one.
    pub(crate) fn insert(&self, deadline: Instant, entry: TimerEntry) -> (TimerKey, bool) {
        let mut g = self.lock();
        g.seq += 1;
        let key = TimerKey(deadline, g.seq);
        let earliest = g.map.keys().next().is_none_or(|first| key < *first);
        g.map.insert(key, entry);
        self.len.store(g.map.len(), Ordering::Release);
        (key, earliest)
    }

    /// Removes a timer that has not fired. `false` if it already fired or was removed.
    pub(crate) fn remove(&self, key: TimerKey) -> bool {
        let mut g = self.lock();
        let removed = g.map.remove(&key).is_some();
        self.len.store(g.map.len(), Ordering::Release);
        removed
    }

    /// Replaces the waker of a pending sleep timer, if it changed.
    pub(crate) fn update_waker(&self, key: TimerKey, waker: &Waker) {
        let mut g = self.lock();
        if let Some(TimerEntry::Wake(w)) = g.map.get_mut(&key) {
            if !w.will_wake(waker) {
                *w = waker.clone();
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len.load(Ordering::Acquire) == 0
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        if self.is_empty() {
            return None;
        }
        self.lock().map.keys().next().map(|k| k.0)
    }

    /// Moves every timer due at `now` into `out`, earliest first.
    pub(crate) fn fire_due(&self, now: Instant, out: &mut Vec<TimerEntry>) {
        if self.is_empty() {
            return;
        }
        let mut g = self.lock();
        while let Some(entry) = g.map.first_entry() {
            if entry.key().0 > now {
                break;
            }
            out.push(entry.remove());
        }
        self.len.store(g.map.len(), Ordering::Release);
    }

    /// Removes every timer (shutdown).
    pub(crate) fn drain(&self) -> Vec<TimerEntry> {
        let mut g = self.lock();
        let all = std::mem::take(&mut g.map);
        self.len.store(0, Ordering::Release);
        all.into_values().collect()
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
