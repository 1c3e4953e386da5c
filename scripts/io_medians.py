"""Medians of per-run ratios ours / peer for the I/O workloads (see io_medians.sh).

Each input is one `bench --json` file: one run of one flavour beside its peers. For every
workload and metric, the ratio ours / peer is taken inside each file (same process, same
moment), then the median and range over the files are printed.
"""

import json
import statistics
import sys
from collections import defaultdict

PEERS = {"single": ["tokio-ct", "monoio", "bare-uring"], "threads": ["tokio-mt", "monoio-mt"]}


def main(paths):
    ratios = defaultdict(list)
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        by = {(m["mode"], m["workload"], m["metric"]): m["value"] for m in data["measurements"]}
        for (mode, workload, metric), v in by.items():
            for peer in PEERS.get(mode, []):
                p = by.get((peer, workload, metric))
                if p:
                    ratios[(workload, metric, mode, peer)].append(v / p)
    if not ratios:
        sys.exit("io_medians: no ours/peer pairs in the inputs")
    print(f"{'workload':9} {'metric':16} {'ours':8} {'peer':11} {'runs':>4} {'median':>8}  range")
    for key in sorted(ratios):
        xs = ratios[key]
        workload, metric, mode, peer = key
        print(f"{workload:9} {metric:16} {mode:8} {peer:11} {len(xs):4} "
              f"{statistics.median(xs):7.3f}x  {min(xs):.3f}-{max(xs):.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
