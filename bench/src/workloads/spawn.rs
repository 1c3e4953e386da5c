//! `spawn`: tokio's `spawn_many`. A task spawns 10,000 tiny tasks that each count a latch
//! down; the figure is the time per spawn, from the first spawn to the last task done.

use std::time::Instant;

use crate::exec::{Exec, Runner};
use crate::record::Metric;

use super::sync::latch;
use super::{repeat, Outcome, Params};

const SPAWNS: usize = 10_000;

/// Runs the 10,000 spawns 15 times (5 when quick).
pub fn run<R: Runner>(r: &R, p: &Params) -> Outcome {
    let per = repeat(r, p.size(15, 5), |ex| spawn_many(ex, SPAWNS));
    let per = Metric::new("per_spawn", "ns", per);
    Outcome {
        params: format!("{SPAWNS} spawns"),
        detail: format!("{:.2} ms for {SPAWNS}", per.value() * SPAWNS as f64 / 1e6),
        metrics: vec![per],
    }
}

async fn spawn_many<E: Exec>(ex: E, n: usize) -> f64 {
    let (latch, done) = latch(n);
    let start = Instant::now();
    for _ in 0..n {
        let latch = latch.clone();
        ex.spawn_detached(async move { latch.count_down() });
    }
    done.await.expect("every task counts down");
    start.elapsed().as_nanos() as f64 / n as f64
}
