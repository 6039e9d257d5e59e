"""A real `parley serve` for the Python client's tests, started from the built binaries.

PARLEY_BIN_DIR names the directory of `parley` (Scripts/test.sh sets it to `swift build
--show-bin-path`). Without it the tests that need a host are skipped, saying so; under
Scripts/test.sh it is always set (PARLEY_REQUIRE_HOST=1 turns the skip into a failure).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "Sources", "Python"))


def bin_dir() -> str:
    d = os.environ.get("PARLEY_BIN_DIR")
    if not d:
        if os.environ.get("PARLEY_REQUIRE_HOST"):
            pytest.fail("PARLEY_BIN_DIR is not set but PARLEY_REQUIRE_HOST is")
        pytest.skip("PARLEY_BIN_DIR is not set: run Scripts/test.sh, or set it to `swift build --show-bin-path`")
    if not os.access(os.path.join(d, "parley"), os.X_OK):
        pytest.fail(f"PARLEY_BIN_DIR={d} holds no parley executable; run `swift build`")
    return d


class Host:
    """A `parley serve` on a free loopback port, a campaign-lift job, and the parties' files in `dir`."""

    def __init__(self, dir: str):
        self.dir = dir
        self.bin = os.path.join(bin_dir(), "parley")
        self.proc = None
        self.url = None

    def cli(self, *args, check=True, input=None, env_extra=None) -> subprocess.CompletedProcess:
        env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(self.dir, "config"))
        env.update(env_extra or {})
        p = subprocess.run([self.bin, *args], cwd=self.dir, capture_output=True, text=True, env=env, input=input, timeout=300)
        if check and p.returncode != 0:
            raise AssertionError(f"parley {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p

    def prepare(self, rows: int = 2000) -> None:
        for k in ("brand", "retailer", "author"):
            self.cli("keygen", k)
        shutil.copy(os.path.join(REPO, "Enclave/Modules/campaign-lift/campaign-lift.toml"), self.dir)
        self.cli("module", "seal", "campaign-lift.toml", "--key", "author.key")
        self.measurement = self.cli("module", "measure", "campaign-lift.parley").stdout.strip()
        self.runtime = self.cli("runtime", "measure").stdout.strip()
        self.write_policy("policy.toml")
        ex, pu = ["email_hash,campaign,region"], ["email_hash,amount,category"]
        for i in range(rows):
            ex.append(f"id{i},{'ab'[i % 2]},1")
            if i % 2 == 0:
                pu.append(f"id{i},{i % 50}.25,soda")
        with open(os.path.join(self.dir, "exposures.csv"), "w") as f:
            f.write("\n".join(ex) + "\n")
        with open(os.path.join(self.dir, "purchases.csv"), "w") as f:
            f.write("\n".join(pu) + "\n")

    def write_policy(self, name: str, **overrides) -> str:
        lines = {"quote": '"software"', "module": f'"{self.measurement}"', "runtime": f'["{self.runtime}"]',
                 "quoting_root": '"host/quoting-root.pem"', "log_key": '"host/log-key.pub"'}
        lines.update(overrides)
        text = "".join(f"{k} = {v}\n" for k, v in lines.items() if v is not None)
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def start(self, *extra: str) -> str:
        self.url = None
        self.proc = subprocess.Popen([self.bin, "serve", "--data", os.path.join(self.dir, "host"), "--listen", "127.0.0.1:0", *extra],
                                     cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        found = threading.Event()

        def read():
            for line in self.proc.stdout:
                m = re.search(r"https?://127\.0\.0\.1:\d+", line)
                if m and not self.url:
                    self.url = m.group(0)
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(30) or not self.url:
            self.stop()
            raise AssertionError("parley serve did not say where it listens within 30 s")
        return self.url

    def launch(self) -> str:
        out = self.cli("job", "launch", "campaign-lift.parley", "--server", self.url, "--data", "host").stdout
        return out.strip().split("\n")[-1]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def swift_verify(self, evidence: bytes, nonce: bytes, policy: str = "policy.toml", job: str | None = None,
                     ledger: str | None = None) -> dict:
        """`parley attest verify --json`: the Swift verdict."""
        fd, path = tempfile.mkstemp(dir=self.dir, suffix=".cbor")
        with os.fdopen(fd, "wb") as f:
            f.write(evidence)
        args = ["attest", "verify", path, "--nonce", nonce.hex(), "--policy", policy, "--json",
                "--nonce-ledger", ledger or path + ".ledger"]
        if job:
            args += ["--job", job]
        p = self.cli(*args, check=False)
        os.unlink(path)
        return json.loads(p.stdout)


def _session_host():
    bin_dir()
    d = tempfile.mkdtemp(prefix="parley-py-")
    h = Host(d)
    try:
        h.prepare()
        h.start()
        yield h
    finally:
        h.stop()
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def host():
    """A host with one job that stays open, for evidence tests (nothing is uploaded to it)."""
    for h in _session_host():
        h.job = h.launch()
        yield h


@pytest.fixture(scope="session")
def dphost():
    """A second host for uploads and queries: every job of one module shares a budget ledger, and
    an open job counts as having spent its whole budget, so each test stops the job it launched."""
    yield from _session_host()


@pytest.fixture
def job(dphost):
    """A fresh campaign-lift job on dphost, stopped after the test."""
    j = dphost.launch()
    yield j
    dphost.cli("job", "stop", j, "--server", dphost.url, "--data", "host", check=False)


class LyingHost:
    """A host that lies: relays every request to a real `parley serve` and lets a test change
    the answers it relays (`tamper(method, path, params, body) -> body`), as an operator who
    controls the host could. 127.0.0.1 only, stopped by `stop()`."""

    def __init__(self, upstream: str, tamper):
        import http.server
        import urllib.parse

        import httpx
        self.tamper = tamper
        client = httpx.Client(base_url=upstream, timeout=120)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        n = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if n == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return out
                        out += self.rfile.read(n)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _relay(self):
                body = self._body()
                url = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(url.query))
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "authorization", "parley-signature")}
                r = client.request(self.command, self.path, content=body or None, headers=headers)
                out = r.content
                if r.status_code == 200:
                    out = proxy.tamper(self.command, url.path, params, out)
                self.send_response(r.status_code)
                self.send_header("Content-Type", r.headers.get("content-type", "application/octet-stream"))
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_PUT = _relay

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
