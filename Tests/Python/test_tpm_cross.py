"""TPM evidence from a real `parley serve --quote tpm` on a private swtpm: the Swift verifier
(`parley attest verify --json`) and the Python one give the same verdict (status, tier, reason codes
in order) on genuine evidence and on the mutations the Swift TPM verifier tests use
(TPMEvidenceTests, PlatformEvidenceTests, QuoteVerificationTests).

The test plays the platform as Tests/ParleyTestSupport/TestPlatform.swift does: it extends PCRs 0-9
of its own swtpm with the SHA-256 digests of a real measured-boot log (../shared/fixtures), writes
that log where the host reads it, and writes a binary IMA list (boot_aggregate from the PCRs read
back, the real `parley` and `parley-enclave`), extending PCR 10 as the kernel would. swtpm and
tpm2-tools are required: missing, the tests skip, or fail under PARLEY_REQUIRE_HOST=1.
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


def play_and_serve(root: str, aggregate="computed", logs=True, before_serve=None, extra_args=()):
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
        h.prepare(rows=10)
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


def _variant(request, **kw):
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


@pytest.fixture(scope="module")
def tpmhost(request):
    """The main TPM host: a platform with a computed boot_aggregate and both reviewed executables."""
    return _variant(request)


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


# ---- genuine evidence ---------------------------------------------------------------------------

def test_genuine_tpm_evidence_is_trusted_at_the_tpm_tier_by_both(tpmhost):
    data, nonce = fetch(tpmhost)
    agree(tpmhost, data, nonce, ("trusted", "tpm", []), job=tpmhost.job)
    v = tpmhost.party.verify(tpmhost.job)
    assert v.trusted and v.tier == "tpm" and v.claims.job == tpmhost.job and v.claims.module.hex() == tpmhost.measurement
    m = cbor.loads(data, cbor.Limits(max_bytes=40 << 20, max_depth=4, max_items=10_000))
    assert sorted(m["pcrs"]) == list(range(11)) + [13]
    assert m["boot_log"] == open(tpmhost.plat.boot_log_path, "rb").read()


def test_other_job(tpmhost):
    data, nonce = fetch(tpmhost)
    agree(tpmhost, data, nonce, ("refused", None, ["appraisal.otherJob"]), job="some-other-job")


def test_wrong_nonce_and_unpinned_key(tpmhost, tmp_path):
    data, nonce = fetch(tpmhost)
    agree(tpmhost, data, secrets.token_bytes(32), ("refused", None, ["integrity.nonceMismatch"]))
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with open(os.path.join(tpmhost.dir, "other-ak.pem"), "wb") as f:
        f.write(other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    tpmhost.tpm_policy("other-ak.toml", tpm_ak='"other-ak.pem"')
    agree(tpmhost, data, nonce, ("refused", None, ["integrity.attestationKeyNotPinned"]), policy="other-ak.toml")
    agree(tpmhost, data, secrets.token_bytes(32), ("refused", None, ["integrity.attestationKeyNotPinned", "integrity.nonceMismatch"]),
          policy="other-ak.toml")


def test_software_policy_refuses_tpm_evidence(tpmhost):
    data, nonce = fetch(tpmhost)
    tpmhost.write_policy("software.toml", quoting_root=f'"{unused_root(tpmhost)}"')
    agree(tpmhost, data, nonce, ("refused", None, ["integrity.noTrustAnchor"]), policy="software.toml")


def test_truncation_every_byte_in_python_a_sample_in_both(tpmhost):
    data, nonce = fetch(tpmhost)
    p = Policy.load(os.path.join(tpmhost.dir, "tpm-policy.toml"))
    for cut in range(len(data)):
        assert evidence.verify(data[:cut], nonce, p).codes == ["unparseable"], cut
    for cut in [0, 1, 5, 100, len(data) // 3, len(data) // 2, len(data) - 1]:
        agree(tpmhost, data[:cut], nonce, ("refused", None, ["unparseable"]))


def test_flipped_bytes_of_each_tpm_structure(tpmhost):
    data, nonce = fetch(tpmhost)
    m = cbor.loads(data, cbor.Limits(max_bytes=40 << 20, max_depth=4, max_items=10_000))
    for field in ("attest", "signature", "ak_public"):
        for i in range(0, len(m[field]), 7):
            flipped = edit(data, lambda e: e.__setitem__(field, e[field][:i] + bytes([e[field][i] ^ 0x01]) + e[field][i + 1:]))
            agree(tpmhost, flipped, nonce)


def test_wrong_magic_and_type(tpmhost):
    data, nonce = fetch(tpmhost)
    magic = edit(data, lambda e: e.__setitem__("attest", b"\xff\x54\x43\x48" + e["attest"][4:]))
    agree(tpmhost, magic, nonce, ("refused", None, ["integrity.tpmQuote", "integrity.tpmQuote"]))
    typ = edit(data, lambda e: e.__setitem__("attest", e["attest"][:4] + b"\x80\x17" + e["attest"][6:]))
    agree(tpmhost, typ, nonce, ("refused", None, ["integrity.tpmQuote", "integrity.tpmQuote"]))


def test_changed_pcr_value_and_pcr_set_mismatch(tpmhost):
    data, nonce = fetch(tpmhost)
    agree(tpmhost, edit(data, lambda e: e["pcrs"].__setitem__(13, b"\x13" * 32)), nonce, ("refused", None, ["integrity.tpmQuote"]))
    agree(tpmhost, edit(data, lambda e: e["pcrs"].pop(4)), nonce, ("refused", None, ["integrity.tpmQuote"]))
    agree(tpmhost, edit(data, lambda e: e["pcrs"].__setitem__(14, bytes(32))), nonce, ("refused", None, ["integrity.tpmQuote"]))
    agree(tpmhost, edit(data, lambda e: e["pcrs"].__setitem__(2, bytes(20))), nonce, ("refused", None, ["integrity.tpmQuote"]))


def test_launch_log_flipped_dropped_reordered_inserted(tpmhost):
    second = tpmhost.launch()
    data, nonce = fetch(tpmhost, job=second)
    events = cbor.loads(data, cbor.Limits(max_bytes=40 << 20, max_depth=4, max_items=10_000))["event_log"]
    assert len(events) >= 3
    ev = cbor.loads(events[1])
    ev["debug"] = True
    for log in (events[:-1], [events[0], events[2], events[1]] + events[3:], events + [events[1]],
                [events[0], cbor.dumps({"format": "parley/launch-event/1", **{k: v for k, v in ev.items() if k != "format"}})] + events[2:]):
        agree(tpmhost, edit(data, lambda e: e.__setitem__("event_log", log)), nonce, ("refused", None, ["integrity.eventLogDoesNotReplay"]))
    agree(tpmhost, edit(data, lambda e: e.__setitem__("event_log", events[:1] + [cbor.dumps({"format": "parley/other-event/1"})])),
          nonce, ("refused", None, ["unparseable"]))
    agree(tpmhost, edit(data, lambda e: e.__setitem__("job", "no-such-job")), nonce, ("refused", None, ["integrity.launchEventMissing"]))


def test_key_mismatch_between_evidence_and_event(tpmhost):
    data, nonce = fetch(tpmhost)
    agree(tpmhost, edit(data, lambda e: e.__setitem__("public_key", os.urandom(32))), nonce, ("refused", None, ["integrity.keyMismatch"]))
    sk = B.spki(ec.generate_private_key(ec.SECP384R1()).public_key())
    agree(tpmhost, edit(data, lambda e: e.__setitem__("signing_key", sk)), nonce, ("refused", None, ["integrity.keyMismatch"]))


def test_malformed_fields(tpmhost):
    data, nonce = fetch(tpmhost)
    for change in (lambda e: e.__setitem__("extra", 1), lambda e: e.pop("nonce"), lambda e: e.__setitem__("format", "parley/tpm-quote/1"),
                   lambda e: e.__setitem__("pcr_bank", "sha1"), lambda e: e.pop("ima_log"), lambda e: e["pcrs"].__setitem__(24, bytes(32)),
                   lambda e: e.__setitem__("event_log", [b"\x00"] * 4097), lambda e: e.__setitem__("ima_log", b"\x0a"),
                   lambda e: e.__setitem__("boot_log", b"\x00" * 31)):
        agree(tpmhost, edit(data, change), nonce, ("refused", None, ["unparseable"]))
    agree(tpmhost, edit(data, lambda e: e.__setitem__("nonce", b"another nonce")), nonce, ("refused", None, ["integrity.nonceMismatch"]))
    for field in ("attest", "signature", "ak_public"):
        agree(tpmhost, edit(data, lambda e: e.__setitem__(field, e[field] + b"\0")), nonce, ("refused", None, ["integrity.tpmQuote"]))


# ---- platform logs ------------------------------------------------------------------------------

def with_boot_events(data, change):
    def apply(e):
        header, events = B.boot_log_parts(e["boot_log"])
        e["boot_log"] = B.encode_boot_log(header, change(list(events)))
    return edit(data, apply)


def test_flipped_dropped_reordered_boot_event(tpmhost):
    data, nonce = fetch(tpmhost)

    def flip(events):
        i = next(i for i, e in enumerate(events) if e[0] == 1 and e[1] != 3)
        pcr, typ, d, body = events[i]
        events[i] = (pcr, typ, {**d, 0x000B: bytes([d[0x000B][0] ^ 1]) + d[0x000B][1:]}, body)
        return events

    def drop(events):
        del events[max(i for i, e in enumerate(events) if e[0] == 7 and e[1] != 3)]
        return events

    def reorder(events):
        a, b = [i for i, e in enumerate(events) if e[0] == 1 and e[1] != 3][:2]
        events[a], events[b] = events[b], events[a]
        return events

    for change in (flip, drop, reorder):
        agree(tpmhost, with_boot_events(data, change), nonce, ("refused", None, ["integrity.platformReplay.bootPCRMismatch"]))
    legacy = B.le32(0) + B.le32(8) + bytes(20) + B.le32(0)
    agree(tpmhost, edit(data, lambda e: e.__setitem__("boot_log", legacy)), nonce, ("refused", None, ["integrity.platformReplay.bootBankMissing"]))


def test_ima_list_cut_changed_or_run_ahead(tpmhost):
    data, nonce = fetch(tpmhost)
    ima = cbor.loads(data, cbor.Limits(max_bytes=40 << 20, max_depth=4, max_items=10_000))["ima_log"]
    first_two = b"".join(B.split_ima(ima)[:2])
    agree(tpmhost, edit(data, lambda e: e.__setitem__("ima_log", first_two)), nonce, ("refused", None, ["integrity.platformReplay.imaPCRMismatch"]))
    wrong = B.ima_entry("/usr/bin/x", bytes(32), template_digest=b"\x01" * 20)
    agree(tpmhost, edit(data, lambda e: e.__setitem__("ima_log", ima + wrong)), nonce,
          ("refused", None, ["integrity.platformReplay.imaTemplateDigestMismatch"]))
    outside = B.ima_entry("/usr/bin/x", bytes(32), pcr=11)
    agree(tpmhost, edit(data, lambda e: e.__setitem__("ima_log", ima + outside)), nonce,
          ("refused", None, ["integrity.platformReplay.imaEntryOutsidePCR10"]))
    later = B.ima_entry("/usr/bin/measured-after-the-quote", bytes(32))
    agree(tpmhost, edit(data, lambda e: e.__setitem__("ima_log", ima + later)), nonce, ("trusted", "tpm", []))


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


def test_boot_state_other_than_the_reference(tpmhost):
    data, nonce = fetch(tpmhost)
    tpmhost.tpm_policy("boot2.toml", reference=write_reference(tpmhost, "ref-boot2", boot={"2": "09" * 32}))
    agree(tpmhost, data, nonce, ("refused", None, ["appraisal.platform.bootPCRNotReference"]), policy="boot2.toml")


def test_executable_not_on_the_allow_list_and_digest_not_accepted(tpmhost):
    data, nonce = fetch(tpmhost)
    host_path = tpmhost.plat.host_path
    tpmhost.tpm_policy("nohost.toml", reference=write_reference(tpmhost, "ref-nohost", digests=lambda d: {k: v for k, v in d.items() if k != host_path}))
    agree(tpmhost, data, nonce, ("refused", None, ["appraisal.platform.executableNotAllowed", "appraisal.platform.requiredNotMeasured"]),
          policy="nohost.toml")
    tpmhost.tpm_policy("rebuilt.toml", reference=write_reference(tpmhost, "ref-rebuilt", digests=lambda d: {**d, host_path: ["ab" * 32]}))
    agree(tpmhost, data, nonce, ("refused", None, ["appraisal.platform.digestNotAllowed", "appraisal.platform.requiredNotMeasured"]),
          policy="rebuilt.toml")
    tpmhost.tpm_policy("excluded.toml", reference=write_reference(tpmhost, "ref-excluded", excludes=["/"]))
    agree(tpmhost, data, nonce, ("refused", None, ["appraisal.platform.requiredNotMeasured"] * 2), policy="excluded.toml")


def test_worker_missing_from_the_ima_list(tpmhost):
    data, nonce = fetch(tpmhost)
    tpmhost.tpm_policy("worker2.toml", required_measured=json.dumps(tpmhost.required[:1] + ["cd" * 32]))
    agree(tpmhost, data, nonce, ("refused", None, ["appraisal.platform.requiredNotMeasured"]), policy="worker2.toml")


def test_several_failures_at_once_every_reason_same_order(tpmhost):
    data, nonce = fetch(tpmhost)
    tpmhost.tpm_policy("many.toml", reference=write_reference(tpmhost, "ref-many", boot={"0": "01" * 32, "5": "05" * 32}),
                       module='"' + "ab" * 48 + '"', runtime='["' + "cd" * 48 + '"]', module_signers='["' + "ef" * 48 + '"]')
    agree(tpmhost, data, nonce, ("refused", None, ["appraisal.otherJob", "appraisal.platform.bootPCRNotReference",
                                                   "appraisal.platform.bootPCRNotReference", "appraisal.moduleNotExpected",
                                                   "appraisal.runtimeNotAccepted", "appraisal.signerNotAccepted"]),
          policy="many.toml", job="another-job")


def test_reference_value_refusals_agree_with_the_cli(tpmhost):
    """A defective reference file is refused when the policy is read, by both."""
    from parley_client.errors import ParleyError
    for name, content in (("boot-reference.json", '{"format": "parley/boot-reference/1", "bank": "sha1", "pcrs": {}}'),
                          ("runtime-policy.json", '{"digests": {"/a": []}}'), ("runtime-policy.json", '{"digests": {}, "other": 1}')):
        ref = write_reference(tpmhost, "ref-bad")
        with open(os.path.join(tpmhost.dir, ref, name), "w") as f:
            f.write(content)
        tpmhost.tpm_policy("bad.toml", reference=ref)
        with pytest.raises(ParleyError) as e:
            Policy.load(os.path.join(tpmhost.dir, "bad.toml"))
        data, nonce = fetch(tpmhost)
        path = os.path.join(tpmhost.dir, "bad-evidence.cbor")
        with open(path, "wb") as f:
            f.write(data)
        p = tpmhost.cli("attest", "verify", path, "--nonce", nonce.hex(), "--policy", "bad.toml", "--json", check=False)
        key = "boot_reference" if name.startswith("boot") else "runtime_policy"
        assert e.value.code == "malformed" and key in e.value.message
        assert p.returncode != 0 and '"trusted"' not in p.stdout and key in p.stdout + p.stderr, (p.stdout, p.stderr)


# ---- platform variants: each its own swtpm and host ---------------------------------------------

@pytest.fixture(scope="module")
def wrong_aggregate(request):
    return _variant(request, aggregate=b"\x5a" * 32)


@pytest.fixture(scope="module")
def no_aggregate(request):
    return _variant(request, aggregate="omitted")


@pytest.fixture(scope="module")
def pcr9_after_ima(request):
    return _variant(request, before_serve=lambda tpm, plat: tpm.extend(9, b"\x99" * 32))


@pytest.fixture(scope="module")
def unlogged_pcr4(request):
    return _variant(request, before_serve=lambda tpm, plat: tpm.extend(4, hashlib.sha256(b"an unlogged boot component").digest()))


@pytest.fixture(scope="module")
def debug_host(request):
    return _variant(request, extra_args=["--debug-workers"])


def test_debug_worker_refused_unless_allowed(debug_host):
    data, nonce = fetch(debug_host)
    agree(debug_host, data, nonce, ("refused", None, ["appraisal.debugWorker"]))
    debug_host.tpm_policy("debug-ok.toml", allow_debug="true")
    agree(debug_host, data, nonce, ("trusted", "tpm", []), policy="debug-ok.toml")


@pytest.fixture(scope="module")
def no_logs(request):
    return _variant(request, logs=False)


def test_wrong_boot_aggregate(wrong_aggregate):
    data, nonce = fetch(wrong_aggregate)
    agree(wrong_aggregate, data, nonce, ("refused", None, ["appraisal.platform.bootAggregate.mismatch"]))


def test_list_without_boot_aggregate_first(no_aggregate):
    data, nonce = fetch(no_aggregate)
    agree(no_aggregate, data, nonce, ("refused", None, ["appraisal.platform.bootAggregate.missing"]))


def test_pcrs_extended_after_ima_started(pcr9_after_ima):
    data, nonce = fetch(pcr9_after_ima)
    agree(pcr9_after_ima, data, nonce, ("refused", None, ["appraisal.platform.bootAggregate.mismatch"]))


def test_a_pcr_that_does_not_match_its_log(unlogged_pcr4):
    data, nonce = fetch(unlogged_pcr4)
    agree(unlogged_pcr4, data, nonce, ("refused", None, ["integrity.platformReplay.bootPCRMismatch"]))


def test_no_platform_logs_refused_by_default_and_weaker_when_allowed(no_logs):
    data, nonce = fetch(no_logs)
    m = cbor.loads(data, cbor.Limits(max_bytes=40 << 20, max_depth=4, max_items=10_000))
    assert "boot_log" not in m and sorted(m["pcrs"]) == [13]
    agree(no_logs, data, nonce, ("refused", None, ["appraisal.platformNotAppraised"]))
    no_logs.tpm_policy("unappraised.toml", reference=None, allow_unappraised_tpm="true")
    agree(no_logs, data, nonce, ("trusted", "tpm-unappraised", []), policy="unappraised.toml")
    v = evidence.verify(data, nonce, Policy.load(os.path.join(no_logs.dir, "unappraised.toml")))
    j = no_logs.swift_verify(data, nonce, policy="unappraised.toml")
    assert v.warning == j["warning"]


# ---- the boot log parser against independent tools (no parley binary needed) ---------------------

def _eventlog_pcrs(path: str) -> dict:
    """`tpm2_eventlog FILE`'s final PCR values: {bank: {pcr: bytes}}."""
    out = subprocess.run(["tpm2_eventlog", path], capture_output=True, text=True, timeout=60).stdout
    banks, bank, inside = {}, None, False
    for line in out.splitlines():
        if line.startswith("pcrs:"):
            inside = True
        elif inside and line.startswith("  ") and not line.startswith("    ") and line.strip().endswith(":"):
            bank = line.strip()[:-1]
            banks[bank] = {}
        elif inside and bank and ":" in line:
            k, v = line.split(":", 1)
            banks[bank][int(k)] = bytes.fromhex(v.strip()[2:])
    return banks


