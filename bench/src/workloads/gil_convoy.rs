//! `gil_convoy`: how long an echo round trip takes while CPU-bound jobs run.
//!
//! `workers - 1` jobs (at least one) run through `submit`, so that a pool has one worker
//! left for the echo: with every worker inside a job, nothing could answer in any pool
//! mode and the GIL would make no difference. A client pings an echo task once a millisecond (a steady stream of requests) while the
//! jobs run through `submit`. Latency is measured from when each ping was due, not from
//! when it was sent, so a loop blocked for 200 ms shows as 200 pings answered late (not
//! one). One loop running the jobs inline answers nothing until they finish; a pool whose
//! workers are all busy, likewise; a GIL lets the echo in at every switch interval, but
//! each round trip waits for the lock (the convoy); worker processes leave the loop free.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::exec::{Exec, Runner};
use crate::record::{histogram, ms, percentiles, record, Metric};
use crate::work::burn;

use super::sync::{echo, join_all};
use super::{Outcome, Params};

const INTERVAL: Duration = Duration::from_millis(1);
const MAX_PINGS: usize = 100_000;

/// How many jobs, of how many ms of one core's work each: one worker is left for the echo.
pub fn shape(p: &Params) -> (usize, u64) {
    (p.workers.saturating_sub(1).max(1), p.size(200, 50))
}

/// Runs the convoy `reps` times; latencies from every run go in one histogram.
pub fn run<R: Runner>(r: &R, p: &Params) -> Outcome {
    measure(r, p, false)
}

/// [`run`]; with `alone`, each run is preceded by the same jobs in turn on this thread,
/// and `cores` (their time alone over their time in the convoy: the cores' worth of work
/// the jobs got) is added.
pub fn measure<R: Runner>(r: &R, p: &Params, alone: bool) -> Outcome {
    let (jobs, job_ms) = shape(p);
    let units = job_ms * p.burn_per_ms;
    let mut lat = histogram();
    let mut jobs_wall = Vec::new();
    let mut cores = Vec::new();
    for _ in 0..p.reps() {
        let by_itself = alone.then(|| {
            let start = Instant::now();
            for _ in 0..jobs {
                std::hint::black_box(burn(units));
            }
            ms(start.elapsed())
        });
        let (latencies, wall) = r.block_on(convoy(r.exec(), jobs, units));
        jobs_wall.push(wall);
        cores.extend(by_itself.map(|t| t / wall));
        for l in latencies {
            record(&mut lat, l);
        }
    }
    let mut metrics = percentiles(&lat, "us");
    let detail = format!(
        "echo p50 {:.0} us, p99 {:.0} us, max {:.0} us; {} pings; jobs took {:.0} ms",
        metrics[0].value(),
        metrics[2].value(),
        metrics[4].value(),
        lat.len(),
        crate::record::median(&jobs_wall)
    );
    // The headline is p99: move it first.
    let p99 = metrics.remove(2);
    metrics.insert(0, p99);
    metrics.push(Metric::new("jobs_wall", "ms", jobs_wall));
    if alone {
        metrics.push(Metric::new("cores", "cores", cores));
    }
    Outcome {
        params: format!(
            "{jobs} job{} x {job_ms} ms, a ping every {} ms",
            if jobs > 1 { "s" } else { "" },
            INTERVAL.as_millis()
        ),
        detail,
        metrics,
    }
}

async fn convoy<E: Exec>(ex: E, jobs: usize, units: u64) -> (Vec<Duration>, f64) {
    let (mut client, server) = echo();
    ex.spawn_detached(async move {
        server.await;
    });
    let finished: Arc<Mutex<Option<Instant>>> = Arc::default();
    let finished_at = finished.clone();
    let e = ex.clone();
    let pinger = ex.spawn(async move {
        let start = Instant::now();
        let mut latencies = Vec::new();
        for k in 0..MAX_PINGS as u32 {
            let due = start + INTERVAL * k;
            let end = *finished_at.lock().unwrap_or_else(|e| e.into_inner());
            if end.is_some_and(|end| due > end) {
                break;
            }
            let now = Instant::now();
            if due > now {
                e.sleep(due - now).await;
            }
            client.round_trip().await;
            latencies.push(Instant::now().saturating_duration_since(due));
        }
        latencies
    });
    let start = Instant::now();
    let work: Vec<_> = (0..jobs).map(|_| ex.submit(burn, units)).collect();
    join_all(work).await;
    let wall = ms(start.elapsed());
    *finished.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    (pinger.await, wall)
}
