//! Time. With `Clock::Virtual`: sleeps of hours finish at once with the exact virtual
//! elapsed time, `runtime::now()` inside tasks is `rt.time()`, `timeout`/`wait_timeout`
//! expire exactly, the clock stands still while anything can run, and it does not jump
//! while `spawn_blocking` work is in flight. With the real clock: sleeps never return
//! early.

#[macro_use]
mod support;

use std::time::{Duration, Instant};

use runtime::{
    gather, now, sleep, sleep_until, spawn, spawn_blocking, timeout, timeout_at, wait_timeout,
    yield_now, Elapsed, Handle, ReturnWhen, Runtime,
};
use support::{Flag, Log};

const HOUR: Duration = Duration::from_secs(3600);

rt_test_virtual! {
    fn hours_of_sleep_take_exactly_that_virtual_time(rt: &Runtime) {
        let t0 = rt.time();
        rt.block_on(sleep(3 * HOUR));
        assert_eq!(rt.time() - t0, 3 * HOUR);
        rt.block_on(sleep(Duration::from_nanos(1500)));
        assert_eq!(rt.time() - t0, 3 * HOUR + Duration::from_nanos(1500));
    }

    fn concurrent_sleepers_wake_at_their_own_deadlines(rt: &Runtime) {
        let t0 = rt.time();
        let woke = rt.block_on(gather([5u32, 1, 3, 2].map(|h| async move {
            sleep(HOUR * h).await;
            now() - t0
        })));
        assert_eq!(woke, [5u32, 1, 3, 2].map(|h| HOUR * h));
        assert_eq!(rt.time() - t0, 5 * HOUR, "sleeps overlap: the total is the longest");
    }

    fn now_inside_tasks_is_the_runtime_time(rt: &Runtime) {
        let t0 = rt.time();
        let seen = Log::new();
        let s = seen.clone();
        rt.block_on(async move {
            assert_eq!(now(), t0);
            let h = Handle::current().unwrap();
            let s2 = s.clone();
            let t = spawn(async move {
                sleep(Duration::from_secs(90)).await;
                s2.push(now());
                assert_eq!(now(), Handle::current().unwrap().time());
            });
            t.await.unwrap();
            s.push(h.time());
            sleep_until(t0 + Duration::from_secs(100)).await;
            s.push(now());
        });
        let s = Duration::from_secs;
        assert_eq!(seen.get(), [t0 + s(90), t0 + s(90), t0 + s(100)]);
        assert_eq!(rt.time(), t0 + s(100));
    }

    fn clock_stands_still_while_tasks_can_run(rt: &Runtime) {
        let t0 = rt.time();
        let seen = rt.block_on(async {
            let busy = spawn(async {
                let mut seen = Vec::new();
                for _ in 0..100 {
                    seen.push(now());
                    yield_now().await;
                }
                seen
            });
            // A timer is pending the whole time: time must not jump to it while `busy`
            // is ready to run.
            let _sleeper = spawn(sleep(Duration::from_secs(1)));
            busy.await.unwrap()
        });
        assert!(seen.iter().all(|t| *t == t0), "virtual time moved while a task was ready");
    }

    fn sleep_zero_and_past_deadlines_do_not_move_time(rt: &Runtime) {
        let t0 = rt.time();
        rt.block_on(async move {
            sleep(Duration::ZERO).await;
            sleep_until(t0).await;
            sleep_until(t0 - Duration::from_secs(1)).await;
        });
        assert_eq!(rt.time(), t0);
    }

    fn timeout_expires_exactly(rt: &Runtime) {
        let t0 = rt.time();
        let r = rt.block_on(timeout(Duration::from_secs(2), sleep(Duration::from_secs(5))));
        assert_eq!(r, Err(Elapsed(())));
        assert_eq!(rt.time() - t0, Duration::from_secs(2));
        let r = rt.block_on(timeout(Duration::from_secs(5), async {
            sleep(Duration::from_secs(2)).await;
            "in time"
        }));
        assert_eq!(r, Ok("in time"));
        assert_eq!(rt.time() - t0, Duration::from_secs(4));
        let at = rt.time() + Duration::from_secs(7);
        assert!(rt.block_on(timeout_at(at, std::future::pending::<()>())).is_err());
        assert_eq!(rt.time(), at);
    }

    fn timeout_and_inner_due_at_the_same_instant(rt: &Runtime) {
        // Both ready in the same iteration: the inner future is polled first and wins
        // (asyncio's wait_for returns the result if the future finished).
        let t0 = rt.time();
        let r = rt.block_on(timeout(Duration::from_secs(3), async {
            sleep(Duration::from_secs(3)).await;
            1
        }));
        assert_eq!(r, Ok(1));
        assert_eq!(rt.time() - t0, Duration::from_secs(3));
    }

    fn wait_timeout_expires_exactly_and_cancels_nothing(rt: &Runtime) {
        let t0 = rt.time();
        rt.block_on(async move {
            let quick = spawn(async {
                sleep(Duration::from_secs(1)).await;
                1
            });
            let slow = spawn(async {
                sleep(Duration::from_secs(10)).await;
                10
            });
            let (done, pending) =
                wait_timeout([quick, slow], ReturnWhen::AllCompleted, Duration::from_secs(3)).await;
            assert_eq!(now() - t0, Duration::from_secs(3));
            assert_eq!((done.len(), pending.len()), (1, 1));
            for t in done {
                assert_eq!(t.await.unwrap(), 1);
            }
            for t in pending {
                assert!(!t.is_finished());
                assert_eq!(t.await.unwrap(), 10, "wait_timeout must not cancel pending tasks");
            }
            assert_eq!(now() - t0, Duration::from_secs(10));
        });
    }

    fn blocking_job_does_not_let_virtual_time_run(rt: &Runtime) {
        // While a blocking job runs (about 50 ms of real time), virtual time stands still
        // even though a task's 1 s sleep is the only timer: the job may still wake someone.
        let t0 = rt.time();
        let sleeper_done = Flag::new();
        let flag = sleeper_done.clone();
        rt.block_on(async move {
            let f = flag.clone();
            let sleeper = spawn(async move {
                sleep(Duration::from_secs(1)).await;
                f.set();
            });
            let (start, end, sleeper_done_meanwhile) = spawn_blocking(move || {
                let start = now();
                std::thread::sleep(Duration::from_millis(50));
                (start, now(), flag.get())
            })
            .await
            .unwrap();
            assert_eq!(start, t0, "the blocking job reads the runtime's virtual clock");
            assert_eq!(end, t0, "virtual time moved while a blocking job was running");
            assert!(!sleeper_done_meanwhile, "a sleep ended while a blocking job was running");
            sleeper.await.unwrap();
        });
        assert!(sleeper_done.get());
        assert_eq!(rt.time() - t0, Duration::from_secs(1));
    }

    fn blocking_result_is_observed_before_virtual_time_jumps(b: runtime::Builder) {
        for run in 0..300 {
            let rt = b.clone().build().unwrap();
            let log = Log::new();
            let l = log.clone();
            rt.block_on(async move {
                let l2 = l.clone();
                let sleeper = spawn(async move {
                    sleep(Duration::from_secs(1)).await;
                    l2.push("sleep ended");
                });
                spawn_blocking(|| std::thread::sleep(Duration::from_millis(1))).await.unwrap();
                l.push("blocking result");
                sleeper.await.unwrap();
            });
            assert_eq!(log.get(), ["blocking result", "sleep ended"], "run {run}");
        }
    }
}

