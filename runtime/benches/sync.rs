//! `sync/*`: this crate's asyncio-style primitives against tokio::sync and
//! async-lock / async-channel, all driven by the same executor (this crate's runtime), so
//! that each ratio compares the primitives and nothing else.
//!
//! - `lock_uncontended`: one task locks and unlocks 1,000 times (`Mode::Single`).
//! - `lock_contended`: two tasks on a 2-worker `Mode::Threads` pool each add 1 under the
//!   lock 1,000 times.
//! - `queue_ping_pong`: two tasks on the pool bounce a value through a pair of capacity-1
//!   queues 1,000 times (tokio `mpsc::channel(1)`, `async_channel::bounded(1)`).
//! - `semaphore_fan_in`: 8 tasks on the pool share 2 permits, 200 acquires each.
//!
//! Run with `cargo bench -p runtime --bench sync -- --noplot` (`--quick` for a short run).

#[path = "../../bench/src/heap.rs"]
mod heap;

use std::sync::Arc;

use criterion::{BenchmarkGroup, Criterion};
use runtime::{Mode, Runtime};

const OPS: usize = 1_000;
const FAN_TASKS: usize = 8;
const FAN_OPS: usize = 200;
const FAN_PERMITS: usize = 2;

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn single() -> Runtime {
    Runtime::builder().mode(Mode::Single).build().unwrap()
}

fn pool() -> Runtime {
    Runtime::builder()
        .mode(Mode::Threads)
        .workers(2)
        .build()
        .unwrap()
}

fn lock_uncontended(g: &mut Group<'_>) {
    let rt = single();
    let ours = runtime::sync::Lock::new(0u64);
    g.bench_function("lock_uncontended/runtime", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..OPS {
                    *ours.lock().await += 1;
                }
            })
        })
    });
    let tokio_lock = tokio::sync::Mutex::new(0u64);
    g.bench_function("lock_uncontended/tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..OPS {
                    *tokio_lock.lock().await += 1;
                }
            })
        })
    });
    let al = async_lock::Mutex::new(0u64);
    g.bench_function("lock_uncontended/async_lock", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..OPS {
                    *al.lock().await += 1;
                }
            })
        })
    });
}

/// Runs `task` twice concurrently on the pool and waits for both.
fn two_tasks<F, Fut>(rt: &Runtime, task: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let a = rt.spawn(task());
    let b = rt.spawn(task());
    a.join().unwrap();
    b.join().unwrap();
}

fn lock_contended(g: &mut Group<'_>) {
    let rt = pool();
    let ours = Arc::new(runtime::sync::Lock::new(0u64));
    g.bench_function("lock_contended/runtime", |b| {
        b.iter(|| {
            two_tasks(&rt, || {
                let l = ours.clone();
                async move {
                    for _ in 0..OPS {
                        *l.lock().await += 1;
                    }
                }
            })
        })
    });
    let tk = Arc::new(tokio::sync::Mutex::new(0u64));
    g.bench_function("lock_contended/tokio", |b| {
        b.iter(|| {
            two_tasks(&rt, || {
                let l = tk.clone();
                async move {
                    for _ in 0..OPS {
                        *l.lock().await += 1;
                    }
                }
            })
        })
    });
    let al = Arc::new(async_lock::Mutex::new(0u64));
    g.bench_function("lock_contended/async_lock", |b| {
        b.iter(|| {
            two_tasks(&rt, || {
                let l = al.clone();
                async move {
                    for _ in 0..OPS {
                        *l.lock().await += 1;
                    }
                }
            })
        })
    });
}

