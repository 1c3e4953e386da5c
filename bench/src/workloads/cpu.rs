//! `cpu`: N naive-Fibonacci jobs through `submit`. One loop runs them one after another;
//! a pool runs them in parallel, unless a global lock serialises them. Besides the time,
//! `vs_one_core` compares it with the same jobs run in turn on one thread, measured just
//! before and just after each run (the yardstick of a run is the mean of the two, so a
//! machine whose speed drifts during the workload does not tilt the ratio one way; the
//! run after one run is the run before the next, so N runs cost N + 1 yardsticks), and
//! `main` adds `speedup` over `single` when `single` ran earlier in the same run.

use std::time::Instant;

use crate::exec::{Exec, Runner};
use crate::record::{ms, Metric};
use crate::work::fib_job;

use super::sync::join_all;
use super::{Outcome, Params};

/// Runs `jobs` x `fib(n)` through `submit`, `reps` times; around each run, the same jobs
/// one after another on this thread, the yardstick of `vs_one_core`.
pub fn run<R: Runner>(r: &R, p: &Params) -> Outcome {
    let jobs = p.size(64, 32);
    let n = p.size(30, 28);
    let one_core = || {
        let start = Instant::now();
        for _ in 0..jobs {
            std::hint::black_box(fib_job(n));
        }
        ms(start.elapsed())
    };
    let mut wall = Vec::new();
    let mut vs_one_core = Vec::new();
    let mut before = one_core();
    for _ in 0..p.reps() {
        let w = r.block_on(fib_all(r.exec(), jobs, n));
        let after = one_core();
        wall.push(w);
        vs_one_core.push(bracketed(before, w, after));
        before = after;
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

/// Speed-up of a run that took `wall` over one core, whose time for the same jobs was
/// `before` just before the run and `after` just after it: a speed that drifts linearly
/// over the three cancels out.
fn bracketed(before: f64, wall: f64, after: f64) -> f64 {
    (before + after) / 2.0 / wall
}

async fn fib_all<E: Exec>(ex: E, jobs: usize, n: u32) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..jobs).map(|_| ex.submit(fib_job, n)).collect();
    let out = join_all(handles).await;
    assert!(out.iter().all(|&v| v == out[0]));
    ms(start.elapsed())
}

#[cfg(test)]
mod tests {
    use super::bracketed;

    #[test]
    fn the_yardstick_is_the_mean_of_the_runs_on_either_side() {
        // Twice as fast as one core, on a machine whose one-core time drifted 180 -> 220
        // ms across the run: the yardstick taken only before would say 1.8x, only after
        // 2.2x.
        assert_eq!(bracketed(180.0, 100.0, 220.0), 2.0);
        assert_eq!(bracketed(150.0, 100.0, 150.0), 1.5);
    }
}
