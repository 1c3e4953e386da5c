//! `pingpong`: tokio's `ping_pong`. 1,000 times, a task spawns a partner, pings it
//! through a one-shot value and waits for the pong; the figure is the time per ping-pong
//! (two spawns, two wakes).

use std::time::Instant;

use runtime::settable;

use crate::exec::{Exec, Runner};
use crate::record::Metric;

use super::sync::latch;
use super::{repeat, Outcome, Params};

const PINGS: usize = 1_000;

/// Runs the 1,000 ping-pongs 15 times (5 when quick).
pub fn run<R: Runner>(r: &R, p: &Params) -> Outcome {
    let per = repeat(r, p.size(15, 5), ping_pong);
    let per = Metric::new("per_pingpong", "ns", per);
    Outcome {
        params: format!("{PINGS} ping-pongs"),
        detail: format!("{:.2} ms for {PINGS}", per.value() * PINGS as f64 / 1e6),
        metrics: vec![per],
    }
}

async fn ping_pong<E: Exec>(ex: E) -> f64 {
    let (latch, done) = latch(PINGS);
    let start = Instant::now();
    for _ in 0..PINGS {
        let latch = latch.clone();
        let e = ex.clone();
        ex.spawn_detached(async move {
            let (ping_tx, ping_rx) = settable::<()>();
            let (pong_tx, pong_rx) = settable::<()>();
            e.spawn_detached(async move {
                ping_rx.await.expect("ping");
                let _ = pong_tx.set(());
            });
            let _ = ping_tx.set(());
            pong_rx.await.expect("pong");
            latch.count_down();
        });
    }
    done.await.expect("every ping-pong finishes");
    start.elapsed().as_nanos() as f64 / PINGS as f64
}
