//! The one-shot that carries a job's output from the pool back to the loop task awaiting
//! it (`submit_job`), and the count of jobs in flight that the virtual clock waits for.

use crate::loom::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use super::JobOutput;
use crate::driver::Unparker;

/// Jobs submitted and not yet finished (queued or running), for the virtual clock: the
/// loop does not move time while a worker may still wake a task.
#[derive(Default)]
pub(crate) struct InFlight {
    n: AtomicUsize,
    owner: OnceLock<Unparker>,
}

impl InFlight {
    /// The loop to wake when a job finishes.
    pub(super) fn set_owner(&self, owner: Unparker) {
        let _ = self.owner.set(owner);
    }

    /// Jobs submitted and not yet finished.
    pub(super) fn get(&self) -> usize {
        self.n.load(Ordering::Acquire)
    }
}

/// A connected one-shot, counted in `in_flight` until its sender is done: the pool
/// completes the [`ReplySender`], a loop task awaits the [`Reply`].
pub(super) fn reply_channel(in_flight: &Arc<InFlight>) -> (ReplySender, Reply) {
    let shot = Arc::new(Shot {
        state: Mutex::new(ShotState::default()),
    });
    in_flight.n.fetch_add(1, Ordering::AcqRel);
    (
        ReplySender {
            shot: shot.clone(),
            in_flight: in_flight.clone(),
            sent: false,
        },
        Reply { shot },
    )
}

/// The sending half of a job's one-shot. Dropped unsent (a job skipped, or dropped at
/// shutdown), it completes the job as failed. Either way it then counts the job out of
/// `in_flight` and wakes the owner loop: after the result is visible.
pub(crate) struct ReplySender {
    pub(super) shot: Arc<Shot>,
    in_flight: Arc<InFlight>,
    sent: bool,
}

impl ReplySender {
    pub(super) fn send(mut self, out: JobOutput) {
        self.shot.set(out);
        self.sent = true;
    }
}

impl Drop for ReplySender {
    fn drop(&mut self) {
        if !self.sent {
            self.shot.set(JobOutput::Failed(
                "the process pool shut down before the job finished".into(),
            ));
        }
        self.in_flight.n.fetch_sub(1, Ordering::AcqRel);
        if let Some(u) = self.in_flight.owner.get() {
            u.unpark();
        }
    }
}

#[derive(Default)]
struct ShotState {
    value: Option<JobOutput>,
    waker: Option<Waker>,
    receiver_gone: bool,
}

pub(super) struct Shot {
    state: Mutex<ShotState>,
}

impl Shot {
    fn set(&self, out: JobOutput) {
        let waker = {
            let mut st = self.state.lock();
            st.value = Some(out);
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    pub(super) fn receiver_gone(&self) -> bool {
        self.state.lock().receiver_gone
    }
}

/// The awaiting half of a job's one-shot.
pub(crate) struct Reply {
    pub(super) shot: Arc<Shot>,
}

impl Future for Reply {
    type Output = JobOutput;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<JobOutput> {
        let mut st = self.shot.state.lock();
        if let Some(v) = st.value.take() {
            return Poll::Ready(v);
        }
        if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            st.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        self.shot.state.lock().receiver_gone = true;
    }
}
