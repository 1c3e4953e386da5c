//! `cpu`: N naive-Fibonacci jobs through `submit`. One loop runs them one after another;
//! a pool runs them in parallel, unless a global lock serialises them. Besides the time,
//! `vs_one_core` compares it with the same jobs run in turn on one thread just before
//! (so the machine's load drifts less between the two), and `main` adds `speedup` over
//! `single` when `single` ran earlier in the same run.

use std::time::Instant;

use crate::exec::{Exec, Runner};
use crate::record::{ms, Metric};
use crate::work::fib_job;

use super::sync::join_all;
use super::{Outcome, Params};

/// Runs `jobs` x `fib(n)` through `submit`, `reps` times; before each run, the same jobs
/// one after another on this thread, the yardstick of `vs_one_core`.
pub fn run<R: Runner>(r: &R, p: &Params) -> Outcome {
    let jobs = p.size(64, 32);
    let n = p.size(30, 28);
    let mut wall = Vec::new();
    let mut vs_one_core = Vec::new();
    for _ in 0..p.reps() {
        let start = Instant::now();
        for _ in 0..jobs {
            std::hint::black_box(fib_job(n));
        }
        let one_core = ms(start.elapsed());
        let w = r.block_on(fib_all(r.exec(), jobs, n));
        wall.push(w);
        vs_one_core.push(one_core / w);
    }
    let rate: Vec<f64> = wall.iter().map(|w| jobs as f64 / (w / 1e3)).collect();
    let wall = Metric::new("wall", "ms", wall);
    let rate = Metric::new("jobs/s", "jobs/s", rate);
    let vs_one_core = Metric::new("vs_one_core", "x", vs_one_core);
    Outcome {
        params: format!("{jobs} x fib({n})"),
        detail: format!(
            "{:.1} jobs/s, {:.2}x one core",
            rate.value(),
            vs_one_core.value()
        ),
        metrics: vec![wall, rate, vs_one_core],
    }
}

async fn fib_all<E: Exec>(ex: E, jobs: usize, n: u32) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..jobs).map(|_| ex.submit(fib_job, n)).collect();
    let out = join_all(handles).await;
    assert!(out.iter().all(|&v| v == out[0]));
    ms(start.elapsed())
}
