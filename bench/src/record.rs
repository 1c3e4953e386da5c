//! What a run records: measurements (one number each, with the runs behind it) and the JSON
//! document that `--json` writes and `bench report` reads.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::machine::Machine;

/// Who produced a measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A mode of this runtime.
    Mode,
    /// A peer runtime (tokio, async-executor, Python).
    Peer,
    /// The operating system itself (thread and process switches).
    Os,
}

/// One number: `value` of `metric` in `unit`, for `workload` run by `mode`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measurement {
    /// The mode (`single`, ...), peer (`tokio-ct`, `py-asyncio`, ...) or `os`.
    pub mode: String,
    /// Who `mode` is.
    pub kind: Kind,
    /// The workload (`io`, `cpu`, ...).
    pub workload: String,
    /// What was measured (`wall`, `p99`, `per_spawn`, ...).
    pub metric: String,
    /// The figure: the median of `runs` when there are several.
    pub value: f64,
    /// Its unit (`ms`, `us`, `ns`, `x`, `jobs/s`).
    pub unit: String,
    /// Every run's figure, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<f64>,
    /// The workload's size, e.g. `8 x 100 ms`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub params: String,
    /// The I/O backend that served an I/O workload (`net`, `file`): `io_uring`,
    /// `readiness (epoll; ...)`, `epoll`, `blocking pool`; empty for the others.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub io_backend: String,
}

#[cfg(test)]
impl Measurement {
    /// A one-run measurement with no size nor backend, for the report's tests.
    pub fn sample(
        mode: &str,
        kind: Kind,
        workload: &str,
        metric: &str,
        v: f64,
        unit: &str,
    ) -> Self {
        Measurement {
            mode: mode.into(),
            kind,
            workload: workload.into(),
            metric: metric.into(),
            value: v,
            unit: unit.into(),
            runs: vec![v],
            params: String::new(),
            io_backend: String::new(),
        }
    }
}

/// The metric the I/O workloads report their operations per second under.
pub const THROUGHPUT: &str = "throughput";

/// The tokio runtime a mode of ours is compared with: a one-loop mode (`single`, and
/// `processes`, whose parent loop serves) with `current_thread`, a pool (`threads`,
/// `gil`) with `multi_thread` of the same worker count.
pub fn tokio_peer_of(mode: &str) -> Option<&'static str> {
    match mode {
        "single" | "processes" | BARE => Some("tokio-ct"),
        "threads" | "gil" => Some("tokio-mt"),
        _ => None,
    }
}

/// A mode's [`THROUGHPUT`] divided by its tokio peer's (see [`tokio_peer_of`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Ratio {
    /// The workload.
    pub workload: String,
    /// The mode of ours.
    pub mode: String,
    /// The tokio runtime it is compared with.
    pub peer: &'static str,
    /// Ours ÷ tokio (above 1: ours did more per second).
    pub value: f64,
}

/// The name of the bare io_uring loop (`peers::bare`): not a runtime but the ceiling of
/// `net`, so its ratio to tokio is listed with ours.
pub const BARE: &str = "bare-uring";

/// Every ours ÷ tokio throughput ratio `ms` allows (and the bare loop's, see [`BARE`]).
/// Give it the measurements of one run only, so that both sides of each ratio were
/// measured side by side.
pub fn tokio_ratios(ms: &[&Measurement]) -> Vec<Ratio> {
    let throughput = |mode: &str, workload: &str| {
        ms.iter()
            .find(|m| m.mode == mode && m.workload == workload && m.metric == THROUGHPUT)
            .map(|m| m.value)
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    ms.iter()
        .filter(|m| (m.kind == Kind::Mode || m.mode == BARE) && m.metric == THROUGHPUT)
        .filter_map(|m| {
            let peer = tokio_peer_of(&m.mode)?;
            let theirs = throughput(peer, &m.workload)?;
            Some(Ratio {
                workload: m.workload.clone(),
                mode: m.mode.clone(),
                peer,
                value: m.value / theirs,
            })
        })
        .collect()
}

/// A whole run, as written by `--json`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RunDoc {
    /// The machine, when known (the Python peers leave it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<Machine>,
    /// The command line that produced this run.
    #[serde(default)]
    pub command: String,
    /// Whether `--quick` sizes were used.
    #[serde(default)]
    pub quick: bool,
    /// The worker count given to the pool modes and peers.
    #[serde(default)]
    pub workers: usize,
    /// Modes that were asked for but did not build, with the reason.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
    /// Every measurement.
    pub measurements: Vec<Measurement>,
}

