#!/usr/bin/env python3
"""The bench's scheduling workloads on CPython's asyncio (mode `py-asyncio`): io, spawn,
yield, pingpong, chained, switch, timers, io_sweep. Same shapes and sizes as the Rust bench; prints
the bench's JSON on stdout and one row per measurement on stderr."""

import asyncio
import time

import common as c

MODE = "py-asyncio"


async def io(n, d):
    start = time.perf_counter()
    await asyncio.gather(*(asyncio.create_task(asyncio.sleep(d)) for _ in range(n)))
    return (time.perf_counter() - start) * 1e3


class Latch:
    def __init__(self, n):
        self.left = n
        self.done = asyncio.get_running_loop().create_future()

    def count_down(self):
        self.left -= 1
        if self.left == 0:
            self.done.set_result(None)


async def spawn_many(n):
    latch = Latch(n)

    async def tiny():
        latch.count_down()

    start = time.perf_counter_ns()
    for _ in range(n):
        asyncio.create_task(tiny())
    await latch.done
    return (time.perf_counter_ns() - start) / n


async def yield_many(tasks, yields):
    async def yielder():
        for _ in range(yields):
            await asyncio.sleep(0)

    start = time.perf_counter_ns()
    await asyncio.gather(*(asyncio.create_task(yielder()) for _ in range(tasks)))
    return (time.perf_counter_ns() - start) / (tasks * yields)


async def ping_pong(pings):
    loop = asyncio.get_running_loop()
    latch = Latch(pings)

    async def partner(ping, pong):
        await ping
        pong.set_result(None)

    async def pinger():
        ping, pong = loop.create_future(), loop.create_future()
        asyncio.create_task(partner(ping, pong))
        ping.set_result(None)
        await pong
        latch.count_down()

    start = time.perf_counter_ns()
    for _ in range(pings):
        asyncio.create_task(pinger())
    await latch.done
    return (time.perf_counter_ns() - start) / pings


async def chained(depth):
    done = asyncio.get_running_loop().create_future()

    def link(left):
        async def body():
            if left == 0:
                done.set_result(None)
            else:
                link(left - 1)

        asyncio.create_task(body())

    start = time.perf_counter_ns()
    link(depth - 1)
    await done
    return (time.perf_counter_ns() - start) / depth


async def switch(trips):
    loop = asyncio.get_running_loop()
    first = loop.create_future()

    server = asyncio.create_task(c.echo(first))
    request = first

    async def round_trip():
        nonlocal request
        reply, nxt = loop.create_future(), loop.create_future()
        request.set_result((reply, nxt))
        request = nxt
        await reply

    await round_trip()
    start = time.perf_counter_ns()
    for _ in range(trips):
        await round_trip()
    per = (time.perf_counter_ns() - start) / (2 * trips)
    request.set_result(None)
    await server
    return per


async def timers(n, nap):
    async def sleeper():
        due = time.perf_counter_ns() + int(nap * 1e9)
        await asyncio.sleep(nap)
        return max(0, time.perf_counter_ns() - due)

    start = time.perf_counter()
    late = await asyncio.gather(*(asyncio.create_task(sleeper()) for _ in range(n)))
    return (time.perf_counter() - start) * 1e3, late


def main():
    args = c.parse_args(__doc__)
    run = asyncio.run
    if c.wanted(args, "io"):
        d = c.size(args, 0.1, 0.02)
        walls = [run(io(8, d)) for _ in range(c.reps(args))]
        params = f"8 x {int(d * 1e3)} ms"
        c.add(MODE, "io", "wall", walls, "ms", params)
        c.add(MODE, "io", "wall/d", [w / (d * 1e3) for w in walls], "x", params)
    if c.wanted(args, "io_sweep"):
        d = c.size(args, 0.1, 0.02)
        params = f"10 / 1000 / 100000 x {int(d * 1e3)} ms"
        for n in (10, 1_000, 100_000):
            # 100,000 tasks take CPython seconds each time: fewer runs of that point.
            reps = c.size(args, 2, 1) if n >= 100_000 else c.reps(args)
            walls = [run(io(n, d)) for _ in range(reps)]
            c.add(MODE, "io_sweep", f"wall@{n}", walls, "ms", params)
    if c.wanted(args, "spawn"):
        runs = [run(spawn_many(10_000)) for _ in range(c.size(args, 15, 5))]
        c.add(MODE, "spawn", "per_spawn", runs, "ns", "10000 spawns")
    if c.wanted(args, "yield"):
        runs = [run(yield_many(200, 1_000)) for _ in range(c.size(args, 3, 1))]
        c.add(MODE, "yield", "per_yield", runs, "ns", "200 x 1000 yields")
    if c.wanted(args, "pingpong"):
        runs = [run(ping_pong(1_000)) for _ in range(c.size(args, 15, 5))]
        c.add(MODE, "pingpong", "per_pingpong", runs, "ns", "1000 ping-pongs")
    if c.wanted(args, "chained"):
        runs = [run(chained(1_000)) for _ in range(c.size(args, 15, 5))]
        c.add(MODE, "chained", "per_spawn", runs, "ns", "chain of 1000")
    if c.wanted(args, "switch"):
        trips = c.size(args, 20_000, 4_000)
        runs = [run(switch(trips)) for _ in range(3)]
        c.add(MODE, "switch", "coroutine", runs, "ns", f"{trips} round trips")
    if c.wanted(args, "timers"):
        walls, late = [], []
        for _ in range(c.reps(args)):
            w, l = run(timers(10_000, 0.01))
            walls.append(w)
            late.extend(l)
        params = "10000 x 10 ms"
        c.add(MODE, "timers", "wall", walls, "ms", params)
        c.percentiles(MODE, "timers", late, "us", params, prefix="late_")
    c.emit("scripts/peers/asyncio_peer.py")


if __name__ == "__main__":
    main()