fn queue_ping_pong(g: &mut Group<'_>) {
    let rt = pool();
    g.bench_function("queue_ping_pong/runtime", |b| {
        b.iter(|| {
            let ping = Arc::new(runtime::sync::Queue::new(1));
            let pong = Arc::new(runtime::sync::Queue::new(1));
            let (p2, q2) = (ping.clone(), pong.clone());
            let echo = rt.spawn(async move {
                for _ in 0..OPS {
                    let v: u64 = p2.get().await.unwrap();
                    q2.put(v + 1).await.unwrap();
                }
            });
            rt.block_on(async {
                for i in 0..OPS as u64 {
                    ping.put(i).await.unwrap();
                    assert_eq!(pong.get().await.unwrap(), i + 1);
                }
            });
            echo.join().unwrap();
        })
    });
    g.bench_function("queue_ping_pong/tokio", |b| {
        b.iter(|| {
            let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<u64>(1);
            let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<u64>(1);
            let echo = rt.spawn(async move {
                for _ in 0..OPS {
                    let v = ping_rx.recv().await.unwrap();
                    pong_tx.send(v + 1).await.unwrap();
                }
            });
            rt.block_on(async {
                for i in 0..OPS as u64 {
                    ping_tx.send(i).await.unwrap();
                    assert_eq!(pong_rx.recv().await.unwrap(), i + 1);
                }
            });
            echo.join().unwrap();
        })
    });
    g.bench_function("queue_ping_pong/async_channel", |b| {
        b.iter(|| {
            let (ping_tx, ping_rx) = async_channel::bounded::<u64>(1);
            let (pong_tx, pong_rx) = async_channel::bounded::<u64>(1);
            let echo = rt.spawn(async move {
                for _ in 0..OPS {
                    let v = ping_rx.recv().await.unwrap();
                    pong_tx.send(v + 1).await.unwrap();
                }
            });
            rt.block_on(async {
                for i in 0..OPS as u64 {
                    ping_tx.send(i).await.unwrap();
                    assert_eq!(pong_rx.recv().await.unwrap(), i + 1);
                }
            });
            echo.join().unwrap();
        })
    });
}

/// Runs `FAN_TASKS` copies of `task` on the pool and waits for all.
fn fan_in<F, Fut>(rt: &Runtime, task: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let hs: Vec<_> = (0..FAN_TASKS).map(|_| rt.spawn(task())).collect();
    for h in hs {
        h.join().unwrap();
    }
}

fn semaphore_fan_in(g: &mut Group<'_>) {
    let rt = pool();
    let ours = Arc::new(runtime::sync::Semaphore::new(FAN_PERMITS));
    g.bench_function("semaphore_fan_in/runtime", |b| {
        b.iter(|| {
            fan_in(&rt, || {
                let s = ours.clone();
                async move {
                    for _ in 0..FAN_OPS {
                        let _p = s.acquire().await;
                        std::hint::black_box(());
                    }
                }
            })
        })
    });
    let tk = Arc::new(tokio::sync::Semaphore::new(FAN_PERMITS));
    g.bench_function("semaphore_fan_in/tokio", |b| {
        b.iter(|| {
            fan_in(&rt, || {
                let s = tk.clone();
                async move {
                    for _ in 0..FAN_OPS {
                        let _p = s.acquire().await.unwrap();
                        std::hint::black_box(());
                    }
                }
            })
        })
    });
    let al = Arc::new(async_lock::Semaphore::new(FAN_PERMITS));
    g.bench_function("semaphore_fan_in/async_lock", |b| {
        b.iter(|| {
            fan_in(&rt, || {
                let s = al.clone();
                async move {
                    for _ in 0..FAN_OPS {
                        let _p = s.acquire().await;
                        std::hint::black_box(());
                    }
                }
            })
        })
    });
}

fn sync_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync");
    lock_uncontended(&mut g);
    lock_contended(&mut g);
    queue_ping_pong(&mut g);
    semaphore_fan_in(&mut g);
    g.finish();
}

// What `criterion_group!` + `criterion_main!` expand to, written out so that `main`
// needs no doc comment (the workspace warns on missing docs).
fn main() {
    // One allocator policy for every runner in the process (the `bench` CLI's, whose
    // module says why): without it, which runner pays for glibc's trims depends on
    // which ran before it.
    heap::steady();
    let mut c = Criterion::default().configure_from_args();
    sync_benches(&mut c);
    c.final_summary();
}
