#!/usr/bin/env bash
# The engine benchmark: Parley's query engine against DuckDB and the sqlite3 CLI on the same
# generated CSV files, in the same run, with the answers of all three compared. Called by
# Scripts/bench.sh for the `engine` group (after its release build); runnable alone after
# `swift build -c release --product parley-bench`.
#
# Query: exposures JOIN purchases ON email_hash, GROUP BY campaign, COUNT(DISTINCT email_hash),
# SUM(amount); see Tests/Benchmarks/parley-bench/EngineBench.swift and Scripts/bench-engine-data.py.
# What is timed (median of PARLEY_BENCH_REPS runs, wall clock):
#   parley   CSV bytes already in memory -> two typed tables -> compile -> run -> groups
#   duckdb   CSV files (page cache) -> read_csv with explicit column types -> groups
#   sqlite3  CSV files -> .import into an in-memory database -> query (one run: it is slow)
# Peak memory is each process's maximum resident set size (/usr/bin/time -v), so it includes
# the interpreter for DuckDB and the in-memory CSV bytes for Parley.
# Threads: Parley's engine runs on one thread, so DuckDB runs with `SET threads=1`; sqlite3 is
# single threaded. Set PARLEY_BENCH_THREADS only if the engine gains threads.
#
# Environment: PARLEY_BENCH_ROWS (rows per file, default 2000000), PARLEY_BENCH_REPS (default 5),
# PARLEY_BENCH_THREADS (default 1), PARLEY_BENCH_BIN (default .build/release/parley-bench),
# PARLEY_BENCH_SQLITE=0 to skip sqlite3 (half a minute) while iterating.
# Target: parley/duckdb time <= 1.2 and parley peak memory <= DuckDB's.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=.bench
DATA=$OUT/engine-data
ROWS=${PARLEY_BENCH_ROWS:-2000000}
REPS=${PARLEY_BENCH_REPS:-5}
THREADS=${PARLEY_BENCH_THREADS:-1}
BIN=${PARLEY_BENCH_BIN:-.build/release/parley-bench}
mkdir -p "$OUT"

. Scripts/bench-tools.sh
bench_tools bench-engine "$OUT"
HAVE_ROWS=$(awk '{print $1}' "$DATA/rows" 2>/dev/null || true)
if [ "$HAVE_ROWS" != "$ROWS" ] || [ ! -f "$DATA/exposures.csv" ] || [ ! -f "$DATA/purchases.csv" ]; then
  echo "bench-engine: generating $ROWS x $ROWS rows into $DATA"
  rm -rf "$DATA"
  python3 Scripts/bench-engine-data.py "$DATA" --rows "$ROWS"
fi
cat "$DATA/exposures.csv" "$DATA/purchases.csv" >/dev/null  # every engine reads from a warm page cache

peak_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$1"; }
tsv() { awk -F'\t' -v n="$2" '$1 == n {print $2}' "$1"; }

echo "bench-engine: duckdb $("$OUT/venv/bin/python" -c 'import duckdb; print(duckdb.__version__)'), threads=$THREADS, $REPS runs"
/usr/bin/time -v -o "$OUT/engine-duckdb.time" "$OUT/venv/bin/python" - "$DATA" "$THREADS" "$REPS" "$OUT/engine-duckdb.csv" \
  > "$OUT/engine-duckdb.tsv" <<'PY'
import statistics, sys, time
import duckdb

data, threads, reps, answers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def hwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

con = duckdb.connect()
con.execute(f"SET threads={threads}")
baseline = hwm_mb()
query = f"""
SELECT e.campaign, COUNT(DISTINCT e.email_hash) AS buyers, SUM(p.amount) AS revenue
FROM read_csv('{data}/exposures.csv', header=true,
              columns={{'email_hash': 'VARCHAR', 'campaign': 'VARCHAR', 'region': 'INTEGER'}}) e
JOIN read_csv('{data}/purchases.csv', header=true,
              columns={{'email_hash': 'VARCHAR', 'amount': 'DECIMAL(10,2)', 'category': 'VARCHAR'}}) p
  ON e.email_hash = p.email_hash
GROUP BY e.campaign ORDER BY e.campaign
"""
times, cpu = [], []
for _ in range(reps):
    start, cpu_start = time.perf_counter(), time.process_time()
    rows = con.execute(query).fetchall()
    times.append(time.perf_counter() - start)
    cpu.append(time.process_time() - cpu_start)
with open(answers, "w") as out:
    out.writelines(f"{campaign},{buyers},{revenue:.2f}\n" for campaign, buyers, revenue in rows)
print(f"duckdb.total_seconds\t{statistics.median(times):.3f}\ts")
print(f"duckdb.cpu_seconds\t{statistics.median(cpu):.3f}\ts")
print(f"duckdb.baseline_rss_mb\t{baseline:.1f}\tMiB")
print(f"duckdb.peak_rss_mb\t{hwm_mb():.1f}\tMiB")
PY
cat "$OUT/engine-duckdb.tsv"

