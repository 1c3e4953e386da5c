//! The fuller `TaskGroup`: `spawn` returns a handle and takes a name; a child spawns into
//! its own group through a `GroupHandle`; a group that is shutting down or finished
//! refuses spawns; `join` keeps one slot per child in spawn order.

#[macro_use]
mod support;

use std::future::pending;

use runtime::{yield_now, GroupClosed, Mode, Runtime, Slot, TaskGroup, TaskState};
use support::yield_until;

rt_test! {
    fn spawn_returns_a_named_handle(rt: &Runtime) {
        rt.block_on(async {
            let tg = TaskGroup::<u8, ()>::new();
            let t = tg.spawn_named("fetch", async { Ok(1) }).unwrap();
            let u = tg.spawn(async { Ok(2) }).unwrap();
            assert_eq!(t.name(), Some("fetch"));
            assert_eq!(u.name(), None);
            assert_ne!(t.id(), u.id());
            assert_eq!(tg.join().await.unwrap(), vec![Slot::Value(1), Slot::Value(2)]);
            assert_eq!(t.state(), TaskState::Done);
        });
    }

    fn a_child_spawns_siblings_through_the_group_handle(rt: &Runtime) {
        rt.block_on(async {
            let tg = TaskGroup::<u32, ()>::new();
            let h = tg.handle();
            tg.spawn(async move {
                yield_now().await;
                // Spawned while the parent is already joining: the join waits for it.
                let h2 = h.clone();
                h.spawn(async move {
                    h2.spawn(async { Ok(3) }).unwrap();
                    Ok(2)
                })
                .unwrap();
                Ok(1)
            })
            .unwrap();
            let slots = tg.join().await.unwrap();
            assert_eq!(slots, vec![Slot::Value(1), Slot::Value(2), Slot::Value(3)]);
        });
    }

    fn a_finished_group_refuses_spawns(rt: &Runtime) {
        rt.block_on(async {
            let tg = TaskGroup::<(), ()>::new();
            let h = tg.handle();
            tg.spawn(async { Ok(()) }).unwrap();
            tg.join().await.unwrap();
            assert_eq!(h.spawn(async { Ok(()) }).unwrap_err(), GroupClosed::Finished);
            let dropped = TaskGroup::<(), ()>::new();
            let h = dropped.handle();
            drop(dropped);
            assert_eq!(h.spawn(async { Ok(()) }).unwrap_err(), GroupClosed::Finished);
        });
    }

    fn a_failed_group_refuses_spawns_from_its_children(rt: &Runtime) {
        let mode = rt.mode();
        rt.block_on(async {
            let tg = TaskGroup::<(), &str>::new();
            let h = tg.handle();
            let (tx, refused) = runtime::settable::<GroupClosed>();
            tg.spawn(async { Err("boom") }).unwrap();
            // A shielded witness outlives the group's cancellation and tries to spawn
            // into it once the failure is known.
            let witness = runtime::shield(async move {
                loop {
                    match h.spawn(async { Ok(()) }) {
                        Err(e) => return tx.set(e).unwrap(),
                        Ok(t) => {
                            t.cancel();
                        }
                    }
                    yield_now().await;
                }
            });
            let err = tg.join().await.unwrap_err();
            assert_eq!(err.errors().len(), 1);
            let why = refused.await.unwrap();
            if matches!(mode, Mode::Single | Mode::Processes) {
                // One loop: the witness runs before the join can finish.
                assert_eq!(why, GroupClosed::ShuttingDown);
            } else {
                // In parallel the join may already have finished: refused either way.
                assert!(matches!(why, GroupClosed::ShuttingDown | GroupClosed::Finished));
            }
            witness.await.unwrap();
        });
    }

    fn a_cancelled_child_keeps_its_slot(rt: &Runtime) {
        rt.block_on(async {
            let tg = TaskGroup::<u8, ()>::new();
            tg.spawn(async { Ok(1) }).unwrap();
            let stuck = tg.spawn(pending()).unwrap();
            tg.spawn(async { Ok(3) }).unwrap();
            yield_until("the stuck child started", || stuck.state() == TaskState::Pending).await;
            assert!(stuck.cancel());
            let slots = tg.join().await.unwrap();
            assert_eq!(slots, vec![Slot::Value(1), Slot::Cancelled, Slot::Value(3)]);
        });
    }
}
