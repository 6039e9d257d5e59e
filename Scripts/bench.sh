#!/usr/bin/env bash
# The one entry point for Parley's benchmarks. Release build, a baseline measured in the same
# run beside every number, and a table of ratios at the end. Never run by CI.
#   Scripts/bench.sh            every group
#   Scripts/bench.sh core       only the named groups
#   Scripts/bench.sh gate       only the egress gate's timing (quick: no TPM, small release build)
#   Scripts/bench.sh pyclient   only the Python client's upload beside the Swift CLI's
#   Scripts/bench.sh identifiers   loading email / sha256_email identifier columns beside plain text
#   Scripts/bench.sh campaign   the campaign job end to end through the CLI (2M users) beside DuckDB
#   Scripts/bench.sh campaign16 the same at 16M users (about 2.5 GB of CSV; only when asked)
# Machines here are shared and noisy: read the ratios, not the absolute numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh
OUT=.bench
# The build folder (PARLEY_BENCH_SCRATCH, default .build): another one lets a benchmark build while
# a debug build or test run holds .build.
SCRATCH=${PARLEY_BENCH_SCRATCH:-.build}
mkdir -p "$OUT"

gate_table() {
  local file="$1"
  gate_value() { awk -F'\t' -v n="$1" '$1 == n {print $2}' "$file"; }
  [ -n "$(gate_value gate.groups.1.median)" ] || return 0
  echo "gate running time (us; min / median / p99 / max), against the worker's release quantum of 20000 us:"
  for g in groups.1 groups.10 groups.100 groups.1000 noise.0 noise.1-2 noise.3-5 noise.6+ probe.absent probe.present; do
    [ -n "$(gate_value gate.$g.median)" ] || continue
    printf "  %-24s %10s %10s %10s %10s   median/quantum %s  max/quantum %s\n" "$g" "$(gate_value gate.$g.min)" "$(gate_value gate.$g.median)" \
      "$(gate_value gate.$g.p99)" "$(gate_value gate.$g.max)" "$(awk -v a="$(gate_value gate.$g.median)" 'BEGIN { printf "%.4f", a / 20000 }')" \
      "$(awk -v a="$(gate_value gate.$g.max)" 'BEGIN { printf "%.4f", a / 20000 }')"
  done
}

# The gate alone needs no TPM, no openssl baseline and no full release build.
if [ "$*" = "gate" ]; then
  echo "bench: release build (parley-gate-bench)"
  swift build -c release --scratch-path "$SCRATCH" --product parley-gate-bench >/dev/null
  "$SCRATCH"/release/parley-gate-bench | tee "$OUT/gate.tsv"
  echo
  gate_table "$OUT/gate.tsv"
  exit 0
fi

# The Python client beside the Swift CLI: one ~143 MB CSV sealed and sent by each to a release
# `parley serve` in the same run (Scripts/bench-pyclient.py; PARLEY_BENCH_PY_MB changes the size).
pyclient_case() {
  echo "bench: release build (parley, parley-host, parley-enclave) for the Python client case"
  for p in parley parley-host parley-enclave; do swift build -c release --scratch-path "$SCRATCH" --product "$p" >/dev/null; done
  .build-pyclient/bin/python Scripts/bench-pyclient.py "$SCRATCH/release" "$OUT" "${PARLEY_BENCH_PY_MB:-143}"
}
if [ "$*" = "pyclient" ]; then
  pyclient_case
  exit 0
fi

# The campaign job as its users run it (launch, two `parley upload`s, `parley query run`) against
# a release `parley serve`, beside DuckDB over the same CSV files (Scripts/bench-campaign.sh;
# PARLEY_BENCH_USERS changes the size: 2,000,000 for `campaign`, 16,000,000 for `campaign16`).
campaign_case() {
  echo "bench: release build (parley, parley-host, parley-enclave) for the campaign job"
  for p in parley parley-host parley-enclave; do swift build -c release --scratch-path "$SCRATCH" --product "$p" >/dev/null; done
  PARLEY_BENCH_USERS="${PARLEY_BENCH_USERS:-$1}" Scripts/bench-campaign.sh "$SCRATCH/release"
}
if [ "$*" = "campaign" ]; then
  campaign_case 2000000
  exit 0
fi
if [ "$*" = "campaign16" ]; then
  campaign_case 16000000
  exit 0
fi

