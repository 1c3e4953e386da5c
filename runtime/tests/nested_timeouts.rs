//! Timeouts as asyncio's: nested timeouts with one deadline report only the outer, the
//! inner body dropped (it "sees a cancellation"); a zero or past deadline never starts
//! the body; `Timeout` and `TimeoutHandle` can read and move the deadline.

#[macro_use]
mod support;

use std::future::pending;
use std::time::Duration;

use runtime::{now, sleep, timeout, timeout_at, Elapsed, Runtime};
use support::{counted, Flag};

rt_test_virtual! {
    fn same_deadline_nested_only_the_outer_reports(rt: &Runtime) {
        rt.block_on(async {
            let deadline = now() + Duration::from_secs(1);
            let after_inner = Flag::new();
            let a = after_inner.clone();
            let (body, c) = counted(sleep(Duration::from_secs(10)));
            let mut inner = timeout_at(deadline, body);
            let inner_cm = inner.handle();
            let mut outer = timeout_at(deadline, async move {
                let r = inner.await;
                a.set(); // the inner body "sees a cancellation": this never runs
                r
            });
            let outer_cm = outer.handle();
            assert_eq!(outer.await, Err(Elapsed(())));
            assert!(!after_inner.get(), "the inner timeout reported instead of the outer");
            assert_eq!(c.drops(), 1);
            assert!(outer_cm.expired());
            assert!(!inner_cm.expired(), "asyncio: cm2.expired() is False");
            assert_eq!(now(), deadline);
        });
    }

    fn an_inner_earlier_deadline_still_reports_itself(rt: &Runtime) {
        rt.block_on(async {
            let out = timeout(Duration::from_secs(5), async {
                let inner = timeout(Duration::from_secs(1), pending::<()>()).await;
                (inner, now())
            })
            .await;
            let (inner, _) = out.expect("the outer did not expire");
            assert_eq!(inner, Err(Elapsed(())));
        });
    }

    fn a_deadline_in_the_past_never_starts_the_body(rt: &Runtime) {
        rt.block_on(async {
            let (body, c) = counted(async { 1 });
            let past = now();
            sleep(Duration::from_secs(1)).await;
            assert_eq!(timeout_at(past, body).await, Err(Elapsed(())));
            assert_eq!((c.polls(), c.drops()), (0, 1));
        });
    }

    fn reschedule_moves_the_deadline(rt: &Runtime) {
        rt.block_on(async {
            let start = now();
            let mut t = timeout(Duration::from_secs(1), sleep(Duration::from_secs(5)));
            assert_eq!(t.when(), Some(start + Duration::from_secs(1)));
            t.reschedule(Some(start + Duration::from_secs(3)));
            assert_eq!(t.when(), Some(start + Duration::from_secs(3)));
            assert!(!t.expired());
            assert!((&mut t).await.is_err());
            assert!(t.expired());
            assert_eq!(now() - start, Duration::from_secs(3));
        });
    }

    fn a_handle_extends_the_deadline_from_inside_the_body(rt: &Runtime) {
        rt.block_on(async {
            let start = now();
            let (tx, rx) = runtime::settable::<runtime::TimeoutHandle>();
            let mut t = timeout(Duration::from_secs(1), async move {
                let cm = rx.await.unwrap();
                cm.reschedule(cm.when().map(|w| w + Duration::from_secs(9)));
                sleep(Duration::from_secs(5)).await;
                "done in time"
            });
            tx.set(t.handle()).unwrap();
            assert_eq!(t.await, Ok("done in time"));
            assert_eq!(now() - start, Duration::from_secs(5));
        });
    }

    fn reschedule_none_removes_the_deadline(rt: &Runtime) {
        rt.block_on(async {
            let mut t = timeout(Duration::from_secs(1), sleep(Duration::from_secs(4)));
            t.reschedule(None);
            assert_eq!(t.when(), None);
            assert!(t.await.is_ok());
        });
    }
}

rt_test! {
    fn same_deadline_nested_on_the_real_clock(rt: &Runtime) {
        rt.block_on(async {
            let deadline = now() + Duration::from_millis(20);
            let after_inner = Flag::new();
            let a = after_inner.clone();
            let (body, c) = counted(sleep(Duration::from_secs(3600)));
            let mut inner = timeout_at(deadline, body);
            let inner_cm = inner.handle();
            let out = timeout_at(deadline, async move {
                let r = inner.await;
                a.set();
                r
            })
            .await;
            assert_eq!(out, Err(Elapsed(())));
            assert!(!after_inner.get() && !inner_cm.expired());
            assert_eq!(c.drops(), 1);
        });
    }

    fn a_zero_timeout_does_not_start_a_coroutine(rt: &Runtime) {
        rt.block_on(async {
            let started = Flag::new();
            let s = started.clone();
            let (body, c) = counted(async move {
                s.set();
            });
            assert_eq!(timeout(Duration::ZERO, body).await, Err(Elapsed(())));
            assert!(!started.get());
            assert_eq!((c.polls(), c.drops()), (0, 1));
        });
    }

    fn a_zero_timeout_cancels_a_pending_task(rt: &Runtime) {
        rt.block_on(async {
            let (fut, c) = counted(pending::<()>());
            let t = runtime::spawn(fut);
            let r = t.task_ref().unwrap();
            assert!(timeout(Duration::ZERO, t).await.is_err());
            r.await;
            assert_eq!(c.drops(), 1);
            assert!(!c.completed());
        });
    }

    fn a_ready_body_wins_over_a_deadline(rt: &Runtime) {
        rt.block_on(async {
            assert_eq!(timeout(Duration::from_secs(60), async { 5 }).await, Ok(5));
        });
    }
}
