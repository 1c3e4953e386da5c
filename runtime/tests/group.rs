//! `TaskGroup`: values in spawn order; the first failure cancels the siblings (and later
//! spawns); every failure is reported; dropping the group, or cancelling the task that
//! owns it, cancels its tasks.

#[macro_use]
mod support;

use std::future::pending;
use std::time::Duration;

use runtime::{now, sleep, spawn, yield_now, Mode, Runtime, TaskFailure, TaskGroup};
use support::{counted, yield_until, Counts, Flag};

rt_test! {
    fn values_come_back_in_spawn_order(rt: &Runtime) {
        let out = rt.block_on(async {
            let tg = TaskGroup::<usize, ()>::new();
            for i in 0..5 {
                tg.spawn(async move {
                    for _ in 0..(10 - 2 * i) {
                        yield_now().await;
                    }
                    Ok(i)
                }).unwrap();
            }
            tg.join().await
        });
        let values: Vec<usize> = out.unwrap().into_iter().filter_map(runtime::Slot::value).collect();
        assert_eq!(values, vec![0, 1, 2, 3, 4]);
        let empty = rt.block_on(TaskGroup::<(), ()>::new().join());
        assert!(empty.unwrap().is_empty());
    }

    fn a_panic_is_reported_as_a_failure(rt: &Runtime) {
        let err = rt.block_on(async {
            let tg = TaskGroup::<(), String>::new();
            tg.spawn(async {
                yield_now().await;
                panic!("member panicked")
            }).unwrap();
            tg.join().await.unwrap_err()
        });
        assert_eq!(err.errors().len(), 1);
        match &err.errors()[0] {
            TaskFailure::Panic(e) => assert_eq!(e.panic_message(), Some("member panicked")),
            other => panic!("expected a panic, got {other}"),
        }
        assert!(err.to_string().contains("member panicked"), "{err}");
    }

    fn dropping_the_group_cancels_its_tasks(rt: &Runtime) {
        rt.block_on(async {
            let tg = TaskGroup::<(), ()>::new();
            let mut counts = Vec::new();
            for _ in 0..3 {
                let (fut, c) = counted(async {
                    pending::<()>().await;
                    Ok(())
                });
                tg.spawn(fut).unwrap();
                counts.push(c);
            }
            yield_until("members suspended", || counts.iter().all(|c| c.polls() == 1)).await;
            drop(tg);
            yield_until("members dropped", || counts.iter().all(|c| c.drops() == 1)).await;
            let h = runtime::Handle::current().unwrap();
            yield_until("members unlisted", || h.all_tasks().is_empty()).await;
        });
    }

    fn cancelling_the_owner_cancels_the_group(rt: &Runtime) {
        rt.block_on(async {
            let (members_tx, members) = runtime::settable::<Vec<Counts>>();
            let owner = spawn(async move {
                let tg = TaskGroup::<(), ()>::new();
                let mut counts = Vec::new();
                for _ in 0..3 {
                    let (fut, c) = counted(async {
                        pending::<()>().await;
                        Ok(())
                    });
                    tg.spawn(fut).unwrap();
                    counts.push(c);
                }
                members_tx.set(counts).unwrap();
                tg.join().await
            });
            let counts = members.await.unwrap();
            yield_until("members suspended", || counts.iter().all(|c| c.polls() == 1)).await;
            assert!(owner.cancel());
            assert!(owner.await.unwrap_err().is_cancelled());
            yield_until("members dropped", || counts.iter().all(|c| c.drops() == 1)).await;
        });
    }

    fn every_failure_is_reported(rt: &Runtime) {
        let err = rt.block_on(async {
            let tg = TaskGroup::<u8, &str>::new();
            let mode = runtime::Handle::current().unwrap().mode();
            if mode == Mode::Gil {
                // Two workers schedule in parallel while the GIL serialises what runs: either
                // member may fail first, and the other is then cancelled or fails too.
                tg.spawn(async { Err("first") }).unwrap();
                tg.spawn(async move {
                    yield_now().await;
                    Err("second")
                }).unwrap();
                let err = tg.join().await.unwrap_err();
                let msgs: Vec<String> = err.errors().iter().map(|e| e.to_string()).collect();
                assert!(!msgs.is_empty());
                assert_eq!(msgs.len() + err.cancelled(), 2, "{msgs:?}");
                err
            } else if mode != Mode::Threads {
                // One loop: the first failure cancels the other member before it can fail
                // (asyncio does the same).
                let second_failed = Flag::new();
                let f = second_failed.clone();
                tg.spawn(async { Err("first") }).unwrap();
                tg.spawn(async move {
                    yield_now().await;
                    f.set();
                    Err("second")
                }).unwrap();
                let err = tg.join().await.unwrap_err();
                assert!(!second_failed.get());
                assert_eq!(err.cancelled(), 1);
                err
            } else {
                // Parallel mode: both members are mid-poll when one fails. The other is
                // either reported failed too, or (if the cancel landed during its last
                // poll) cancelled, as asyncio reports a task cancelled during its final
                // step. Either way nothing is lost: 2 members, 2 outcomes.
                let meet = support::Rendezvous::new(2);
                let m = meet.clone();
                tg.spawn(async move {
                    assert!(m.wait(Duration::from_secs(30)));
                    Err("first")
                }).unwrap();
                tg.spawn(async move {
                    assert!(meet.wait(Duration::from_secs(30)));
                    Err("second")
                }).unwrap();
                let err = tg.join().await.unwrap_err();
                let msgs: Vec<String> = err.errors().iter().map(|e| e.to_string()).collect();
                assert!(!msgs.is_empty());
                assert!(msgs.iter().all(|m| m == "first" || m == "second"), "{msgs:?}");
                assert_eq!(msgs.len() + err.cancelled(), 2, "{msgs:?}");
                err
            }
        });
        let TaskFailure::Error(first) = &err.errors()[0] else {
            panic!("a task failure, not a panic: {err}");
        };
        assert!(err.to_string().contains(first), "{err}");
    }
}

