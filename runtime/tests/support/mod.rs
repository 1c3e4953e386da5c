//! Shared test support: the `rt_test!` family of macros, which run the same test bodies
//! under every runtime configuration, and small counting helpers.
//!
//! # The macros
//!
//! Write test bodies as plain functions taking one of
//! - `rt: &Runtime` (the runtime is built for you and dropped after the body),
//! - `rt: &Runtime, flavor: Flavor` (the same, and which configuration this is),
//! - `b: Builder` (a builder for the configuration, for tests that tune or drop it),
//!
//! and wrap them in a macro. Each macro emits the functions once and one module per
//! configuration, each holding one `#[test]` per function:
//!
//! | macro | modules (one per configuration) | for tests that hold in |
//! |---|---|---|
//! | `rt_test!` | `single_uring`, `single_plain`, `threads`, `gil`, `processes` | every mode |
//! | `rt_test_loop!` | `loop_single_uring`, `loop_single_plain`, `loop_processes` | modes where one thread runs the loop, so FIFO and `stop()` order are exact |
//! | `rt_test_io!` | `single_uring`, `single_ready`, `threads_uring`, `threads_ready`, `gil`, `processes` | I/O, under both I/O backends |
//! | `rt_test_virtual!` | `virtual_single_uring`, `virtual_single_plain`, `virtual_processes` | `Clock::Virtual` (Single, and the parent's loop in Processes) |
//!
//! `processes` is `Mode::Processes` with 2 worker processes: the parent runs a `Single`
//! loop, so every test body holds there too; only `submit` (and `map`, `submit_async`)
//! sends work to the workers, so functions submitted in shared test bodies must not rely
//! on side effects in the test's own memory.
//!
//! `cargo test -p runtime --test cancel single_plain` runs one configuration.
//!
//! Every generated test runs its body on a fresh thread under a watchdog: a body that
//! hangs fails after [`WATCHDOG`] instead of blocking the suite, and a body that panics
//! inside `block_on` does not then hang in the runtime's drop (the runtime is leaked
//! instead; see the bug note on [`run`]).
//!
//! ```ignore
//! #[macro_use]
//! mod support;
//! use runtime::Runtime;
//!
//! rt_test! {
//!     fn spawn_and_await(rt: &Runtime) {
//!         assert_eq!(rt.block_on(async { runtime::spawn(async { 1 }).await.unwrap() }), 1);
//!     }
//! }
//! ```

#![allow(dead_code, unused_macros)]

use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use runtime::{Builder, Clock, Mode, Runtime};

/// How long a generated test may run before the watchdog calls it hung.
pub const WATCHDOG: Duration = Duration::from_secs(120);

/// One runtime configuration the tests run under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flavor {
    /// The mode.
    pub mode: Mode,
    /// Whether the builder asks for io_uring (`Builder::io_uring`).
    pub io_uring: bool,
    /// The clock.
    pub clock: Clock,
    /// Worker count, if the configuration sets one.
    pub workers: Option<usize>,
}

impl Flavor {
    /// `Mode::Single`, parking on io_uring.
    pub const SINGLE_URING: Flavor = Flavor {
        mode: Mode::Single,
        io_uring: true,
        clock: Clock::Real,
        workers: None,
    };
    /// `Mode::Single`, parking on the plain condvar (`.io_uring(false)`).
    pub const SINGLE_PLAIN: Flavor = Flavor {
        mode: Mode::Single,
        io_uring: false,
        clock: Clock::Real,
        workers: None,
    };
    /// `Mode::Threads` with 2 workers.
    pub const THREADS: Flavor = Flavor {
        mode: Mode::Threads,
        io_uring: true,
        clock: Clock::Real,
        workers: Some(2),
    };
    /// `Mode::Threads` with 2 workers, parking on the plain condvar: I/O on the readiness
    /// backend.
    pub const THREADS_PLAIN: Flavor = Flavor {
        mode: Mode::Threads,
        io_uring: false,
        clock: Clock::Real,
        workers: Some(2),
    };
    /// `Mode::Gil` with 2 workers (the 5 ms default switch interval).
    pub const GIL: Flavor = Flavor {
        mode: Mode::Gil,
        io_uring: true,
        clock: Clock::Real,
        workers: Some(2),
    };
    /// `Mode::Processes` with 2 worker processes (the parent's loop parks on io_uring).
    pub const PROCESSES: Flavor = Flavor {
        mode: Mode::Processes,
        io_uring: true,
        clock: Clock::Real,
        workers: Some(2),
    };

    /// The same configuration with the virtual clock.
    pub const fn virtual_clock(self) -> Flavor {
        Flavor {
            clock: Clock::Virtual,
            ..self
        }
    }

