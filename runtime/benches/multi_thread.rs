//! Multi-threaded scheduler benchmarks: `runtime` (`Mode::Threads`) against tokio's
//! `multi_thread` runtime and an `async_executor::Executor` run by a pool of threads, on
//! the same workloads and with the same number of workers (2) for all three.
//!
//! The shapes are tokio's own multi-threaded scheduler benchmarks
//! (`benches/rt_multi_threaded.rs`: `spawn_many_local`, `spawn_many_remote_idle`,
//! `yield_many`, `ping_pong`, `chained_spawn`), with the same sizes. Each runtime is built
//! once per benchmark, outside `b.iter`, as tokio's benches do, and dropped before the next
//! one is built, so that only one pool's threads exist at a time.
//!
//! As in tokio's benches, the end of a run is signalled through a blocking
//! `std::sync::mpsc` channel received inside `block_on` (which, on a pool, blocks only the
//! calling thread, not a worker), and tasks detach by dropping their join handle.
//! `tokio::spawn` / `tokio::task::yield_now` become `runtime::spawn` /
//! `runtime::yield_now` for ours, and the one-shots of `ping_pong` become this crate's
//! [`runtime::settable`] (tokio's `oneshot` for the other two).
//!
//! One deliberate change: in tokio's `spawn_many_local` the 10,000 spawns are made by the
//! `block_on` future, which on a multi-threaded runtime runs on the caller's thread, not on
//! a worker, so every spawn goes through the injector. Here they are made by a task
//! running on the pool, so that the benchmark measures local spawns, as its name says;
//! `spawn_many_remote_idle` covers spawning from outside.
//!
//! async-executor has no threads of its own: its pool is an `Executor` leaked as
//! `&'static` (so that tasks can reach it) and run by two threads, each in
//! `future::block_on(ex.run(shutdown))` for the life of the benchmark. Its tasks are
//! spawned with `ex.spawn(..).detach()`, and `block_on` is `futures_lite::future::block_on`
//! on the bench thread.
//!
//! Run with `cargo bench -p runtime --bench multi_thread -- --noplot`.

#[path = "../../bench/src/heap.rs"]
mod heap;

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use async_executor::Executor;
use criterion::{BenchmarkGroup, Criterion};
use futures_lite::future;
use tokio::sync::oneshot;

/// Worker threads of every pool.
const NUM_WORKERS: usize = 2;
/// `spawn_many_*`: tasks spawned per iteration.
const NUM_SPAWN: usize = 10_000;
/// `yield_many`: yields per task.
const NUM_YIELD: usize = 1_000;
/// `yield_many`: tasks.
const TASKS: usize = 200;
/// `ping_pong`: ping-pong pairs.
const NUM_PINGS: usize = 1_000;
/// `chained_spawn`: chain length.
const ITER: usize = 1_000;

const RUNTIME: &str = "runtime";
const TOKIO: &str = "tokio_multi_thread";
const ASYNC_EXECUTOR: &str = "async_executor";

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn ours() -> runtime::Runtime {
    runtime::Runtime::builder()
        .mode(runtime::Mode::Threads)
        .workers(NUM_WORKERS)
        .build()
        .unwrap()
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(NUM_WORKERS)
        .enable_all()
        .build()
        .unwrap()
}