rt_test! {
    fn real_sleep_never_returns_early(rt: &Runtime) {
        let d = Duration::from_millis(30);
        let (t0, i0) = (rt.time(), Instant::now());
        rt.block_on(sleep(d));
        assert!(rt.time() - t0 >= d);
        assert!(i0.elapsed() >= d);
        // Concurrent sleepers each wait at least their own duration.
        let t0 = rt.time();
        let woke = rt.block_on(gather([20u64, 5, 10].map(|ms| async move {
            sleep(Duration::from_millis(ms)).await;
            (ms, now() - t0)
        })));
        for (ms, waited) in woke {
            assert!(waited >= Duration::from_millis(ms), "{ms} ms sleep woke after {waited:?}");
        }
    }

    fn real_timeout_expires_and_drops_the_inner_future(rt: &Runtime) {
        let (inner, counts) = support::counted(std::future::pending::<()>());
        let t0 = rt.time();
        let r = rt.block_on(timeout(Duration::from_millis(10), inner));
        assert!(r.is_err());
        assert!(rt.time() - t0 >= Duration::from_millis(10));
        assert_eq!(counts.drops(), 1);
    }

    fn a_sleep_due_before_its_first_poll_completes(rt: &Runtime) {
        // The deadline is read at `sleep()`; the first poll registers without reading
        // the clock again, so a deadline that passed in between must still fire.
        let (t0, i0) = (rt.time(), Instant::now());
        rt.block_on(async {
            let late = sleep(Duration::from_millis(2));
            std::thread::sleep(Duration::from_millis(5));
            late.await;
            let tasks: Vec<_> = (0..64)
                .map(|_| {
                    let s = sleep(Duration::from_millis(1));
                    std::thread::sleep(Duration::from_micros(50));
                    spawn(s)
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        assert!(rt.time() - t0 >= Duration::from_millis(5));
        assert!(i0.elapsed() < Duration::from_secs(30), "a past-due sleep hung");
    }

    fn runtime_time_is_monotonic(rt: &Runtime) {
        let a = rt.time();
        let b = rt.block_on(async { now() });
        let c = rt.time();
        assert!(a <= b && b <= c);
    }
}