rt_test_virtual! {
    fn first_failure_cancels_the_siblings(rt: &Runtime) {
        rt.block_on(async {
            let start = now();
            let tg = TaskGroup::<u32, &str>::new();
            let mut siblings = Vec::new();
            for _ in 0..2 {
                let (fut, c) = counted(async {
                    sleep(Duration::from_secs(60)).await;
                    Ok(1)
                });
                tg.spawn(fut).unwrap();
                siblings.push(c);
            }
            tg.spawn(async {
                sleep(Duration::from_secs(1)).await;
                Err("db down")
            }).unwrap();
            let err = tg.join().await.unwrap_err();
            // The group ended when the failure cancelled the sleepers, not after 60 s.
            assert_eq!(now() - start, Duration::from_secs(1));
            assert_eq!(err.errors().len(), 1);
            assert!(matches!(err.errors()[0], TaskFailure::Error("db down")));
            assert_eq!(err.cancelled(), 2);
            for c in &siblings {
                assert_eq!(c.drops(), 1);
                assert!(!c.completed());
            }
        });
    }
}

rt_test_loop! {
    fn spawning_after_a_failure_is_refused(rt: &Runtime) {
        rt.block_on(async {
            let tg = TaskGroup::<(), &str>::new();
            let failed = Flag::new();
            let f = failed.clone();
            tg.spawn(async move {
                f.set();
                Err("boom")
            }).unwrap();
            yield_until("the failure", || failed.get()).await;
            yield_now().await;
            // The group has failed: it is shutting down, and a new member is refused
            // (asyncio: RuntimeError), its future dropped unrun.
            let (fut, c): (_, Counts) = counted(async {
                pending::<()>().await;
                Ok(())
            });
            assert_eq!(tg.spawn(fut).unwrap_err(), runtime::GroupClosed::ShuttingDown);
            let err = tg.join().await.unwrap_err();
            assert_eq!(err.errors().len(), 1);
            assert_eq!(err.cancelled(), 0);
            assert_eq!(c.polls(), 0);
            assert_eq!(c.drops(), 1);
            let _ = spawn(async {}).await;
        });
    }
}
