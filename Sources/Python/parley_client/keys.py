"""Party keys (docs/formats.md section 5): NAME.key holds a P-256 signing key then an X25519 key."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from .errors import ParleyError

_PEM = re.compile(rb"-----BEGIN PRIVATE KEY-----\r?\n.*?-----END PRIVATE KEY-----\r?\n?", re.S)


@dataclass(frozen=True)
class PartyKey:
    signing: ec.EllipticCurvePrivateKey
    agreement: x25519.X25519PrivateKey

    @staticmethod
    def load(path: str) -> "PartyKey":
        with open(path, "rb") as f:
            data = f.read(64 << 10)
        blocks = _PEM.findall(data)
        if len(blocks) != 2:
            raise ParleyError("badKey", f"{path} is not a party key (two PEM PRIVATE KEY blocks from `parley keygen`)")
        try:
            signing = serialization.load_pem_private_key(blocks[0], None)
            agreement = serialization.load_pem_private_key(blocks[1], None)
        except (ValueError, TypeError):
            raise ParleyError("badKey", f"{path} holds a key that does not parse") from None
        if not isinstance(signing, ec.EllipticCurvePrivateKey) or not isinstance(signing.curve, ec.SECP256R1) \
                or not isinstance(agreement, x25519.X25519PrivateKey):
            raise ParleyError("badKey", f"{path}: the first key must be P-256 and the second X25519")
        return PartyKey(signing, agreement)

    @property
    def signing_spki(self) -> bytes:
        return self.signing.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    @property
    def fingerprint(self) -> str:
        """Hex SHA-256 of the signing key's SubjectPublicKeyInfo (the job status's `parties`)."""
        return hashlib.sha256(self.signing_spki).hexdigest()

    def sign(self, message: bytes) -> bytes:
        """P-256 ECDSA over SHA-256, raw r || s (64 bytes)."""
        r, s = decode_dss_signature(self.signing.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
