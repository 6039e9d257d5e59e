#!/usr/bin/env bash
# Re-derives the worker's seccomp allow-list from the real worker (docs/sandbox.md, "Re-deriving
# the list"): runs the end-to-end tests under `strace -f`, keeps only the system calls that
# `parley-enclave` processes (and their threads) made after the filter was loaded, and compares
# them with SyscallAllowList.worker(): calls used but not allowed, and allowed calls never used.
#   Scripts/derive-syscalls.sh [TEST FILTER...]   default: the host, HTTP and audit end-to-end tests
# (not the HTTP deadline tests: with their 1 s deadlines a server slowed down by strace misses them).
# Needs strace (installed by Scripts/setup.sh) and a debug build (swift build --build-tests).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh
command -v strace >/dev/null || { echo "derive-syscalls: strace is missing (apt-get install strace)" >&2; exit 1; }
FILTERS=("$@")
[ ${#FILTERS[@]} -gt 0 ] || FILTERS=(HostEndToEndTests HTTPEndToEndTests HostEndToEndAuditTests)
OUT=${PARLEY_TRACE_DIR:-.build/syscall-trace}
rm -rf "$OUT"; mkdir -p "$OUT"
swift build --build-tests >/dev/null
.build/debug/parley-sandbox-probe allow-list --names > "$OUT/allow-list.txt"
for f in "${FILTERS[@]}"; do
  echo "derive-syscalls: tracing $f"
  # -f: follow forks and threads; -qq: no attach messages; -s 64: enough to see argv[0].
  strace -f -qq -s 64 -o "$OUT/$f.trace" swift test --skip-build --filter "$f" >"$OUT/$f.test.log" 2>&1 \
    || { echo "derive-syscalls: $f failed under strace, see $OUT/$f.test.log" >&2; exit 1; }
done
python3 Scripts/derive-syscalls.py "$OUT/allow-list.txt" "$OUT"/*.trace
