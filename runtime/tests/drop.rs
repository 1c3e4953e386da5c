//! Dropping a runtime with work pending: every task's future is dropped exactly once (on
//! the dropping thread), queued blocking jobs are dropped unrun, the drop returns (no
//! hang, even with a blocking job still running), and join handles then report
//! cancelled. Also: tasks spawned from a destructor during shutdown, and a handle used
//! after the runtime is gone.

#[macro_use]
mod support;

use std::future::pending;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use runtime::{settable, sleep, spawn, Builder, Handle, JoinHandle, Setter};
use support::{counted, drop_runtime, yield_until, Counts, DropCount, Flag, Log};

const HOUR: Duration = Duration::from_secs(3600);

/// Runs `f` when dropped.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

rt_test! {
    fn dropping_the_runtime_drops_every_pending_future_once(b: Builder) {
        let rt = b.build().unwrap();
        // Blocked on a timer, forever, on a settable whose setter lives on (in the test),
        // on a settable whose setter is held by another blocked task.
        let (kept_setter, never_set) = settable::<()>();
        let (inner_setter, inner) = settable::<()>();
        let futs: Vec<(&str, BoxFut)> = vec![
            ("sleep", Box::pin(async { sleep(HOUR).await })),
            ("pending", Box::pin(pending::<()>())),
            ("settable", Box::pin(async move {
                let _ = never_set.await;
            })),
            ("setter holder", Box::pin(async move {
                let _keep: Setter<()> = inner_setter;
                pending::<()>().await
            })),
            ("settable 2", Box::pin(async move {
                let _ = inner.await;
            })),
        ];
        let mut counts: Vec<(&str, Counts)> = Vec::new();
        let mut handles: Vec<JoinHandle<()>> = Vec::new();
        for (what, fut) in futs {
            let (fut, c) = counted(fut);
            counts.push((what, c));
            handles.push(rt.spawn(fut));
        }
        // A chain: each awaits the previous one's handle.
        let (first, first_counts) = counted(pending::<()>());
        let mut prev = rt.spawn(first);
        counts.push(("chain 0", first_counts));
        for _ in 0..3 {
            let (fut, c) = counted(async move {
                let _ = prev.await;
            });
            counts.push(("chain", c));
            prev = rt.spawn(fut);
        }
        handles.push(prev);
        // A cycle: x awaits y's handle and y awaits x's.
        let (x_setter, x_handle) = settable::<JoinHandle<()>>();
        let (y_fut, y_counts) = counted(async move {
            let x = x_handle.await.unwrap();
            let _ = x.await;
        });
        let y = rt.spawn(y_fut);
        let y_ref = y.task_ref().unwrap();
        let (x_fut, x_counts) = counted(async move {
            let _ = y.await;
        });
        let x = rt.spawn(x_fut);
        let x_ref = x.task_ref().unwrap();
        x_setter.set(x).unwrap();
        counts.push(("cycle x", x_counts));
        counts.push(("cycle y", y_counts));

        // Let everything reach its await.
        rt.block_on(async {
            yield_until("all polled", || counts.iter().all(|(_, c)| c.polls() >= 1)).await
        });
        // And one spawned just before the drop (never polled, in Single).
        let (late, late_counts) = counted(pending::<()>());
        handles.push(rt.spawn(late));

        assert!(rt.all_tasks().len() >= counts.len());
        drop_runtime(rt);

        for (what, c) in &counts {
            assert_eq!(c.drops(), 1, "{what}: dropped {} times", c.drops());
            assert!(!c.completed(), "{what} completed");
        }
        assert_eq!(late_counts.drops(), 1);
        for h in handles {
            let err = h.join().unwrap_err();
            assert!(err.is_cancelled(), "{err}");
        }
        for r in [x_ref, y_ref] {
            assert_eq!(r.state(), runtime::TaskState::Done);
            assert!(!r.cancel());
        }
        drop(kept_setter);
    }

    fn dropping_the_runtime_drops_queued_blocking_jobs_unrun(b: Builder) {
        let rt = b.max_blocking_threads(1).build().unwrap();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let started = Flag::new();
        let s = started.clone();
        let running = rt.spawn_blocking(move || {
            s.set();
            release_rx.recv_timeout(support::WATCHDOG).is_ok()
        });
        support::wait_until("the first job started", || started.get());
        let ran = Log::new();
        let dropped = DropCount::new();
        let queued: Vec<_> = (0..4)
            .map(|i| {
                let (r, guard) = (ran.clone(), dropped.guard());
                rt.spawn_blocking(move || {
                    let _guard = guard;
                    r.push(i)
                })
            })
            .collect();
        // A task waiting for a queued job.
        let (waiter, waiter_counts) = counted(async move {
            let _ = runtime::spawn_blocking(|| ()).await;
        });
        let waiter = rt.spawn(waiter);
        rt.block_on(yield_until("the waiter polled", || waiter_counts.polls() == 1));

        // The drop returns although a blocking job is still running.
        drop_runtime(rt);
        assert!(ran.get().is_empty(), "queued jobs ran: {:?}", ran.get());
        assert_eq!(dropped.get(), 4, "each queued closure is dropped exactly once");
        for h in queued {
            assert!(h.join().unwrap_err().is_cancelled());
        }
        assert!(waiter.join().unwrap_err().is_cancelled());
        assert_eq!(waiter_counts.drops(), 1);
        // The running job was not cancelled under its feet: it finishes when released.
        release_tx.send(()).unwrap();
        assert!(running.join().unwrap());
    }

    fn futures_are_dropped_on_the_dropping_thread(b: Builder) {
        let rt = b.build().unwrap();
        let dropped_on = Log::new();
        let mut counts = Vec::new();
        for _ in 0..3 {
            let d = dropped_on.clone();
            let (fut, c) = counted(async move {
                let _g = OnDrop(move || d.push(thread::current().id()));
                pending::<()>().await
            });
            rt.spawn(fut);
            counts.push(c);
        }
        rt.block_on(yield_until("all polled", || counts.iter().all(|c| c.polls() == 1)));
        let (tx, rx) = std::sync::mpsc::channel();
        let dropper = thread::spawn(move || {
            drop(rt);
            tx.send(thread::current().id()).unwrap();
        });
        let dropper_id = rx.recv_timeout(support::WATCHDOG / 2).expect("the drop returned");
        dropper.join().unwrap();
        assert_eq!(dropped_on.get(), vec![dropper_id; 3]);
    }

    fn tasks_spawned_by_destructors_during_shutdown(b: Builder) {
        let rt = b.build().unwrap();
        let spawned: Arc<Mutex<Vec<Spawned>>> = Arc::default();
        let blocking_ran = Flag::new();
        let blocking_dropped = DropCount::new();
        let (s, h) = (spawned.clone(), rt.handle());
        let (br, bd) = (blocking_ran.clone(), blocking_dropped.clone());
        let (fut, counts) = counted(async move {
            let _g = OnDrop(move || {
                // Through the current runtime, as library code in a destructor would...
                let (fut, c) = counted(async {});
                let t = spawn(fut);
                s.lock().unwrap().push((t, c));
                // ...and through a handle kept from earlier.
                let (fut, c) = counted(async {});
                s.lock().unwrap().push((h.spawn(fut), c));
                let (br, guard) = (br.clone(), bd.guard());
                drop(Handle::current().unwrap().spawn_blocking(move || {
                    let _guard = guard;
                    br.set();
                }));
            });
            pending::<()>().await
        });
        rt.spawn(fut);
        rt.block_on(yield_until("polled", || counts.polls() == 1));
        drop_runtime(rt);
        let spawned = std::mem::take(&mut *spawned.lock().unwrap());
        assert_eq!(spawned.len(), 2, "the destructor ran once");
        for (t, c) in spawned {
            assert!(t.join().unwrap_err().is_cancelled());
            assert_eq!((c.polls(), c.drops()), (0, 1), "a task spawned during shutdown never runs");
        }
        assert!(!blocking_ran.get());
        assert_eq!(blocking_dropped.get(), 1);
    }

    fn handle_used_after_the_runtime_is_gone(b: Builder) {
        let rt = b.build().unwrap();
        let h = rt.handle();
        drop_runtime(rt);
        let (fut, c) = counted(async { 1 });
        let t = h.spawn(fut);
        assert!(t.join().unwrap_err().is_cancelled());
        assert_eq!((c.polls(), c.drops()), (0, 1));
        let ran = Flag::new();
        let r = ran.clone();
        let t = h.spawn_blocking(move || r.set());
        assert!(t.join().unwrap_err().is_cancelled());
        assert!(!ran.get());
        let dropped = DropCount::new();
        let guard = dropped.guard();
        h.call_soon(move || drop(guard));
        assert_eq!(dropped.get(), 1, "a callback queued after shutdown is dropped at once");
    }

    fn dropping_an_idle_runtime_and_one_never_driven(b: Builder) {
        drop_runtime(b.clone().build().unwrap());
        let rt = b.build().unwrap();
        let (fut, c) = counted(pending::<()>());
        let t = rt.spawn(fut);
        drop_runtime(rt);
        assert!(t.join().unwrap_err().is_cancelled());
        assert_eq!(c.drops(), 1);
    }
}

rt_test_loop! {
    fn a_task_never_polled_is_dropped_unpolled(b: Builder) {
        // One loop only runs inside block_on/run_forever/join: this task never ran.
        let rt = b.build().unwrap();
        let (fut, c) = counted(async {});
        let t = rt.spawn(fut);
        drop_runtime(rt);
        assert!(t.join().unwrap_err().is_cancelled());
        assert_eq!((c.polls(), c.drops()), (0, 1));
    }
}

/// A task spawned by a destructor, and its future's counts.
type Spawned = (JoinHandle<()>, Counts);

type BoxFut = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
