//! `sync::Semaphore` and `BoundedSemaphore`: the bound on concurrency across workers,
//! FIFO hand-over, permits passed on by cancelled waiters, and asyncio's release rules.

#[macro_use]
mod support;

use std::sync::Arc;

use runtime::sync::{BoundedSemaphore, ReleasedTooOften, Semaphore};
use runtime::{spawn, yield_now, Runtime};
use support::{counted, parked, Gauge, Log};

rt_test! {
    fn at_most_n_inside_across_workers(rt: &Runtime) {
        let sem = Arc::new(Semaphore::new(3));
        let gauge = Gauge::new();
        rt.block_on(async {
            let tasks: Vec<_> = (0..12)
                .map(|_| {
                    let (sem, gauge) = (sem.clone(), gauge.clone());
                    spawn(async move {
                        for _ in 0..10 {
                            let _p = sem.acquire().await;
                            let _in = gauge.enter();
                            yield_now().await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        assert!(gauge.max() <= 3, "{} inside at once", gauge.max());
        assert_eq!(sem.value(), 3, "every permit came back");
    }

    fn waiters_are_served_in_order_and_cancelled_ones_pass_on(rt: &Runtime) {
        let sem = Arc::new(Semaphore::new(1));
        let order = Log::new();
        rt.block_on(async {
            let p = sem.acquire().await;
            let mut tasks = Vec::new();
            for i in 0..4 {
                let (s, o) = (sem.clone(), order.clone());
                let (fut, c) = counted(async move {
                    let _p = s.acquire().await;
                    o.push(i);
                });
                let t = spawn(fut);
                parked("queued", &t, &c).await;
                tasks.push(t);
            }
            assert!(sem.locked());
            drop(p);
            tasks[0].cancel(); // handed the permit, cancelled: it must pass it on
            for t in tasks {
                let _ = t.await;
            }
            assert_eq!(sem.value(), 1, "a permit was lost");
        });
        let got = order.get();
        let rest: Vec<_> = got.iter().copied().filter(|&i| i != 0).collect();
        assert_eq!(rest, vec![1, 2, 3], "FIFO among the others: {got:?}");
    }

    fn release_adds_a_permit_bounded_refuses_past_its_value(rt: &Runtime) {
        let sem = Semaphore::new(0);
        sem.release();
        assert_eq!(sem.value(), 1);
        let bounded = BoundedSemaphore::new(2);
        assert_eq!(bounded.release(), Err(ReleasedTooOften));
        rt.block_on(async {
            bounded.acquire().await.forget();
            assert_eq!(bounded.value(), 1);
            assert_eq!(bounded.release(), Ok(()));
            assert_eq!(bounded.release(), Err(ReleasedTooOften));
            let p = bounded.acquire().await;
            drop(p);
            assert_eq!(bounded.value(), 2);
        });
    }
}
