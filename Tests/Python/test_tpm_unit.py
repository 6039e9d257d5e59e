"""TPM evidence `parley/tpm-quote/2` in pure Python (docs/formats.md sections 9-12): the TPM structure
parsers and their caps, and every refusal, each shown with its reason code on evidence that is
otherwise intact (tpm_builder makes it; a key of the test's own plays the attestation key)."""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import struct

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import tpm_builder as B
from parley_client import cbor, evidence, platform, tpm, tpm_evidence
from parley_client.errors import ParleyError
from parley_client.policy import Policy

MODULE, RUNTIME = b"\x02" * 48, b"\x01" * 48


@pytest.fixture
def plat():
    return B.Platform()


def write_policy(tmp_path, plat, reference=True, ak=None, **extra) -> str:
    key = ak or plat.ak.public_key()
    (tmp_path / "tpm-ak.pem").write_bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    lines = {"quote": '"tpm"', "module": f'"{MODULE.hex()}"', "runtime": f'["{RUNTIME.hex()}"]', "tpm_ak": '"tpm-ak.pem"'}
    if reference:
        ref = plat.reference_files(str(tmp_path), **(reference if isinstance(reference, dict) else {}))
        lines["boot_reference"] = json.dumps(ref["boot_reference"])
        lines["runtime_policy"] = json.dumps(ref["runtime_policy"])
        lines["required_measured"] = json.dumps(ref["required_measured"])
    lines.update(extra)
    path = tmp_path / "policy.toml"
    path.write_text("".join(f"{k} = {v}\n" for k, v in lines.items()))
    return str(path)


def judge(data, nonce, policy_path, job=None):
    v = evidence.verify(data, nonce, Policy.load(policy_path), evidence.NonceLedger(), job=job)
    return v


def codes(data, nonce, policy_path, job=None):
    v = judge(data, nonce, policy_path, job)
    return v.status.value, v.codes


# ---- genuine evidence and the tiers -------------------------------------------------------------

