//! The sweeps: one workload measured at several sizes, so that a chart can show how a
//! figure grows instead of one point.
//!
//! - `cpu_sweep`: the `cpu` jobs' speed-up over one core with 1, 2, 4 and 8 workers (the
//!   plateau at the core count, then oversubscription), on the pools;
//! - `gil_sweep`: `gil_convoy` under `gil` with switch intervals of 0.1 to 20 ms: the
//!   echo's p99 against the CPU jobs' throughput (the same jobs' time in turn on one
//!   thread just before, over their time in the convoy: the trade-off CPython's 5 ms
//!   default sits on);
//! - `io_sweep`: `io`'s concurrent waits with 10, 1,000 and 100,000 sleepers: the wall time
//!   stays one wait until the loop's own cost per sleeper shows.
//!
//! A point that needs its own runtime (a worker count, a switch interval) is a [`Params`]
//! of [`points`]; the driver builds a fresh runner for each and joins their metrics. The
//! metric names carry the point after an `@` (`speedup@4`, `p99@0.5`, `wall@1000`), which
//! the charts read back.

use std::time::Duration;

use crate::exec::Runner;
use crate::record::{ms, Metric};

use super::{cpu, gil_convoy, io, Outcome, Params, Workload};

/// `cpu_sweep`'s worker counts and their metric names.
pub const WORKERS: [(usize, &str); 4] = [
    (1, "speedup@1"),
    (2, "speedup@2"),
    (4, "speedup@4"),
    (8, "speedup@8"),
];

/// `gil_sweep`'s switch intervals (us) with their two metric names: the echo's p99 and
/// the CPU jobs' throughput in cores' worth of work.
pub const INTERVALS: [(u64, &str, &str); 5] = [
    (100, "p99@0.1", "cpu@0.1"),
    (500, "p99@0.5", "cpu@0.5"),
    (1_000, "p99@1", "cpu@1"),
    (5_000, "p99@5", "cpu@5"),
    (20_000, "p99@20", "cpu@20"),
];

/// `io_sweep`'s numbers of concurrent sleepers and their metric names.
pub const SLEEPERS: [(usize, &str); 3] = [
    (10, "wall@10"),
    (1_000, "wall@1000"),
    (100_000, "wall@100000"),
];

/// The settings of each runtime `w` needs built: one per worker count or switch interval
/// for the sweeps that vary them, else just `p`.
pub fn points(w: Workload, p: &Params) -> Vec<Params> {
    match w {
        Workload::CpuSweep => WORKERS
            .iter()
            .map(|&(workers, _)| Params { workers, ..*p })
            .collect(),
        Workload::GilSweep => INTERVALS
            .iter()
            .map(|&(us, _, _)| Params {
                switch_interval: Duration::from_micros(us),
                ..*p
            })
            .collect(),
        _ => vec![*p],
    }
}

/// Joins the outcomes of `w`'s points (see [`points`]) into one.
pub fn join(outcomes: Vec<Outcome>) -> Outcome {
    let params = outcomes
        .first()
        .map(|o| o.params.clone())
        .unwrap_or_default();
    let detail = outcomes
        .iter()
        .map(|o| o.detail.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Outcome {
        params,
        detail,
        metrics: outcomes.into_iter().flat_map(|o| o.metrics).collect(),
    }
}

/// One point of `cpu_sweep`: the `cpu` workload with `p.workers` workers.
pub fn cpu_point<R: Runner>(r: &R, p: &Params) -> Outcome {
    let (_, name) = WORKERS
        .iter()
        .copied()
        .find(|&(k, _)| k == p.workers)
        .unwrap_or((p.workers, "speedup@other"));
    let outcome = cpu::run(r, p);
    let speedup = outcome
        .metrics
        .into_iter()
        .find(|m| m.name == "vs_one_core")
        .expect("cpu reports vs_one_core");
    Outcome {
        params: outcome.params,
        detail: format!("{} workers {:.2}x", p.workers, speedup.value()),
        metrics: vec![Metric::new(name, "x", speedup.runs)],
    }
}

/// One point of `gil_sweep`: `gil_convoy` at `p.switch_interval`.
pub fn gil_point<R: Runner>(r: &R, p: &Params) -> Outcome {
    let us = p.switch_interval.as_micros() as u64;
    let (_, p99_name, cpu_name) = INTERVALS
        .iter()
        .copied()
        .find(|&(x, _, _)| x == us)
        .unwrap_or((us, "p99@other", "cpu@other"));
    let outcome = gil_convoy::measure(r, p, true);
    let p99 = outcome
        .metrics
        .iter()
        .find(|m| m.name == "p99")
        .expect("gil_convoy reports p99");
    let cores = outcome
        .metrics
        .iter()
        .find(|m| m.name == "cores")
        .expect("gil_convoy measured alone reports cores");
    let p99 = Metric::new(p99_name, p99.unit, p99.runs.clone());
    let share = Metric::new(cpu_name, "cores", cores.runs.clone());
    Outcome {
        params: outcome.params,
        detail: format!(
            "{} ms: p99 {:.0} us, jobs {:.2} cores",
            us as f64 / 1e3,
            p99.value(),
            share.value()
        ),
        metrics: vec![p99, share],
    }
}

/// `io_sweep`: the `io` waits at each of [`SLEEPERS`], on one runner.
pub fn io_points<R: Runner>(r: &R, p: &Params) -> Outcome {
    let d = io::nap(p);
    let mut metrics = Vec::new();
    let mut detail = Vec::new();
    for (n, name) in SLEEPERS {
        let walls = super::repeat(r, p.reps(), move |ex| io::fetch_all(ex, n, d));
        let m = Metric::new(name, "ms", walls);
        detail.push(format!("{n}: {:.2} x d", m.value() / ms(d)));
        metrics.push(m);
    }
    Outcome {
        params: format!("10 / 1000 / 100000 x {} ms", d.as_millis()),
        detail: detail.join(", "),
        metrics,
    }
}
