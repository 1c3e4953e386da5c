//! `JoinHandle`: blocking `join()` from a plain thread, from a fresh runtime (it drives
//! the loop) and from inside a task (an error, not a hang); `add_done_callback` (once,
//! with the outcome, also when added late); dropping a handle detaches its task.

#[macro_use]
mod support;

use std::future::pending;
use std::thread;
use std::time::Duration;

use runtime::{settable, sleep, spawn, yield_now, JoinError, Runtime, TaskState};
use support::{counted, yield_until, Log};

rt_test! {
    fn join_from_a_plain_thread_while_the_loop_runs_elsewhere(rt: &Runtime) {
        rt.block_on(async {
            let (go_setter, go) = settable::<u32>();
            let t = spawn(async move { go.await.unwrap() * 2 });
            let (out_setter, out) = settable();
            let joiner = thread::spawn(move || {
                let _ = out_setter.set(t.join());
            });
            // The loop keeps running here while the other thread blocks in join().
            for _ in 0..10 {
                yield_now().await;
            }
            go_setter.set(21).unwrap();
            let r: Result<u32, JoinError> = out.await.expect("the joiner reports");
            assert_eq!(r.unwrap(), 42);
            joiner.join().unwrap();
        });
    }

    fn join_of_a_failed_task_from_a_plain_thread(rt: &Runtime) {
        rt.block_on(async {
            let bad = spawn(async {
                yield_now().await;
                panic!("joined boom")
            });
            let (s, out) = settable();
            thread::spawn(move || {
                let _ = s.set(bad.join().map_err(|e| e.panic_message().map(String::from)));
            });
            let r: Result<(), Option<String>> = out.await.unwrap();
            assert_eq!(r.unwrap_err().as_deref(), Some("joined boom"));
        });
    }

    fn join_on_a_fresh_runtime_drives_the_loop(rt: &Runtime) {
        let t = rt.spawn(async {
            let inner = spawn(async {
                sleep(Duration::from_millis(2)).await;
                yield_now().await;
                20
            });
            inner.await.unwrap() + 1
        });
        assert_eq!(t.join().unwrap(), 21);
        // And again, with the loop idle in between.
        assert_eq!(rt.spawn(async { 5 }).join().unwrap(), 5);
    }

    fn join_inside_a_task_is_an_error_not_a_hang(rt: &Runtime) {
        rt.block_on(async {
            let (target, counts) = counted(pending::<u8>());
            let target = spawn(target);
            let target_ref = target.task_ref().unwrap();
            let inner = spawn(async move { target.join() });
            let err = inner.await.unwrap().unwrap_err();
            assert!(!err.is_cancelled() && !err.is_panic(), "{err}");
            assert!(err.to_string().contains("await"), "the error says what to do: {err}");
            // The target was only detached by the failed join.
            assert_eq!(counts.drops(), 0);
            assert_eq!(target_ref.state(), TaskState::Pending);
            target_ref.cancel();
        });
    }

    fn done_callback_runs_once_with_the_outcome(rt: &Runtime) {
        let seen = Log::new();
        rt.block_on(async {
            // The task cannot finish before the gate opens, so the callbacks are added to
            // a task that is still running, in every mode (a pool could otherwise finish
            // a task that only yields before the callbacks are added).
            let (open, gate) = settable::<()>();
            let t = spawn(async move {
                gate.await.unwrap();
                "value"
            });
            for tag in ["first", "second"] {
                let s = seen.clone();
                t.add_done_callback(move |out| s.push(format!("{tag}:{}", out.as_ref().unwrap())));
            }
            yield_now().await;
            assert!(seen.get().is_empty(), "callbacks wait for completion");
            open.set(()).unwrap();
            assert_eq!(t.await.unwrap(), "value");
        });
        // Once each, in the order they were added (asyncio's order).
        assert_eq!(seen.get(), vec!["first:value", "second:value"]);
    }

    fn done_callback_added_after_completion_runs_now(rt: &Runtime) {
        rt.block_on(async {
            let t = spawn(async { 3 });
            yield_until("finished", || t.is_finished()).await;
            let seen = Log::new();
            let s = seen.clone();
            let here = thread::current().id();
            t.add_done_callback(move |out| {
                s.push((*out.as_ref().unwrap(), thread::current().id()))
            });
            assert_eq!(seen.get(), vec![(3, here)], "ran at once, on the adding thread");
            // The outcome is still there for the awaiter.
            assert_eq!(t.await.unwrap(), 3);
            assert_eq!(seen.len(), 1);
        });
    }

    fn done_callback_sees_panics_and_cancellations(rt: &Runtime) {
        let seen = Log::new();
        rt.block_on(async {
            let bad = spawn(async { panic!("cb panic") });
            let s = seen.clone();
            bad.add_done_callback(move |out| {
                s.push(out.as_ref().unwrap_err().panic_message().unwrap_or("?").to_string())
            });
            let stuck = spawn(pending::<()>());
            let s = seen.clone();
            stuck.add_done_callback(move |out| {
                s.push(format!("cancelled={}", out.as_ref().unwrap_err().is_cancelled()))
            });
            assert!(bad.await.is_err());
            stuck.cancel();
            assert!(stuck.await.is_err());
        });
        assert_eq!(seen.get(), vec!["cb panic", "cancelled=true"]);
    }

    fn dropping_the_handle_detaches_the_task(rt: &Runtime) {
        let (setter, done) = settable();
        let (fut, counts) = counted(async move {
            sleep(Duration::from_millis(1)).await;
            yield_now().await;
            setter.set("finished anyway").unwrap();
        });
        rt.block_on(async move {
            let t = spawn(fut);
            drop(t);
            assert_eq!(done.await, Ok("finished anyway"));
        });
        support::wait_until("the detached future dropped", || counts.drops() >= 1);
        assert!(counts.completed());
        assert_eq!(counts.drops(), 1);
    }

    fn handle_reports_finished_and_state(rt: &Runtime) {
        rt.block_on(async {
            let (go_setter, go) = settable::<()>();
            let t = spawn(async move { go.await.unwrap() });
            assert!(!t.is_finished());
            yield_until("suspended", || t.state() == TaskState::Pending).await;
            assert!(!t.is_finished());
            go_setter.set(()).unwrap();
            yield_until("finished", || t.is_finished()).await;
            assert_eq!(t.state(), TaskState::Done);
            assert!(t.task_ref().is_none(), "no TaskRef for a finished task");
            t.await.unwrap();
        });
    }
}

rt_test_loop! {
    fn join_inside_block_on_is_an_error_not_a_hang(rt: &Runtime) {
        rt.block_on(async {
            let t = spawn(pending::<()>());
            let err = t.join().unwrap_err();
            assert!(!err.is_cancelled() && !err.is_panic(), "{err}");
        });
    }
}
