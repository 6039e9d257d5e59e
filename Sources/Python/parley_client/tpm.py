"""TPM 2.0 structures of a quote and their verification (docs/formats.md section 9).

    parse_attest(bytes)        -> Attestation     TPMS_ATTEST (big-endian, as the TPM signed it)
    parse_signature(bytes)     -> ECDSASignature  TPMT_SIGNATURE
    parse_public(bytes)        -> ECCPublicArea   TPM2B_PUBLIC of an ECC key
    verify_quote(quote, nonce) -> [QuoteFailure]  empty when the quote verifies

Everything parsed is UNTRUSTED: parsing checks the encoding and the caps only. Every size field is
checked against its cap before anything is read.
"""
from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

GENERATED_VALUE = 0xFF544347
ST_ATTEST_QUOTE = 0x8018
ALG_SHA256 = 0x000B
ALG_NULL = 0x0010
ALG_ECC = 0x0023
ALG_ECDSA = 0x0018
CURVE_NIST_P256 = 0x0003

# TPMA_OBJECT bits
FIXED_TPM, FIXED_PARENT, SENSITIVE_DATA_ORIGIN, USER_WITH_AUTH = 1 << 1, 1 << 4, 1 << 5, 1 << 6
RESTRICTED, DECRYPT, SIGN = 1 << 16, 1 << 17, 1 << 18
REQUIRED_ATTRIBUTES = RESTRICTED | SIGN | FIXED_TPM

MAX_ATTEST_BYTES = 2048
MAX_NAME_BYTES = 66
MAX_DATA_BYTES = 64
MAX_SELECT_BYTES = 4
MAX_BANKS = 16
MAX_SIGNATURE_BYTES = 512
MAX_SCALAR_BYTES = 66
MAX_PUBLIC_BYTES = 1024
MAX_COORDINATE_BYTES = 66
MAX_DIGEST_BYTES = 64
MAX_SUPPLIED_PCRS = 64

_SYMMETRIC_WITH_DETAILS = {0x0006, 0x0013, 0x0026}            # aes, sm4, camellia
_ECC_SCHEMES_WITH_HASH = {0x0018, 0x0019, 0x001B, 0x001C, 0x001D}  # ecdsa, ecdh, sm2, ecschnorr, ecmqv
_ECDAA = 0x001A
_KDFS_WITH_HASH = {0x0007, 0x0020, 0x0021, 0x0022}              # mgf1, kdf1-sp800-56a, kdf2, kdf1-sp800-108


class TPMParseError(ValueError):
    """The bytes are not the TPM structure (truncated, trailing bytes, over a cap, not supported)."""


class _Reader:
    """Bounded big-endian cursor (TPM 2.0 Part 1: every integer is big-endian)."""

    def __init__(self, data: bytes, structure: str):
        self.data, self.structure, self.pos = bytes(data), structure, 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def bytes(self, n: int, field: str) -> bytes:
        if n < 0 or n > self.remaining:
            raise TPMParseError(f"{self.structure}: truncated at {field}, offset {self.pos}: needs {n} bytes, {self.remaining} left")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint(self, width: int, field: str) -> int:
        return int.from_bytes(self.bytes(width, field), "big")

    def sized(self, field: str, cap: int) -> bytes:
        at = self.pos
        n = self.uint(2, f"{field}.size")
        if n > cap:
            raise TPMParseError(f"{self.structure}: {field} at offset {at} declares {n} bytes, over the cap of {cap}")
        return self.bytes(n, field)

    def end(self) -> None:
        if self.remaining:
            raise TPMParseError(f"{self.structure}: {self.remaining} trailing bytes after offset {self.pos}")


@dataclass(frozen=True)
class PCRSelection:
    """TPMS_PCR_SELECTION: a bank and a bitmap (bit i % 8 of byte i / 8 selects PCR i)."""
    hash: int
    bitmap: bytes

    @property
    def indices(self) -> list[int]:
        return [i * 8 + b for i, byte in enumerate(self.bitmap) for b in range(8) if byte & (1 << b)]


@dataclass(frozen=True)
class Attestation:
    """TPMS_ATTEST. Untrusted until verify_quote passes."""
    magic: int
    type: int
    qualified_signer: bytes
    extra_data: bytes
    clock: int
    reset_count: int
    restart_count: int
    safe: bool
    firmware_version: int
    pcr_selection: list[PCRSelection] | None   # only for TPM_ST_ATTEST_QUOTE
    pcr_digest: bytes | None


