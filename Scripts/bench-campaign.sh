#!/usr/bin/env bash
# The campaign job end to end, as its users run it through the CLI, beside DuckDB over the same
# plaintext CSV files in the same run. Called by Scripts/bench.sh for the `campaign` group (2M
# users) and `campaign16` (16M users, about 2.5 GB) after its release build of parley,
# parley-host and parley-enclave; runnable alone as Scripts/bench-campaign.sh BIN_DIR.
#
# Parley: a release `parley serve` on 127.0.0.1 (a free port, the software quoting key it makes),
# the demo's module Enclave/Modules/campaign-lift sealed by an author, one job launched; then,
# each timed as one CLI process (wall clock; the verb verifies the worker's quote first, as a
# user's does):
#   upload exposures   the brand's `parley upload` (verify, seal, stream; the worker parses)
#   upload purchases   the retailer's
#   query              the brand's `parley query run` (PARLEY_BENCH_QUERY, default
#                      conversions_by_region: the module's join of every purchase)
# total = the two uploads + the query (the operator's launch is shown apart). Peak memory: the
# worker's VmHWM (/proc/<pid>/status of the host's parley-enclave child, read just before the job
# is stopped) and each CLI process's maximum RSS (/usr/bin/time -v).
# DuckDB: read_csv of both files with explicit types and the same SQL, `SET threads=2`, in a
# fresh process, timed including the CSV read (the files are in the page cache for both sides);
# its peak RSS by /usr/bin/time -v. Baseline for the uploads: `openssl speed -evp aes-256-gcm`.
# The answers: Parley's are noised (and small groups suppressed) under the module's policy, so
# the script compares the groups both return and their relative differences, and fails if a
# group is missing from Parley's answer or a buyers count is off by more than 10%.
#
# Environment: PARLEY_BENCH_USERS (rows per file, default 2000000), PARLEY_BENCH_QUERY (reach,
# conversions or conversions_by_region), PARLEY_BENCH_THREADS (DuckDB's threads, default 2).
# Raw numbers: .bench/campaign.tsv (the latest run) and .bench/campaign-<users>.tsv.
# Targets: parley total / duckdb total <= 1.5 (goal 1.2).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BIN=$(cd "${1:-${PARLEY_BENCH_SCRATCH:-.build}/release}" && pwd)
OUT=$REPO/.bench
USERS=${PARLEY_BENCH_USERS:-2000000}
QUERY=${PARLEY_BENCH_QUERY:-conversions_by_region}
THREADS=${PARLEY_BENCH_THREADS:-2}
DATA=$OUT/campaign-data-$USERS
mkdir -p "$OUT"

for p in parley parley-host parley-enclave; do
  [ -x "$BIN/$p" ] || { echo "bench-campaign: no $BIN/$p; build it (swift build -c release --product $p)" >&2; exit 1; }
done
case "$QUERY" in
  reach) SQL_SELECT="e.campaign, COUNT(DISTINCT e.email_hash) AS exposed"; SQL_FROM="exposures"; SQL_WHERE=""; KEYS=1 ;;
  conversions) SQL_SELECT="e.campaign, COUNT(DISTINCT e.email_hash) AS buyers, SUM(p.amount) AS revenue"; SQL_FROM="join"
    SQL_WHERE="WHERE p.category IN ('soda', 'juice')"; KEYS=1 ;;
  conversions_by_region) SQL_SELECT="e.campaign, e.region, COUNT(DISTINCT e.email_hash) AS buyers, AVG(p.amount) AS mean_spend"
    SQL_FROM="join"; SQL_WHERE=""; KEYS=2 ;;
  *) echo "bench-campaign: PARLEY_BENCH_QUERY must be reach, conversions or conversions_by_region" >&2; exit 1 ;;
esac

. Scripts/bench-tools.sh
bench_tools bench-campaign "$OUT"
HAVE_USERS=$(awk '{print $1}' "$DATA/rows" 2>/dev/null || true)
if [ "$HAVE_USERS" != "$USERS" ] || [ ! -f "$DATA/exposures.csv" ] || [ ! -f "$DATA/purchases.csv" ]; then
  NEED_MB=$((USERS * 160 / 1000000 + 100))
  FREE_MB=$(df -Pm "$OUT" | awk 'NR == 2 {print $4}')
  if [ "$FREE_MB" -lt "$NEED_MB" ]; then
    echo "bench-campaign: $USERS users need about $NEED_MB MB in $OUT, $FREE_MB MB free" >&2
    exit 1
  fi
  echo "bench-campaign: generating $USERS exposures and $USERS purchases into $DATA"
  rm -rf "$DATA"
  python3 Scripts/bench-engine-data.py "$DATA" --rows "$USERS"
