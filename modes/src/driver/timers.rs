//! One loop's timers: an ordered map from (deadline, sequence) to what to do when due.
//!
//! A `BTreeMap` gives ordered firing, removal by key for a dropped `Sleep` or a cancelled
//! `call_later`, and FIFO order among equal deadlines (the sequence number), which is
//! what asyncio guarantees for `call_at` with the same time.
//!
//! The map sits behind a mutex because a `Sleep` may be dropped on any thread; the loop
//! that owns the timers is the only one that fires them. `len` mirrors the map's size so
//! the loop can skip the lock (and the clock read) when there are no timers.
//!
//! Invariant: every `Wake` entry in the map has a deadline later than `fired_through`, the
//! latest time a `fire_due` fired through (it removes every entry due by then, and
//! `insert_wake` refuses a deadline at or before it). So a sleep whose deadline is before
//! `fired_through` knows its entry is gone and skips the lock to remove it: one lock and
//! one tree search fewer per woken sleeper, read from `fired_ns` without the lock.

use crate::loom::{Mutex, MutexGuard};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
    /// The latest `now` a `fire_due` fired through.
    fired_through: Option<Instant>,
}

pub(crate) struct Timers {
    inner: Mutex<Inner>,
    len: AtomicUsize,
    /// `fired_through` as nanoseconds after `base` (0: nothing fired at or after `base`).
    fired_ns: AtomicU64,
    base: Instant,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            inner: Mutex::default(),
            len: AtomicUsize::new(0),
            fired_ns: AtomicU64::new(0),
            base: Instant::now(),
        }
    }
}

impl Timers {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock()
    }

    /// Inserts a timer. Returns its key and whether it is now the earliest one.
    pub(crate) fn insert(&self, deadline: Instant, entry: TimerEntry) -> (TimerKey, bool) {
        self.insert_locked(&mut self.lock(), deadline, entry)
    }

    fn insert_locked(
        &self,
        g: &mut MutexGuard<'_, Inner>,
        deadline: Instant,
        entry: TimerEntry,
    ) -> (TimerKey, bool) {
        g.seq += 1;
        let key = TimerKey(deadline, g.seq);
        let earliest = g.map.keys().next().is_none_or(|first| key < *first);
        g.map.insert(key, entry);
        self.len.store(g.map.len(), Ordering::Release);
        (key, earliest)
    }

    /// Inserts a sleeper's timer, unless its deadline is at or before a time the timers
    /// already fired through (then it is due: `None`, and the caller completes at once).
    pub(crate) fn insert_wake(&self, deadline: Instant, waker: &Waker) -> Option<(TimerKey, bool)> {
        let mut g = self.lock();
        if g.fired_through.is_some_and(|t| deadline <= t) {
            return None;
        }
        Some(self.insert_locked(&mut g, deadline, TimerEntry::Wake(waker.clone())))
    }

    /// `true` if the sleeper timer `key` (from `insert_wake`) is certainly no longer in the
    /// map because a firing went past its deadline. Reads no lock; `false` means "maybe".
    pub(crate) fn fired_past(&self, key: TimerKey) -> bool {
        match key.0.checked_duration_since(self.base) {
            Some(d) => (d.as_nanos() as u64) < self.fired_ns.load(Ordering::Acquire),
            None => false,
        }
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
    ///
    /// A few due timers are popped one by one; a burst (more than `POP_MAX`) is cut off
    /// the tree in one `split_off`, which costs one descent instead of one rebalancing
    /// removal per timer (10,000 sleepers due at once: `bench --workload timers`).
    pub(crate) fn fire_due(&self, now: Instant, out: &mut Vec<TimerEntry>) {
        const POP_MAX: usize = 16;
        if self.is_empty() {
            return;
        }
        let mut g = self.lock();
        let mut popped = 0;
        while let Some(entry) = g.map.first_entry() {
            if entry.key().0 > now {
                break;
            }
            if popped == POP_MAX {
                let later = g.map.split_off(&TimerKey(now, u64::MAX));
                out.extend(std::mem::replace(&mut g.map, later).into_values());
                break;
            }
            out.push(entry.remove());
            popped += 1;
        }
        if g.fired_through.is_none_or(|t| t < now) {
            g.fired_through = Some(now);
            if let Some(d) = now.checked_duration_since(self.base) {
                self.fired_ns.store(d.as_nanos() as u64, Ordering::Release);
            }
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
