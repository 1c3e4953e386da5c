//! `net`: TCP echo round trips over loopback, many connections at once.
//!
//! The echo SERVER runs on the runner under test (each runtime's own accept and echo
//! code, see [`Io::serve_echo`]): ours in the mode given, tokio's `current_thread` and
//! `multi_thread`, async-executor. The CLIENT is the same code, thread and runtime for
//! every server ([`client`]): it keeps every connection busy with sequential round trips
//! of a small message (a closed loop), and counts the round trips that complete in a fixed
//! window after a warm-up. The figures are round trips per second and the round-trip
//! latency percentiles, as the client sees them.

use std::io::{Error, ErrorKind};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use runtime::net::TcpStream;

use crate::exec::{Exec, Io, IoKind, Runner};
use crate::record::{histogram, percentiles, Metric, THROUGHPUT};

use super::load::{client_runtime, connect_all, with_server, STUCK};
use super::{Outcome, Params};

/// The size of one `net` run.
#[derive(Clone, Copy, Debug)]
pub struct NetConfig {
    /// Connections, each doing round trips one after another.
    pub conns: usize,
    /// The message's size in bytes.
    pub msg: usize,
    /// Round trips before the window, not counted.
    pub warmup: Duration,
    /// The window whose round trips are counted.
    pub window: Duration,
}

impl NetConfig {
    /// 64 connections of 64-byte round trips, 0.5 s of warm-up then 2 s measured; when
    /// quick, 16 connections, 0.1 s then 0.5 s.
    pub fn new(p: &Params) -> NetConfig {
        NetConfig {
            conns: p.size(64, 16),
            msg: 64,
            warmup: p.size(Duration::from_millis(500), Duration::from_millis(100)),
            window: p.size(Duration::from_secs(2), Duration::from_millis(500)),
        }
    }
}

/// What the client measured.
#[derive(Debug)]
pub struct NetReport {
    /// Round trips completed in the window.
    pub trips: u64,
    /// Round-trip latencies of those, in nanoseconds.
    pub latency: Histogram<u64>,
    /// The client's own I/O backend.
    pub client_backend: String,
    /// CPU time the server side of the process used during the window.
    pub server_cpu: Duration,
}

/// Runs the echo for [`NetConfig::new`] on `r`.
pub fn run<R: Runner>(r: &R, p: &Params) -> Outcome {
    let cfg = NetConfig::new(p);
    let report = measure(r, cfg).unwrap_or_else(|e| panic!("net: {e}"));
    let rate = report.trips as f64 / cfg.window.as_secs_f64();
    let lat = percentiles(&report.latency, "us");
    let (p50, p99) = (lat[0].clone(), lat[2].clone());
    // Server CPU per round trip: the server's own cost, whatever the client's share of
    // the cores (on loopback much of it is the kernel's TCP work for both ends).
    let cpu_us = report.server_cpu.as_secs_f64() * 1e6 / report.trips.max(1) as f64;
    Outcome {
        params: format!(
            "{} conns x {} B, {} s",
            cfg.conns,
            cfg.msg,
            cfg.window.as_secs_f64()
        ),
        detail: format!(
            "{rate:.0} round trips/s, p50 {:.0} us, p99 {:.0} us, server CPU {cpu_us:.2} us/trip; server I/O {}, client {}",
            p50.value(),
            p99.value(),
            r.io_backend(IoKind::Net),
            report.client_backend
        ),
        metrics: vec![
            Metric::single(THROUGHPUT, "trips/s", rate),
            p50,
            p99,
            Metric::single("server_cpu", "us/trip", cpu_us),
        ],
    }
}

/// Serves echo on `r` and runs the client against it on its own thread; checks that the
/// server echoed every byte the client sent.
pub fn measure<R: Runner>(r: &R, cfg: NetConfig) -> std::io::Result<NetReport> {
    let (c, echoed) = with_server(
        r,
        |ex, bound, stop| ex.spawn(ex.serve_echo(bound, stop)),
        move |addr| client(addr, cfg),
    )?;
    if echoed != c.sent {
        return Err(Error::other(format!(
            "the server echoed {echoed} bytes, the client sent {}",
            c.sent
        )));
    }
    Ok(NetReport {
        trips: c.trips,
        latency: c.latency,
        client_backend: c.backend,
        server_cpu: c.server_cpu,
    })
}

/// The client's figures, and the bytes it sent in all (to check the server's count).
struct ClientReport {
    trips: u64,
    sent: u64,
    latency: Histogram<u64>,
    backend: String,
    /// CPU time the rest of the process (the server) used during the window.
    server_cpu: Duration,
}

/// CPU time of the whole process (every thread) and of the calling thread, from the
/// scheduler's own accounting (`/proc/.../schedstat`, nanoseconds).
pub(super) fn cpu_times() -> (Duration, Duration) {
    fn run_ns(path: &std::path::Path) -> u64 {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }
    let all: u64 = std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| run_ns(&e.path().join("schedstat")))
                .sum()
        })
        .unwrap_or(0);
    let me = run_ns(std::path::Path::new("/proc/thread-self/schedstat"));
    (Duration::from_nanos(all), Duration::from_nanos(me))
}

