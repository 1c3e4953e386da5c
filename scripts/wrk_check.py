#!/usr/bin/env python3
"""The `http` figures checked with an independent load client: wrk.

Each runner serves the `http` workload's hyper server in a process of its own
(`bench serve-http --runner R`), and `wrk -t1 -cC --latency` loads it from another
process; the server's CPU is read from /proc/PID/stat around the measured window, so
unlike `bench --workload http` no client of ours shares the process. Runners alternate
within each round (ours next to tokio of the same flavour), N rounds, and the figures
are medians over the rounds.

Prints a RunDoc JSON (the format of `bench --json`) on stdout, workload `http_wrk`,
which `bench report` merges into RESULTS.md (scripts/results.sh does when wrk is
installed), and a summary on stderr: per-round ratios ours / tokio of the same flavour,
their median and range.

    scripts/wrk_check.py [--runs N] [--secs S] [--conns 64,256] [--runners single,...]
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "target", "release", "bench")
TICK = os.sysconf("SC_CLK_TCK")
OURS = {"single": "tokio-ct", "threads": "tokio-mt"}
PEERS = {"tokio-ct", "tokio-mt", "monoio", "monoio-mt", "async-executor"}


def cpu_seconds(pid):
    """utime + stime of every thread of `pid`, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def latency_us(text):
    """wrk's latency (e.g. `268.00us`, `4.03ms`, `1.2s`) in microseconds."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not m:
        raise ValueError(f"wrk latency {text!r}")
    return float(m.group(1)) * {"us": 1.0, "ms": 1e3, "s": 1e6}[m.group(2)]


def wrk(url, conns, secs):
    """Runs wrk; returns (requests, p50 us, p99 us, seconds) as wrk printed them."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency", url],
        capture_output=True, text=True, check=True, timeout=secs + 30,
    ).stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(ms|s)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if not (done and p50 and p99) or int(done.group(1)) == 0:
        raise RuntimeError(f"wrk printed no requests or no latency:\n{out}")
    # A server that answers errors or drops connections is not measured.
    errors = [l.strip() for l in out.splitlines() if "Non-2xx" in l or "Socket errors" in l]
    if errors:
        raise RuntimeError(f"wrk on {url}: {'; '.join(errors)}")
    secs_taken = float(done.group(2)) / (1e3 if done.group(3) == "ms" else 1.0)
    return int(done.group(1)), latency_us(p50.group(1)), latency_us(p99.group(1)), secs_taken


class Unavailable(Exception):
    """The runner cannot run on this machine (serve-http's exit code 3)."""


UNAVAILABLE = 3


def one(runner, conns, secs, workers):
    """One runner at one size: (req/s, p50, p99, server CPU us/req)."""
    cmd = [BENCH, "serve-http", "--runner", runner]
    if workers:
        cmd += ["--workers", str(workers)]
    server = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = server.stdout.readline()
        if not line.startswith("listening on "):
            _, err = server.communicate(timeout=30)
            if server.returncode == UNAVAILABLE:
                raise Unavailable(err.strip())
            raise RuntimeError(f"serve-http --runner {runner}: {line!r} {err.strip()}")
        url = f"http://{line.split()[-1]}/plaintext"
        wrk(url, conns, 1)  # warm-up: connections, caches, the allocator
        before = cpu_seconds(server.pid)
        requests, p50, p99, taken = wrk(url, conns, secs)
        cpu = cpu_seconds(server.pid) - before
        # wrk has closed its connections: closing stdin stops the server.
        rest, err = server.communicate(timeout=30)
    except BaseException:
        # Whatever failed (wrk, a timeout, ^C), the server does not outlive us.
        server.kill()
        server.wait()
        raise
    if server.returncode != 0 or "served" not in rest:
        raise RuntimeError(f"serve-http --runner {runner} failed: {rest!r} {err.strip()}")
    return requests / taken, p50, p99, cpu * 1e6 / requests


def median_range(xs):
    return f"{statistics.median(xs):.3f}x ({min(xs):.3f}-{max(xs):.3f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="rounds (default 5)")
    ap.add_argument("--secs", type=int, default=3, help="measured seconds per point")
    ap.add_argument("--conns", default="64,256", help="connection counts")
    ap.add_argument("--runners", default="single,tokio-ct,threads,tokio-mt,monoio,monoio-mt")
    ap.add_argument("--workers", type=int, default=0, help="pool workers (default: CPUs)")
    args = ap.parse_args()
    if args.runs < 1 or args.secs < 1:
        ap.error("--runs and --secs must be at least 1")
    conns = [int(c) for c in args.conns.split(",")]
    runners = args.runners.split(",")
    if shutil.which("wrk") is None:
        sys.exit("wrk_check.py: wrk is not installed (apt-get install wrk)")
    if not os.access(BENCH, os.X_OK):
        sys.exit("wrk_check.py: build the bench first: cargo build --release -p bench")

    names = [("throughput", "req/s"), ("p50", "us"), ("p99", "us"), ("server_cpu", "us/req")]
    runs = {}  # (runner, size index, metric) -> [per round]
    start = time.time()
    skipped = []
    for r in range(args.runs):
        for i, c in enumerate(conns):
            for runner in list(runners):
                try:
                    figures = one(runner, c, args.secs, args.workers)
                except Unavailable as why:
                    print(f"note: {runner} skipped: {why}", file=sys.stderr)
                    skipped.append({"mode": runner, "reason": str(why)})
                    runners.remove(runner)
                    continue
                for (metric, _), v in zip(names, figures):
                    runs.setdefault((runner, i, metric), []).append(v)
        print(f"round {r + 1}/{args.runs} done ({time.time() - start:.0f} s)", file=sys.stderr)

    measurements = []
    sizes = " then ".join(map(str, conns)) + " conns"
    if len(conns) > 1:
        sizes += " (the _2 metrics)" if len(conns) == 2 else " (the _2, _3, ... metrics)"
    params = f"{sizes}, wrk -t1, {args.secs} s"
    for runner in runners:
        for i in range(len(conns)):
            for metric, unit in names:
                xs = runs.get((runner, i, metric))
                if not xs:
                    continue
                measurements.append({
                    "mode": runner,
                    "kind": "peer" if runner in PEERS else "mode",
                    "workload": "http_wrk",
                    "metric": metric + ("" if i == 0 else f"_{i + 1}"),
                    "value": statistics.median(xs),
                    "unit": unit,
                    "runs": xs,
                    "params": params,
                })
    json.dump({
        "command": "scripts/wrk_check.py " + " ".join(sys.argv[1:]),
        "skipped": skipped,
        "measurements": measurements,
    }, sys.stdout, indent=1)
    print()

    for ours, peer in OURS.items():
        if ours not in runners or peer not in runners:
            continue
        if not all((r, 0, "throughput") in runs for r in (ours, peer)):
            continue
        for i, c in enumerate(conns):
            def ratio(m):
                return [a / b for a, b in zip(runs[(ours, i, m)], runs[(peer, i, m)])]
            print(
                f"{ours} / {peer}, {c} conns: server CPU {median_range(ratio('server_cpu'))}, "
                f"req/s {median_range(ratio('throughput'))}, p99 {median_range(ratio('p99'))}",
                file=sys.stderr,
            )


if __name__ == "__main__":
    main()
