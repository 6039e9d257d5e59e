"""The Python auditor on a TPM host's audit bundle (a real `parley serve --quote tpm` on a private
swtpm, tpm_host.py), against `parley audit replay --json` on the same bundle: two launches (the
second stores its platform logs as a delta from the first's), both passing with the same
account; and the refusals both auditors must agree on: another pinned attestation key, no key at
all, a changed IMA byte, a delta naming a boot log no earlier entry carried, a flipped quote
byte, a launch entry whose claims differ from the quoted launch event."""
from __future__ import annotations

import base64
import hashlib
import os
import shutil

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import parley_client
from parley_client import bundle, cbor, log
from parley_client.entries import parse_log_entry

from test_audit_cross import _log_signer, first, records, swift_replay, write_records
from tpm_host import variant


@pytest.fixture(scope="module")
def tpmbundle(request):
    """A TPM host with two launched and stopped jobs, exported as a bundle."""
    h = variant(request)
    h.cli("job", "stop", h.job, "--server", h.url, "--data", "host")
    second = h.launch()
    h.cli("job", "stop", second, "--server", h.url, "--data", "host")
    h.bundle = os.path.join(h.dir, "bundle")
    h.cli("audit", "export", "--server", h.url, "-o", h.bundle)
    return h


def launches(payloads):
    return [i for i, p in enumerate(payloads) if parse_log_entry(p).kind == "launch"]


def resign(h, b, payloads):
    """As the operator can: rewrite the entries, sign a checkpoint over them, fix the MANIFEST."""
    write_records(os.path.join(b, "entries.log"), payloads)
    name, kid, key = _log_signer(h)
    tree = bundle.MerkleTree([log.leaf_hash(p) for p in payloads])
    body = f"{name}\n{len(payloads)}\n{base64.b64encode(tree.root(len(payloads))).decode()}\n"
    note = body + "\n" + f"\u2014 {name} {base64.b64encode(kid + key.sign(body.encode())).decode()}\n"
    shutil.rmtree(os.path.join(b, "checkpoints"))
    os.makedirs(os.path.join(b, "checkpoints"))
    open(os.path.join(b, "checkpoints", "00000000.note"), "w").write(note)
    files = sorted(os.path.relpath(os.path.join(r, n), b) for r, _, ns in os.walk(b) for n in ns if n != "MANIFEST")
    open(os.path.join(b, "MANIFEST"), "w").write(
        "".join(f"{hashlib.sha256(open(os.path.join(b, f), 'rb').read()).hexdigest()}  {f}\n" for f in files))


def copy(h, name):
    dst = os.path.join(h.dir, name)
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(h.bundle, dst)
    return dst


def same_first_failure(h, b, *extra, policy=None):
    swift = swift_replay(h, b, *extra)
    py = parley_client.read_audit_bundle(b, policy=policy)
    assert swift["verdict"] == py.verdict.value == "failed", (swift["failures"], py.failures)
    assert first(swift) == (py.first_failure.code, py.first_failure.entry), (swift["failures"], py.failures)
    return py


def test_a_genuine_tpm_bundle_passes_both_with_the_same_account(tpmbundle):
    h = tpmbundle
    payloads = records(os.path.join(h.bundle, "entries.log"))
    at = launches(payloads)
    assert len(at) == 2
    stored = [cbor.loads(payloads[i]) for i in at]
    assert all(m["tier"] == "tpm" for m in stored)
    # the second launch keeps the first's boot log by its hash and the start of its IMA list
    assert "boot_log" in stored[0]["platform"] and "boot_log_sha256" in stored[1]["platform"]
    assert stored[1]["platform"]["ima_kept"] > 0
    swift = swift_replay(h, h.bundle)
    py = parley_client.read_audit_bundle(h.bundle)
    assert swift["verdict"] == py.verdict.value == "passed", (swift["failures"], py.failures)
    mine = py.to_json()
    for k in ("log", "jobs", "uploads", "releases", "refusals", "ledgers"):
        assert mine[k] == swift[k], k
    assert sorted(w["code"] for w in mine["warnings"]) == sorted(w["code"] for w in swift["warnings"])
    assert "anchorNotPinned" in {w.code for w in py.warnings}  # tpm-ak.pem came from the bundle


def test_another_pinned_attestation_key_is_refused_by_both(tpmbundle, tmp_path):
    h = tpmbundle
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    (tmp_path / "other-ak.pem").write_bytes(other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    (tmp_path / "audit.toml").write_text('tpm_ak = "other-ak.pem"\n')
    policy = parley_client.AuditPolicy.load(str(tmp_path / "audit.toml"))
    py = same_first_failure(h, h.bundle, "--policy", str(tmp_path / "audit.toml"), policy=policy)
    assert py.first_failure.code == "evidenceRejected" and "attestation key other than the pinned one" in py.first_failure.reason


def test_a_bundle_without_the_attestation_key_has_no_anchor_for_either(tpmbundle):
    h = tpmbundle
    b = copy(h, "no-ak")
    os.unlink(os.path.join(b, "tpm-ak.pem"))
    resign(h, b, records(os.path.join(b, "entries.log")))
    py = same_first_failure(h, b)
    assert py.first_failure.code == "noTrustAnchor"


def _change_launch(h, name, which, change):
    b = copy(h, name)
    payloads = records(os.path.join(b, "entries.log"))
    at = launches(payloads)[which]
    m = cbor.loads(payloads[at], cbor.Limits(max_bytes=40 << 20, max_depth=8, max_items=100_000))
    change(m)
    payloads[at] = cbor.dumps(m)
    resign(h, b, payloads)
    return b, at


def test_rewritten_tpm_launches_are_refused_by_both_at_the_same_entry(tpmbundle):
    h = tpmbundle

    def flip_ima(m):
        added = bytearray(m["platform"]["ima_added"])
        added[len(added) // 2] ^= 1
        m["platform"]["ima_added"] = bytes(added)

    def flip_quote(m):
        ev = cbor.loads(m["evidence"], cbor.Limits(max_bytes=40 << 20, max_depth=8, max_items=100_000))
        attest = bytearray(ev["attest"])
        attest[-1] ^= 1
        ev["attest"] = bytes(attest)
        m["evidence"] = cbor.dumps(ev)

    cases = {
        "ima-byte": (0, flip_ima, "evidenceRejected"),
        "unknown-boot-log": (1, lambda m: m["platform"].__setitem__("boot_log_sha256", bytes(32)), "platformLogsUnavailable"),
        "quote-byte": (1, flip_quote, "evidenceRejected"),
        "other-debug-claim": (1, lambda m: m.__setitem__("debug", not m["debug"]), "claimsDiffer"),
    }
    for name, (which, change, code) in cases.items():
        b, at = _change_launch(h, name, which, change)
        py = same_first_failure(h, b)
        assert (py.first_failure.code, py.first_failure.entry) == (code, at), (name, py.failures)
