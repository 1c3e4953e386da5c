#!/usr/bin/env bash
# Runs the whole suite (`cargo test --workspace`, the README's test command) N times and
# lists every test that failed in any run, with how often; exits non-zero if any did.
# Too slow for CI (about a minute per run on 2 cores, after one build): run it before
# calling an issue resolved. Each run goes on past a failing test binary (--no-fail-fast),
# so every failure of the run is listed, and is cut off after RUN_TIMEOUT seconds (default
# 900), which counts as a hang.
#
#   scripts/flaky.sh 10          ten full runs
#   scripts/flaky.sh 20 -p modes the runs limited to what follows N (cargo test arguments)
set -euo pipefail
cd "$(dirname "$0")/.."

n="${1:-10}"
if ! [[ "$n" =~ ^[1-9][0-9]*$ ]]; then
    echo "flaky.sh: N must be a positive number of runs, got '$n' (try: scripts/flaky.sh 10)" >&2
    exit 2
fi
shift || true
args=("$@")
if [[ ${#args[@]} -eq 0 ]]; then args=(--workspace); fi

logs=target/flaky
rm -rf "$logs"
mkdir -p "$logs"
echo "== building the tests once" >&2
cargo test "${args[@]}" --no-run >&2

failed_runs=0
for i in $(seq 1 "$n"); do
    log="$logs/run-$i.log"
    start=$(date +%s)
    rc=0
    timeout --kill-after=30 "${RUN_TIMEOUT:-900}" cargo test "${args[@]}" --no-fail-fast >"$log" 2>&1 || rc=$?
    if [[ $rc -eq 0 ]]; then
        status=ok
    elif [[ $rc -eq 124 || $rc -eq 137 ]]; then
        status="HUNG (cut off after ${RUN_TIMEOUT:-900} s)"
        echo "test run $i hung: cut off after ${RUN_TIMEOUT:-900} s ... FAILED" >>"$log"
        failed_runs=$((failed_runs + 1))
    else
        status=FAILED
        failed_runs=$((failed_runs + 1))
    fi
    echo "run $i/$n: $status ($(( $(date +%s) - start )) s)" >&2
done

# A failing test shows as "test NAME ... FAILED"; a test binary that crashed outright
# shows only in cargo's "error: test failed" line, listed too so nothing goes unseen.
summary="$logs/summary.txt"
{
    grep -h -E '^test .* \.\.\. FAILED$' "$logs"/run-*.log | sed -E 's/^test (.*) \.\.\. FAILED$/\1/' || true
    grep -h -E '^error: test failed, to rerun pass' "$logs"/run-*.log | sed -E 's/^error: test failed, to rerun pass /binary: /' || true
    grep -h -E '^    `-p .*`$' "$logs"/run-*.log | sed -E 's/^    /binary: /' || true
} | sort | uniq -c | sort -rn >"$summary"

echo
echo "flaky.sh: $n run(s) of cargo test ${args[*]}: $failed_runs failed"
if [[ -s "$summary" ]]; then
    echo "failures (count, test):"
    cat "$summary"
    echo "logs: $logs/run-*.log"
    exit 1
fi
echo "no test failed in any run"
