//! `http`: HTTP/1.1 keep-alive requests to a hyper 1.x server, 64 and then 256
//! connections at once.
//!
//! The SERVER runs on the runner under test ([`Io::serve_http`]): hyper's HTTP/1.1
//! connection over each runtime's own sockets (ours through its `futures_io` traits and
//! the bench's adapter, tokio through hyper-util's `TokioIo`, monoio through its
//! `poll-io` streams and `TokioIo`), answering `200 Hello, World!`. The CLIENT is the same
//! for every server, like `wrk`: one thread running a `Single` loop of ours, one task per
//! connection sending `GET` after `GET` on its keep-alive connection (a closed loop), a
//! small hand-written HTTP/1.1 reader that checks each response (status, `content-length`,
//! body) and so spends far less CPU per request than a second hyper would. Figures:
//! requests per second, latency percentiles as the client sees them, and server CPU per
//! request (the process's CPU less the client thread's, as `net` measures it).

use std::io::{Error, ErrorKind};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use runtime::net::TcpStream;
use runtime::Settable;

use crate::exec::hyper_io::HELLO;
use crate::exec::{Exec, Io, IoKind, Runner};
use crate::record::{histogram, percentiles, Metric, THROUGHPUT};

use super::load::{client_runtime, connect_all, server_cpu, with_server, STUCK};
use super::{Outcome, Params};

/// The request every connection sends.
const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n";

/// The size of one `http` run.
#[derive(Clone, Copy, Debug)]
pub struct HttpConfig {
    /// Connections, each sending one request after another.
    pub conns: usize,
    /// Requests before the window, not counted.
    pub warmup: Duration,
    /// The window whose requests are counted.
    pub window: Duration,
}

/// The two sizes of a run: 64 and 256 connections, 0.5 s of warm-up then 2 s measured;
/// when quick, 16 and 64 connections, 0.1 s then 0.4 s.
pub fn configs(p: &Params) -> [HttpConfig; 2] {
    let warmup = p.size(Duration::from_millis(500), Duration::from_millis(100));
    let window = p.size(Duration::from_secs(2), Duration::from_millis(400));
    [p.size(64, 16), p.size(256, 64)].map(|conns| HttpConfig {
        conns,
        warmup,
        window,
    })
}

/// What the client measured.
#[derive(Debug)]
pub struct HttpReport {
    /// Requests answered in the window.
    pub requests: u64,
    /// Their latencies, in nanoseconds.
    pub latency: Histogram<u64>,
    /// The client's own I/O backend.
    pub client_backend: String,
    /// CPU time the server side of the process used during the window.
    pub server_cpu: Duration,
}

/// The metric names of the second (larger) size.
const SECOND: [&str; 4] = ["throughput_2", "p50_2", "p99_2", "server_cpu_2"];

/// Runs both sizes of [`configs`] on `r`.
pub fn run<R: Runner>(r: &R, p: &Params) -> Outcome {
    let cfgs = configs(p);
    let mut metrics = Vec::new();
    let mut detail = Vec::new();
    for (i, cfg) in cfgs.iter().enumerate() {
        let report = measure(r, *cfg).unwrap_or_else(|e| panic!("http: {e}"));
        let rate = report.requests as f64 / cfg.window.as_secs_f64();
        let lat = percentiles(&report.latency, "us");
        let (p50, p99) = (lat[0].value(), lat[2].value());
        let cpu_us = report.server_cpu.as_secs_f64() * 1e6 / report.requests.max(1) as f64;
        let names = if i == 0 {
            [THROUGHPUT, "p50", "p99", "server_cpu"]
        } else {
            SECOND
        };
        metrics.extend([
            Metric::single(names[0], "req/s", rate),
            Metric::single(names[1], "us", p50),
            Metric::single(names[2], "us", p99),
            Metric::single(names[3], "us/req", cpu_us),
        ]);
        detail.push(format!(
            "{} conns: {rate:.0} req/s, p50 {p50:.0} us, p99 {p99:.0} us, server CPU {cpu_us:.2} us/req",
            cfg.conns
        ));
        if i + 1 == cfgs.len() {
            detail.push(format!(
                "server I/O {}, client {}",
                r.io_backend(IoKind::Http),
                report.client_backend
            ));
        }
    }
    Outcome {
        params: format!(
            "{} then {} conns (the _2 metrics), {} s",
            cfgs[0].conns,
            cfgs[1].conns,
            cfgs[0].window.as_secs_f64()
        ),
        detail: detail.join("; "),
        metrics,
    }
}

/// Serves HTTP on `r` and runs the client against it; checks that the server answered
/// exactly the requests the client saw answered.
pub fn measure<R: Runner>(r: &R, cfg: HttpConfig) -> std::io::Result<HttpReport> {
    let (report, served) = with_server(
        r,
        |ex: &R::Exec, bound, stop| ex.spawn(ex.serve_http(bound, stop)),
        move |addr| client(addr, cfg),
    )?;
    if served != report.0 {
        return Err(Error::other(format!(
            "the server answered {served} requests, the client got {} answers",
            report.0
        )));
    }
    Ok(report.1)
}

/// `bench serve-http` (see `driver::serve_http`): the same server as [`measure`]'s on
/// `r`, with no client of ours; `listening` gets its address once it is bound. Serves
/// until `stop` resolves and its connections have closed; returns the requests served.
pub fn serve<R: Runner>(
    r: &R,
    stop: Settable<()>,
    listening: impl FnOnce(SocketAddr) + Send + 'static,
) -> std::io::Result<u64> {
    let ex = r.exec();
    r.block_on(async move {
        let (bound_tx, bound) = runtime::settable();
        let served = ex.spawn(ex.serve_http(bound_tx, stop));
        match bound.await {
            Ok(addr) => listening(addr),
            Err(_) => {
                served.await?;
                return Err(Error::other("the server never bound"));
            }
        }
        served.await
    })
}

