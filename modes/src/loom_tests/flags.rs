//! Task flags: cancel vs completion, done-callback vs completion.

use std::sync::atomic::Ordering;

use loom::sync::atomic::AtomicUsize;
use loom::sync::Arc;
use loom::thread;

use crate::task::state::{CancelRequest, TaskFlags, TaskState};

#[test]
fn callback_added_during_completion_runs_exactly_once() {
    loom::model(|| {
        let flags = Arc::new(TaskFlags::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let (f2, r2) = (flags.clone(), runs.clone());
        let adder = thread::spawn(move || {
            let cb = Box::new(move |_: &(dyn std::any::Any + Send)| {
                r2.fetch_add(1, Ordering::SeqCst);
            });
            if let Some(cb) = f2.push_callback(cb) {
                cb(&());
            }
        });
        for cb in flags.mark_done() {
            cb(&());
        }
        adder.join().unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flags.state(), TaskState::Done);
    });
}

#[test]
fn two_callbacks_and_completion() {
    loom::model(|| {
        let flags = Arc::new(TaskFlags::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut adders = Vec::new();
        for _ in 0..2 {
            let (f2, r2) = (flags.clone(), runs.clone());
            adders.push(thread::spawn(move || {
                let cb = Box::new(move |_: &(dyn std::any::Any + Send)| {
                    r2.fetch_add(1, Ordering::SeqCst);
                });
                if let Some(cb) = f2.push_callback(cb) {
                    cb(&());
                }
            }));
        }
        for cb in flags.mark_done() {
            cb(&());
        }
        for a in adders {
            a.join().unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn cancel_vs_completion() {
    loom::model(|| {
        let flags = Arc::new(TaskFlags::new());
        let f2 = flags.clone();
        let canceller = thread::spawn(move || f2.request_cancel() == CancelRequest::First);
        let done_first = flags.mark_done().is_empty();
        let needs_wake = canceller.join().unwrap();
        assert!(done_first);
        // A cancel that reports "wake needed" must have come before completion; either
        // way the task ends done, and a second cancel never asks for a wake.
        assert_eq!(flags.state(), TaskState::Done);
        assert_eq!(flags.request_cancel(), CancelRequest::Done);
        let _ = needs_wake;
    });
}

#[test]
fn concurrent_cancels_wake_once() {
    loom::model(|| {
        let flags = Arc::new(TaskFlags::new());
        let f2 = flags.clone();
        let t = thread::spawn(move || f2.request_cancel() == CancelRequest::First);
        let a = flags.request_cancel() == CancelRequest::First;
        let b = t.join().unwrap();
        assert!(a ^ b, "exactly one canceller wakes the task");
        assert_eq!(flags.state(), TaskState::Cancelling);
        assert_eq!(flags.cancelling(), 2, "both requests counted");
    });
}

#[test]
fn uncancel_vs_cancel_keeps_count_and_bit_together() {
    loom::model(|| {
        let flags = Arc::new(TaskFlags::new());
        let _ = flags.request_cancel();
        let f2 = flags.clone();
        let t = thread::spawn(move || f2.request_cancel());
        let left = flags.uncancel();
        let _ = t.join().unwrap();
        // Whatever the order, one request is left, and so the cancel stays pending.
        assert_eq!(flags.cancelling(), 1);
        assert!(left <= 1);
        assert_eq!(flags.state(), TaskState::Cancelling);
    });
}
