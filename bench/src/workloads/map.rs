//! `map`: many small items through `submit` in chunks of 100 (`executor.map(f, items,
//! chunksize=100)`): the per-item cost of handing work over in batches, the way a process
//! pool amortises its IPC.

use std::time::Instant;

use crate::exec::{Exec, Runner};
use crate::record::Metric;

use super::sync::join_all;
use super::{repeat, Outcome, Params};

const CHUNK: usize = 100;

fn square_chunk(xs: Vec<u64>) -> Vec<u64> {
    xs.into_iter().map(|x| x.wrapping_mul(x)).collect()
}

/// `items` items in chunks of 100, all submitted at once, results in order.
pub fn run<R: Runner>(r: &R, p: &Params) -> Outcome {
    let items = p.size(200_000, 50_000);
    let per = repeat(r, p.reps(), |ex| map_all(ex, items));
    let per = Metric::new("per_item", "ns", per);
    Outcome {
        params: format!("{items} items, chunksize {CHUNK}"),
        detail: format!("{:.1} ns per item", per.value()),
        metrics: vec![per],
    }
}

async fn map_all<E: Exec>(ex: E, items: usize) -> f64 {
    let start = Instant::now();
    let chunks: Vec<_> = (0..items as u64)
        .collect::<Vec<_>>()
        .chunks(CHUNK)
        .map(|c| ex.submit(square_chunk, c.to_vec()))
        .collect();
    let out = join_all(chunks).await;
    let n: usize = out.iter().map(Vec::len).sum();
    assert_eq!(n, items);
    assert_eq!(out[1][1], 101 * 101);
    start.elapsed().as_nanos() as f64 / items as f64
}
