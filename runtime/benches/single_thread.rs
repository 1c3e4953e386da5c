//! Single-threaded scheduler benchmarks: `runtime` (`Mode::Single`) against tokio's
//! `current_thread` runtime and async-executor's `LocalExecutor`, on the same workloads.
//!
//! The shapes are tokio's own scheduler benchmarks (`benches/rt_multi_threaded.rs`:
//! `spawn_many`, `yield_many`, `ping_pong`, `chained_spawn`), with the same sizes. Each
//! runtime is built once, outside `b.iter`, as tokio's benches do.
//!
//! One adaptation for a single thread: tokio's multi-threaded benches wait for the end
//! with a blocking `std::sync::mpsc::Receiver::recv` inside `block_on`, which on a single
//! thread would block the only thread that runs the tasks. Here the end is signalled
//! through an async one-shot instead, awaited by the `block_on` future:
//! `tokio::sync::oneshot` for tokio and async-executor (it works on any executor), and
//! this crate's [`runtime::settable`] for ours. Where tokio's benches clone a `SyncSender`
//! into every task, these clone an `Arc<Countdown>` (counter plus the one-shot sender) and
//! the task that brings the counter to zero sends. Everything else (what is spawned,
//! where, and what each task does) is tokio's code, with `tokio::spawn` /
//! `tokio::task::yield_now` replaced by each runtime's equivalent; async-executor's tasks
//! reach the executor through a `&'static LocalExecutor` and are `detach`ed, the other two
//! detach by dropping the join handle.
//!
//! Run with `cargo bench -p runtime --bench single_thread -- --noplot`.

#[path = "../../bench/src/heap.rs"]
mod heap;

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_executor::LocalExecutor;
use criterion::{BenchmarkGroup, Criterion};
use futures_lite::future;
use tokio::sync::oneshot;

/// `spawn_many`: tasks spawned from inside `block_on`.
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
const TOKIO: &str = "tokio_current_thread";
const ASYNC_EXECUTOR: &str = "async_executor_local";

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// Counts finished tasks down; the one that reaches zero sends the one-shot `done` signal.
/// Stands in for tokio's `rem: Arc<AtomicUsize>` plus a cloned `mpsc::SyncSender`.
struct Countdown<S> {
    rem: AtomicUsize,
    tx: Mutex<Option<S>>,
}

impl<S> Countdown<S> {
    fn new(n: usize, tx: S) -> Arc<Countdown<S>> {
        Arc::new(Countdown {
            rem: AtomicUsize::new(n),
            tx: Mutex::new(Some(tx)),
        })
    }

    /// One task finished; `send` is called with the sender by the last one.
    fn finish(&self, send: impl FnOnce(S)) {
        if 1 == self.rem.fetch_sub(1, Relaxed) {
            let tx = self.tx.lock().unwrap().take().expect("sent once");
            send(tx);
        }
    }
}

