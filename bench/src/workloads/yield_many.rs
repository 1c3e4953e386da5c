//! `yield`: tokio's `yield_many`. 200 tasks each yield 1,000 times; the figure is the time
//! per yield (each one a trip through the run queue).

use std::time::Instant;

use crate::exec::{Exec, Runner};
use crate::record::Metric;

use super::sync::join_all;
use super::{repeat, Outcome, Params};

const TASKS: usize = 200;
const YIELDS: usize = 1_000;

/// Runs the 200 x 1,000 yields 7 times (3 when quick).
pub fn run<R: Runner>(r: &R, p: &Params) -> Outcome {
    let per = repeat(r, p.size(7, 3), yield_many);
    let per = Metric::new("per_yield", "ns", per);
    Outcome {
        params: format!("{TASKS} x {YIELDS} yields"),
        detail: format!(
            "{:.2} ms for {}",
            per.value() * (TASKS * YIELDS) as f64 / 1e6,
            TASKS * YIELDS
        ),
        metrics: vec![per],
    }
}

async fn yield_many<E: Exec>(ex: E) -> f64 {
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let e = ex.clone();
            ex.spawn(async move {
                for _ in 0..YIELDS {
                    e.yield_now().await;
                }
            })
        })
        .collect();
    join_all(tasks).await;
    start.elapsed().as_nanos() as f64 / (TASKS * YIELDS) as f64
}
