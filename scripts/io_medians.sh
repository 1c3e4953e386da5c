#!/usr/bin/env bash
# The I/O figures as the I/O issue checks them: `net`, `http` and `bulk`, each flavour
# beside its peers in the same process, N runs (default 5), and for every figure the
# median over the runs of the per-run ratio ours / peer, with its range. One run's
# RESULTS.md table cannot show that; this can. Takes about a minute a run
# (five runs took 5 min 19 s here, build included).
#
#   scripts/io_medians.sh [N] [extra bench flags, e.g. --io readiness]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-5}
shift || true
cargo build --release -q -p bench
out=$(mktemp -d)
for i in $(seq 1 "$n"); do
    echo "== run $i/$n" >&2
    ./target/release/bench --mode single --workload net,http,bulk \
        --peer tokio-ct,monoio,bare-uring --json "$out/single_$i.json" "$@" >/dev/null
    ./target/release/bench --mode threads --workload net,http,bulk \
        --peer tokio-mt,monoio-mt --json "$out/threads_$i.json" "$@" >/dev/null
done
python3 scripts/io_medians.py "$out"/*.json
