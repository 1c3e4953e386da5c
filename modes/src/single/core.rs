//! The loop-thread-only half of `Single`: the ready queue and the loop's driver.
//!
//! The thread's context (`context.rs`) points at the core this thread is running, set by
//! [`Core::enter`] for the duration of a run. Everything here is reached through `&Core`
//! (interior mutability), never `&mut`, so that pointer never aliases a unique borrow.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use super::LoopItem;
use crate::driver::Driver;

pub(crate) struct Core {
    /// `Arc::as_ptr` of the owning `Shared`, to tell loops apart.
    shared_id: usize,
    queue: RefCell<VecDeque<LoopItem>>,
    /// The loop's ring (or plain park) and timers.
    pub(super) driver: Driver,
    pub(super) polls: Cell<u64>,
    /// When the `Processes` parent polls for a result before parking (`procs/spin.rs`).
    pub(super) procs_spin: crate::procs::SpinPolicy,
}

impl Core {
    pub(super) fn new(shared_id: usize, driver: Driver) -> Core {
        Core {
            shared_id,
            queue: RefCell::new(VecDeque::with_capacity(256)),
            driver,
            polls: Cell::new(0),
            procs_spin: Default::default(),
        }
    }

    /// Makes this the thread's running core until the guard drops; the caller keeps the
    /// core alive and in place until then.
    pub(super) fn enter(&self) -> LocalGuard {
        let driver = crate::context::enter_driver(Some(&self.driver));
        LocalGuard(crate::context::enter_single(self), driver)
    }

    pub(super) fn push(&self, item: LoopItem) {
        self.queue.borrow_mut().push_back(item);
    }

    pub(super) fn extend(&self, items: impl Iterator<Item = LoopItem>) {
        self.queue.borrow_mut().extend(items);
    }

    pub(super) fn pop(&self) -> Option<LoopItem> {
        self.queue.borrow_mut().pop_front()
    }

    pub(super) fn len(&self) -> usize {
        self.queue.borrow().len()
    }

    pub(super) fn is_idle(&self) -> bool {
        self.queue.borrow().is_empty()
    }
}

/// Leaves the core (then its driver) when dropped.
pub(super) struct LocalGuard(
    #[allow(dead_code)] crate::context::EnterGuard,
    #[allow(dead_code)] crate::context::EnterGuard,
);

/// Pushes `item` on this thread's running core if it belongs to loop `shared_id`; else
/// gives it back as it came.
#[inline]
pub(crate) fn push_local<T: Into<LoopItem>>(shared_id: usize, item: T) -> Result<(), T> {
    crate::context::with_single(|core| match core {
        Some(core) if core.shared_id == shared_id => {
            core.push(item.into());
            Ok(())
        }
        _ => Err(item),
    })
}

/// `true` if this thread is running loop `shared_id`.
pub(super) fn is_local(shared_id: usize) -> bool {
    crate::context::with_single(|core| matches!(core, Some(core) if core.shared_id == shared_id))
}
