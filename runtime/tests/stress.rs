//! Stress tests of the pool modes (Threads, Gil; and Single, for comparison): a million tasks, random
//! cancellation, wakes across workers, and a runtime dropped while tasks run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use runtime::{Mode, Runtime};

fn runtimes() -> Vec<Runtime> {
    vec![
        Runtime::builder().mode(Mode::Single).build().unwrap(),
        Runtime::builder()
            .mode(Mode::Threads)
            .workers(2)
            .build()
            .unwrap(),
        Runtime::builder()
            .mode(Mode::Threads)
            .workers(2)
            .io_uring(false)
            .build()
            .unwrap(),
        Runtime::builder()
            .mode(Mode::Gil)
            .workers(2)
            .build()
            .unwrap(),
    ]
}

/// Counts how many times it is dropped.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_million_tasks() {
    let rt = Runtime::builder()
        .mode(Mode::Threads)
        .workers(2)
        .build()
        .unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    rt.block_on(async move {
        for _ in 0..10 {
            let batch: Vec<_> = (0..100_000)
                .map(|_| {
                    let d = d.clone();
                    runtime::spawn(async move {
                        d.fetch_add(1, Ordering::Relaxed);
                    })
                })
                .collect();
            for r in runtime::gather(batch).await {
                r.unwrap();
            }
        }
    });
    assert_eq!(done.load(Ordering::SeqCst), 1_000_000);
    assert_eq!(rt.metrics().live_tasks, 0);
}

#[test]
fn random_cancellation_drops_each_future_once() {
    for rt in runtimes() {
        let drops = Arc::new(AtomicUsize::new(0));
        let n = 5_000;
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let guard = DropCount(drops.clone());
                rt.spawn(async move {
                    let _g = guard;
                    for _ in 0..(i % 7) {
                        runtime::yield_now().await;
                    }
                    runtime::sleep(Duration::from_micros((i % 13) as u64 * 50)).await;
                    i
                })
            })
            .collect();
        // Cancel a pseudo-random third of them from another thread while they run.
        let refs: Vec<_> = handles
            .iter()
            .enumerate()
            .filter(|(i, _)| (i * 7919) % 3 == 0)
            .filter_map(|(_, h)| h.task_ref())
            .collect();
        let canceller = std::thread::spawn(move || {
            for r in refs {
                r.cancel();
            }
        });
        let outcomes = rt.block_on(runtime::gather(handles));
        canceller.join().unwrap();
        let mut ok = 0;
        for (i, o) in outcomes.into_iter().enumerate() {
            match o {
                Ok(v) => {
                    assert_eq!(v, i);
                    ok += 1;
                }
                Err(e) => assert!(e.is_cancelled(), "{e}"),
            }
        }
        assert!(
            ok >= n * 2 / 3 - 1,
            "only cancelled tasks may fail ({ok} ok)"
        );
        assert_eq!(drops.load(Ordering::SeqCst), n, "mode {}", rt.mode());
    }
}

#[test]
fn tasks_wake_tasks_on_other_workers() {
    for rt in runtimes() {
        // 64 chains of ping-pong between pairs of tasks through settable futures.
        let total = rt.block_on(async {
            let chains: Vec<_> = (0..64)
                .map(|_| {
                    runtime::spawn(async {
                        let mut hops = 0;
                        for _ in 0..200 {
                            let (tx, rx) = runtime::settable::<u32>();
                            let echo = runtime::spawn(async move {
                                tx.set(1).unwrap();
                            });
                            hops += rx.await.unwrap();
                            echo.await.unwrap();
                        }
                        hops
                    })
                })
                .collect();
            runtime::gather(chains)
                .await
                .into_iter()
                .map(Result::unwrap)
                .sum::<u32>()
        });
        assert_eq!(total, 64 * 200);
    }
}