echo "bench: release build"
swift build -c release --scratch-path "$SCRATCH" --product parley-bench >/dev/null
swift build -c release --scratch-path "$SCRATCH" --product parley-enclave >/dev/null

echo "bench: baselines (openssl speed, same run)"
# openssl speed prints "<n> ... ecdsa (nistp384) <sign/s> <verify/s>" for -elapsed runs.
openssl speed -elapsed -seconds 2 ecdsap384 2>/dev/null > "$OUT/openssl-ecdsa.txt"
P384_SIGN=$(awk '/ecdsa \(nistp384\)/ {print $(NF-1)}' "$OUT/openssl-ecdsa.txt")
P384_VERIFY=$(awk '/ecdsa \(nistp384\)/ {print $NF}' "$OUT/openssl-ecdsa.txt")
# AES-256-GCM throughput on 16 KiB blocks, bytes per second.
openssl speed -elapsed -seconds 2 -bytes 16384 -evp aes-256-gcm 2>/dev/null > "$OUT/openssl-aes.txt"
AES_BPS=$(awk '/^(aes-256-gcm|AES-256-GCM)/ {v=$NF; sub(/k$/, "", v); print v * 1000}' "$OUT/openssl-aes.txt")

# A private swtpm for the TPM measurements, and the same quote made by tpm2-tools as a baseline.
TPM_DIR=$(mktemp -d /tmp/parley-bench-swtpm.XXXXXX)
cleanup() { [ -f "$TPM_DIR/pid" ] && kill "$(cat "$TPM_DIR/pid")" 2>/dev/null; rm -rf "$TPM_DIR"; }
trap cleanup EXIT
swtpm socket --tpm2 --tpmstate dir="$TPM_DIR" --server type=unixio,path="$TPM_DIR/sock" \
  --ctrl type=unixio,path="$TPM_DIR/sock.ctrl" --flags not-need-init,startup-clear --pid file="$TPM_DIR/pid" &
