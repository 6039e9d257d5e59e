"""Audit bundles (docs/log.md sections 5-6) from a real `parley serve`, replayed by the Python
auditor and by `parley audit replay --json`: a genuine bundle passes both with the same account
of jobs, uploads, releases and ledgers; each tampered bundle fails both with the same first
failure (code and entry): a flipped byte, a cut file, a dropped record, a changed checkpoint, a
release the operator removed and re-signed the log over, a missing log key or quoting root, a
pinned key the bundle is not signed with, and a known checkpoint the log no longer extends."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import tempfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import parley_client
from parley_client import audit, bundle, exact, log
from conftest import Host, bin_dir


@pytest.fixture(scope="module")
def audithost():
    """A host with one finished job: both uploads, two releases, stopped."""
    bin_dir()
    d = tempfile.mkdtemp(prefix="parley-py-audit-")
    h = Host(d)
    try:
        h.prepare(rows=200)
        h.start()
        h.job = h.launch()
        for ds, key in (("exposures", "brand"), ("purchases", "retailer")):
            h.cli("upload", "--server", h.url, "--job", h.job, "--dataset", ds, "--file", f"{ds}.csv", "--key", f"{key}.key",
                  "--policy", "policy.toml", "--quiet", "--state", f"{key}-state")
        for _ in range(2):
            h.cli("query", "run", "--server", h.url, "--job", h.job, "--query", "conversions", "--key", "brand.key",
                  "--policy", "policy.toml", "--format", "json", "--state", "brand-state")
        h.cli("job", "stop", h.job, "--server", h.url, "--data", "host")
        h.bundle = os.path.join(d, "bundle")
        h.cli("audit", "export", "--server", h.url, "-o", h.bundle)
        yield h
    finally:
        h.stop()
        shutil.rmtree(d, ignore_errors=True)


def swift_replay(h, bundle, *extra) -> dict:
    p = h.cli("audit", "replay", "--bundle", bundle, "--json", *extra, check=False)
    return json.loads(p.stdout)


def copy_bundle(h, name) -> str:
    dst = os.path.join(h.dir, name)
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(h.bundle, dst)
    return dst


def records(path):
    data = open(path, "rb").read()
    out, off = [], 8
    while off < len(data):
        n = int.from_bytes(data[off:off + 4], "big")
        out.append(data[off + 12:off + 12 + n])
        off += 12 + n + 32
    return out


def write_records(path, payloads):
    with open(path, "wb") as f:
        f.write(b"PRLYLOG1")
        for i, p in enumerate(payloads):
            f.write(len(p).to_bytes(4, "big") + i.to_bytes(8, "big") + p + log.leaf_hash(p))


def first(report_json) -> tuple:
    f = report_json["first_failure"]
    return (f["code"], f.get("entry")) if f else None


def same_first_failure(h, bundle, *extra, policy=None, known=()):
    swift = swift_replay(h, bundle, *extra)
    py = parley_client.read_audit_bundle(bundle, policy=policy, known_checkpoints=list(known))
    assert swift["verdict"] == py.verdict.value == "failed", (swift["first_failure"], py.first_failure)
    assert first(swift) == (py.first_failure.code, py.first_failure.entry), (swift["failures"], py.failures)
    return swift, py


def test_a_genuine_bundle_passes_both_with_the_same_account(audithost):
    h = audithost
    swift = swift_replay(h, h.bundle)
    py = parley_client.read_audit_bundle(h.bundle)
    assert swift["verdict"] == py.verdict.value == "passed", (swift["failures"], py.failures)
    mine = py.to_json()
    assert mine["log"] == swift["log"]
    assert mine["refusals"] == swift["refusals"]
    assert mine["jobs"] == swift["jobs"] and mine["jobs"][0]["state"] == "stopped"
    assert mine["uploads"] == swift["uploads"]
    assert mine["releases"] == swift["releases"] and len(mine["releases"]) == 2
    assert mine["ledgers"] == swift["ledgers"]
    assert mine["epsilon_by_dataset"] == swift["epsilon_by_dataset"]
    assert sorted(w["code"] for w in mine["warnings"]) == sorted(w["code"] for w in swift["warnings"])
    # The export straight from the host (GET /v1/audit/export) replays the same.
    with parley_client.Party(key=os.path.join(h.dir, "brand.key"), policy=os.path.join(h.dir, "policy.toml"), server=h.url,
                             state=os.path.join(h.dir, "audit-state")) as p:
        again = audit.replay(p.audit_export())
    assert again.passed and again.entries == py.entries


def test_a_flipped_byte_is_refused_by_both(audithost):
    h = audithost
    b = copy_bundle(h, "flipped")
    payloads = records(os.path.join(b, "entries.log"))
    path = os.path.join(b, "entries.log")
    data = bytearray(open(path, "rb").read())
    data[8 + 12 + 5] ^= 1  # inside the first entry
    open(path, "wb").write(bytes(data))
    swift, py = same_first_failure(h, b)
    assert py.first_failure.code == "log.entryChecksumMismatch" and py.first_failure.entry == 0 and len(payloads) > 2
    assert "manifest" in {w.code for w in py.warnings}


def test_a_cut_file_and_a_dropped_record_are_refused_by_both(audithost):
    h = audithost
    b = copy_bundle(h, "cut")
    path = os.path.join(b, "entries.log")
    data = open(path, "rb").read()
    open(path, "wb").write(data[:-10])
    swift, py = same_first_failure(h, b)
    assert py.first_failure.code == "log.truncatedEntry"
    # A flipped byte in the last record reads as a torn tail, as a host that died mid-append leaves it.
    b = copy_bundle(h, "flipped-last")
    path = os.path.join(b, "entries.log")
    data = bytearray(open(path, "rb").read())
    data[-40] ^= 1
    open(path, "wb").write(bytes(data))
    swift, py = same_first_failure(h, b)
    assert py.first_failure.code == "log.truncatedEntry" and py.first_failure.entry == len(records(path)) - 1
    b = copy_bundle(h, "dropped")
    path = os.path.join(b, "entries.log")
    payloads = records(path)
    with open(path, "wb") as f:  # the records as they were, one left out, each keeping its own index
        f.write(b"PRLYLOG1")
        for i, p in enumerate(payloads):
            if i != 2:
                f.write(len(p).to_bytes(4, "big") + i.to_bytes(8, "big") + p + log.leaf_hash(p))
    swift, py = same_first_failure(h, b)
    assert py.first_failure.code == "log.entryOutOfPlace" and py.first_failure.entry == 2


def test_a_changed_checkpoint_is_refused_by_both(audithost):
    h = audithost
    b = copy_bundle(h, "changed-checkpoint")
    notes = sorted(os.listdir(os.path.join(b, "checkpoints")))
    p = os.path.join(b, "checkpoints", notes[-1])
    text = open(p).read().split("\n")
    text[1] = str(int(text[1]) + 1)
    open(p, "w").write("\n".join(text))
    swift, py = same_first_failure(h, b)
    assert py.first_failure.code == "log.checkpointRejected" and py.first_failure.entry is None


def _log_signer(h):
    text = open(os.path.join(h.dir, "host", "log-key")).read().strip()
    _, _, name, kid, b64 = text.split("+", 4)
    raw = base64.b64decode(b64)
    return name, bytes.fromhex(kid), Ed25519PrivateKey.from_private_bytes(raw[1:])


def resign(h, b, payloads):
    """As the operator can: write these entries, sign one checkpoint over them with the host's
    log key, and write a MANIFEST that matches."""
    write_records(os.path.join(b, "entries.log"), payloads)
    name, kid, key = _log_signer(h)
    tree = bundle.MerkleTree([log.leaf_hash(p) for p in payloads])
    body = f"{name}\n{len(payloads)}\n{base64.b64encode(tree.root(len(payloads))).decode()}\n"
    note = body + "\n" + f"\u2014 {name} {base64.b64encode(kid + key.sign(body.encode())).decode()}\n"
    shutil.rmtree(os.path.join(b, "checkpoints"))
    os.makedirs(os.path.join(b, "checkpoints"))
    open(os.path.join(b, "checkpoints", "00000000.note"), "w").write(note)
    manifest = "".join(f"{hashlib.sha256(open(os.path.join(b, r), 'rb').read()).hexdigest()}  {r}\n"
                       for r in sorted(["entries.log", "checkpoints/00000000.note", "log-key.pub", "quoting-root.pem"]))
    open(os.path.join(b, "MANIFEST"), "w").write(manifest)


def test_a_software_launch_relabelled_or_given_broken_tpm_evidence_is_refused_by_both(audithost):
    """A launch entry that says `tpm` over software evidence is a tier mismatch; TPM evidence
    that does not parse is unparseable: the same first failure in both auditors."""
    from parley_client import cbor
    from parley_client.entries import parse_log_entry
    h = audithost
    for name, change, code in (("tier-only", lambda m: m.__setitem__("tier", "tpm"), "tierMismatch"),
                               ("tpm-garbage", lambda m: m.update(tier="tpm", evidence=cbor.dumps({"format": "parley/tpm-quote/2"})),
                                "evidenceUnparseable")):
        b = copy_bundle(h, name)
        payloads = records(os.path.join(b, "entries.log"))
        at = next(i for i, p in enumerate(payloads) if parse_log_entry(p).kind == "launch")
        m = cbor.loads(payloads[at])
        change(m)
        payloads[at] = cbor.dumps(m)
        resign(h, b, payloads)
        swift, py = same_first_failure(h, b)
        assert (py.first_failure.code, py.first_failure.entry) == (code, at), name


def test_a_release_the_operator_removed_and_re_signed_over_is_refused_by_both(audithost):
    """The operator holds the log key: it drops the first release, rebuilds the tree and signs a
    checkpoint over it. The log itself is consistent; the worker's signed budget_left of the
    second release is not, and a party's remembered checkpoint is no longer extended."""
    h = audithost
    b = copy_bundle(h, "rewritten")
    path = os.path.join(b, "entries.log")
    payloads = records(path)
    from parley_client.entries import parse_log_entry, verify_worker_entry
    parsed = [parse_log_entry(p) for p in payloads]
    key_of = {e.job: e.launch.claims.signing_key for e in parsed if e.kind == "launch"}
    kinds = [verify_worker_entry(e.worker, key_of[e.job]).kind if e.kind == "worker" else e.kind for e in parsed]
    first_release = kinds.index("release")
    second_release = kinds.index("release", first_release + 1)
    kept = payloads[:first_release] + payloads[first_release + 1:]
    resign(h, b, kept)
    swift, py = same_first_failure(h, b)
    assert py.first_failure.code == "budgetLeftMismatch" and py.first_failure.entry == second_release - 1
    assert "a release is missing from the log" in py.first_failure.reason
    assert swift["first_failure"]["reason"] == py.first_failure.reason
    assert not any(w.code == "manifest" for w in py.warnings), "the MANIFEST catches damage, not forgery"
    # The party's remembered checkpoint shows the rewrite as well.
    logs = os.path.join(h.dir, "brand-state", "logs")
    known = os.path.join(logs, os.listdir(logs)[0], "checkpoint")
    swift, py = same_first_failure(h, b, "--known-checkpoint", known, known=[known])
    assert py.first_failure.code == "knownCheckpointNotExtended"
    assert swift["first_failure"]["reason"] == py.first_failure.reason


