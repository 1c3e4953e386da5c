//! The registry in crossbeam-deque's test set: smoke, stampede, stress, no_starvation (a
//! closed registry refuses, never loses), destructors (every entry's waker dropped once).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

use super::super::meta::Meta;
use super::super::mock::Mock;
use super::super::Schedule;
use super::{Registry, BATCH_MAX as BATCH};

/// A waker that counts its drops (a registry entry holds one).
struct Counted(Arc<AtomicUsize>);

impl Wake for Counted {
    fn wake(self: Arc<Self>) {}
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn sched() -> Arc<dyn Schedule> {
    Mock::new(false)
}

fn metas(n: usize) -> Vec<Meta> {
    let s = sched();
    (0..n)
        .map(|i| {
            Meta::new(
                s.clone(),
                Some(format!("t{i}").into()),
                std::panic::Location::caller(),
            )
        })
        .collect()
}

fn waker(drops: &Arc<AtomicUsize>) -> Waker {
    Waker::from(Arc::new(Counted(drops.clone())))
}

#[test]
fn smoke() {
    let r = Registry::new(4);
    let drops = Arc::new(AtomicUsize::new(0));
    let ms = metas(3);
    for m in &ms {
        assert!(r.insert(m, waker(&drops)));
    }
    assert_eq!(r.len(), 3);
    let ids: Vec<_> = r.snapshot().iter().map(|t| t.id()).collect();
    let mut want: Vec<_> = ms.iter().map(|m| m.id).collect();
    want.sort();
    assert_eq!(ids, want, "snapshot lists every live task, by id");
    assert!(r.waker_of(&ms[1]).is_some());
    r.remove(&ms[1]);
    assert!(r.waker_of(&ms[1]).is_none(), "a removed task has no entry");
    r.remove(&ms[1]);
    assert_eq!(r.len(), 2, "removing twice is harmless");
    for m in &ms {
        r.remove(m);
    }
    assert_eq!(r.len(), 0);
    assert_eq!(
        drops.load(Ordering::Relaxed),
        3,
        "each entry's waker dropped once"
    );
}

#[test]
fn stampede() {
    // Threads insert and remove on every shard at once; snapshots taken meanwhile only
    // ever list live entries, and everything ends removed.
    let r = Registry::new(8);
    let drops = Arc::new(AtomicUsize::new(0));
    // The metas outlive the scope, as a task's allocation outlives its entry (invariant
    // 1): a snapshot may still read an entry its thread is about to remove.
    let all: Vec<Vec<Meta>> = (0..4).map(|_| metas(500)).collect();
    std::thread::scope(|s| {
        for ms in &all {
            let (r, drops) = (&r, &drops);
            s.spawn(move || {
                for m in ms {
                    assert!(r.insert(m, waker(drops)));
                }
                for m in ms {
                    r.remove(m);
                }
            });
        }
        s.spawn(|| {
            for _ in 0..200 {
                let snap = r.snapshot();
                assert!(snap.len() <= 2_000);
                assert!(
                    snap.windows(2).all(|w| w[0].id() < w[1].id()),
                    "sorted, no duplicate"
                );
            }
        });
    });
    assert_eq!(r.len(), 0);
    assert_eq!(drops.load(Ordering::Relaxed), 2_000);
}

#[test]
fn stress() {
    // Interleaved inserts and removes in a pseudo-random order on one registry.
    let r = Registry::new(4);
    let drops = Arc::new(AtomicUsize::new(0));
    let ms = metas(2_000);
    let mut live: Vec<usize> = Vec::new();
    let mut x: u32 = 0x9E37_79B9;
    for (i, m) in ms.iter().enumerate() {
        assert!(r.insert(m, waker(&drops)));
        live.push(i);
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if x % 3 == 0 {
            let j = live.swap_remove(x as usize % live.len());
            r.remove(&ms[j]);
        }
        assert_eq!(r.len(), live.len());
    }
    for j in live.drain(..) {
        r.remove(&ms[j]);
    }
    assert_eq!(r.len(), 0);
    assert_eq!(drops.load(Ordering::Relaxed), 2_000);
}

#[test]
fn no_starvation_once_closed() {
    // After close, inserts are refused (the caller cancels the task), and the entries
    // already there stay until their tasks remove them: none is lost to the close.
    let r = Registry::new(2);
    let drops = Arc::new(AtomicUsize::new(0));
    let ms = metas(4);
    assert!(r.insert(&ms[0], waker(&drops)));
    assert!(r.insert(&ms[1], waker(&drops)));
    assert!(!r.is_closed());
    r.close_and_cancel_all();
    assert!(r.is_closed());
    assert!(!r.insert(&ms[2], waker(&drops)), "closed: refused");
    assert_eq!(
        drops.load(Ordering::Relaxed),
        1,
        "the refused waker was dropped"
    );
    assert_eq!(r.len(), 2);
    assert!(
        ms[0].flags.load() & super::super::state::CANCEL != 0,
        "live tasks were cancelled"
    );
    r.remove(&ms[0]);
    r.remove(&ms[1]);
    assert_eq!(r.len(), 0);
}

#[test]
fn destructors() {
    // Dropping a registry that still holds entries drops each waker exactly once.
    let drops = Arc::new(AtomicUsize::new(0));
    let ms = metas(100);
    {
        let r = Registry::new(4);
        for m in &ms {
            assert!(r.insert(m, waker(&drops)));
        }
        let snap = r.snapshot();
        assert_eq!(snap.len(), 100);
        drop(snap);
        assert_eq!(
            drops.load(Ordering::Relaxed),
            0,
            "a snapshot's clones are not the entries"
        );
    }
    assert_eq!(drops.load(Ordering::Relaxed), 100);
}

#[test]
fn another_threads_removals_wait_for_the_flush_and_are_never_listed() {
    // Invariant 5: a batching thread keeps the entries of tasks another thread inserted
    // until it flushes (full, or asked, or its guard drops); meanwhile they are neither
    // counted, listed nor handed out. Its own inserts are removed at once.
    let r = Registry::new(4);
    let drops = Arc::new(AtomicUsize::new(0));
    let ms = metas(40);
    for m in &ms {
        assert!(r.insert(m, waker(&drops)));
    }
    let done = |m: &Meta| {
        assert!(m.mark_done().is_empty());
        r.remove(m);
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            let batch = r.batch_removals();
            ms[..5].iter().for_each(done);
            assert_eq!(drops.load(Ordering::Relaxed), 0, "batched: still held");
            assert_eq!(r.len(), 35, "a finished task is not counted");
            let listed = r.snapshot();
            assert!(listed
                .iter()
                .all(|t| ms[..5].iter().all(|m| m.id != t.id())));
            drop(listed); // its wakers are clones: the counts below are the registry's
            assert!(r.waker_of(&ms[0]).is_none(), "nor handed out");
            r.flush_batch();
            assert_eq!(drops.load(Ordering::Relaxed), 5);
            ms[5..].iter().for_each(done);
            let d = drops.load(Ordering::Relaxed);
            assert!(d >= 5 + BATCH, "a full batch flushes: {d} dropped");
            drop(batch);
            assert_eq!(
                drops.load(Ordering::Relaxed),
                40,
                "the guard flushes the rest"
            );
        });
    });
    // This thread's own inserts, with a batch of its own: removed at once.
    let mine = metas(3);
    let drops = Arc::new(AtomicUsize::new(0));
    let _batch = r.batch_removals();
    for m in &mine {
        assert!(r.insert(m, waker(&drops)));
        assert!(m.mark_done().is_empty());
        r.remove(m);
    }
    assert_eq!(drops.load(Ordering::Relaxed), 3);
    assert_eq!(r.len(), 0);
}

