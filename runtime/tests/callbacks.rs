//! Loop callbacks and `stop()`, as asyncio defines them: `call_soon` is FIFO and
//! interleaves FIFO with ready tasks; `stop()` lets the callbacks queued for the current
//! iteration run but not those queued during it, and fires no timer that is not due;
//! `stop()` before `run_forever` runs one iteration; `call_later` runs by deadline, FIFO
//! among equal deadlines; `call_at`; cancelling a `CallbackHandle`; `stop` and
//! `call_soon` from another thread.

#[macro_use]
mod support;

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use runtime::{Handle, Runtime};
use support::Log;

/// Queues `stop()` on `rt`'s loop.
fn queue_stop(rt: &Runtime) {
    let h = rt.handle();
    rt.call_soon(move || h.stop());
}

rt_test! {
    fn stop_from_another_thread_wakes_a_parked_loop(rt: &Runtime) {
        let h = rt.handle();
        let stopper = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            h.stop();
        });
        rt.run_forever(); // parks with nothing to do until the stop arrives
        stopper.join().unwrap();
    }

    fn call_soon_from_another_thread_wakes_a_parked_loop(rt: &Runtime) {
        let log = Log::new();
        let h = rt.handle();
        let l = log.clone();
        let other = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            let h2 = h.clone();
            h.call_soon(move || {
                l.push("from another thread");
                h2.stop();
            });
        });
        rt.run_forever();
        other.join().unwrap();
        assert_eq!(log.get(), vec!["from another thread"]);
    }

    fn stop_from_a_task(rt: &Runtime) {
        let log = Log::new();
        let l = log.clone();
        rt.spawn(async move {
            runtime::yield_now().await;
            l.push("stopping");
            Handle::current().unwrap().stop();
        });
        rt.run_forever();
        assert_eq!(log.get(), vec!["stopping"]);
    }

    fn cancelled_callback_never_runs(rt: &Runtime) {
        let log = Log::new();
        let l = log.clone();
        let soon = rt.call_soon(move || l.push("soon"));
        let l = log.clone();
        let later = rt.call_later(Duration::from_millis(1), move || l.push("later"));
        assert!(!soon.is_cancelled());
        // In a loop mode nothing runs before `run_forever`, so the cancel always wins; in a
        // pool the callback may already have run, and then `cancel` says so.
        let soon_cancelled = soon.cancel();
        let pool = matches!(rt.mode(), runtime::Mode::Threads | runtime::Mode::Gil);
        assert!(soon_cancelled || pool);
        assert!(!soon.cancel(), "the second cancel returns false");
        assert!(soon.is_cancelled());
        assert!(later.cancel());
        let h = rt.handle();
        rt.call_later(Duration::from_millis(5), move || h.stop());
        rt.run_forever();
        let expected: Vec<&str> = if soon_cancelled { vec![] } else { vec!["soon"] };
        assert_eq!(log.get(), expected, "a cancelled callback ran");
        // Cancelling after a callback ran returns false. The callback stops the loop
        // itself: in a pool a separately queued stop may run first, on another worker.
        let (l, h) = (log.clone(), rt.handle());
        let ran = rt.call_soon(move || {
            l.push("ran");
            h.stop();
        });
        rt.run_forever();
        let mut expected = expected;
        expected.push("ran");
        assert_eq!(log.get(), expected);
        assert!(!ran.cancel());
    }

    fn run_forever_again_after_stop(rt: &Runtime) {
        let log = Log::new();
        for round in 0..3 {
            let (l, h) = (log.clone(), rt.handle());
            rt.call_soon(move || {
                l.push(round);
                h.stop();
            });
            rt.run_forever();
        }
        assert_eq!(log.get(), vec![0, 1, 2]);
        // block_on still works after run_forever.
        assert_eq!(rt.block_on(async { runtime::spawn(async { 4 }).await.unwrap() }), 4);
    }
}

