//! `current_task()` names the task being polled; `as_completed_timeout` yields what
//! finished in time, then one `Elapsed`, and cancels nothing.

#[macro_use]
mod support;

use std::future::pending;
use std::time::Duration;

use runtime::{as_completed_timeout, current_task, sleep, spawn, spawn_named, Elapsed, Runtime};
use support::counted;

rt_test! {
    fn current_task_is_the_task_being_polled(rt: &Runtime) {
        assert!(current_task().is_none(), "plain code is not a task");
        rt.block_on(async {
            assert!(current_task().is_none(), "block_on's own future is not a task");
            let t = spawn_named("me", async {
                let me = current_task().unwrap();
                let child = spawn(async { current_task().unwrap().id() });
                (me.id(), me.name().map(str::to_string), child.await.unwrap())
            });
            let id = t.id();
            let (seen, name, child) = t.await.unwrap();
            assert_eq!(seen, id);
            assert_eq!(name.as_deref(), Some("me"));
            assert_ne!(child, id);
        });
    }

    fn a_task_cancels_itself_through_current_task(rt: &Runtime) {
        rt.block_on(async {
            let (fut, c) = counted(async {
                current_task().unwrap().cancel();
                runtime::yield_now().await;
                unreachable!("cancelled at the await");
            });
            let t = spawn(fut);
            assert!(t.await.unwrap_err().is_cancelled());
            assert_eq!(c.drops(), 1);
        });
    }

    fn as_completed_timeout_reports_then_times_out(rt: &Runtime) {
        rt.block_on(async {
            let (slow_fut, slow) = counted(pending::<u8>());
            let slow_task = spawn(slow_fut);
            let slow_ref = slow_task.task_ref().unwrap();
            let quick = spawn(async { 1u8 });
            let mut s = as_completed_timeout([slow_task, quick], Duration::from_millis(500));
            assert_eq!(s.next().await.unwrap().unwrap().unwrap(), 1);
            assert_eq!(s.next().await.unwrap().unwrap_err(), Elapsed(()));
            assert!(s.next().await.is_none());
            drop(s);
            sleep(Duration::from_millis(5)).await;
            assert_eq!(slow.drops(), 0, "asyncio's as_completed cancels nothing");
            assert!(slow_ref.cancel());
        });
    }
}
