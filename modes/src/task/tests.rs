//! The task core alone, on the mock scheduler (`mock.rs`): spawn, wakes during a poll,
//! cancel vs complete, join-handle drop vs completion, done-callback vs completion. The
//! combinations are small enums, each case run exhaustively (tokio's
//! `task_combinations.rs`); futures count their polls and drops (async-task's tests).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::mock::{Mock, Scheduled};
use super::JoinError;

/// Counters shared by a test and its future (and the future's output).
#[derive(Default)]
struct Counts {
    polls: AtomicUsize,
    future_drops: AtomicUsize,
    output_drops: AtomicUsize,
    /// The waker of the last pending poll, for the test to wake the task "from its I/O".
    waker: Mutex<Option<Waker>>,
}

impl Counts {
    fn get(&self) -> (usize, usize, usize) {
        (
            self.polls.load(Ordering::SeqCst),
            self.future_drops.load(Ordering::SeqCst),
            self.output_drops.load(Ordering::SeqCst),
        )
    }

    /// Wakes the task as the event it waits for would.
    fn wake(&self) {
        let w = self.waker.lock().unwrap().take();
        w.expect("the future is pending").wake();
    }
}

/// An output that counts its drops.
struct Out(Arc<Counts>, u32);

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Out({})", self.1)
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        self.0.output_drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// What the counted future does at each poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    /// Ready at the first poll.
    Ready,
    /// Pending at the first poll (waking nobody), ready at the second.
    PendingOnce,
    /// Wakes itself during the first poll and returns pending; ready at the second.
    YieldOnce,
    /// Pending forever (until cancelled).
    Forever,
    /// Panics at the first poll.
    Panic,
}

struct Counted {
    counts: Arc<Counts>,
    body: Body,
}

