//! Seed "Thread and coroutine" (asyncio internals): waiting overlaps, working does not.
//!
//! A day of chores. Cooking rice (40 min), washing clothes (30 min) and washing dishes
//! (30 min) are machines: we start them and wait, and the waits overlap, so all three are
//! done after 40 min. Watching TV (30 min), jogging (30 min) and playing video games
//! (40 min) need us: that is work for the one thread, done one after another, 100 min.
//! Then the seed's program: three `async_task`s (two 1 s sleeps each) gathered take 2 s;
//! three `sync_task`s (two blocking 1 s sleeps each) take 6 s.
//!
//! What it prints, in the seed's minutes and seconds (`main` scales both down, so its
//! timings are smaller):
//!
//! ```text
//! -- machines: we only wait --
//! start cooking rice
//! start washing clothes
//! start dish washing
//! washing clothes done       (at 30 min)
//! dish washing done          (at 30 min)
//! cooking rice done          (at 40 min)
//! machines: all done after 40 min
//! -- attention: we do the work --
//! start watching tv
//! watching tv done
//! start jogging
//! jogging done
//! start playing video games
//! playing video games done
//! attention: all done after 100 min
//! -- 3 async_task vs 3 sync_task --
//! Doing async tasks          (× 3, at 1 s)
//! 2.000s                     (× 3, at 2 s)
//! Time elapsed for running 3 coroutine tasks: 2.000s
//! Doing sync tasks
//! 2.000s                     (× 3, one after another)
//! Time elapsed for running 3 sync tasks: 6.000s
//! ```
//!
//! The attention tasks are CPU work (a busy loop) inside `async fn`s: gathered, they still
//! run one after another, because none of them ever awaits: the loop only switches tasks
//! at an `await`. In `main` a minute is 10 ms and a second 250 ms. Run it
//! with `cargo run -p runtime --example cooking_rice`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime::{BuildError, Runtime};

/// Where the example prints: stdout in `main`, a recorder in the tests.
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// How long the seed's minute and second last in this run.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    /// One minute of the chores.
    pub minute: Duration,
    /// One second of `async_task`/`sync_task`.
    pub second: Duration,
}

/// How long each part took.
#[derive(Clone, Copy, Debug)]
pub struct Report {
    /// The three machines, on the loop's clock.
    pub machines: Duration,
    /// The three attention tasks, on the real clock (CPU work).
    pub attention: Duration,
    /// Three `async_task`s gathered, on the loop's clock.
    pub async_tasks: Duration,
    /// Three `sync_task`s in a row, on the real clock (blocking sleeps).
    pub sync_tasks: Duration,
}

/// A chore a machine does: start it, then only wait.
async fn machine(out: Out, chore: &'static str, minutes: u32, minute: Duration) {
    out(&format!("start {chore}"));
    runtime::sleep(minute * minutes).await;
    out(&format!("{chore} done"));
}

/// A chore that needs us the whole time: CPU work, no await.
async fn attention(out: Out, chore: &'static str, minutes: u32, minute: Duration) {
    out(&format!("start {chore}"));
    let until = Instant::now() + minute * minutes;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
    out(&format!("{chore} done"));
}

/// The seed's `async_task`.
async fn async_task(out: Out, second: Duration) {
    let now = runtime::now();
    runtime::sleep(second).await;
    out("Doing async tasks");
    runtime::sleep(second).await;
    out(&format!("{:.3?}", runtime::now() - now));
}

/// The seed's `sync_task`.
fn sync_task(out: &Out, second: Duration) {
    let now = Instant::now();
    std::thread::sleep(second);
    out("Doing sync tasks");
    std::thread::sleep(second);
    out(&format!("{:.3?}", now.elapsed()));
}

/// Runs the day, then the seed's timing comparison.
pub fn run(rt: &Runtime, out: &Out, scale: Scale) -> Report {
    let Scale { minute, second } = scale;

    out("-- machines: we only wait --");
    let start = rt.time();
    rt.block_on(runtime::gather([
        machine(out.clone(), "cooking rice", 40, minute),
        machine(out.clone(), "washing clothes", 30, minute),
        machine(out.clone(), "dish washing", 30, minute),
    ]));
    let machines = rt.time() - start;
    out(&format!(
        "machines: all done after {:.0} min",
        machines.as_secs_f64() / minute.as_secs_f64()
    ));

    out("-- attention: we do the work --");
    let start = Instant::now();
    rt.block_on(runtime::gather([
        attention(out.clone(), "watching tv", 30, minute),
        attention(out.clone(), "jogging", 30, minute),
        attention(out.clone(), "playing video games", 40, minute),
    ]));
    let attention = start.elapsed();
    out(&format!(
        "attention: all done after {:.0} min",
        attention.as_secs_f64() / minute.as_secs_f64()
    ));

    out("-- 3 async_task vs 3 sync_task --");
    let start = rt.time();
    // asyncio.run(main()), main gathering three async_task()
    rt.block_on(runtime::gather(
        (0..3).map(|_| async_task(out.clone(), second)),
    ));
    let async_tasks = rt.time() - start;
    out(&format!(
        "Time elapsed for running 3 coroutine tasks: {async_tasks:.3?}"
    ));

    let start = Instant::now();
    sync_task(out, second);
    sync_task(out, second);
    sync_task(out, second);
    let sync_tasks = start.elapsed();
    out(&format!(
        "Time elapsed for running 3 sync tasks: {sync_tasks:.3?}"
    ));

    Report {
        machines,
        attention,
        async_tasks,
        sync_tasks,
    }
}

fn main() -> Result<(), BuildError> {
    let rt = Runtime::builder().build()?;
    let scale = Scale {
        minute: Duration::from_millis(10),
        second: Duration::from_millis(250),
    };
    run(
        &rt,
        &(Arc::new(|line: &str| println!("{line}")) as Out),
        scale,
    );
    Ok(())
}
