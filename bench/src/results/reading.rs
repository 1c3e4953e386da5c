//! One plain-language sentence per workload, generated from the numbers, so the report
//! says what the tables show without anyone rewriting it after each run.

use crate::record::{tokio_peer_of, Measurement, Ratio, BARE, THROUGHPUT};
use crate::table::value;

/// Looks figures up by runner and metric.
struct Figures<'a> {
    ms: &'a [&'a Measurement],
}

impl Figures<'_> {
    fn get(&self, runner: &str, metric: &str) -> Option<f64> {
        self.ms
            .iter()
            .find(|m| m.mode == runner && m.metric == metric)
            .map(|m| m.value)
            .filter(|v| v.is_finite())
    }

    /// Every runner with `metric`, in report order.
    fn all(&self, metric: &str) -> Vec<(&str, f64)> {
        super::runners(self.ms)
            .into_iter()
            .filter_map(|r| self.get(r, metric).map(|v| (r, v)))
            .collect()
    }

    /// Every runner, in report order.
    fn all_of(&self) -> Vec<&str> {
        super::runners(self.ms)
    }

    fn list(&self, metric: &str, suffix: &str) -> String {
        self.all(metric)
            .iter()
            .map(|(r, v)| format!("{r} {}{suffix}", value(*v)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The sentence for `workload`, if there is anything to say; `ratios` are the ours ÷
/// tokio throughput ratios of every run.
pub fn read(workload: &str, ms: &[&Measurement], ratios: &[Ratio]) -> Option<String> {
    let f = Figures { ms };
    let size = ms.first().map_or("", |m| m.params.as_str());
    let text = match workload {
        "io" => {
            let ratios = f.all("wall/d");
            if ratios.is_empty() {
                return None;
            }
            let worst = ratios.iter().map(|r| r.1).fold(0.0, f64::max);
            let verdict = if worst < 1.5 {
                "every runner overlaps the waits and finishes in about one wait".to_string()
            } else {
                "not every runner overlaps the waits".to_string()
            };
            format!(
                "{size}: {verdict} ({}), where one wait after another would take 8x.",
                f.list("wall/d", "x")
            )
        }
        "cpu" => {
            let mut parts = Vec::new();
            if let Some(single) = f.get("single", "wall") {
                parts.push(format!(
                    "single runs the jobs in turn in {} ms",
                    value(single)
                ));
            }
            let parallel = f.list("vs_one_core", "x");
            if !parallel.is_empty() {
                parts.push(format!(
                    "relative to the same jobs run in turn on one thread just before and after: {parallel}"
                ));
            }
            if let (Some(threads), Some(gil)) =
                (f.get("threads", "vs_one_core"), f.get("gil", "vs_one_core"))
            {
                parts.push(format!(
                    "the GIL takes threads from {}x to {}x",
                    value(threads),
                    value(gil)
                ));
            }
            let py: Vec<String> = ["py-threads", "py-processes"]
                .iter()
                .filter_map(|r| f.get(r, "speedup").map(|v| format!("{r} {}x", value(v))))
                .collect();
            if !py.is_empty() {
                parts.push(format!("Python, relative to py-asyncio: {}", py.join(", ")));
            }
            if parts.is_empty() {
                return None;
            }
            format!("{size}: {}.", parts.join("; "))
        }
        "mixed" => {
            let ratios = f.list("wall/attention", "x");
            if ratios.is_empty() {
                return None;
            }
            format!(
                "the cooking-rice day takes, in units of the attention work alone: {ratios}. 1.00x \
                 is one person starting the machines and doing the rest in turn; below 1 the \
                 attention work itself ran in parallel; 2.00x is nothing overlapped."
            )
        }
        "spawn" | "yield" | "pingpong" | "chained" => {
            let metric = ms.first()?.metric.as_str();
            let mut all = f.all(metric);
            if all.is_empty() {
                return None;
            }
            all.sort_by(|a, b| a.1.total_cmp(&b.1));
            let listed: Vec<String> = all
                .iter()
                .map(|(r, v)| format!("{r} {}", value(*v)))
                .collect();
            let mut s = format!(
                "ns {} ({size}), fastest first: {}",
                metric.replace('_', " "),
                listed.join(", ")
            );
            for (ours, peer) in [("single", "tokio-ct"), ("threads", "tokio-mt")] {
                if let (Some(a), Some(b)) = (f.get(ours, metric), f.get(peer, metric)) {
                    s += &format!("; {ours} takes {:.2}x {peer}'s time", a / b);
                }
            }
            s + "."
        }
        "switch" => {
            let co = f.list("coroutine", " ns");
            let mut s = String::new();
            if !co.is_empty() {
                s += &format!(
                    "a task switch (two spawned tasks waking each other inside the runtime, \
                     in a pool too) costs {co}"
                );
            }
            let base = f.get("single", "coroutine");
            for (metric, what) in [
                ("thread_1core", "an OS thread switch on one core"),
                ("process_1core", "an OS process switch on one core"),
                ("thread_2cores", "a wake-up of a thread on the other core"),
                ("process_2cores", "of a process on the other core"),
            ] {
                if let Some(v) = f.get("os", metric) {
                    if !s.is_empty() {
                        s += "; ";
                    }
                    s += &format!("{what} {} ns", value(v));
                    if let Some(b) = base {
                        s += &format!(" ({:.0}x single's task switch)", v / b);
                    }
                }
            }
            let handoff = f.list("handoff", " ns");
            if !handoff.is_empty() {
                if !s.is_empty() {
                    s += ". ";
                }
                s += &format!(
                    "Apart from that, the block_on hand-off (the thread calling block_on and \
                     one task waking each other, per hop) costs {handoff}: on one loop it is \
                     a task switch, in a pool every hop wakes another thread, which is why it \
                     is not a task switch's cost"
                );
            }
            if s.is_empty() {
                return None;
            }
            s + "."
        }
        "resources" => return super::growth_reading::resources(&f.all_of(), ms),
        "cpu_sweep" => return super::growth_reading::cpu_sweep(ms),
        "gil_sweep" => return super::growth_reading::gil_sweep(ms),
        "io_sweep" => return super::growth_reading::io_sweep(ms),
        "timers" => {
            let walls = f.all("wall");
            if walls.is_empty() {
                return None;
            }
            let parts: Vec<String> = walls
                .iter()
                .map(|(r, w)| match f.get(r, "late_p99") {
                    Some(p99) => format!("{r} {} ms (p99 wake {} us late)", value(*w), value(p99)),
                    None => format!("{r} {} ms", value(*w)),
                })
                .collect();
            format!("{size} all finish in: {}.", parts.join(", "))
        }
        "gil_convoy" => {
            let p99 = f.all("p99");
            if p99.is_empty() {
                return None;
            }
            let parts: Vec<String> = p99
                .iter()
                .map(|(r, v)| format!("{r} {} ms", value(v / 1e3)))
                .collect();
            format!(
                "with {size}, an echo round trip's p99 is {}. For reference: a loop that runs \
                 the job itself answers only when it ends (about the job's length); py-threads \
                 shows CPython's real GIL; worker processes leave the loop free.",
                parts.join(", ")
            )
        }
        "submit" => {
            let p50 = f.all("p50");
            if p50.is_empty() {
                return None;
            }
            let parts: Vec<String> = p50
                .iter()
                .map(|(r, v)| format!("{r} {} us", value(*v)))
                .collect();
            format!(
                "{size} one after another: the p50 of submit -> result is {}. Inline on the \
                 loop it is a function call; a worker thread adds a wake; a worker process adds \
                 serialisation and two trips across processes.",
                parts.join(", ")
            )
        }
        "map" => {
            let per = f.all("per_item");
            if per.is_empty() {
                return None;
            }
            let parts: Vec<String> = per
                .iter()
                .map(|(r, v)| format!("{r} {} ns", value(*v)))
                .collect();
            format!("{size}: per item {}.", parts.join(", "))
        }
        "net" | "file" => {
            let rates = f.all(THROUGHPUT);
            if rates.is_empty() {
                return None;
            }
            let unit = if workload == "net" {
                "round trips/s"
            } else {
                "reads/s"
            };
            let backend = |r: &str| {
                ms.iter()
                    .find(|m| m.mode == r && !m.io_backend.is_empty())
                    .map_or_else(String::new, |m| format!(" ({})", m.io_backend))
            };
            let listed: Vec<String> = rates
                .iter()
                .map(|(r, v)| format!("{r} {}{}", value(*v), backend(r)))
                .collect();
            let what = if workload == "net" {
                "TCP echo, the server on each runner and one shared client"
            } else {
                "random 4 KiB reads from the page cache"
            };
            let mut s = format!("{size}, {what}: {unit} {}", listed.join(", "));
            let ours: Vec<String> = ratios
                .iter()
                .filter(|x| x.workload == workload && x.mode != BARE)
                .map(|x| format!("{} {}x {}", x.mode, value(x.value), x.peer))
                .collect();
            if !ours.is_empty() {
                s += &format!("; ours / tokio in the same run: {}", ours.join(", "));
            }
            let rate = |r: &str| rates.iter().find(|(x, _)| *x == r).map(|(_, v)| *v);
            if let Some(bare) = rate(BARE) {
                let over: Vec<String> = ["tokio-ct", "tokio-mt"]
                    .iter()
                    .filter_map(|t| Some(format!("{}x {t}", value(bare / rate(t)?))))
                    .collect();
                s += &format!(
                    "; {BARE} is no runtime at all but a bare io_uring loop on one thread \
                     (multishot receive, provided buffers, DEFER_TASKRUN): the ceiling of any \
                     echo server on this machine{}",
                    if over.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", over.join(", "))
                    }
                );
            }
            let p99 = f.list("p99", " us");
            if !p99.is_empty() {
                s += &format!("; p99 latency {p99}");
            }
            s + "."
        }
        "http" | "http_wrk" | "bulk" => socket_reading(workload, &f, size, ratios)?,
        _ => return None,
    };
    Some(text)
}

/// `http`, `http_wrk` and `bulk`: throughput and the server's CPU per operation of every runner, and
/// ours ÷ tokio of the same flavour in both.
fn socket_reading(workload: &str, f: &Figures, size: &str, ratios: &[Ratio]) -> Option<String> {
    let rates = f.all(THROUGHPUT);
    if rates.is_empty() {
        return None;
    }
    let (what, unit, cpu_unit) = if workload == "http" {
        (
            "hyper HTTP/1.1 keep-alive, one shared load client",
            "req/s",
            " us/req",
        )
    } else if workload == "http_wrk" {
        (
            "the same hyper servers, each in a process of its own, loaded by wrk \
             (`scripts/wrk_check.py`: an independent client, the server's CPU from /proc)",
            "req/s",
            " us/req",
        )
    } else {
        (
            "TCP echo of large transfers through owned buffers",
            "MiB/s",
            " us/MiB",
        )
    };
    let mut s = format!(
        "{size}, {what}: {unit} {}; server CPU {}",
        f.list(THROUGHPUT, ""),
        f.list("server_cpu", cpu_unit)
    );
    let ours: Vec<String> = ratios
        .iter()
        .filter(|x| x.workload == workload)
        .map(|x| format!("{} {}x {}", x.mode, value(x.value), x.peer))
        .collect();
    if !ours.is_empty() {
        s += &format!("; throughput ours / tokio: {}", ours.join(", "));
    }
    let cpu: Vec<String> = f
        .all("server_cpu")
        .iter()
        .filter_map(|(r, v)| {
            let peer = tokio_peer_of(r).filter(|_| *r != BARE)?;
            Some(format!(
                "{r} {}x {peer}",
                value(v / f.get(peer, "server_cpu")?)
            ))
        })
        .collect();
    if !cpu.is_empty() {
        s += &format!("; server CPU ours / tokio: {}", cpu.join(", "));
    }
    if workload == "bulk" {
        let traits = f.list("server_cpu_traits", cpu_unit);
        if !traits.is_empty() {
            s += &format!("; through the stream traits, server CPU {traits}");
        }
    } else {
        let p99 = f.list("p99", " us");
        if !p99.is_empty() {
            s += &format!("; p99 latency {p99}");
        }
    }
    Some(s + ".")
}
