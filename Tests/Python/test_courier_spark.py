"""The Spark courier on a real cluster (Scripts/spark.sh: one master, two workers, authenticated)
delivering sealed uploads to a real `parley serve`: both parties' uploads accepted and queried by
the Swift CLI; an executor killed in the middle of a delivery, after which the retried task gives
one accepted upload; and no identifier of the test data anywhere in Spark's directories.

Skipped, saying why, when Spark is not installed (Scripts/spark.sh install) and
PARLEY_REQUIRE_SPARK is unset; Scripts/test.sh installs it and sets PARLEY_REQUIRE_SPARK=1."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading

import pytest

import parley_client
from parley_courier import Accepted, Refusal, Refused, outcome_from_task

from conftest import REPO

SPARK_PYTHON = os.path.join(REPO, ".build-spark", "bin", "python")


def spark_installed() -> bool:
    return os.access(SPARK_PYTHON, os.X_OK) and subprocess.run([SPARK_PYTHON, "-c", "import pyspark"], capture_output=True).returncode == 0


@pytest.fixture(scope="session")
def spark():
    """One cluster for the session: Scripts/test.sh's (PARLEY_TEST_SPARK_DIR, stopped by its
    trap), else one started here in a fresh directory and stopped at the end."""
    if not spark_installed():
        if os.environ.get("PARLEY_REQUIRE_SPARK"):
            pytest.fail("PARLEY_REQUIRE_SPARK is set but PySpark is not in .build-spark: run Scripts/spark.sh install")
        pytest.skip("Spark is not installed: run Scripts/spark.sh install (or Scripts/test.sh)")
    given = os.environ.get("PARLEY_TEST_SPARK_DIR")
    if given:
        os.makedirs(os.path.join(given, "driver-tmp"), exist_ok=True)
        yield given
        return
    d = tempfile.mkdtemp(prefix="parley-spark-")
    try:
        p = subprocess.run([os.path.join(REPO, "Scripts", "spark.sh"), "start", d, "--workers", "2"], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, f"Scripts/spark.sh start failed: {p.stderr}"
        os.makedirs(os.path.join(d, "driver-tmp"))
        yield d
    finally:
        subprocess.run([os.path.join(REPO, "Scripts", "spark.sh"), "stop", d], capture_output=True, timeout=120)
        shutil.rmtree(d, ignore_errors=True)


def courier(cluster: str, deliveries, wait=True):
    """`python -m parley_courier` as the operator would run it: a separate driver process given
    only the manifest (paths, URLs, headers), its temporary files under the cluster's directory."""
    fd, manifest = tempfile.mkstemp(dir=os.path.join(cluster, "driver-tmp"), suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump([d.as_task() for d in deliveries], f)
    out = manifest + ".out"
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "Sources", "Python"), TMPDIR=os.path.join(cluster, "driver-tmp"))
    proc = subprocess.Popen([SPARK_PYTHON, "-m", "parley_courier", cluster, manifest, out], cwd=os.path.join(cluster, "driver-tmp"),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def finish():
        try:
            log, _ = proc.communicate(timeout=600)
        finally:
            if proc.poll() is None:  # a test that failed before the courier ended
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, f"the courier failed:\n{log[-3000:]}"
        with open(out) as f:
            return [outcome_from_task({"outcome": "accepted" if r["kind"] == "accepted" else r["reason"],
                                       "shard": r["shard"], "http_status": r["http_status"], "attempt": r["attempt"],
                                       "receipt_digest": r.get("digest"), "sent_sha256": r.get("sent_sha256"),
                                       "accepted_earlier": r.get("earlier", False)}) for r in json.load(f)]
    finish.kill = lambda: (proc.kill(), proc.wait())
    return finish() if wait else finish


IDENTIFIERS: list[str] = []


def write_data(host) -> tuple[str, str]:
    """Exposures and purchases whose identifiers are random (so finding one anywhere means it leaked)."""
    ids = [f"u{secrets.token_hex(10)}" for _ in range(600)]
    IDENTIFIERS.extend(ids)
    ex, pu = os.path.join(host.dir, f"ex-{ids[0]}.csv"), os.path.join(host.dir, f"pu-{ids[0]}.csv")
    with open(ex, "w") as f:
        f.write("email_hash,campaign,region\n" + "".join(f"{u},{'ab'[i % 2]},1\n" for i, u in enumerate(ids)))
    with open(pu, "w") as f:
        f.write("email_hash,amount,category\n" + "".join(f"{u},{i % 50}.25,soda\n" for i, u in enumerate(ids) if i % 2 == 0))
    return ex, pu


def party(host, name):
    return parley_client.Party(key=os.path.join(host.dir, f"{name}.key"), policy=os.path.join(host.dir, "policy.toml"),
                               server=host.url, state=os.path.join(host.dir, f"py-{name}-state"))


def sealed_dir(host):
    """The parties' sealed files: theirs, beside their plaintext, outside Spark's directories."""
    d = os.path.join(host.dir, "sealed")
    os.makedirs(d, exist_ok=True)
    return d


def test_both_parties_uploads_are_carried_by_spark_and_queried_by_the_swift_cli(spark, dphost, job):
    ex, pu = write_data(dphost)
    out = sealed_dir(dphost)
    with party(dphost, "brand") as brand, party(dphost, "retailer") as retailer:
        a = brand.seal_upload(job, "exposures", ex, os.path.join(out, f"{job}-exposures.sealed"))
        b = retailer.seal_upload(job, "purchases", pu, os.path.join(out, f"{job}-purchases.sealed"))
        outcomes = courier(spark, [a.delivery(0, dphost.url), b.delivery(1, dphost.url)])
        assert [type(o) for o in outcomes] == [Accepted, Accepted] and [o.shard for o in outcomes] == [0, 1]
        assert outcomes[0].digest == a.sha256 and outcomes[1].digest == b.sha256
        assert brand.confirm_delivery(a, outcomes[0]) >= 0 and retailer.confirm_delivery(b, outcomes[1]) >= 0
        datasets = brand.status(job)["datasets"]
        assert (datasets["exposures"]["rows"], datasets["purchases"]["rows"]) == (600, 300)
        # Carried again (a rerun of the whole job): success for both, and nothing new accepted.
        again = courier(spark, [a.delivery(0, dphost.url), b.delivery(1, dphost.url)])
        assert all(isinstance(o, Accepted) and o.earlier for o in again)
    result = json.loads(dphost.cli("query", "run", "--server", dphost.url, "--job", job, "--query", "conversions", "--key", "brand.key",
                                   "--policy", "policy.toml", "--format", "json", "--state", "brand-state").stdout)
    assert [r[0] for r in result["rows"]] == ["a"] and 250 < int(result["rows"][0][1]) < 350  # 300 buyers, all of campaign "a"


class HoldingProxy:
    """A TCP relay to the host that lets every connection through except the first upload of
    `dataset`: of that one it relays the first `hold_after` bytes, then holds (sets `holding`)
    until the client's side dies, and then cuts the host's side short."""

    def __init__(self, upstream_port: int, dataset: str, hold_after: int = 2048):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.upstream, self.dataset, self.hold_after = upstream_port, dataset, hold_after
        self.holding, self.held_once = threading.Event(), False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client):
        host = socket.create_connection(("127.0.0.1", self.upstream))
        first = client.recv(65536)
        hold = not self.held_once and first.startswith(b"PUT ") and f"/datasets/{self.dataset} ".encode() in first
        self.held_once |= hold
        threading.Thread(target=self._pipe, args=(host, client), daemon=True).start()
        sent, data = 0, first
        while data:
            if hold and sent + len(data) >= self.hold_after:
                host.sendall(data[:self.hold_after - sent])
                self.holding.set()
                while client.recv(65536):  # until the executor is gone
                    pass
                break
            host.sendall(data)
            sent += len(data)
            data = client.recv(65536)
        for s in (host, client):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass

    def stop(self):
        self.sock.close()


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (a JVM starts children from any of its threads)."""
    out = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for t in threads:
        try:
            children = open(f"/proc/{pid}/task/{t}/children").read().split()
        except OSError:
            continue
        for child in children:
            out += [int(child), *descendants(int(child))]
    return out


def cmdline(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def executor_running_python(cluster: str) -> list[int]:
    """The executor JVM (a child of one of our workers) that runs a Python task, with its Python
    processes: what the test kills."""
    with open(os.path.join(cluster, "pids")) as f:
        workers = [int(line.split()[1]) for line in f if line.startswith("worker-")]
    for w in workers:
        for e in descendants(w):
            if "CoarseGrainedExecutorBackend" in cmdline(e):
                py = [p for p in descendants(e) if "pyspark" in cmdline(p) or "python" in cmdline(p)]
                if py:
                    return [e, *py]
    return []


def cluster_secret(cluster: str) -> str:
    with open(os.path.join(cluster, "spark.conf")) as f:
        return [line.split()[1] for line in f if line.startswith("spark.authenticate.secret ")][0]


def test_an_executor_killed_mid_delivery_gives_one_accepted_upload(spark, dphost, job):
    ex, pu = write_data(dphost)
    out = sealed_dir(dphost)
    port = int(dphost.url.rsplit(":", 1)[1])
    proxy = HoldingProxy(port, "exposures")
    try:
        with party(dphost, "brand") as brand:
            a = brand.seal_upload(job, "exposures", ex, os.path.join(out, f"{job}-exposures.sealed"))
            assert os.path.getsize(a.path) > proxy.hold_after
            finish = courier(spark, [a.delivery(0, proxy.url)], wait=False)
            assert proxy.holding.wait(300), "the courier's upload never reached the host"
            # Mid-job, with the driver and executors running: the secret is on no command line
            # (PySpark would put it there if the driver set it in its SparkConf).
            secret = cluster_secret(spark)
            for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
                assert secret not in cmdline(pid), f"the cluster's secret is on the command line of pid {pid}"
            victims = executor_running_python(spark)
            if not victims:
                finish.kill()
            assert victims, "found no executor running the task"
            for pid in victims:
                os.kill(pid, signal.SIGKILL)
            [outcome] = finish()
            assert isinstance(outcome, Accepted) and outcome.digest == a.sha256 and outcome.attempt >= 1
            assert brand.confirm_delivery(a, outcome) >= 0
            assert brand.status(job)["datasets"]["exposures"]["digest"] == a.sha256
            # The held attempt reached the worker and was refused (nothing of it kept): the kill
            # really cut a delivery in the middle.
            import cbor2
            refused = cbor2.loads(brand._get("/v1/log/index", job=job, kind="upload-refused").content)
            assert len(refused) == 1
    finally:
        proxy.stop()


def test_spark_carries_a_refusal_as_a_typed_outcome(spark, dphost, job):
    ex, _ = write_data(dphost)
    out = sealed_dir(dphost)
    with party(dphost, "brand") as brand, party(dphost, "retailer") as retailer:
        a = brand.seal_upload(job, "exposures", ex, os.path.join(out, f"{job}-exposures.sealed"))
        # The retailer seals the brand's dataset: the host refuses it before relaying a byte.
        wrong = retailer.seal_upload(job, "exposures", ex, os.path.join(out, f"{job}-wrong.sealed"))
        outcomes = courier(spark, [wrong.delivery(0, dphost.url), a.delivery(1, dphost.url)])
        assert isinstance(outcomes[0], Refused) and outcomes[0].reason is Refusal.NOT_PROVIDER and outcomes[0].http_status == 403
        assert isinstance(outcomes[1], Accepted) and outcomes[1].digest == a.sha256


def test_no_identifier_appears_in_sparks_directories(spark, dphost):
    assert IDENTIFIERS, "run with the delivery tests: they make the identifiers"
    needles = [i.encode() for i in IDENTIFIERS]
    secret = cluster_secret(spark).encode()

    def scan(root: str, what: list[bytes]) -> list[str]:
        found = []
        for d, _, files in os.walk(root):
            for name in files:
                p = os.path.join(d, name)
                try:
                    data = open(p, "rb").read()
                except OSError:
                    continue
                found += [p for n in what if n in data or n in p.encode()]
        return found

    # The scan finds what is there: the parties' own plaintext holds the identifiers.
    assert len(scan(dphost.dir, needles)) >= len(needles)
    scanned = [os.path.join(spark, sub) for sub in ("work", "log", "local", "driver", "driver-tmp")]
    assert all(os.path.isdir(d) for d in scanned)
    assert sum(len(files) for d in scanned for _, _, files in os.walk(d)) > 5
    for d in scanned:
        assert scan(d, needles) == [], f"an identifier of the test data is in {d}"
        assert scan(d, [secret]) == [], f"the cluster's secret is written in {d}"