@dataclass(frozen=True)
class ECDSASignature:
    """TPMT_SIGNATURE with sigAlg TPM_ALG_ECDSA."""
    hash: int
    r: bytes
    s: bytes


@dataclass(frozen=True)
class ECCPublicArea:
    """TPMT_PUBLIC of an ECC key. Untrusted: nothing here says the key lives in a TPM."""
    name_alg: int
    attributes: int
    auth_policy: bytes
    symmetric: int
    scheme: int
    scheme_hash: int | None
    curve: int
    kdf: int
    x: bytes
    y: bytes


def parse_attest(data: bytes) -> Attestation:
    if len(data) > MAX_ATTEST_BYTES:
        raise TPMParseError(f"TPMS_ATTEST is {len(data)} bytes, over the cap of {MAX_ATTEST_BYTES}")
    r = _Reader(data, "TPMS_ATTEST")
    magic = r.uint(4, "magic")
    typ = r.uint(2, "type")
    signer = r.sized("qualifiedSigner", MAX_NAME_BYTES)
    extra = r.sized("extraData", MAX_DATA_BYTES)
    clock = r.uint(8, "clockInfo.clock")
    reset = r.uint(4, "clockInfo.resetCount")
    restart = r.uint(4, "clockInfo.restartCount")
    safe = r.uint(1, "clockInfo.safe")
    if safe > 1:
        raise TPMParseError(f"TPMS_ATTEST: clockInfo.safe is {safe}, not a TPMI_YES_NO")
    firmware = r.uint(8, "firmwareVersion")
    selection = digest = None
    if typ == ST_ATTEST_QUOTE:
        count = r.uint(4, "pcrSelect.count")
        if count > MAX_BANKS:
            raise TPMParseError(f"TPMS_ATTEST: PCR selection lists {count} banks, over the cap of {MAX_BANKS}")
        selection = []
        for i in range(count):
            h = r.uint(2, f"pcrSelections[{i}].hash")
            size = r.uint(1, f"pcrSelections[{i}].sizeofSelect")
            if size > MAX_SELECT_BYTES:
                raise TPMParseError(f"TPMS_ATTEST: PCR bitmap of {size} bytes, over the cap of {MAX_SELECT_BYTES}")
            selection.append(PCRSelection(h, r.bytes(size, f"pcrSelections[{i}].pcrSelect")))
        digest = r.sized("pcrDigest", MAX_DATA_BYTES)
    else:
        r.bytes(r.remaining, "attested")
    r.end()
    return Attestation(magic, typ, signer, extra, clock, reset, restart, safe == 1, firmware, selection, digest)


def parse_signature(data: bytes) -> ECDSASignature:
    if len(data) > MAX_SIGNATURE_BYTES:
        raise TPMParseError(f"TPMT_SIGNATURE is {len(data)} bytes, over the cap of {MAX_SIGNATURE_BYTES}")
    r = _Reader(data, "TPMT_SIGNATURE")
    alg = r.uint(2, "sigAlg")
    if alg != ALG_ECDSA:
        raise TPMParseError(f"TPMT_SIGNATURE: signature algorithm is 0x{alg:04x}, only ecdsa is supported")
    h = r.uint(2, "hash")
    sr = r.sized("signatureR", MAX_SCALAR_BYTES)
    ss = r.sized("signatureS", MAX_SCALAR_BYTES)
    r.end()
    if not sr or not ss:
        raise TPMParseError("TPMT_SIGNATURE: r or s is empty")
    return ECDSASignature(h, sr, ss)


