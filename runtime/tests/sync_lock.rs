//! `sync::Lock`: mutual exclusion across workers, FIFO hand-over, and a waiter cancelled
//! after it was handed the lock passes it on.

#[macro_use]
mod support;

use std::sync::Arc;

use runtime::sync::Lock;
use runtime::{spawn, yield_now, Runtime};
use support::{counted, parked, Log};

rt_test! {
    fn the_lock_excludes_across_workers(rt: &Runtime) {
        let total = Arc::new(Lock::new(0u64));
        rt.block_on(async {
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let total = total.clone();
                    spawn(async move {
                        for _ in 0..50 {
                            let mut g = total.lock().await;
                            let v = *g;
                            yield_now().await; // held across an await
                            *g = v + 1;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        assert_eq!(*rt.block_on(total.lock()), 400, "an update was lost: not exclusive");
    }

    fn a_failed_try_lock_leaves_the_lock_held(rt: &Runtime) {
        let lock = Lock::new(1);
        rt.block_on(async {
            let g = lock.lock().await;
            assert!(lock.try_lock().is_none());
            assert!(lock.try_lock().is_none(), "a failed try_lock released a lock it never had");
            assert!(lock.locked());
            drop(g);
            assert!(!lock.locked());
        });
    }

    fn waiters_get_the_lock_in_arrival_order(rt: &Runtime) {
        let lock = Arc::new(Lock::new(()));
        let order = Log::new();
        rt.block_on(async {
            let held = lock.lock().await;
            let mut tasks = Vec::new();
            for i in 0..4 {
                let (l, o) = (lock.clone(), order.clone());
                let (fut, c) = counted(async move {
                    let _g = l.lock().await;
                    o.push(i);
                });
                let t = spawn(fut);
                parked("the waiter is queued", &t, &c).await;
                tasks.push(t);
            }
            assert!(lock.try_lock().is_none(), "a newcomer must not overtake the queue");
            drop(held);
            for t in tasks {
                t.await.unwrap();
            }
        });
        assert_eq!(order.get(), vec![0, 1, 2, 3]);
    }

    fn a_woken_waiter_cancelled_passes_the_lock_on(rt: &Runtime) {
        let lock = Arc::new(Lock::new(()));
        rt.block_on(async {
            let held = lock.lock().await;
            let (l1, l2) = (lock.clone(), lock.clone());
            let (f1, c1) = counted(async move {
                let _g = l1.lock().await;
            });
            let first = spawn(f1);
            parked("first queued", &first, &c1).await;
            let (f2, c2) = counted(async move {
                let _g = l2.lock().await;
                "second got it"
            });
            let second = spawn(f2);
            parked("second queued", &second, &c2).await;
            drop(held); // hands the lock to `first`...
            first.cancel(); // ...which is cancelled before (or after) it runs
            let _ = first.await;
            assert_eq!(second.await.unwrap(), "second got it");
            assert!(lock.try_lock().is_some(), "the lock was lost");
        });
    }
}
