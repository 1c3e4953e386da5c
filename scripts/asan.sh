#!/usr/bin/env bash
# The modes and runtime test suites under AddressSanitizer and LeakSanitizer (nightly):
# use-after-free, overflows and leaks in the unsafe I/O and task code. Not part of CI
# (it needs a nightly toolchain: `rustup toolchain install nightly`); 2 min 38 s
# here, in a target directory of its own so the normal build is left alone.
#
# The `processes` tests run with leak checks and ASan's SEGV handler off: their workers
# are forked children that end in `exit` still holding copies of the parent's memory
# (not leaks: the parent's threads do not exist in the child), or die by a signal on
# purpose, which the tests check and ASan's handler would turn into an exit code.
#
#   scripts/asan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Zsanitizer=address"
asan_test() {
    cargo +nightly test --target "$host" --target-dir target/asan "$@"
}
tests=()
for f in runtime/tests/*.rs; do
    name=$(basename "$f" .rs)
    [ "$name" = processes ] || tests+=(--test "$name")
done
echo "== modes and runtime (leak checks on)" >&2
ASAN_OPTIONS=detect_leaks=1 asan_test -p modes --lib
ASAN_OPTIONS=detect_leaks=1 asan_test -p runtime --lib "${tests[@]}"
echo "== runtime processes (forked workers: no leak checks, no SEGV handler)" >&2
ASAN_OPTIONS=detect_leaks=0:handle_segv=0 asan_test -p runtime --test processes
echo "== asan: all green" >&2