def test_a_bundle_without_its_log_key_or_quoting_root_or_signed_by_another_key_is_refused_by_both(audithost):
    h = audithost
    b = copy_bundle(h, "no-key")
    os.unlink(os.path.join(b, "log-key.pub"))
    swift, py = same_first_failure(h, b)
    assert py.first_failure.code == "noLogKey" and swift["first_failure"]["reason"] == py.first_failure.reason
    assert any("log-key.pub is listed in the MANIFEST but missing" in w.reason for w in py.warnings)
    b = copy_bundle(h, "no-root")
    os.unlink(os.path.join(b, "quoting-root.pem"))
    swift, py = same_first_failure(h, b)
    assert py.first_failure.code == "noTrustAnchor" and swift["first_failure"]["reason"] == py.first_failure.reason
    # An audit policy pinning another log key: no checkpoint of the bundle verifies.
    other = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    raw = b"\x01" + other.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    name = "parley.local/log"
    kid = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    open(os.path.join(h.dir, "other-log.pub"), "w").write(f"{name}+{kid.hex()}+{base64.b64encode(raw).decode()}\n")
    open(os.path.join(h.dir, "audit-other.toml"), "w").write('log_key = "other-log.pub"\n')
    swift, py = same_first_failure(h, h.bundle, "--policy", os.path.join(h.dir, "audit-other.toml"),
                                   policy=os.path.join(h.dir, "audit-other.toml"))
    assert py.first_failure.code == "log.checkpointRejected"
    assert "bundleLogKeyDiffers" in {w.code for w in py.warnings}


