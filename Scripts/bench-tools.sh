# Sourced by the benchmark scripts that compare against DuckDB (bench-engine.sh,
# bench-campaign.sh): installs what they measure with, once.
#   bench_tools LABEL OUT   GNU time (peak RSS via /usr/bin/time -v) and DuckDB in OUT/venv

bench_tools() {
  local label="$1" out="$2"
  if [ ! -x /usr/bin/time ]; then
    echo "$label: installing GNU time"
    apt-get install -y -qq time >/dev/null
  fi
  if ! "$out/venv/bin/python" -c 'import duckdb' 2>/dev/null; then
    echo "$label: DuckDB into $out/venv"
    python3 -m venv "$out/venv"
    "$out/venv/bin/pip" install -q duckdb
  fi
}