fi
EXPOSURES=$DATA/exposures.csv
PURCHASES=$DATA/purchases.csv
EX_BYTES=$(stat -c %s "$EXPOSURES")
PU_BYTES=$(stat -c %s "$PURCHASES")

# ---- Processes: every one started here is stopped by its pid, whatever happens. -------------
WORK=$(mktemp -d /tmp/parley-bench-campaign.XXXXXX)
HOST_PID=""
WORKER_PID=""
stop_pid() { # pid, signal: ask, wait up to 30 s, then kill
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill "-$2" "$pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
argv0_of() { { tr '\0' '\n' < "/proc/$1/cmdline"; } 2>/dev/null | head -n 1 | sed 's|.*/||' || true; }
is_worker() { [ -n "$1" ] && [ "$(argv0_of "$1")" = parley-enclave ]; }
cleanup() {
  stop_pid "$HOST_PID" INT
  # Normally gone with its host; stopped here only while that pid is still a parley-enclave.
  if is_worker "$WORKER_PID"; then stop_pid "$WORKER_PID" TERM; fi
  HOST_PID=""; WORKER_PID=""
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

seconds_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
peak_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s == "" || s == 0) print "n/a"; else printf "%.1f", b / s / 1e6 }'; }

cat "$EXPOSURES" "$PURCHASES" >/dev/null  # both sides read from a warm page cache

echo "bench-campaign: openssl speed -evp aes-256-gcm (16 KiB blocks, same run)"
openssl speed -elapsed -seconds 2 -bytes 16384 -evp aes-256-gcm 2>/dev/null > "$OUT/campaign-openssl-aes.txt"
AES_BPS=$(awk '/^(aes-256-gcm|AES-256-GCM)/ {v=$NF; sub(/k$/, "", v); print v * 1000}' "$OUT/campaign-openssl-aes.txt")

# ---- Parley, through the CLI. --------------------------------------------------------------
echo "bench-campaign: parley ($BIN), $USERS users, query $QUERY"
export XDG_CONFIG_HOME=$WORK/config
cd "$WORK"
P="$BIN/parley"
for k in brand retailer author; do "$P" keygen "$k" >/dev/null; done
cp "$REPO/Enclave/Modules/campaign-lift/campaign-lift.toml" .
"$P" module seal campaign-lift.toml --key author.key >/dev/null
cat > policy.toml <<EOF
quote = "software"
module = "$("$P" module measure campaign-lift.parley)"
runtime = ["$("$P" runtime measure)"]
quoting_root = "host/quoting-root.pem"
log_key = "host/log-key.pub"
EOF
"$P" serve --data "$WORK/host" --listen 127.0.0.1:0 > serve.out 2> serve.err &
HOST_PID=$!
URL=""
for _ in $(seq 300); do
  URL=$(grep -o -m1 'https\?://127\.0\.0\.1:[0-9]*' serve.out 2>/dev/null || true)
  [ -n "$URL" ] && break
  kill -0 "$HOST_PID" 2>/dev/null || break
  sleep 0.1
done
[ -n "$URL" ] || { echo "bench-campaign: parley serve did not say where it listens within 30 s:" >&2; cat serve.err >&2; exit 1; }