    /// A builder for this configuration.
    pub fn builder(self) -> Builder {
        let b = Runtime::builder()
            .mode(self.mode)
            .io_uring(self.io_uring)
            .clock(self.clock);
        match self.workers {
            Some(n) => b.workers(n),
            None => b,
        }
    }

    /// Builds the runtime for this configuration.
    ///
    /// # Panics
    /// If the configuration does not build.
    pub fn build(self) -> Runtime {
        self.builder()
            .build()
            .unwrap_or_else(|e| panic!("{self:?} does not build: {e}"))
    }
}

/// A test body the macros can run: see the module docs for the accepted signatures. The
/// type parameter only tells the blanket impls apart.
pub trait TestBody<Marker>: Send + 'static {
    /// Runs the body under `flavor`.
    fn run_body(self, flavor: Flavor);
}

/// Marker: `fn(&Runtime)`.
pub struct WithRuntime;
/// Marker: `fn(&Runtime, Flavor)`.
pub struct WithRuntimeAndFlavor;
/// Marker: `fn(Builder)`.
pub struct WithBuilder;

impl<F: FnOnce(&Runtime) + Send + 'static> TestBody<WithRuntime> for F {
    fn run_body(self, flavor: Flavor) {
        with_runtime(flavor, |rt| self(rt))
    }
}

impl<F: FnOnce(&Runtime, Flavor) + Send + 'static> TestBody<WithRuntimeAndFlavor> for F {
    fn run_body(self, flavor: Flavor) {
        with_runtime(flavor, |rt| self(rt, flavor))
    }
}

impl<F: FnOnce(Builder) + Send + 'static> TestBody<WithBuilder> for F {
    fn run_body(self, flavor: Flavor) {
        self(flavor.builder())
    }
}

/// Builds the runtime, runs `f`, drops the runtime. If `f` panics, the runtime is leaked
/// rather than dropped: after a panic that unwound out of `block_on`, dropping it hangs
/// (bug reported in `panic.rs`: `panic_in_block_on_leaves_runtime_usable`), and a hang
/// would hide the real failure.
fn with_runtime(flavor: Flavor, f: impl FnOnce(&Runtime)) {
    let rt = flavor.build();
    match catch_unwind(AssertUnwindSafe(|| f(&rt))) {
        Ok(()) => drop(rt),
        Err(p) => {
            std::mem::forget(rt);
            resume_unwind(p)
        }
    }
}

/// Runs `body` under `flavor` on a fresh thread named `name`, failing if it panics or
/// takes longer than [`WATCHDOG`] (the body's thread is then abandoned).
pub fn run<M, B: TestBody<M>>(flavor: Flavor, name: &str, body: B) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let out = catch_unwind(AssertUnwindSafe(|| body.run_body(flavor)));
            let _ = tx.send(out);
        })
        .expect("spawn the test thread");
    match rx.recv_timeout(WATCHDOG) {
        Ok(Ok(())) => {}
        Ok(Err(p)) => resume_unwind(p),
        Err(_) => panic!("{name} under {flavor:?} hung for more than {WATCHDOG:?}"),
    }
}