@pytest.mark.parametrize("name", ["go-attestation-crypto_agile_eventlog", "go-attestation-sb_cert_eventlog",
                                  "keylime-binary_bios_measurements", "keylime-binary_bios_measurements-secureboot"])
def test_boot_log_replay_equals_tpm2_eventlog_in_every_bank(name):
    require_tools("tpm2_eventlog")
    path = os.path.join(B.FIXTURES, "boot", name)
    want = _eventlog_pcrs(path)
    assert want, "tpm2_eventlog printed no PCR values"
    with open(path, "rb") as f:
        log = platform.parse_boot_log(f.read())
    assert set(want) == set(log.banks), name
    for bank, pcrs in want.items():
        got = log.replayed(bank)
        if log.startup_locality is not None:
            # tpm2-tools 5.4 extends the StartupLocality EV_NO_ACTION event's zero digest into PCR 0
            # from zero instead of starting PCR 0 at the locality (TCG PC Client PFP 10.4.5.3; Parley
            # follows the spec). That is the only difference: its PCR 0 from the same events.
            pcr0 = bytes(len(got[0]))
            for e in log.events:
                if e.pcr == 0:
                    pcr0 = hashlib.new(bank, pcr0 + e.digests[bank]).digest()
            assert got[0] != pcr0 and pcrs[0] == pcr0, (name, bank)
            got = {**got, 0: pcr0}
        for pcr, value in pcrs.items():
            assert got.get(pcr, log.initial(pcr, bank)) == value, (name, bank, pcr)


