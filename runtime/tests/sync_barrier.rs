//! `sync::Barrier`: releases `parties` waiters with distinct indices, is reusable, counts
//! a cancelled waiter out, and `abort`/`reset` break the waiters.

#[macro_use]
mod support;

use std::sync::Arc;

use runtime::sync::{Barrier, BrokenBarrier};
use runtime::{spawn, Runtime};
use support::{counted, parked};

rt_test! {
    fn parties_pass_together_and_the_barrier_is_reused(rt: &Runtime) {
        let b = Arc::new(Barrier::new(3).unwrap());
        rt.block_on(async {
            for _round in 0..2 {
                let tasks: Vec<_> = (0..3)
                    .map(|_| {
                        let b = b.clone();
                        spawn(async move { b.wait().await.unwrap() })
                    })
                    .collect();
                let mut idx = Vec::new();
                for t in tasks {
                    idx.push(t.await.unwrap());
                }
                idx.sort();
                assert_eq!(idx, vec![0, 1, 2]);
                assert_eq!(b.n_waiting(), 0);
            }
        });
    }

    fn a_cancelled_waiter_leaves_the_count(rt: &Runtime) {
        let b = Arc::new(Barrier::new(2).unwrap());
        rt.block_on(async {
            let b1 = b.clone();
            let (fut, c) = counted(async move { b1.wait().await });
            let t = spawn(fut);
            parked("waiting", &t, &c).await;
            assert_eq!(b.n_waiting(), 1);
            t.cancel();
            assert!(t.await.unwrap_err().is_cancelled());
            assert_eq!(b.n_waiting(), 0);
        });
    }

    fn abort_and_reset_break_the_waiters(rt: &Runtime) {
        let b = Arc::new(Barrier::new(3).unwrap());
        rt.block_on(async {
            let b1 = b.clone();
            let (fut, c) = counted(async move { b1.wait().await });
            let t = spawn(fut);
            parked("waiting", &t, &c).await;
            b.abort();
            assert_eq!(t.await.unwrap(), Err(BrokenBarrier));
            assert_eq!(b.wait().await, Err(BrokenBarrier));
            b.reset();
            assert!(!b.broken());
            let b2 = b.clone();
            let (fut, c) = counted(async move { b2.wait().await });
            let t = spawn(fut);
            parked("waiting again", &t, &c).await;
            b.reset();
            assert_eq!(t.await.unwrap(), Err(BrokenBarrier));
            assert!(!b.broken());
        });
    }
}
