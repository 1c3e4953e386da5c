//! Cancellation at each kind of await: `sleep`, another task's `JoinHandle`, `gather`,
//! `timeout`, `wait`. In each case `cancel()` makes the await give `is_cancelled()`, the
//! task's future (and what it owned) is dropped exactly once, and code after the await
//! never runs. Also: `cancel` after completion, before the first poll, twice (counted), and a task
//! cancelling itself.

#[macro_use]
mod support;

use std::future::pending;
use std::time::Duration;

use runtime::{gather, sleep, spawn, timeout, wait, yield_now, ReturnWhen, Runtime, TaskState};
use support::{counted, yield_until, Flag};

type BoxFut<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

const HOUR: Duration = Duration::from_secs(3600);

rt_test! {
    fn cancel_while_in_sleep(rt: &Runtime) {
        rt.block_on(async {
            let after = Flag::new();
            let a = after.clone();
            let (fut, counts) = counted(async move {
                sleep(HOUR).await;
                a.set();
            });
            let t = spawn(fut);
            yield_until("the task reached its sleep", || counts.polls() >= 1).await;
            assert!(!t.is_finished());
            assert!(t.cancel(), "the first cancel of a live task returns true");
            let err = t.await.unwrap_err();
            assert!(err.is_cancelled(), "{err}");
            assert!(!err.is_panic());
            assert_eq!(counts.drops(), 1);
            assert_eq!(counts.polls(), 1, "a cancelled task is not polled again");
            assert!(!after.get(), "code after the cancelled await ran");
        });
    }

    fn cancel_while_awaiting_another_task(rt: &Runtime) {
        rt.block_on(async {
            let (inner_fut, inner) = counted(pending::<u32>());
            let inner_task = spawn(inner_fut);
            let inner_ref = inner_task.task_ref().expect("inner is live");
            let after = Flag::new();
            let a = after.clone();
            let (outer_fut, outer) = counted(async move {
                let v = inner_task.await;
                a.set();
                v
            });
            let outer_task = spawn(outer_fut);
            yield_until("both tasks suspended", || outer.polls() >= 1 && inner.polls() >= 1).await;
            assert!(outer_task.cancel());
            assert!(outer_task.await.unwrap_err().is_cancelled());
            assert_eq!(outer.drops(), 1);
            assert!(!after.get());
            // The outer future owned the inner task's handle: dropping it detaches the
            // inner task (as `shield` relies on); it is not cancelled.
            for _ in 0..10 {
                yield_now().await;
            }
            assert_eq!(inner.drops(), 0, "dropping a JoinHandle must not cancel its task");
            assert_eq!(inner_ref.state(), TaskState::Pending);
            assert!(inner_ref.cancel());
            yield_until("the inner task dropped", || inner.drops() == 1).await;
        });
    }

    fn cancel_while_in_gather(rt: &Runtime) {
        rt.block_on(async {
            let (done_child, done_counts) = counted(async { 0u32 });
            let (slow_child, slow_counts) = counted(async {
                sleep(HOUR).await;
                1
            });
            let (stuck_child, stuck_counts) = counted(async { pending::<u32>().await });
            let after = Flag::new();
            let a = after.clone();
            let t = spawn(async move {
                let children: Vec<BoxFut<u32>> =
                    vec![Box::pin(done_child), Box::pin(slow_child), Box::pin(stuck_child)];
                let v = gather(children).await;
                a.set();
                v
            });
            yield_until("every child polled", || {
                done_counts.completed() && slow_counts.polls() >= 1 && stuck_counts.polls() >= 1
            })
            .await;
            assert!(t.cancel());
            assert!(t.await.unwrap_err().is_cancelled());
            assert!(!after.get());
            // Every child the gather owned is dropped exactly once, finished or not.
            assert_eq!(done_counts.drops(), 1);
            assert_eq!(slow_counts.drops(), 1);
            assert_eq!(stuck_counts.drops(), 1);
            assert!(!slow_counts.completed() && !stuck_counts.completed());
        });
    }

    fn cancel_while_in_timeout(rt: &Runtime) {
        rt.block_on(async {
            let (inner, counts) = counted(pending::<()>());
            let after = Flag::new();
            let a = after.clone();
            let t = spawn(async move {
                let r = timeout(HOUR, inner).await;
                a.set();
                r
            });
            yield_until("the timeout's future polled", || counts.polls() >= 1).await;
            assert!(t.cancel());
            assert!(t.await.unwrap_err().is_cancelled());
            assert_eq!(counts.drops(), 1);
            assert!(!after.get());
        });
    }

    fn cancel_while_in_wait(rt: &Runtime) {
        rt.block_on(async {
            let (a_fut, a_counts) = counted(pending::<u8>());
            let (b_fut, b_counts) = counted(async {
                sleep(HOUR).await;
                2u8
            });
            let (a, b) = (spawn(a_fut), spawn(b_fut));
            let refs = [a.task_ref().unwrap(), b.task_ref().unwrap()];
            let after = Flag::new();
            let flag = after.clone();
            let (waiter_fut, waiter) = counted(async move {
                let r = wait([a, b], ReturnWhen::AllCompleted).await;
                flag.set();
                r.0.len()
            });
            let w = spawn(waiter_fut);
            yield_until("all suspended", || {
                waiter.polls() >= 1 && a_counts.polls() >= 1 && b_counts.polls() >= 1
            })
            .await;
            assert!(w.cancel());
            assert!(w.await.unwrap_err().is_cancelled());
            assert_eq!(waiter.drops(), 1);
            assert!(!after.get());
            // `wait` cancels nothing, and neither does cancelling the task awaiting it.
            for _ in 0..10 {
                yield_now().await;
            }
            assert_eq!((a_counts.drops(), b_counts.drops()), (0, 0));
            for r in &refs {
                assert_eq!(r.state(), TaskState::Pending);
                assert!(r.cancel());
            }
            yield_until("the waited tasks dropped", || {
                a_counts.drops() == 1 && b_counts.drops() == 1
            })
            .await;
        });
    }

    fn cancel_after_completion_returns_false(rt: &Runtime) {
        rt.block_on(async {
            let t = spawn(async { 7 });
            yield_until("the task finished", || t.is_finished()).await;
            assert!(!t.cancel(), "cancel of a finished task returns false");
            assert_eq!(t.state(), TaskState::Done);
            assert_eq!(t.await.unwrap(), 7, "a late cancel must not change the outcome");
        });
    }

    fn cancel_twice_returns_true_and_counts(rt: &Runtime) {
        rt.block_on(async {
            let (fut, counts) = counted(pending::<()>());
            let t = spawn(fut);
            assert!(t.cancel());
            // asyncio 3.11: a second cancel returns True while the task is not done. On a
            // pool the task may already have observed the first and finished.
            let again = t.cancel();
            assert!(again || t.is_finished(), "false only once the task is done");
            if let Some(r) = t.task_ref() {
                let third = r.cancel();
                assert!(third || t.is_finished());
                let expected = 1 + u32::from(again) + u32::from(third);
                assert_eq!(r.cancelling(), expected, "each true cancel is counted");
            }
            assert!(t.await.unwrap_err().is_cancelled());
            assert_eq!(counts.drops(), 1);
        });
    }

    fn cancelled_task_cleanup_runs_before_join_resolves(rt: &Runtime) {
        // The cancelled await resolves only after the task's future was dropped: a
        // waiter can rely on the task's destructors having run.
        rt.block_on(async {
            let (fut, counts) = counted(async { sleep(HOUR).await });
            let t = spawn(fut);
            yield_until("suspended", || counts.polls() == 1).await;
            t.cancel();
            let c = counts.clone();
            let observer = spawn(async move {
                let r = t.await;
                (r.unwrap_err().is_cancelled(), c.drops())
            });
            assert_eq!(observer.await.unwrap(), (true, 1));
        });
    }
}

