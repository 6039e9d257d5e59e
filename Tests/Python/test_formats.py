"""The client's own formats without a host: the HPKE suite against RFC 9180's vectors, the sealed
stream's refusals (docs/formats.md section 4), and result opening's refusals."""
from __future__ import annotations

import io
import json
import os
import struct

import pytest
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from parley_client import cbor, cose, stream
from parley_client.evidence import Claims
from parley_client.result import ResultRefused, open_result

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_the_hpke_suite_opens_the_rfc9180_vectors():
    """Fixture: Tests/ParleyCoreTests/Fixtures/hpke/rfc9180-vectors.json (RFC 9180 test vectors, source named inside)."""
    with open(os.path.join(REPO, "Tests/ParleyCoreTests/Fixtures/hpke/rfc9180-vectors.json")) as f:
        vectors = [v for v in json.load(f)["vectors"] if (v["mode"], v["kem_id"], v["kdf_id"], v["aead_id"]) == (0, 32, 1, 2)]
    assert vectors
    for v in vectors:
        sk = stream.SUITE.kem.deserialize_private_key(bytes.fromhex(v["skRm"]))
        ctx = stream.SUITE.create_recipient_context(bytes.fromhex(v["enc"]), sk, bytes.fromhex(v["info"]))
        for e in sorted(v["encryptions"], key=lambda e: e["seq"]):
            assert ctx.open(bytes.fromhex(e["ct"]), bytes.fromhex(e["aad"])) == bytes.fromhex(e["pt"])


def _keys():
    sk = x25519.X25519PrivateKey.generate()
    return (sk.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw),
            sk.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption()))


