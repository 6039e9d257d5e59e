"""Pure checks of the log pieces the receipts and witnesses rest on, each refusal with its reason:
RFC 9162 inclusion proofs against a tree built here by the RFC's own recursive definition,
C2SP cosignatures (valid, by another key, forged, repeated, dated ahead), the log- and
worker-entry parsers, the audit's scan of an entry file, and the ledger checks that need no host (no claim, another log)."""
from __future__ import annotations

import base64
import hashlib
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from parley_client import cbor, cose, entries, log, receipts
from parley_client.evidence import Claims


# --- RFC 9162 section 2.1.1 and 2.1.3.1, written recursively as the RFC states them

def mth(leaves):
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def path(m, leaves):
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def test_inclusion_proofs_hold_for_every_leaf_and_fail_when_tampered():
    leaves = [f"entry {i}".encode() for i in range(13)]
    for size in range(1, 14):
        root = mth(leaves[:size])
        for i in range(size):
            p = path(i, leaves[:size])
            leaf = log.leaf_hash(leaves[i])
            assert log.inclusion_holds(i, size, leaf, root, p), (i, size)
            assert not log.inclusion_holds(i, size, log.leaf_hash(b"other"), root, p)
            assert not log.inclusion_holds(i, size, leaf, bytes(32), p)
            if p:
                assert not log.inclusion_holds(i, size, leaf, root, p[:-1])
                assert not log.inclusion_holds(i, size, leaf, root, [bytes([p[0][0] ^ 1]) + p[0][1:]] + p[1:])
            assert not log.inclusion_holds(i, size, leaf, root, p + [bytes(32)])
            if size > 1:
                assert not log.inclusion_holds((i + 1) % size, size, leaf, root, p)
        assert not log.inclusion_holds(size, size, log.leaf_hash(b"x"), root, [])


# --- checkpoints and cosignatures

def vkey(name: str, priv: Ed25519PrivateKey, kind: int) -> str:
    raw = bytes([kind]) + priv.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    return f"{name}+{kid.hex()}+{base64.b64encode(raw).decode()}", kid


def signed_note(text: str, priv, name, kid) -> str:
    sig = priv.sign(text.encode())
    return text + "\n" + f"\u2014 {name} {base64.b64encode(kid + sig).decode()}\n"


def cosign(note: str, priv, name, kid, ts: int) -> str:
    text = note[:note.index("\n\n") + 1]
    sig = priv.sign(f"cosignature/v1\ntime {ts}\n".encode() + text.encode())
    return note + f"\u2014 {name} {base64.b64encode(kid + ts.to_bytes(8, 'big') + sig).decode()}\n"


@pytest.fixture
def keys():
    lp, w1, w2, other = (Ed25519PrivateKey.generate() for _ in range(4))
    ltext, lkid = vkey("example.test/log", lp, 0x01)
    w1text, w1kid = vkey("w1.test/w", w1, 0x04)
    w2text, w2kid = vkey("w2.test/w", w2, 0x04)
    note = signed_note(f"example.test/log\n5\n{base64.b64encode(bytes(32)).decode()}\n", lp, "example.test/log", lkid)
    return dict(log=log.VerifierKey.parse(ltext), note=note, w1=(w1, "w1.test/w", w1kid, log.CosignerKey.parse(w1text)),
                w2=(w2, "w2.test/w", w2kid, log.CosignerKey.parse(w2text)), other=other)


def test_cosignatures_count_only_valid_lines_by_pinned_witnesses_once_each(keys):
    w1, n1, k1, c1 = keys["w1"]
    w2, n2, k2, c2 = keys["w2"]
    note = cosign(cosign(keys["note"], w1, n1, k1, 1000), w2, n2, k2, 2000)
    log.verify_checkpoint(note, keys["log"])
    assert log.cosignatures(note, [c1, c2]) == {c1.text: 1000, c2.text: 2000}
    assert log.cosignatures(note, [c2]) == {c2.text: 2000}
    # the same witness twice counts once
    assert log.cosignatures(cosign(note, w1, n1, k1, 3000), [c1]) == {c1.text: 1000}
    # a line naming w1 but signed by another key, and a line over another checkpoint, do not count
    forged = cosign(keys["note"], keys["other"], n1, k1, 1000)
    assert log.cosignatures(forged, [c1]) == {}
    moved = keys["note"] + cosign(keys["note"].replace("\n5\n", "\n6\n"), w1, n1, k1, 1000)[len(keys["note"]):]
    assert log.cosignatures(moved, [c1]) == {}


