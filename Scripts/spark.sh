#!/usr/bin/env bash
# A private Apache Spark standalone cluster for the courier (docs/spark.md): installs PySpark,
# starts one master and N workers as separate processes bound to 127.0.0.1, and stops exactly
# those processes again.
#
#   Scripts/spark.sh install                 PySpark (Scripts/spark-requirements.txt) into .build-spark/
#   Scripts/spark.sh start DIR [--workers N] a master and N workers (default 2), all state under DIR
#   Scripts/spark.sh stop DIR                TERM the pids recorded in DIR, KILL after 20 s
#
# start writes into DIR: spark.conf (mode 0600: spark.authenticate on, a fresh 256-bit secret from
# /dev/urandom), master-url, pids ("NAME PID" lines), and the work/, log/ and local/ directories
# Spark writes in. No fixed port: every port is a free one chosen at start. Callers that start a
# cluster stop it in a trap (see Scripts/test.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV="$ROOT/.build-spark"
REQUIREMENTS="$ROOT/Scripts/spark-requirements.txt"

die() { echo "spark: $*" >&2; exit 1; }

# The java Spark will use (spark-class takes $JAVA_HOME/bin/java, else java on PATH); it must be 17 or later.
check_java() {
  local java=java
  if [ -n "${JAVA_HOME:-}" ]; then java="$JAVA_HOME/bin/java"; fi
  if ! command -v "$java" >/dev/null 2>&1; then
    die "no java found (JAVA_HOME=${JAVA_HOME:-unset}); install Java 17 (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME to a Java 17 installation"
  fi
  local version
  version=$("$java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
  if [ -z "$version" ] || [ "$version" -lt 17 ]; then
    die "$java is Java ${version:-of unknown version}; Spark 4 needs Java 17 or later: install openjdk-17-jre-headless or point JAVA_HOME at one"
  fi
}

install() {
  check_java
  if cmp -s "$REQUIREMENTS" "$VENV/installed-requirements.txt" && [ -x "$VENV/bin/python" ] \
     && "$VENV/bin/python" -c 'import pyspark' 2>/dev/null; then
    return 0
  fi
  echo "spark: installing $(grep -v '^#' "$REQUIREMENTS" | xargs) into .build-spark (a download of about 450 MB, once)"
  /usr/bin/python3 -m venv --clear "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input --use-pep517 -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$VENV/installed-requirements.txt"
}

spark_home() {
  [ -x "$VENV/bin/python" ] || die "PySpark is not installed: run Scripts/spark.sh install"
  "$VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))' 2>/dev/null \
    || die "PySpark does not import from .build-spark: run Scripts/spark.sh install"
}

# A port nobody listens on now (the kernel's choice), on 127.0.0.1.
free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# How many workers the master at web UI port $1 counts as ALIVE (0 while it does not answer).
alive_workers() {
  /usr/bin/python3 - "$1" <<'PY' 2>/dev/null || echo 0
import json, sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/json/", timeout=2) as r:
    state = json.load(r)
print(sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE"))
PY
}

# Starts `spark-class CLASS ARGS...` in the background, its output in DIR/log/NAME.out, and records its pid.
launch() {
  local dir="$1" name="$2"; shift 2
  SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_DIRS="$dir/local" SPARK_CONF_DIR="$dir/conf" SPARK_LOG_DIR="$dir/log" \
  SPARK_WORKER_DIR="$dir/work" SPARK_PID_DIR="$dir" PYSPARK_PYTHON="$VENV/bin/python" \
    "$SPARK_HOME/bin/spark-class" "$@" </dev/null >"$dir/log/$name.out" 2>&1 &
  echo "$name $!" >>"$dir/pids"
}

start() {
  local dir="" workers=2
  while (($#)); do
    case "$1" in
      --workers) workers="${2:?--workers needs a number}"; shift 2 ;;
      -*) die "unknown option $1 (start DIR [--workers N])" ;;
      *) [ -z "$dir" ] || die "one DIR only"; dir="$1"; shift ;;
    esac
  done
  [ -n "$dir" ] || die "usage: Scripts/spark.sh start DIR [--workers N]"
  [[ "$workers" =~ ^[1-9][0-9]?$ ]] || die "--workers takes 1 to 99, not $workers"
  check_java
  SPARK_HOME=$(spark_home)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ ! -e "$dir/pids" ] || die "$dir already holds a cluster (its pids file); stop it first: Scripts/spark.sh stop $dir"
  mkdir -p "$dir/work" "$dir/log" "$dir/local" "$dir/conf"

  # The cluster's shared secret: spark.authenticate makes every RPC and block transfer prove it.
  (umask 077; {
    echo "spark.authenticate true"
    echo "spark.authenticate.secret $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "spark.master.rest.enabled false"
    echo "spark.ui.killEnabled false"
  } >"$dir/spark.conf")
  chmod 600 "$dir/spark.conf"

  local port ui
  port=$(free_port); ui=$(free_port)
  launch "$dir" master org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$port" --webui-port "$ui" \
    --properties-file "$dir/spark.conf"
  echo "spark://127.0.0.1:$port" >"$dir/master-url"
  echo "$ui" >"$dir/master-ui-port"
  local i
  for i in $(seq "$workers"); do
    mkdir -p "$dir/work/worker-$i"
    launch "$dir" "worker-$i" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --port "$(free_port)" \
      --webui-port "$(free_port)" --cores 1 --memory 1g --work-dir "$dir/work/worker-$i" \
      --properties-file "$dir/spark.conf" "spark://127.0.0.1:$port"
  done

  # Wait (up to 120 s) until the master counts every worker alive; each JVM takes seconds to start.
  local n=0
  for _ in $(seq 240); do
    n=$(alive_workers "$ui")
    [ "$n" -ge "$workers" ] && break
    while read -r name pid; do
      kill -0 "$pid" 2>/dev/null || { n=-1; break 2; }
    done <"$dir/pids"
    sleep 0.5
  done
  if [ "$n" -lt "$workers" ]; then
    echo "spark: the cluster did not come up ($n of $workers workers registered); the end of its logs:" >&2
    local f
    for f in "$dir"/log/*.out; do echo "== $(basename "$f")" >&2; tail -n 15 "$f" | grep -v -i secret >&2 || true; done
    stop "$dir" >/dev/null 2>&1 || true
    exit 1
  fi
  echo "spark: master spark://127.0.0.1:$port (web UI 127.0.0.1:$ui), $workers workers, state in $dir"
}

# Is pid $1 still the Spark daemon we started for DIR $2 (and not a reused pid)?
ours() {
  local cmdline
  cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ "$cmdline" == *org.apache.spark.deploy.* && "$cmdline" == *"$2/spark.conf"* ]]
}

stop() {
  local dir="${1:?usage: Scripts/spark.sh stop DIR}"
  [ -f "$dir/pids" ] || { echo "spark: no cluster recorded in $dir"; return 0; }
  dir=$(cd "$dir" && pwd)
  local -a pids=()
  local name pid
  while read -r name pid; do
    if ours "$pid" "$dir"; then pids+=("$pid"); fi
  done <"$dir/pids"
  # Workers first, so they end their executors while the master is still there to hear it.
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  for _ in $(seq 40); do
    local left=()
    for pid in "${pids[@]}"; do if ours "$pid" "$dir"; then left+=("$pid"); fi; done
    ((${#left[@]})) || break
    sleep 0.5
  done
  for pid in "${pids[@]}"; do
    if ours "$pid" "$dir"; then echo "spark: $pid did not end on TERM within 20 s; KILL" >&2; kill -KILL "$pid" 2>/dev/null || true; fi
  done
  rm -f "$dir/pids"
}

case "${1:-}" in
  install) install ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: Scripts/spark.sh install | start DIR [--workers N] | stop DIR" >&2; exit 2 ;;
esac
