//! The `loom` shim: std's sync types normally, loom's under `--cfg loom`, so the
//! concurrent protocols (task flags, parking, the idle-worker set) can be model-checked
//! by the tests in `modes/tests/loom_*.rs`.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicUsize};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex};
