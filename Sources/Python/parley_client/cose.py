"""COSE_Sign1 (docs/formats.md section 2): parse, then verify with a P-256 or P-384 key."""
from __future__ import annotations

from dataclasses import dataclass

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from . import cbor

ES256, ES384 = -7, -35
_CURVES = {ES256: (ec.SECP256R1, hashes.SHA256, 32), ES384: (ec.SECP384R1, hashes.SHA384, 48)}


class COSEError(ValueError):
    """The bytes are not a COSE_Sign1 Parley accepts (refused at parse)."""


@dataclass(frozen=True)
class COSESign1:
    protected: bytes
    alg: int
    untrusted_payload: bytes
    signature: bytes

    @staticmethod
    def parse(item) -> "COSESign1":
        """From a decoded CBOR item (see cbor.loads)."""
        if not isinstance(item, cbor2.CBORTag) or item.tag != 18:
            raise COSEError("not a tagged COSE_Sign1 (tag 18)")
        v = item.value
        if not isinstance(v, (list, tuple)) or len(v) != 4:
            raise COSEError("a COSE_Sign1 is an array of 4 items")
        protected, unprotected, payload, signature = v
        if not isinstance(protected, bytes) or not protected:
            raise COSEError("the protected header is empty or not a byte string")
        if not isinstance(unprotected, dict):
            raise COSEError("the unprotected header is not a map")
        if payload is None:
            raise COSEError("a detached payload")
        if not isinstance(payload, bytes) or not isinstance(signature, bytes):
            raise COSEError("payload and signature must be byte strings")
        try:
            header = cbor.loads(protected, cbor.Limits(max_bytes=1024, max_depth=4, max_items=64))
        except cbor.CBORError as e:
            raise COSEError(f"the protected header: {e}") from None
        if not isinstance(header, dict):
            raise COSEError("the protected header is not a map")
        if 2 in header or 2 in unprotected:
            raise COSEError("a crit parameter")
        if 1 in unprotected:
            raise COSEError("alg in the unprotected header")
        alg = header.get(1)
        if alg is None or type(alg) is not int:
            raise COSEError("alg missing or not an integer")
        if alg not in _CURVES:
            raise COSEError("alg other than ES256 or ES384")
        return COSESign1(protected, alg, payload, signature)

    def verify(self, key: ec.EllipticCurvePublicKey, external_aad: bytes = b"") -> str | None:
        """None when the signature holds; otherwise why not (algorithmMismatch, signatureLength, signatureMismatch)."""
        curve, digest, size = _CURVES[self.alg]
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, curve):
            return "algorithmMismatch"
        if len(self.signature) != 2 * size:
            return "signatureLength"
        tbs = cbor.dumps(["Signature1", self.protected, external_aad, self.untrusted_payload])
        r = int.from_bytes(self.signature[:size], "big")
        s = int.from_bytes(self.signature[size:], "big")
        try:
            key.verify(encode_dss_signature(r, s), tbs, ec.ECDSA(digest()))
        except InvalidSignature:
            return "signatureMismatch"
        return None


def sign(key: ec.EllipticCurvePrivateKey, payload: bytes) -> bytes:
    """A COSE_Sign1 over payload (used by tests to build foreign documents)."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    alg = ES256 if isinstance(key.curve, ec.SECP256R1) else ES384
    _, digest, size = _CURVES[alg]
    protected = cbor.dumps({1: alg})
    tbs = cbor.dumps(["Signature1", protected, b"", payload])
    r, s = decode_dss_signature(key.sign(tbs, ec.ECDSA(digest())))
    return cbor.dumps(cbor2.CBORTag(18, [protected, {}, payload, r.to_bytes(size, "big") + s.to_bytes(size, "big")]))