def test_a_platform_played_on_the_swtpm_replays_to_its_pcrs(tmp_path):
    """The test platform's boot log and IMA list replay to what the swtpm holds (read with
    tpm2_pcrread), and boot_aggregate is SHA-256 of PCRs 0-9 as read back."""
    require_tools(*TOOLS)
    tpm = SoftwareTPM(str(tmp_path / "tpm"))
    try:
        plat = TestPlatform(tpm, str(tmp_path / "platform"))
        plat.measure("/usr/bin/true", hashlib.sha256(b"true").digest())
        pcrs = tpm.read(list(range(11)))
        with open(plat.boot_log_path, "rb") as f:
            boot = platform.replay_boot(platform.parse_boot_log(f.read()), pcrs)
        with open(plat.ima_log_path, "rb") as f:
            ima = platform.replay_ima(platform.parse_ima_list(f.read()), pcrs)
        assert isinstance(boot, platform.ReplayedBoot) and isinstance(ima, platform.ReplayedIMA), (boot, ima)
        assert len(ima.entries) == 2 and ima.unquoted == 0
        assert platform.appraise_boot_aggregate(ima.entries, pcrs) is None
    finally:
        tpm.stop()


def test_a_software_policy_pinning_the_ak_says_wrong_tier(tpmhost):
    data, nonce = fetch(tpmhost)
    unused_root(tpmhost)
    tpmhost.write_policy("sw-with-ak.toml", tpm_ak='"host/tpm-ak.pem"', quoting_root='"unused-root.pem"')
    agree(tpmhost, data, nonce, ("refused", None, ["appraisal.wrongTier"]), policy="sw-with-ak.toml")


