//! `bulk`: a few TCP connections each echoing 8 MiB, once through the runtime's
//! owned-buffer API and once through its poll-based stream traits.
//!
//! The SERVER runs on the runner under test ([`Io::serve_bulk`]): read up to
//! [`BULK_BUF`](crate::exec::BULK_BUF) bytes, write them all back, until the peer closes.
//! The CLIENT is the same for every server: a `Single` loop of ours on its own thread;
//! each connection writes its bytes (a pattern, so the echo is checked byte for byte)
//! while it reads the echo back, then shuts its write side. Figures: MiB echoed per
//! second, and the server's CPU per MiB (the process's CPU less the client thread's,
//! over the transfers), for each API.

use std::io::{Error, ErrorKind};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use runtime::net::TcpStream;

use crate::exec::{BulkApi, Exec, Io, IoKind, Runner};
use crate::record::{Metric, THROUGHPUT};

use super::load::{client_runtime, connect_all, server_cpu, with_server, STUCK};
use super::{Outcome, Params};

const MIB: f64 = 1024.0 * 1024.0;

/// The pattern repeats every this many bytes (a prime, so it never lines up with a
/// buffer size).
const PERIOD: usize = 251;

/// The client's writes: whole periods of the pattern.
const CHUNK: usize = PERIOD * 1024;

/// The size of one `bulk` run.
#[derive(Clone, Copy, Debug)]
pub struct BulkConfig {
    /// Connections echoing at once.
    pub conns: usize,
    /// Bytes each connection sends (and gets back).
    pub bytes: usize,
    /// Times the whole transfer is done, on new connections each time.
    pub rounds: usize,
}

impl BulkConfig {
    /// 4 connections of 8 MiB, 4 rounds; when quick, 2 connections of 1 MiB, 1 round.
    pub fn new(p: &Params) -> BulkConfig {
        BulkConfig {
            conns: p.size(4, 2),
            bytes: p.size(8 << 20, 1 << 20),
            rounds: p.size(4, 1),
        }
    }
}

/// What the client measured.
#[derive(Debug)]
pub struct BulkReport {
    /// Bytes echoed back to the client, all connections and rounds.
    pub bytes: u64,
    /// Time the transfers took (connections open, excluding connecting).
    pub elapsed: Duration,
    /// CPU time the server side of the process used meanwhile.
    pub server_cpu: Duration,
    /// The client's own I/O backend.
    pub client_backend: String,
}

/// Runs [`BulkConfig::new`] on `r` through each API.
pub fn run<R: Runner>(r: &R, p: &Params) -> Outcome {
    let cfg = BulkConfig::new(p);
    let mut metrics = Vec::new();
    let mut detail = Vec::new();
    let mut client_backend = String::new();
    for (api, names) in [
        (BulkApi::Owned, [THROUGHPUT, "server_cpu"]),
        (BulkApi::Traits, ["throughput_traits", "server_cpu_traits"]),
    ] {
        let report = measure(r, cfg, api).unwrap_or_else(|e| panic!("bulk ({api:?}): {e}"));
        let mib = report.bytes as f64 / MIB;
        let rate = mib / report.elapsed.as_secs_f64();
        let cpu = report.server_cpu.as_secs_f64() * 1e6 / mib;
        metrics.push(Metric::single(names[0], "MiB/s", rate));
        metrics.push(Metric::single(names[1], "us/MiB", cpu));
        let what = match api {
            BulkApi::Owned => "owned buffers",
            BulkApi::Traits => "stream traits",
        };
        detail.push(format!(
            "{what}: {rate:.0} MiB/s, server CPU {cpu:.0} us/MiB"
        ));
        client_backend = report.client_backend;
    }
    Outcome {
        params: format!(
            "{} conns x {} MiB, {} rounds",
            cfg.conns,
            cfg.bytes >> 20,
            cfg.rounds
        ),
        detail: format!(
            "{}; server I/O {}, client {client_backend}",
            detail.join("; "),
            r.io_backend(IoKind::Bulk)
        ),
        metrics,
    }
}