def test_too_few_cosignatures_is_refused_before_the_memory_is_touched(keys, tmp_path):
    w1, n1, k1, c1 = keys["w1"]
    w2, n2, k2, c2 = keys["w2"]
    state = log.ClientState(str(tmp_path), keys["log"])
    no_proof = lambda a, b: pytest.fail("no proof is needed")  # noqa: E731
    now_ms = 10_000 * 1000
    for note, quorum, have in ((keys["note"], 1, 0), (cosign(keys["note"], w1, n1, k1, 10_000), 2, 1),
                               (cosign(keys["note"], w1, n1, k1, 10_000 + 61), 1, 0)):  # dated more than a minute ahead
        with pytest.raises(log.LogRefused) as e:
            state.follow(note, no_proof, now_ms, [c1, c2], quorum)
        assert e.value.code == "tooFewCosignatures"
        assert f"carries {have} valid cosignature(s)" in e.value.message and f"needs {quorum}" in e.value.message
        assert not os.path.exists(state.dir)
    ok = cosign(cosign(keys["note"], w1, n1, k1, 10_000 + 60), w2, n2, k2, 1)
    assert state.follow(ok, no_proof, now_ms, [c1, c2], 2).size == 5
    with open(os.path.join(state.dir, "checkpoint")) as f:
        assert f.read() == ok, "the cosigned note is kept"


def test_witness_keys_that_do_not_parse_are_refused(keys):
    good = keys["w1"][3].text
    name, kid, b64 = good.split("+", 2)
    raw = base64.b64decode(b64)
    as_note_key = base64.b64encode(bytes([1]) + raw[1:]).decode()
    for bad in (good.replace(kid, "00000000"), f"{name}+{kid}+{as_note_key}",
                f"{name}+{kid}+!!", "just-a-name", keys["log"].text):
        with pytest.raises(log.ParleyError) as e:
            log.CosignerKey.parse(bad)
        assert e.value.code == "malformed"


# --- entries

def worker_key():
    k = ec.generate_private_key(ec.SECP384R1())
    return k, k.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def worker_entry(key, **fields) -> bytes:
    m = {"format": "parley/worker-entry/1", "job": "j1", "timestamp": 1, "kind": "upload-accepted", "dataset": "exposures",
         "provider": "brand", "ciphertext_sha256": bytes(32), "rows": 3}
    m.update(fields)
    return cose.sign(key, cbor.dumps({k: v for k, v in m.items() if v is not None}))


def test_worker_entries_verify_only_with_the_attested_key_and_parse_strictly():
    key, der = worker_key()
    w = entries.verify_worker_entry(worker_entry(key), der)
    assert (w.kind, w.job, w.fields["rows"]) == ("upload-accepted", "j1", 3)
    _, other = worker_key()
    cases = {
        "another key": (worker_entry(key), other),
        "not COSE": (b"\xa0", der),
        "unknown field": (worker_entry(key, extra=1), der),
        "missing field": (worker_entry(key, rows=None), der),
        "wrong digest size": (worker_entry(key, ciphertext_sha256=bytes(31)), der),
        "unknown kind": (worker_entry(key, kind="other"), der),
        "refusal code": (worker_entry(key, kind="query-refused", dataset=None, provider=None, ciphertext_sha256=None, rows=None,
                                      query="q", receiver="brand", code="nope"), der),
        "charge without epsilon": (worker_entry(key, kind="query-refused", dataset=None, provider=None, ciphertext_sha256=None,
                                                rows=None, query="q", receiver="brand", code="not-computable", delta="0"), der),
    }
    for name, (data, k) in cases.items():
        with pytest.raises(entries.EntryError) as e:
            entries.verify_worker_entry(data, k)
        assert e.value.code == "workerEntryRejected", name