def test_an_audit_policy_expecting_another_module_fails_the_launch_in_both(audithost):
    h = audithost
    open(os.path.join(h.dir, "audit-module.toml"), "w").write(f'modules = ["{"00" * 48}"]\n')
    swift, py = same_first_failure(h, h.bundle, "--policy", os.path.join(h.dir, "audit-module.toml"),
                                   policy=os.path.join(h.dir, "audit-module.toml"))
    assert py.first_failure.code == "moduleNotExpected" and swift["first_failure"]["reason"] == py.first_failure.reason


def test_the_exact_numbers_are_written_as_the_cli_writes_them():
    from fractions import Fraction
    assert [exact.epsilon_text(x) for x in (Fraction(2), Fraction(1, 4), Fraction(1, 3), Fraction(21, 2), Fraction(0))] == \
        ["2", "0.25", "1/3", "10.5", "0"]
    assert exact.parse_epsilon("0.25") == Fraction(1, 4) and exact.parse_epsilon("1/3") == Fraction(1, 3)
    for bad in ("-1", "1e-9", "1/0", "", "0x1", "1.", ".5"):
        with pytest.raises(ValueError):
            exact.parse_epsilon(bad)


def test_unreadable_bundles_are_refused_with_their_reason(tmp_path):
    (tmp_path / "MANIFEST").write_text("")
    with pytest.raises(parley_client.ParleyError) as e:
        audit.AuditBundle.open(str(tmp_path))
    assert "no entries.log" in e.value.message
    (tmp_path / "entries.log").write_bytes(b"PRLYLOG1")
    (tmp_path / "MANIFEST").write_text("nothex  entries.log\n")
    with pytest.raises(parley_client.ParleyError) as e:
        audit.AuditBundle.open(str(tmp_path))
    assert "MANIFEST line 1" in e.value.message
    (tmp_path / "MANIFEST").write_text(f"{'0' * 64}  ../outside\n")
    with pytest.raises(parley_client.ParleyError) as e:
        audit.AuditBundle.open(str(tmp_path))
    assert "outside the bundle" in e.value.message
    with pytest.raises(parley_client.ParleyError):
        audit.AuditBundle.from_export(b"\xa1\x61a\x01")  # a map whose value is not bytes



