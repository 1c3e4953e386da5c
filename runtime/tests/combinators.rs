//! The asyncio combinators: `gather` (input order), `try_gather` (fail-fast, drops the
//! rest), `wait` (FirstCompleted / FirstException / AllCompleted; cancels nothing),
//! `as_completed` (completion order), `shield` (survives the outer cancel), `submit`,
//! `yield_now` fairness, and 10,000 spawned tasks.

#[macro_use]
mod support;

use std::future::{pending, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use runtime::{
    as_completed, gather, now, settable, shield, sleep, spawn, try_gather, wait, yield_now,
    JoinHandle, ReturnWhen, Runtime,
};
use support::{counted, yield_until, Counts, Flag, Log};

type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A future that yields `n` times, then returns `v`.
async fn after_yields<T>(n: usize, v: T) -> T {
    for _ in 0..n {
        yield_now().await;
    }
    v
}

fn fib(n: u32) -> u64 {
    if n < 2 {
        n as u64
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

fn square(x: u64) -> u64 {
    x * x
}

fn explode(x: u32) -> u32 {
    panic!("submitted {x} exploded")
}

rt_test! {
    fn gather_returns_outputs_in_input_order(rt: &Runtime) {
        // The last input finishes first.
        let out = rt.block_on(gather((0..5).map(|i| after_yields(10 - 2 * i, i))));
        assert_eq!(out, vec![0, 1, 2, 3, 4]);
        let none: Vec<u8> = rt.block_on(gather(Vec::<BoxFut<u8>>::new()));
        assert!(none.is_empty());
    }

    fn gather_of_handles_reports_each_outcome(rt: &Runtime) {
        let out = rt.block_on(async {
            let hs = vec![
                spawn(after_yields(3, 1)),
                spawn(async {
                    yield_now().await;
                    panic!("second failed")
                }),
                spawn(after_yields(1, 3)),
            ];
            gather(hs).await
        });
        assert_eq!(*out[0].as_ref().unwrap(), 1);
        assert_eq!(out[1].as_ref().unwrap_err().panic_message(), Some("second failed"));
        assert_eq!(*out[2].as_ref().unwrap(), 3);
    }

    fn try_gather_fails_fast_and_drops_the_rest(rt: &Runtime) {
        let after = Flag::new();
        let (stuck, stuck_counts) = counted(async {
            pending::<()>().await;
            Ok::<u8, String>(0)
        });
        let a = after.clone();
        let (slow, slow_counts) = counted(async move {
            after_yields(1000, ()).await;
            a.set();
            Ok(1)
        });
        let (ok, ok_counts) = counted(async { Ok(2) });
        let failing = async {
            after_yields(3, ()).await;
            Err("third failed".to_string())
        };
        let futs: Vec<BoxFut<Result<u8, String>>> =
            vec![Box::pin(stuck), Box::pin(slow), Box::pin(ok), Box::pin(failing)];
        let r = rt.block_on(async {
            let r = try_gather(futs).await;
            // Dropped as soon as the error came back, before the TryGather itself.
            (r, stuck_counts.drops(), slow_counts.drops())
        });
        assert_eq!(r, (Err("third failed".to_string()), 1, 1));
        assert_eq!(ok_counts.drops(), 1);
        assert!(!after.get(), "a child kept running after try_gather failed");
        assert!(slow_counts.polls() < 100);
        let all_ok = rt.block_on(try_gather((0..4).map(|i| async move {
            yield_now().await;
            Ok::<_, ()>(i * 2)
        })));
        assert_eq!(all_ok, Ok(vec![0, 2, 4, 6]));
    }

    fn wait_with_empty_input_returns_at_once(rt: &Runtime) {
        let none = Vec::<JoinHandle<()>>::new();
        let (done, pending) = rt.block_on(wait(none, ReturnWhen::AllCompleted));
        assert!(done.is_empty() && pending.is_empty());
    }

    fn shield_survives_the_outer_cancel(rt: &Runtime) {
        rt.block_on(async {
            let (setter, saved) = settable();
            let (go_setter, go) = settable::<()>();
            let (inner, inner_counts) = counted(async move {
                go.await.unwrap();
                after_yields(5, ()).await;
                setter.set("saved").unwrap();
            });
            let after = Flag::new();
            let a = after.clone();
            let outer = spawn(async move {
                let r = shield(inner).await;
                a.set();
                r
            });
            yield_until("the shielded work started", || inner_counts.polls() >= 1).await;
            assert!(outer.cancel());
            assert!(outer.await.unwrap_err().is_cancelled());
            assert!(!after.get());
            assert_eq!(inner_counts.drops(), 0, "the shielded future died with the outer task");
            go_setter.set(()).unwrap();
            assert_eq!(saved.await, Ok("saved"));
            yield_until("the shielded future dropped", || inner_counts.drops() == 1).await;
            assert!(inner_counts.completed());
        });
    }

    fn submit_runs_the_function_on_the_argument(rt: &Runtime) {
        assert_eq!(rt.submit(fib, 20).join().unwrap(), 6765);
        let out = rt.block_on(async {
            let jobs: Vec<_> = (1..=4).map(|x| runtime::submit(square, x)).collect();
            gather(jobs).await
        });
        let out: Vec<u64> = out.into_iter().map(Result::unwrap).collect();
        assert_eq!(out, vec![1, 4, 9, 16]);
        let err = rt.block_on(rt.submit(explode, 3)).unwrap_err();
        assert_eq!(err.panic_message(), Some("submitted 3 exploded"));
        assert_eq!(rt.handle().submit(square, 12).join().unwrap(), 144);
    }

    fn a_task_yielding_forever_starves_nobody(rt: &Runtime) {
        let stop = Flag::new();
        let rounds = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let (s, r) = (stop.clone(), rounds.clone());
            let spinner = spawn(async move {
                while !s.get() {
                    r.fetch_add(1, Ordering::SeqCst);
                    yield_now().await;
                }
            });
            // A timer, another task and a callback all get their turn.
            sleep(Duration::from_millis(5)).await;
            assert_eq!(spawn(async { 1 }).await.unwrap(), 1);
            let (setter, called) = settable();
            runtime::Handle::current().unwrap().call_soon(move || setter.set(()).unwrap());
            called.await.unwrap();
            stop.set();
            spinner.await.unwrap();
        });
        assert!(rounds.load(Ordering::SeqCst) > 0);
    }

    fn ten_thousand_spawned_tasks_complete(rt: &Runtime) {
        const N: u64 = 10_000;
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let sum = rt.block_on(async move {
            let hs: Vec<_> = (0..N)
                .map(|i| {
                    let d = d.clone();
                    spawn(async move {
                        yield_now().await;
                        d.fetch_add(1, Ordering::SeqCst);
                        i
                    })
                })
                .collect();
            let mut sum = 0;
            for h in hs {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, N * (N - 1) / 2);
        assert_eq!(done.load(Ordering::SeqCst), N as usize);
        // Also spawned from outside the loop, then run.
        let hs: Vec<_> = (0..N).map(|i| rt.spawn(async move { i })).collect();
        let out = rt.block_on(gather(hs));
        assert!(out.into_iter().enumerate().all(|(i, r)| r.unwrap() == i as u64));
        assert!(rt.all_tasks().is_empty());
    }
}

rt_test_loop! {
    fn two_yielding_tasks_alternate(rt: &Runtime) {
        let log = Log::new();
        rt.block_on(async {
            let hs: Vec<_> = ["a", "b"]
                .into_iter()
                .map(|name| {
                    let l = log.clone();
                    spawn(async move {
                        for _ in 0..4 {
                            l.push(name);
                            yield_now().await;
                        }
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        });
        assert_eq!(log.get(), ["a", "b", "a", "b", "a", "b", "a", "b"]);
    }
}

/// Spawns a task that sleeps `secs` virtual seconds, then returns `v` (or panics if `v`
/// is `None`).
fn after_secs(secs: u64, v: Option<u64>) -> JoinHandle<u64> {
    spawn(async move {
        sleep(Duration::from_secs(secs)).await;
        v.unwrap_or_else(|| panic!("failed after {secs} s"))
    })
}

rt_test_virtual! {
    fn gather_of_sleepers_takes_the_longest(rt: &Runtime) {
        let t0 = rt.time();
        let out = rt.block_on(gather([3u64, 1, 2].map(|s| async move {
            sleep(Duration::from_secs(s)).await;
            s
        })));
        assert_eq!(out, vec![3, 1, 2]);
        assert_eq!(rt.time() - t0, Duration::from_secs(3));
    }

    fn wait_first_completed(rt: &Runtime) {
        let t0 = rt.time();
        rt.block_on(async move {
            let hs = vec![after_secs(5, Some(5)), after_secs(1, Some(1)), after_secs(3, Some(3))];
            let (done, pending) = wait(hs, ReturnWhen::FirstCompleted).await;
            assert_eq!(now() - t0, Duration::from_secs(1));
            assert_eq!((done.len(), pending.len()), (1, 2));
            assert_eq!(done.into_iter().next().unwrap().await.unwrap(), 1);
            // Pending keeps input order, and nothing was cancelled.
            let rest: Vec<u64> = gather(pending).await.into_iter().map(Result::unwrap).collect();
            assert_eq!(rest, vec![5, 3]);
            assert_eq!(now() - t0, Duration::from_secs(5));
        });
    }

    fn wait_first_exception(rt: &Runtime) {
        let t0 = rt.time();
        rt.block_on(async move {
            let hs = vec![after_secs(10, Some(10)), after_secs(1, Some(1)), after_secs(2, None)];
            let (done, pending) = wait(hs, ReturnWhen::FirstException).await;
            assert_eq!(now() - t0, Duration::from_secs(2), "returns at the first failure");
            let outs: Vec<_> = gather(done).await;
            assert_eq!(*outs[0].as_ref().unwrap(), 1, "done keeps input order");
            assert_eq!(outs[1].as_ref().unwrap_err().panic_message(), Some("failed after 2 s"));
            assert_eq!(pending.len(), 1);
            let t = pending.into_iter().next().unwrap();
            assert!(!t.is_finished());
            assert_eq!(t.await.unwrap(), 10);

            // With no failure, it waits for all.
            let t1 = now();
            let hs = vec![after_secs(1, Some(1)), after_secs(4, Some(4))];
            let (done, pending) = wait(hs, ReturnWhen::FirstException).await;
            assert_eq!((done.len(), pending.len(), now() - t1), (2, 0, Duration::from_secs(4)));
        });
    }

    fn wait_all_completed(rt: &Runtime) {
        let t0 = rt.time();
        rt.block_on(async move {
            let hs = vec![after_secs(2, Some(2)), after_secs(1, None), after_secs(3, Some(3))];
            let (done, pending) = wait(hs, ReturnWhen::AllCompleted).await;
            assert_eq!(now() - t0, Duration::from_secs(3), "a failure does not end AllCompleted");
            assert!(pending.is_empty());
            let ok: Vec<bool> = gather(done).await.iter().map(Result::is_ok).collect();
            assert_eq!(ok, vec![true, false, true]);
        });
    }

    fn wait_handles_can_be_joined_from_outside(rt: &Runtime) {
        let (done, _) = rt.block_on(async {
            wait(vec![after_secs(1, Some(7))], ReturnWhen::AllCompleted).await
        });
        assert_eq!(done.into_iter().next().unwrap().join().unwrap(), 7);
    }

    fn as_completed_yields_in_completion_order(rt: &Runtime) {
        let t0 = rt.time();
        let order = rt.block_on(async move {
            let tasks = [3u64, 1, 2, 5, 4].map(|s| after_secs(s, Some(s)));
            let mut stream = as_completed(tasks);
            let mut order = vec![];
            assert_eq!(stream.remaining(), 5);
            while let Some(out) = stream.next().await {
                let v = out.unwrap();
                assert_eq!(now() - t0, Duration::from_secs(v), "reported as soon as it finished");
                order.push(v);
                assert_eq!(stream.remaining(), 5 - order.len());
            }
            assert!(stream.next().await.is_none());
            order
        });
        assert_eq!(order, vec![1, 2, 3, 4, 5]);
    }

    fn dropping_as_completed_detaches_the_rest(rt: &Runtime) {
        let (counted_task, counts): (_, Counts) = counted(async {
            sleep(Duration::from_secs(10)).await;
            10u64
        });
        rt.block_on(async move {
            let slow = spawn(counted_task);
            let mut stream = as_completed([after_secs(1, Some(1)), slow]);
            assert_eq!(stream.next().await.unwrap().unwrap(), 1);
            drop(stream);
            sleep(Duration::from_secs(20)).await;
        });
        assert!(counts.completed(), "a task left in a dropped as_completed was cancelled");
    }
}
