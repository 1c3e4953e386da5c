//! Waiting for the other side of a worker socket by polling, not by sleeping: the rule
//! both the parent's loop (waiting for a result) and a worker (waiting for its next job
//! after a sync job) follow before they block.
//!
//! Why: on the VMs this is measured on, a wake-up on a round trip's path costs more than
//! the rest of the round trip, and a poller that keeps its core can stall the peer it
//! just woke. Measured (ARCHITECTURE.md, "Processes": the figures and commands):
//! - A worker asleep in `recvmsg` is woken by the parent's write. The kernel treats a
//!   socket write as a "sync" wake-up (the writer is expected to sleep next) and puts the
//!   worker on the writer's core; the parent does not sleep, it polls for the result, so
//!   the worker waits for that core. `submit` p50 went from 12.7 to 24.2 us (quiet
//!   machine) when the reader thread per worker went and only this was left.
//! - On a core of its own the worker is woken by an inter-processor interrupt, a VM exit:
//!   a socketpair ping-pong of one small frame each way took 21 us p50 with the child
//!   asleep in `recv` and the parent polling, 4 us with both polling (each side on its
//!   own core under SCHED_FIFO).
//!
//! So after a sync job a worker polls for its next job for a moment, and the parent polls
//! for the result; each gives its core away between polls (`sched_yield`), so a peer that
//! shares the core runs at once, and a core of its own costs the poller one system call
//! per poll. Adaptive, because each side waits for the other only when the other is about
//! to answer: after [`MISSES_BEFORE_BACKOFF`] polls in a row that ran out of time (long
//! jobs, a parent doing other things), only one wait in [`BACKOFF_EVERY`] polls at all,
//! and a poll that succeeds starts over.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// Polls in a row that found nothing before [`SpinPolicy`] backs off.
pub(crate) const MISSES_BEFORE_BACKOFF: u32 = 4;
/// While backed off, one wait in this many polls.
pub(crate) const BACKOFF_EVERY: u64 = 16;

/// Calls `poll` until it returns `true` or `budget` has passed, yielding the core between
/// calls. `true` if `poll` succeeded. Takes no lock (a worker calls it; see
/// `procs/mod.rs` on locks after `fork`).
pub(crate) fn until(budget: Duration, mut poll: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if poll() {
            return true;
        }
        if start.elapsed() >= budget {
            return false;
        }
        std::thread::yield_now();
    }
}

/// When to poll at all: every time while polls succeed; after
/// [`MISSES_BEFORE_BACKOFF`] misses in a row, once in [`BACKOFF_EVERY`] waits.
#[derive(Default)]
pub(crate) struct SpinPolicy {
    misses: Cell<u32>,
    waits: Cell<u64>,
}

impl SpinPolicy {
    /// `true` if this wait should poll (counts the wait).
    pub(crate) fn should_poll(&self) -> bool {
        let n = self.waits.get();
        self.waits.set(n.wrapping_add(1));
        self.misses.get() < MISSES_BEFORE_BACKOFF || n % BACKOFF_EVERY == 0
    }

    /// Records how a poll ended: a hit starts over, a miss counts towards backing off.
    pub(crate) fn record(&self, hit: bool) {
        if hit {
            self.misses.set(0);
        } else {
            self.misses.set(self.misses.get().saturating_add(1));
        }
    }

    /// [`should_poll`](Self::should_poll), then [`until`] and [`record`](Self::record):
    /// `true` if `poll` succeeded within `budget`.
    pub(crate) fn wait(&self, budget: Duration, poll: impl FnMut() -> bool) -> bool {
        if !self.should_poll() {
            return false;
        }
        let hit = until(budget, poll);
        self.record(hit);
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_returns_as_soon_as_the_poll_succeeds() {
        let mut calls = 0;
        assert!(until(Duration::from_secs(60), || {
            calls += 1;
            calls == 3
        }));
        assert_eq!(calls, 3);
    }

    #[test]
    fn until_gives_up_after_its_budget() {
        let mut calls = 0;
        assert!(!until(Duration::ZERO, || {
            calls += 1;
            false
        }));
        // Polled once before the (empty) budget was checked.
        assert_eq!(calls, 1);
    }

    #[test]
    fn polls_every_wait_until_four_misses_in_a_row() {
        let a = SpinPolicy::default();
        for _ in 0..MISSES_BEFORE_BACKOFF {
            assert!(a.should_poll());
            a.record(false);
        }
        // Backed off: of the next 32 waits, only those at a multiple of 16 poll.
        let polled: Vec<bool> = (0..32).map(|_| a.should_poll()).collect();
        let expect: Vec<bool> = (MISSES_BEFORE_BACKOFF as u64..MISSES_BEFORE_BACKOFF as u64 + 32)
            .map(|n| n % BACKOFF_EVERY == 0)
            .collect();
        assert_eq!(polled, expect);
    }

    #[test]
    fn a_hit_while_backed_off_starts_over() {
        let a = SpinPolicy::default();
        for _ in 0..MISSES_BEFORE_BACKOFF {
            a.record(false);
        }
        a.record(true);
        for _ in 0..MISSES_BEFORE_BACKOFF {
            assert!(a.should_poll());
            a.record(false);
        }
        assert_eq!(
            (0..BACKOFF_EVERY).filter(|_| a.should_poll()).count(),
            1,
            "backed off again after four more misses"
        );
    }

    #[test]
    fn wait_skips_the_poll_while_backed_off() {
        let a = SpinPolicy::default();
        let mut calls = 0;
        for _ in 0..MISSES_BEFORE_BACKOFF {
            assert!(!a.wait(Duration::ZERO, || {
                calls += 1;
                false
            }));
        }
        assert_eq!(calls, MISSES_BEFORE_BACKOFF);
        // waits == 4 now: 4 % 16 != 0, so this one does not poll.
        assert!(!a.wait(Duration::ZERO, || {
            calls += 1;
            true
        }));
        assert_eq!(calls, MISSES_BEFORE_BACKOFF);
    }
}
