#!/usr/bin/env bash
# Builds the bench in release, runs every mode and the peers on the same workloads, and
# writes RESULTS.md and the charts it links to (results/*.svg) from the raw JSON (kept in
# target/results/). `bench report` creates results/ and removes the charts a run no longer
# has. RESULTS.md and results/ are written only by this script.
#
#   scripts/results.sh            full sizes (about ten minutes on 2 cores)
#   scripts/results.sh --quick    small sizes, for checking the pipeline
#   scripts/results.sh --workers 4
set -euo pipefail

cd "$(dirname "$0")/.."
quick=()
workers=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) quick=(--quick); shift ;;
        --workers) workers=(--workers "$2"); shift 2 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "results.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done

out=target/results
mkdir -p "$out"
rm -f "$out"/*.json

echo "== building the bench (release)" >&2
cargo build --release -p bench
bench=target/release/bench

echo "== every mode and the Rust peers" >&2
"$bench" --mode all --peer all "${quick[@]}" "${workers[@]}" --json "$out/bench.json"

inputs=("$out/bench.json")
if command -v python3 >/dev/null 2>&1; then
    echo "== Python peers ($(python3 --version 2>&1))" >&2
    python3 scripts/peers/asyncio_peer.py "${quick[@]}" >"$out/py_asyncio.json"
    python3 scripts/peers/pool_peer.py "${quick[@]}" "${workers[@]}" >"$out/py_pools.json"
    python3 scripts/peers/resources_peer.py "${quick[@]}" >"$out/py_resources.json"
    inputs+=("$out/py_asyncio.json" "$out/py_pools.json" "$out/py_resources.json")
else
    echo "note: python3 not found; the Python peers are left out" >&2
fi

if command -v wrk >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
    echo "== http loaded by wrk (scripts/wrk_check.py)" >&2
    if [[ ${#quick[@]} -gt 0 ]]; then wrk_size=(--runs 1 --secs 1); else wrk_size=(--runs 3); fi
    python3 scripts/wrk_check.py "${wrk_size[@]}" "${workers[@]}" >"$out/wrk.json"
    inputs+=("$out/wrk.json")
else
    echo "note: wrk not found (apt-get install wrk); the wrk check of http is left out" >&2
fi

reproduce="scripts/results.sh"
if [[ ${#quick[@]} -gt 0 ]]; then reproduce+=" --quick"; fi
if [[ ${#workers[@]} -gt 0 ]]; then reproduce+=" ${workers[*]}"; fi
"$bench" report --reproduce "$reproduce" --out RESULTS.md "${inputs[@]}"