def test_consistent_evidence_is_trusted_at_the_tpm_tier(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    v = judge(plat.evidence(nonce), nonce, write_policy(tmp_path, plat), job="job-1")
    assert v.status is evidence.Status.TRUSTED and v.tier == "tpm" and v.warning is None
    assert v.claims.job == "job-1" and v.claims.public_key == plat.claims["public_key"]


def test_other_job_is_refused_at_appraisal(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    assert codes(plat.evidence(nonce), nonce, write_policy(tmp_path, plat), job="job-2") == ("refused", ["appraisal.otherJob"])


def test_no_platform_logs_is_refused_unless_allowed_then_unappraised(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    bare = plat.evidence(nonce, boot_log=None, ima_log=None)
    assert codes(bare, nonce, write_policy(tmp_path, plat)) == ("refused", ["appraisal.platformNotAppraised"])
    v = judge(bare, nonce, write_policy(tmp_path, plat, reference=False, allow_unappraised_tpm="true"))
    assert v.status is evidence.Status.TRUSTED and v.tier == "tpm-unappraised" and "can forge launches" in v.warning
    # Logs sent, but a policy without reference values: unappraised too.
    v = judge(plat.evidence(nonce), nonce, write_policy(tmp_path, plat, reference=False, allow_unappraised_tpm="true"))
    assert v.tier == "tpm-unappraised"


def test_software_policy_refuses_tpm_evidence_without_its_anchor(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    p = Policy.load(write_policy(tmp_path, plat))
    p.quote, p.tpm_ak_der = "software", None
    v = evidence.verify(plat.evidence(nonce), nonce, p)
    assert v.codes == ["integrity.noTrustAnchor"]


def test_wrong_tier_and_claims_appraised_in_order(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    p = Policy.load(write_policy(tmp_path, plat))
    p.module, p.runtime, p.module_signers = b"\x09" * 48, [b"\x09" * 48], [b"\x09" * 48]
    v = evidence.verify(plat.evidence(nonce), nonce, p, job="other")
    assert v.codes == ["appraisal.otherJob", "appraisal.moduleNotExpected", "appraisal.runtimeNotAccepted",
                       "appraisal.signerNotAccepted"]


def test_debug_worker_refused_unless_allowed(tmp_path):
    plat = B.Platform()
    plat.claims = B.launch_claims(debug=True)
    plat.events = [B.epoch_event(), B.launch_event(plat.claims)]
    plat.pcrs[13] = B.replay_launch(plat.events)
    nonce = secrets.token_bytes(32)
    assert codes(plat.evidence(nonce), nonce, write_policy(tmp_path, plat)) == ("refused", ["appraisal.debugWorker"])
    assert codes(plat.evidence(nonce), nonce, write_policy(tmp_path, plat, allow_debug="true"))[0] == "trusted"


def test_reused_nonce(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    ledger, p = evidence.NonceLedger(), Policy.load(write_policy(tmp_path, plat))
    assert evidence.verify(plat.evidence(nonce), nonce, p, ledger).trusted
    assert evidence.verify(plat.evidence(nonce), nonce, p, ledger).codes == ["appraisal.nonceReused"]


# ---- stage 1 ------------------------------------------------------------------------------------

def test_truncation_at_every_byte_is_unparseable(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    data, p = plat.evidence(nonce, boot_log=None, ima_log=None), Policy.load(write_policy(tmp_path, plat))
    for cut in range(len(data)):
        assert evidence.verify(data[:cut], nonce, p).codes == ["unparseable"], cut


@pytest.mark.parametrize("change", [
    {"extra": b"x"}, {"format": "parley/tpm-quote/1"}, {"pcr_bank": "sha1"}, {"signature": "text"},
    {"pcrs": {24: bytes(32)}}, {"pcrs": {i: bytes(32) for i in range(25)}}, {"pcrs": {"0": bytes(32)}},
    {"event_log": [b"\xa0"]}, {"event_log": "x"}, {"job": b"job-1"}, {"nonce": "n"}, {"ima_log": None},
    {"boot_log": b"\x00" * 10}, {"ima_log": b"\x0a\0\0\0" + bytes(20) + B.le32(3) + b"ima" + B.le32(0)},
])
def test_malformed_fields_are_unparseable(tmp_path, plat, change):
    nonce = secrets.token_bytes(32)
    assert codes(plat.evidence(nonce, **change), nonce, write_policy(tmp_path, plat)) == ("refused", ["unparseable"])


def test_missing_field_and_non_deterministic_encoding_are_unparseable(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    pol = write_policy(tmp_path, plat)
    data = plat.evidence(nonce)
    m = cbor.loads(data, tpm_evidence.EVIDENCE_LIMITS)
    for k in ("attest", "signature", "ak_public", "pcr_bank", "pcrs", "event_log", "job", "nonce", "public_key", "signing_key", "format"):
        assert codes(cbor.dumps({f: v for f, v in m.items() if f != k}), nonce, pol) == ("refused", ["unparseable"]), k
    import cbor2
    assert codes(cbor2.dumps(dict(reversed(list(m.items())))), nonce, pol) == ("refused", ["unparseable"])  # keys out of order


def test_unknown_event_type_and_malformed_events_are_unparseable(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    pol = write_policy(tmp_path, plat)
    for ev in (cbor.dumps({"format": "parley/other-event/1"}),
               cbor.dumps({"format": "parley/epoch-event/2", "epoch": 1, "started": 0, "reset_count": 1 << 32, "restart_count": 0}),
               cbor.dumps({"format": "parley/epoch-event/2", "epoch": 1, "started": 0, "reset_count": 0}),
               B.launch_event({**plat.claims, "public_key": b"short"}),
               B.launch_event({**plat.claims, "extra": 1}),
               B.launch_event({**plat.claims, "job": "bad job"}),
               cbor.dumps({"format": "parley/launch-event/1", **plat.claims, "sandbox": {}}),
               b"\x00" * (8 << 10 + 1)):
        events = [plat.events[0], ev]
        pcrs = {**plat.pcrs, 13: B.replay_launch(events)}
        assert codes(plat.evidence(nonce, events=events, pcrs=pcrs), nonce, pol) == ("refused", ["unparseable"])


def test_more_than_4096_events_is_unparseable(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    events = [plat.events[0]] * 4097
    assert codes(plat.evidence(nonce, events=events), nonce, write_policy(tmp_path, plat)) == ("refused", ["unparseable"])


# ---- the TPM structure parsers ------------------------------------------------------------------

def test_parsers_read_hand_built_structures():
    k = ec.generate_private_key(ec.SECP256R1())
    pub = tpm.parse_public(B.public_area(k.public_key()))
    assert pub.curve == tpm.CURVE_NIST_P256 and pub.scheme == tpm.ALG_ECDSA and pub.attributes == B.AK_ATTRIBUTES
    assert tpm.ak_spki(pub) == B.spki(k.public_key())
    a = tpm.parse_attest(B.attest(b"n" * 32, {0: bytes(32), 13: bytes(32)}, reset=4, restart=7))
    assert (a.magic, a.type, a.extra_data, a.reset_count, a.restart_count) == (0xFF544347, 0x8018, b"n" * 32, 4, 7)
    assert a.pcr_selection[0].indices == [0, 13] and len(a.pcr_digest) == 32
    s = tpm.parse_signature(B.signature(k, b"m"))
    assert s.hash == tpm.ALG_SHA256 and len(s.r) == len(s.s) == 32


def test_every_truncation_and_trailing_byte_is_refused():
    k = ec.generate_private_key(ec.SECP256R1())
    for parse, data in ((tpm.parse_attest, B.attest(b"n" * 32, {13: bytes(32)})), (tpm.parse_signature, B.signature(k, b"m")),
                        (tpm.parse_public, B.public_area(k.public_key()))):
        for cut in range(len(data)):
            with pytest.raises(tpm.TPMParseError):
                parse(data[:cut])
        with pytest.raises(tpm.TPMParseError, match="trailing"):
            parse(data + b"\0")


def test_caps_are_enforced_before_reading():
    with pytest.raises(tpm.TPMParseError, match="cap of 2048"):
        tpm.parse_attest(bytes(2049))
    with pytest.raises(tpm.TPMParseError, match="cap of 64"):   # extraData
        tpm.parse_attest(B.u32(0xFF544347) + B.u16(0x8018) + B.tpm2b(b"") + B.u16(65) + bytes(65))
    with pytest.raises(tpm.TPMParseError, match="cap of 66"):   # qualifiedSigner
        tpm.parse_attest(B.u32(0xFF544347) + B.u16(0x8018) + B.u16(67) + bytes(67))
    head = B.u32(0xFF544347) + B.u16(0x8018) + B.tpm2b(b"") + B.tpm2b(b"") + bytes(17) + bytes(8)
    with pytest.raises(tpm.TPMParseError, match="17 banks"):
        tpm.parse_attest(head + B.u32(17))
    with pytest.raises(tpm.TPMParseError, match="bitmap of 5"):
        tpm.parse_attest(head + B.u32(1) + B.u16(0x0B) + b"\x05" + bytes(5))
    with pytest.raises(tpm.TPMParseError, match="TPMI_YES_NO"):
        tpm.parse_attest(B.u32(0xFF544347) + B.u16(0x8018) + B.tpm2b(b"") + B.tpm2b(b"") + bytes(16) + b"\x02" + bytes(8))
    with pytest.raises(tpm.TPMParseError, match="cap of 512"):
        tpm.parse_signature(bytes(513))
    with pytest.raises(tpm.TPMParseError, match="cap of 66"):
        tpm.parse_signature(B.u16(0x18) + B.u16(0x0B) + B.u16(67) + bytes(67))
    with pytest.raises(tpm.TPMParseError, match="empty"):
        tpm.parse_signature(B.u16(0x18) + B.u16(0x0B) + B.tpm2b(b"") + B.tpm2b(b"\1"))
    with pytest.raises(tpm.TPMParseError, match="cap of 1024"):
        tpm.parse_public(bytes(1025))
    with pytest.raises(tpm.TPMParseError, match="over the cap"):
        tpm.UnverifiedQuote.parse(b"", b"", b"", {i: b"" for i in range(65)})


def test_unsupported_algorithms_are_named():
    with pytest.raises(tpm.TPMParseError, match="only ecdsa"):
        tpm.parse_signature(B.u16(0x0014) + B.u16(0x0B) + B.tpm2b(b"\1") + B.tpm2b(b"\1"))
    rsa = B.u16(0x0001) + bytes(20)
    with pytest.raises(tpm.TPMParseError, match="only ecc"):
        tpm.parse_public(B.tpm2b(rsa))
    k = ec.generate_private_key(ec.SECP256R1()).public_key()
    area = bytearray(B.public_area(k)[2:])
    bad_scheme = bytes(area[:12]) + B.u16(0x0099) + bytes(area[14:])
    with pytest.raises(tpm.TPMParseError, match="ECC scheme"):
        tpm.parse_public(B.tpm2b(bad_scheme))
    bad_sym = bytes(area[:10]) + B.u16(0x0099) + bytes(area[12:])
    with pytest.raises(tpm.TPMParseError, match="symmetric"):
        tpm.parse_public(B.tpm2b(bad_sym))
    bad_kdf = bytes(area[:18]) + B.u16(0x0099) + bytes(area[20:])
    with pytest.raises(tpm.TPMParseError, match="KDF"):
        tpm.parse_public(B.tpm2b(bad_kdf))


def test_structures_that_do_not_parse_are_integrity_tpm_quote(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    pol = write_policy(tmp_path, plat)
    for change in ({"attest": b"\x00"}, {"signature": b"\x00"}, {"ak_public": b"\x00"}):
        assert codes(plat.evidence(nonce, **change), nonce, pol) == ("refused", ["integrity.tpmQuote"])


# ---- stage 2: the quote -------------------------------------------------------------------------

def test_quote_failures_each_named(plat):
    nonce = secrets.token_bytes(32)
    K = tpm.QuoteFailureKind

    def kinds(a, key=plat.ak, pub=None, pcrs=None, sig=None):
        q = tpm.UnverifiedQuote.parse(a, sig or B.signature(key, a), pub or B.public_area(plat.ak.public_key()), pcrs or plat.pcrs)
        return [f.kind for f in tpm.verify_quote(q, nonce)]

    good = B.attest(nonce, plat.pcrs)
    assert kinds(good) == []
    assert kinds(good, key=ec.generate_private_key(ec.SECP256R1())) == [K.SIGNATURE_INVALID]
    assert kinds(B.attest(nonce, plat.pcrs, magic=0xFF544348)) == [K.WRONG_MAGIC]
    assert kinds(B.attest(nonce, plat.pcrs, typ=0x8017)) == [K.WRONG_TYPE]
    assert kinds(B.attest(b"x" * 32, plat.pcrs)) == [K.NONCE_MISMATCH]
    unrestricted = B.public_area(plat.ak.public_key(), attributes=B.AK_ATTRIBUTES & ~(1 << 16))
    assert kinds(good, pub=unrestricted) == [K.ATTRIBUTES_MISSING]
    assert kinds(good, pub=B.public_area(plat.ak.public_key(), curve=0x0004)) == [K.ATTESTATION_KEY_UNSUPPORTED]
    assert kinds(good, pub=B.public_area(plat.ak.public_key(), scheme_hash=0x000C)) == [K.ATTESTATION_KEY_UNSUPPORTED]
    assert kinds(good, sig=B.signature(plat.ak, good, hash_alg=0x0004)) == [K.SIGNATURE_HASH_UNSUPPORTED]
    assert kinds(good, pcrs={**plat.pcrs, 14: bytes(32)}) == [K.PCR_NOT_QUOTED]
    assert kinds(good, pcrs={i: v for i, v in plat.pcrs.items() if i != 4}) == [K.PCR_NOT_SUPPLIED]
    assert kinds(good, pcrs={**plat.pcrs, 4: bytes(20)}) == [K.PCR_VALUE_MALFORMED]
    assert kinds(good, pcrs={**plat.pcrs, 4: b"\x44" * 32}) == [K.PCR_DIGEST_MISMATCH]
    assert kinds(B.attest(nonce, plat.pcrs, bank=0x0004)) == [K.PCR_UNEXPECTED_BANK] + [K.PCR_NOT_QUOTED] * len(plat.pcrs)
    # Several at once: every one, in order.
    assert kinds(B.attest(b"x" * 32, plat.pcrs, magic=1, typ=0x8017), key=ec.generate_private_key(ec.SECP256R1())) == \
        [K.SIGNATURE_INVALID, K.WRONG_MAGIC, K.WRONG_TYPE, K.NONCE_MISMATCH]


def test_quote_refusals_as_reason_codes(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    pol = write_policy(tmp_path, plat)
    assert codes(plat.evidence(secrets.token_bytes(32)), nonce, pol) == ("refused", ["integrity.nonceMismatch"])
    assert codes(plat.evidence(nonce, nonce=b"other"), nonce, pol) == ("refused", ["integrity.nonceMismatch"])
    other = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "other").mkdir()
    other_pol = write_policy(tmp_path / "other", plat, ak=other.public_key())
    assert codes(plat.evidence(nonce), nonce, other_pol) == ("refused", ["integrity.attestationKeyNotPinned"])
    assert codes(plat.evidence(nonce, signing_ak=other), nonce, pol) == ("refused", ["integrity.tpmQuote"])
    assert codes(plat.evidence(nonce, pcrs={**plat.pcrs, 4: b"\x44" * 32}, quoted_pcrs=plat.pcrs), nonce, pol) == \
        ("refused", ["integrity.tpmQuote"])
    both = codes(plat.evidence(secrets.token_bytes(32), signing_ak=other), nonce, other_pol)
    assert both == ("refused", ["integrity.attestationKeyNotPinned", "integrity.tpmQuote", "integrity.nonceMismatch"])


# ---- stage 2: the launch log --------------------------------------------------------------------

def relog(plat, nonce, events, **kw):
    pcrs = {**plat.pcrs, 13: B.replay_launch(events)}
    return plat.evidence(nonce, events=events, pcrs=pcrs, **kw)


def test_launch_pcr_not_quoted(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    pcrs = {i: v for i, v in plat.pcrs.items() if i != 13}
    pcrs[23] = plat.pcrs[13]  # the old design: a PCR locality 0 can reset
    assert codes(plat.evidence(nonce, pcrs=pcrs), nonce, write_policy(tmp_path, plat)) == ("refused", ["integrity.launchPCRNotQuoted"])


def test_flipped_dropped_reordered_inserted_events_do_not_replay(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    pol = write_policy(tmp_path, plat)
    other = B.launch_event(B.launch_claims(job="job-2"))
    for events in ([plat.events[0]], [plat.events[1], plat.events[0]], plat.events + [other],
                   [plat.events[0], B.launch_event({**plat.claims, "debug": True})]):
        assert codes(plat.evidence(nonce, events=events), nonce, pol) == ("refused", ["integrity.eventLogDoesNotReplay"])


def test_log_without_epoch_and_epoch_from_another_boot(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    pol = write_policy(tmp_path, plat)
    assert codes(relog(plat, nonce, [plat.events[1]]), nonce, pol) == ("refused", ["integrity.eventLogWithoutEpoch"])
    assert codes(relog(plat, nonce, []), nonce, pol) == ("refused", ["integrity.eventLogWithoutEpoch"])
    for events in ([B.epoch_event(reset=1), plat.events[1]], [B.epoch_event(), B.epoch_event(restart=2), plat.events[1]],
                   [B.epoch_event(reset=1, restart=0), B.epoch_event(reset=0), plat.events[1]]):
        assert codes(relog(plat, nonce, events), nonce, pol) == ("refused", ["integrity.epochFromAnotherBoot"])
    # After a Resume: a second epoch event with the quote's restart count continues the epoch.
    p2 = B.Platform(restart=1)
    p2.events = [B.epoch_event(restart=0), p2.events[1], B.epoch_event(restart=1)]
    p2.pcrs[13] = B.replay_launch(p2.events)
    assert codes(p2.evidence(nonce), nonce, write_policy(tmp_path, p2))[0] == "trusted"


def test_launch_event_missing_duplicated_and_key_mismatch(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    pol = write_policy(tmp_path, plat)
    assert codes(relog(plat, nonce, [plat.events[0]]), nonce, pol) == ("refused", ["integrity.launchEventMissing"])
    assert codes(relog(plat, nonce, plat.events + [plat.events[1]]), nonce, pol) == ("refused", ["integrity.launchEventDuplicated"])
    assert codes(plat.evidence(nonce, public_key=os.urandom(32)), nonce, pol) == ("refused", ["integrity.keyMismatch"])
    assert codes(plat.evidence(nonce, job="job-9"), nonce, pol) == ("refused", ["integrity.launchEventMissing"])


# ---- stage 2: platform replay -------------------------------------------------------------------

def test_boot_log_changes_name_the_pcr_and_its_events(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    pol = write_policy(tmp_path, plat)
    header, events = B.boot_log_parts(plat.boot_log)
    on1 = [i for i, e in enumerate(events) if e[0] == 1 and e[1] != 3]
    flipped = list(events)
    pcr, typ, d, data = flipped[on1[0]]
    flipped[on1[0]] = (pcr, typ, {**d, 0x000B: bytes([d[0x000B][0] ^ 1]) + d[0x000B][1:]}, data)
    reordered = list(events)
    reordered[on1[0]], reordered[on1[1]] = reordered[on1[1]], reordered[on1[0]]
    dropped = [e for i, e in enumerate(events) if i != max(i for i, e in enumerate(events) if e[0] == 7 and e[1] != 3)]
    for log, want in ((flipped, 1), (reordered, 1), (dropped, 7)):
        v = judge(plat.evidence(nonce, boot_log=B.encode_boot_log(header, log)), nonce, pol)
        assert v.codes == ["integrity.platformReplay.bootPCRMismatch"], v.codes
        assert f"PCR {want}" in v.reasons[0].message
    r = platform.replay_boot(platform.parse_boot_log(B.encode_boot_log(header, flipped)), plat.pcrs)
    assert r[0].pcr == 1 and list(r[0].events) == [i + 1 for i in on1]  # numbered from the header as 0


def test_legacy_sha1_log_has_no_sha256_bank(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    legacy = B.le32(0) + B.le32(8) + bytes(20) + B.le32(0)
    assert codes(plat.evidence(nonce, boot_log=legacy), nonce, write_policy(tmp_path, plat)) == \
        ("refused", ["integrity.platformReplay.bootBankMissing"])


def test_platform_pcrs_not_quoted(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    pcrs = {i: v for i, v in plat.pcrs.items() if i not in (3, 10)}
    assert codes(plat.evidence(nonce, pcrs=pcrs), nonce, write_policy(tmp_path, plat)) == \
        ("refused", ["integrity.platformReplay.pcrNotQuoted", "integrity.platformReplay.pcrNotQuoted"])


def test_ima_replay_failures(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    pol = write_policy(tmp_path, plat)
    entries = plat.ima_entries
    assert codes(plat.evidence(nonce, ima_log=b"".join(entries[:2])), nonce, pol) == ("refused", ["integrity.platformReplay.imaPCRMismatch"])
    wrong = B.ima_entry("/bin/x", bytes(32), template_digest=b"\x01" * 20)
    assert codes(plat.evidence(nonce, ima_log=b"".join(entries) + wrong), nonce, pol) == \
        ("refused", ["integrity.platformReplay.imaTemplateDigestMismatch"])
    outside = B.ima_entry("/bin/x", bytes(32), pcr=11)
    assert codes(plat.evidence(nonce, ima_log=b"".join(entries) + outside), nonce, pol) == \
        ("refused", ["integrity.platformReplay.imaEntryOutsidePCR10"])
    many = b"".join(entries) + wrong * 40
    assert codes(plat.evidence(nonce, ima_log=many), nonce, pol)[1] == ["integrity.platformReplay.imaTemplateDigestMismatch"] * 16
    # Boot and IMA failures together: boot first.
    header, events = B.boot_log_parts(plat.boot_log)
    bad_boot = B.encode_boot_log(header, events[:-1])
    got = codes(plat.evidence(nonce, ima_log=b"".join(entries[:2]), boot_log=bad_boot), nonce, pol)[1]
    assert got[-1] == "integrity.platformReplay.imaPCRMismatch" and set(got[:-1]) == {"integrity.platformReplay.bootPCRMismatch"}


def test_ima_list_may_run_ahead_of_the_quote(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    later = B.ima_entry("/usr/bin/measured-after-the-quote", bytes(32))
    v = judge(plat.evidence(nonce, ima_log=plat.ima_log + later), nonce, write_policy(tmp_path, plat))
    assert v.trusted, v.codes  # the entry after the quoted prefix is neither trusted nor appraised
    r = platform.replay_ima(platform.parse_ima_list(plat.ima_log + later), plat.pcrs)
    assert len(r.entries) == 3 and r.unquoted == 1


# ---- stage 3: platform appraisal ----------------------------------------------------------------

def platform_codes(tmp_path, plat, nonce=None, reference=True, **kw):
    nonce = nonce or secrets.token_bytes(32)
    return codes(plat.evidence(nonce), nonce, write_policy(tmp_path, plat, reference=reference), **kw)


def test_boot_pcr_not_reference(tmp_path, plat):
    boot = {str(i): plat.pcrs[i].hex() for i in range(8)}
    boot["2"] = (b"\x09" * 32).hex()
    assert platform_codes(tmp_path, plat, reference={"boot": boot}) == ("refused", ["appraisal.platform.bootPCRNotReference"])


def test_executable_and_digest_not_allowed(tmp_path):
    plat = B.Platform(extra_ima=[B.ima_entry("/usr/bin/python3", hashlib.sha256(b"an interpreter").digest())])
    assert platform_codes(tmp_path, plat) == ("refused", ["appraisal.platform.executableNotAllowed"])
    plat = B.Platform(extra_ima=[B.ima_entry(B.HOST_PATH, hashlib.sha256(b"a rebuilt host").digest())])
    assert platform_codes(tmp_path, plat) == ("refused", ["appraisal.platform.digestNotAllowed"])
    plat = B.Platform(extra_ima=[B.ima_entry("/tmp/excluded/tool", bytes(32))])
    assert platform_codes(tmp_path, plat, reference={"excludes": ["/tmp/excluded/"]})[0] == "trusted"


def test_violation_and_unappraisable_templates(tmp_path):
    plat = B.Platform(extra_ima=[B.ima_entry("/var/log/written", bytes(32), violation=True)])
    assert platform_codes(tmp_path, plat) == ("refused", ["appraisal.platform.imaViolation"])
    plat = B.Platform(extra_ima=[B.ima_entry("kexec-cmdline", bytes(32), template="ima-buf")])
    # ima-buf carries three fields; the builder's two-field entry does not decode as ima-buf
    assert platform_codes(tmp_path, plat) == ("refused", ["appraisal.platform.templateNotAppraisable"])
    fields = [b"sha256:\0" + bytes(32), b"kexec-cmdline\0", b"buffer"]
    data = b"".join(B.le32(len(f)) + f for f in fields)
    buf = B.le32(10) + hashlib.sha1(data).digest() + B.le32(7) + b"ima-buf" + B.le32(len(data)) + data
    plat = B.Platform(extra_ima=[buf])
    assert platform_codes(tmp_path, plat) == ("refused", ["appraisal.platform.templateNotAppraisable"])
    assert platform_codes(tmp_path, plat, reference={"excludes": ["kexec-"]})[0] == "trusted"


def test_required_not_measured(tmp_path, plat):
    missing = hashlib.sha256(b"another worker").hexdigest()
    host = hashlib.sha256(B.HOST_BYTES).hexdigest()
    assert platform_codes(tmp_path, plat, reference={"required": [host, missing]}) == \
        ("refused", ["appraisal.platform.requiredNotMeasured"])


def test_boot_aggregate_refusals(tmp_path):
    assert platform_codes(tmp_path, B.Platform(aggregate=b"\x5a" * 32)) == ("refused", ["appraisal.platform.bootAggregate.mismatch"])
    assert platform_codes(tmp_path, B.Platform(aggregate="omitted")) == ("refused", ["appraisal.platform.bootAggregate.missing"])
    late = B.Platform(aggregate="omitted", extra_ima=[B.ima_entry("boot_aggregate", b"\x07" * 32)])
    digests = {B.HOST_PATH: [hashlib.sha256(B.HOST_BYTES).hexdigest()], B.WORKER_PATH: [hashlib.sha256(B.WORKER_BYTES).hexdigest()],
               "boot_aggregate": [(b"\x07" * 32).hex()]}
    assert platform_codes(tmp_path, late, reference={"digests": digests, "excludes": ["boot_aggregate"]}) == \
        ("refused", ["appraisal.platform.bootAggregate.missing", "appraisal.platform.executableNotAllowed"])
    sha1 = B.Platform(aggregate="omitted")
    sha1.ima_entries.insert(0, B.ima_entry("boot_aggregate", bytes(20), algorithm="sha1"))
    pcr10 = bytes(32)
    for e in sha1.ima_entries:
        pcr10 = B.ima_extend(pcr10, e)
    sha1.pcrs[10] = pcr10
    assert platform_codes(tmp_path, sha1) == ("refused", ["appraisal.platform.bootAggregate.bankNotQuoted"])
    # A quote from before the selection grew to 0-10 lacks PCRs 8 and 9.
    old = B.Platform()
    nonce = secrets.token_bytes(32)
    pcrs = {i: v for i, v in old.pcrs.items() if i not in (8, 9)}
    assert codes(old.evidence(nonce, pcrs=pcrs), nonce, write_policy(tmp_path, old)) == \
        ("refused", ["appraisal.platform.bootAggregate.pcrNotQuoted"])


def test_at_most_32_platform_failures(tmp_path):
    extra = [B.ima_entry(f"/usr/bin/tool{i}", bytes(32)) for i in range(50)]
    got = platform_codes(tmp_path, B.Platform(extra_ima=extra))[1]
    assert got == ["appraisal.platform.executableNotAllowed"] * 32


# ---- the platform log parsers -------------------------------------------------------------------

def test_boot_log_fixtures_parse_and_bogus_is_refused():
    for name in ("go-attestation-crypto_agile_eventlog", "go-attestation-sb_cert_eventlog", "keylime-binary_bios_measurements",
                 "keylime-binary_bios_measurements-secureboot"):
        with open(os.path.join(B.FIXTURES, "boot", name), "rb") as f:
            log = platform.parse_boot_log(f.read())
        assert "sha256" in log.banks and log.events, name
    with open(os.path.join(B.FIXTURES, "boot", "go-attestation-short_no_action_eventlog"), "rb") as f:
        short = platform.parse_boot_log(f.read())
    assert short.banks == ["sha1"] and short.startup_locality == 3 and short.replayed("sha256") is None
    with open(os.path.join(B.FIXTURES, "boot", "keylime-binary_bios_measurements-bogus"), "rb") as f:
        with pytest.raises(platform.PlatformParseError):
            platform.parse_boot_log(f.read())


def test_boot_log_refusals():
    with open(B.BOOT_LOG_FIXTURE, "rb") as f:
        raw = f.read()
    header, events = B.boot_log_parts(raw)
    with pytest.raises(platform.PlatformParseError, match="over the cap"):
        platform.parse_boot_log(bytes((2 << 20) + 1))
    first = len(B.encode_boot_log(b"", events[:1]))
    for cut in list(range(1, len(header))) + list(range(len(header) + 1, len(header) + first)):
        with pytest.raises(platform.PlatformParseError):
            platform.parse_boot_log(raw[:cut])
    with pytest.raises(platform.PlatformParseError, match="PCR 24"):
        platform.parse_boot_log(B.encode_boot_log(header, [(24, 1, events[0][2], b"")]))
    with pytest.raises(platform.PlatformParseError, match="digests; the header"):
        platform.parse_boot_log(B.encode_boot_log(header, [(0, 1, {}, b"")]))
    with pytest.raises(platform.PlatformParseError, match="over the cap"):
        platform.parse_boot_log(header + struct.pack("<III", 0, 1, len(events[0][2])) +
                                b"".join(struct.pack("<H", a) + d for a, d in events[0][2].items()) + B.le32((256 << 10) + 1))
    with pytest.raises(platform.PlatformParseError, match="more than 8192"):
        platform.parse_boot_log(B.encode_boot_log(header, [(1, 1, events[0][2], b"")] * 8193))
    spec = bytearray(header[32:])
    spec[24:28] = struct.pack("<I", 9)
    with pytest.raises(platform.PlatformParseError, match="9 algorithms"):
        platform.parse_boot_log(header[:32] + bytes(spec))
    spec = bytearray(header[32:])
    spec[28:30] = struct.pack("<H", 0x0012)
    with pytest.raises(platform.PlatformParseError, match="does not know"):
        platform.parse_boot_log(header[:32] + bytes(spec))
    loc = (0, 3, events[0][2], b"StartupLocality\0\x03")
    ext = (0, 1, events[0][2], b"")
    with pytest.raises(platform.PlatformParseError, match="after an extend"):
        platform.parse_boot_log(B.encode_boot_log(header, [ext, loc]))
    with pytest.raises(platform.PlatformParseError, match="two StartupLocality"):
        platform.parse_boot_log(B.encode_boot_log(header, [loc, loc]))
    log = platform.parse_boot_log(B.encode_boot_log(header, [loc, ext]))
    assert log.startup_locality == 3 and log.initial(0, "sha256") == bytes(31) + b"\x03"


def test_ima_list_refusals():
    e = B.ima_entry("/bin/x", bytes(32))
    for cut in range(1, len(e)):
        with pytest.raises(platform.PlatformParseError):
            platform.parse_ima_list(e[:cut])
    with pytest.raises(platform.PlatformParseError, match="over the cap"):
        platform.parse_ima_list(bytes((32 << 20) + 1))
    with pytest.raises(platform.PlatformParseError, match="PCR 24"):
        platform.parse_ima_list(B.le32(24) + e[4:])
    with pytest.raises(platform.PlatformParseError, match="legacy"):
        platform.parse_ima_list(B.le32(10) + bytes(20) + B.le32(3) + b"ima" + B.le32(0))
    with pytest.raises(platform.PlatformParseError, match="cap of 32"):
        platform.parse_ima_list(B.le32(10) + bytes(20) + B.le32(33) + b"x" * 33 + B.le32(0))
    with pytest.raises(platform.PlatformParseError, match="not text"):
        platform.parse_ima_list(B.le32(10) + bytes(20) + B.le32(0) + B.le32(0))
    with pytest.raises(platform.PlatformParseError, match="cap of 65536"):
        platform.parse_ima_list(B.le32(10) + bytes(20) + B.le32(6) + b"ima-ng" + B.le32(65537))
    entry = platform.parse_ima_list(e).entries[0]
    assert entry.content == platform.IMAContent("file", "/bin/x", "sha256", bytes(32))
    bad = B.ima_entry("/bin/x", bytes(20))  # a sha256 digest of 20 bytes does not decode
    assert platform.parse_ima_list(bad).entries[0].content.kind == "undecoded"


# ---- the policy's reference values --------------------------------------------------------------

@pytest.mark.parametrize("key,content,why", [
    ("boot_reference", '{"format": "parley/boot-reference/1", "bank": "sha1", "pcrs": {}}', "boot reference must be"),
    ("boot_reference", '{"format": "parley/boot-reference/1", "bank": "sha256", "pcrs": {"0": "00"}}', "each of PCRs 0-7"),
    ("boot_reference", '{"format": "parley/boot-reference/1", "bank": "sha256", "pcrs": {}, "x": 1}', "boot reference must be"),
    ("boot_reference", "not json", "boot reference must be"),
    ("runtime_policy", '{"digests": {"/a": []}}', "non-empty array"),
    ("runtime_policy", '{"digests": {"/a": ["zz"]}}', "not a SHA-1/256/384/512"),
    ("runtime_policy", '{"excludes": []}', 'no "digests"'),
    ("runtime_policy", '{"digests": {}, "unknown": 1}', "unknown field"),
    ("runtime_policy", '{"digests": {}, "excludes": ["("]}', "not a valid regular expression"),
    ("runtime_policy", '{"digests": {}, "excludes": [1]}', "excludes must be"),
    ("runtime_policy", "[]", "not a JSON object"),
])
def test_reference_value_refusals_name_the_key(tmp_path, plat, key, content, why):
    pol = write_policy(tmp_path, plat)
    (tmp_path / ("boot-reference.json" if key == "boot_reference" else "runtime-policy.json")).write_text(content)
    with pytest.raises(ParleyError) as e:
        Policy.load(pol)
    assert e.value.code == "malformed" and f"{key}:" in e.value.message and why in e.value.message


def test_policy_reference_keys_go_together_and_required_is_checked(tmp_path, plat):
    write_policy(tmp_path, plat)
    base = (tmp_path / "policy.toml").read_text()
    for drop in ("boot_reference", "runtime_policy", "required_measured"):
        (tmp_path / "p.toml").write_text("".join(l + "\n" for l in base.splitlines() if not l.startswith(drop)))
        with pytest.raises(ParleyError, match="go together"):
            Policy.load(str(tmp_path / "p.toml"))
    for bad, why in (('["abc"]', "hex file digest"), ("[]", "required_measured must list")):
        (tmp_path / "p.toml").write_text("".join((f"required_measured = {bad}" if l.startswith("required_measured") else l) + "\n"
                                                 for l in base.splitlines()))
        with pytest.raises(ParleyError, match=why):
            Policy.load(str(tmp_path / "p.toml"))
    (tmp_path / "p.toml").write_text("".join(l + "\n" for l in base.splitlines() if l.split(" ")[0] not in
                                             ("boot_reference", "runtime_policy", "required_measured")))
    with pytest.raises(ParleyError, match="allow_unappraised_tpm"):
        Policy.load(str(tmp_path / "p.toml"))
    p = Policy.load(str(tmp_path / "policy.toml"))
    assert p.platform.boot[0] == plat.pcrs[0] and B.HOST_PATH in p.platform.runtime.digests
    assert p.platform.runtime.digests[B.WORKER_PATH] == {hashlib.sha256(B.WORKER_BYTES).hexdigest()}  # "sha256:" read past


def test_a_pinned_key_that_is_not_p256_or_p384_is_refused(tmp_path, plat):
    pol = write_policy(tmp_path, plat, ak=ec.generate_private_key(ec.SECP521R1()).public_key())
    with pytest.raises(ParleyError, match="tpm_ak: .* is not a P-256 or P-384 public key"):
        Policy.load(pol)


def test_a_software_policy_pinning_the_ak_refuses_tpm_evidence_as_the_wrong_tier(tmp_path, plat):
    nonce = secrets.token_bytes(32)
    p = Policy.load(write_policy(tmp_path, plat))
    p.quote = "software"
    v = evidence.verify(plat.evidence(nonce), nonce, p)
    assert v.codes == ["appraisal.wrongTier"]  # and no platform step: that is the tpm tier's


# ---- a quote made by tpm2-tools, an independent implementation ----------------------------------
# Provenance: Tests/ParleyTPMVerifyTests/Fixtures/TPMToolsQuoteFixture.swift, generated by
# Scripts/make-tpm-tools-quote-fixture.sh (tpm2_createprimary -C e, tpm2_quote 5.4 -l sha256:16,23
# against swtpm 0.7.1). PCR 16 is zero; PCR 23 = extend(0, SHA-256("parley fixture launch event")).
TOOLS_NONCE = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
TOOLS_AK = bytes.fromhex("00580023000b00050072000000100018000b0003001000208e3fc42b87e8c65b58684ddd61a7112e7ca3a57b8a5379813ab36036"
                         "2ee06b890020bdcae42f439acefbceb7089fda4f247e32ebf5334360817727d6932af619bca1")
TOOLS_ATTEST = bytes.fromhex("ff54434780180022000b2d7b8d0541ed9f9828da6061ca1484891fb962c7f8c828576f33328f2290051f00200001020304050607"
                             "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0000000000000032000000010000000001201910230016363600000001"
                             "000b030000810020fddec4890088c945aecba211df1bcf037d77738d54b7d97f53907aaa4284b1e4")
TOOLS_SIG = bytes.fromhex("0018000b0020872cce385866c7d5a47669fc6209f99c9867e83d09edea8852b315876fba7eaf0020401ae532bda8a7d66b2dc0f19ac8"
                          "e488e9776b55381ff697f4c3c57f71a6efff")
TOOLS_PCRS = {16: bytes(32), 23: bytes.fromhex("e50b6dbb4e94131e88840a62aa6ed3051623ff8a82ab31aee4931d2cc6828790")}


def tools_kinds(attest=TOOLS_ATTEST, pcrs=TOOLS_PCRS, nonce=TOOLS_NONCE):
    return [f.kind for f in tpm.verify_quote(tpm.UnverifiedQuote.parse(attest, TOOLS_SIG, TOOLS_AK, pcrs), nonce)]


def test_a_tpm2_tools_quote_verifies():
    assert tools_kinds() == []
    assert TOOLS_PCRS[23] == hashlib.sha256(bytes(32) + hashlib.sha256(b"parley fixture launch event").digest()).digest()
    q = tpm.UnverifiedQuote.parse(TOOLS_ATTEST, TOOLS_SIG, TOOLS_AK, TOOLS_PCRS)
    assert q.attestation.pcr_selection[0].indices == [16, 23] and q.key.attributes == B.AK_ATTRIBUTES


def test_tpm2_tools_quote_refusals():
    K = tpm.QuoteFailureKind
    assert tools_kinds(nonce=bytes(32)) == [K.NONCE_MISMATCH]
    assert tools_kinds(pcrs={**TOOLS_PCRS, 16: b"\x01" * 32}) == [K.PCR_DIGEST_MISMATCH]
    assert tools_kinds(pcrs={23: TOOLS_PCRS[23]}) == [K.PCR_NOT_SUPPLIED]


def test_every_bit_flip_of_the_tools_attest_is_refused():
    for i in range(len(TOOLS_ATTEST)):
        for bit in range(8):
            mutated = TOOLS_ATTEST[:i] + bytes([TOOLS_ATTEST[i] ^ (1 << bit)]) + TOOLS_ATTEST[i + 1:]
            try:
                kinds = tools_kinds(attest=mutated)
            except tpm.TPMParseError:
                continue
            assert kinds, (i, bit)


def test_random_input_never_escapes_the_parsers_as_anything_but_a_parse_error():
    import random
    rng = random.Random(0x5041524C4559)
    for _ in range(3000):
        data = bytearray(rng.choice((TOOLS_ATTEST, TOOLS_AK, TOOLS_SIG)))
        data = data[:rng.randint(0, len(data))]
        for _ in range(rng.randint(0, 4)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        for parse in (tpm.parse_attest, tpm.parse_public, tpm.parse_signature):
            try:
                parse(bytes(data))
            except tpm.TPMParseError:
                pass
    for _ in range(300):
        blob = bytes(rng.randrange(256) for _ in range(rng.randint(0, 400)))
        for parse in (platform.parse_boot_log, platform.parse_ima_list):
            try:
                parse(blob)
            except platform.PlatformParseError:
                pass


def test_mutated_real_logs_never_escape_the_parsers_as_anything_but_a_parse_error():
    import random
    rng = random.Random(17)
    with open(B.BOOT_LOG_FIXTURE, "rb") as f:
        boot = f.read()
    ima = B.Platform().ima_log
    for _ in range(400):
        for parse, base in ((platform.parse_boot_log, boot), (platform.parse_ima_list, ima)):
            data = bytearray(base[:rng.randint(0, len(base))])
            for _ in range(rng.randint(1, 6)):
                if data:
                    data[rng.randrange(len(data))] = rng.randrange(256)
            try:
                log = parse(bytes(data))
            except platform.PlatformParseError:
                continue
            if isinstance(log, platform.IMAList):
                [e.content for e in log.entries]   # decoding never raises either


def test_reference_files_refuse_a_repeated_key_and_read_a_byte_order_mark(tmp_path, plat):
    pol = write_policy(tmp_path, plat)
    text = (tmp_path / "runtime-policy.json").read_text()
    (tmp_path / "runtime-policy.json").write_text(text.rstrip().rstrip("}") + ', "release": 1}')
    with pytest.raises(ParleyError, match='runtime_policy: .*duplicate JSON key "release"'):
        Policy.load(pol)
    (tmp_path / "runtime-policy.json").write_text("\ufeff" + text)
    assert Policy.load(pol).platform is not None