def launch_entry(**over) -> dict:
    _, der = worker_key()
    m = {"format": "parley/log-entry/1", "kind": "launch", "job": "j1", "time": 5, "tier": "software",
         "measurements": {"runtime": bytes(48), "module": bytes(48), "module_signer": bytes(48)}, "debug": False,
         "public_key": bytes(32), "signing_key": der, "module_bundle": b"m", "evidence": b"e", "nonce": bytes(32),
         "ledger": {"id": bytes(32), "log_key": "k", "checkpoint_size": 9, "checkpoint_root": bytes(32), "inherited": "0",
                    "counted": 2, "counted_digest": entries.counted_digest([1, 4])},
         "ledger_counted": entries.pack_counted([1, 4])}
    m.update(over)
    return {k: v for k, v in m.items() if v is not None}


def test_log_entries_parse_strictly_and_the_counted_list_must_be_the_one_the_claim_binds():
    e = entries.parse_log_entry(cbor.dumps(launch_entry()))
    assert e.launch.ledger_counted == [1, 4] and e.launch.claims.job == "j1"
    assert entries.parse_log_entry(cbor.dumps({"format": "parley/log-entry/1", "kind": "stopped", "job": "j1", "time": 1})).kind == "stopped"
    bad = {
        "another list": launch_entry(ledger_counted=entries.pack_counted([1, 5])),
        "not ascending": launch_entry(ledger_counted=entries.pack_counted([4, 1])),
        "not 8-byte": launch_entry(ledger_counted=b"\x00" * 9),
        "list without a claim": launch_entry(ledger=None),
        "claim without a list": launch_entry(ledger_counted=None),
        "unknown field": launch_entry(extra=1),
        "unknown tier": launch_entry(tier="sgx"),
        "short nonce": launch_entry(nonce=bytes(8)),
        "unknown kind": {"format": "parley/log-entry/1", "kind": "other", "job": "j1", "time": 1},
        "unknown refusal code": {"format": "parley/log-entry/1", "kind": "upload-refused", "job": "j1", "time": 1,
                                 "dataset": "d", "code": "because"},
        "another format": {"format": "parley/log-entry/2", "kind": "stopped", "job": "j1", "time": 1},
        "bad job id": {"format": "parley/log-entry/1", "kind": "stopped", "job": "j/1", "time": 1},
    }
    for name, m in bad.items():
        with pytest.raises(entries.EntryError) as err:
            entries.parse_log_entry(cbor.dumps(m))
        assert err.value.code == "malformed", name
    with pytest.raises(entries.EntryError):
        entries.parse_log_entry(cbor.dumps(launch_entry())[:-1])


def test_the_counted_digest_is_sha256_of_big_endian_u64s():
    assert entries.pack_counted([1, 258]) == bytes.fromhex("0000000000000001" "0000000000000102")
    assert entries.counted_digest([]) == hashlib.sha256(b"").digest()


# --- ledger checks that are refused before anything is asked of the host

def claims(ledger):
    return Claims("j1", bytes(48), bytes(48), bytes(48), False, bytes(32), b"", ledger=ledger)


def test_a_worker_without_a_ledger_claim_or_counting_another_log_is_refused(keys, tmp_path):
    def no_host(*a, **k):
        raise AssertionError("nothing is asked of the host")
    memory = receipts.LogMemory(log.ClientState(str(tmp_path), keys["log"]), no_host, no_host)
    head = log.Checkpoint("example.test/log", 5, bytes(32), keys["note"])
    with pytest.raises(log.LogRefused) as e:
        memory.check_ledger(claims(None), head)
    assert e.value.code == "noLedgerBinding" and "binds no budget ledger" in e.value.message
    with pytest.raises(log.LogRefused) as e:
        memory.check_before_upload(claims(None))
    assert e.value.code == "noLedgerBinding"
    other = {"id": bytes(32), "log_key": "other.test/log+00000000+AQ==", "checkpoint_size": 1, "checkpoint_root": bytes(32),
             "inherited": "0", "counted": 0, "counted_digest": entries.counted_digest([])}
    with pytest.raises(log.LogRefused) as e:
        memory.check_ledger(claims(other), head)
    assert e.value.code == "ledgerOnOtherLog" and "another log" in e.value.message
    beyond = dict(other, log_key=keys["log"].text, checkpoint_size=6)
    with pytest.raises(log.LogRefused) as e:
        memory.check_ledger(claims(beyond), head)
    assert e.value.code == "ledgerCheckpointNotInLog" and "checkpoint of 6 entries" in e.value.message and "log of 5 entries" in e.value.message