def _kinds(payloads):
    from parley_client.entries import parse_log_entry, verify_worker_entry
    parsed = [parse_log_entry(p) for p in payloads]
    key_of = {e.job: e.launch.claims.signing_key for e in parsed if e.kind == "launch"}
    return [verify_worker_entry(e.worker, key_of[e.job]).kind if e.kind == "worker" else e.kind for e in parsed]


def _edit(payload, **fields):
    from parley_client import cbor
    m = cbor.loads(payload)
    for k, v in fields.items():
        if v is None:
            m.pop(k, None)
        elif k == "measurements":
            m[k] = dict(m[k], **v)
        else:
            m[k] = v
    return cbor.dumps(m)


def _rewrites(payloads):
    """Rewritten logs an operator holding the log key could sign, each by its defect."""
    from parley_client import cbor
    k = _kinds(payloads)
    launch, upload, release, stopped = k.index("launch"), k.index("upload-accepted"), k.index("release"), k.index("stopped")
    p = list(payloads)
    flipped_worker = bytearray(cbor.loads(p[upload])["entry"])
    flipped_worker[-3] ^= 1
    return {
        "launched-twice": p[:launch + 1] + [p[launch]] + p[launch + 1:],
        "module-unreadable": p[:launch] + [_edit(p[launch], module_bundle=b"x")] + p[launch + 1:],
        "module-measurement": p[:launch] + [_edit(p[launch], measurements={"module": bytes(48)})] + p[launch + 1:],
        "module-signer": p[:launch] + [_edit(p[launch], measurements={"module_signer": bytes(48)})] + p[launch + 1:],
        "tier": p[:launch] + [_edit(p[launch], tier="tpm")] + p[launch + 1:],
        "evidence-unparseable": p[:launch] + [_edit(p[launch], evidence=b"\x00")] + p[launch + 1:],
        "evidence-rejected": p[:launch] + [_edit(p[launch], nonce=bytes(32))] + p[launch + 1:],
        "claims-differ": p[:launch] + [_edit(p[launch], public_key=bytes(32))] + p[launch + 1:],
        "unlaunched": p[:stopped] + [_edit(p[stopped], job="ghost")] + p[stopped + 1:],
        "worker-signature": p[:upload] + [_edit(p[upload], entry=bytes(flipped_worker))] + p[upload + 1:],
        "accepted-twice": p[:upload + 1] + [p[upload]] + p[upload + 1:],
        "release-first": p[:upload] + [p[release]] + [e for i, e in enumerate(p[upload:], upload) if i != release],
        "releases-repeated": p[:release + 1] + [p[release]] * 10 + p[release + 1:],
        "unreadable": p[:stopped] + [cbor.dumps({})] + p[stopped + 1:],
    }


