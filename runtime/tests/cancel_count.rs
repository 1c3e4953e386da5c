//! Counted cancellation (asyncio 3.11+): `cancel()` returns true while the task is not
//! done and counts each request; `cancelling()` reads the count; `uncancel()` withdraws
//! one, and withdrawing the last before the task observed it lets the task run on.

#[macro_use]
mod support;

use std::future::pending;

use runtime::{current_task, spawn, yield_now, Mode, Runtime, TaskState};
use support::{counted, yield_until};

rt_test! {
    fn repeated_cancels_return_true_and_count(rt: &Runtime) {
        let one_loop = matches!(rt.mode(), Mode::Single | Mode::Processes);
        rt.block_on(async {
            let (fut, c) = counted(pending::<()>());
            let t = spawn(fut);
            let r = t.task_ref().unwrap();
            let mut counted_true = 0;
            for n in 1..=4 {
                let res = if n % 2 == 0 { r.cancel() } else { t.cancel() };
                if res {
                    counted_true += 1;
                } else {
                    // On a pool the task may observe a cancel and finish meanwhile.
                    assert!(t.is_finished(), "cancel #{n} returned false on a live task");
                }
                assert_eq!(t.cancelling(), counted_true);
            }
            if one_loop {
                // The task cannot run while this future does: every cancel found it live.
                assert_eq!(counted_true, 4);
            }
            assert!(t.await.unwrap_err().is_cancelled());
            assert_eq!(c.drops(), 1);
            assert!(!r.cancel(), "done: cancel returns false");
            assert_eq!(r.cancelling(), counted_true, "the count stays after the end");
        });
    }

    fn a_task_can_uncancel_itself(rt: &Runtime) {
        rt.block_on(async {
            let t = spawn(async {
                let me = current_task().expect("inside a task");
                assert!(me.cancel());
                assert_eq!(me.cancelling(), 1);
                // Changed its mind before its next await: asyncio's `uncancel()` after
                // catching the CancelledError.
                assert_eq!(me.uncancel(), 0);
                yield_now().await;
                "kept going"
            });
            assert_eq!(t.await.unwrap(), "kept going");
        });
    }

    fn uncancel_after_the_cancel_was_observed_changes_nothing(rt: &Runtime) {
        rt.block_on(async {
            let (fut, c) = counted(pending::<()>());
            let t = spawn(fut);
            yield_until("polled", || c.polls() >= 1).await;
            t.cancel();
            yield_until("the cancel was observed", || c.drops() == 1).await;
            assert_eq!(t.uncancel(), 0);
            assert!(t.await.unwrap_err().is_cancelled());
        });
    }
}

// Withdrawing a request from outside before the task observes it is only deterministic
// where the task cannot run meanwhile: one loop. (`a_task_can_uncancel_itself` covers
// uncancel in every mode: there the task itself is mid-poll.)
rt_test_loop! {
    fn uncancel_before_the_task_runs_withdraws_the_request(rt: &Runtime) {
        rt.block_on(async {
            let t = spawn(async {
                yield_now().await;
                "ran to the end"
            });
            t.cancel();
            t.cancel();
            assert_eq!(t.state(), TaskState::Cancelling);
            assert_eq!(t.uncancel(), 1);
            assert_eq!(t.state(), TaskState::Cancelling, "one request is still pending");
            assert_eq!(t.uncancel(), 0);
            assert_ne!(t.state(), TaskState::Cancelling);
            assert_eq!(t.uncancel(), 0, "never below zero");
            assert_eq!(t.await.unwrap(), "ran to the end");
        });
    }
}