fn ours() -> runtime::Runtime {
    runtime::Runtime::builder()
        .mode(runtime::Mode::Single)
        .build()
        .unwrap()
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn local_executor() -> &'static LocalExecutor<'static> {
    // One per benchmark, for the life of the process, so that tasks can hold `&'static`.
    Box::leak(Box::new(LocalExecutor::new()))
}

// ---------------------------------------------------------------------------------------
// spawn_many: spawn NUM_SPAWN empty-ish tasks from inside block_on, wait for all of them.

fn spawn_many(g: &mut Group<'_>) {
    let rt = ours();
    g.bench_function(format!("spawn_many/{RUNTIME}"), |b| {
        b.iter(|| {
            let (tx, rx) = runtime::settable::<()>();
            let done = Countdown::new(NUM_SPAWN, tx);
            rt.block_on(async {
                for _ in 0..NUM_SPAWN {
                    let done = done.clone();
                    runtime::spawn(async move {
                        done.finish(|tx| tx.set(()).unwrap());
                    });
                }
                rx.await.unwrap();
            });
        });
    });

    let rt = tokio_rt();
    g.bench_function(format!("spawn_many/{TOKIO}"), |b| {
        b.iter(|| {
            let (tx, rx) = oneshot::channel::<()>();
            let done = Countdown::new(NUM_SPAWN, tx);
            rt.block_on(async {
                for _ in 0..NUM_SPAWN {
                    let done = done.clone();
                    tokio::spawn(async move {
                        done.finish(|tx| tx.send(()).unwrap());
                    });
                }
                rx.await.unwrap();
            });
        });
    });

    let ex = local_executor();
    g.bench_function(format!("spawn_many/{ASYNC_EXECUTOR}"), |b| {
        b.iter(|| {
            let (tx, rx) = oneshot::channel::<()>();
            let done = Countdown::new(NUM_SPAWN, tx);
            future::block_on(ex.run(async {
                for _ in 0..NUM_SPAWN {
                    let done = done.clone();
                    ex.spawn(async move {
                        done.finish(|tx| tx.send(()).unwrap());
                    })
                    .detach();
                }
                rx.await.unwrap();
            }));
        });
    });
}

// ---------------------------------------------------------------------------------------
// yield_many: TASKS tasks (spawned from outside, as tokio's bench does) each yield
// NUM_YIELD times; block_on waits for all of them.

fn yield_many(g: &mut Group<'_>) {
    let rt = ours();
    g.bench_function(format!("yield_many/{RUNTIME}"), |b| {
        b.iter(|| {
            let (tx, rx) = runtime::settable::<()>();
            let done = Countdown::new(TASKS, tx);
            for _ in 0..TASKS {
                let done = done.clone();
                rt.spawn(async move {
                    for _ in 0..NUM_YIELD {
                        runtime::yield_now().await;
                    }
                    done.finish(|tx| tx.set(()).unwrap());
                });
            }
            rt.block_on(rx).unwrap();
        });
    });

    let rt = tokio_rt();
    g.bench_function(format!("yield_many/{TOKIO}"), |b| {
        b.iter(|| {
            let (tx, rx) = oneshot::channel::<()>();
            let done = Countdown::new(TASKS, tx);
            for _ in 0..TASKS {
                let done = done.clone();
                rt.spawn(async move {
                    for _ in 0..NUM_YIELD {
                        tokio::task::yield_now().await;
                    }
                    done.finish(|tx| tx.send(()).unwrap());
                });
            }
            rt.block_on(rx).unwrap();
        });
    });

    let ex = local_executor();
    g.bench_function(format!("yield_many/{ASYNC_EXECUTOR}"), |b| {
        b.iter(|| {
            let (tx, rx) = oneshot::channel::<()>();
            let done = Countdown::new(TASKS, tx);
            for _ in 0..TASKS {
                let done = done.clone();
                ex.spawn(async move {
                    for _ in 0..NUM_YIELD {
                        future::yield_now().await;
                    }
                    done.finish(|tx| tx.send(()).unwrap());
                })
                .detach();
            }
            future::block_on(ex.run(rx)).unwrap();
        });
    });
}

// ---------------------------------------------------------------------------------------
// ping_pong: one task spawns NUM_PINGS tasks; each spawns a partner and exchanges one
// message each way with it over two one-shots.

fn ping_pong(g: &mut Group<'_>) {
    let rt = ours();
    g.bench_function(format!("ping_pong/{RUNTIME}"), |b| {
        b.iter(|| {
            let (done_tx, done_rx) = runtime::settable::<()>();
            let done = Countdown::new(NUM_PINGS, done_tx);
            rt.block_on(async {
                runtime::spawn(async move {
                    for _ in 0..NUM_PINGS {
                        let done = done.clone();
                        runtime::spawn(async move {
                            let (tx1, rx1) = runtime::settable::<()>();
                            let (tx2, rx2) = runtime::settable::<()>();

                            runtime::spawn(async move {
                                rx1.await.unwrap();
                                tx2.set(()).unwrap();
                            });

                            tx1.set(()).unwrap();
                            rx2.await.unwrap();

                            done.finish(|tx| tx.set(()).unwrap());
                        });
                    }
                });
                done_rx.await.unwrap();
            });
        });
    });

    let rt = tokio_rt();
    g.bench_function(format!("ping_pong/{TOKIO}"), |b| {
        b.iter(|| {
            let (done_tx, done_rx) = oneshot::channel::<()>();
            let done = Countdown::new(NUM_PINGS, done_tx);
            rt.block_on(async {
                tokio::spawn(async move {
                    for _ in 0..NUM_PINGS {
                        let done = done.clone();
                        tokio::spawn(async move {
                            let (tx1, rx1) = oneshot::channel::<()>();
                            let (tx2, rx2) = oneshot::channel::<()>();

                            tokio::spawn(async move {
                                rx1.await.unwrap();
                                tx2.send(()).unwrap();
                            });

                            tx1.send(()).unwrap();
                            rx2.await.unwrap();

                            done.finish(|tx| tx.send(()).unwrap());
                        });
                    }
                });
                done_rx.await.unwrap();
            });
        });
    });

    let ex = local_executor();
    g.bench_function(format!("ping_pong/{ASYNC_EXECUTOR}"), |b| {
        b.iter(|| {
            let (done_tx, done_rx) = oneshot::channel::<()>();
            let done = Countdown::new(NUM_PINGS, done_tx);
            future::block_on(ex.run(async {
                ex.spawn(async move {
                    for _ in 0..NUM_PINGS {
                        let done = done.clone();
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

                            done.finish(|tx| tx.send(()).unwrap());
                        })
                        .detach();
                    }
                })
                .detach();
                done_rx.await.unwrap();
            }));
        });
    });
}