/// An `Executor` run by `NUM_WORKERS` threads until the pool is dropped.
struct ExecutorPool {
    ex: &'static Executor<'static>,
    stop: Vec<oneshot::Sender<()>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl ExecutorPool {
    fn new() -> ExecutorPool {
        // One per benchmark, for the life of the process, so that tasks can hold `&'static`.
        let ex: &'static Executor<'static> = Box::leak(Box::new(Executor::new()));
        let mut stop = Vec::with_capacity(NUM_WORKERS);
        let mut threads = Vec::with_capacity(NUM_WORKERS);
        for i in 0..NUM_WORKERS {
            let (tx, shutdown) = oneshot::channel::<()>();
            stop.push(tx);
            threads.push(
                thread::Builder::new()
                    .name(format!("async-executor-{i}"))
                    .spawn(move || {
                        let _ = future::block_on(ex.run(shutdown));
                    })
                    .unwrap(),
            );
        }
        ExecutorPool { ex, stop, threads }
    }
}

impl Drop for ExecutorPool {
    fn drop(&mut self) {
        for tx in self.stop.drain(..) {
            let _ = tx.send(());
        }
        for t in self.threads.drain(..) {
            t.join().unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------
// spawn_many_local: a task on the pool spawns NUM_SPAWN tasks; the last to finish sends.

fn spawn_many_local(g: &mut Group<'_>) {
    let (tx, rx) = mpsc::sync_channel(1000);
    let rem = Arc::new(AtomicUsize::new(0));

    let rt = ours();
    g.bench_function(format!("spawn_many_local/{RUNTIME}"), |b| {
        b.iter(|| {
            rem.store(NUM_SPAWN, Relaxed);
            rt.block_on(async {
                let (tx, rem) = (tx.clone(), rem.clone());
                runtime::spawn(async move {
                    for _ in 0..NUM_SPAWN {
                        let tx = tx.clone();
                        let rem = rem.clone();
                        runtime::spawn(async move {
                            if 1 == rem.fetch_sub(1, Relaxed) {
                                tx.send(()).unwrap();
                            }
                        });
                    }
                });
                rx.recv().unwrap();
            });
        });
    });
    drop(rt);

    let rt = tokio_rt();
    g.bench_function(format!("spawn_many_local/{TOKIO}"), |b| {
        b.iter(|| {
            rem.store(NUM_SPAWN, Relaxed);
            rt.block_on(async {
                let (tx, rem) = (tx.clone(), rem.clone());
                tokio::spawn(async move {
                    for _ in 0..NUM_SPAWN {
                        let tx = tx.clone();
                        let rem = rem.clone();
                        tokio::spawn(async move {
                            if 1 == rem.fetch_sub(1, Relaxed) {
                                tx.send(()).unwrap();
                            }
                        });
                    }
                });
                rx.recv().unwrap();
            });
        });
    });
    drop(rt);

    let pool = ExecutorPool::new();
    let ex = pool.ex;
    g.bench_function(format!("spawn_many_local/{ASYNC_EXECUTOR}"), |b| {
        b.iter(|| {
            rem.store(NUM_SPAWN, Relaxed);
            future::block_on(async {
                let (tx, rem) = (tx.clone(), rem.clone());
                ex.spawn(async move {
                    for _ in 0..NUM_SPAWN {
                        let tx = tx.clone();
                        let rem = rem.clone();
                        ex.spawn(async move {
                            if 1 == rem.fetch_sub(1, Relaxed) {
                                tx.send(()).unwrap();
                            }
                        })
                        .detach();
                    }
                })
                .detach();
                rx.recv().unwrap();
            });
        });
    });
    drop(pool);
}

// ---------------------------------------------------------------------------------------
// spawn_many_remote_idle: the bench thread spawns NUM_SPAWN empty tasks onto the idle
// pool, then awaits every handle in block_on.

fn spawn_many_remote_idle(g: &mut Group<'_>) {
    let rt = ours();
    let mut handles = Vec::with_capacity(NUM_SPAWN);
    g.bench_function(format!("spawn_many_remote_idle/{RUNTIME}"), |b| {
        b.iter(|| {
            for _ in 0..NUM_SPAWN {
                handles.push(rt.spawn(async {}));
            }
            rt.block_on(async {
                for handle in handles.drain(..) {
                    handle.await.unwrap();
                }
            });
        });
    });
    drop(rt);

    let rt = tokio_rt();
    let mut handles = Vec::with_capacity(NUM_SPAWN);
    g.bench_function(format!("spawn_many_remote_idle/{TOKIO}"), |b| {
        b.iter(|| {
            for _ in 0..NUM_SPAWN {
                handles.push(rt.spawn(async {}));
            }
            rt.block_on(async {
                for handle in handles.drain(..) {
                    handle.await.unwrap();
                }
            });
        });
    });
    drop(rt);

    let pool = ExecutorPool::new();
    let ex = pool.ex;
    let mut handles = Vec::with_capacity(NUM_SPAWN);
    g.bench_function(format!("spawn_many_remote_idle/{ASYNC_EXECUTOR}"), |b| {
        b.iter(|| {
            for _ in 0..NUM_SPAWN {
                handles.push(ex.spawn(async {}));
            }
            future::block_on(async {
                for handle in handles.drain(..) {
                    handle.await;
                }
            });
        });
    });
    drop(pool);
}

// ---------------------------------------------------------------------------------------
// yield_many: TASKS tasks spawned from outside each yield NUM_YIELD times, then send; the
// bench thread receives TASKS messages.

fn yield_many(g: &mut Group<'_>) {
    let (tx, rx) = mpsc::sync_channel(TASKS);

    let rt = ours();
    g.bench_function(format!("yield_many/{RUNTIME}"), |b| {
        b.iter(|| {
            for _ in 0..TASKS {
                let tx = tx.clone();
                rt.spawn(async move {
                    for _ in 0..NUM_YIELD {
                        runtime::yield_now().await;
                    }
                    tx.send(()).unwrap();
                });
            }
            for _ in 0..TASKS {
                rx.recv().unwrap();
            }
        });
    });
    drop(rt);

    let rt = tokio_rt();
    g.bench_function(format!("yield_many/{TOKIO}"), |b| {
        b.iter(|| {
            for _ in 0..TASKS {
                let tx = tx.clone();
                rt.spawn(async move {
                    for _ in 0..NUM_YIELD {
                        tokio::task::yield_now().await;
                    }
                    tx.send(()).unwrap();
                });
            }
            for _ in 0..TASKS {
                rx.recv().unwrap();
            }
        });
    });
    drop(rt);

    let pool = ExecutorPool::new();
    let ex = pool.ex;
    g.bench_function(format!("yield_many/{ASYNC_EXECUTOR}"), |b| {
        b.iter(|| {
            for _ in 0..TASKS {
                let tx = tx.clone();
                ex.spawn(async move {
                    for _ in 0..NUM_YIELD {
                        future::yield_now().await;
                    }
                    tx.send(()).unwrap();
                })
                .detach();
            }
            for _ in 0..TASKS {
                rx.recv().unwrap();
            }
        });
    });
    drop(pool);
}

// ---------------------------------------------------------------------------------------
// ping_pong: one task spawns NUM_PINGS tasks; each spawns a partner and exchanges one
// message each way with it over two one-shots; the last pair to finish sends.

fn ping_pong(g: &mut Group<'_>) {
    let (done_tx, done_rx) = mpsc::sync_channel(1000);
    let rem = Arc::new(AtomicUsize::new(0));

    let rt = ours();
    g.bench_function(format!("ping_pong/{RUNTIME}"), |b| {
        b.iter(|| {
            let done_tx = done_tx.clone();
            let rem = rem.clone();
            rem.store(NUM_PINGS, Relaxed);

            rt.block_on(async {
                runtime::spawn(async move {
                    for _ in 0..NUM_PINGS {
                        let rem = rem.clone();
                        let done_tx = done_tx.clone();

                        runtime::spawn(async move {
                            let (tx1, rx1) = runtime::settable::<()>();
                            let (tx2, rx2) = runtime::settable::<()>();

                            runtime::spawn(async move {
                                rx1.await.unwrap();
                                tx2.set(()).unwrap();
                            });

                            tx1.set(()).unwrap();
                            rx2.await.unwrap();

                            if 1 == rem.fetch_sub(1, Relaxed) {
                                done_tx.send(()).unwrap();
                            }
                        });
                    }
                });

                done_rx.recv().unwrap();
            });
        });
    });
    drop(rt);

    let rt = tokio_rt();
    g.bench_function(format!("ping_pong/{TOKIO}"), |b| {
        b.iter(|| {
            let done_tx = done_tx.clone();
            let rem = rem.clone();
            rem.store(NUM_PINGS, Relaxed);

            rt.block_on(async {
                tokio::spawn(async move {
                    for _ in 0..NUM_PINGS {
                        let rem = rem.clone();
                        let done_tx = done_tx.clone();

                        tokio::spawn(async move {
                            let (tx1, rx1) = oneshot::channel::<()>();
                            let (tx2, rx2) = oneshot::channel::<()>();

                            tokio::spawn(async move {
                                rx1.await.unwrap();
                                tx2.send(()).unwrap();
                            });

                            tx1.send(()).unwrap();
                            rx2.await.unwrap();

                            if 1 == rem.fetch_sub(1, Relaxed) {
                                done_tx.send(()).unwrap();
                            }
                        });
                    }
                });

                done_rx.recv().unwrap();
            });
        });
    });
    drop(rt);

    let pool = ExecutorPool::new();
    let ex = pool.ex;
    g.bench_function(format!("ping_pong/{ASYNC_EXECUTOR}"), |b| {
        b.iter(|| {
            let done_tx = done_tx.clone();
            let rem = rem.clone();
            rem.store(NUM_PINGS, Relaxed);

            future::block_on(async {
                ex.spawn(async move {
                    for _ in 0..NUM_PINGS {
                        let rem = rem.clone();
                        let done_tx = done_tx.clone();

                        ex.spawn(async move {
                            let (tx1, rx1) = oneshot::channel::<()>();
                            let (tx2, rx2) = oneshot::channel::<()>();

                            ex.spawn(async move {
                                rx1.await.unwrap();
                                tx2.send(()).unwrap();
                            })
                            .detach();

                            tx1.send(()).unwrap();
                            rx2.await.unwrap();

                            if 1 == rem.fetch_sub(1, Relaxed) {
                                done_tx.send(()).unwrap();
                            }
                        })
                        .detach();
                    }
                })
                .detach();

                done_rx.recv().unwrap();
            });
        });
    });
    drop(pool);
}

// ---------------------------------------------------------------------------------------
// chained_spawn: each task spawns the next, ITER deep; the last one sends.

fn chained_spawn(g: &mut Group<'_>) {
    let (done_tx, done_rx) = mpsc::sync_channel(1000);

    fn iter_ours(done_tx: mpsc::SyncSender<()>, n: usize) {
        if n == 0 {
            done_tx.send(()).unwrap();
        } else {
            runtime::spawn(async move {
                iter_ours(done_tx, n - 1);
            });
        }
    }

    let rt = ours();
    g.bench_function(format!("chained_spawn/{RUNTIME}"), |b| {
        b.iter(|| {
            let done_tx = done_tx.clone();
            rt.block_on(async {
                runtime::spawn(async move {
                    iter_ours(done_tx, ITER);
                });
                done_rx.recv().unwrap();
            });
        });
    });
    drop(rt);

    fn iter_tokio(done_tx: mpsc::SyncSender<()>, n: usize) {
        if n == 0 {
            done_tx.send(()).unwrap();
        } else {
            tokio::spawn(async move {
                iter_tokio(done_tx, n - 1);
            });
        }
    }

    let rt = tokio_rt();
    g.bench_function(format!("chained_spawn/{TOKIO}"), |b| {
        b.iter(|| {
            let done_tx = done_tx.clone();
            rt.block_on(async {
                tokio::spawn(async move {
                    iter_tokio(done_tx, ITER);
                });
                done_rx.recv().unwrap();
            });
        });
    });
    drop(rt);

    fn iter_ex(ex: &'static Executor<'static>, done_tx: mpsc::SyncSender<()>, n: usize) {
        if n == 0 {
            done_tx.send(()).unwrap();
        } else {
            ex.spawn(async move {
                iter_ex(ex, done_tx, n - 1);
            })
            .detach();
        }
    }

    let pool = ExecutorPool::new();
    let ex = pool.ex;
    g.bench_function(format!("chained_spawn/{ASYNC_EXECUTOR}"), |b| {
        b.iter(|| {
            let done_tx = done_tx.clone();
            future::block_on(async {
                ex.spawn(async move {
                    iter_ex(ex, done_tx, ITER);
                })
                .detach();
                done_rx.recv().unwrap();
            });
        });
    });
    drop(pool);
}

fn multi_thread(c: &mut Criterion) {
    eprintln!("runtime parks on: {}", ours().park_backend());
    let mut g = c.benchmark_group("multi_thread");
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    spawn_many_local(&mut g);
    spawn_many_remote_idle(&mut g);
    yield_many(&mut g);
    ping_pong(&mut g);
    chained_spawn(&mut g);
    g.finish();
}

// What `criterion_group!` + `criterion_main!` expand to, written out so that the
// generated `pub fn` does not trip the workspace's `missing_docs` lint.
fn main() {
    // One allocator policy for every runner in the process (the `bench` CLI's, whose
    // module says why): without it, which runner pays for glibc's trims depends on
    // which ran before it.
    heap::steady();
    let mut c = Criterion::default().configure_from_args();
    multi_thread(&mut c);
    c.final_summary();
}