/// The client: one dedicated OS thread, outside the server's runtime, running a `Single`
/// loop of ours (io_uring where the kernel allows it) that drives every connection
/// concurrently, one task each.
///
/// Why this client: one loop with completion-based I/O spends the least CPU per round
/// trip (no thread hand-offs, one `io_uring_enter` for many sockets), leaving the most
/// to the server; and it is the same code, thread and runtime whatever the server, so
/// the servers are compared under the same load. It ignores `--io`: only the server's
/// backend changes between rows. It is one thread more than the server's: on a 2-core
/// machine a pool of 2 workers shares the cores with it, which that row measures too.
fn client(addr: SocketAddr, cfg: NetConfig) -> std::io::Result<ClientReport> {
    let (rt, backend) = client_runtime()?;
    rt.block_on(async move {
        let conns = connect_all(addr, cfg.conns).await?;
        for c in &conns {
            c.set_nodelay(true)?;
        }
        let from = Instant::now() + cfg.warmup;
        let until = from + cfg.window;
        let tasks: Vec<_> = conns
            .into_iter()
            .map(|c| {
                let limit = cfg.warmup + cfg.window + STUCK;
                runtime::spawn(runtime::timeout(
                    limit,
                    round_trips(c, cfg.msg, from, until),
                ))
            })
            .collect();
        // The server's CPU in the window: the process's, less this (the client's) thread.
        let cpu = runtime::spawn(async move {
            runtime::sleep_until(from).await;
            let (p0, t0) = cpu_times();
            runtime::sleep_until(until).await;
            let (p1, t1) = cpu_times();
            (p1.saturating_sub(p0)).saturating_sub(t1.saturating_sub(t0))
        });
        let mut report = ClientReport {
            trips: 0,
            sent: 0,
            latency: histogram(),
            backend,
            server_cpu: Duration::ZERO,
        };
        for t in tasks {
            let conn = t.await.map_err(Error::other)?.map_err(|_| {
                Error::new(
                    ErrorKind::TimedOut,
                    "a connection was stuck 10 s past the window",
                )
            })??;
            report.sent += conn.sent;
            report.trips += conn.latencies.len() as u64;
            for ns in conn.latencies {
                report
                    .latency
                    .saturating_record(ns.clamp(1, report.latency.high()));
            }
        }
        report.server_cpu = cpu.await.map_err(Error::other)?;
        Ok(report)
    })
}

/// What one connection did.
struct ConnReport {
    /// Bytes sent in all, warm-up included.
    sent: u64,
    /// Latency in nanoseconds of each round trip that completed in the window.
    latencies: Vec<u64>,
}

/// Round trips on `conn` until `until`: write `msg` bytes, read until as many came back
/// (checking they are the ones sent), and keep the latency of those that complete in
/// `[from, until)`. Each message has its own byte value, so a stale or mixed-up echo is
/// caught.
async fn round_trips(
    conn: TcpStream,
    msg: usize,
    from: Instant,
    until: Instant,
) -> std::io::Result<ConnReport> {
    let mut out = vec![0u8; msg];
    let mut back = Vec::with_capacity(msg);
    let mut report = ConnReport {
        sent: 0,
        latencies: Vec::new(),
    };
    let mut k = 0u8;
    loop {
        let t0 = Instant::now();
        if t0 >= until {
            return Ok(report);
        }
        k = k.wrapping_add(1);
        out.fill(k);
        let (res, b) = conn.write_all(out).await;
        out = b;
        res?;
        let mut got = 0;
        while got < msg {
            let (res, b) = conn.read(back).await;
            back = b;
            match res? {
                0 => return Err(Error::new(ErrorKind::UnexpectedEof, "the server closed")),
                n if back.iter().any(|&x| x != k) => {
                    return Err(Error::new(
                        ErrorKind::InvalidData,
                        format!("the echo of {n} bytes differs from what was sent"),
                    ))
                }
                n => got += n,
            }
        }
        report.sent += msg as u64;
        let t1 = Instant::now();
        if t1 >= from && t1 < until {
            report.latencies.push((t1 - t0).as_nanos() as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::ours::Ours;
    use runtime::Mode;

    /// The echo end to end with a tiny size, on both of our backends and in both
    /// one-loop and pool modes: every byte comes back and round trips are counted.
    #[test]
    fn net_runs_end_to_end_on_both_backends() {
        let cfg = NetConfig {
            conns: 2,
            msg: 64,
            warmup: Duration::from_millis(10),
            window: Duration::from_millis(50),
        };
        for uring in [true, false] {
            for mode in [Mode::Single, Mode::Threads] {
                let r = Ours::build_io(mode, 2, false, uring).unwrap();
                let backend = r.io_backend(IoKind::Net);
                assert!(uring || backend.starts_with("readiness"), "{backend}");
                let report = measure(&r, cfg).unwrap_or_else(|e| panic!("{mode} {backend}: {e}"));
                assert!(report.trips > 0, "{mode} {backend}: no round trip");
                assert_eq!(report.latency.len(), report.trips);
            }
        }
    }
}
