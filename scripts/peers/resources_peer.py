#!/usr/bin/env python3
"""The bench's `resources` workload in CPython: bytes and creation time per concurrent
waiter for asyncio tasks (`py-asyncio`: 10k, 100k; not 1M, which takes CPython over a
minute, its cyclic collector rescanning the growing heap) and threads (`py-threads`: 1k,
10k), each waiting on a timer. Like the bench, every point runs in a fresh interpreter
(this script re-run with --point), and the bytes are its resident-set growth (VmRSS)
over N. Prints the bench's JSON on stdout and one row per measurement on stderr."""

import asyncio
import json
import subprocess
import sys
import threading
import time

import common as c

WAIT = 30.0  # each waiter's timer: longer than a point takes; the point ends them sooner
TASKS = (10_000, 100_000)
THREADS = (1_000, 10_000)


def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


async def tasks_point(n):
    loop = asyncio.get_running_loop()
    waiting = 0
    all_waiting = loop.create_future()

    async def sleeper():
        # asyncio.sleep(WAIT)'s own body, with a count once its timer is set.
        nonlocal waiting
        nap = loop.create_future()
        timer = loop.call_later(WAIT, nap.set_result, None)
        waiting += 1
        if waiting == n:
            all_waiting.set_result(None)
        try:
            await nap
        finally:
            timer.cancel()

    await asyncio.sleep(0)
    before = rss()
    start = time.perf_counter_ns()
    tasks = [asyncio.create_task(sleeper()) for _ in range(n)]
    await all_waiting
    create = (time.perf_counter_ns() - start) / n
    after = rss()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"bytes": (after - before) / n, "create_ns": create}


def threads_point(n):
    before = rss()
    started = threading.Semaphore(0)
    stop = threading.Event()

    def waiter():
        started.release()
        stop.wait(WAIT)

    start = time.perf_counter_ns()
    threads = []
    try:
        for _ in range(n):
            t = threading.Thread(target=waiter)
            t.start()
            threads.append(t)
        for _ in threads:
            started.acquire()
        create = (time.perf_counter_ns() - start) / n
        after = rss()
    finally:
        stop.set()
        for t in threads:
            t.join()
    return {"bytes": (after - before) / n, "create_ns": create}


def child(what, n):
    if what == "tasks":
        figures = asyncio.run(tasks_point(n))
    else:
        figures = threads_point(n)
    print(json.dumps(figures))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--point":
        child(sys.argv[2], int(sys.argv[3]))
        return
    args = c.parse_args(__doc__)
    for mode, what, sizes, guess in (
        ("py-asyncio", "tasks", TASKS, 4096.0),
        ("py-threads", "threads", THREADS, 128 * 1024.0),
    ):
        if not c.wanted(args, "resources"):
            break
        sizes = sizes[:1] if args.quick else sizes
        params = f"{' / '.join(str(n) for n in sizes)} {what}, each waiting on a timer"
        per = guess
        for n in sizes:
            avail = available()
            if avail is not None and 2 * per * n > avail / 2:
                print(f"note: {mode} resources {n}: skipped, may not fit in memory", file=sys.stderr)
                continue
            out = subprocess.run(
                [sys.executable, __file__, "--point", what, str(n)],
                capture_output=True,
                text=True,
                timeout=300,
            )
            if out.returncode != 0:
                print(f"note: {mode} resources {n}: {out.stderr.strip()}", file=sys.stderr)
                continue
            f = json.loads(out.stdout)
            per = max(per, f["bytes"])
            c.add(mode, "resources", f"bytes@{n}", [f["bytes"]], "B", params)
            c.add(mode, "resources", f"create@{n}", [f["create_ns"]], "ns", params)
    c.emit("scripts/peers/resources_peer.py")


if __name__ == "__main__":
    main()
