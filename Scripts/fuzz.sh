#!/usr/bin/env bash
# Runs libFuzzer on each parser of untrusted input for a set time.
#   Scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default: 60 seconds, every target
# Targets: cbor cose evidence tpm stream sql csv bootlog ima witness handoff ledger-claim. Corpora live in .fuzz/corpus/TARGET (seeded from
# the same code paths as real data); crashes are written to .fuzz/crashes/TARGET. Reproduce one
# with: swift run parley-fuzz TARGET .fuzz/crashes/TARGET/crash-...
# Leak detection is off: Swift runtime metadata and lazily built globals (fixed keys) are
# reported as leaks at exit; AddressSanitizer still catches every memory error.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(cbor cose evidence tpm stream sql csv bootlog ima witness handoff ledger-claim)

echo "fuzz: writing seeds"
swift build --product parley-fuzz >/dev/null
.build/debug/parley-fuzz --write-seeds .fuzz/corpus >/dev/null

echo "fuzz: building with libFuzzer and AddressSanitizer (separate build folder .build-fuzz)"
swift build -c release --product parley-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DPARLEY_LIBFUZZER -Xswiftc -use-ld=lld >/dev/null

status=0
for t in "${TARGETS[@]}"; do
  mkdir -p ".fuzz/crashes/$t"
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s"
  if ! PARLEY_FUZZ_TARGET="$t" .build-fuzz/release/parley-fuzz ".fuzz/corpus/$t" \
      -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
      -artifact_prefix=".fuzz/crashes/$t/" -print_final_stats=1 -detect_leaks=0 2> ".fuzz/$t.log"; then
    echo "fuzz: $t FOUND A FAILURE, see .fuzz/$t.log and .fuzz/crashes/$t/" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_units|cov:" ".fuzz/$t.log" | tail -2 || true
done
exit $status
