//! Model checks of the concurrent core, run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p modes --release --lib loom_tests`.
//!
//! Each file checks one protocol exhaustively over thread interleavings: the task flags
//! (wake during poll is async-task's; ours are cancel vs completion and done-callback vs
//! completion), the park/unpark state machine, the GIL hand-off, the idle-worker wake
//! rule, the io_uring operation cell (completion vs poll vs drop), and the ring's
//! remote-submission park protocol.

mod flags;
mod gil;
mod idle;
mod op;
mod park;
mod ring_park;
