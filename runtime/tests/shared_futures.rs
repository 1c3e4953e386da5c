//! Futures many tasks await: a shared `Settable` and a shared task outcome wake every
//! awaiter with a clone of the one value (asyncio's futures and tasks).

#[macro_use]
mod support;

use runtime::{shared, spawn, yield_now, Runtime, SettableError};
use support::yield_until;

rt_test! {
    fn a_shared_settable_wakes_every_awaiter(rt: &Runtime) {
        rt.block_on(async {
            let (setter, fut) = runtime::settable::<String>();
            let fut = fut.shared();
            let waiters: Vec<_> = (0..4).map(|_| spawn(fut.clone())).collect();
            for _ in 0..5 {
                yield_now().await; // every waiter is suspended on it
            }
            assert!(!fut.is_done());
            setter.set("v".to_string()).unwrap();
            for w in waiters {
                assert_eq!(w.await.unwrap(), Ok("v".to_string()));
            }
            assert_eq!(fut.await, Ok("v".to_string()), "a late awaiter gets it too");
        });
    }

    fn a_shared_settable_shares_a_broken_promise(rt: &Runtime) {
        rt.block_on(async {
            let (setter, fut) = runtime::settable::<u8>();
            let fut = fut.shared();
            let a = spawn(fut.clone());
            let b = spawn(fut);
            yield_now().await;
            drop(setter);
            assert_eq!(a.await.unwrap(), Err(SettableError::Dropped));
            assert_eq!(b.await.unwrap(), Err(SettableError::Dropped));
        });
    }

    fn a_shared_task_outcome_reaches_every_awaiter(rt: &Runtime) {
        rt.block_on(async {
            let (go_tx, go) = runtime::settable::<()>();
            let task = shared(spawn(async move {
                go.await.unwrap();
                vec![1, 2, 3]
            }));
            let waiters: Vec<_> = (0..3)
                .map(|_| {
                    let t = task.clone();
                    spawn(async move { t.await.unwrap().len() })
                })
                .collect();
            yield_now().await;
            go_tx.set(()).unwrap();
            for w in waiters {
                assert_eq!(w.await.unwrap(), 3);
            }
            assert_eq!(task.await.unwrap(), vec![1, 2, 3]);
        });
    }

    fn a_shared_failure_is_the_same_error_for_everyone(rt: &Runtime) {
        rt.block_on(async {
            let task = shared(spawn(async { Vec::<u8>::new().first().copied().expect("no value") }));
            let id_a = spawn({
                let t = task.clone();
                async move { t.await.unwrap_err() }
            });
            let e1 = task.clone().await.unwrap_err();
            let e2 = id_a.await.unwrap();
            assert_eq!(e1.panic_message(), Some("no value"));
            assert_eq!(e2.panic_message(), Some("no value"));
            assert_eq!(e1.id(), e2.id());
        });
    }

    fn dropping_one_awaiter_leaves_the_others_waiting(rt: &Runtime) {
        rt.block_on(async {
            let (setter, fut) = runtime::settable::<u8>();
            let fut = fut.shared();
            let dropped = spawn(fut.clone());
            let kept = spawn(fut.clone());
            yield_until("both waiting", || !dropped.is_finished()).await;
            yield_now().await;
            dropped.cancel();
            assert!(dropped.await.unwrap_err().is_cancelled());
            setter.set(4).unwrap();
            assert_eq!(kept.await.unwrap(), Ok(4));
        });
    }
}