impl Future for Counted {
    type Output = Out;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Out> {
        let n = self.counts.polls.fetch_add(1, Ordering::SeqCst);
        match (self.body, n) {
            (Body::Ready, _) => Poll::Ready(Out(self.counts.clone(), 7)),
            (Body::PendingOnce, 0) => {
                *self.counts.waker.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            }
            (Body::YieldOnce, 0) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            (Body::PendingOnce | Body::YieldOnce, _) => Poll::Ready(Out(self.counts.clone(), 7)),
            (Body::Forever, _) => Poll::Pending,
            (Body::Panic, _) => panic!("counted future panics"),
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.counts.future_drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn counted(body: Body) -> (Counted, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    (
        Counted {
            counts: counts.clone(),
            body,
        },
        counts,
    )
}

#[test]
fn spawn_registers_and_schedules_once() {
    for local in [false, true] {
        let mock = Mock::new(local);
        let (fut, counts) = counted(Body::Ready);
        let h = mock.spawn(fut);
        let want = if local {
            Scheduled::Local { yielded: false }
        } else {
            Scheduled::Remote
        };
        assert_eq!(mock.take_log(), vec![want], "spawn schedules once");
        assert_eq!(mock.registry().len(), 1, "a live task is in the registry");
        assert_eq!(h.name(), Some("mock"));
        assert_eq!(
            counts.get(),
            (0, 0, 0),
            "nothing runs before the scheduler does"
        );
        assert_eq!(mock.run_all(), 1);
        assert_eq!(
            mock.registry().len(),
            0,
            "a finished task left the registry"
        );
        assert!(h.is_finished());
        let out = h.join().expect("completed");
        assert_eq!(out.1, 7);
        drop(out);
        assert_eq!(counts.get(), (1, 1, 1), "one poll, each drop once");
    }
}

#[test]
fn wake_during_poll_is_a_yield() {
    let mock = Mock::new(true);
    let (fut, counts) = counted(Body::YieldOnce);
    let h = mock.spawn(fut);
    mock.take_log();
    assert!(mock.run_one());
    assert_eq!(
        mock.take_log(),
        vec![Scheduled::Local { yielded: true }],
        "a task that wakes itself while running is scheduled as a yield"
    );
    assert!(mock.run_one());
    assert!(mock.take_log().is_empty());
    assert_eq!(h.join().unwrap().1, 7);
    assert_eq!(counts.get(), (2, 1, 1));
}

#[test]
fn wake_after_poll_is_not_a_yield() {
    for local in [false, true] {
        let mock = Mock::new(local);
        let (fut, _counts) = counted(Body::PendingOnce);
        let h = mock.spawn(fut);
        mock.take_log();
        mock.run_all();
        assert!(
            mock.take_log().is_empty(),
            "pending with no wake: not scheduled"
        );
        h.task_ref().expect("live").cancel();
        let want = if local {
            Scheduled::Local { yielded: false }
        } else {
            Scheduled::Remote
        };
        assert_eq!(mock.take_log(), vec![want]);
        mock.run_all();
        assert!(h.join().unwrap_err().is_cancelled());
    }
}

#[test]
fn current_task_is_set_only_during_the_poll() {
    let mock = Mock::new(true);
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    let h = mock.spawn(async move {
        *s.lock().unwrap() = Some(super::current_id());
    });
    let id = h.id();
    assert_eq!(super::current_id(), None);
    mock.run_all();
    assert_eq!(*seen.lock().unwrap(), Some(Some(id)));
    assert_eq!(super::current_id(), None, "restored once the poll returned");
    h.join().unwrap();
}

/// When a cancel request comes, relative to the task's polls.
#[derive(Clone, Copy, Debug)]
enum CancelAt {
    Never,
    /// Before the first poll: the future is dropped unpolled.
    BeforeFirstPoll,
    /// While it waits (after a pending poll).
    WhilePending,
    /// During its last poll, which completes: the value is dropped, the task cancelled.
    DuringLastPoll,
    /// After it completed: nothing happens.
    AfterCompletion,
}

#[test]
fn cancel_vs_complete() {
    use CancelAt::*;
    for at in [
        Never,
        BeforeFirstPoll,
        WhilePending,
        DuringLastPoll,
        AfterCompletion,
    ] {
        let mock = Mock::new(true);
        let counts = Arc::new(Counts::default());
        let c = counts.clone();
        let cancel_self = matches!(at, DuringLastPoll);
        // Made outside the async block, so that it is dropped even if never polled.
        let first = Counted {
            counts: c,
            body: Body::PendingOnce,
        };
        let fut = async move {
            let out = first.await;
            if cancel_self {
                super::current_ref().expect("polled").cancel();
            }
            out
        };
        let h = mock.spawn(fut);
        if matches!(at, BeforeFirstPoll) {
            assert!(h.cancel());
        }
        mock.run_one();
        if matches!(at, WhilePending) {
            assert!(h.cancel());
        }
        // Pending once: wake it as its I/O would.
        if !matches!(at, BeforeFirstPoll) {
            counts.wake();
        }
        mock.run_all();
        if matches!(at, AfterCompletion) {
            assert!(!h.cancel(), "{at:?}: a finished task cannot be cancelled");
        }
        let res = h.join();
        match at {
            Never | AfterCompletion => assert_eq!(res.as_ref().map(|o| o.1).ok(), Some(7)),
            BeforeFirstPoll | WhilePending | DuringLastPoll => {
                assert!(res.as_ref().unwrap_err().is_cancelled(), "{at:?}")
            }
        }
        drop(res);
        let (polls, fut_drops, out_drops) = counts.get();
        let want_polls = match at {
            BeforeFirstPoll => 0,
            WhilePending => 1,
            _ => 2,
        };
        assert_eq!(polls, want_polls, "{at:?}: polls");
        assert_eq!(fut_drops, 1, "{at:?}: the future is dropped exactly once");
        let want_out = usize::from(!matches!(at, BeforeFirstPoll | WhilePending));
        assert_eq!(
            out_drops, want_out,
            "{at:?}: the output is dropped once if made"
        );
        assert_eq!(mock.registry().len(), 0, "{at:?}: registry empty");
    }
}

/// When the `JoinHandle` goes, relative to the task's completion.
#[derive(Clone, Copy, Debug)]
enum HandleDrop {
    BeforeCompletion,
    AfterCompletion,
    /// Inside `drop_cancelling` (what `gather`/`timeout` do): the task is cancelled.
    CancellingBeforeCompletion,
    /// A shielded handle inside `drop_cancelling`: detached, the task runs on.
    ShieldedCancelling,
}

#[test]
fn join_handle_drop_vs_completion() {
    use HandleDrop::*;
    for how in [
        BeforeCompletion,
        AfterCompletion,
        CancellingBeforeCompletion,
        ShieldedCancelling,
    ] {
        let mock = Mock::new(false);
        let (fut, counts) = counted(Body::PendingOnce);
        let h = mock.spawn(fut);
        let done = Arc::new(Mutex::new(None));
        let d = done.clone();
        h.add_done_callback(move |o| *d.lock().unwrap() = Some(o.as_ref().map(|o| o.1).ok()));
        mock.run_all();
        match how {
            BeforeCompletion => drop(h),
            CancellingBeforeCompletion => super::drop_cancelling(h),
            ShieldedCancelling => super::drop_cancelling(h.shielded()),
            AfterCompletion => {
                counts.wake();
                mock.run_all();
                drop(h);
            }
        }
        if !matches!(how, AfterCompletion) {
            counts.wake();
            mock.run_all();
        }
        let cancelled = matches!(how, CancellingBeforeCompletion);
        let want = if cancelled { None } else { Some(7) };
        assert_eq!(*done.lock().unwrap(), Some(want), "{how:?}: outcome");
        let (polls, fut_drops, out_drops) = counts.get();
        assert_eq!(polls, if cancelled { 1 } else { 2 }, "{how:?}: polls");
        assert_eq!(fut_drops, 1, "{how:?}: future dropped once");
        assert_eq!(
            out_drops,
            usize::from(!cancelled),
            "{how:?}: output dropped once"
        );
        assert_eq!(mock.registry().len(), 0);
    }
}

/// What the task ends with.
#[derive(Clone, Copy, Debug)]
enum Ending {
    Value,
    Panic,
    Cancel,
    /// Its `Runnable` is dropped unrun (a runtime torn down without running it).
    DroppedUnrun,
}

/// When the done-callback is added, relative to the task's completion.
#[derive(Clone, Copy, Debug)]
enum AddCallback {
    BeforeCompletion,
    AfterCompletion,
}

#[test]
fn done_callback_vs_completion() {
    for ending in [
        Ending::Value,
        Ending::Panic,
        Ending::Cancel,
        Ending::DroppedUnrun,
    ] {
        for add in [AddCallback::BeforeCompletion, AddCallback::AfterCompletion] {
            let mock = Mock::new(true);
            let body = if matches!(ending, Ending::Panic) {
                Body::Panic
            } else {
                Body::Ready
            };
            let (fut, counts) = counted(body);
            let h = mock.spawn(fut);
            let calls = Arc::new(Mutex::new(Vec::new()));
            let add_cb = |h: &super::JoinHandle<Out>| {
                let c = calls.clone();
                h.add_done_callback(move |o: &Result<Out, JoinError>| {
                    let seen = match o {
                        Ok(v) => format!("value {}", v.1),
                        Err(e) if e.is_panic() => format!("panic {}", e.panic_message().unwrap()),
                        Err(e) if e.is_cancelled() => "cancelled".to_string(),
                        Err(e) => format!("other {e}"),
                    };
                    c.lock().unwrap().push(seen);
                });
            };
            if matches!(add, AddCallback::BeforeCompletion) {
                add_cb(&h);
            }
            if matches!(ending, Ending::Cancel) {
                h.cancel();
            }
            if matches!(ending, Ending::DroppedUnrun) {
                assert_eq!(mock.drop_queued(), 1);
            } else {
                mock.run_all();
            }
            assert!(h.is_finished(), "{ending:?}/{add:?}");
            if matches!(add, AddCallback::AfterCompletion) {
                add_cb(&h); // runs now, on this thread
            }
            let want = match ending {
                Ending::Value => "value 7",
                Ending::Panic => "panic counted future panics",
                Ending::Cancel | Ending::DroppedUnrun => "cancelled",
            };
            assert_eq!(
                *calls.lock().unwrap(),
                vec![want.to_string()],
                "{ending:?}/{add:?}"
            );
            assert_eq!(mock.registry().len(), 0, "{ending:?}/{add:?}");
            let res = h.join();
            assert_eq!(
                res.is_ok(),
                matches!(ending, Ending::Value),
                "{ending:?}/{add:?}"
            );
            drop(res);
            let (_, fut_drops, out_drops) = counts.get();
            assert_eq!(fut_drops, 1, "{ending:?}/{add:?}: future dropped once");
            let made = usize::from(matches!(ending, Ending::Value));
            assert_eq!(
                out_drops, made,
                "{ending:?}/{add:?}: output dropped once if made"
            );
        }
    }
}

#[test]
fn spawn_on_a_closed_registry_is_cancelled_at_once() {
    let mock = Mock::new(true);
    mock.registry().close_and_cancel_all();
    let (fut, counts) = counted(Body::Ready);
    let h = mock.spawn(fut);
    mock.run_all();
    assert!(h.join().unwrap_err().is_cancelled());
    assert_eq!(counts.get(), (0, 1, 0), "never polled, dropped once");
}

#[test]
fn join_refused_by_the_scheduler_is_a_clear_error() {
    let mock = Mock::new(true);
    let (fut, counts) = counted(Body::Forever);
    let h = mock.spawn(fut);
    let id = h.id();
    let err = h.join().unwrap_err();
    assert_eq!(err.id(), id);
    assert!(err.to_string().contains("nothing left to run"), "{err}");
    assert_eq!(counts.get().0, 1, "it ran once, then waited forever");
    assert_eq!(mock.runs.load(Ordering::Relaxed), 1);
    assert_eq!(
        mock.registry().len(),
        1,
        "still live: detached, not cancelled"
    );
    assert_eq!(mock.queued(), 0);
    // Shut down as an engine does: cancel every live task, run what that schedules.
    mock.registry().close_and_cancel_all();
    mock.run_all();
    assert_eq!(mock.registry().len(), 0);
    assert_eq!(counts.get(), (1, 1, 0), "dropped once, by its cancellation");
}
