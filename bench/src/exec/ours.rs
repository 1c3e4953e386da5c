//! This runtime, in any [`Mode`], through its public API only.

use std::future::Future;
use std::time::Duration;

use runtime::{BuildError, Handle, JoinHandle, Mode, Runtime};
use serde::{de::DeserializeOwned, Serialize};

use super::{Exec, Runner, Unwrap};

/// A runtime built in one mode with the bench's worker count.
static SWITCH_INTERVAL: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();

/// Sets `gil` mode's switch interval for every runtime built afterwards (`--switch-interval-us`).
pub fn set_switch_interval(d: Duration) {
    let _ = SWITCH_INTERVAL.set(d);
}

#[derive(Debug)]
pub struct Ours {
    rt: Runtime,
}

impl Ours {
    /// Builds `mode` with `workers` workers on the real clock, worker i pinned to core i
    /// if `pin`. The long-poll detector is off: the CPU workloads' jobs are long polls on
    /// purpose.
    pub fn build(mode: Mode, workers: usize, pin: bool) -> Result<Ours, BuildError> {
        let rt = Runtime::builder()
            .mode(mode)
            .workers(workers)
            .pin_workers(pin)
            .long_poll_threshold(None)
            .switch_interval(
                SWITCH_INTERVAL
                    .get()
                    .copied()
                    .unwrap_or(Duration::from_millis(5)),
            )
            .build()?;
        Ok(Ours { rt })
    }

    /// How this runtime's loop parks.
    pub fn park_backend(&self) -> String {
        self.rt.park_backend().to_string()
    }
}

/// [`Exec`] for [`Ours`]: a runtime [`Handle`].
#[derive(Clone, Debug)]
pub struct OursExec(Handle);

impl Exec for OursExec {
    type Join<T: Send + 'static> = Unwrap<JoinHandle<T>>;

    fn spawn<F>(&self, fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(self.0.spawn(fut))
    }

    fn submit<A, R>(&self, f: fn(A) -> R, arg: A) -> Self::Join<R>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        Unwrap(self.0.submit(f, arg))
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send + 'static {
        runtime::sleep(d)
    }

    fn yield_now(&self) -> impl Future<Output = ()> + Send + 'static {
        runtime::yield_now()
    }
}

impl Runner for Ours {
    type Exec = OursExec;

    fn exec(&self) -> OursExec {
        OursExec(self.rt.handle())
    }

    fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.block_on(fut)
    }
}
