//! `chained`: tokio's `chained_spawn`. Each task spawns the next, 1,000 deep; the last one
//! sets a one-shot value. The figure is the time per link.

use std::time::Instant;

use runtime::{settable, Setter};

use crate::exec::{Exec, Runner};
use crate::record::Metric;

use super::{repeat, Outcome, Params};

const DEPTH: usize = 1_000;

/// Runs the 1,000-task chain 15 times (5 when quick).
pub fn run<R: Runner>(r: &R, p: &Params) -> Outcome {
    let per = repeat(r, p.size(15, 5), chained);
    let per = Metric::new("per_spawn", "ns", per);
    Outcome {
        params: format!("chain of {DEPTH}"),
        detail: format!("{:.2} ms for {DEPTH}", per.value() * DEPTH as f64 / 1e6),
        metrics: vec![per],
    }
}

async fn chained<E: Exec>(ex: E) -> f64 {
    let (tx, done) = settable();
    let start = Instant::now();
    link(&ex, DEPTH - 1, tx);
    done.await.expect("the chain ends");
    start.elapsed().as_nanos() as f64 / DEPTH as f64
}

/// Spawns a task that spawns the rest of the chain, `left` more links.
fn link<E: Exec>(ex: &E, left: usize, done: Setter<()>) {
    let e = ex.clone();
    ex.spawn_detached(async move {
        if left == 0 {
            let _ = done.set(());
        } else {
            link(&e, left - 1, done);
        }
    });
}
