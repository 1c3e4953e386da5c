//! `timers`: 10,000 tasks each sleep 10 ms at once. The figures are the total time and how
//! late each sleeper woke (after its deadline), as percentiles over every run.

use std::time::{Duration, Instant};

use crate::exec::{Exec, Runner};
use crate::record::{histogram, ms, percentiles, record, Metric};

use super::sync::join_all;
use super::{Outcome, Params};

const SLEEPERS: usize = 10_000;
const NAP: Duration = Duration::from_millis(10);

/// Runs the 10,000 sleeps 5 times (3 when quick).
pub fn run<R: Runner>(r: &R, p: &Params) -> Outcome {
    let mut late = histogram();
    let mut wall = Vec::new();
    for _ in 0..p.reps() {
        let (took, lateness) = r.block_on(sleepers(r.exec()));
        wall.push(ms(took));
        for l in lateness {
            record(&mut late, l);
        }
    }
    let lateness = percentiles(&late, "us");
    let detail = format!(
        "wake lateness p50 {:.0} us, p99 {:.0} us, max {:.0} us",
        lateness[0].value(),
        lateness[2].value(),
        lateness[4].value()
    );
    let mut metrics = vec![Metric::new("wall", "ms", wall)];
    metrics.extend(lateness.into_iter().map(|mut m| {
        m.name = match m.name {
            "p50" => "late_p50",
            "p90" => "late_p90",
            "p99" => "late_p99",
            "p99.9" => "late_p99.9",
            _ => "late_max",
        };
        m
    }));
    Outcome {
        params: format!("{SLEEPERS} x {} ms", NAP.as_millis()),
        detail,
        metrics,
    }
}

async fn sleepers<E: Exec>(ex: E) -> (Duration, Vec<Duration>) {
    let start = Instant::now();
    let tasks: Vec<_> = (0..SLEEPERS)
        .map(|_| {
            let e = ex.clone();
            ex.spawn(async move {
                let due = Instant::now() + NAP;
                e.sleep(NAP).await;
                Instant::now().saturating_duration_since(due)
            })
        })
        .collect();
    let lateness = join_all(tasks).await;
    (start.elapsed(), lateness)
}