/// Emits the test functions once (the macros then refer to them from each module).
macro_rules! __rt_test_fns {
    ($($(#[$attr:meta])* fn $name:ident $args:tt $body:block)*) => {
        $(fn $name $args $body)*
    };
}

/// One configuration's module: a `#[test]` per function, with the function's attributes
/// (`#[ignore = "..."]`, docs).
macro_rules! __rt_test_mod {
    ($module:ident, $flavor:expr; $($(#[$attr:meta])* fn $name:ident $args:tt $body:block)*) => {
        mod $module {
            $(
                $(#[$attr])*
                #[test]
                fn $name() {
                    $crate::support::run(
                        $flavor,
                        concat!(stringify!($module), "::", stringify!($name)),
                        super::$name,
                    )
                }
            )*
        }
    };
}

/// Runs each test function under every mode (see the module docs).
macro_rules! rt_test {
    ($($tests:tt)*) => {
        __rt_test_fns! { $($tests)* }
        __rt_test_mod! { single_uring, $crate::support::Flavor::SINGLE_URING; $($tests)* }
        __rt_test_mod! { single_plain, $crate::support::Flavor::SINGLE_PLAIN; $($tests)* }
        __rt_test_mod! { threads, $crate::support::Flavor::THREADS; $($tests)* }
        __rt_test_mod! { gil, $crate::support::Flavor::GIL; $($tests)* }
        __rt_test_mod! { processes, $crate::support::Flavor::PROCESSES; $($tests)* }
    };
}

/// Runs each I/O test function under both I/O backends (io_uring, readiness) in `Single`
/// and `Threads`, and under `Gil` and `Processes` (io_uring).
macro_rules! rt_test_io {
    ($($tests:tt)*) => {
        __rt_test_fns! { $($tests)* }
        __rt_test_mod! { single_uring, $crate::support::Flavor::SINGLE_URING; $($tests)* }
        __rt_test_mod! { single_ready, $crate::support::Flavor::SINGLE_PLAIN; $($tests)* }
        __rt_test_mod! { threads_uring, $crate::support::Flavor::THREADS; $($tests)* }
        __rt_test_mod! { threads_ready, $crate::support::Flavor::THREADS_PLAIN; $($tests)* }
        __rt_test_mod! { gil, $crate::support::Flavor::GIL; $($tests)* }
        __rt_test_mod! { processes, $crate::support::Flavor::PROCESSES; $($tests)* }
    };
}

/// Runs each test function under every mode in which one thread runs one event loop, so
/// that the FIFO order of ready tasks and callbacks and asyncio's `stop()` rules are exact.
/// Multi-threaded modes stay out of this list.
macro_rules! rt_test_loop {
    ($($tests:tt)*) => {
        __rt_test_fns! { $($tests)* }
        __rt_test_mod! { loop_single_uring, $crate::support::Flavor::SINGLE_URING; $($tests)* }
        __rt_test_mod! { loop_single_plain, $crate::support::Flavor::SINGLE_PLAIN; $($tests)* }
        __rt_test_mod! { loop_processes, $crate::support::Flavor::PROCESSES; $($tests)* }
    };
}

/// Runs each test function under every mode that has `Clock::Virtual` (Single, and
/// Processes for its parent loop; add a line here if another mode gains it).
macro_rules! rt_test_virtual {
    ($($tests:tt)*) => {
        __rt_test_fns! { $($tests)* }
        __rt_test_mod! {
            virtual_single_uring,
            $crate::support::Flavor::SINGLE_URING.virtual_clock();
            $($tests)*
        }
        __rt_test_mod! {
            virtual_single_plain,
            $crate::support::Flavor::SINGLE_PLAIN.virtual_clock();
            $($tests)*
        }
        __rt_test_mod! {
            virtual_processes,
            $crate::support::Flavor::PROCESSES.virtual_clock();
            $($tests)*
        }
    };
}

/// What a [`Counted`] future has seen.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    polls: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
    done: Arc<AtomicBool>,
}

impl Counts {
    /// How many times the future was polled.
    pub fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }

    /// How many times the future was dropped (a correct runtime: 0 or 1).
    pub fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }

    /// `true` once the inner future returned `Ready`.
    pub fn completed(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }
}

/// A future that counts its polls and drops (see [`counted`]).
pub struct Counted<F> {
    fut: Pin<Box<F>>,
    counts: Counts,
}

/// Wraps `fut` so that its polls and drops are counted.
pub fn counted<F: Future>(fut: F) -> (Counted<F>, Counts) {
    let counts = Counts::default();
    (
        Counted {
            fut: Box::pin(fut),
            counts: counts.clone(),
        },
        counts,
    )
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.counts.polls.fetch_add(1, Ordering::SeqCst);
        let out = self.fut.as_mut().poll(cx);
        if out.is_ready() {
            self.counts.done.store(true, Ordering::SeqCst);
        }
        out
    }
}

impl<F> Drop for Counted<F> {
    fn drop(&mut self) {
        self.counts.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Counts drops of the [`DropGuard`]s it hands out.
#[derive(Clone, Debug, Default)]
pub struct DropCount(Arc<AtomicUsize>);

impl DropCount {
    /// A new counter at zero.
    pub fn new() -> DropCount {
        DropCount::default()
    }

    /// A guard that adds one to the count when dropped.
    pub fn guard(&self) -> DropGuard {
        DropGuard(self.0.clone())
    }

    /// Guards dropped so far.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Adds one to its [`DropCount`] when dropped.
#[derive(Debug)]
pub struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A shared, ordered record of events.
#[derive(Debug)]
pub struct Log<T>(Arc<Mutex<Vec<T>>>);

impl<T> Clone for Log<T> {
    fn clone(&self) -> Self {
        Log(self.0.clone())
    }
}

impl<T> Default for Log<T> {
    fn default() -> Self {
        Log(Arc::new(Mutex::new(Vec::new())))
    }
}

impl<T: Clone> Log<T> {
    /// An empty log.
    pub fn new() -> Log<T> {
        Log::default()
    }

    /// Appends `v`.
    pub fn push(&self, v: T) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(v)
    }

    /// A copy of everything logged so far.
    pub fn get(&self) -> Vec<T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Entries logged so far.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// A shared boolean.
#[derive(Clone, Debug, Default)]
pub struct Flag(Arc<AtomicBool>);

impl Flag {
    /// A flag, initially unset.
    pub fn new() -> Flag {
        Flag::default()
    }

    /// Sets the flag.
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst)
    }

    /// `true` once set.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Yields (letting every other ready task run) until `cond` holds.
///
/// # Panics
/// If `cond` still fails after 100,000 yields, or after [`WATCHDOG`] / 2 of real time
/// (the runtime stopped running other tasks).
pub async fn yield_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    for _ in 0..100_000 {
        if cond() {
            return;
        }
        assert!(
            start.elapsed() < WATCHDOG / 2,
            "yield_until({what}): still false after {:?}",
            start.elapsed()
        );
        runtime::yield_now().await;
    }
    panic!("yield_until({what}): still false after 100,000 yields");
}

/// Waits until `t` has been polled and is suspended (not mid-poll on another worker):
/// what a test needs before it cancels, wakes or races a task it counts with [`counted`].
pub async fn parked<T: Send + 'static>(what: &str, t: &runtime::JoinHandle<T>, c: &Counts) {
    yield_until(what, || {
        c.polls() >= 1 && t.state() == runtime::TaskState::Pending
    })
    .await;
}

/// Blocks the calling (non-runtime) thread until `cond` holds.
///
/// # Panics
/// After [`WATCHDOG`] / 2.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < WATCHDOG / 2,
            "wait_until({what}): still false after {:?}",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Drops `rt` on a new thread and waits for the drop to return.
///
/// # Panics
/// If the drop panics, or does not return within [`WATCHDOG`] / 2 (a hang).
pub fn drop_runtime(rt: Runtime) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let out = catch_unwind(AssertUnwindSafe(|| drop(rt)));
        let _ = tx.send(out.is_ok());
    });
    match rx.recv_timeout(WATCHDOG / 2) {
        Ok(true) => {}
        Ok(false) => panic!("dropping the runtime panicked"),
        Err(_) => panic!("dropping the runtime hung"),
    }
}