def parse_public(data: bytes) -> ECCPublicArea:
    """TPM2B_PUBLIC: a UINT16 size, then exactly that many bytes of TPMT_PUBLIC (an ECC key)."""
    if len(data) > MAX_PUBLIC_BYTES:
        raise TPMParseError(f"TPM2B_PUBLIC is {len(data)} bytes, over the cap of {MAX_PUBLIC_BYTES}")
    outer = _Reader(data, "TPM2B_PUBLIC")
    area = outer.sized("publicArea", MAX_PUBLIC_BYTES)
    outer.end()
    r = _Reader(area, "TPMT_PUBLIC")
    typ = r.uint(2, "type")
    if typ != ALG_ECC:
        raise TPMParseError(f"TPMT_PUBLIC: key type is 0x{typ:04x}, only ecc is supported")
    name_alg = r.uint(2, "nameAlg")
    attributes = r.uint(4, "objectAttributes")
    policy = r.sized("authPolicy", MAX_DIGEST_BYTES)
    sym = r.uint(2, "symmetric.algorithm")
    if sym in _SYMMETRIC_WITH_DETAILS:
        r.uint(2, "symmetric.keyBits")
        r.uint(2, "symmetric.mode")
    elif sym != ALG_NULL:
        raise TPMParseError(f"TPMT_PUBLIC: symmetric algorithm 0x{sym:04x} is not understood")
    scheme = r.uint(2, "scheme.scheme")
    scheme_hash = None
    if scheme in _ECC_SCHEMES_WITH_HASH:
        scheme_hash = r.uint(2, "scheme.hashAlg")
    elif scheme == _ECDAA:
        scheme_hash = r.uint(2, "scheme.hashAlg")
        r.uint(2, "scheme.count")
    elif scheme != ALG_NULL:
        raise TPMParseError(f"TPMT_PUBLIC: ECC scheme 0x{scheme:04x} is not understood")
    curve = r.uint(2, "curveID")
    kdf = r.uint(2, "kdf.scheme")
    if kdf in _KDFS_WITH_HASH:
        r.uint(2, "kdf.hashAlg")
    elif kdf != ALG_NULL:
        raise TPMParseError(f"TPMT_PUBLIC: KDF scheme 0x{kdf:04x} is not understood")
    x = r.sized("unique.x", MAX_COORDINATE_BYTES)
    y = r.sized("unique.y", MAX_COORDINATE_BYTES)
    r.end()
    return ECCPublicArea(name_alg, attributes, policy, sym, scheme, scheme_hash, curve, kdf, x, y)


@dataclass(frozen=True)
class UnverifiedQuote:
    """The three TPM structures and the supplied PCR values (stage 2's first parse)."""
    attest_bytes: bytes
    attestation: Attestation
    signature: ECDSASignature
    key: ECCPublicArea
    pcrs: dict[int, bytes]

    @staticmethod
    def parse(attest: bytes, signature: bytes, ak_public: bytes, pcrs: dict[int, bytes]) -> "UnverifiedQuote":
        if len(pcrs) > MAX_SUPPLIED_PCRS:
            raise TPMParseError(f"{len(pcrs)} PCR values supplied, over the cap of {MAX_SUPPLIED_PCRS}")
        return UnverifiedQuote(attest, parse_attest(attest), parse_signature(signature), parse_public(ak_public), dict(pcrs))


class QuoteFailureKind(enum.Enum):
    ATTESTATION_KEY_UNSUPPORTED = "attestationKeyUnsupported"
    SIGNATURE_HASH_UNSUPPORTED = "signatureHashUnsupported"
    SIGNATURE_INVALID = "signatureInvalid"
    WRONG_MAGIC = "wrongMagic"
    WRONG_TYPE = "wrongType"
    NONCE_MISMATCH = "nonceMismatch"
    ATTRIBUTES_MISSING = "attestationKeyAttributesMissing"
    PCR_UNEXPECTED_BANK = "pcrUnexpectedBank"
    PCR_NOT_QUOTED = "pcrNotQuoted"
    PCR_NOT_SUPPLIED = "pcrNotSupplied"
    PCR_VALUE_MALFORMED = "pcrValueMalformed"
    PCR_DIGEST_MISMATCH = "pcrDigestMismatch"


@dataclass(frozen=True)
class QuoteFailure:
    kind: QuoteFailureKind
    message: str


def _fixed32(b: bytes) -> bytes | None:
    b = b.lstrip(b"\0")
    return None if len(b) > 32 else b.rjust(32, b"\0")


