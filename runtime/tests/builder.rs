//! `Runtime::builder()`: invalid settings are clear `BuildError`s (never panics), every
//! mode builds with each clock it supports, and the park backend follows `io_uring(..)` and the
//! `RUNTIME_IO_URING` environment variable.

use std::panic::{catch_unwind, AssertUnwindSafe};

use runtime::{BuildError, Clock, Mode, ParkBackend, Runtime, IO_URING_ENV};

/// Builds without letting a panic through: a refused configuration must be an `Err`.
fn try_build(b: runtime::Builder, what: &str) -> Result<Runtime, BuildError> {
    catch_unwind(AssertUnwindSafe(|| b.build()))
        .unwrap_or_else(|_| panic!("build() panicked for {what} instead of returning an error"))
}

#[test]
fn zero_workers_is_an_error_naming_the_count() {
    for mode in Mode::ALL {
        let err = try_build(Runtime::builder().mode(mode).workers(0), "workers(0)").unwrap_err();
        assert_eq!(err, BuildError::InvalidWorkers(0), "{mode}");
        let msg = err.to_string();
        assert!(
            msg.contains("worker count") && msg.contains('0'),
            "{mode}: {msg}"
        );
    }
}

#[test]
fn zero_blocking_threads_is_an_error() {
    for mode in Mode::ALL {
        let b = Runtime::builder().mode(mode).max_blocking_threads(0);
        let err = try_build(b, "max_blocking_threads(0)").unwrap_err();
        assert!(matches!(err, BuildError::Invalid(_)), "{mode}: {err:?}");
        assert!(err.to_string().contains("max_blocking_threads"), "{err}");
    }
}

#[test]
fn every_mode_builds_or_says_it_is_not_available() {
    for mode in Mode::ALL {
        for clock in [Clock::Real, Clock::Virtual] {
            let b = Runtime::builder()
                .mode(mode)
                .clock(clock)
                .workers(2)
                .io_uring(false);
            match try_build(b, mode.name()) {
                Ok(rt) => {
                    assert_eq!((rt.mode(), rt.clock(), rt.workers()), (mode, clock, 2));
                    assert_eq!(
                        rt.block_on(async { runtime::spawn(async { 1 }).await.unwrap() }),
                        1
                    );
                }
                Err(BuildError::ClockNotSupported { mode: m, clock: c }) => {
                    assert_eq!((m, c), (mode, clock));
                    assert_eq!(clock, Clock::Virtual, "the real clock exists everywhere");
                    assert_ne!(mode, Mode::Single, "Single has the virtual clock");
                }
                Err(other) => panic!("{mode} with {clock:?}: unexpected error {other}"),
            }
        }
    }
}

#[test]
fn single_with_defaults_builds() {
    let rt = Runtime::builder().io_uring(false).build().unwrap();
    assert_eq!((rt.mode(), rt.clock()), (Mode::Single, Clock::Real));
    assert!(rt.workers() >= 1);
}

#[test]
fn mode_names_round_trip() {
    for mode in Mode::ALL {
        assert_eq!(mode.name().parse::<Mode>().unwrap(), mode);
        assert_eq!(mode.to_string(), mode.name());
        assert_eq!(mode.name().to_uppercase().parse::<Mode>().unwrap(), mode);
    }
    let err = "fibers".parse::<Mode>().unwrap_err();
    assert!(err.contains("fibers") && err.contains("single"), "{err}");
}

#[test]
fn io_uring_false_parks_plain() {
    let rt = Runtime::builder().io_uring(false).build().unwrap();
    match rt.park_backend() {
        ParkBackend::Plain { reason } => assert!(reason.contains("disabled"), "{reason}"),
        other => panic!("io_uring(false) gave {other}"),
    }
}

#[test]
fn io_uring_true_uses_it_or_says_why_not() {
    let rt = Runtime::builder().io_uring(true).build().unwrap();
    match rt.park_backend() {
        ParkBackend::IoUring => {}
        ParkBackend::Plain { reason } => {
            // Only a refusal by the kernel may fall back, and it says so.
            assert!(!reason.contains("disabled by configuration"), "{reason}");
            assert!(!reason.is_empty());
        }
    }
}

/// Set in the child process started by [`run_child`].
const CHILD_ENV: &str = "RUNTIME_TEST_CHILD";

/// Runs this test binary again with `RUNTIME_IO_URING=0`, running only `child_test`.
fn run_child(child_test: &str) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", child_test, "--ignored", "--test-threads=1"])
        .env(IO_URING_ENV, "0")
        .env(CHILD_ENV, "1")
        .output()
        .expect("run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child {child_test} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn env_var_forces_the_plain_park() {
    run_child("env_child_builder_default_parks_plain");
}

#[test]
#[ignore = "run by env_var_forces_the_plain_park, in a child process with RUNTIME_IO_URING=0"]
fn env_child_builder_default_parks_plain() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return; // run directly (`--include-ignored`): only meaningful in the child
    }
    assert_eq!(std::env::var(IO_URING_ENV).as_deref(), Ok("0"));
    let rt = Runtime::builder().build().unwrap();
    assert!(
        matches!(rt.park_backend(), ParkBackend::Plain { .. }),
        "RUNTIME_IO_URING=0 gave {}",
        rt.park_backend()
    );
    assert_eq!(
        rt.block_on(async { runtime::spawn(async { 2 }).await.unwrap() }),
        2
    );
    // An explicit setting wins over the environment.
    let rt = Runtime::builder().io_uring(true).build().unwrap();
    if let ParkBackend::Plain { reason } = rt.park_backend() {
        assert!(!reason.contains("disabled by configuration"), "{reason}");
    }
}
