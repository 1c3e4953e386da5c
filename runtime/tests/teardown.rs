//! A dropped runtime has released everything when its drop returns: every descriptor
//! (rings, eventfds, sockets), every thread it started (workers, blocking threads, the
//! watchdog, the process pool's readers) and every process (the fork server and the
//! workers, killed and reaped), in every mode and under both I/O backends. Also:
//! `shutdown_timeout` returns (and the drop after it does nothing), a runtime dropped
//! during thread-local teardown does not abort the process, and a nested `block_on` is a
//! clear panic where it would deadlock.
//!
//! Every body takes one lock, so that only one test of this binary opens or closes
//! descriptors or threads at a time; threads are counted by name (`runtime-*`), so the
//! test harness's own threads do not count.

#[macro_use]
mod support;

use std::cell::RefCell;
use std::future::pending;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use runtime::net::{TcpListener, TcpStream};
use runtime::{sleep, spawn, spawn_blocking, submit, Builder, Mode, Runtime};
use support::Flavor;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The names of this process's runtime threads (the two process-wide ones, started once
/// for the life of the process, excepted: the readiness reactor and the forker).
fn runtime_threads() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .filter(|n| n.starts_with("runtime-") && n != "runtime-reactor" && n != "runtime-forker")
        .collect();
    names.sort();
    names
}

/// Every process whose parent is this one (zombies included: not yet reaped).
fn children() -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // pid (comm) state ppid ...: comm may hold spaces, so split after the ')'.
            let ppid: u32 = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            (ppid == me).then_some(pid)
        })
        .collect()
}

fn double(x: u64) -> u64 {
    x * 2
}

/// Uses every part of a runtime that holds something: tasks, timers, the blocking pool,
/// `submit` (worker processes in `Processes`), and a TCP echo (the ring, or the
/// readiness reactor).
fn exercise(rt: &Runtime) {
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = spawn(async move {
            let (conn, _) = listener.accept().await.unwrap();
            let (n, buf) = conn.read(Vec::with_capacity(16)).await;
            let (res, _) = conn.write_all(buf[..n.unwrap()].to_vec()).await;
            res.unwrap();
        });
        let client = TcpStream::connect(addr).await.unwrap();
        let (res, _) = client.write_all(b"ping".to_vec()).await;
        res.unwrap();
        let (n, buf) = client.read(Vec::with_capacity(16)).await;
        assert_eq!(&buf[..n.unwrap()], b"ping");
        server.await.unwrap();
        sleep(Duration::from_millis(1)).await;
        assert_eq!(spawn_blocking(|| 7).await.unwrap(), 7);
        assert_eq!(submit(double, 21).await.unwrap(), 42);
        // Left pending: the drop cancels them.
        drop(spawn(pending::<()>()));
        drop(spawn(sleep(Duration::from_secs(3600))));
    });
}

/// What a runtime of this process holds right now, beyond the baseline.
///
/// Descriptors and child processes are checked at once. Threads get a few milliseconds:
/// `pthread_join` returns once a thread's user-space part has ended (the kernel clears its
/// tid), and the kernel task can stay listed in /proc/self/task for a moment after that;
/// a joined thread holds nothing by then, as the exact descriptor count shows.
fn assert_released(fds: usize, when: &str) {
    assert_eq!(open_fds(), fds, "descriptors still open {when}");
    assert_eq!(children(), Vec::<u32>::new(), "child processes left {when}");
    let mut threads = runtime_threads();
    for _ in 0..100 {
        if threads.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
        threads = runtime_threads();
    }
    assert_eq!(
        threads,
        Vec::<String>::new(),
        "threads still running {when}"
    );
}

