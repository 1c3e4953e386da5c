#!/usr/bin/env python3
"""The bench's CPU workloads (cpu, mixed, gil_convoy) in CPython, three ways, like the
runtime's modes: `py-asyncio` runs the work inline on the event loop (like `single`),
`py-threads` in a ThreadPoolExecutor (threads under the real GIL, like `gil`),
`py-processes` in a ProcessPoolExecutor (like `processes`). And two sweeps: cpu_sweep
(py-processes' speed-up with 1, 2, 4, 8 workers) and gil_sweep (gil_convoy on py-threads at
switch intervals 0.1 to 20 ms, `sys.setswitchinterval`). Prints the bench's JSON on
stdout and one row per measurement on stderr."""

import asyncio
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import common as c


def make_submit(executor):
    """`submit(f, arg)` as an awaitable: inline on the loop, or in `executor`."""
    if executor is None:

        async def inline(f, arg):
            return f(arg)

        return inline

    async def pooled(f, arg):
        return await asyncio.get_running_loop().run_in_executor(executor, f, arg)

    return pooled


async def cpu(submit, jobs, n):
    start = time.perf_counter()
    out = await asyncio.gather(*(submit(c.fib, n) for _ in range(jobs)))
    assert len(set(out)) == 1
    return (time.perf_counter() - start) * 1e3


MACHINES = (40, 30, 30)
ATTENTION = (30, 30, 40)