// ---------------------------------------------------------------------------------------
// chained_spawn: each task spawns the next, ITER deep; the last one signals.

fn chained_spawn(g: &mut Group<'_>) {
    fn iter_ours(done_tx: runtime::Setter<()>, n: usize) {
        if n == 0 {
            done_tx.set(()).unwrap();
        } else {
            runtime::spawn(async move {
                iter_ours(done_tx, n - 1);
            });
        }
    }

    let rt = ours();
    g.bench_function(format!("chained_spawn/{RUNTIME}"), |b| {
        b.iter(|| {
            let (done_tx, done_rx) = runtime::settable::<()>();
            rt.block_on(async {
                runtime::spawn(async move {
                    iter_ours(done_tx, ITER);
                });
                done_rx.await.unwrap();
            });
        });
    });

    fn iter_tokio(done_tx: oneshot::Sender<()>, n: usize) {
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
            let (done_tx, done_rx) = oneshot::channel::<()>();
            rt.block_on(async {
                tokio::spawn(async move {
                    iter_tokio(done_tx, ITER);
                });
                done_rx.await.unwrap();
            });
        });
    });

    fn iter_local(ex: &'static LocalExecutor<'static>, done_tx: oneshot::Sender<()>, n: usize) {
        if n == 0 {
            done_tx.send(()).unwrap();
        } else {
            ex.spawn(async move {
                iter_local(ex, done_tx, n - 1);
            })
            .detach();
        }
    }

    let ex = local_executor();
    g.bench_function(format!("chained_spawn/{ASYNC_EXECUTOR}"), |b| {
        b.iter(|| {
            let (done_tx, done_rx) = oneshot::channel::<()>();
            future::block_on(ex.run(async {
                ex.spawn(async move {
                    iter_local(ex, done_tx, ITER);
                })
                .detach();
                done_rx.await.unwrap();
            }));
        });
    });
}

fn single_thread(c: &mut Criterion) {
    eprintln!("runtime parks on: {}", ours().park_backend());
    let mut g = c.benchmark_group("single_thread");
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    spawn_many(&mut g);
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
    single_thread(&mut c);
    c.final_summary();
}