rt_test_io! {
    fn a_runtime_dropped_100_times_releases_everything_each_time(b: Builder) {
        let _serial = serial();
        // Warm-up: what the process sets up once (the readiness reactor) is not a leak.
        exercise(&b.clone().build().unwrap());
        let fds = open_fds();
        assert_released(fds, "after the warm-up");
        for cycle in 0..100 {
            let rt = b.clone().build().unwrap();
            // Every other runtime is dropped at once, while its workers are still starting
            // up: that is where a drop that does not join them returned too early.
            if cycle % 2 == 0 {
                exercise(&rt);
            }
            drop(rt);
            assert_released(fds, &format!("right after drop {cycle}"));
        }
    }

    fn shutdown_timeout_returns_and_releases_everything(b: Builder) {
        let _serial = serial();
        exercise(&b.clone().build().unwrap());
        let fds = open_fds();
        // Nothing running at all.
        let rt = b.clone().build().unwrap();
        assert_eq!(rt.shutdown_timeout(Duration::from_secs(5)), 0);
        assert_released(fds, "after shutdown_timeout of an idle runtime");
        // Tasks pending, timers set, a blocking job done, a worker process used.
        let rt = b.clone().build().unwrap();
        exercise(&rt);
        assert_eq!(rt.shutdown_timeout(Duration::from_secs(5)), 0);
        assert_released(fds, "after shutdown_timeout");
    }

    fn a_failed_build_leaves_nothing_behind(b: Builder) {
        let _serial = serial();
        let fds = open_fds();
        for n in [runtime::MAX_WORKERS + 1, 1 << 32, usize::MAX] {
            let err = b.clone().workers(n).build().unwrap_err();
            assert_eq!(err, runtime::BuildError::InvalidWorkers(n));
            assert!(err.to_string().contains("1 to 1024 workers"), "{err}");
        }
        assert_released(fds, "after refused builds");
    }

    fn handles_kept_past_the_drop_hold_no_descriptor(b: Builder) {
        let _serial = serial();
        exercise(&b.clone().build().unwrap());
        let fds = open_fds();
        let rt = b.build().unwrap();
        exercise(&rt);
        let pending = rt.spawn(pending::<()>());
        let done = rt.spawn(async { 1 });
        let handle = rt.handle();
        drop(rt);
        assert_released(fds, "after the drop, with a Handle and two JoinHandles kept");
        assert!(pending.join().unwrap_err().is_cancelled());
        let _ = done.join();
        drop(handle);
    }

    fn a_drop_returns_while_another_thread_joins_a_task(b: Builder) {
        let _serial = serial();
        exercise(&b.clone().build().unwrap());
        let fds = open_fds();
        let rt = b.build().unwrap();
        let h = rt.spawn(pending::<()>());
        // In Single and Processes the joining thread runs the loop itself (it holds the
        // core): the drop must cancel its task so that it gives the loop back.
        let joiner = std::thread::spawn(move || h.join());
        std::thread::sleep(Duration::from_millis(50));
        drop(rt);
        assert!(joiner.join().unwrap().unwrap_err().is_cancelled());
        assert_released(fds, "after a drop during a join on another thread");
    }

    fn join_and_run_forever_inside_block_on_do_not_hold_the_gil(b: Builder) {
        let _serial = serial();
        let rt = b.build().unwrap();
        let h = rt.handle();
        rt.block_on(async {
            // A blocking join from inside block_on: Gil must wait without its lock, or the
            // workers (which need it to run the task) would wait forever. In Single and
            // Processes the block_on thread is the loop's: join says so instead.
            let t = rt.spawn(async { 6 });
            match rt.mode() {
                Mode::Single | Mode::Processes => assert!(t.join().is_err()),
                _ => assert_eq!(t.join().unwrap(), 6),
            }
        });
        if matches!(rt.mode(), Mode::Threads | Mode::Gil) {
            rt.block_on(async {
                let stop = h.clone();
                rt.call_soon(move || stop.stop());
                rt.run_forever();
            });
        }
    }

    fn a_worker_stuck_past_the_deadline_finishes_the_shutdown_when_it_returns(b: Builder) {
        let _serial = serial();
        exercise(&b.clone().build().unwrap());
        let fds = open_fds();
        let rt = b.build().unwrap();
        let started = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = started.clone();
        let mode = rt.mode();
        let busy = rt.spawn(async move {
            s.store(true, std::sync::atomic::Ordering::Release);
            std::thread::sleep(Duration::from_millis(600)); // a long poll, never yielding
        });
        let (kept, counts) = support::counted(pending::<()>());
        let kept = rt.spawn(kept);
        drop(rt.spawn(sleep(Duration::from_secs(3600))));
        if matches!(mode, Mode::Threads | Mode::Gil) {
            support::wait_until("the long poll started", || started.load(std::sync::atomic::Ordering::Acquire));
        }
        let left = rt.shutdown_timeout(Duration::from_millis(50));
        if matches!(mode, Mode::Threads | Mode::Gil) {
            assert!(left >= 1, "the busy task is left behind and said so");
        }
        // When the stuck worker returns, it drops what was left and closes the eventfds.
        support::wait_until("the last worker finished the shutdown", || counts.drops() == 1);
        support::wait_until("descriptors released", || open_fds() == fds);
        assert!(kept.join().unwrap_err().is_cancelled());
        let _ = busy.join();
        assert_released(fds, "after the stuck worker returned");
    }

    fn a_runtime_dropped_inside_its_own_task_is_released_when_its_loop_ends(b: Builder) {
        let _serial = serial();
        exercise(&b.clone().build().unwrap());
        let fds = open_fds();
        let rt = b.build().unwrap();
        let h = rt.handle();
        assert_eq!(rt.block_on(async { spawn_blocking(|| 1).await.unwrap() }), 1);
        let dropper = h.spawn(async move {
            drop(rt);
            5
        });
        let out = dropper.join();
        drop(h);
        assert!(out.is_ok() || out.unwrap_err().is_cancelled());
        support::wait_until("descriptors released", || open_fds() == fds);
        assert_released(fds, "after a runtime dropped inside its own task");
    }

    fn a_thread_local_that_joins_a_task_does_not_hang_the_drop(b: Builder) {
        thread_local! {
            static JOIN_ON_EXIT: RefCell<Option<JoinOnDrop>> = const { RefCell::new(None) };
        }
        struct JoinOnDrop(Option<runtime::JoinHandle<()>>);
        impl Drop for JoinOnDrop {
            fn drop(&mut self) {
                if let Some(h) = self.0.take() {
                    let _ = h.join();
                }
            }
        }
        let _serial = serial();
        let rt = b.build().unwrap();
        let target = rt.spawn(pending::<()>());
        rt.block_on(async move {
            // Stored in the thread-local of whichever thread runs this task (a worker in
            // the pools): its destructor blocks until the target task ends.
            spawn(async move {
                JOIN_ON_EXIT.with(|j| *j.borrow_mut() = Some(JoinOnDrop(Some(target))));
            })
            .await
            .unwrap();
        });
        drop(rt); // must return: the drop cancels the target, and waits for no destructor
    }

    fn nested_block_on_is_a_clear_panic_where_it_would_deadlock(b: Builder) {
        let _serial = serial();
        let rt = &b.build().unwrap();
        let nested = rt.block_on(async {
            catch_unwind(AssertUnwindSafe(|| rt.block_on(async { 5 })))
        });
        match rt.mode() {
            // The block_on thread is not a worker: it may wait for another future.
            Mode::Threads => assert_eq!(nested.unwrap(), 5),
            _ => {
                let p = nested.unwrap_err();
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap();
                assert!(msg.contains("block_on called from inside"), "{msg}");
                assert!(msg.contains("await the future instead"), "{msg}");
            }
        }
        // The runtime is still usable after the panic.
        assert_eq!(rt.block_on(async { spawn(async { 1 }).await.unwrap() }), 1);
    }

    fn a_runtime_dropped_during_thread_local_teardown_does_not_abort(b: Builder) {
        let _serial = serial();
        let rt = b.build().unwrap();
        let code = format!("{}:{}", rt.mode().name(), rt.park_backend() == runtime::ParkBackend::IoUring);
        drop(rt);
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "tls_teardown_child", "--ignored", "--nocapture", "--test-threads=1"])
            .env("RT_TLS_CHILD", code)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains("TLS-TEARDOWN-OK 2"),
            "the child failed ({}):\n{stdout}\n{stderr}",
            out.status
        );
    }
}