async def mixed(submit, minute_us, per_ms):
    start = time.perf_counter()
    machines = [asyncio.create_task(asyncio.sleep(m * minute_us / 1e6)) for m in MACHINES]
    chores = [asyncio.ensure_future(submit(c.burn, m * minute_us * per_ms // 1000)) for m in ATTENTION]
    await asyncio.gather(*machines)
    await asyncio.gather(*chores)
    return (time.perf_counter() - start) * 1e3


async def convoy(submit, jobs, units, interval=0.001, max_pings=100_000):
    loop = asyncio.get_running_loop()
    first = loop.create_future()

    server = asyncio.create_task(c.echo(first))
    finished = [None]
    latencies = []

    async def pinger():
        request = first
        start = time.perf_counter()
        for k in range(max_pings):
            due = start + k * interval
            if finished[0] is not None and due > finished[0]:
                break
            now = time.perf_counter()
            if due > now:
                await asyncio.sleep(due - now)
            reply, nxt = loop.create_future(), loop.create_future()
            request.set_result((reply, nxt))
            request = nxt
            await reply
            latencies.append(max(0.0, time.perf_counter() - due) * 1e9)
        request.set_result(None)

    ping = asyncio.create_task(pinger())
    await asyncio.sleep(0)
    start = time.perf_counter()
    work = [asyncio.ensure_future(submit(c.burn, units)) for _ in range(jobs)]
    await asyncio.gather(*work)
    wall = (time.perf_counter() - start) * 1e3
    finished[0] = time.perf_counter()
    await ping
    await server
    return latencies, wall


def warm(executor, workers):
    if executor is not None:
        list(executor.map(abs, range(workers * 2)))


SWEEP_WORKERS = (1, 2, 4, 8)
SWEEP_INTERVALS_MS = (0.1, 0.5, 1, 5, 20)


def point(x):
    """A sweep point as the bench writes it in metric names (0.1, 1, 20)."""
    return f"{x:g}"


def cpu_sweep(args):
    """The process pool's speed-up over the same jobs run in turn on the loop, measured
    just before each point, with 1, 2, 4 and 8 workers."""
    jobs, n = c.size(args, 32, 16), c.size(args, 25, 23)
    params = f"{jobs} x fib({n})"
    inline = make_submit(None)
    # py-processes only: a thread pool under the GIL is flat at 1x (the cpu workload shows
    # it), and each point costs CPython seconds.
    for mode, make in (("py-processes", ProcessPoolExecutor),):
        for k in SWEEP_WORKERS:
            executor = make(k)
            try:
                warm(executor, k)
                submit = make_submit(executor)
                runs = []
                for _ in range(c.size(args, 2, 1)):
                    one_core = asyncio.run(cpu(inline, jobs, n))
                    runs.append(one_core / asyncio.run(cpu(submit, jobs, n)))
                c.add(mode, "cpu_sweep", f"speedup@{k}", runs, "x", params)
            finally:
                executor.shutdown()


def gil_sweep(args, workers, per_ms):
    """gil_convoy on py-threads at each switch interval: the echo's p99 and the CPU jobs'
    throughput, as the time the same jobs take in turn on this thread just before each
    run over their time in the convoy (cores' worth of work)."""
    job_ms = c.size(args, 200, 50)
    jobs = max(1, workers - 1)
    params = f"{jobs} job{'s' if jobs > 1 else ''} x {job_ms} ms, a ping every 1 ms"
    default = sys.getswitchinterval()
    executor = ThreadPoolExecutor(workers)
    try:
        warm(executor, workers)
        submit = make_submit(executor)
        for ms in SWEEP_INTERVALS_MS:
            sys.setswitchinterval(ms / 1e3)
            lat, shares = [], []
            for _ in range(c.reps(args)):
                t = time.perf_counter()
                for _ in range(jobs):
                    c.burn(job_ms * per_ms)
                alone = (time.perf_counter() - t) * 1e3
                l, w = asyncio.run(convoy(submit, jobs, job_ms * per_ms))
                lat.extend(l)
                shares.append(alone / w)
            lat.sort()
            p99 = lat[min(len(lat) - 1, max(0, int(round(0.99 * len(lat) + 0.5)) - 1))]
            c.add("py-threads", "gil_sweep", f"p99@{point(ms)}", [p99 / 1e3], "us", params)
            c.add("py-threads", "gil_sweep", f"cpu@{point(ms)}", shares, "cores", params)
    finally:
        sys.setswitchinterval(default)
        executor.shutdown()


def main():
    args = c.parse_args(__doc__)
    workers = args.workers or os.cpu_count() or 1
    calibrate = any(c.wanted(args, w) for w in ("mixed", "gil_convoy", "gil_sweep"))
    per_ms = c.units_per_ms() if calibrate else 1
    ways = [
        ("py-asyncio", lambda: None),
        ("py-threads", lambda: ThreadPoolExecutor(workers)),
        ("py-processes", lambda: ProcessPoolExecutor(workers)),
    ]
    cpu_single = None
    for mode, make in ways:
        executor = make()
        try:
            warm(executor, workers)
            submit = make_submit(executor)
            if c.wanted(args, "cpu"):
                # Smaller than the bench's (CPython is ~50x slower): the speed-ups compare.
                jobs, n = c.size(args, 32, 16), c.size(args, 25, 23)
                walls = [asyncio.run(cpu(submit, jobs, n)) for _ in range(c.size(args, 3, 2))]
                params = f"{jobs} x fib({n})"
                c.add(mode, "cpu", "wall", walls, "ms", params)
                c.add(mode, "cpu", "jobs/s", [jobs / (w / 1e3) for w in walls], "jobs/s", params)
                if mode == "py-asyncio":
                    cpu_single = sorted(walls)[len(walls) // 2]
                elif cpu_single:
                    c.add(mode, "cpu", "speedup", [cpu_single / w for w in walls], "x", params)
            if c.wanted(args, "mixed"):
                minute_us = c.size(args, 1000, 500)
                walls, ratios = [], []
                for _ in range(c.reps(args)):
                    # The attention work alone, in turn, just before: the yardstick moves
                    # with the machine's load.
                    t = time.perf_counter()
                    for m in ATTENTION:
                        c.burn(m * minute_us * per_ms // 1000)
                    attention_ms = (time.perf_counter() - t) * 1e3
                    w = asyncio.run(mixed(submit, minute_us, per_ms))
                    walls.append(w)
                    ratios.append(w / attention_ms)
                params = f"waits 40+30+30, work 30+30+40 (1 min = {minute_us / 1e3} ms)"
                c.add(mode, "mixed", "wall", walls, "ms", params)
                c.add(mode, "mixed", "wall/attention", ratios, "x", params)
            if c.wanted(args, "gil_convoy"):
                job_ms = c.size(args, 200, 50)
                jobs = max(1, workers - 1)  # one worker left for the echo, as in the bench
                lat, walls = [], []
                for _ in range(c.reps(args)):
                    l, w = asyncio.run(convoy(submit, jobs, job_ms * per_ms))
                    lat.extend(l)
                    walls.append(w)
                params = f"{jobs} job{'s' if jobs > 1 else ''} x {job_ms} ms, a ping every 1 ms"
                c.percentiles(mode, "gil_convoy", lat, "us", params)
                c.add(mode, "gil_convoy", "jobs_wall", walls, "ms", params)
        finally:
            if executor is not None:
                executor.shutdown()
    if c.wanted(args, "cpu_sweep"):
        cpu_sweep(args)
    if c.wanted(args, "gil_sweep"):
        gil_sweep(args, workers, per_ms)
    c.emit("scripts/peers/pool_peer.py")


if __name__ == "__main__":
    main()