def _frames(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        out.append(data[pos:pos + 4 + n])
        pos += 4 + n
    return out


def _sealed(plaintext: bytes, chunk=16):
    pk, sk = _keys()
    info = stream.upload_info("job-1", "exposures")
    return b"".join(stream.seal_file(io.BytesIO(plaintext), stream.StreamSealer(pk, info, chunk))), sk, info


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 64, 100])
def test_a_stream_round_trips_and_marks_exactly_the_last_chunk_final(n):
    data = os.urandom(n)
    sealed, sk, info = _sealed(data)
    assert stream.open_stream(sealed, sk, info) == data
    assert len(_frames(sealed)) == 1 + max(1, -(-n // 16))  # the header, then ceil(n / 16) chunks, at least one


def test_a_stream_refuses_truncation_reordering_repetition_flips_and_trailing_bytes():
    sealed, sk, info = _sealed(os.urandom(64))
    f = _frames(sealed)
    header, chunks = f[0], f[1:]
    bad = {
        "dropped final": header + b"".join(chunks[:-1]),
        "dropped middle": header + chunks[0] + b"".join(chunks[2:]),
        "reordered": header + chunks[1] + chunks[0] + b"".join(chunks[2:]),
        "repeated": header + chunks[0] + chunks[0] + b"".join(chunks[1:]),
        "trailing": sealed + b"\0",
        "after final": sealed + chunks[-1],
        "other info": None,
        "cut": sealed[:-1],
    }
    for what, data in bad.items():
        with pytest.raises(stream.StreamError):
            stream.open_stream(data if data is not None else sealed, sk,
                               info if data is not None else stream.upload_info("job-1", "purchases"))
            pytest.fail(what)
    for i in range(0, len(sealed), 5):
        flipped = bytearray(sealed)
        flipped[i] ^= 1
        with pytest.raises(stream.StreamError):
            stream.open_stream(bytes(flipped), sk, info)


def test_a_stream_refuses_oversized_frames_before_reading_them():
    sealed, sk, info = _sealed(b"x" * 40)
    header = _frames(sealed)[0]
    with pytest.raises(stream.StreamError, match="longer"):
        stream.open_stream(struct.pack(">I", 257) + bytes(257), sk, info)
    with pytest.raises(stream.StreamError, match="longer"):  # chunk_size 16: a frame over 32 bytes
        stream.open_stream(header + struct.pack(">I", 33) + bytes(33), sk, info)
    with pytest.raises(stream.StreamError, match="unusable"):
        zero = cbor.dumps({"chunk_size": 16, "enc": bytes(32), "format": "parley/stream/1"})
        stream.open_stream(struct.pack(">I", len(zero)) + zero, sk, info)
    with pytest.raises(ValueError):
        stream.StreamSealer(_keys()[0], b"", chunk_size=15)


def _result(**edit):
    doc = {"format": "parley/result/1", "job": "job-1", "query": "conversions", "columns": ["campaign", "buyers"],
           "rows": [["a", 1000]], "suppressed_groups": 0, "mechanism": "laplace", "epsilon": "1", "delta": "0",
           "budget_left": "9", "inputs": {"exposures": bytes(32)}, "timestamp": 1}
    doc.update(edit)
    return {k: v for k, v in doc.items() if v is not None}


def _worker():
    signing = ec.generate_private_key(ec.SECP384R1())
    spki = signing.public_key().public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo)
    return signing, Claims(job="job-1", runtime=bytes(48), module=bytes(48), module_signer=bytes(48), debug=False,
                           public_key=bytes(32), signing_key=spki)


def _seal(doc, signing, receiver_pk, query="conversions", nonce=b"n" * 32, job="job-1"):
    signed = cose.sign(signing, cbor.dumps(doc))
    enc, ctx = stream.SUITE.create_sender_context(stream.SUITE.kem.deserialize_public_key(receiver_pk),
                                                  stream.result_info(job, query, nonce))
    return enc + ctx.seal(signed)


def test_a_genuine_result_opens():
    signing, worker = _worker()
    pk, sk = _keys()
    r = open_result(_seal(_result(), signing, pk), sk, worker, "conversions", b"n" * 32)
    assert r.rows == [["a", 1000]] and r.budget_left == "9" and len(r.signed_sha256) == 32


def test_result_refusals():
    signing, worker = _worker()
    pk, sk = _keys()
    other_signing, _ = _worker()
    cases = [
        ("result.doesNotOpen", _seal(_result(), signing, pk), dict(nonce=b"m" * 32)),
        ("result.doesNotOpen", _seal(_result(), signing, _keys()[0]), {}),
        ("result.doesNotOpen", b"short", {}),
        ("result.notSignedByTheAttestedWorker", _seal(_result(), other_signing, pk), {}),
        ("result.wrongJobOrQuery", _seal(_result(query="reach"), signing, pk), {}),
        ("result.malformed", _seal(_result(extra=1), signing, pk), {}),
        ("result.malformed", _seal(_result(rows=[["a"]]), signing, pk), {}),
        ("result.malformed", _seal(_result(budget_left=None), signing, pk), {}),
        ("result.malformed", _seal(_result(rows=[["a", 1.5]]), signing, pk), {}),
    ]
    for code, sealed, kw in cases:
        with pytest.raises(ResultRefused) as e:
            open_result(sealed, sk, worker, "conversions", kw.get("nonce", b"n" * 32))
        assert e.value.code == code, (code, e.value.message)


def test_matching_lists_only_joins_on_several_identifiers_each_written_earlier_first():
    from parley_client.module import matching
    assert matching("SELECT COUNT(*) FROM e x JOIN p y ON x.email = y.email") == []
    assert matching("SELECT 1 FROM a a JOIN b b ON b.email = a.email OR a.phone = b.phone WHERE a.x > 1") == \
        [["a.email = b.email", "a.phone = b.phone"]]
    assert matching("SELECT 1 FROM c c JOIN a a ON c.e = a.e OR c.p = a.p\nJOIN b b ON b.e = c.e OR c.p = b.p GROUP BY c.t") == \
        [["c.e = a.e", "c.p = a.p"], ["c.e = b.e", "c.p = b.p"]]
