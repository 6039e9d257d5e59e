#!/usr/bin/env bash
# Runs libFuzzer on each parser of untrusted input for a set time.
#   Scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default: 60 seconds, every target
#   Scripts/fuzz.sh --self-test                          proves the verdicts read true (below)
# Targets: cbor cose evidence tpm stream sql csv bootlog ima witness handoff ledger-claim log-record api-body. Corpora live in .fuzz/corpus/TARGET (seeded from
# the same code paths as real data); crashes are written to .fuzz/crashes/TARGET. Reproduce one
# with: swift run parley-fuzz TARGET .fuzz/crashes/TARGET/crash-...
#
# Leak detection is ON at exit (AddressSanitizer's LeakSanitizer checks the whole run when the
# target ends), with exactly one class suppressed (Scripts/lsan-suppressions.txt): memory held by
# Swift's once-initialised globals (`static let`, built lazily on first use through swift_once
# and kept until exit by design). Any other leak, and every memory error or crash, fails the
# target. libFuzzer's per-input leak check (-detect_leaks) stays off: it stops the world after
# every input that allocates a cache and makes runs 100 times slower; a leak still fails at exit.
# Swift's backtracer is off (SWIFT_BACKTRACE): it can hang a crashing run instead of letting
# libFuzzer write the crash input.
# `--self-test` shows both sides: a clean run of `cose` (which allocates such globals) passes,
# and two deliberately broken targets, one leaking and one crashing, fail.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh

SELF_TEST=0
if [ "${1:-}" = "--self-test" ]; then SELF_TEST=1; shift; fi
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(cbor cose evidence tpm stream sql csv bootlog ima witness handoff ledger-claim log-record api-body)

echo "fuzz: building with libFuzzer and AddressSanitizer (separate build folder .build-fuzz)"
swift build -c release --product parley-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DPARLEY_LIBFUZZER -Xswiftc -use-ld=lld >/dev/null

echo "fuzz: writing seeds"
.build-fuzz/release/parley-fuzz --write-seeds .fuzz/corpus >/dev/null

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export SWIFT_BACKTRACE="enable=no"
export LSAN_OPTIONS="suppressions=$PWD/Scripts/lsan-suppressions.txt:print_suppressions=0"

# fuzz_one TARGET SECONDS: runs one target; returns libFuzzer's status (0: clean).
fuzz_one() {
  local t=$1 seconds=$2
  mkdir -p ".fuzz/crashes/$t" ".fuzz/corpus/$t"
  PARLEY_FUZZ_TARGET="$t" .build-fuzz/release/parley-fuzz ".fuzz/corpus/$t" \
    -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix=".fuzz/crashes/$t/" -print_final_stats=1 -detect_leaks=0 2> ".fuzz/$t.log"
}

if [ "$SELF_TEST" = 1 ]; then
  status=0
  if fuzz_one cose 15; then echo "fuzz self-test: a clean run of cose reads clean: ok"
  else echo "fuzz self-test: FAILED: a clean run of cose reported a failure, see .fuzz/cose.log" >&2; status=1; fi
  for broken in selftest-leak selftest-crash; do
    if fuzz_one "$broken" 15; then
      echo "fuzz self-test: FAILED: $broken ran clean, so a real failure would be missed" >&2; status=1
    else
      echo "fuzz self-test: $broken fails as it must: $(grep -m1 -E '^SUMMARY|ERROR: (LeakSanitizer|AddressSanitizer|libFuzzer)' ".fuzz/$broken.log" || echo '?')"
    fi
    rm -rf ".fuzz/crashes/$broken" ".fuzz/corpus/$broken"
  done
  exit $status
fi

status=0
for t in "${TARGETS[@]}"; do
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s"
  if ! fuzz_one "$t" "$SECONDS_PER_TARGET"; then
    echo "fuzz: $t FOUND A FAILURE: $(grep -m1 -E '^SUMMARY' ".fuzz/$t.log" || echo 'see the log'); .fuzz/$t.log and .fuzz/crashes/$t/" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_units|cov:" ".fuzz/$t.log" | tail -2 || true
done
exit $status