# The worker: the host's parley-enclave descendant (a child, or below a sandbox helper). The host
# runs it from a sealed memfd, so its comm is "memfd:parley-en"; its argv[0] is parley-enclave.
find_worker() {
  local queue=("$HOST_PID") pid child argv0
  while ((${#queue[@]})); do
    pid=${queue[0]}; queue=("${queue[@]:1}")
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
      argv0=$(argv0_of "$child")
      if [ "$argv0" = parley-enclave ]; then echo "$child"; return 0; fi
      queue+=("$child")
    done
  done
  return 1
}

# One CLI process, timed (wall clock) and measured (/usr/bin/time -v): name, then the command.
declare -A SECONDS_OF CLIENT_MB
timed() {
  local name=$1 start; shift
  start=$(date +%s%N)
  if ! /usr/bin/time -v -o "$name.time" "$@" > "$name.out" 2> "$name.err"; then
    echo "bench-campaign: $name failed:" >&2; cat "$name.err" >&2; exit 1
  fi
  SECONDS_OF[$name]=$(seconds_since "$start")
  CLIENT_MB[$name]=$(peak_mb "$name.time")
}

timed launch "$P" job launch campaign-lift.parley --server "$URL" --data host
JOB=$(tail -n 1 launch.out)
WORKER_PID=$(find_worker) || { echo "bench-campaign: no parley-enclave under the host (pid $HOST_PID)" >&2; exit 1; }
# PARLEY_BENCH_PERF=1: a system-wide `perf record` (call graphs) over the first upload, so the
# client, the host and the worker are all in one profile: $OUT/campaign-perf-upload.data, and
# its summary by process and symbol in $OUT/campaign-perf-upload.txt.
PERF_PID=""
if [ -n "${PARLEY_BENCH_PERF:-}" ]; then
  perf record -a -g -F 997 -o "$OUT/campaign-perf-upload.data" -- sleep 600 2> perf.err &
  PERF_PID=$!
  sleep 0.5
fi
timed upload_exposures "$P" upload --server "$URL" --job "$JOB" --dataset exposures --file "$EXPOSURES" \
  --key brand.key --policy policy.toml --state brand-state --quiet
if [ -n "$PERF_PID" ]; then
  kill -INT "$(ps -o pid= --ppid "$PERF_PID" | head -n 1)" 2>/dev/null || true
  kill -INT "$PERF_PID" 2>/dev/null || true
  wait "$PERF_PID" 2>/dev/null || true
  PERF_PID=""
  perf report -i "$OUT/campaign-perf-upload.data" -g none --no-children --sort comm,dso,symbol --percent-limit 0.5 --stdio \
    2>/dev/null | grep -v '^$' | head -n 200 > "$OUT/campaign-perf-upload.txt" || true
  echo "bench-campaign: profile of the first upload in $OUT/campaign-perf-upload.txt"
fi
timed upload_purchases "$P" upload --server "$URL" --job "$JOB" --dataset purchases --file "$PURCHASES" \
  --key retailer.key --policy policy.toml --state retailer-state --quiet
timed query "$P" query run --server "$URL" --job "$JOB" --query "$QUERY" --key brand.key --policy policy.toml \
  --state brand-state --format json
WORKER_HWM_MB=$(awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$WORKER_PID/status")
"$P" job stop "$JOB" --server "$URL" --data host >/dev/null
cp query.out "$OUT/campaign-parley.json"
head -n 1 upload_exposures.out; head -n 1 upload_purchases.out
# The worker's own time per upload, when the host relays it ("... parsed in 1.9 s ...").
worker_s() { sed -n 's/.* parsed in \([0-9.]*\) s.*/\1/p' "$1" | head -n 1; }
W_EX_S=$(worker_s upload_exposures.out)
W_PU_S=$(worker_s upload_purchases.out)
stop_pid "$HOST_PID" INT; HOST_PID=""
if is_worker "$WORKER_PID"; then stop_pid "$WORKER_PID" TERM; fi
WORKER_PID=""
cd "$REPO"

# ---- DuckDB over the same files. -----------------------------------------------------------
echo "bench-campaign: duckdb $("$OUT/venv/bin/python" -c 'import duckdb; print(duckdb.__version__)'), threads=$THREADS"
if [ "$SQL_FROM" = join ]; then
  FROM="read_csv('$EXPOSURES', header=true, columns={'email_hash': 'VARCHAR', 'campaign': 'VARCHAR', 'region': 'INTEGER'}) e
  JOIN read_csv('$PURCHASES', header=true, columns={'email_hash': 'VARCHAR', 'amount': 'DECIMAL(10,2)', 'category': 'VARCHAR'}) p
  ON e.email_hash = p.email_hash"
else
  FROM="read_csv('$EXPOSURES', header=true, columns={'email_hash': 'VARCHAR', 'campaign': 'VARCHAR', 'region': 'INTEGER'}) e"
fi
GROUP=$([ "$KEYS" = 2 ] && echo "e.campaign, e.region" || echo "e.campaign")
DUCK_SQL="SELECT $SQL_SELECT FROM $FROM $SQL_WHERE GROUP BY $GROUP ORDER BY $GROUP"
/usr/bin/time -v -o "$OUT/campaign-duckdb.time" "$OUT/venv/bin/python" - "$THREADS" "$OUT/campaign-duckdb.json" "$DUCK_SQL" \
  > "$OUT/campaign-duckdb.tsv" <<'PY'
import json, sys, time
import duckdb

threads, answers, sql = int(sys.argv[1]), sys.argv[2], sys.argv[3]
con = duckdb.connect()
con.execute(f"SET threads={threads}")
start = time.perf_counter()
cur = con.execute(sql)
rows = cur.fetchall()
seconds = time.perf_counter() - start
columns = [d[0] for d in cur.description]
with open(answers, "w") as out:
    json.dump({"columns": columns, "rows": [[c if isinstance(c, (int, str)) else float(c) for c in r] for r in rows]}, out)
print(f"duckdb.seconds\t{seconds:.3f}\ts")
PY
D_S=$(awk -F'\t' '$1 == "duckdb.seconds" {print $2}' "$OUT/campaign-duckdb.tsv")
D_MB=$(peak_mb "$OUT/campaign-duckdb.time")

# ---- The answers. ---------------------------------------------------------------------------
COMPARE=$(python3 - "$OUT/campaign-parley.json" "$OUT/campaign-duckdb.json" "$KEYS" <<'PY'
import json, sys
parley, duck, keys = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
if parley["columns"] != duck["columns"]:
    print(f"FAIL: the columns differ: parley {parley['columns']}, duckdb {duck['columns']}")
    sys.exit(0)
def table(doc):
    return {tuple(str(c) for c in r[:keys]): [float(c) for c in r[keys:]] for r in doc["rows"]}
p, d = table(parley), table(duck)
missing, extra = sorted(set(d) - set(p)), sorted(set(p) - set(d))
worst = []
for i, name in enumerate(parley["columns"][keys:]):
    diffs = [abs(p[k][i] - d[k][i]) / abs(d[k][i]) for k in p if k in d and d[k][i] != 0]
    worst.append((name, max(diffs) if diffs else 0.0))
# Every group is far above the policy's minimum size at these sizes, so none may be missing;
# the first value (a count of people) is noised by a few units, so 10% is a broken pipeline.
ok = not missing and not extra and (not worst or worst[0][1] <= 0.10)
print(("ok" if ok else "FAIL:") + f" {len(p)} groups from parley, {len(d)} from duckdb (parley: about {parley.get('suppressed_groups', '?')} suppressed); "
      + "largest relative difference (noise): " + (", ".join(f"{n} {w * 100:.2f}%" for n, w in worst) or "none")
      + (f"; missing from parley {missing[:5]}" if missing else "") + (f"; only in parley {extra[:5]}" if extra else ""))
PY
)

# ---- The table and the raw numbers. --------------------------------------------------------
S_EX=${SECONDS_OF[upload_exposures]}; S_PU=${SECONDS_OF[upload_purchases]}; S_Q=${SECONDS_OF[query]}
P_S=$(awk -v a="$S_EX" -v b="$S_PU" -v c="$S_Q" 'BEGIN { printf "%.3f", a + b + c }')
CLIENT_PEAK=$(printf "%s\n" "${CLIENT_MB[@]}" | sort -n | tail -n 1)
TSV=$OUT/campaign-$USERS.tsv
{
  printf "campaign.users\t%s\tusers\n" "$USERS"
  printf "campaign.query\t%s\tname\n" "$QUERY"
  printf "campaign.exposures_bytes\t%s\tbytes\n" "$EX_BYTES"
  printf "campaign.purchases_bytes\t%s\tbytes\n" "$PU_BYTES"
  printf "campaign.launch_seconds\t%s\ts\n" "${SECONDS_OF[launch]}"
  printf "campaign.upload_exposures_seconds\t%s\ts\n" "$S_EX"
  printf "campaign.upload_purchases_seconds\t%s\ts\n" "$S_PU"
  printf "campaign.query_seconds\t%s\ts\n" "$S_Q"
  printf "campaign.parley_total_seconds\t%s\ts\n" "$P_S"
  [ -n "$W_EX_S" ] && printf "campaign.worker_exposures_seconds\t%s\ts\n" "$W_EX_S"
  [ -n "$W_PU_S" ] && printf "campaign.worker_purchases_seconds\t%s\ts\n" "$W_PU_S"
  printf "campaign.upload_exposures_bps\t%s\tbytes/s\n" "$(awk -v b="$EX_BYTES" -v s="$S_EX" 'BEGIN { printf "%.0f", b / s }')"
  printf "campaign.upload_purchases_bps\t%s\tbytes/s\n" "$(awk -v b="$PU_BYTES" -v s="$S_PU" 'BEGIN { printf "%.0f", b / s }')"
  printf "campaign.duckdb_seconds\t%s\ts\n" "$D_S"
  printf "campaign.duckdb_threads\t%s\tthreads\n" "$THREADS"
  printf "campaign.parley_over_duckdb\t%s\tratio\n" "$(ratio "$P_S" "$D_S")"
  printf "campaign.worker_peak_rss_mb\t%s\tMiB\n" "$WORKER_HWM_MB"
  for n in launch upload_exposures upload_purchases query; do printf "campaign.client_%s_peak_rss_mb\t%s\tMiB\n" "$n" "${CLIENT_MB[$n]}"; done
  printf "campaign.duckdb_peak_rss_mb\t%s\tMiB\n" "$D_MB"
  printf "campaign.openssl_aes_256_gcm_bps\t%s\tbytes/s\n" "$AES_BPS"
  printf "campaign.answers\t%s\tcheck\n" "${COMPARE%%[: ]*}"
} > "$TSV"
cp "$TSV" "$OUT/campaign.tsv"

echo
printf "campaign job: %s exposures (%s MB) and %s purchases (%s MB), query %s\n" "$USERS" "$(mbps "$EX_BYTES" 1)" "$USERS" "$(mbps "$PU_BYTES" 1)" "$QUERY"
printf "%-38s %10s %10s %14s %12s\n" "phase (one CLI process each)" "seconds" "MB/s" "MB/s / AES-GCM" "client MiB"
phase() { printf "%-38s %10s %10s %14s %12s\n" "$1" "$2" "$3" "$4" "$5"; }
phase "launch (operator; not in the total)" "${SECONDS_OF[launch]}" "" "" "${CLIENT_MB[launch]}"
phase "upload exposures" "$S_EX" "$(mbps "$EX_BYTES" "$S_EX")" "$(ratio "$(mbps "$EX_BYTES" "$S_EX")" "$(mbps "$AES_BPS" 1)")" "${CLIENT_MB[upload_exposures]}"
phase "upload purchases" "$S_PU" "$(mbps "$PU_BYTES" "$S_PU")" "$(ratio "$(mbps "$PU_BYTES" "$S_PU")" "$(mbps "$AES_BPS" 1)")" "${CLIENT_MB[upload_purchases]}"
phase "query $QUERY" "$S_Q" "" "" "${CLIENT_MB[query]}"
phase "parley total (uploads + query)" "$P_S" "$(mbps $((EX_BYTES + PU_BYTES)) "$P_S")" "" "$CLIENT_PEAK"
phase "duckdb total (read_csv + query, ${THREADS} thr)" "$D_S" "$(mbps $((EX_BYTES + PU_BYTES)) "$D_S")" "" ""
[ -n "$W_EX_S$W_PU_S" ] && echo "  the worker's own time (receipt): exposures ${W_EX_S:-?} s, purchases ${W_PU_S:-?} s"
echo "  openssl aes-256-gcm (16 KiB, 1 thread): $(mbps "$AES_BPS" 1) MB/s"
R=$(ratio "$P_S" "$D_S")
echo "parley / duckdb total: $R   target <= 1.5: $(awk -v r="$R" 'BEGIN { print (r != "n/a" && r <= 1.5) ? "met" : "NOT met" }'), goal 1.2: $(awk -v r="$R" 'BEGIN { print (r != "n/a" && r <= 1.2) ? "met" : "not met" }')"
echo "peak RSS, MiB: worker (VmHWM) $WORKER_HWM_MB, duckdb $D_MB (worker/duckdb $(ratio "$WORKER_HWM_MB" "$D_MB")), largest client $CLIENT_PEAK"
echo "answers: $COMPARE"
echo "raw numbers: $TSV (and .bench/campaign.tsv)"
[ "${COMPARE%% *}" = ok ] || { echo "bench-campaign: FAIL: the answers do not agree" >&2; exit 1; }
