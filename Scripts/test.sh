#!/usr/bin/env bash
# The project's test command: installs what is missing, builds, starts a private software TPM,
# runs every test, and stops the TPM again. Usage: Scripts/test.sh [extra `swift test` args]
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/setup.sh

echo "test: building"
swift build --build-tests

# A private swtpm for the TPM tests: unix sockets in a temporary directory, no fixed port.
TPM_DIR=$(mktemp -d /tmp/parley-swtpm.XXXXXX)
cleanup() {
  if [ -f "$TPM_DIR/pid" ]; then kill "$(cat "$TPM_DIR/pid")" 2>/dev/null || true; fi
  rm -rf "$TPM_DIR"
}
trap cleanup EXIT
swtpm socket --tpm2 --tpmstate dir="$TPM_DIR" \
  --server type=unixio,path="$TPM_DIR/sock" --ctrl type=unixio,path="$TPM_DIR/sock.ctrl" \
  --flags not-need-init,startup-clear --pid file="$TPM_DIR/pid" &
for _ in $(seq 100); do [ -S "$TPM_DIR/sock" ] && break; sleep 0.05; done
[ -S "$TPM_DIR/sock" ] || { echo "test: swtpm did not start" >&2; exit 1; }
export PARLEY_TEST_TCTI="swtpm:path=$TPM_DIR/sock"
export PARLEY_TEST_SWTPM_DIR="$TPM_DIR"

echo "test: running tests (TPM at $PARLEY_TEST_TCTI)"
swift test --skip-build "$@"

# The Spark courier's tests (Tests/Python/test_courier_spark.py) run on a private cluster (one
# master, two workers on 127.0.0.1, docs/spark.md) started here and stopped by the trap; PySpark
# is installed once (about 450 MB, then only when its pin changes), and PARLEY_REQUIRE_SPARK
# makes a missing Spark a failure, not a skip.
Scripts/spark.sh install
SPARK_DIR=$(mktemp -d /tmp/parley-spark.XXXXXX)
cleanup_spark() { Scripts/spark.sh stop "$SPARK_DIR" || true; rm -rf "$SPARK_DIR"; }
trap 'cleanup_spark; cleanup' EXIT
Scripts/spark.sh start "$SPARK_DIR" --workers 2
export PARLEY_TEST_SPARK_DIR="$SPARK_DIR"

# The Python client's tests (Tests/Python), against the binaries just built: they start their own
# `parley serve` and check it against the Swift CLI. PARLEY_REQUIRE_HOST makes a missing binary
# directory a failure, not a skip.
echo "test: running the Python client's tests"
PARLEY_BIN_DIR=$(swift build --show-bin-path) PARLEY_REQUIRE_HOST=1 PARLEY_REQUIRE_SPARK=1 \
  .build-pyclient/bin/python -m pytest -q -p no:cacheprovider Tests/Python
