//! The reading's sentences for the charts of growth (see `growth`): `resources` and the
//! sweeps, each saying in plain words what its chart shows, from the numbers.

use crate::record::{Kind, Measurement};
use crate::table::value;

/// A runner's `prefix@x` figures, sorted by x.
fn points(ms: &[&Measurement], runner: &str, prefix: &str) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = ms
        .iter()
        .filter(|m| m.mode == runner && m.value.is_finite())
        .filter_map(|m| {
            let x = m.metric.strip_prefix(prefix)?.strip_prefix('@')?;
            Some((x.parse().ok()?, m.value))
        })
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// `x` as the sweeps write it: 10000 as 10k, 1000000 as 1M, 0.1 as 0.1.
fn count(x: f64) -> String {
    if x >= 1e6 && x % 1e6 == 0.0 {
        format!("{}M", x / 1e6)
    } else if x >= 1e3 && x % 1e3 == 0.0 {
        format!("{}k", x / 1e3)
    } else {
        format!("{x}")
    }
}

/// Bytes for a reader: B, KiB or MiB.
fn bytes(b: f64) -> String {
    if b >= 1024.0 * 1024.0 {
        format!("{} MiB", value(b / (1024.0 * 1024.0)))
    } else if b >= 1024.0 {
        format!("{} KiB", value(b / 1024.0))
    } else {
        format!("{} B", value(b))
    }
}

/// `resources`: memory and creation time per waiter at each runner's largest size.
pub fn resources(runners: &[&str], ms: &[&Measurement]) -> Option<String> {
    let mut mem = Vec::new();
    let mut create = Vec::new();
    let mut tasks_best: Option<f64> = None;
    let mut os: Vec<(&str, f64)> = Vec::new();
    for &r in runners {
        let (Some(&(n, b)), Some(&(_, c))) = (
            points(ms, r, "bytes").last(),
            points(ms, r, "create").last(),
        ) else {
            continue;
        };
        let Some(first) = ms.iter().find(|m| m.mode == r) else {
            continue;
        };
        let is_os = first.kind == Kind::Os;
        let what = super::growth::waiters(first);
        let pss = if what == "processes" { " PSS" } else { "" };
        mem.push(format!("{r} {}{pss} ({} {what})", bytes(b), count(n)));
        create.push(format!("{r} {} us", value(c / 1e3)));
        if is_os {
            os.push((what, b));
        } else if what == "tasks" && !r.starts_with("py-") {
            tasks_best = Some(tasks_best.map_or(b, |t: f64| t.max(b)));
        }
    }
    if mem.is_empty() {
        return None;
    }
    let mut s = format!(
        "memory per concurrent waiter, each waiting on a timer, at the largest size each ran: \
         {}. Starting one: {}",
        mem.join(", "),
        create.join(", ")
    );
    if let Some(t) = tasks_best.filter(|t| *t > 0.0) {
        let versus: Vec<String> = os
            .iter()
            .map(|(what, b)| {
                let one = if *what == "processes" {
                    "process"
                } else {
                    "thread"
                };
                format!("{}x less than an OS {one}", value(b / t))
            })
            .collect();
        if !versus.is_empty() && os.iter().all(|(_, b)| *b > t) {
            s += &format!(
                ". A sleeping Rust task needs at most {}, {}: coroutines need the fewest \
                 resources, as the seeds say",
                bytes(t),
                versus.join(" and ")
            );
        }
    }
    Some(s + ".")
}

/// `cpu_sweep`: where each pool's speed-up stops growing.
pub fn cpu_sweep(ms: &[&Measurement]) -> Option<String> {
    let mut parts = Vec::new();
    // Every runner's peak, and whether it held to the largest worker count.
    let mut peaks = Vec::new();
    for r in super::runners(ms) {
        let pts = points(ms, r, "speedup");
        let Some(&(last_k, last)) = pts.last() else {
            continue;
        };
        let listed: Vec<String> = pts
            .iter()
            .map(|(k, v)| format!("{}x with {k}", value(*v)))
            .collect();
        let (peak_k, peak) =
            pts.iter()
                .copied()
                .fold((0.0, f64::MIN), |a, p| if p.1 > a.1 { p } else { a });
        parts.push(format!(
            "{r} {} (best {}x with {peak_k})",
            listed.join(", "),
            value(peak)
        ));
        if !r.contains("gil") && r != "py-threads" {
            peaks.push((peak_k, peak, last_k, last));
        }
    }
    if parts.is_empty() {
        return None;
    }
    let mut s = format!(
        "speed-up over one core against the number of workers: {}",
        parts.join("; ")
    );
    let top = peaks.iter().map(|p| p.1).fold(0.0, f64::max);
    if !peaks.is_empty() && peaks.iter().all(|p| p.0 < p.2 || p.3 < p.1 * 1.1) {
        s += &format!(
            ". No pool keeps growing to the largest count (the best is {}x): workers beyond \
             the cores only share them",
            value(top)
        );
    }
    Some(s + ".")
}

/// `gil_sweep`: the echo's p99 and the jobs' throughput from the shortest interval to
/// the longest.
pub fn gil_sweep(ms: &[&Measurement]) -> Option<String> {
    let mut parts = Vec::new();
    for r in super::runners(ms) {
        let p99 = points(ms, r, "p99");
        let cpu = points(ms, r, "cpu");
        let (Some(lo), Some(hi)) = (p99.first(), p99.last()) else {
            continue;
        };
        let mut s = format!(
            "{r}'s echo p99 goes from {} ms at a {} ms interval to {} ms at {} ms",
            value(lo.1 / 1e3),
            lo.0,
            value(hi.1 / 1e3),
            hi.0
        );
        if let (Some(a), Some(b)) = (cpu.first(), cpu.last()) {
            s += &format!(
                " while the CPU jobs get {} then {} cores' worth of work",
                value(a.1),
                value(b.1)
            );
        }
        parts.push(s);
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!(
        "{}. The switch interval is how long a CPU-bound holder keeps the lock while \
         another thread waits for it: the echo waits up to one interval for every round \
         trip, and each hand-off costs the jobs a little; CPython chose 5 ms between the two.",
        parts.join("; ")
    ))
}

/// `io_sweep`: how far the waits overlap as their number grows.
pub fn io_sweep(ms: &[&Measurement]) -> Option<String> {
    let d: f64 = ms.iter().find_map(|m| {
        m.params
            .rsplit(" x ")
            .next()?
            .strip_suffix(" ms")?
            .trim()
            .parse()
            .ok()
    })?;
    let mut parts = Vec::new();
    for r in super::runners(ms) {
        let pts = points(ms, r, "wall");
        let Some(&(n, w)) = pts.last() else {
            continue;
        };
        let listed: Vec<String> = pts
            .iter()
            .map(|(n, w)| format!("{} {}x", count(*n), value(w / d)))
            .collect();
        let per = (w - d).max(0.0) * 1e3 / n;
        parts.push(format!(
            "{r} {} (about {} us per sleeper at {})",
            listed.join(", "),
            value(per),
            count(n)
        ));
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!(
        "wall time of N concurrent waits of {} ms, in units of one wait: {}. While the \
         waits overlap the time stays at one wait whatever N; it grows once the loop's own \
         work per sleeper (spawning it, its timer, waking it) adds up to more than the wait.",
        value(d),
        parts.join("; ")
    ))
}
