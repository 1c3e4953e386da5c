//! Peer runtimes that run the same workload code as the modes, for comparison in the same
//! run: tokio (`current_thread` and `multi_thread`) and async-executor with async-io timers
//! (the parts smol is made of). The Python peers live in `scripts/peers/`.

pub mod smol;
pub mod tokio;