for _ in $(seq 100); do [ -S "$TPM_DIR/sock" ] && break; sleep 0.05; done
export PARLEY_BENCH_TCTI="swtpm:path=$TPM_DIR/sock"
TPM2_QUOTE_PER_S=""
if [ $# -eq 0 ] || [[ " $* " == *" attest "* ]]; then
  export TPM2TOOLS_TCTI="$PARLEY_BENCH_TCTI"
  tpm2_createprimary -Q -C e -g sha256 -G ecc256:ecdsa-sha256:null \
    -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign' -c "$TPM_DIR/ak.ctx"
  # Persist the AK so each tpm2_quote needs no object slot (swtpm has no resource manager).
  tpm2_evictcontrol -Q -C o -c "$TPM_DIR/ak.ctx" 0x81010077 >/dev/null
  tpm2_flushcontext -t >/dev/null 2>&1 || true
  N=20
  start=$(date +%s%N)
  for i in $(seq $N); do
    tpm2_quote -Q -c 0x81010077 -l sha256:23 -q "$(openssl rand -hex 32)" -g sha256 \
      -m "$TPM_DIR/a" -s "$TPM_DIR/s" -o "$TPM_DIR/p" >/dev/null
  done
  end=$(date +%s%N)
  TPM2_QUOTE_PER_S=$(awk -v n=$N -v ns=$((end - start)) 'BEGIN { printf "%.1f", n / (ns / 1e9) }')
  tpm2_flushcontext -t >/dev/null 2>&1 || true
  unset TPM2TOOLS_TCTI
fi

echo "bench: parley-bench $*"
rm -f "$OUT/tpm-quote-args"
PARLEY_BENCH_OUT="$PWD/$OUT" PARLEY_BENCH_BOOT_LOG="../shared/fixtures/tpm/boot/keylime-binary_bios_measurements" \
  "$SCRATCH"/release/parley-bench "$@" | tee "$OUT/parley.tsv"
if [ $# -eq 0 ]; then
  swift build -c release --scratch-path "$SCRATCH" --product parley-gate-bench >/dev/null
  "$SCRATCH"/release/parley-gate-bench | tee -a "$OUT/parley.tsv"
fi

# Baseline for TPM verification with platform logs: tpm2_checkquote on the same quote plus
# tpm2_eventlog on the same boot log, per verification (one process each, as a verifier would run them).
TPM_VERIFY_TOOLS_PER_S=""
if [ -f "$OUT/tpm-quote-args" ]; then
  PCR_LIST=$(sed -n 1p "$OUT/tpm-quote-args"); QNONCE=$(sed -n 2p "$OUT/tpm-quote-args")
  # tpm2-tools 5.4 reads at most 8 PCRs from a raw values file: take the serialized form from the
  # swtpm (nothing extended it since the quote) and check it holds the evidence's values.
  TPM2TOOLS_TCTI="$PARLEY_BENCH_TCTI" tpm2_pcrread -Q "sha256:$PCR_LIST" -F serialized -o "$OUT/tpm-pcrs.ser"
  TPM2TOOLS_TCTI="$PARLEY_BENCH_TCTI" tpm2_pcrread -Q "sha256:$PCR_LIST" -o "$OUT/tpm-pcrs.raw"
  cmp -s "$OUT/tpm-pcrs.raw" "$OUT/tpm-pcrs" || { echo "bench: the swtpm's PCRs are not the evidence's" >&2; exit 1; }
  tpm2_checkquote -u "$OUT/tpm-ak.pem" -m "$OUT/tpm-attest" -s "$OUT/tpm-sig" -f "$OUT/tpm-pcrs.ser" \
    -g sha256 -q "$QNONCE" >/dev/null || { echo "bench: tpm2_checkquote refused the quote" >&2; exit 1; }
  N=20
  start=$(date +%s%N)
  for i in $(seq $N); do
    tpm2_checkquote -u "$OUT/tpm-ak.pem" -m "$OUT/tpm-attest" -s "$OUT/tpm-sig" -f "$OUT/tpm-pcrs.ser" \
      -g sha256 -q "$QNONCE" >/dev/null
    tpm2_eventlog "$OUT/tpm-boot.log" >/dev/null
  done
  end=$(date +%s%N)
  TPM_VERIFY_TOOLS_PER_S=$(awk -v n=$N -v ns=$((end - start)) 'BEGIN { printf "%.1f", n / (ns / 1e9) }')
fi

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
if [ -n "$(value csv.load.email-ids)" ]; then
  row "csv.load.email-ids rows/s" "$(value csv.load.email-ids)" "csv.load.text-ids rows/s" "$(value csv.load.text-ids)"
  row "csv.load.sha256-email rows/s" "$(value csv.load.sha256-email-ids)" "csv.load.text-hex-ids rows/s" "$(value csv.load.text-hex-ids)"
fi
if [ -n "$(value attest.sw.verify)" ]; then
  row "attest.sw.verify /s" "$(value attest.sw.verify)" "openssl p384 verify /s" "$P384_VERIFY"
  row "attest.sw.quote /s" "$(value attest.sw.quote)" "openssl p384 sign /s" "$P384_SIGN"
  row "attest.tpm.evidence /s" "$(value attest.tpm.evidence)" "tpm2_quote (same swtpm) /s" "$TPM2_QUOTE_PER_S"
  row "attest.tpm.verify /s" "$(value attest.tpm.verify)" "checkquote+eventlog /s" "$TPM_VERIFY_TOOLS_PER_S"
  echo "attest.tpm.verify: parse, quote, replay of a $(value attest.tpm.boot_log_bytes)-byte boot log and a 2,000-entry IMA list, appraisal"
  echo "target: verifying a software quote costs at most 3 P-384 verifies, i.e. attest.sw.verify ratio >= 0.33"
fi
if [ -n "$(value upload.end_to_end)" ]; then
  row "upload end to end B/s" "$(value upload.end_to_end)" "openssl aes-256-gcm B/s" "$AES_BPS"
fi
if [ -n "$(value launch.ready_ms)" ]; then
  printf "%-28s %16s %-28s %16s %8s\n" "launch-to-ready (median ms)" "$(value launch.ready_ms)" "spawn /bin/true (median ms)" "$(value launch.spawn_true_ms)" "$(ratio "$(value launch.ready_ms)" "$(value launch.spawn_true_ms)")"
  echo "target: launch-to-ready including a software quote under 50 ms"
fi
gate_table "$OUT/parley.tsv"
if [ $# -eq 0 ]; then pyclient_case; campaign_case 2000000; fi
# The engine against DuckDB and sqlite3 on generated CSVs (its own venv, data and table).
if [ $# -eq 0 ] || [[ " $* " == *" engine "* ]]; then
  PARLEY_BENCH_BIN="${PARLEY_BENCH_BIN:-$SCRATCH/release/parley-bench}" Scripts/bench-engine.sh
fi
