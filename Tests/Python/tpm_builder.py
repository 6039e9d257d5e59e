"""Builds TPM evidence byte for byte (TPM 2.0 Part 2 marshalling, the TCG PC Client log, the binary
IMA list, Parley's launch log), so each refusal can be shown on evidence that is otherwise intact.
Written from docs/formats.md sections 9-12 and the TPM 2.0 specification; a key of the test's own
plays the attestation key."""
from __future__ import annotations

import hashlib
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from parley_client import cbor

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.abspath(os.path.join(REPO, "..", "shared", "fixtures", "tpm"))
BOOT_LOG_FIXTURE = os.path.join(FIXTURES, "boot", "go-attestation-crypto_agile_eventlog")
AK_ATTRIBUTES = (1 << 1) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 16) | (1 << 18)
QUOTED = list(range(11)) + [13]


def u16(v): return struct.pack(">H", v)
def u32(v): return struct.pack(">I", v)
def u64(v): return struct.pack(">Q", v)
def tpm2b(b): return u16(len(b)) + b
def le32(v): return struct.pack("<I", v)


def public_area(key: ec.EllipticCurvePublicKey, attributes=AK_ATTRIBUTES, curve=0x0003, scheme=0x0018, scheme_hash=0x000B) -> bytes:
    n = key.public_numbers()
    area = (u16(0x0023) + u16(0x000B) + u32(attributes) + tpm2b(b"") + u16(0x0010) + u16(scheme) + u16(scheme_hash)
            + u16(curve) + u16(0x0010) + tpm2b(n.x.to_bytes(32, "big")) + tpm2b(n.y.to_bytes(32, "big")))
    return tpm2b(area)


