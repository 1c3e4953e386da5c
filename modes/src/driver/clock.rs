//! The runtime's clock: real, or virtual (jumps to the next timer when every task is idle).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Which clock a runtime reads.
///
/// ```
/// use std::time::{Duration, Instant};
/// let cfg = modes::Config { clock: modes::ClockKind::Virtual, ..Default::default() };
/// let (sched, _) = modes::Scheduler::single(&cfg);
/// let (t0, real0) = (sched.now(), Instant::now());
/// sched.block_on(modes::sleep(Duration::from_secs(3600)));
/// assert_eq!(sched.now() - t0, Duration::from_secs(3600));
/// assert!(real0.elapsed() < Duration::from_secs(60)); // an hour, in no real time
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClockKind {
    /// The monotonic system clock.
    #[default]
    Real,
    /// Starts at the real time of the build, then only moves when the loop has nothing to
    /// run: it jumps to the next timer's deadline. Sleeps take no real time and every run
    /// is deterministic.
    Virtual,
}

/// A clock shared by one loop's timers and tasks.
pub(crate) struct Clock {
    kind: ClockKind,
    base: Instant,
    offset_ns: AtomicU64,
}

impl Clock {
    pub(crate) fn new(kind: ClockKind) -> Clock {
        Clock {
            kind,
            base: Instant::now(),
            offset_ns: AtomicU64::new(0),
        }
    }

    pub(crate) fn kind(&self) -> ClockKind {
        self.kind
    }

    pub(crate) fn now(&self) -> Instant {
        match self.kind {
            ClockKind::Real => Instant::now(),
            ClockKind::Virtual => {
                self.base + Duration::from_nanos(self.offset_ns.load(Ordering::Acquire))
            }
        }
    }

    /// Moves a virtual clock forward to `t` (never backward). No effect on a real clock.
    pub(crate) fn advance_to(&self, t: Instant) {
        if self.kind == ClockKind::Virtual {
            let ns = t.saturating_duration_since(self.base).as_nanos() as u64;
            self.offset_ns.fetch_max(ns, Ordering::AcqRel);
        }
    }
}