/// A rendezvous for `n` threads with a timeout (std's `Barrier` has none).
#[derive(Clone)]
pub struct Rendezvous(Arc<(Mutex<usize>, Condvar, usize)>);

impl Rendezvous {
    /// A rendezvous for `n` parties.
    pub fn new(n: usize) -> Rendezvous {
        Rendezvous(Arc::new((Mutex::new(0), Condvar::new(), n)))
    }

    /// Arrives and waits for the other parties; `false` if they did not all arrive
    /// within `timeout`.
    pub fn wait(&self, timeout: Duration) -> bool {
        let (lock, cv, n) = &*self.0;
        let mut arrived = lock.lock().unwrap_or_else(|e| e.into_inner());
        *arrived += 1;
        cv.notify_all();
        let (g, _) = cv
            .wait_timeout_while(arrived, timeout, |a| *a < *n)
            .unwrap_or_else(|e| e.into_inner());
        *g >= *n
    }
}

/// Tracks how many holders of a [`Gauge`] token exist at once, and the maximum seen.
#[derive(Clone, Debug, Default)]
pub struct Gauge(Arc<(AtomicUsize, AtomicUsize)>);

impl Gauge {
    /// A gauge at zero.
    pub fn new() -> Gauge {
        Gauge::default()
    }

    /// Enters: the count goes up until the token is dropped.
    pub fn enter(&self) -> GaugeToken {
        let now = self.0 .0.fetch_add(1, Ordering::SeqCst) + 1;
        self.0 .1.fetch_max(now, Ordering::SeqCst);
        GaugeToken(self.0.clone())
    }

    /// The highest count seen.
    pub fn max(&self) -> usize {
        self.0 .1.load(Ordering::SeqCst)
    }
}

/// Held while inside a [`Gauge`].
pub struct GaugeToken(Arc<(AtomicUsize, AtomicUsize)>);

impl Drop for GaugeToken {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Reads from `s` until exactly `n` bytes came (the owned-buffer API), failing on an
/// early end of stream.
pub async fn read_exactly(s: &runtime::net::TcpStream, n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = Vec::with_capacity(64);
    while got.len() < n {
        let (r, b) = s.read(buf).await;
        let k = r.unwrap();
        assert!(k > 0, "unexpected end of stream after {got:?}");
        got.extend_from_slice(&b[..k]);
        buf = b;
    }
    got
}

/// Reads from `s` until the end of stream; everything that came.
pub async fn read_to_eof(s: &runtime::net::TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        let (r, b) = s.read(buf).await;
        let k = r.unwrap();
        if k == 0 {
            return got;
        }
        got.extend_from_slice(&b[..k]);
        buf = b;
    }
}
