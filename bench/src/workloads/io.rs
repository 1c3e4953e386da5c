//! `io`: the seed's concurrent fetches. N fetches each wait d; run concurrently they take
//! about d in all, where one after another they would take N x d.

use std::time::{Duration, Instant};

use crate::exec::{Exec, Runner};
use crate::record::{ms, Metric};

use super::sync::join_all;
use super::{repeat, Outcome, Params};

/// Runs `n` fetches of `d` each, concurrently, `reps` times.
pub fn run<R: Runner>(r: &R, p: &Params) -> Outcome {
    let n = 8;
    let d = nap(p);
    let wall = repeat(r, p.reps(), |ex| fetch_all(ex, n, d));
    let ratio: Vec<f64> = wall.iter().map(|w| w / ms(d)).collect();
    let wall = Metric::new("wall", "ms", wall);
    let ratio = Metric::new("wall/d", "x", ratio);
    Outcome {
        params: format!("{n} x {} ms", d.as_millis()),
        detail: format!(
            "{n} waits of {} ms in {:.2} x d (one after another: {n} x d)",
            d.as_millis(),
            ratio.value()
        ),
        metrics: vec![wall, ratio],
    }
}

/// How long each fetch waits: 100 ms, 20 ms when quick.
pub fn nap(p: &Params) -> Duration {
    p.size(Duration::from_millis(100), Duration::from_millis(20))
}

/// Spawns `n` fetches of `d` each and waits for all; returns the wall time in ms.
pub async fn fetch_all<E: Exec>(ex: E, n: usize, d: Duration) -> f64 {
    let start = Instant::now();
    let fetches: Vec<_> = (0..n)
        .map(|i| {
            let e = ex.clone();
            ex.spawn(async move {
                e.sleep(d).await;
                i
            })
        })
        .collect();
    let pages = join_all(fetches).await;
    assert_eq!(pages.len(), n);
    ms(start.elapsed())
}
