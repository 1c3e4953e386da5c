//! `sync::Condition`: `notify(n)` wakes the longest-waiting n waiters, in order;
//! `notify_all` wakes all; `wait_for` checks its predicate; and a notified waiter that is
//! cancelled passes the notification on.

#[macro_use]
mod support;

use std::sync::Arc;

use runtime::sync::Condition;
use runtime::{spawn, Runtime};
use support::{counted, parked, yield_until, Log};

rt_test! {
    fn notify_wakes_waiters_in_order(rt: &Runtime) {
        let cond = Arc::new(Condition::new(0u32));
        let order = Log::new();
        rt.block_on(async {
            let mut tasks = Vec::new();
            for i in 0..3 {
                let (c, o) = (cond.clone(), order.clone());
                let (fut, counts) = counted(async move {
                    let g = c.lock().await;
                    let mut g = g.wait().await;
                    *g += 1;
                    o.push(i);
                });
                let t = spawn(fut);
                parked("waiting", &t, &counts).await;
                tasks.push(t);
            }
            for n in 1..=2 {
                cond.lock().await.notify(1);
                yield_until("one more woke", || order.len() == n).await;
            }
            assert_eq!(order.get(), vec![0, 1], "notify(1) wakes the longest waiter");
            cond.lock().await.notify_all();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(*cond.lock().await, 3);
        });
        assert_eq!(order.get(), vec![0, 1, 2]);
    }

    fn wait_for_waits_until_the_predicate_holds(rt: &Runtime) {
        let cond = Arc::new(Condition::new(Vec::<u8>::new()));
        rt.block_on(async {
            let c = cond.clone();
            let consumer = spawn(async move {
                let g = c.lock().await;
                let g = g.wait_for(|v| v.len() >= 2).await;
                g.clone()
            });
            for i in 0..2 {
                let mut g = cond.lock().await;
                g.push(i);
                g.notify_all();
                drop(g);
                runtime::yield_now().await;
            }
            assert_eq!(consumer.await.unwrap(), vec![0, 1]);
        });
    }

    fn a_cancelled_notified_waiter_passes_it_on(rt: &Runtime) {
        let cond = Arc::new(Condition::new(()));
        rt.block_on(async {
            let (c1, c2) = (cond.clone(), cond.clone());
            let (f1, n1) = counted(async move {
                let _g = c1.lock().await.wait().await;
            });
            let first = spawn(f1);
            parked("first waiting", &first, &n1).await;
            let (f2, n2) = counted(async move {
                let _g = c2.lock().await.wait().await;
                "second woke"
            });
            let second = spawn(f2);
            parked("second waiting", &second, &n2).await;
            {
                let g = cond.lock().await;
                g.notify(1); // the first is notified...
                first.cancel(); // ...and cancelled: the notification goes to the second
            }
            let _ = first.await;
            assert_eq!(second.await.unwrap(), "second woke");
        });
    }
}