thread_local! {
    static KEPT: RefCell<Option<Runtime>> = const { RefCell::new(None) };
}

/// Run in a child process by the test above: keeps a runtime (with pending tasks) in a
/// `thread_local!` of a thread that then exits, once with the runtime's own thread-locals
/// set up before `KEPT` and once after, so that one of the two drops it after the
/// runtime's thread-locals were destroyed.
#[test]
#[ignore = "run in a child process by a_runtime_dropped_during_thread_local_teardown_does_not_abort"]
fn tls_teardown_child() {
    let Ok(code) = std::env::var("RT_TLS_CHILD") else {
        return;
    };
    let (mode, uring) = code.split_once(':').unwrap();
    let flavor = Flavor {
        mode: mode.parse().unwrap(),
        io_uring: uring == "true",
        clock: runtime::Clock::Real,
        workers: (mode != "single").then_some(2),
    };
    let fds = open_fds();
    let mut done = 0;
    for kept_first in [true, false] {
        std::thread::spawn(move || {
            if kept_first {
                KEPT.with(|_| {});
            }
            let rt = flavor.build();
            rt.spawn(pending::<()>());
            rt.spawn(sleep(Duration::from_secs(3600)));
            rt.block_on(async {
                spawn(async {}).await.unwrap();
                submit(double, 1).await.unwrap();
            });
            KEPT.with(|k| *k.borrow_mut() = Some(rt));
        })
        .join()
        .unwrap();
        // The thread is joined, its thread-locals destroyed: the runtime is all gone.
        assert_released(fds, "after the thread-local teardown");
        done += 1;
    }
    println!("TLS-TEARDOWN-OK {done}");
}
