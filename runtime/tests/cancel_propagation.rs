//! Cancellation that propagates, as asyncio's: a cancelled `gather` of task handles, an
//! expired `timeout(d, handle)`, and a cancelled task awaiting `timeout(d, task)` cancel
//! the tasks they own; `shield` and a handle dropped on its own still detach; fail-fast
//! `try_gather` leaves the others running (asyncio does).

#[macro_use]
mod support;

use std::future::{pending, Future};
use std::time::Duration;

use runtime::{gather, shield, spawn, timeout, try_gather, yield_now, Runtime, TaskState};
use support::{counted, yield_until};

const HOUR: Duration = Duration::from_secs(3600);

rt_test! {
    fn cancelling_a_gather_of_handles_cancels_the_children(rt: &Runtime) {
        rt.block_on(async {
            let (a_fut, a) = counted(pending::<u8>());
            let (b_fut, b) = counted(pending::<u8>());
            let (ta, tb) = (spawn(a_fut), spawn(b_fut));
            let parent = spawn(gather([ta, tb]));
            yield_until("children suspended", || a.polls() >= 1 && b.polls() >= 1).await;
            assert!(parent.cancel());
            assert!(parent.await.unwrap_err().is_cancelled());
            yield_until("both children dropped", || a.drops() == 1 && b.drops() == 1).await;
            assert!(!a.completed() && !b.completed());
        });
    }

    fn dropping_a_pending_gather_cancels_its_handles(rt: &Runtime) {
        rt.block_on(async {
            let (fut, c) = counted(pending::<()>());
            let t = spawn(fut);
            let r = t.task_ref().unwrap();
            let mut g = gather([t]);
            // Poll it once, then drop it: as a `select` or an outer timeout would.
            assert!(std::future::poll_fn(|cx| std::task::Poll::Ready(
                std::pin::Pin::new(&mut g).poll(cx).is_pending()
            )).await);
            drop(g);
            yield_until("the child dropped", || c.drops() == 1).await;
            r.clone().await;
            assert_eq!(r.state(), TaskState::Done);
        });
    }

    fn an_expired_timeout_cancels_the_task_it_awaited(rt: &Runtime) {
        rt.block_on(async {
            let (fut, c) = counted(pending::<u8>());
            let t = spawn(fut);
            let r = t.task_ref().unwrap();
            let out = timeout(Duration::from_millis(20), t).await;
            assert!(out.is_err(), "the task never finishes: the timeout expires");
            yield_until("the awaited task dropped", || c.drops() == 1).await;
            r.await;
            assert!(!c.completed());
        });
    }

    fn cancelling_the_task_awaiting_a_timeout_cancels_the_inner_task(rt: &Runtime) {
        rt.block_on(async {
            let (inner_fut, inner) = counted(pending::<u8>());
            let inner_task = spawn(inner_fut);
            let inner_ref = inner_task.task_ref().unwrap();
            let outer = spawn(timeout(HOUR, inner_task));
            yield_until("inner suspended", || inner.polls() >= 1).await;
            for _ in 0..3 {
                yield_now().await; // let the outer task reach its await
            }
            assert!(outer.cancel());
            assert!(outer.await.unwrap_err().is_cancelled());
            yield_until("inner dropped", || inner.drops() == 1).await;
            inner_ref.await;
        });
    }

    fn a_shielded_task_survives_an_expired_timeout(rt: &Runtime) {
        rt.block_on(async {
            let (setter, done) = runtime::settable::<&str>();
            let out = timeout(Duration::from_millis(10), shield(async move {
                runtime::sleep(Duration::from_millis(40)).await;
                setter.set("finished anyway").unwrap();
            }))
            .await;
            assert!(out.is_err());
            assert_eq!(done.await, Ok("finished anyway"));
        });
    }

    fn a_handle_dropped_on_its_own_still_detaches(rt: &Runtime) {
        rt.block_on(async {
            let (setter, done) = runtime::settable::<u8>();
            let t = spawn(async move {
                yield_now().await;
                setter.set(1).unwrap();
            });
            drop(t);
            assert_eq!(done.await, Ok(1));
        });
    }

    fn a_try_gather_failure_detaches_the_other_tasks(rt: &Runtime) {
        rt.block_on(async {
            let (setter, done) = runtime::settable::<u8>();
            let ok = spawn(async move {
                for _ in 0..5 {
                    yield_now().await;
                }
                setter.set(2).unwrap();
                Ok::<u8, String>(2)
            });
            let bad = spawn(async { Err::<u8, String>("bad".into()) });
            let flat = |h: runtime::JoinHandle<Result<u8, String>>| async move {
                h.await.map_err(|e| e.to_string())?
            };
            let out = try_gather([flat(bad), flat(ok)]).await;
            assert_eq!(out, Err("bad".to_string()));
            assert_eq!(done.await, Ok(2), "asyncio: the others run on after the first error");
        });
    }

    fn a_finished_handle_inside_a_timeout_gives_its_outcome(rt: &Runtime) {
        rt.block_on(async {
            let quick = spawn(async { 7 });
            yield_until("quick finished", || quick.is_finished()).await;
            // Its outcome is ready: the timeout gives it, nothing is cancelled.
            assert_eq!(timeout(HOUR, quick).await.unwrap().unwrap(), 7);
        });
    }
}
