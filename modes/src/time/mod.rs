//! Time: the clock, one loop's timers, and the `Sleep` future.

mod clock;
mod sleep;
mod timers;

pub use clock::ClockKind;
pub use sleep::{sleep, sleep_until, Sleep};

pub(crate) use clock::Clock;
pub(crate) use timers::{TimerEntry, TimerKey, Timers};

use std::time::Instant;

use crate::park::Unparker;

/// A loop's clock and timers, shared with every `Sleep` registered on them.
pub(crate) struct TimeDriver {
    pub(crate) clock: Clock,
    pub(crate) timers: Timers,
    unparker: Unparker,
    /// In a pool: also wakes a parked sibling when a timer becomes the earliest here, so
    /// that it re-parks until that deadline (the owner may be about to run a long poll).
    pub(crate) on_earliest: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl TimeDriver {
    pub(crate) fn new(kind: ClockKind, unparker: Unparker) -> TimeDriver {
        TimeDriver {
            clock: Clock::new(kind),
            timers: Timers::default(),
            unparker,
            on_earliest: std::sync::OnceLock::new(),
        }
    }

    /// Fires every timer due now: wakes sleeping tasks and hands due callbacks to
    /// `on_call` (the loop decides where they run). `scratch` is the caller's reusable
    /// buffer. Returns `true` if anything fired.
    pub(crate) fn fire(
        &self,
        scratch: &mut Vec<TimerEntry>,
        mut on_call: impl FnMut(std::sync::Arc<crate::callback::Callback>),
    ) -> bool {
        if self.timers.is_empty() {
            return false;
        }
        self.timers.fire_due(self.clock.now(), scratch);
        let any = !scratch.is_empty();
        for entry in scratch.drain(..) {
            match entry {
                TimerEntry::Wake(w) => w.wake(),
                TimerEntry::Call(cb) => on_call(cb),
            }
        }
        any
    }

    /// Inserts a timer; wakes the loop if it is now the earliest (the loop may be parked
    /// with a later timeout).
    pub(crate) fn insert(&self, deadline: Instant, entry: TimerEntry) -> TimerKey {
        let (key, earliest) = self.timers.insert(deadline, entry);
        if earliest {
            self.unparker.unpark();
            if let Some(f) = self.on_earliest.get() {
                f();
            }
        }
        key
    }
}
