//! Time for tasks: the `Sleep` future. The clock and the timers it registers on belong
//! to a loop's driver (`driver/`), found through [`current_driver`].

mod sleep;

pub use crate::driver::ClockKind;
pub use sleep::{sleep, sleep_until, Sleep};

use crate::driver;

/// The driver whose timers a `Sleep` made on this thread uses: the loop's own when this
/// thread runs one; else (a `block_on` caller of `Threads`, a blocking-pool thread) one
/// of the current runtime's (worker 0's in a pool).
pub(crate) fn current_driver() -> Option<driver::Handle> {
    crate::context::with_driver(|d| d.map(|d| d.handle().clone()))
        .or_else(|| crate::context::with(|s| s.and_then(|s| s.drivers().first().cloned())))
}
