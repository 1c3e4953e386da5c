//! Introspection: `all_tasks()` lists live tasks with their names and states (Pending,
//! Running, Cancelling), finished tasks disappear, a `TaskRef` cancels from another
//! thread; handles report ids, names and states; `park_backend()` matches the
//! configuration.

#[macro_use]
mod support;

use std::future::pending;
use std::thread;
use std::time::Duration;

use runtime::{sleep, spawn, spawn_named, Handle, ParkBackend, Runtime, TaskRef, TaskState};
use support::{counted, yield_until, Flavor};

/// The live task called `name`.
fn find(name: &str) -> Option<TaskRef> {
    Handle::current()
        .unwrap()
        .all_tasks()
        .into_iter()
        .find(|t| t.name() == Some(name))
}

rt_test! {
    fn metrics_are_current_while_the_loop_runs(rt: &Runtime) {
        rt.block_on(async {
            let tasks: Vec<_> = (0..200).map(|_| spawn(async {})).collect();
            for t in tasks {
                t.await.unwrap();
            }
            // Published while the loop runs (every iteration in Single, every 61 ticks or
            // at a park in a pool), not only once it goes idle: this loop never parks.
            let polls = || rt.metrics().workers.iter().map(|w| w.polls).sum::<u64>();
            yield_until("200 polls counted", || polls() >= 200).await;
        });
    }

    fn park_backend_matches_the_configuration(rt: &Runtime, flavor: Flavor) {
        match (flavor.io_uring, rt.park_backend()) {
            (false, ParkBackend::Plain { reason }) => {
                assert!(reason.contains("disabled"), "{reason}")
            }
            (true, ParkBackend::IoUring) => {}
            (true, ParkBackend::Plain { reason }) => {
                // Allowed only when the kernel refuses io_uring, and then it says why.
                assert!(!reason.contains("disabled by configuration"), "{reason}");
            }
            (false, other) => panic!("io_uring(false) parks on {other}"),
        }
        let shown = rt.park_backend().to_string();
        assert!(shown == "io_uring" || shown.starts_with("plain park ("), "{shown}");
    }

    fn all_tasks_lists_live_tasks_with_names_and_states(rt: &Runtime) {
        assert!(rt.all_tasks().is_empty());
        rt.block_on(async {
            let sleeper = spawn_named("sleeper", sleep(Duration::from_secs(3600)));
            let waiter = spawn_named("waiter", pending::<()>());
            let anon = spawn(pending::<()>());
            let tasks = Handle::current().unwrap().all_tasks();
            let mut ids: Vec<_> = tasks.iter().map(|t| t.id()).collect();
            ids.sort();
            let mut want = vec![sleeper.id(), waiter.id(), anon.id()];
            want.sort();
            assert_eq!(ids, want);
            for t in &tasks {
                assert!(matches!(t.state(), TaskState::Pending | TaskState::Running), "{t:?}");
            }
            yield_until("all suspended", || tasks.iter().all(|t| t.state() == TaskState::Pending))
                .await;
            let by_id = |id| tasks.iter().find(|t| t.id() == id).unwrap();
            assert_eq!(by_id(sleeper.id()).name(), Some("sleeper"));
            assert_eq!(by_id(waiter.id()).name(), Some("waiter"));
            assert_eq!(by_id(anon.id()).name(), None);
            assert!(format!("{:?}", by_id(waiter.id())).contains("waiter"));
            for t in [sleeper, waiter, anon] {
                t.cancel();
                assert!(t.await.unwrap_err().is_cancelled());
            }
            assert!(Handle::current().unwrap().all_tasks().is_empty(), "cancelled tasks are gone");
        });
    }

    fn a_task_sees_itself_running(rt: &Runtime) {
        let state = rt.block_on(async {
            spawn_named("inspector", async { find("inspector").map(|t| t.state()) })
                .await
                .unwrap()
        });
        assert_eq!(state, Some(TaskState::Running));
    }

    fn finished_tasks_disappear(rt: &Runtime) {
        rt.block_on(async {
            let t = spawn_named("short", async { 1 });
            let id = t.id();
            assert_eq!(t.await.unwrap(), 1);
            let h = Handle::current().unwrap();
            assert!(h.all_tasks().iter().all(|t| t.id() != id), "a finished task is listed");
            let p = spawn_named("panics", async { panic!("gone") });
            let _ = p.await;
            assert!(find("panics").is_none());
            assert!(h.all_tasks().is_empty());
        });
        assert!(rt.all_tasks().is_empty());
    }

    fn task_ref_cancels_from_another_thread(rt: &Runtime) {
        rt.block_on(async {
            let (victim, counts) = counted(pending::<()>());
            let t = spawn_named("victim", victim);
            yield_until("the victim suspended", || counts.polls() == 1).await;
            let r = find("victim").expect("listed");
            assert_eq!(r.id(), t.id());
            // The loop parks (nothing to run) until the other thread's cancel wakes it.
            let canceller = thread::spawn(move || {
                thread::sleep(Duration::from_millis(10));
                (r.cancel(), r.cancel())
            });
            assert!(t.await.unwrap_err().is_cancelled());
            let (first, _second) = canceller.join().unwrap();
            // The second cancel is counted (true) if it came before the task finished
            // (asyncio 3.11), false after: the loop thread races it, so either is right.
            assert!(first);
            assert_eq!(counts.drops(), 1);
        });
    }

    fn handles_report_ids_names_and_where_spawned(rt: &Runtime) {
        rt.block_on(async {
            let a = spawn_named("a", pending::<()>());
            let b = spawn(pending::<()>());
            let c = rt_spawn_named(&Handle::current().unwrap());
            assert_eq!((a.name(), b.name(), c.name()), (Some("a"), None, Some("via handle")));
            assert!(a.id() < b.id() && b.id() < c.id(), "ids grow in spawn order");
            assert_ne!(a.id().as_u64(), b.id().as_u64());
            let r = a.task_ref().unwrap();
            assert_eq!(r.id(), a.id());
            assert!(r.spawned_at().file().ends_with("introspection.rs"), "{}", r.spawned_at());
            for t in [a, b, c] {
                t.cancel();
                let _ = t.await;
            }
        });
    }

    fn blocking_jobs_are_listed_while_they_run(rt: &Runtime) {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let started = support::Flag::new();
        let s = started.clone();
        let job = rt.spawn_blocking(move || {
            s.set();
            let _ = rx.recv_timeout(support::WATCHDOG / 4);
        });
        support::wait_until("the job started", || started.get());
        let listed = rt.all_tasks().iter().any(|t| t.id() == job.id());
        assert!(listed, "a running blocking job is not listed");
        tx.send(()).unwrap();
        job.join().unwrap();
        assert!(rt.all_tasks().is_empty());
    }
}

rt_test_loop! {
    fn cancelled_task_shows_cancelling_until_it_runs(rt: &Runtime) {
        rt.block_on(async {
            let (fut, counts) = counted(pending::<()>());
            let t = spawn_named("doomed", fut);
            yield_until("suspended", || counts.polls() == 1).await;
            let r = find("doomed").unwrap();
            assert_eq!(r.state(), TaskState::Pending);
            assert!(t.cancel());
            // Nothing has run since: the loop has not dropped it yet.
            assert_eq!(r.state(), TaskState::Cancelling);
            assert_eq!(t.state(), TaskState::Cancelling);
            assert!(find("doomed").is_some(), "still listed until its future is dropped");
            assert!(t.await.unwrap_err().is_cancelled());
            assert_eq!(r.state(), TaskState::Done);
            assert!(find("doomed").is_none());
        });
    }
}

/// Spawns through a `Handle`, to check that path records names too.
#[track_caller]
fn rt_spawn_named(h: &Handle) -> runtime::JoinHandle<()> {
    h.spawn_named("via handle", pending::<()>())
}