def test_receipts_round_trip_and_verify_offline(keys):
    leaves = [b"a", b"b", b"c"]
    lp = Ed25519PrivateKey.generate()
    ltext, lkid = vkey("r.test/log", lp, 0x01)
    key = log.VerifierKey.parse(ltext)
    note = signed_note(f"r.test/log\n3\n{base64.b64encode(mth(leaves)).decode()}\n", lp, "r.test/log", lkid)
    r = receipts.Receipt(1, b"b", note, path(1, leaves))
    again = receipts.Receipt.decode(r.encoded)
    assert again == r and again.verify(key).size == 3
    with pytest.raises(receipts.ReceiptRefused) as e:
        receipts.Receipt(1, b"x", note, path(1, leaves)).verify(key)
    assert e.value.code == "inclusionProofFailed"
    with pytest.raises(log.LogRefused) as e:
        receipts.Receipt(1, b"b", note.replace("\n3\n", "\n4\n"), path(1, leaves)).verify(key)
    assert e.value.code == "checkpointRejected"


def test_the_entry_file_scan_names_each_kind_of_damage():
    from parley_client import bundle, log

    def rec(i, p):
        return len(p).to_bytes(4, "big") + i.to_bytes(8, "big") + p + log.leaf_hash(p)

    good = b"PRLYLOG1" + rec(0, b"a") + rec(1, b"bb") + rec(2, b"ccc")
    entries, end = bundle.scan_entries(good)
    assert [p for _, p in entries] == [b"a", b"bb", b"ccc"] and end is None
    flipped_middle = bytearray(good)
    flipped_middle[8 + 12 + 1 + 32 + 12] ^= 1      # the second record's payload
    flipped_last = bytearray(good)
    flipped_last[-33] ^= 1                           # the last record's payload: read as a torn tail
    cases = {
        "bad magic": (b"PRLYLOG2" + good[8:], "log.badFileHeader", 0),
        "flipped": (bytes(flipped_middle), "log.entryChecksumMismatch", 1),
        "flipped last": (bytes(flipped_last), "log.truncatedEntry", 2),
        "cut": (good[:-5], "log.truncatedEntry", 2),
        "cut header": (good + b"\x00\x00", "log.truncatedEntry", 3),
        "moved": (b"PRLYLOG1" + rec(0, b"a") + rec(2, b"ccc") + rec(1, b"bb"), "log.entryOutOfPlace", 1),
        "too large": (b"PRLYLOG1" + (17 << 20).to_bytes(4, "big") + bytes(8) + bytes((17 << 20) + 32), "log.entryTooLarge", 0),
    }
    for name, (data, code, at) in cases.items():
        _, end = bundle.scan_entries(data)
        assert (end.code, end.entry) == (code, at), name


def test_a_policy_whose_witness_key_does_not_parse_is_refused_when_the_party_is_made():
    import parley_client
    from parley_client.policy import Policy
    p = Policy(quote="software", module=bytes(48), runtime=[bytes(48)], module_signers=None, witnesses=["not a key"], witness_quorum=1)
    with pytest.raises(parley_client.ParleyError) as e:
        parley_client.Party(policy=p, server="http://127.0.0.1:9")
    assert e.value.code == "malformed" and "witnesses" in e.value.message


