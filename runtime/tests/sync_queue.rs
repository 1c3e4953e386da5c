//! `sync::Queue`, `LifoQueue`, `PriorityQueue`: order, `maxsize` back-pressure, the
//! `_nowait` errors, `task_done`/`join`, `shutdown`, producers and consumers across
//! workers, and a getter cancelled after it was woken losing nothing.

#[macro_use]
mod support;

use std::sync::Arc;

use runtime::sync::{
    LifoQueue, PriorityQueue, Queue, QueueShutDown, TaskDoneTooOften, TryGetError, TryPutError,
};
use runtime::{spawn, Runtime};
use support::{counted, parked, yield_until, Log};

rt_test! {
    fn fifo_lifo_and_priority_orders(rt: &Runtime) {
        rt.block_on(async {
            let (q, l, p) = (Queue::new(0), LifoQueue::new(0), PriorityQueue::new(0));
            for v in [3, 1, 2] {
                q.put(v).await.unwrap();
                l.put(v).await.unwrap();
                p.put(v).await.unwrap();
            }
            let mut got = (vec![], vec![], vec![]);
            for _ in 0..3 {
                got.0.push(q.get().await.unwrap());
                got.1.push(l.get().await.unwrap());
                got.2.push(p.get().await.unwrap());
            }
            assert_eq!(got, (vec![3, 1, 2], vec![2, 1, 3], vec![1, 2, 3]));
        });
    }

    fn nowait_errors_and_maxsize(rt: &Runtime) {
        let q = Queue::new(2);
        assert_eq!(q.get_nowait(), Err(TryGetError::QueueEmpty));
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        assert!(q.full());
        assert_eq!(q.put_nowait(3), Err(TryPutError::QueueFull(3)));
        let q = Arc::new(q);
        rt.block_on(async {
            let q2 = q.clone();
            let (fut, c) = counted(async move { q2.put(3).await });
            let putter = spawn(fut);
            parked("the putter waits: full", &putter, &c).await;
            assert!(!putter.is_finished());
            assert_eq!(q.get().await, Ok(1)); // room: the putter goes on
            putter.await.unwrap().unwrap();
            assert_eq!((q.get().await, q.get().await), (Ok(2), Ok(3)));
        });
    }

    fn task_done_and_join(rt: &Runtime) {
        let q = Arc::new(Queue::new(0));
        rt.block_on(async {
            for i in 0..3 {
                q.put(i).await.unwrap();
            }
            let q2 = q.clone();
            let (fut, c) = counted(async move { q2.join().await });
            let joiner = spawn(fut);
            for _ in 0..3 {
                q.get().await.unwrap();
            }
            parked("join waits for task_done", &joiner, &c).await;
            assert!(!joiner.is_finished(), "items taken but not done");
            for _ in 0..3 {
                q.task_done().unwrap();
            }
            joiner.await.unwrap();
            assert_eq!(q.task_done(), Err(TaskDoneTooOften));
        });
    }

    fn shutdown_drains_then_refuses(rt: &Runtime) {
        let q = Arc::new(Queue::new(0));
        rt.block_on(async {
            q.put(1).await.unwrap();
            let q2 = q.clone();
            let waiting_getter = Queue::<u8>::new(0);
            let wg = Arc::new(waiting_getter);
            let wg2 = wg.clone();
            let (fut, c) = counted(async move { wg2.get().await });
            let getter = spawn(fut);
            parked("getter waits", &getter, &c).await;
            wg.shutdown(false);
            assert_eq!(getter.await.unwrap(), Err(QueueShutDown(())), "a waiting getter wakes");
            q2.shutdown(false);
            assert_eq!(q.put(2).await, Err(QueueShutDown(2)));
            assert_eq!(q.put_nowait(2), Err(TryPutError::QueueShutDown(2)));
            assert_eq!(q.get().await, Ok(1), "what was queued still comes out");
            assert_eq!(q.get().await, Err(QueueShutDown(())));
            let im = Queue::new(0);
            im.put(1).await.unwrap();
            im.shutdown(true);
            assert_eq!(im.get_nowait(), Err(TryGetError::QueueShutDown), "immediate: dropped");
            im.join().await; // the dropped item counts as done
        });
    }

    fn producers_and_consumers_across_workers(rt: &Runtime) {
        let q = Arc::new(Queue::new(4));
        let seen = Log::new();
        rt.block_on(async {
            let consumers: Vec<_> = (0..3)
                .map(|_| {
                    let (q, seen) = (q.clone(), seen.clone());
                    spawn(async move {
                        while let Ok(v) = q.get().await {
                            seen.push(v);
                            q.task_done().unwrap();
                        }
                    })
                })
                .collect();
            let producers: Vec<_> = (0..3)
                .map(|p| {
                    let q = q.clone();
                    spawn(async move {
                        for i in 0..100 {
                            q.put(p * 1000 + i).await.unwrap();
                        }
                    })
                })
                .collect();
            for p in producers {
                p.await.unwrap();
            }
            q.join().await;
            q.shutdown(false);
            for c in consumers {
                c.await.unwrap();
            }
        });
        let mut got = seen.get();
        got.sort();
        let want: Vec<_> = (0..3).flat_map(|p| (0..100).map(move |i| p * 1000 + i)).collect();
        assert_eq!(got, want, "every item exactly once");
    }

    fn a_woken_getter_cancelled_loses_no_item(rt: &Runtime) {
        let q = Arc::new(Queue::new(0));
        let seen = Log::new();
        rt.block_on(async {
            let mut getters = Vec::new();
            for _ in 0..2 {
                let (q2, s) = (q.clone(), seen.clone());
                let (fut, c) = counted(async move {
                    let v = q2.get().await.unwrap();
                    s.push(v);
                });
                let t = spawn(fut);
                parked("getter waits", &t, &c).await;
                getters.push(t);
            }
            q.put("a").await.unwrap(); // wakes the first getter...
            getters[0].cancel(); // ...which is cancelled before (or after) it takes it
            yield_until("the item was taken", || seen.len() == 1 || q.qsize() == 0).await;
            yield_until("someone recorded it", || seen.len() == 1).await;
            if !getters[1].is_finished() {
                q.put("b").await.unwrap(); // the first got "a": release the second
            }
            for g in getters {
                let _ = g.await;
            }
        });
        let got = seen.get();
        assert_eq!(got.iter().filter(|v| **v == "a").count(), 1, "{got:?}");
    }
}