/// The client (see the module docs); returns every answer it got (warm-up included) and
/// its report.
fn client(addr: SocketAddr, cfg: HttpConfig) -> std::io::Result<(u64, HttpReport)> {
    let (rt, backend) = client_runtime()?;
    rt.block_on(async move {
        let conns = connect_all(addr, cfg.conns).await?;
        for c in &conns {
            c.set_nodelay(true)?;
        }
        let from = Instant::now() + cfg.warmup;
        let until = from + cfg.window;
        let limit = cfg.warmup + cfg.window + STUCK;
        let tasks: Vec<_> = conns
            .into_iter()
            .map(|c| runtime::spawn(runtime::timeout(limit, requests(c, from, until))))
            .collect();
        let cpu = runtime::spawn(async move {
            runtime::sleep_until(from).await;
            let before = super::net::cpu_times();
            runtime::sleep_until(until).await;
            server_cpu(before, super::net::cpu_times())
        });
        let mut answered = 0;
        let mut report = HttpReport {
            requests: 0,
            latency: histogram(),
            client_backend: backend,
            server_cpu: Duration::ZERO,
        };
        for t in tasks {
            let conn = t.await.map_err(Error::other)?.map_err(|_| {
                Error::new(
                    ErrorKind::TimedOut,
                    "a connection was stuck 10 s past the window",
                )
            })??;
            answered += conn.answered;
            report.requests += conn.latencies.len() as u64;
            for ns in conn.latencies {
                report
                    .latency
                    .saturating_record(ns.clamp(1, report.latency.high()));
            }
        }
        report.server_cpu = cpu.await.map_err(Error::other)?;
        Ok((answered, report))
    })
}

/// What one connection did.
struct ConnReport {
    /// Answers received in all, warm-up included.
    answered: u64,
    /// Latency in nanoseconds of each request answered in the window.
    latencies: Vec<u64>,
}

/// Requests on `conn` until `until`, one at a time; keeps the latency of those answered
/// in `[from, until)`.
async fn requests(conn: TcpStream, from: Instant, until: Instant) -> std::io::Result<ConnReport> {
    let mut req = REQUEST.to_vec();
    let mut buf = Vec::with_capacity(4096);
    let mut answer = Vec::with_capacity(4096);
    let mut report = ConnReport {
        answered: 0,
        latencies: Vec::new(),
    };
    loop {
        let t0 = Instant::now();
        if t0 >= until {
            return Ok(report);
        }
        let (res, b) = conn.write_all(req).await;
        req = b;
        res?;
        answer.clear();
        loop {
            let (res, b) = conn.read(buf).await;
            buf = b;
            if res? == 0 {
                return Err(Error::new(ErrorKind::UnexpectedEof, "the server closed"));
            }
            answer.extend_from_slice(&buf);
            match complete(&answer)? {
                Some(len) if len == answer.len() => break,
                Some(_) => return Err(Error::new(ErrorKind::InvalidData, "bytes past the answer")),
                None => {}
            }
        }
        report.answered += 1;
        let t1 = Instant::now();
        if t1 >= from && t1 < until {
            report.latencies.push((t1 - t0).as_nanos() as u64);
        }
    }
}

/// The length of the HTTP/1.1 answer at the start of `bytes` once it is all there
/// (`None`: not yet), checking it is `200` with the body [`HELLO`].
fn complete(bytes: &[u8]) -> std::io::Result<Option<usize>> {
    let bad = |why: &str| Err(Error::new(ErrorKind::InvalidData, format!("answer: {why}")));
    let Some(head) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head_text = String::from_utf8_lossy(&bytes[..head]);
    if !head_text.starts_with("HTTP/1.1 200 ") {
        return bad(&format!(
            "not 200: {}",
            head_text.lines().next().unwrap_or("")
        ));
    }
    let length = head_text.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    let Some(length) = length else {
        return bad("no content-length");
    };
    let total = head + 4 + length;
    if bytes.len() < total {
        return Ok(None);
    }
    if &bytes[head + 4..total] != HELLO {
        return bad("an unexpected body");
    }
    Ok(Some(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::ours::Ours;
    use runtime::Mode;

    #[test]
    fn answers_are_parsed_and_checked() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\ndate: x\r\n\r\nHello, World!";
        assert_eq!(complete(ok).unwrap(), Some(ok.len()));
        assert_eq!(complete(&ok[..ok.len() - 1]).unwrap(), None);
        assert_eq!(complete(&ok[..20]).unwrap(), None);
        assert!(complete(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").is_err());
        assert!(complete(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert!(complete(b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\nHello, Wxrld!").is_err());
    }

    /// hyper on our sockets end to end, on both backends and in both one-loop and pool
    /// modes: requests are answered and the server's count matches the client's.
    #[test]
    fn http_runs_end_to_end_on_both_backends() {
        let cfg = HttpConfig {
            conns: 3,
            warmup: Duration::from_millis(10),
            window: Duration::from_millis(50),
        };
        for uring in [true, false] {
            for mode in [Mode::Single, Mode::Threads] {
                let r = Ours::build_io(mode, 2, false, uring).unwrap();
                let report = measure(&r, cfg).unwrap_or_else(|e| panic!("{mode} {uring}: {e}"));
                assert!(report.requests > 0, "{mode} {uring}: no request");
                assert_eq!(report.latency.len(), report.requests);
            }
        }
    }
}
