"""Shared pieces of the Python peers: sizes that mirror the Rust bench, the CPU work, and
measurements printed as JSON in the bench's format (read by `bench report`)."""

import argparse
import json
import statistics
import sys
import time

MEASUREMENTS = []


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="the bench's --quick sizes")
    p.add_argument("--workers", type=int, default=None, help="pool size (default: CPUs)")
    p.add_argument(
        "--workload",
        default="",
        help="comma-separated workloads to run (default: every one this peer has)",
    )
    args = p.parse_args()
    args.workloads = {w for w in args.workload.split(",") if w}
    return args


def wanted(args, workload):
    return not args.workloads or workload in args.workloads


def size(args, normal, quick):
    return quick if args.quick else normal


def reps(args):
    return 3 if args.quick else 5


def add(mode, workload, metric, runs, unit, params):
    """Records one metric; `runs` is a list of figures (the median is the value)."""
    runs = [float(r) for r in runs]
    MEASUREMENTS.append(
        {
            "mode": mode,
            "kind": "peer",
            "workload": workload,
            "metric": metric,
            "value": statistics.median(runs),
            "unit": unit,
            "runs": runs,
            "params": params,
        }
    )
    print(
        f"{mode:<15} {workload:<10} {metric:<16} {statistics.median(runs):>12.2f} {unit:<7} {params}",
        file=sys.stderr,
    )


def percentiles(mode, workload, samples_ns, unit, params, prefix=""):
    """p50, p90, p99, p99.9 and max of nanosecond samples, in `unit` (us or ms)."""
    div = {"us": 1e3, "ms": 1e6}.get(unit, 1.0)
    s = sorted(samples_ns)
    if not s:
        return
    for name, q in (("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9)):
        idx = min(len(s) - 1, max(0, int(round(q / 100 * len(s) + 0.5)) - 1))
        add(mode, workload, prefix + name, [s[idx] / div], unit, params)
    add(mode, workload, prefix + "max", [s[-1] / div], unit, params)


def emit(tool):
    """Prints every measurement as the bench's JSON document on stdout."""
    json.dump({"command": tool, "measurements": MEASUREMENTS}, sys.stdout, indent=1)
    print()


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


BURN_N = 16


def burn(units):
    total = 0
    for _ in range(units):
        total += fib(BURN_N)
    return total


def units_per_ms():
    """burn() units one core does in a millisecond: the best of three 20 ms samples."""
    best = 0.0
    units = 4
    for _ in range(3):
        while True:
            t = time.perf_counter()
            burn(units)
            took = (time.perf_counter() - t) * 1e3
            if took >= 20:
                best = max(best, units / took)
                break
            units *= 2
    return max(1, int(best))


async def echo(incoming):
    """The echo task of the switch and gil_convoy workloads: answers each request
    (reply future, next request future) until it receives None."""
    while True:
        req = await incoming
        if req is None:
            return
        reply, incoming = req
        reply.set_result(None)
