#!/usr/bin/env bash
# The one entry point for Parley's benchmarks. Release build, a baseline measured in the same
# run beside every number, and a table of ratios at the end. Never run by CI.
#   Scripts/bench.sh            every group
#   Scripts/bench.sh core       only the named groups
# Machines here are shared and noisy: read the ratios, not the absolute numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh
OUT=.bench
mkdir -p "$OUT"

echo "bench: release build"
swift build -c release --product parley-bench >/dev/null

echo "bench: baselines (openssl speed, same run)"
# openssl speed prints "<n> ... ecdsa (nistp384) <sign/s> <verify/s>" for -elapsed runs.
openssl speed -elapsed -seconds 2 ecdsap384 2>/dev/null > "$OUT/openssl-ecdsa.txt"
P384_SIGN=$(awk '/ecdsa \(nistp384\)/ {print $(NF-1)}' "$OUT/openssl-ecdsa.txt")
P384_VERIFY=$(awk '/ecdsa \(nistp384\)/ {print $NF}' "$OUT/openssl-ecdsa.txt")
# AES-256-GCM throughput on 16 KiB blocks, bytes per second.
openssl speed -elapsed -seconds 2 -bytes 16384 -evp aes-256-gcm 2>/dev/null > "$OUT/openssl-aes.txt"
AES_BPS=$(awk '/^(aes-256-gcm|AES-256-GCM)/ {v=$NF; sub(/k$/, "", v); print v * 1000}' "$OUT/openssl-aes.txt")

echo "bench: parley-bench $*"
.build/release/parley-bench "$@" | tee "$OUT/parley.tsv"

value() { awk -F'\t' -v n="$1" '$1 == n {print $2}' "$OUT/parley.tsv"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }

echo
printf "%-28s %16s %-28s %16s %8s\n" "measurement" "parley" "baseline (same run)" "baseline" "ratio"
row() { printf "%-28s %16s %-28s %16s %8s\n" "$1" "$2" "$3" "$4" "$(ratio "$2" "$4")"; }
if [ -n "$(value cose.es384.verify)" ]; then
  row "cose.es384.verify /s" "$(value cose.es384.verify)" "openssl p384 verify /s" "$P384_VERIFY"
  row "cose.es384.sign /s" "$(value cose.es384.sign)" "openssl p384 sign /s" "$P384_SIGN"
  row "stream.seal+open B/s" "$(value stream.seal+open)" "openssl aes-256-gcm B/s" "$AES_BPS"
  printf "%-28s %16s\n" "cbor.encode.quote-doc /s" "$(value cbor.encode.quote-doc)"
  printf "%-28s %16s\n" "cbor.decode.quote-doc /s" "$(value cbor.decode.quote-doc)"
fi
