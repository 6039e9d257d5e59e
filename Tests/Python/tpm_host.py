"""A private swtpm, a test platform booted on it, and a real `parley serve --quote tpm` on it, for the
TPM cross tests; and the helpers that hold the Swift verifier (`parley attest verify --json`) and the
Python one to the same verdict.

The platform is played as Tests/ParleyTestSupport/TestPlatform.swift does: PCRs 0-9 extended with the
SHA-256 digests of a real measured-boot log (../shared/fixtures), the log written where the host reads
it, and a binary IMA list (boot_aggregate from the PCRs read back, the real `parley` and
`parley-enclave`) written as PCR 10 is extended, as the kernel would. swtpm and tpm2-tools are
required: missing, the tests skip, or fail under PARLEY_REQUIRE_HOST=1.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import tpm_builder as B
from conftest import Host, bin_dir
from parley_client import Party, cbor, evidence, platform
from parley_client.policy import Policy


TOOLS = ("swtpm", "tpm2_pcrextend", "tpm2_pcrread")


def require_tools(*names):
    missing = [t for t in names if shutil.which(t) is None]
    if missing:
        msg = f"the TPM cross tests need {', '.join(missing)} (apt-get install swtpm tpm2-tools)"
        if os.environ.get("PARLEY_REQUIRE_HOST"):
            pytest.fail(msg)
        pytest.skip(msg)


class SoftwareTPM:
    """A private swtpm, our own direct child, on unix sockets in `dir`; stopped by its pid."""

    def __init__(self, dir: str):
        self.dir = dir
        os.makedirs(dir, exist_ok=True)
        self.sock = os.path.join(dir, "sock")
        self._start()

    def restart(self) -> None:
        """A reboot: the same TPM state, started again (TPM Reset: PCRs 0-15 zero, resetCount + 1)."""
        self.stop()
        for leftover in (self.sock, self.sock + ".ctrl", os.path.join(self.dir, "pid")):
            if os.path.exists(leftover):
                os.unlink(leftover)
        self._start()

    def _start(self) -> None:
        dir = self.dir
        self.proc = subprocess.Popen(["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={dir}",
                                      "--server", f"type=unixio,path={self.sock}", "--ctrl", f"type=unixio,path={self.sock}.ctrl",
                                      "--flags", "not-need-init,startup-clear", "--pid", f"file={dir}/pid"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)
        else:
            self.stop()
            raise AssertionError("swtpm did not create its socket within 10 s")
        self.tcti = f"swtpm:path={self.sock}"

    def tool(self, name: str, *args: str) -> bytes:
        p = subprocess.run([name, *args], capture_output=True, env=dict(os.environ, TPM2TOOLS_TCTI=self.tcti), timeout=60)
        if p.returncode != 0:
            raise AssertionError(f"{name} {' '.join(args)} failed: {p.stderr.decode(errors='replace')}")
        return p.stdout

    def extend(self, pcr: int, digest: bytes) -> None:
        self.tool("tpm2_pcrextend", f"{pcr}:sha256={digest.hex()}")

    def read(self, pcrs) -> dict[int, bytes]:
        out = os.path.join(self.dir, "pcrs.raw")
        self.tool("tpm2_pcrread", "-Q", "sha256:" + ",".join(map(str, pcrs)), "-o", out)
        with open(out, "rb") as f:
            raw = f.read()
        assert len(raw) == 32 * len(pcrs)
        return {i: raw[32 * n:32 * n + 32] for n, i in enumerate(sorted(pcrs))}

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class TestPlatform:
    """What firmware and the kernel do on a real machine, done to the swtpm (see the module doc)."""
    __test__ = False

    def __init__(self, tpm: SoftwareTPM, dir: str, aggregate="computed"):
        self.tpm, self.dir = tpm, dir
        os.makedirs(dir, exist_ok=True)
        self.boot_log_path = os.path.join(dir, "binary_bios_measurements")
        self.ima_log_path = os.path.join(dir, "binary_runtime_measurements")
        with open(B.BOOT_LOG_FIXTURE, "rb") as f:
            raw = f.read()
        _, events = B.boot_log_parts(raw)
        for pcr, typ, digests, _ in events:
            if typ != 3 and pcr < 10:
                tpm.extend(pcr, digests[0x000B])
        with open(self.boot_log_path, "wb") as f:
            f.write(raw)
        open(self.ima_log_path, "wb").close()
        if aggregate == "computed":
            pcrs = tpm.read(range(10))
            self.measure("boot_aggregate", hashlib.sha256(b"".join(pcrs[i] for i in range(10))).digest())
        elif isinstance(aggregate, bytes):
            self.measure("boot_aggregate", aggregate)

    def measure(self, path: str, digest: bytes) -> None:
        """IMA on exec: append an ima-ng entry, then extend PCR 10 with SHA-256 of its template data."""
        entry = B.ima_entry(path, digest)
        with open(self.ima_log_path, "ab") as f:
            f.write(entry)
        name_len = int.from_bytes(entry[24:28], "little")
        self.tpm.extend(10, hashlib.sha256(entry[28 + name_len + 4:]).digest())

    def measure_file(self, path: str, as_path: str | None = None) -> None:
        with open(path, "rb") as f:
            self.measure(as_path or path, hashlib.sha256(f.read()).digest())


class TPMHost(Host):
    """`parley serve --quote tpm --tcti swtpm:path=...` with the platform's logs (or none)."""

    def __init__(self, dir: str, tpm: SoftwareTPM, plat: TestPlatform | None, logs=True, extra_args=()):
        super().__init__(dir)
        self.tpm, self.plat, self.logs, self.extra_args = tpm, plat, logs, list(extra_args)

    def start(self) -> str:
        import re
        import threading
        args = [self.bin, "serve", "--data", os.path.join(self.dir, "host"), "--listen", "127.0.0.1:0",
                "--quote", "tpm", "--tcti", self.tpm.tcti]
        args += ["--boot-log", self.plat.boot_log_path, "--ima-log", self.plat.ima_log_path] if self.logs else ["--no-platform-logs"]
        args += self.extra_args
        self.url = None
        self.proc = subprocess.Popen(args, cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        found = threading.Event()

        def read():
            for line in self.proc.stdout:
                m = re.search(r"https?://127\.0\.0\.1:\d+", line)
                if m and not self.url:
                    self.url = m.group(0)
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(60) or not self.url:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.stop()
            raise AssertionError(f"parley serve --quote tpm did not say where it listens within 60 s: {err}")
        return self.url

    def tpm_policy(self, name: str, reference: str | None = "ref", **overrides) -> str:
        lines = {"quote": '"tpm"', "tpm_ak": '"host/tpm-ak.pem"', "quoting_root": None}
        if reference:
            lines.update({"boot_reference": f'"{reference}/boot-reference.json"', "runtime_policy": f'"{reference}/runtime-policy.json"',
                          "required_measured": json.dumps(self.required)})
        lines.update(overrides)
        return self.write_policy(name, **lines)


def play_and_serve(root: str, aggregate="computed", logs=True, before_serve=None, extra_args=(), rows=10):
    tpm = SoftwareTPM(os.path.join(root, "tpm"))
    try:
        plat = TestPlatform(tpm, os.path.join(root, "platform"), aggregate)
        products = bin_dir()
        plat.host_path = os.path.join(products, "parley")
        plat.measure_file(plat.host_path)
        plat.measure_file(os.path.join(products, "parley-enclave"), platform.WORKER_IMA_PATH)
        if before_serve:
            before_serve(tpm, plat)
        h = TPMHost(os.path.join(root, "work"), tpm, plat, logs, extra_args)
        os.makedirs(h.dir)
        h.prepare(rows=rows)
        with open(os.path.join(products, "parley"), "rb") as f:
            host_digest = hashlib.sha256(f.read()).hexdigest()
        with open(os.path.join(products, "parley-enclave"), "rb") as f:
            worker_digest = hashlib.sha256(f.read()).hexdigest()
        h.required = [host_digest, worker_digest]
        out = h.cli("attest", "reference", "--boot-log", plat.boot_log_path, "--ima-log", plat.ima_log_path,
                    "--host", os.path.join(products, "parley"), "--host-path", plat.host_path,
                    "--worker", os.path.join(products, "parley-enclave"), "--out", "ref").stdout
        assert host_digest in out and worker_digest in out, out
        h.start()
        h.job = h.launch()
        return tpm, h
    except BaseException:
        tpm.stop()
        raise


def variant(request, **kw):
    require_tools(*TOOLS)
    bin_dir()
    root = tempfile.mkdtemp(prefix="parley-py-tpm-")
    tpm, h = play_and_serve(root, **kw)

    def stop():
        h.stop()
        tpm.stop()
        shutil.rmtree(root, ignore_errors=True)

    request.addfinalizer(stop)
    h.party = Party(policy=h.tpm_policy("tpm-policy.toml"), server=h.url, state=os.path.join(h.dir, "py-state"))
    request.addfinalizer(h.party.close)
    return h


def fetch(h, nonce=None, job=None):
    nonce = nonce or secrets.token_bytes(32)
    return h.party.fetch_evidence(job or h.job, nonce), nonce


def python_verdict(h, data, nonce, policy, job=None):
    v = evidence.verify(data, nonce, Policy.load(os.path.join(h.dir, policy)), evidence.NonceLedger(), job=job)
    return v.status.value, v.tier, v.codes


def swift_verdict(h, data, nonce, policy, job=None):
    j = h.swift_verify(data, nonce, policy=policy, job=job)
    if j["verdict"] == "trusted":
        return "trusted", j["tier"], []
    if j["verdict"] == "refused":
        return "refused", None, [r["code"] for r in j["reasons"]]
    return "failed", None, [j["error"]["code"]]


def agree(h, data, nonce, expect=None, policy="tpm-policy.toml", job=None):
    py, sw = python_verdict(h, data, nonce, policy, job), swift_verdict(h, data, nonce, policy, job)
    assert py == sw, f"Python {py} vs Swift {sw}"
    if expect is not None:
        assert py == expect, py
    return py


def edit(data: bytes, change) -> bytes:
    m = cbor.loads(data, cbor.Limits(max_bytes=40 << 20, max_depth=4, max_items=10_000))
    change(m)
    return cbor.dumps(m)


def with_boot_events(data, change):
    def apply(e):
        header, events = B.boot_log_parts(e["boot_log"])
        e["boot_log"] = B.encode_boot_log(header, change(list(events)))
    return edit(data, apply)


def unused_root(h) -> str:
    """A CA certificate no evidence chains to: a TPM host writes no quoting-root.pem, and a software
    policy needs one."""
    import datetime as dt
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a root no TPM evidence uses")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(key, hashes.SHA384()))
    with open(os.path.join(h.dir, "unused-root.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return "unused-root.pem"


def write_reference(h, name, boot=None, digests=None, excludes=None):
    """A copy of the CLI's reference values with one thing changed."""
    src, dst = os.path.join(h.dir, "ref"), os.path.join(h.dir, name)
    shutil.copytree(src, dst, dirs_exist_ok=True)
    if boot:
        with open(os.path.join(dst, "boot-reference.json")) as f:
            b = json.load(f)
        b["pcrs"].update(boot)
        with open(os.path.join(dst, "boot-reference.json"), "w") as f:
            json.dump(b, f)
    if digests is not None or excludes is not None:
        with open(os.path.join(dst, "runtime-policy.json")) as f:
            r = json.load(f)
        if digests is not None:
            r["digests"] = digests(r["digests"])
        if excludes is not None:
            r["excludes"] = excludes
        with open(os.path.join(dst, "runtime-policy.json"), "w") as f:
            json.dump(r, f)
    return name


def host_event_log(h) -> list[bytes]:
    """The host's current epoch's launch events (tpm-events/epoch-N.log: frames u32be length || event)."""
    d = os.path.join(h.dir, "host", "tpm-events")
    newest = max(int(n[6:-4]) for n in os.listdir(d) if n.startswith("epoch-") and n.endswith(".log"))
    with open(os.path.join(d, f"epoch-{newest}.log"), "rb") as f:
        raw = f.read()
    out, pos = [], 0
    while pos < len(raw):
        n = int.from_bytes(raw[pos:pos + 4], "big")
        out.append(raw[pos + 4:pos + 4 + n])
        pos += 4 + n
    return out


def run_measured(plat: TestPlatform, name: str, *args: str) -> bytes:
    """Runs a tool as the kernel would see it: measured into the IMA list first, then executed."""
    plat.measure_file(shutil.which(name))
    return plat.tpm.tool(name, *args)


def make_evidence(attest, sig, ak_public, pcrs, events, claims, nonce, boot_log=None, ima_log=None) -> bytes:
    m = {"format": "parley/tpm-quote/2", "attest": attest, "signature": sig, "ak_public": ak_public, "pcr_bank": "sha256",
         "pcrs": pcrs, "event_log": events, "job": claims["job"], "nonce": nonce, "public_key": claims["public_key"],
         "signing_key": claims["signing_key"]}
    if boot_log is not None:
        m["boot_log"], m["ima_log"] = boot_log, ima_log
    return cbor.dumps(m)


def tpm_reset_count(h, w) -> int:
    """Re-derives the attestation key (ak.ctx, ak.pub in w) and reads resetCount from a quote."""
    from parley_client import tpm as T
    label = b"parley/tpm-ak/1"
    with open(w + "/unique", "wb") as f:
        f.write(bytes([len(label), 0]) + label + b"\0\0")
    h.tpm.tool("tpm2_createprimary", "-Q", "-C", "e", "-g", "sha256", "-G", "ecc256:ecdsa-sha256:null", "-a",
               "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign", "-u", w + "/unique", "-c", w + "/ak.ctx")
    h.tpm.tool("tpm2_flushcontext", "-t")
    h.tpm.tool("tpm2_readpublic", "-Q", "-c", w + "/ak.ctx", "-o", w + "/ak.pub")
    h.tpm.tool("tpm2_flushcontext", "-t")
    h.tpm.tool("tpm2_quote", "-Q", "-c", w + "/ak.ctx", "-l", "sha256:13", "-q", "00" * 16, "-g", "sha256", "-m", w + "/probe", "-s", w + "/probe.sig")
    h.tpm.tool("tpm2_flushcontext", "-t")
    return T.parse_attest(open(w + "/probe", "rb").read()).reset_count