#[test]
fn nested_batches_of_two_registries_keep_their_own_slots() {
    // A guard on registry B inside one on A: A's pending removals wait, untouched, until
    // B's guard is gone, and are then removed from A, never from B.
    let (a, b) = (Registry::new(2), Registry::new(2));
    let (drops_a, drops_b) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (ma, mb) = (metas(3), metas(3));
    for m in &ma {
        assert!(a.insert(m, waker(&drops_a)));
    }
    for m in &mb {
        assert!(b.insert(m, waker(&drops_b)));
    }
    std::thread::scope(|s| {
        s.spawn(|| {
            let outer = a.batch_removals();
            assert!(ma[0].mark_done().is_empty());
            a.remove(&ma[0]);
            {
                let _inner = b.batch_removals();
                assert!(mb[0].mark_done().is_empty());
                b.remove(&mb[0]);
            }
            assert_eq!(
                drops_b.load(Ordering::Relaxed),
                1,
                "B's own removal, from B"
            );
            assert_eq!(drops_a.load(Ordering::Relaxed), 0, "A's still batched");
            drop(outer);
            assert_eq!(drops_a.load(Ordering::Relaxed), 1, "then removed from A");
        });
    });
    assert_eq!(a.len(), 2);
    assert_eq!(b.len(), 2);
    assert_eq!(
        drops_b.load(Ordering::Relaxed),
        1,
        "no live entry of B was touched"
    );
}