def _check_signature(q: UnverifiedQuote) -> list[QuoteFailure]:
    k, F = q.key, QuoteFailureKind
    if k.curve != CURVE_NIST_P256:
        return [QuoteFailure(F.ATTESTATION_KEY_UNSUPPORTED, f"attestation key is unsupported: curve 0x{k.curve:04x}, not nist_p256")]
    if k.scheme != ALG_ECDSA or k.scheme_hash != ALG_SHA256:
        return [QuoteFailure(F.ATTESTATION_KEY_UNSUPPORTED, "attestation key is unsupported: its scheme is not ecdsa-sha256")]
    if q.signature.hash != ALG_SHA256:
        return [QuoteFailure(F.SIGNATURE_HASH_UNSUPPORTED, f"signature uses hash 0x{q.signature.hash:04x}; only sha256 is accepted")]
    x, y = _fixed32(k.x), _fixed32(k.y)
    if x is None or y is None:
        return [QuoteFailure(F.SIGNATURE_INVALID, "quote signature is invalid: public key coordinates are longer than 32 bytes")]
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
    except ValueError:
        return [QuoteFailure(F.SIGNATURE_INVALID, "quote signature is invalid: public key is not a valid P-256 point")]
    r, s = _fixed32(q.signature.r), _fixed32(q.signature.s)
    if r is None or s is None:
        return [QuoteFailure(F.SIGNATURE_INVALID, "quote signature is invalid: r or s is not a valid integer")]
    try:
        key.verify(encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big")), q.attest_bytes,
                   ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return [QuoteFailure(F.SIGNATURE_INVALID, "quote signature is invalid: ECDSA signature does not verify with the key")]
    return []


def _check_pcrs(a: Attestation, supplied: dict[int, bytes]) -> list[QuoteFailure]:
    F, out, order = QuoteFailureKind, [], []
    for sel in a.pcr_selection:
        idx = sel.indices
        if sel.hash != ALG_SHA256:
            if idx:
                out.append(QuoteFailure(F.PCR_UNEXPECTED_BANK, f"quote selects PCRs in bank 0x{sel.hash:04x}, which were not supplied"))
            continue
        order += idx
    quoted = set(order)
    out += [QuoteFailure(F.PCR_NOT_QUOTED, f"PCR {i} was supplied but is not covered by the quote") for i in sorted(supplied) if i not in quoted]
    out += [QuoteFailure(F.PCR_NOT_SUPPLIED, f"PCR {i} is covered by the quote but its value was not supplied") for i in sorted(quoted) if i not in supplied]
    out += [QuoteFailure(F.PCR_VALUE_MALFORMED, f"PCR {i} value is {len(v)} bytes, not a digest of the bank's size")
            for i, v in sorted(supplied.items()) if len(v) != 32]
    if out:
        return out
    if hashlib.sha256(b"".join(supplied[i] for i in order)).digest() != a.pcr_digest:
        out.append(QuoteFailure(F.PCR_DIGEST_MISMATCH, "quote PCR digest does not match the supplied PCR values"))
    return out


def verify_quote(q: UnverifiedQuote, nonce: bytes) -> list[QuoteFailure]:
    """Every failure, in go-attestation's order: signature, magic, type, nonce, key attributes,
    PCR selection against the supplied PCRs, PCR digest. Whether the key is trusted is the caller's."""
    F, a, out = QuoteFailureKind, q.attestation, []
    out += _check_signature(q)
    if a.magic != GENERATED_VALUE:
        out.append(QuoteFailure(F.WRONG_MAGIC, f"attest magic is 0x{a.magic:08x}, not TPM_GENERATED_VALUE: not produced by a TPM"))
    if a.type != ST_ATTEST_QUOTE:
        out.append(QuoteFailure(F.WRONG_TYPE, f"attest type is 0x{a.type:04x}, not TPM_ST_ATTEST_QUOTE"))
    if a.extra_data != nonce:
        out.append(QuoteFailure(F.NONCE_MISMATCH, "quote nonce (extraData) is not the expected nonce"))
    if REQUIRED_ATTRIBUTES & ~q.key.attributes:
        out.append(QuoteFailure(F.ATTRIBUTES_MISSING, "attestation key lacks required attributes (restricted, sign, fixedTPM)"))
    if a.pcr_selection is not None:
        out += _check_pcrs(a, q.pcrs)
    return out


def ak_spki(key: ECCPublicArea) -> bytes | None:
    """The attestation key as SubjectPublicKeyInfo DER (P-256 point x || y), or None if it is not one."""
    try:
        k = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + key.x + key.y)
    except ValueError:
        return None
    return k.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
