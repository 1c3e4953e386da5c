//! `switch`: what one switch costs. Two coroutines (tasks spawned on the runtime) wake each
//! other in every mode, and apart from that the `block_on` thread and one task (the
//! hand-off, cross-thread in a pool); two OS threads and two OS processes ping-pong a byte through a
//! socket pair, on one core, on two cores and unpinned. The OS figures do not depend on
//! the mode and are measured once.

mod os;

pub use os::{echo_child, measure_os};

use std::time::{Duration, Instant};

use crate::exec::{Exec, Runner};
use crate::record::Metric;

use super::sync::echo;
use super::{repeat, Outcome, Params};

/// How long each timed run ping-pongs (runs are time-bounded: a switch costs from tens of
/// nanoseconds to tens of microseconds depending on where the two sides run).
pub fn budget(p: &Params) -> Duration {
    p.size(Duration::from_millis(200), Duration::from_millis(40))
}

/// Round trips between two clock reads.
const BATCH: usize = 100;

/// Two tasks alternate through a settable: one switch is half a round trip. `coroutine`
/// is both tasks spawned inside the runtime (a task switch where the scheduler keeps
/// them, in a pool too); `handoff` is the `block_on` thread ping-ponging with one
/// spawned task, so in a pool every hop crosses threads (two cross-thread wakes a trip).
pub fn coroutine<R: Runner>(r: &R, p: &Params) -> Outcome {
    let budget = budget(p);
    let reps = p.size(5, 3);
    let inside = repeat(r, reps, |ex| {
        let inner = ex.clone();
        ex.spawn(ping_pong(inner, budget))
    });
    let handoff = repeat(r, reps, |ex| ping_pong(ex, budget));
    let inside = Metric::new("coroutine", "ns", inside);
    let handoff = Metric::new("handoff", "ns", handoff);
    Outcome {
        params: format!("{} ms of round trips", budget.as_millis()),
        detail: format!(
            "per switch: two spawned tasks waking each other; block_on <-> a task {:.0} ns",
            handoff.value()
        ),
        metrics: vec![inside, handoff],
    }
}

/// The client side runs in the calling future (a spawned task, or `block_on` itself); the
/// echo side is spawned from it.
async fn ping_pong<E: Exec>(ex: E, budget: Duration) -> f64 {
    let (mut client, server) = echo();
    let server = ex.spawn(server);
    client.round_trip().await; // the echo task is running
    let start = Instant::now();
    let mut trips = 0;
    while start.elapsed() < budget {
        for _ in 0..BATCH {
            client.round_trip().await;
        }
        trips += BATCH;
    }
    let per = start.elapsed().as_nanos() as f64 / (2 * trips) as f64;
    drop(client);
    server.await;
    per
}