/// Serves the echo through `api` on `r` and runs the client against it; checks that the
/// server echoed every byte the client sent.
pub fn measure<R: Runner>(r: &R, cfg: BulkConfig, api: BulkApi) -> std::io::Result<BulkReport> {
    let (report, echoed) = with_server(
        r,
        move |ex: &R::Exec, bound, stop| ex.spawn(ex.serve_bulk(bound, stop, api)),
        move |addr| client(addr, cfg),
    )?;
    if echoed != report.bytes {
        return Err(Error::other(format!(
            "the server echoed {echoed} bytes, the client got {} back",
            report.bytes
        )));
    }
    Ok(report)
}

fn client(addr: SocketAddr, cfg: BulkConfig) -> std::io::Result<BulkReport> {
    let (rt, backend) = client_runtime()?;
    rt.block_on(async move {
        let mut report = BulkReport {
            bytes: 0,
            elapsed: Duration::ZERO,
            server_cpu: Duration::ZERO,
            client_backend: backend,
        };
        for _ in 0..cfg.rounds {
            let conns = connect_all(addr, cfg.conns).await?;
            let before = super::net::cpu_times();
            let t0 = Instant::now();
            let tasks: Vec<_> = conns
                .into_iter()
                .map(|c| runtime::spawn(runtime::timeout(STUCK * 6, transfer(c, cfg.bytes))))
                .collect();
            for t in tasks {
                report.bytes += t.await.map_err(Error::other)?.map_err(|_| {
                    Error::new(ErrorKind::TimedOut, "a transfer took over a minute")
                })??;
            }
            report.elapsed += t0.elapsed();
            report.server_cpu += server_cpu(before, super::net::cpu_times());
        }
        Ok(report)
    })
}

/// Sends `bytes` of the pattern on `conn` while reading the echo back and checking it;
/// returns the bytes that came back (all of them, or an error).
async fn transfer(conn: TcpStream, bytes: usize) -> std::io::Result<u64> {
    let send = async {
        let pattern: Vec<u8> = (0..CHUNK).map(|i| (i % PERIOD) as u8).collect();
        let mut chunk = pattern.clone();
        let mut sent = 0;
        while sent < bytes {
            let n = CHUNK.min(bytes - sent);
            chunk.truncate(n);
            let (res, b) = conn.write_all(chunk).await;
            chunk = b;
            res?;
            sent += n;
            if chunk.len() < CHUNK {
                chunk.clear();
                chunk.extend_from_slice(&pattern);
            }
        }
        conn.shutdown(Shutdown::Write)?;
        Ok::<_, Error>(())
    };
    let receive = async {
        let mut buf = Vec::with_capacity(256 * 1024);
        let mut got = 0usize;
        loop {
            let (res, b) = conn.read(buf).await;
            buf = b;
            if res? == 0 {
                break;
            }
            if let Some(i) = buf
                .iter()
                .enumerate()
                .position(|(i, &x)| x != ((got + i) % PERIOD) as u8)
            {
                return Err(Error::new(
                    ErrorKind::InvalidData,
                    format!("the echo differs at byte {}", got + i),
                ));
            }
            got += buf.len();
        }
        if got != bytes {
            return Err(Error::new(
                ErrorKind::UnexpectedEof,
                format!("{got} bytes came back of {bytes}"),
            ));
        }
        Ok(got as u64)
    };
    let ((), got) = futures_lite::future::try_zip(send, receive).await?;
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::ours::Ours;
    use runtime::Mode;

    /// Both APIs end to end, on both backends and in both one-loop and pool modes: every
    /// byte comes back in order.
    #[test]
    fn bulk_runs_end_to_end_on_both_backends() {
        let cfg = BulkConfig {
            conns: 2,
            bytes: 3 << 20,
            rounds: 1,
        };
        for uring in [true, false] {
            for mode in [Mode::Single, Mode::Threads] {
                let r = Ours::build_io(mode, 2, false, uring).unwrap();
                for api in [BulkApi::Owned, BulkApi::Traits] {
                    let report = measure(&r, cfg, api)
                        .unwrap_or_else(|e| panic!("{mode} {uring} {api:?}: {e}"));
                    assert_eq!(report.bytes, 2 * (3 << 20));
                }
            }
        }
    }
}
