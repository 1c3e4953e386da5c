//! `Gil` mode: one global lock around everything that runs, CPython's switching rules.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime::{Mode, Runtime};

fn gil(interval: Duration) -> Runtime {
    Runtime::builder()
        .mode(Mode::Gil)
        .workers(2)
        .switch_interval(interval)
        .build()
        .unwrap()
}

/// Spins for `d` of CPU time, passing checkpoints, while counting how many such spinners
/// run at the same moment.
fn spin(d: Duration, running: &AtomicUsize, max_seen: &AtomicUsize) {
    let t = Instant::now();
    while t.elapsed() < d {
        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
        max_seen.fetch_max(now, Ordering::SeqCst);
        for _ in 0..1000 {
            std::hint::black_box(0u64);
        }
        running.fetch_sub(1, Ordering::SeqCst);
        runtime::gil::checkpoint();
    }
}

#[test]
fn code_under_the_gil_never_runs_in_parallel() {
    let rt = gil(Duration::from_millis(1));
    let running = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let (r, m) = (running.clone(), max_seen.clone());
            rt.spawn(async move { spin(Duration::from_millis(30), &r, &m) })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(max_seen.load(Ordering::SeqCst), 1);
    let g = rt.metrics().gil.unwrap();
    assert!(g.forced_drops >= 1, "{g:?}");
    assert!(g.acquisitions >= 4, "{g:?}");
}

#[test]
fn threads_mode_does_run_in_parallel() {
    // The contrast: the same spinners overlap in Threads mode (wide bound: they spin until
    // they have seen each other, or give up after 5 s).
    let rt = Runtime::builder()
        .mode(Mode::Threads)
        .workers(2)
        .build()
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let (r, m) = (running.clone(), max_seen.clone());
            rt.spawn(async move {
                let t = Instant::now();
                while m.load(Ordering::SeqCst) < 2 && t.elapsed() < Duration::from_secs(5) {
                    spin(Duration::from_millis(1), &r, &m);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(max_seen.load(Ordering::SeqCst), 2);
    assert!(rt.metrics().gil.is_none());
}

#[test]
fn a_waiting_task_runs_within_about_one_interval() {
    let rt = gil(Duration::from_millis(2));
    let (r, m) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let hog = rt.spawn(async move { spin(Duration::from_millis(400), &r, &m) });
    std::thread::sleep(Duration::from_millis(20));
    // The echo needs the lock twice (the caller's poll and the task's); a checkpointing
    // hog gives it up after each interval. Wide bound: far below the hog's 400 ms.
    let t = Instant::now();
    rt.block_on(rt.spawn(async { 1 })).unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    hog.join().unwrap();
    assert!(rt.metrics().gil.unwrap().forced_drops >= 1);
}

#[test]
fn allow_threads_releases_the_lock_around_blocking_work() {
    let rt = gil(Duration::from_millis(5));
    let inside = Arc::new(AtomicUsize::new(0));
    let overlapped = Arc::new(AtomicUsize::new(0));
    let (i1, o1) = (inside.clone(), overlapped.clone());
    let blocker = rt.spawn(async move {
        runtime::gil::allow_threads(|| {
            i1.fetch_add(1, Ordering::SeqCst);
            let t = Instant::now();
            // Blocked (not holding the lock) until the other task has run meanwhile.
            while o1.load(Ordering::SeqCst) == 0 && t.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(1));
            }
            i1.fetch_sub(1, Ordering::SeqCst);
        });
        assert!(runtime::gil::is_held());
    });
    let (i2, o2) = (inside.clone(), overlapped.clone());
    let other = rt.spawn(async move {
        let t = Instant::now();
        while i2.load(Ordering::SeqCst) == 0 && t.elapsed() < Duration::from_secs(5) {
            runtime::yield_now().await;
        }
        o2.store(1, Ordering::SeqCst);
    });
    blocker.join().unwrap();
    other.join().unwrap();
    assert_eq!(overlapped.load(Ordering::SeqCst), 1);
}

#[test]
fn checkpoint_and_allow_threads_are_no_ops_elsewhere() {
    for mode in [Mode::Single, Mode::Threads] {
        let rt = Runtime::builder().mode(mode).workers(2).build().unwrap();
        let v = rt.block_on(async {
            runtime::gil::checkpoint();
            assert!(!runtime::gil::is_held());
            runtime::gil::allow_threads(|| 7)
        });
        assert_eq!(v, 7);
    }
}

#[test]
fn a_sleeping_task_holds_no_lock() {
    let rt = gil(Duration::from_millis(5));
    rt.block_on(rt.spawn(runtime::sleep(Duration::from_millis(200))))
        .unwrap();
    // The lock is held only while something is polled, never across the 200 ms wait.
    let g = rt.metrics().gil.unwrap();
    assert!(g.hold < Duration::from_millis(100), "{g:?}");
}

#[test]
fn zero_switch_interval_is_a_clear_error() {
    let err = Runtime::builder()
        .mode(Mode::Gil)
        .switch_interval(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("switch_interval"), "{err}");
}
