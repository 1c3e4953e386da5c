//! Panic isolation: a panicking task fails alone (its `JoinError` carries the message),
//! and neither a panicking done-callback, loop callback, destructor nor blocking job takes
//! the loop down.

#[macro_use]
mod support;

use std::future::pending;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use runtime::{spawn, spawn_blocking, yield_now, Runtime};
use support::{counted, yield_until, Log};

/// Panics when dropped.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("destructor boom");
    }
}

rt_test! {
    fn panicking_task_fails_alone(rt: &Runtime) {
        rt.block_on(async {
            let before = spawn(async {
                yield_now().await;
                1
            });
            let bad = spawn(async {
                yield_now().await;
                let n = 42;
                panic!("boom {n}");
            });
            let after = spawn(async {
                yield_now().await;
                yield_now().await;
                3
            });
            let err = bad.await.unwrap_err();
            assert!(err.is_panic());
            assert!(!err.is_cancelled());
            assert_eq!(err.panic_message(), Some("boom 42"));
            assert!(err.to_string().contains("boom 42"), "Display: {err}");
            assert!(err.to_string().contains("panicked"), "Display: {err}");
            // The siblings and this (main) future carry on.
            assert_eq!(before.await.unwrap(), 1);
            assert_eq!(after.await.unwrap(), 3);
            assert_eq!(spawn(async { 4 }).await.unwrap(), 4);
        });
        // The loop itself is fine afterwards.
        assert_eq!(rt.block_on(async { spawn(async { 5 }).await.unwrap() }), 5);
    }

    fn panic_payload_can_be_taken_once(rt: &Runtime) {
        let err = rt.block_on(rt.spawn(async { std::panic::panic_any(5u32) })).unwrap_err();
        assert!(err.is_panic());
        assert!(err.panic_message().is_some(), "a non-string payload still has a message");
        let payload = err.take_panic().expect("the payload");
        assert_eq!(payload.downcast_ref::<u32>(), Some(&5));
        assert!(err.take_panic().is_none(), "the payload is taken once");
        assert!(err.is_panic(), "still a panic after the payload was taken");
    }

    fn awaiting_a_panicked_task_does_not_panic_the_waiter(rt: &Runtime) {
        let v = rt.block_on(async {
            let bad = spawn(async { panic!("inner") });
            let waiter = spawn(async move { bad.await.map_err(|e| e.to_string()) });
            waiter.await.unwrap()
        });
        assert!(v.unwrap_err().contains("inner"));
    }

    fn panicking_done_callback_does_not_stop_others(rt: &Runtime) {
        let seen = Log::new();
        rt.block_on(async {
            let t = spawn(async {
                yield_now().await;
                10
            });
            t.add_done_callback(|_| panic!("callback boom"));
            let s = seen.clone();
            t.add_done_callback(move |out| s.push(*out.as_ref().unwrap()));
            assert_eq!(t.await.unwrap(), 10, "a panicking callback leaves the outcome alone");
            // Added after completion: runs at once, and panicking there is contained too.
            let done = spawn(async { 11 });
            yield_until("finished", || done.is_finished()).await;
            done.add_done_callback(|_| panic!("late callback boom"));
            let s = seen.clone();
            done.add_done_callback(move |out| s.push(*out.as_ref().unwrap()));
            assert_eq!(done.await.unwrap(), 11);
            assert_eq!(spawn(async { 12 }).await.unwrap(), 12);
        });
        assert_eq!(seen.get(), vec![10, 11]);
    }

    fn panicking_loop_callbacks_are_contained(rt: &Runtime) {
        let (setter, ran) = runtime::settable();
        rt.call_soon(|| panic!("call_soon boom"));
        rt.call_later(Duration::from_millis(1), || panic!("call_later boom"));
        rt.call_later(Duration::from_millis(2), move || setter.set("ran").unwrap());
        assert_eq!(rt.block_on(ran), Ok("ran"), "the loop went on after panicking callbacks");
        assert_eq!(rt.block_on(async { spawn(async { 1 }).await.unwrap() }), 1);
    }

    fn panicking_destructor_of_a_cancelled_task_is_reported_as_its_panic(rt: &Runtime) {
        rt.block_on(async {
            let (fut, counts) = counted(async {
                let _bomb = PanicOnDrop;
                pending::<()>().await
            });
            let t = spawn(fut);
            yield_until("suspended", || counts.polls() == 1).await;
            t.cancel();
            // As tokio reports it: the cancellation ran the destructor, which panicked, so
            // the task's outcome is that panic, not a quiet cancellation.
            let err = t.await.unwrap_err();
            assert!(err.is_panic(), "a panic, not a cancellation: {err}");
            assert!(!err.is_cancelled());
            assert_eq!(err.panic_message(), Some("destructor boom"));
            assert_eq!(counts.drops(), 1);
            assert_eq!(spawn(async { 2 }).await.unwrap(), 2);
        });
    }

    fn panicking_destructor_after_the_last_poll_fails_the_task(rt: &Runtime) {
        /// Ready at once, and panics when dropped afterwards.
        struct ReadyThenBoom(#[allow(dead_code)] PanicOnDrop);
        impl std::future::Future for ReadyThenBoom {
            type Output = u8;
            fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<u8> {
                std::task::Poll::Ready(7)
            }
        }
        rt.block_on(async {
            let err = spawn(ReadyThenBoom(PanicOnDrop)).await.unwrap_err();
            assert_eq!(err.panic_message(), Some("destructor boom"));
            assert_eq!(spawn(async { 2 }).await.unwrap(), 2);
        });
    }

    fn panicking_destructor_at_shutdown_is_contained(b: runtime::Builder) {
        let rt = b.build().unwrap();
        let (fut, counts) = counted(async {
            let _bomb = PanicOnDrop;
            pending::<()>().await
        });
        let t = rt.spawn(fut);
        rt.block_on(async { yield_until("suspended", || counts.polls() == 1).await });
        support::drop_runtime(rt);
        assert_eq!(counts.drops(), 1);
        // The shutdown cancelled it, and its destructor panicked: reported as a panic.
        assert_eq!(t.join().unwrap_err().panic_message(), Some("destructor boom"));
    }

    fn panicking_blocking_job_fails_alone(rt: &Runtime) {
        rt.block_on(async {
            let bad = spawn_blocking(|| -> u8 { panic!("blocking boom") });
            let good = spawn_blocking(|| 9u8);
            let err = bad.await.unwrap_err();
            assert_eq!(err.panic_message(), Some("blocking boom"));
            assert_eq!(good.await.unwrap(), 9);
            // The pool still serves jobs after a panic.
            assert_eq!(spawn_blocking(|| 10u8).await.unwrap(), 10);
        });
    }

    fn panic_in_a_task_spawned_from_a_callback(rt: &Runtime) {
        let (setter, got) = runtime::settable();
        let h = rt.handle();
        rt.call_soon(move || {
            let t = h.spawn(async { panic!("from callback") });
            h.spawn(async move {
                let _ = setter.set(t.await.unwrap_err().panic_message().map(String::from));
            });
        });
        assert_eq!(rt.block_on(got).unwrap().as_deref(), Some("from callback"));
    }

    fn panic_in_block_on_leaves_runtime_usable(b: runtime::Builder) {
        let rt = b.build().unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| rt.block_on(async { panic!("main boom") })));
        assert!(r.is_err(), "the panic of the main future reaches the caller");
        // asyncio: run_until_complete raises, and the loop can be used (and closed) again.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let v = rt.block_on(async { spawn(async { 5 }).await.unwrap() });
            drop(rt);
            let _ = tx.send(v);
        });
        let out = rx.recv_timeout(Duration::from_secs(10));
        assert_eq!(out, Ok(5), "block_on (or drop) after a panic in block_on hung");
    }
}