def selection_bitmap(pcrs) -> bytes:
    b = bytearray(3)
    for i in pcrs:
        b[i // 8] |= 1 << (i % 8)
    return bytes(b)


def attest(nonce: bytes, pcrs: dict, order=None, magic=0xFF544347, typ=0x8018, reset=0, restart=0, bank=0x000B,
           digest: bytes | None = None) -> bytes:
    order = sorted(pcrs) if order is None else order
    digest = hashlib.sha256(b"".join(pcrs[i] for i in order)).digest() if digest is None else digest
    body = u32(1) + u16(bank) + bytes([3]) + selection_bitmap(order) + tpm2b(digest)
    return (u32(magic) + u16(typ) + tpm2b(b"\x00\x0b" + bytes(32)) + tpm2b(nonce) + u64(123456) + u32(reset)
            + u32(restart) + b"\x01" + u64(0x2023) + body)


def signature(key: ec.EllipticCurvePrivateKey, message: bytes, hash_alg=0x000B) -> bytes:
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    return u16(0x0018) + u16(hash_alg) + tpm2b(r.to_bytes(32, "big")) + tpm2b(s.to_bytes(32, "big"))


def spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


# ---- platform logs ------------------------------------------------------------------------------

def ima_entry(path: str, digest: bytes, algorithm="sha256", pcr=10, template="ima-ng", violation=False, template_digest=None) -> bytes:
    fields = [algorithm.encode() + b":\0" + digest, path.encode() + b"\0"]
    if template == "ima-sig":
        fields.append(b"")
    data = b"".join(le32(len(f)) + f for f in fields)
    td = bytes(20) if violation else (template_digest or hashlib.sha1(data).digest())
    return le32(pcr) + td + le32(len(template)) + template.encode() + le32(len(data)) + data


def ima_extend(pcr10: bytes, entry: bytes) -> bytes:
    td = entry[4:24]
    name_len = struct.unpack("<I", entry[24:28])[0]
    data = entry[28 + name_len + 4:]
    d = b"\xff" * 32 if td == bytes(20) else hashlib.sha256(data).digest()
    return hashlib.sha256(pcr10 + d).digest()


def split_ima(raw: bytes) -> list[bytes]:
    """The raw entries of a binary IMA list."""
    out, pos = [], 0
    while pos < len(raw):
        n = struct.unpack("<I", raw[pos + 24:pos + 28])[0]
        d = struct.unpack("<I", raw[pos + 28 + n:pos + 32 + n])[0]
        out.append(raw[pos:pos + 32 + n + d])
        pos += 32 + n + d
    return out


def boot_log_parts(raw: bytes):
    """(header bytes, [(pcr, type, {alg_id: digest}, data)]) of a crypto-agile log."""
    size = struct.unpack("<I", raw[28:32])[0]
    header, pos = raw[:32 + size], 32 + size
    spec = raw[32:32 + size]
    n = struct.unpack("<I", spec[24:28])[0]
    algs = [struct.unpack("<HH", spec[28 + 4 * i:32 + 4 * i]) for i in range(n)]
    events = []
    while pos < len(raw):
        pcr, typ, cnt = struct.unpack("<III", raw[pos:pos + 12])
        pos += 12
        digests = {}
        for _ in range(cnt):
            alg = struct.unpack("<H", raw[pos:pos + 2])[0]
            sz = dict(algs)[alg]
            digests[alg] = raw[pos + 2:pos + 2 + sz]
            pos += 2 + sz
        dsz = struct.unpack("<I", raw[pos:pos + 4])[0]
        events.append((pcr, typ, digests, raw[pos + 4:pos + 4 + dsz]))
        pos += 4 + dsz
    return header, events


def encode_boot_log(header: bytes, events) -> bytes:
    out = header
    for pcr, typ, digests, data in events:
        out += struct.pack("<III", pcr, typ, len(digests))
        for alg, d in digests.items():
            out += struct.pack("<H", alg) + d
        out += le32(len(data)) + data
    return out


def replay_boot_sha256(raw: bytes) -> dict:
    _, events = boot_log_parts(raw)
    pcrs = {i: bytes(32) for i in range(24)}
    for pcr, typ, digests, _ in events:
        if typ != 3:
            pcrs[pcr] = hashlib.sha256(pcrs[pcr] + digests[0x000B]).digest()
    return pcrs


# ---- Parley's launch log ------------------------------------------------------------------------

def epoch_event(epoch=1, reset=0, restart=0) -> bytes:
    return cbor.dumps({"format": "parley/epoch-event/2", "epoch": epoch, "started": 1_780_000_000_000,
                       "reset_count": reset, "restart_count": restart})


def launch_claims(job="job-1", debug=False, runtime=b"\x01" * 48, module=b"\x02" * 48, signer=b"\x03" * 48) -> dict:
    sk = ec.generate_private_key(ec.SECP384R1()).public_key()
    return {"job": job, "measurements": {"runtime": runtime, "module": module, "module_signer": signer},
            "debug": debug, "public_key": os.urandom(32), "signing_key": spki(sk)}


def launch_event(claims: dict) -> bytes:
    return cbor.dumps({"format": "parley/launch-event/1", **claims})


def replay_launch(events) -> bytes:
    pcr = bytes(32)
    for e in events:
        pcr = hashlib.sha256(pcr + hashlib.sha256(e).digest()).digest()
    return pcr


HOST_PATH = "/usr/local/bin/parley"
WORKER_PATH = "/memfd:parley-enclave (deleted)"
HOST_BYTES = b"parley: the reviewed host executable (test stand-in)"
WORKER_BYTES = b"parley-enclave: the reviewed worker executable (test stand-in)"


class Platform:
    """A consistent platform: a real boot log in PCRs 0-7 (and 8-9), an IMA list in PCR 10, a launch
    log in PCR 13, and a key of its own as the attestation key."""

    def __init__(self, extra_ima=(), aggregate="computed", reset=0, restart=0):
        with open(BOOT_LOG_FIXTURE, "rb") as f:
            self.boot_log = f.read()
        self.pcrs = {i: v for i, v in replay_boot_sha256(self.boot_log).items() if i < 10}
        self.ak = ec.generate_private_key(ec.SECP256R1())
        self.reset, self.restart = reset, restart
        agg = hashlib.sha256(b"".join(self.pcrs[i] for i in range(10))).digest()
        entries = []
        if aggregate == "computed":
            entries.append(ima_entry("boot_aggregate", agg))
        elif isinstance(aggregate, bytes):
            entries.append(ima_entry("boot_aggregate", aggregate))
        entries += [ima_entry(HOST_PATH, hashlib.sha256(HOST_BYTES).digest()),
                    ima_entry(WORKER_PATH, hashlib.sha256(WORKER_BYTES).digest())]
        entries += list(extra_ima)
        self.ima_entries = entries
        pcr10 = bytes(32)
        for e in entries:
            pcr10 = ima_extend(pcr10, e)
        self.pcrs[10] = pcr10
        self.claims = launch_claims()
        self.events = [epoch_event(reset=reset, restart=restart), launch_event(self.claims)]
        self.pcrs[13] = replay_launch(self.events)

    @property
    def ima_log(self) -> bytes:
        return b"".join(self.ima_entries)

    def evidence(self, nonce: bytes, /, **overrides) -> bytes:
        """The evidence for `nonce`; an override replaces a field (None removes it). `pcrs` replaces
        the supplied values (the quote is over them too, unless `quoted_pcrs` says otherwise),
        `events` the launch log, `signing_ak` the key that signs."""
        pcrs = overrides.pop("pcrs", None)
        pcrs = dict(self.pcrs) if pcrs is None else pcrs
        quoted = overrides.pop("quoted_pcrs", None)
        quoted = pcrs if quoted is None else quoted
        events = overrides.pop("events", None)
        events = self.events if events is None else events
        try:
            a = attest(nonce, quoted, reset=self.reset, restart=self.restart)
        except (TypeError, IndexError):   # PCR keys no quote could select
            a = attest(nonce, self.pcrs, reset=self.reset, restart=self.restart)
        a = overrides.pop("attest", a) if "attest" in overrides and overrides["attest"] is not None else a
        key = overrides.pop("signing_ak", self.ak)
        m = {"format": "parley/tpm-quote/2", "attest": a, "signature": signature(key, a),
             "ak_public": public_area(self.ak.public_key()), "pcr_bank": "sha256", "pcrs": pcrs,
             "event_log": events, "job": self.claims["job"], "nonce": nonce,
             "public_key": self.claims["public_key"], "signing_key": self.claims["signing_key"],
             "boot_log": self.boot_log, "ima_log": self.ima_log}
        for k, v in overrides.items():
            if v is None:
                m.pop(k, None)
            else:
                m[k] = v
        return cbor.dumps(m)

    def reference_files(self, directory: str, required=None, digests=None, boot=None, excludes=()) -> dict:
        """boot-reference.json and runtime-policy.json of this platform as it is (a known-good host)."""
        import json
        boot = boot or {str(i): self.pcrs[i].hex() for i in range(8)}
        with open(os.path.join(directory, "boot-reference.json"), "w") as f:
            json.dump({"format": "parley/boot-reference/1", "bank": "sha256", "pcrs": boot}, f)
        host, worker = hashlib.sha256(HOST_BYTES).hexdigest(), hashlib.sha256(WORKER_BYTES).hexdigest()
        digests = digests if digests is not None else {HOST_PATH: [host], WORKER_PATH: ["sha256:" + worker]}
        with open(os.path.join(directory, "runtime-policy.json"), "w") as f:
            json.dump({"meta": {"version": 1}, "release": 0, "digests": digests, "excludes": list(excludes), "keyrings": {},
                       "ima": {"ignored_keyrings": []}, "ima-buf": {}, "verification-keys": ""}, f)
        return {"boot_reference": "boot-reference.json", "runtime_policy": "runtime-policy.json",
                "required_measured": required if required is not None else [host, worker]}