def test_damaged_receipts_and_ledger_marks_are_refused(keys, tmp_path):
    for bad in (b"", cbor.dumps({"format": "parley/receipt/2", "index": 0, "entry": b"", "checkpoint": b"", "proof": []}),
                cbor.dumps({"format": "parley/receipt/1", "index": 0, "entry": b"", "checkpoint": b"", "proof": [bytes(31)]})):
        with pytest.raises(log.ParleyError) as e:
            receipts.Receipt.decode(bad)
        assert e.value.code == "malformed"
    memory = receipts.LogMemory(log.ClientState(str(tmp_path), keys["log"]), None, None)
    os.makedirs(os.path.join(memory.directory, "ledgers"))
    lid = bytes(32)
    for bad in (b"\xff", cbor.dumps({"j": {"launch": 1, "seen": 2}}), cbor.dumps({"j": {"launch": -1, "seen": 2, "uploaded": False}})):
        with open(os.path.join(memory.directory, "ledgers", lid.hex()), "wb") as f:
            f.write(bad)
        with pytest.raises(log.ParleyError) as e:
            memory.ledger_marks(lid)
        assert e.value.code == "malformed" and "damaged" in e.value.message


def test_audit_policies_that_do_not_read_are_refused(tmp_path):
    from parley_client import audit
    for text, key in (('other = 1\n', "other"), ('modules = ["ab"]\n', "modules"), ('log_key = "missing.pub"\n', "log_key"),
                      ('witnesses = ["missing.pub"]\n', "witnesses"), ('witness_quorum = 2\n', "witness_quorum")):
        p = tmp_path / "audit.toml"
        p.write_text(text)
        with pytest.raises(log.ParleyError) as e:
            audit.AuditPolicy.load(str(p))
        assert e.value.code == "malformed" and key in e.value.message, text


def test_a_launch_entry_whose_module_does_not_measure_to_the_attested_one_is_launch_not_logged(keys, tmp_path):
    """The entry is found and proved (find is given here), but its module bundle does not open:
    the launch is not in the log as attested."""
    entry = cbor.dumps(launch_entry())

    class Found(receipts.LogMemory):
        def find(self, job, kind, what, matching, hint=None):
            return receipts.Receipt(7, entry, keys["note"], [])

    ledger = entries.parse_log_entry(entry).launch.claims.ledger
    memory = Found(log.ClientState(str(tmp_path), keys["log"]), None, None)
    with pytest.raises(log.LogRefused) as e:
        memory.launch_entry(entries.parse_log_entry(entry).launch.claims, ledger)
    assert e.value.code == "launchNotLogged" and "its module bundle does not open" in e.value.message


def test_an_upload_to_a_job_never_verified_with_the_log_is_refused(keys, tmp_path):
    memory = receipts.LogMemory(log.ClientState(str(tmp_path), keys["log"]), None, None)
    ledger = {"id": bytes(32), "log_key": keys["log"].text, "checkpoint_size": 1, "checkpoint_root": bytes(32),
              "inherited": "0", "counted": 0, "counted_digest": entries.counted_digest([])}
    with pytest.raises(log.LogRefused) as e:
        memory.check_before_upload(claims(ledger))
    assert e.value.code == "launchNotLogged" and "verify the worker with the log first" in e.value.message


def test_a_policy_file_naming_a_file_that_is_no_witness_key_is_refused_when_read(keys, tmp_path):
    from parley_client.policy import Policy
    (tmp_path / "log.pub").write_text(keys["log"].text + "\n")
    (tmp_path / "w.pub").write_text(keys["log"].text + "\n")  # a log key, not a witness key
    (tmp_path / "policy.toml").write_text(f'quote = "software"\nmodule = "{"00" * 48}"\nruntime = ["{"00" * 48}"]\n'
                                          'witnesses = ["w.pub"]\nwitness_quorum = 1\n')
    with pytest.raises(log.ParleyError) as e:
        Policy.load(str(tmp_path / "policy.toml"))
    assert e.value.code == "malformed" and "witnesses" in e.value.message and "is not a witness key" in e.value.message


def release_entry(key, **fields) -> bytes:
    m = {"kind": "release", "dataset": None, "provider": None, "ciphertext_sha256": None, "rows": None, "query": "q",
         "receiver": "bank_a", "result_sha256": bytes(32), "epsilon": "1", "delta": "0", "budget_left": "5",
         "suppressed_groups": 0, "inputs": {"alerts_a": bytes(32)}}
    m.update(fields)
    return worker_entry(key, **m)


