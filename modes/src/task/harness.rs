//! The future async-task runs for every task: the user's future plus the runtime's rules.
//!
//! Protocol (who touches what):
//! - Only the thread polling the task touches `fut` (async-task guarantees one poller).
//! - `Meta::flags` CANCEL may be set by anyone; the harness reads it before each poll.
//! - The harness, and only it, sets DONE, runs the done-callbacks taken by `mark_done`,
//!   and removes the task from the registry. `finished` records that this happened, so
//!   that dropping an unfinished harness (async-task closed the task without polling it)
//!   still runs those steps exactly once.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::current;
use super::error::JoinError;
use super::meta::Meta;

pub(crate) struct Harness<'a, F: Future>
where
    F::Output: Send + 'static,
{
    meta: &'a Meta,
    fut: Option<F>,
    finished: bool,
}

impl<'a, F: Future> Harness<'a, F>
where
    F::Output: Send + 'static,
{
    pub(crate) fn new(meta: &'a Meta, fut: F) -> Self {
        Harness {
            meta,
            fut: Some(fut),
            finished: false,
        }
    }
}

/// Extracts a readable message from a panic payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_string()
    }
}

fn finish<T: Send + 'static>(meta: &Meta, outcome: &Result<T, JoinError>) {
    // Leave the registry first, so that once `is_finished()` is true no `TaskRef` can be
    // had for the task any more (and `all_tasks()` never lists a finished task).
    meta.scheduler.registry().remove(meta);
    for cb in meta.mark_done() {
        run_callback(cb, outcome);
    }
}

pub(crate) fn run_callback<T: Send + 'static>(
    cb: super::state::DoneCallback,
    outcome: &Result<T, JoinError>,
) {
    // A panicking callback is reported, like asyncio's "Exception in callback", and
    // does not disturb the task or the loop.
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| cb(outcome as &(dyn Any + Send)))) {
        eprintln!(
            "runtime: a done-callback panicked: {}",
            panic_message(p.as_ref())
        );
    }
}

impl<F: Future> Future for Harness<'_, F>
where
    F::Output: Send + 'static,
{
    type Output = Result<F::Output, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `fut` is structurally pinned: it is never moved out, only dropped in
        // place (through `Pin::set`); `meta` and `finished` are plain data never pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let meta = this.meta;
        // SAFETY: see above; `this` came from a pinned reference and `fut` is not moved.
        let mut fut = unsafe { Pin::new_unchecked(&mut this.fut) };
        let flags = meta.flags.load();
        // After shutdown began every poll is a cancellation, so that nothing runs on
        // once the runtime is going away, whatever woke the task.
        let cancelled = flags & super::state::CANCEL != 0 || meta.scheduler.registry().is_closed();
        let outcome = if cancelled {
            // A destructor that panics while the task is cancelled makes the task's
            // outcome that panic (as tokio reports it), not a quiet cancellation.
            match drop_in_place_guarded(fut.as_mut()) {
                None => Err(JoinError::cancelled(meta.id)),
                Some(payload) => Err(JoinError::from_unwind(meta.id, payload)),
            }
        } else {
            let Some(inner) = fut.as_mut().as_pin_mut() else {
                // async-task never polls a completed future; stay pending if it ever did.
                return Poll::Pending;
            };
            meta.flags.set_polling(true);
            let _current = current::enter(meta);
            let res = catch_unwind(AssertUnwindSafe(|| inner.poll(cx)));
            meta.flags.set_polling(false);
            match res {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(v)) => {
                    if let Some(payload) = drop_in_place_guarded(fut.as_mut()) {
                        // The value is there but the future's own destructor panicked:
                        // the task failed, as if the panic had come from its last poll.
                        drop(v);
                        Err(JoinError::from_unwind(meta.id, payload))
                    } else if meta.flags.load() & super::state::CANCEL != 0 {
                        // Cancelled while it ran and it finished without another await:
                        // asyncio reports such a task cancelled (`_must_cancel`), and so
                        // do we; the value is dropped.
                        drop(v);
                        Err(JoinError::cancelled(meta.id))
                    } else {
                        Ok(v)
                    }
                }
                Err(payload) => {
                    if let Some(second) = drop_in_place_guarded(fut.as_mut()) {
                        // The poll's panic is the outcome; the destructor's is only told.
                        eprintln!(
                            "runtime: a task's future panicked again while being dropped: {}",
                            panic_message(second.as_ref())
                        );
                    }
                    Err(JoinError::from_unwind(meta.id, payload))
                }
            }
        };
        this.finished = true;
        finish(meta, &outcome);
        Poll::Ready(outcome)
    }
}

/// Drops the inner future in place; a panic in its destructor is caught and returned
/// (the caller makes it the task's outcome), never propagated into the scheduler.
fn drop_in_place_guarded<F>(mut fut: Pin<&mut Option<F>>) -> Option<Box<dyn Any + Send>> {
    catch_unwind(AssertUnwindSafe(|| fut.set(None))).err()
}

impl<F: Future> Drop for Harness<'_, F>
where
    F::Output: Send + 'static,
{
    fn drop(&mut self) {
        if !self.finished {
            // async-task closed the task without letting us complete it (its Runnable was
            // dropped unrun). Drop the future here, then do what completion does.
            let meta = self.meta;
            // Nobody can read an outcome here (async-task gives the JoinHandle nothing), so
            // a panicking destructor is only told, never let into the scheduler.
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| self.fut = None)) {
                eprintln!(
                    "runtime: a task's future panicked while being dropped: {}",
                    panic_message(p.as_ref())
                );
            }
            let outcome: Result<F::Output, JoinError> = Err(JoinError::cancelled(meta.id));
            finish(meta, &outcome);
        }
    }
}