#[test]
fn drop_while_tasks_run() {
    for rt in runtimes() {
        let mode = rt.mode();
        let drops = Arc::new(AtomicUsize::new(0));
        let n = 2_000;
        for i in 0..n {
            let guard = DropCount(drops.clone());
            rt.spawn(async move {
                let _g = guard;
                match i % 4 {
                    0 => loop {
                        runtime::yield_now().await
                    },
                    1 => runtime::sleep(Duration::from_secs(3600)).await,
                    2 => std::future::pending::<()>().await,
                    _ => {
                        let (_tx, rx) = runtime::settable::<()>();
                        let _ = rx.await;
                    }
                }
            });
        }
        // Let the pool start on them.
        if mode != Mode::Single {
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(rt);
        assert_eq!(drops.load(Ordering::SeqCst), n, "mode {mode}");
    }
}

#[test]
fn a_task_that_yields_forever_starves_nobody() {
    let rt = Runtime::builder()
        .mode(Mode::Threads)
        .workers(1)
        .build()
        .unwrap();
    let spinner = rt.spawn(async {
        loop {
            runtime::yield_now().await;
        }
    });
    // A timer, an injected task and a local spawn all make progress on the one worker.
    let out = rt.block_on(async {
        runtime::sleep(Duration::from_millis(5)).await;
        let local = runtime::spawn(async { 2 }).await.unwrap();
        local + 1
    });
    assert_eq!(out, 3);
    let injected = rt.spawn(async { 4 });
    assert_eq!(injected.join().unwrap(), 4);
    spinner.cancel();
    assert!(spinner.join().unwrap_err().is_cancelled());
}

#[test]
fn long_poll_is_reported_with_name() {
    for mode in [Mode::Single, Mode::Threads, Mode::Gil] {
        let rt = Runtime::builder()
            .mode(mode)
            .workers(1)
            .long_poll_threshold(Some(Duration::from_millis(10)))
            .build()
            .unwrap();
        let h = rt.spawn_named("hog", async {
            std::thread::sleep(Duration::from_millis(80))
        });
        h.join().unwrap();
        assert!(rt.metrics().workers[0].long_polls >= 1, "mode {mode}");
        // A loop callback that blocks is caught too (asyncio's slow callback).
        let before = rt.metrics().workers[0].long_polls;
        let stop = rt.handle();
        rt.call_soon(move || {
            std::thread::sleep(Duration::from_millis(80));
            stop.stop();
        });
        rt.run_forever();
        assert!(rt.metrics().workers[0].long_polls > before, "mode {mode}");
    }
}

#[test]
fn a_sleep_on_a_busy_worker_is_fired_by_an_idle_one() {
    let rt = Runtime::builder()
        .mode(Mode::Threads)
        .workers(2)
        .build()
        .unwrap();
    let took = rt
        .block_on(rt.spawn(async {
            let start = std::time::Instant::now();
            let sleep = runtime::sleep(Duration::from_millis(20));
            // Registers the timer on this worker, then occupies this worker for 400 ms: the
            // hog goes to its LIFO slot (not stealable) and runs as soon as we suspend.
            runtime::spawn(async { std::thread::sleep(Duration::from_millis(400)) });
            sleep.await;
            start.elapsed()
        }))
        .unwrap();
    // The other worker, parked without a deadline, is told about the new earliest timer,
    // re-parks until it and fires it; before, the wake waited for the hog.
    assert!(took < Duration::from_millis(300), "{took:?}");
}

/// A future that wakes itself and stays pending forever, as a budgeted JoinHandle does.
struct SelfWaking;

impl std::future::Future for SelfWaking {
    type Output = ();
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

#[test]
fn gather_of_a_self_waking_child_yields_between_polls() {
    for rt in runtimes() {
        rt.block_on(async {
            // If one poll of the gather looped over its self-waking child, this task would
            // never get to run again, and the test would hang.
            let g = runtime::spawn(runtime::gather([SelfWaking, SelfWaking]));
            for _ in 0..10 {
                runtime::yield_now().await;
            }
            g.cancel();
            assert!(g.await.unwrap_err().is_cancelled());
        });
    }
}
