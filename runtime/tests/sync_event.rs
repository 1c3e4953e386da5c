//! `sync::Event`: `set` wakes every waiter, `wait` after `set` returns at once, `clear`
//! makes later waits wait, and a waiter woken by a `set` returns even after a `clear`.

#[macro_use]
mod support;

use std::sync::Arc;

use runtime::sync::Event;
use runtime::{spawn, Runtime};
use support::{counted, parked, yield_until};

rt_test! {
    fn set_wakes_every_waiter(rt: &Runtime) {
        let ev = Arc::new(Event::new());
        rt.block_on(async {
            let mut tasks = Vec::new();
            let mut counts = Vec::new();
            for _ in 0..5 {
                let e = ev.clone();
                let (fut, c) = counted(async move { e.wait().await });
                tasks.push(spawn(fut));
                counts.push(c);
            }
            yield_until("all waiting", || counts.iter().all(|c| c.polls() >= 1)).await;
            assert!(counts.iter().all(|c| !c.completed()));
            ev.set();
            for t in tasks {
                t.await.unwrap();
            }
            ev.wait().await; // set: at once
        });
    }

    fn a_set_then_clear_still_releases_earlier_waiters(rt: &Runtime) {
        let ev = Arc::new(Event::new());
        rt.block_on(async {
            let e = ev.clone();
            let (fut, c) = counted(async move { e.wait().await });
            let t = spawn(fut);
            parked("waiting", &t, &c).await;
            ev.set();
            ev.clear();
            assert!(!ev.is_set());
            t.await.unwrap(); // asyncio: its future was resolved by the set
            let e = ev.clone();
            let (fut, c) = counted(async move { e.wait().await });
            let late = spawn(fut);
            parked("late waiting", &late, &c).await;
            assert!(!late.is_finished(), "cleared: a new wait waits");
            ev.set();
            late.await.unwrap();
        });
    }
}
