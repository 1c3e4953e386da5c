//! `Event`: asyncio's `Event`, on event-listener (it wakes every waiter, so a plain
//! broadcast does the job).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A flag that tasks wait for (asyncio's `Event`): [`wait`](Event::wait) returns once
/// [`set`](Event::set) was called, at once if the flag is already set; `set` wakes every
/// waiter. As in asyncio, a waiter woken by a `set` returns even if `clear` ran before it
/// got to run.
///
/// ```
/// use std::sync::Arc;
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let ready = Arc::new(runtime::sync::Event::new());
/// rt.block_on(async {
///     let waiters: Vec<_> = (0..3).map(|_| {
///         let r = ready.clone();
///         runtime::spawn(async move { r.wait().await })
///     }).collect();
///     runtime::yield_now().await;
///     ready.set();
///     for w in waiters { w.await.unwrap(); }
/// });
/// assert!(ready.is_set());
/// ```
#[doc(alias = "asyncio.Event")]
pub struct Event {
    /// Bit 0: set. The bits above: how many times it went from clear to set, so a waiter
    /// can tell it was set since it started waiting.
    state: AtomicU64,
    listeners: event_listener::Event,
}

const SET: u64 = 1;

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl Event {
    /// A clear event.
    ///
    /// ```
    /// assert!(!runtime::sync::Event::new().is_set());
    /// ```
    pub fn new() -> Event {
        Event {
            state: AtomicU64::new(0),
            listeners: event_listener::Event::new(),
        }
    }

    /// Sets the flag and wakes every waiter (asyncio's `set()`).
    ///
    /// ```
    /// let ev = runtime::sync::Event::new();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn set(&self) {
        let prev = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                (s & SET == 0).then_some((s + 2) | SET)
            });
        if prev.is_ok() {
            self.listeners.notify(usize::MAX);
        }
    }

    /// Clears the flag (asyncio's `clear()`): later `wait`s wait again.
    ///
    /// ```
    /// let ev = runtime::sync::Event::new();
    /// ev.set();
    /// ev.clear();
    /// assert!(!ev.is_set());
    /// ```
    pub fn clear(&self) {
        self.state.fetch_and(!SET, Ordering::AcqRel);
    }

    /// `true` if the flag is set (asyncio's `is_set()`).
    ///
    /// ```
    /// assert!(!runtime::sync::Event::default().is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.state.load(Ordering::Acquire) & SET != 0
    }

    /// Waits until the flag is set (asyncio's `await event.wait()`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let ev = runtime::sync::Event::new();
    /// ev.set();
    /// rt.block_on(ev.wait()); // already set: returns at once
    /// ```
    pub async fn wait(&self) {
        let start = self.state.load(Ordering::Acquire);
        if start & SET != 0 {
            return;
        }
        loop {
            let listener = self.listeners.listen();
            let now = self.state.load(Ordering::Acquire);
            if now & SET != 0 || now >> 1 != start >> 1 {
                return;
            }
            listener.await;
            let now = self.state.load(Ordering::Acquire);
            if now & SET != 0 || now >> 1 != start >> 1 {
                return;
            }
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish()
    }
}
