//! Seed "Task Cancellation" (asyncio basics): wait for three delayed tasks; on Ctrl-C
//! (`KeyboardInterrupt`) cancel every task of the loop and gather them.
//!
//! ```text
//! awaiting
//! awaiting
//! awaiting
//! completed after 2s
//! completed after 3s
//! completed after 3s
//! ```
//!
//! or, with Ctrl-C pressed before the end:
//!
//! ```text
//! awaiting
//! awaiting
//! awaiting
//! ^C KeyboardInterrupt: cancelling every task
//! cancel delayed_task(2s)
//! cancel delayed_task(3s)
//! cancel delayed_task(3s)
//! delayed_task(2s): cancelled
//! delayed_task(3s): cancelled
//! delayed_task(3s): cancelled
//! ```
//!
//! [`runtime::signal::ctrl_c`] turns SIGINT into a future, so the interrupt is an event the
//! loop waits for next to the tasks. On it, every task from `all_tasks()` is cancelled.
//! Then, as in asyncio, `all_tasks()` is gathered (awaiting a [`runtime::TaskRef`] waits
//! for that task to finish), and gathering the handles of the interrupted `wait` gives
//! each outcome (`return_exceptions=True`).
//!
//! Run it with `cargo run -p runtime --example cancel_all_on_ctrl_c` and press Ctrl-C
//! within 3 s (or do not).

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use runtime::{BuildError, Handle, JoinError, JoinHandle, ReturnWhen, Runtime, TaskState};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// The seed's delays: `[delayed_task(2), delayed_task(3), delayed_task(3)]`.
pub const SEED_DELAYS: [Duration; 3] = [
    Duration::from_secs(2),
    Duration::from_secs(3),
    Duration::from_secs(3),
];

/// How the run ended.
#[derive(Debug)]
pub struct Report {
    /// `true` if Ctrl-C came before every task had finished.
    pub interrupted: bool,
    /// Each task's outcome, in spawn order.
    pub outcomes: Vec<Result<(), JoinError>>,
}

/// `async def delayed_task(duration)`.
async fn delayed_task(out: Out, duration: Duration) {
    out("awaiting");
    runtime::sleep(duration).await;
    out(&format!("completed after {duration:?}"));
}

enum Event {
    AllDone(Vec<JoinHandle<()>>),
    Interrupted(io::Result<()>),
}

/// Runs one task per delay until all finish or Ctrl-C comes.
pub fn run(rt: &Runtime, out: &Out, delays: &[Duration]) -> Report {
    // Install the SIGINT handler before anything runs: from here on Ctrl-C is an event,
    // not the end of the process (Python raises KeyboardInterrupt instead).
    let mut ctrl_c = runtime::signal::ctrl_c();
    let jobs: Vec<_> = delays
        .iter()
        .map(|&d| {
            rt.spawn_named(
                &format!("delayed_task({d:?})"),
                delayed_task(out.clone(), d),
            )
        })
        .collect();
    let out = out.clone();
    rt.block_on(async move {
        // loop.run_until_complete(asyncio.wait(jobs)), interruptible.
        let mut finished = runtime::wait(jobs, ReturnWhen::AllCompleted);
        let event = poll_fn(|cx| {
            if let Poll::Ready(r) = Pin::new(&mut ctrl_c).poll(cx) {
                return Poll::Ready(Event::Interrupted(r));
            }
            Pin::new(&mut finished)
                .poll(cx)
                .map(|(done, _)| Event::AllDone(done))
        })
        .await;
        let (interrupted, done) = match event {
            Event::AllDone(done) => (false, done),
            Event::Interrupted(signal) => {
                signal.expect("the SIGINT handler is installed");
                out("^C KeyboardInterrupt: cancelling every task");
                // for t in asyncio.all_tasks(loop=loop): t.cancel()
                let loop_handle = Handle::current().expect("inside the runtime");
                for t in loop_handle.all_tasks() {
                    if t.state() != TaskState::Done {
                        out(&format!("cancel {}", t.name().unwrap_or("?")));
                        t.cancel();
                    }
                }
                // loop.run_until_complete(asyncio.gather(*asyncio.all_tasks(loop=loop)))
                runtime::gather(loop_handle.all_tasks()).await;
                assert!(loop_handle.all_tasks().is_empty());
                // The interrupted wait completes now: every task has finished.
                let (done, _) = finished.await;
                (true, done)
            }
        };
        let names: Vec<String> = done
            .iter()
            .map(|t| t.name().unwrap_or("?").to_string())
            .collect();
        // asyncio.gather(*tasks, return_exceptions=True)
        let outcomes = runtime::gather(done).await;
        if interrupted {
            for (name, outcome) in names.iter().zip(&outcomes) {
                match outcome {
                    Ok(()) => out(&format!("{name}: completed")),
                    Err(e) if e.is_cancelled() => out(&format!("{name}: cancelled")),
                    Err(e) => out(&format!("{name}: {e}")),
                }
            }
        }
        Report {
            interrupted,
            outcomes,
        }
    })
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    run(
        &rt,
        &(Arc::new(|line: &str| println!("{line}")) as Out),
        &SEED_DELAYS,
    );
    Ok(())
}