def test_a_release_carries_its_params_only_as_one_to_eight_text_values():
    key, der = worker_key()
    assert entries.verify_worker_entry(release_entry(key), der).fields["params"] == {}
    bound = {"since": "2025-01-01", "min_amount": "0"}
    assert entries.verify_worker_entry(release_entry(key, params=bound), der).fields["params"] == bound
    refused = entries.verify_worker_entry(worker_entry(key, kind="query-refused", dataset=None, provider=None, ciphertext_sha256=None,
                                                       rows=None, query="q", receiver="bank_a", code="invalid-parameters"), der)
    assert refused.fields["code"] == "invalid-parameters"
    for name, params in {"empty": {}, "nine": {f"p{i}": "1" for i in range(9)}, "an integer value": {"min_amount": 0},
                         "a list": ["since"], "a byte key": {b"since": "x"}}.items():
        with pytest.raises(entries.EntryError) as e:
            entries.verify_worker_entry(release_entry(key, params=params), der)
        assert e.value.code == "workerEntryRejected" and "params" in e.value.message, name


def test_a_request_signs_params_only_when_there_are_some():
    from parley_client import stream
    plain = stream.query_request_message("j1", "q", "bank_a", bytes(16))
    assert stream.query_request_message("j1", "q", "bank_a", bytes(16), {}) == plain
    assert "params" not in cbor.loads(plain)
    signed = cbor.loads(stream.query_request_message("j1", "q", "bank_a", bytes(16), {"since": "2025-01-01"}))
    assert signed["params"] == {"since": "2025-01-01"}


def test_platform_deltas_rebuild_evidence_in_order_and_refuse_what_no_earlier_entry_carried():
    import hashlib as _h
    from parley_client.platform_delta import PlatformLogDelta, PlatformLogState, PlatformLogsUnavailable
    stored = cbor.dumps({"format": "parley/tpm-quote/2", "job": "j1"})
    state = PlatformLogState()
    first = PlatformLogDelta.parse({"boot_log": b"boot", "ima_kept": 0, "ima_added": b"ima1"}, "launch entry")
    assert cbor.loads(state.expand(stored, first)) == {"format": "parley/tpm-quote/2", "job": "j1", "boot_log": b"boot", "ima_log": b"ima1"}
    second = PlatformLogDelta.parse({"boot_log_sha256": _h.sha256(b"boot").digest(), "ima_kept": 4,
                                     "ima_kept_sha256": _h.sha256(b"ima1").digest(), "ima_added": b"+2"}, "launch entry")
    assert cbor.loads(state.expand(stored, second))["ima_log"] == b"ima1+2"
    unknown_boot = PlatformLogDelta.parse({"boot_log_sha256": bytes(32), "ima_kept": 0, "ima_added": b""}, "launch entry")
    longer = PlatformLogDelta.parse({"boot_log": b"boot", "ima_kept": 99, "ima_kept_sha256": bytes(32), "ima_added": b""}, "launch entry")
    for name, delta, evidence in (("unknown boot log", unknown_boot, stored), ("more IMA bytes than carried", longer, stored),
                                  ("logs already in the evidence", first, cbor.dumps({"boot_log": b"x"})),
                                  ("not a map", first, cbor.dumps([1]))):
        with pytest.raises(PlatformLogsUnavailable):
            state.expand(evidence, delta)
        assert state.ima_log == b"ima1+2", name   # a refused delta leaves the state
    for name, bad in {"both boot fields": {"boot_log": b"b", "boot_log_sha256": bytes(32), "ima_kept": 0, "ima_added": b""},
                      "neither": {"ima_kept": 0, "ima_added": b""},
                      "kept without hash": {"boot_log": b"b", "ima_kept": 1, "ima_added": b""},
                      "hash without kept": {"boot_log": b"b", "ima_kept": 0, "ima_kept_sha256": bytes(32), "ima_added": b""},
                      "short hash": {"boot_log_sha256": bytes(31), "ima_kept": 0, "ima_added": b""},
                      "unknown field": {"boot_log": b"b", "ima_kept": 0, "ima_added": b"", "extra": 1}}.items():
        with pytest.raises(PlatformLogsUnavailable):
            PlatformLogDelta.parse(bad, "launch entry")