# ---- attacks with tpm2-tools on the host's TPM, after the host stopped ---------------------------

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


@pytest.fixture(scope="module")
def attacked(request):
    require_tools(*TOOLS, "tpm2_createprimary", "tpm2_readpublic", "tpm2_quote", "tpm2_flushcontext", "tpm2_sign", "tpm2_pcrreset")
    h = _variant(request)
    h.honest_evidence, h.honest_nonce = fetch(h)
    h.stop()  # the host holds the TPM's one connection; the attacker uses it now
    h.events = host_event_log(h)
    return h


def make_evidence(attest, sig, ak_public, pcrs, events, claims, nonce, boot_log=None, ima_log=None) -> bytes:
    m = {"format": "parley/tpm-quote/2", "attest": attest, "signature": sig, "ak_public": ak_public, "pcr_bank": "sha256",
         "pcrs": pcrs, "event_log": events, "job": claims["job"], "nonce": nonce, "public_key": claims["public_key"],
         "signing_key": claims["signing_key"]}
    if boot_log is not None:
        m["boot_log"], m["ima_log"] = boot_log, ima_log
    return cbor.dumps(m)


def test_the_tpm_tools_forgery_fails_under_the_default_policy(attacked, tmp_path):
    """The issue's attack: re-derive the attestation key with tpm2-tools, extend a made-up launch
    event (the reviewed module and runtime, the attacker's keys) into PCR 13, quote with the party's
    nonce. The IMA list names the tools; leaving them out breaks its replay; without platform logs
    only the weaker tier, when a policy accepts it, lets the forgery through: both verifiers agree."""
    h, plat, w = attacked, attacked.plat, str(tmp_path)
    label = b"parley/tpm-ak/1"
    with open(os.path.join(w, "unique"), "wb") as f:
        f.write(bytes([len(label), 0]) + label + b"\0\0")
    run_measured(plat, "tpm2_createprimary", "-Q", "-C", "e", "-g", "sha256", "-G", "ecc256:ecdsa-sha256:null", "-a",
                 "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign", "-u", w + "/unique", "-c", w + "/ak.ctx")
    run_measured(plat, "tpm2_flushcontext", "-t")
    run_measured(plat, "tpm2_readpublic", "-Q", "-c", w + "/ak.ctx", "-f", "pem", "-o", w + "/ak.pem")
    run_measured(plat, "tpm2_flushcontext", "-t")
    run_measured(plat, "tpm2_readpublic", "-Q", "-c", w + "/ak.ctx", "-o", w + "/ak.pub")
    run_measured(plat, "tpm2_flushcontext", "-t")
    pinned = Policy.load(os.path.join(h.dir, "tpm-policy.toml")).tpm_ak_der
    assert serialization.load_pem_public_key(open(w + "/ak.pem", "rb").read()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == pinned, "the attacker re-derives the pinned key"
    honest = cbor.loads(h.events[-1])
    forged = {k: v for k, v in honest.items() if k != "format"}
    forged.update(job="job-forged", public_key=os.urandom(32), signing_key=B.spki(ec.generate_private_key(ec.SECP384R1()).public_key()))
    forged_event = cbor.dumps({"format": "parley/launch-event/1", **forged})
    run_measured(plat, "tpm2_pcrextend", f"13:sha256={hashlib.sha256(forged_event).hexdigest()}")
    nonce = secrets.token_bytes(32)
    quoted = list(range(11)) + [13]
    run_measured(plat, "tpm2_quote", "-Q", "-c", w + "/ak.ctx", "-l", "sha256:" + ",".join(map(str, quoted)), "-q", nonce.hex(),
                 "-g", "sha256", "-m", w + "/attest", "-s", w + "/sig")
    pcrs = plat.tpm.read(quoted)
    run_measured(plat, "tpm2_flushcontext", "-t")  # measured after the quote: outside its prefix
    attest, sig, ak_pub = (open(w + n, "rb").read() for n in ("/attest", "/sig", "/ak.pub"))
    boot_log, ima = open(plat.boot_log_path, "rb").read(), open(plat.ima_log_path, "rb").read()
    events = h.events + [forged_event]
    full = make_evidence(attest, sig, ak_pub, pcrs, events, forged, nonce, boot_log, ima)
    got = agree(h, full, nonce, job="job-forged")
    assert got[0] == "refused" and set(got[2]) == {"appraisal.platform.executableNotAllowed"}, got
    v = evidence.verify(full, nonce, Policy.load(os.path.join(h.dir, "tpm-policy.toml")), job="job-forged")
    named = " ".join(r.message for r in v.reasons)
    assert "/tpm2_pcrextend" in named and "/tpm2_quote" in named, named
    honest_only = b"".join(B.split_ima(ima)[:3])
    agree(h, make_evidence(attest, sig, ak_pub, pcrs, events, forged, nonce, boot_log, honest_only), nonce,
          ("refused", None, ["integrity.platformReplay.imaPCRMismatch"]), job="job-forged")
    # The same forgery without platform logs is what the weaker tier cannot catch.
    plat.tpm.tool("tpm2_quote", "-Q", "-c", w + "/ak.ctx", "-l", "sha256:13", "-q", nonce.hex(), "-g", "sha256",
                  "-m", w + "/attest13", "-s", w + "/sig13")
    plat.tpm.tool("tpm2_flushcontext", "-t")
    bare = make_evidence(open(w + "/attest13", "rb").read(), open(w + "/sig13", "rb").read(), ak_pub, {13: pcrs[13]}, events, forged, nonce)
    agree(h, bare, nonce, ("refused", None, ["appraisal.platformNotAppraised"]), job="job-forged")
    h.tpm_policy("weak.toml", reference=None, allow_unappraised_tpm="true")
    agree(h, bare, nonce, ("trusted", "tpm-unappraised", []), policy="weak.toml", job="job-forged")
    weak = evidence.verify(bare, nonce, Policy.load(os.path.join(h.dir, "weak.toml")), job="job-forged")
    assert weak.claims.public_key == forged["public_key"]


def test_a_quote_by_an_unrestricted_key_is_refused(attacked, tmp_path):
    """A non-restricted signing key signs anything, so bytes that start with TPM_GENERATED_VALUE
    prove nothing: the quote is refused even when that key is the pinned one."""
    h, w = attacked, str(tmp_path)
    h.tpm.tool("tpm2_createprimary", "-Q", "-C", "o", "-g", "sha256", "-G", "ecc256:ecdsa-sha256:null", "-a",
               "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign", "-c", w + "/key.ctx")
    h.tpm.tool("tpm2_flushcontext", "-t")
    h.tpm.tool("tpm2_readpublic", "-Q", "-c", w + "/key.ctx", "-o", w + "/key.pub")
    h.tpm.tool("tpm2_flushcontext", "-t")
    h.tpm.tool("tpm2_readpublic", "-Q", "-c", w + "/key.ctx", "-f", "pem", "-o", os.path.join(h.dir, "unrestricted.pem"))
    h.tpm.tool("tpm2_flushcontext", "-t")
    m = cbor.loads(h.honest_evidence, cbor.Limits(max_bytes=40 << 20, max_depth=4, max_items=10_000))
    nonce = secrets.token_bytes(32)
    from parley_client import tpm as T
    genuine = T.parse_attest(m["attest"])
    a = B.attest(nonce, m["pcrs"], reset=genuine.reset_count, restart=genuine.restart_count)
    with open(w + "/forged-attest", "wb") as f:
        f.write(a)
    h.tpm.tool("tpm2_sign", "-Q", "-c", w + "/key.ctx", "-g", "sha256", "-s", "ecdsa", "-o", w + "/forged-sig", w + "/forged-attest")
    h.tpm.tool("tpm2_flushcontext", "-t")
    m.update(attest=a, signature=open(w + "/forged-sig", "rb").read(), ak_public=open(w + "/key.pub", "rb").read(), nonce=nonce)
    forged = cbor.dumps(m)
    agree(h, forged, nonce, ("refused", None, ["integrity.attestationKeyNotPinned", "integrity.tpmQuote"]))
    h.tpm_policy("unrestricted.toml", tpm_ak='"unrestricted.pem"')
    agree(h, forged, nonce, ("refused", None, ["integrity.tpmQuote"]), policy="unrestricted.toml")
    v = evidence.verify(forged, nonce, Policy.load(os.path.join(h.dir, "unrestricted.toml")))
    assert "restricted" in v.reasons[0].message


def test_launch_events_in_a_resettable_pcr_are_refused(attacked, tmp_path):
    """The retired design: launch events in PCR 23, which locality 0 resets. PCR 13 cannot be reset."""
    h, w = attacked, str(tmp_path)
    p = subprocess.run(["tpm2_pcrreset", "13"], capture_output=True, env=dict(os.environ, TPM2TOOLS_TCTI=h.tpm.tcti), timeout=60)
    assert p.returncode != 0, "PCR 13 must not be resettable at locality 0"
    label = b"parley/tpm-ak/1"
    with open(w + "/unique", "wb") as f:
        f.write(bytes([len(label), 0]) + label + b"\0\0")
    h.tpm.tool("tpm2_createprimary", "-Q", "-C", "e", "-g", "sha256", "-G", "ecc256:ecdsa-sha256:null", "-a",
               "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign", "-u", w + "/unique", "-c", w + "/ak.ctx")
    h.tpm.tool("tpm2_flushcontext", "-t")
    h.tpm.tool("tpm2_readpublic", "-Q", "-c", w + "/ak.ctx", "-o", w + "/ak.pub")
    h.tpm.tool("tpm2_flushcontext", "-t")
    h.tpm.tool("tpm2_pcrreset", "23")
    claims = {k: v for k, v in cbor.loads(h.events[-1]).items() if k != "format"}
    events = [B.epoch_event(), cbor.dumps({"format": "parley/launch-event/1", **claims})]
    for e in events:
        h.tpm.extend(23, hashlib.sha256(e).digest())
    nonce = secrets.token_bytes(32)
    sel = list(range(11)) + [23]
    h.tpm.tool("tpm2_quote", "-Q", "-c", w + "/ak.ctx", "-l", "sha256:" + ",".join(map(str, sel)), "-q", nonce.hex(), "-g", "sha256",
               "-m", w + "/attest", "-s", w + "/sig")
    h.tpm.tool("tpm2_flushcontext", "-t")
    pcrs = h.tpm.read(sel)
    ev = make_evidence(open(w + "/attest", "rb").read(), open(w + "/sig", "rb").read(), open(w + "/ak.pub", "rb").read(), pcrs, events,
                       claims, nonce, open(h.plat.boot_log_path, "rb").read(), open(h.plat.ima_log_path, "rb").read())
    agree(h, ev, nonce, ("refused", None, ["integrity.launchPCRNotQuoted"]))


@pytest.fixture(scope="module")
def rebooted(request):
    require_tools(*TOOLS, "tpm2_createprimary", "tpm2_readpublic", "tpm2_quote", "tpm2_flushcontext")
    h = _variant(request)
    h.stop()
    h.events = host_event_log(h)
    return h


def test_a_quote_from_another_boot_than_the_launch_log(rebooted, tmp_path):
    """After a reboot, the previous boot's launch log re-extended into the fresh PCR 13 replays,
    but its epoch belongs to another boot of the TPM: refused by both."""
    h, w = rebooted, str(tmp_path)
    before = tpm_reset_count(h, w)
    h.tpm.restart()
    plat = TestPlatform(h.tpm, os.path.join(w, "platform-2"))
    plat.measure_file(h.plat.host_path)
    plat.measure_file(os.path.join(bin_dir(), "parley-enclave"), platform.WORKER_IMA_PATH)
    for e in h.events:
        h.tpm.extend(13, hashlib.sha256(e).digest())
    assert tpm_reset_count(h, w) == before + 1, "the restart is a TPM Reset"
    nonce = secrets.token_bytes(32)
    quoted = list(range(11)) + [13]
    h.tpm.tool("tpm2_quote", "-Q", "-c", w + "/ak.ctx", "-l", "sha256:" + ",".join(map(str, quoted)), "-q", nonce.hex(), "-g", "sha256",
               "-m", w + "/attest", "-s", w + "/sig")
    h.tpm.tool("tpm2_flushcontext", "-t")
    claims = {k: v for k, v in cbor.loads(h.events[-1]).items() if k != "format"}
    ev = make_evidence(open(w + "/attest", "rb").read(), open(w + "/sig", "rb").read(), open(w + "/ak.pub", "rb").read(),
                       h.tpm.read(quoted), h.events, claims, nonce, open(plat.boot_log_path, "rb").read(), open(plat.ima_log_path, "rb").read())
    agree(h, ev, nonce, ("refused", None, ["integrity.epochFromAnotherBoot"]))


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
