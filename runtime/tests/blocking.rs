//! `spawn_blocking`: runs off the loop (which keeps running meanwhile), in parallel up to
//! `max_blocking_threads` and never beyond, inside the runtime's context; a queued job can
//! be cancelled and then never runs.

#[macro_use]
mod support;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use runtime::{settable, spawn, spawn_blocking, Builder, Handle, Runtime};
use support::{wait_until, DropCount, Flag, Gauge, Rendezvous};

rt_test! {
    fn runs_on_another_thread_and_returns_its_value(rt: &Runtime) {
        let (task_thread, job_thread, v) = rt.block_on(async {
            spawn(async {
                let here = thread::current().id();
                let (there, v) = spawn_blocking(|| (thread::current().id(), 6 * 7)).await.unwrap();
                (here, there, v)
            })
            .await
            .unwrap()
        });
        assert_ne!(task_thread, job_thread, "the blocking job ran on the loop's thread");
        assert_eq!(v, 42);
        // From outside the loop: no loop needs to run.
        assert_eq!(rt.spawn_blocking(|| "outside").join().unwrap(), "outside");
    }

    fn the_loop_keeps_running_while_a_job_blocks(rt: &Runtime) {
        let ok = rt.block_on(async {
            let (started_tx, started) = settable::<()>();
            let (tx, rx) = mpsc::channel::<&str>();
            // The job blocks until a task running on the loop answers it.
            let job = spawn_blocking(move || {
                started_tx.set(()).unwrap();
                rx.recv_timeout(support::WATCHDOG / 4)
            });
            started.await.unwrap();
            runtime::sleep(Duration::from_millis(1)).await;
            spawn(async move { tx.send("from the loop").unwrap() }).await.unwrap();
            job.await.unwrap()
        });
        assert_eq!(ok, Ok("from the loop"));
    }

    fn jobs_run_in_parallel(rt: &Runtime) {
        let all_met = rt.block_on(async {
            let meet = Rendezvous::new(4);
            let jobs: Vec<_> = (0..4)
                .map(|_| {
                    let m = meet.clone();
                    spawn_blocking(move || m.wait(Duration::from_secs(30)))
                })
                .collect();
            runtime::gather(jobs).await
        });
        assert!(all_met.into_iter().all(|r| r.unwrap()), "4 jobs did not run at the same time");
    }

    fn job_runs_inside_the_runtime_context(rt: &Runtime) {
        let mode = rt.mode();
        let v = rt.block_on(async move {
            let t = spawn_blocking(move || {
                let h = Handle::current().expect("a blocking job sees its runtime");
                assert_eq!(h.mode(), mode);
                // It can spawn onto the loop, and the task runs there.
                runtime::spawn(async { 5 })
            })
            .await
            .unwrap();
            t.await.unwrap()
        });
        assert_eq!(v, 5);
    }

    fn max_blocking_threads_is_never_exceeded(b: Builder) {
        let rt = b.max_blocking_threads(2).build().unwrap();
        let gauge = Gauge::new();
        let outs = rt.block_on(async {
            let jobs: Vec<_> = (0..8)
                .map(|i| {
                    let g = gauge.clone();
                    spawn_blocking(move || {
                        let _in = g.enter();
                        thread::sleep(Duration::from_millis(5));
                        i
                    })
                })
                .collect();
            runtime::gather(jobs).await
        });
        let outs: Vec<i32> = outs.into_iter().map(Result::unwrap).collect();
        assert_eq!(outs, (0..8).collect::<Vec<_>>());
        assert!(gauge.max() <= 2, "{} jobs ran at once with max_blocking_threads(2)", gauge.max());
        assert!(gauge.max() >= 1);
    }

    fn one_thread_runs_jobs_one_at_a_time(b: Builder) {
        let rt = b.max_blocking_threads(1).build().unwrap();
        let met = rt.block_on(async {
            let meet = Rendezvous::new(2);
            let (a, m) = (meet.clone(), meet);
            let first = spawn_blocking(move || a.wait(Duration::from_millis(100)));
            let second = spawn_blocking(move || m.wait(Duration::from_millis(100)));
            (first.await.unwrap(), second.await.unwrap())
        });
        // The first waits alone and times out; only then does the second run (its own
        // arrival completes the count, so it may see the rendezvous met).
        assert!(!met.0, "two jobs ran at once with max_blocking_threads(1)");
    }

    fn a_queued_job_can_be_cancelled(b: Builder) {
        let rt = b.max_blocking_threads(1).build().unwrap();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let started = Flag::new();
        let s = started.clone();
        let busy = rt.spawn_blocking(move || {
            s.set();
            release_rx.recv_timeout(support::WATCHDOG / 4).is_ok()
        });
        wait_until("the first job started", || started.get());
        let ran = Flag::new();
        let dropped = DropCount::new();
        let (r, guard) = (ran.clone(), dropped.guard());
        let queued = rt.spawn_blocking(move || {
            let _guard = guard;
            r.set()
        });
        assert!(queued.cancel());
        release_tx.send(()).unwrap();
        assert!(busy.join().unwrap());
        assert!(queued.join().unwrap_err().is_cancelled());
        assert!(!ran.get(), "a cancelled queued job ran");
        assert_eq!(dropped.get(), 1);
        // The pool still works.
        assert_eq!(rt.spawn_blocking(|| 1).join().unwrap(), 1);
    }

    fn cancelling_a_running_job_does_not_interrupt_it(rt: &Runtime) {
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let started = Flag::new();
        let finished = Flag::new();
        let (s, f) = (started.clone(), finished.clone());
        let job = rt.spawn_blocking(move || {
            s.set();
            let _ = release_rx.recv_timeout(support::WATCHDOG / 4);
            f.set();
            3
        });
        wait_until("the job started", || started.get());
        job.cancel();
        release_tx.send(()).unwrap();
        // A closure cannot be interrupted: it runs to its end, and the handle resolves.
        let _ = job.join();
        assert!(finished.get());
    }

    fn a_successful_cancel_of_a_running_job_gives_cancelled(rt: &Runtime) {
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let started = Flag::new();
        let s = started.clone();
        let job = rt.spawn_blocking(move || {
            s.set();
            let _ = release_rx.recv_timeout(support::WATCHDOG / 4);
            3
        });
        wait_until("the job started", || started.get());
        let accepted = job.cancel();
        release_tx.send(()).unwrap();
        let out = job.join();
        // Either the cancel is refused (the job can no longer be cancelled, as
        // concurrent.futures says of a running job), or it is honoured: asyncio's
        // run_in_executor future then raises CancelledError.
        if accepted {
            assert!(out.unwrap_err().is_cancelled(), "cancel() accepted, yet a value came back");
        } else {
            assert_eq!(out.unwrap(), 3);
        }
    }
}
