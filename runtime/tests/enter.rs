//! tokio's conveniences: `Runtime::enter`/`Handle::enter` make `spawn` work from plain
//! code; `Handle::block_on` runs a future from a thread outside the runtime.

#[macro_use]
mod support;

use std::time::Duration;

use runtime::{spawn, Handle, Runtime};

rt_test! {
    fn enter_makes_spawn_work_from_plain_code(rt: &Runtime) {
        assert!(Handle::current().is_none());
        let t = {
            let _g = rt.enter();
            assert!(Handle::current().is_some());
            let _inner = rt.handle().enter(); // guards nest
            spawn(async { 5 })
        };
        assert!(Handle::current().is_none(), "the guard restored no runtime");
        assert_eq!(t.join().unwrap(), 5);
    }

    fn handle_block_on_from_another_thread(rt: &Runtime) {
        let h = rt.handle();
        let v = std::thread::spawn(move || {
            h.block_on(async {
                runtime::sleep(Duration::from_millis(2)).await;
                spawn(async { 20 }).await.unwrap() + 1
            })
        })
        .join()
        .unwrap();
        assert_eq!(v, 21);
    }

    fn handle_block_on_while_the_loop_runs_elsewhere(rt: &Runtime) {
        let (setter, done) = runtime::settable::<u32>();
        let h = rt.handle();
        let other = std::thread::spawn(move || {
            let v = h.block_on(async {
                runtime::sleep(Duration::from_millis(5)).await;
                spawn(async { 7 }).await.unwrap()
            });
            setter.set(v).unwrap();
        });
        // This thread runs the loop (in Single) meanwhile, until the other thread is done.
        assert_eq!(rt.block_on(done), Ok(7));
        other.join().unwrap();
    }

    fn handle_block_on_inside_the_runtime_is_refused(rt: &Runtime) {
        let h = rt.handle();
        let refused = rt.block_on(async move {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.block_on(async {})))
                .is_err()
        });
        assert!(refused);
    }
}
