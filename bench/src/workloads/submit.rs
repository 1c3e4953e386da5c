//! `submit`: the round trip of one tiny job through `submit` (concurrent.futures'
//! `executor.submit(f, x).result()`), one after another: what handing work to the place
//! a mode runs it costs. Inline on the loop in `single`; a task on a worker in the pools;
//! a message to a worker process and back in `processes`.

use std::time::Instant;

use crate::exec::{Exec, Runner};
use crate::record::{histogram, percentiles, record};

use super::{Outcome, Params};

fn echo(x: u64) -> u64 {
    x
}

/// `n` sequential submit -> result round trips, latency percentiles in microseconds.
pub fn run<R: Runner>(r: &R, p: &Params) -> Outcome {
    let n = p.size(5_000, 1_000);
    let lat = r.block_on(round_trips(r.exec(), n));
    let mut h = histogram();
    for d in lat {
        record(&mut h, d);
    }
    let metrics = percentiles(&h, "us");
    Outcome {
        params: format!("{n} round trips"),
        detail: format!(
            "submit(f, x) -> result: p50 {:.1} us, p99 {:.1} us",
            metrics[0].value(),
            metrics[2].value()
        ),
        metrics,
    }
}

async fn round_trips<E: Exec>(ex: E, n: usize) -> Vec<std::time::Duration> {
    let mut out = Vec::with_capacity(n);
    // Warm up: the first jobs start threads or processes.
    for i in 0..20u64 {
        assert_eq!(ex.submit(echo, i).await, i);
    }
    for i in 0..n as u64 {
        let t = Instant::now();
        assert_eq!(ex.submit(echo, i).await, i);
        out.push(t.elapsed());
    }
    out
}
