#!/usr/bin/env bash
# Installs what Parley needs to build and test, and nothing when all of it is there.
# Idempotent: safe to run any number of times. Needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
  pkg-config            # SwiftPM finds the system libraries through it
  libssl-dev            # OpenSSL: X.509, raw ECDSA for TPM keys, cross-checks
  libtss2-dev           # tpm2-tss: ESAPI, TCTI loader, marshalling, RC decoding
  libcbor-dev           # libcbor: the CBOR encoder/decoder under ParleyCore
  libseccomp-dev        # the worker's seccomp allow-list
  swtpm swtpm-tools     # the software TPM that tests quote against
  tpm2-tools            # tpm2_checkquote: an independent verifier for our TPM evidence
  openssl               # the openssl CLI: cross-checks of signatures and keys
  sqlite3               # the sqlite3 CLI: cross-checks of query answers
  libsqlite3-dev        # the host's job store (SQLite through GRDB)
  python3 python3-venv  # venvs: the API conformance tools (below) and the benchmark's DuckDB baseline
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "setup: the Swift toolchain (6.x) is not on PATH; install it from swift.org, then run this again" >&2
  exit 1
fi

# The unprivileged user a worker started by a root host switches to (docs/sandbox.md, step
# "identity"): a system user with no home, no shell and no files. Without it workers use nobody.
if [ "$(id -u)" -eq 0 ] && ! getent passwd parley-worker >/dev/null; then
  echo "setup: creating the system user parley-worker"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
    --user-group parley-worker
fi

# The API conformance test's tools (docs/api.md, "Conformance test"): schemathesis and
# openapi-spec-validator at the versions pinned in api-conformance-requirements.txt, in a venv
# under .build-venv/ (git-ignored). Done once; again only when a pin changes (the venv keeps a
# copy of the list it was built from). Debian's python3 with python3-venv (installed above).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV="$ROOT/.build-venv"
REQUIREMENTS="$ROOT/Scripts/api-conformance-requirements.txt"
if ! cmp -s "$REQUIREMENTS" "$VENV/installed-requirements.txt" || [ ! -x "$VENV/bin/schemathesis" ]; then
  echo "setup: installing the API conformance tools (schemathesis, openapi-spec-validator) into .build-venv"
  /usr/bin/python3 -m venv --clear "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$VENV/installed-requirements.txt"
fi

# The Python client (Sources/Python, docs/python.md) and its test tools, in .build-pyclient/
# (git-ignored). Done again only when the package's sources change (the venv keeps the hash of
# the tree it was installed from).
PYVENV="$ROOT/.build-pyclient"
PYHASH=$(cd "$ROOT/Sources/Python" && find . -type f \( -name '*.py' -o -name '*.toml' \) -not -path '*/build/*' -not -path '*.egg-info/*' | sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
if [ "$(cat "$PYVENV/installed-hash" 2>/dev/null)" != "$PYHASH" ] || [ ! -x "$PYVENV/bin/pytest" ]; then
  echo "setup: installing the Python client and its tests' tools into .build-pyclient"
  [ -x "$PYVENV/bin/pip" ] || /usr/bin/python3 -m venv --clear "$PYVENV"
  "$PYVENV/bin/pip" install --quiet --disable-pip-version-check --no-input "$ROOT/Sources/Python[test]"
  rm -rf "$ROOT/Sources/Python/build" "$ROOT"/Sources/Python/*.egg-info
  echo "$PYHASH" > "$PYVENV/installed-hash"
fi