rt_test_loop! {
    fn cancel_before_first_poll_never_polls(rt: &Runtime) {
        // From outside the loop: nothing runs until block_on.
        let (fut, counts) = counted(async { 1 });
        let t = rt.spawn(fut);
        assert!(t.cancel());
        assert!(rt.block_on(t).unwrap_err().is_cancelled());
        assert_eq!((counts.polls(), counts.drops()), (0, 1));

        // From inside a task: a spawned task starts at the next iteration.
        rt.block_on(async {
            let (fut, counts) = counted(async { 2 });
            let t = spawn(fut);
            assert_eq!(t.state(), TaskState::Pending);
            assert!(t.cancel());
            assert!(t.await.unwrap_err().is_cancelled());
            assert_eq!((counts.polls(), counts.drops()), (0, 1));
        });
    }

    fn self_cancel_takes_effect_at_the_next_await(rt: &Runtime) {
        // As in asyncio: a task that cancels itself while running carries on until its
        // next suspension point, and is dropped there.
        let reached = support::Log::new();
        let log = reached.clone();
        rt.block_on(async move {
            let (setter, me) = runtime::settable::<runtime::TaskRef>();
            let t = spawn(async move {
                let me = me.await.unwrap();
                assert!(me.cancel());
                assert_eq!(me.state(), TaskState::Cancelling);
                log.push("same poll");
                yield_now().await;
                log.push("after the next await");
            });
            setter.set(t.task_ref().unwrap()).unwrap();
            assert!(t.await.unwrap_err().is_cancelled());
        });
        assert_eq!(reached.get(), vec!["same poll"]);
    }

    fn self_cancel_then_return_is_cancelled(rt: &Runtime) {
        let out = rt.block_on(async {
            let (setter, me) = runtime::settable::<runtime::TaskRef>();
            let t = spawn(async move {
                let me = me.await.unwrap();
                assert!(me.cancel(), "the cancel request is accepted");
                "returned anyway"
            });
            setter.set(t.task_ref().unwrap()).unwrap();
            t.await
        });
        // JoinHandle::cancel: "awaiting this handle then gives a cancelled JoinError";
        // asyncio's Task.__step: "Task is cancelled right before coro stops".
        assert!(out.unwrap_err().is_cancelled());
    }
}