def test_rewritten_and_re_signed_logs_fail_both_auditors_alike(audithost):
    """Every failure the two auditors find (code and entry, in order) is the same, for each
    rewrite an operator holding the log key could sign."""
    h = audithost
    base = records(os.path.join(h.bundle, "entries.log"))
    for name, payloads in _rewrites(base).items():
        b = copy_bundle(h, "rw-" + name)
        resign(h, b, payloads)
        swift = swift_replay(h, b)
        py = parley_client.read_audit_bundle(b)
        assert swift["verdict"] == py.verdict.value == "failed", name
        assert [(f["code"], f.get("entry")) for f in swift["failures"]] == [(f.code, f.entry) for f in py.failures], name


def test_checkpoints_that_fork_run_ahead_or_do_not_match_fail_both_auditors_alike(audithost):
    h = audithost
    base = records(os.path.join(h.bundle, "entries.log"))
    name, kid, key = _log_signer(h)

    def signed(size, root):
        body = f"{name}\n{size}\n{base64.b64encode(root).decode()}\n"
        return body + "\n" + f"\u2014 {name} {base64.b64encode(kid + key.sign(body.encode())).decode()}\n"

    tree = bundle.MerkleTree([log.leaf_hash(p) for p in base])
    n = len(base)
    cases = {"fork": [signed(n, tree.root(n)), signed(n, bytes(32))],
             "beyond": [signed(n, tree.root(n)), signed(n + 5, bytes(32))],
             "older-mismatch": [signed(n - 1, bytes(32)), signed(n, tree.root(n))],
             "root-mismatch": [signed(n, bytes(32))]}
    for case, notes in cases.items():
        b = copy_bundle(h, "cp-" + case)
        resign(h, b, base)
        for i, note in enumerate(notes):
            open(os.path.join(b, "checkpoints", f"{i:08d}.note"), "w").write(note)
        swift = swift_replay(h, b)
        py = parley_client.read_audit_bundle(b)
        assert swift["verdict"] == py.verdict.value == "failed", case
        assert [(f["code"], f.get("entry")) for f in swift["failures"]] == [(f.code, f.entry) for f in py.failures], case


def test_known_checkpoints_that_are_not_signed_or_not_witnessed_fail_both(audithost):
    h = audithost
    bad = os.path.join(h.dir, "known-bad.note")
    open(bad, "w").write("not a checkpoint\n")
    swift, py = same_first_failure(h, h.bundle, "--known-checkpoint", bad, known=[bad])
    assert py.first_failure.code == "knownCheckpointRejected"
    from test_witness_cross import unconfigured_witness_key
    unconfigured_witness_key(os.path.join(h.dir, "audit-w.pub"))
    open(os.path.join(h.dir, "audit-w.toml"), "w").write('witnesses = ["audit-w.pub"]\nwitness_quorum = 1\n')
    logs = os.path.join(h.dir, "brand-state", "logs")
    known = os.path.join(logs, os.listdir(logs)[0], "checkpoint")
    swift, py = same_first_failure(h, h.bundle, "--policy", os.path.join(h.dir, "audit-w.toml"), "--known-checkpoint", known,
                                   policy=os.path.join(h.dir, "audit-w.toml"), known=[known])
    assert py.first_failure.code == "knownCheckpointUnwitnessed" and swift["first_failure"]["reason"] == py.first_failure.reason
