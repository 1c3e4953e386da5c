//! The park/unpark state machine (plain park): no wake is lost, whatever the timing.

use loom::thread;

use crate::driver::park::{park_plain, Unparker};

#[test]
fn unpark_before_or_during_park() {
    loom::model(|| {
        let parker = Unparker::condvar();
        let unparker = parker.clone();
        let t = thread::spawn(move || unparker.unpark());
        // Must return whether the unpark lands before, during or after this call.
        park_plain(&parker, None);
        t.join().unwrap();
    });
}

#[test]
fn two_unparks_one_park_then_park_again_returns() {
    loom::model(|| {
        let parker = Unparker::condvar();
        let u1 = parker.clone();
        let u2 = u1.clone();
        let a = thread::spawn(move || u1.unpark());
        park_plain(&parker, None);
        a.join().unwrap();
        let b = thread::spawn(move || u2.unpark());
        park_plain(&parker, None);
        b.join().unwrap();
    });
}
