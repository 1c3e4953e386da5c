//! `mixed`: the seed's cooking-rice day, one minute scaled to one millisecond. Three
//! machines run on their own (rice 40, clothes 30, dishes 30: sleeps) while a person
//! does three things that need attention (TV 30, jogging 30, games 40: CPU work through
//! `submit`). One person takes 100; nobody helping, everything in turn, 200. The figure
//! is the day's length over the attention work alone, timed on one core just before.

use std::time::{Duration, Instant};

use crate::exec::{Exec, Runner};
use crate::record::{ms, Metric};
use crate::work::burn;

use super::sync::join_all;
use super::{Outcome, Params};

const MACHINES: [u64; 3] = [40, 30, 30];
const ATTENTION: [u64; 3] = [30, 30, 40];

/// Runs the day `reps` times.
pub fn run<R: Runner>(r: &R, p: &Params) -> Outcome {
    // Microseconds per scaled minute.
    let minute_us = p.size(1000, 500);
    let per_ms = p.burn_per_ms;
    let mut wall = Vec::new();
    let mut ratio = Vec::new();
    for _ in 0..p.reps() {
        // The attention work alone, one chore after another on this thread, just before:
        // the yardstick moves with the machine's load.
        let start = Instant::now();
        for minutes in ATTENTION {
            std::hint::black_box(burn(minutes * minute_us * per_ms / 1000));
        }
        let attention_ms = ms(start.elapsed());
        let w = r.block_on(day(r.exec(), minute_us, per_ms));
        wall.push(w);
        ratio.push(w / attention_ms);
    }
    let wall = Metric::new("wall", "ms", wall);
    let ratio = Metric::new("wall/attention", "x", ratio);
    Outcome {
        params: format!(
            "waits 40+30+30, work 30+30+40 (1 min = {} ms)",
            minute_us as f64 / 1e3
        ),
        detail: format!(
            "{:.2} x the attention work (one person: 1.00; all in turn: 2.00)",
            ratio.value()
        ),
        metrics: vec![wall, ratio],
    }
}

async fn day<E: Exec>(ex: E, minute_us: u64, burn_per_ms: u64) -> f64 {
    let start = Instant::now();
    let machines: Vec<_> = MACHINES
        .iter()
        .map(|&minutes| {
            let e = ex.clone();
            let d = Duration::from_micros(minutes * minute_us);
            ex.spawn(async move { e.sleep(d).await })
        })
        .collect();
    let chores: Vec<_> = ATTENTION
        .iter()
        .map(|&minutes| ex.submit(burn, minutes * minute_us * burn_per_ms / 1000))
        .collect();
    join_all(machines).await;
    join_all(chores).await;
    ms(start.elapsed())
}
