//! `settable()`: a value set from another thread wakes the awaiting task; a dropped
//! setter is an error, not a hang; `cancel` refuses a later `set`.

#[macro_use]
mod support;

use std::thread;
use std::time::Duration;

use runtime::{settable, spawn, Runtime, SettableError};

rt_test! {
    fn set_from_another_thread_wakes_the_task(rt: &Runtime) {
        let v = rt.block_on(async {
            let (setter, fut) = settable::<u32>();
            let t = spawn(fut);
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(10));
                setter.set(7).unwrap();
            });
            t.await.unwrap()
        });
        assert_eq!(v, Ok(7));
    }

    fn set_before_await_is_ready_at_once(rt: &Runtime) {
        let (setter, fut) = settable();
        assert!(!fut.is_done());
        setter.set("early").unwrap();
        assert!(fut.is_done());
        assert_eq!(rt.block_on(fut), Ok("early"));
    }

    fn dropped_setter_is_an_error_not_a_hang(rt: &Runtime) {
        let (setter, fut) = settable::<u8>();
        let other = thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            drop(setter);
        });
        assert_eq!(rt.block_on(fut), Err(SettableError::Dropped));
        other.join().unwrap();
        // Dropped inside the runtime, by a task.
        let (setter, fut) = settable::<u8>();
        let r = rt.block_on(async move {
            spawn(async move { drop(setter) });
            fut.await
        });
        assert_eq!(r, Err(SettableError::Dropped));
        assert!(SettableError::Dropped.to_string().contains("dropped"));
    }

    fn cancel_refuses_a_later_set(rt: &Runtime) {
        let (setter, fut) = settable::<String>();
        assert!(!setter.is_cancelled());
        fut.cancel();
        assert!(setter.is_cancelled());
        assert!(fut.is_done());
        assert_eq!(setter.set("late".into()), Err("late".to_string()), "the value comes back");
        assert_eq!(rt.block_on(fut), Err(SettableError::Cancelled));
    }

    fn cancel_after_set_keeps_the_value(rt: &Runtime) {
        let (setter, fut) = settable();
        setter.set(5).unwrap();
        fut.cancel();
        assert_eq!(rt.block_on(fut), Ok(5));
    }

    fn setter_in_one_task_waiter_in_another(rt: &Runtime) {
        let out = rt.block_on(async {
            let (setter, fut) = settable::<Vec<u8>>();
            let waiter = spawn(fut);
            let producer = spawn(async move {
                runtime::yield_now().await;
                setter.set(vec![1, 2, 3])
            });
            producer.await.unwrap().unwrap();
            waiter.await.unwrap()
        });
        assert_eq!(out, Ok(vec![1, 2, 3]));
    }

    fn many_settables_set_from_many_threads(rt: &Runtime) {
        let (setters, futs): (Vec<_>, Vec<_>) = (0..50).map(|_| settable::<usize>()).unzip();
        let threads: Vec<_> = setters
            .into_iter()
            .enumerate()
            .map(|(i, s)| thread::spawn(move || s.set(i).unwrap()))
            .collect();
        let out = rt.block_on(runtime::gather(futs));
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(out, (0..50).map(Ok).collect::<Vec<_>>());
    }
}
