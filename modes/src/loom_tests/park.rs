//! The park/unpark state machine (plain park): no wake is lost, whatever the timing.

use loom::thread;

use crate::park::plain::PlainParker;
use crate::park::Unparker;

#[test]
fn unpark_before_or_during_park() {
    loom::model(|| {
        let (parker, inner) = PlainParker::new();
        let unparker = Unparker(inner);
        let t = thread::spawn(move || unparker.unpark());
        // Must return whether the unpark lands before, during or after this call.
        parker.park(None);
        t.join().unwrap();
    });
}

#[test]
fn two_unparks_one_park_then_park_again_returns() {
    loom::model(|| {
        let (parker, inner) = PlainParker::new();
        let u1 = Unparker(inner);
        let u2 = u1.clone();
        let a = thread::spawn(move || u1.unpark());
        parker.park(None);
        a.join().unwrap();
        let b = thread::spawn(move || u2.unpark());
        parker.park(None);
        b.join().unwrap();
    });
}