rt_test_loop! {
    fn call_soon_runs_in_fifo_order(rt: &Runtime) {
        let log = Log::new();
        for i in 0..100 {
            let l = log.clone();
            rt.call_soon(move || l.push(i));
        }
        queue_stop(rt);
        rt.run_forever();
        assert_eq!(log.get(), (0..100).collect::<Vec<_>>());
    }

    fn callbacks_and_tasks_interleave_fifo(rt: &Runtime) {
        let log = Log::new();
        // Queued from outside the loop...
        let l = log.clone();
        rt.spawn(async move { l.push("task A") });
        let l = log.clone();
        rt.call_soon(move || l.push("callback 1"));
        let l = log.clone();
        rt.spawn(async move { l.push("task B") });
        let l = log.clone();
        rt.call_soon(move || l.push("callback 2"));
        queue_stop(rt);
        rt.run_forever();
        assert_eq!(log.get(), vec!["task A", "callback 1", "task B", "callback 2"]);

        // ...and from inside it (a callback queuing both kinds).
        let log = Log::new();
        let l = log.clone();
        let h = rt.handle();
        rt.call_soon(move || {
            for i in 0..3 {
                let l2 = l.clone();
                h.spawn(async move { l2.push(format!("task {i}")) });
                let l2 = l.clone();
                h.call_soon(move || l2.push(format!("callback {i}")));
            }
            let h2 = h.clone();
            h.call_soon(move || h2.stop());
        });
        rt.run_forever();
        assert_eq!(
            log.get(),
            ["task 0", "callback 0", "task 1", "callback 1", "task 2", "callback 2"]
        );
    }

    fn woken_task_goes_behind_queued_callbacks(rt: &Runtime) {
        let log = Log::new();
        let l = log.clone();
        let h = rt.handle();
        rt.spawn(async move {
            l.push("task: before yield");
            let l2 = l.clone();
            h.call_soon(move || l2.push("callback queued by the task"));
            runtime::yield_now().await;
            l.push("task: after yield");
            let h2 = h.clone();
            h.call_soon(move || h2.stop());
        });
        rt.run_forever();
        assert_eq!(
            log.get(),
            ["task: before yield", "callback queued by the task", "task: after yield"]
        );
    }

    fn stop_runs_the_current_batch_only(rt: &Runtime) {
        // asyncio: "If stop() is called while run_forever() is running, this will run the
        // current batch of callbacks and then exit. Note that new callbacks scheduled by
        // callbacks will not run in this case; instead, they will run the next time
        // run_forever() or run_until_complete() is called."
        let log = Log::new();
        let l = log.clone();
        let h = rt.handle();
        rt.call_soon(move || {
            l.push(1);
            let l2 = l.clone();
            h.call_soon(move || l2.push(3));
        });
        queue_stop(rt);
        let l = log.clone();
        rt.call_soon(move || l.push(2));
        rt.run_forever();
        assert_eq!(log.get(), vec![1, 2], "the callback queued during the batch ran early");
        // It runs at the next run.
        rt.handle().stop();
        rt.run_forever();
        assert_eq!(log.get(), vec![1, 2, 3]);
    }

    fn stop_does_not_fire_timers_not_yet_due(rt: &Runtime) {
        let log = Log::new();
        let l = log.clone();
        let timer = rt.call_later(Duration::from_secs(3600), move || l.push("timer"));
        let l = log.clone();
        rt.call_soon(move || l.push("soon"));
        queue_stop(rt);
        let t0 = rt.time();
        rt.run_forever();
        assert_eq!(log.get(), vec!["soon"]);
        assert!(rt.time() - t0 < Duration::from_secs(3600));
        assert!(timer.cancel(), "the timer is still pending");
    }

    fn stop_before_run_forever_runs_one_iteration(rt: &Runtime) {
        // asyncio: "If stop() is called before run_forever() is called, the loop will poll
        // the I/O selector once with a timeout of zero, run all callbacks scheduled in
        // response to I/O events (and those that were already scheduled), and then exit."
        let log = Log::new();
        rt.handle().stop();
        let l = log.clone();
        let h = rt.handle();
        rt.call_soon(move || {
            l.push("queued before");
            let l2 = l.clone();
            h.call_soon(move || l2.push("queued during"));
        });
        let l = log.clone();
        rt.spawn(async move {
            l.push("task first poll");
            runtime::yield_now().await;
            l.push("task second poll");
        });
        let l = log.clone();
        rt.call_later(Duration::ZERO, move || l.push("due timer"));
        rt.run_forever();
        assert_eq!(log.get(), ["queued before", "task first poll", "due timer"]);
        rt.handle().stop();
        rt.run_forever();
        assert_eq!(
            log.get(),
            ["queued before", "task first poll", "due timer", "queued during", "task second poll"]
        );
    }

    fn callback_cancelled_by_an_earlier_one_in_the_same_batch(rt: &Runtime) {
        let log = Log::new();
        let victim = Arc::new(Mutex::new(None::<runtime::CallbackHandle>));
        let (l, v) = (log.clone(), victim.clone());
        rt.call_soon(move || {
            l.push("first");
            assert!(v.lock().unwrap().take().unwrap().cancel());
        });
        let l = log.clone();
        *victim.lock().unwrap() = Some(rt.call_soon(move || l.push("second")));
        queue_stop(rt);
        rt.run_forever();
        assert_eq!(log.get(), vec!["first"]);
    }

    fn call_at_with_equal_deadlines_is_fifo(rt: &Runtime) {
        let log = Log::new();
        let t0 = rt.time();
        let later = t0 + Duration::from_millis(6);
        let sooner = t0 + Duration::from_millis(2);
        let plan = [(later, "later 1"), (sooner, "sooner"), (later, "later 2"), (later, "later 3")];
        for (when, tag) in plan {
            let l = log.clone();
            let cb = rt.call_at(when, move || l.push(tag));
            assert_eq!(cb.when(), Some(when));
        }
        let h = rt.handle();
        rt.call_at(later, move || h.stop());
        rt.run_forever();
        assert_eq!(log.get(), ["sooner", "later 1", "later 2", "later 3"]);
        assert!(rt.time() >= later, "a timer fired early");
    }
}