/// A mode or peer that could not run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Skipped {
    /// The mode or peer.
    pub mode: String,
    /// Why (the build error).
    pub reason: String,
}

/// One metric of a workload run several times, before it gets its runner's name.
#[derive(Clone, Debug)]
pub struct Metric {
    /// What was measured.
    pub name: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// Every run's figure.
    pub runs: Vec<f64>,
}

impl Metric {
    /// A metric from the figures of several runs.
    pub fn new(name: &'static str, unit: &'static str, runs: Vec<f64>) -> Metric {
        Metric { name, unit, runs }
    }

    /// A metric measured once.
    pub fn single(name: &'static str, unit: &'static str, value: f64) -> Metric {
        Metric::new(name, unit, vec![value])
    }

    /// The median of the runs.
    pub fn value(&self) -> f64 {
        median(&self.runs)
    }
}

/// The median (the mean of the middle two for an even count); NaN when empty.
pub fn median(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A latency histogram in nanoseconds, 3 significant figures, up to an hour.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

/// Records `d` in a nanosecond histogram, clamped into its range.
pub fn record(h: &mut Histogram<u64>, d: Duration) {
    let ns = (d.as_nanos() as u64).clamp(1, h.high());
    h.saturating_record(ns);
}

/// The percentiles every latency row reports.
pub const PERCENTILES: [(&str, f64); 4] =
    [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9)];

/// p50, p90, p99, p99.9 and max of a nanosecond histogram, as metrics in `unit`
/// (`us` or `ms`), one run each.
pub fn percentiles(h: &Histogram<u64>, unit: &'static str) -> Vec<Metric> {
    let div = match unit {
        "ms" => 1e6,
        "us" => 1e3,
        _ => 1.0,
    };
    let mut out: Vec<Metric> = PERCENTILES
        .iter()
        .map(|&(name, q)| Metric::single(name, unit, h.value_at_quantile(q / 100.0) as f64 / div))
        .collect();
    out.push(Metric::single("max", unit, h.max() as f64 / div));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn ratios_pair_each_mode_with_its_tokio_runtime() {
        let m = |mode: &str, kind, workload: &str, v| Measurement {
            mode: mode.into(),
            kind,
            workload: workload.into(),
            metric: THROUGHPUT.into(),
            value: v,
            unit: "/s".into(),
            runs: vec![v],
            params: String::new(),
            io_backend: String::new(),
        };
        let ms = [
            m("single", Kind::Mode, "net", 300.0),
            m("threads", Kind::Mode, "net", 500.0),
            m("gil", Kind::Mode, "file", 100.0),
            m("tokio-ct", Kind::Peer, "net", 200.0),
            m("tokio-mt", Kind::Peer, "net", 1000.0),
        ];
        let refs: Vec<&Measurement> = ms.iter().collect();
        let r = tokio_ratios(&refs);
        assert_eq!(r.len(), 2, "{r:?}"); // gil has no tokio-mt figure for file
        assert_eq!(
            (r[0].mode.as_str(), r[0].peer, r[0].value),
            ("single", "tokio-ct", 1.5)
        );
        assert_eq!(
            (r[1].mode.as_str(), r[1].peer, r[1].value),
            ("threads", "tokio-mt", 0.5)
        );
    }

    #[test]
    fn percentiles_in_microseconds() {
        let mut h = histogram();
        for us in 1..=1000u64 {
            record(&mut h, Duration::from_micros(us));
        }
        let p = percentiles(&h, "us");
        assert_eq!(p[0].name, "p50");
        assert!((p[0].value() - 500.0).abs() < 2.0);
        assert!((p[4].value() - 1000.0).abs() < 2.0);
    }
}