SQLITE_S=""
if [ "${PARLEY_BENCH_SQLITE:-1}" != 0 ]; then
  echo "bench-engine: sqlite3 $(sqlite3 --version | cut -d' ' -f1), in-memory database, 1 run"
  start=$(date +%s%N)
  # CSV mode ends lines with CRLF; the answer file keeps LF like the others.
  /usr/bin/time -v -o "$OUT/engine-sqlite.time" sqlite3 :memory: <<SQL | tr -d '\r' > "$OUT/engine-sqlite.csv"
.mode csv
.headers off
CREATE TABLE exposures(email_hash TEXT, campaign TEXT, region INTEGER);
CREATE TABLE purchases(email_hash TEXT, amount REAL, category TEXT);
.import --csv --skip 1 $DATA/exposures.csv exposures
.import --csv --skip 1 $DATA/purchases.csv purchases
SELECT e.campaign, COUNT(DISTINCT e.email_hash), printf('%.2f', SUM(p.amount))
FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash
GROUP BY e.campaign ORDER BY e.campaign;
SQL
  end=$(date +%s%N)
  SQLITE_S=$(awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }')
  echo "sqlite3.total_seconds	$SQLITE_S	s"
else
  rm -f "$OUT/engine-sqlite.csv" "$OUT/engine-sqlite.time"
fi

echo "bench-engine: $BIN engine, $REPS runs"
PARLEY_BENCH_DATA="$DATA" PARLEY_BENCH_ANSWERS="$OUT/engine-parley.csv" PARLEY_BENCH_REPS="$REPS" \
  /usr/bin/time -v -o "$OUT/engine-parley.time" "$BIN" engine > "$OUT/engine-parley.tsv"
cat "$OUT/engine-parley.tsv"

# The three answers must agree exactly (campaign, distinct buyers, revenue to the cent).
for other in duckdb sqlite; do
  [ -f "$OUT/engine-$other.csv" ] || continue
  if ! diff -u "$OUT/engine-$other.csv" "$OUT/engine-parley.csv" >"$OUT/engine-$other.diff"; then
    echo "bench-engine: FAIL: Parley's answer differs from $other's:" >&2
    cat "$OUT/engine-$other.diff" >&2
    exit 1
  fi
done
[ -s "$OUT/engine-parley.csv" ] || { echo "bench-engine: FAIL: Parley produced no groups" >&2; exit 1; }
echo "bench-engine: answers agree ($(wc -l < "$OUT/engine-parley.csv") groups)"

P_S=$(tsv "$OUT/engine-parley.tsv" engine.total_seconds)
D_S=$(tsv "$OUT/engine-duckdb.tsv" duckdb.total_seconds)
P_MB=$(peak_mb "$OUT/engine-parley.time")
D_MB=$(peak_mb "$OUT/engine-duckdb.time")
S_MB=$([ -f "$OUT/engine-sqlite.time" ] && peak_mb "$OUT/engine-sqlite.time" || true)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }

echo
printf "%-34s %10s %10s %10s %14s %14s\n" "engine ($ROWS x $ROWS rows)" "parley" "duckdb" "sqlite3" "parley/duckdb" "parley/sqlite3"
printf "%-34s %10s %10s %10s %14s %14s\n" "time, s (threads=$THREADS)" "$P_S" "$D_S" "$SQLITE_S" "$(ratio "$P_S" "$D_S")" "$(ratio "$P_S" "$SQLITE_S")"
P_CPU=$(tsv "$OUT/engine-parley.tsv" engine.cpu_seconds)
D_CPU=$(tsv "$OUT/engine-duckdb.tsv" duckdb.cpu_seconds)
printf "%-34s %10s %10s %10s %14s\n" "CPU time, s (less noise-prone)" "$P_CPU" "$D_CPU" "" "$(ratio "$P_CPU" "$D_CPU")"
printf "%-34s %10s %10s %10s %14s %14s\n" "peak RSS, MiB (/usr/bin/time)" "$P_MB" "$D_MB" "$S_MB" "$(ratio "$P_MB" "$D_MB")" "$(ratio "$P_MB" "$S_MB")"
printf "%-34s %10s %10s\n" "  before the query (VmHWM), MiB" "$(tsv "$OUT/engine-parley.tsv" engine.input_rss_mb)" "$(tsv "$OUT/engine-duckdb.tsv" duckdb.baseline_rss_mb)"
printf "%-34s %10s %10s\n" "  parley load / query, s" "$(tsv "$OUT/engine-parley.tsv" engine.load_seconds)" "$(tsv "$OUT/engine-parley.tsv" engine.query_seconds)"
TIME_OK=$(awk -v a="$P_S" -v b="$D_S" 'BEGIN { print (a <= 1.2 * b) ? "met" : "NOT met" }')
MEM_OK=$(awk -v a="$P_MB" -v b="$D_MB" 'BEGIN { print (a <= b) ? "met" : "NOT met" }')
echo "target: time within 1.2x DuckDB's: $TIME_OK; peak memory no higher than DuckDB's: $MEM_OK"