rt_test_virtual! {
    fn call_later_runs_by_deadline_then_fifo_exactly_on_time(rt: &Runtime) {
        let log = Log::new();
        let t0 = rt.time();
        for (secs, tag) in [(3, "c"), (1, "a"), (2, "b1"), (2, "b2"), (3, "d")] {
            let l = log.clone();
            let h = rt.handle();
            rt.call_later(Duration::from_secs(secs), move || l.push((tag, h.time() - t0)));
        }
        let h = rt.handle();
        rt.call_later(Duration::from_secs(3), move || h.stop());
        rt.run_forever();
        let s = Duration::from_secs;
        assert_eq!(log.get(), [("a", s(1)), ("b1", s(2)), ("b2", s(2)), ("c", s(3)), ("d", s(3))]);
        assert_eq!(rt.time() - t0, s(3));
    }

    fn call_at_fires_at_exactly_its_time(rt: &Runtime) {
        let when = rt.time() + Duration::from_millis(2500);
        let log = Log::new();
        let l = log.clone();
        let h = rt.handle();
        let cb = rt.call_at(when, move || {
            l.push(h.time());
            h.stop();
        });
        assert_eq!(cb.when(), Some(when));
        rt.run_forever();
        assert_eq!(log.get(), vec![when]);
        assert_eq!(rt.time(), when);
    }

    fn cancelled_timer_does_not_move_virtual_time(rt: &Runtime) {
        let t0 = rt.time();
        let log = Log::new();
        let l = log.clone();
        let early = rt.call_later(Duration::from_secs(1), move || l.push("cancelled"));
        assert!(early.cancel());
        let h = rt.handle();
        rt.call_later(Duration::from_secs(5), move || h.stop());
        rt.run_forever();
        assert!(log.get().is_empty());
        assert_eq!(rt.time() - t0, Duration::from_secs(5));
    }

    fn stop_does_not_advance_virtual_time(rt: &Runtime) {
        let t0 = rt.time();
        let log = Log::new();
        let l = log.clone();
        rt.call_later(Duration::from_secs(60), move || l.push("timer"));
        queue_stop(rt);
        rt.run_forever();
        assert!(log.get().is_empty(), "a timer not yet due fired");
        assert_eq!(rt.time(), t0, "virtual time moved although the loop was stopping");
    }

    fn call_later_from_another_thread_wakes_a_parked_virtual_loop(rt: &Runtime) {
        let t0 = rt.time();
        let h = rt.handle();
        let other = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            let h2 = h.clone();
            h.call_later(Duration::from_secs(7), move || h2.stop());
        });
        rt.run_forever();
        other.join().unwrap();
        assert_eq!(rt.time() - t0, Duration::from_secs(7));
    }
}
