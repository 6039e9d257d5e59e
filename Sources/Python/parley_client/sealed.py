"""Uploads sealed to a file, for a courier to carry (docs/spark.md): the party attests the worker
and seals exactly as Party.upload does, but writes the ciphertext stream to a file; a courier
(parley_courier) sends it; the party then proves the acceptance against the log."""
from __future__ import annotations

import dataclasses
import hashlib
import os

from . import stream as _stream
from .errors import ParleyError


@dataclasses.dataclass(frozen=True)
class SealedUpload:
    """A sealed upload waiting for its courier: `path` holds the `parley/stream/1` ciphertext,
    `headers` the upload's public headers (the provider's signature over the stream header, the
    plaintext size hint), `sha256` the stream's SHA-256 (hex). `claims` are the attested
    worker's, kept by the party to check the log receipt; the courier never gets them."""
    job: str
    dataset: str
    path: str
    headers: dict
    sha256: str
    claims: object

    def delivery(self, shard: int, server: str):
        """The parley_courier.Delivery for this upload to `server`."""
        from parley_courier import Delivery
        return Delivery(shard=shard, path=self.path, url=f"{server.rstrip('/')}/v1/jobs/{self.job}/datasets/{self.dataset}",
                        headers=dict(self.headers))


def seal_upload(party, job: str, dataset: str, data, path: str, chunk_size: int = _stream.DEFAULT_CHUNK) -> SealedUpload:
    """Verifies the worker (EvidenceRefused, LogRefused before a byte is written), then seals
    `data` to its attested key into a new file at `path` (mode 0600; FileExistsError if it is
    there)."""
    from .party import _open_data, _upload_headers
    key = party._key()
    claims = party.attest(job)
    party.log.check_before_upload(claims)
    f, total, close = _open_data(data)
    try:
        sealer = _stream.StreamSealer(claims.public_key, _stream.upload_info(job, dataset), chunk_size)
        signature = key.sign(_stream.upload_signed_message(job, dataset, sealer.header_sha256))
        digest = hashlib.sha256()
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            for frame in _stream.seal_file(f, sealer):
                digest.update(frame)
                out.write(frame)
    finally:
        if close:
            f.close()
    return SealedUpload(job, dataset, path, _upload_headers(signature, total), digest.hexdigest(), claims)


def confirm_delivery(party, sealed: SealedUpload, outcome) -> int:
    """Proves a courier's outcome for `sealed`: it must be parley_courier.Accepted naming this
    stream's digest, and the log must hold the worker's `upload-accepted` entry for exactly this
    stream (ReceiptRefused otherwise). Returns that entry's log index. Raises ParleyError
    `notDelivered` (with the refusal's reason) for a refused delivery, `receiptMismatch` for an
    acceptance of another stream."""
    from parley_courier import Accepted
    if not isinstance(outcome, Accepted):
        reason = getattr(getattr(outcome, "reason", None), "value", "unknown")
        raise ParleyError("notDelivered", f"the courier did not deliver {sealed.dataset}: {reason}")
    if outcome.digest != sealed.sha256 or outcome.sent_sha256 != sealed.sha256:
        raise ParleyError("receiptMismatch", "the courier's receipt names another stream than the one sealed")
    sent = bytes.fromhex(sealed.sha256)
    logged = party.log.receipt(sealed.job, sealed.claims.signing_key, f"the courier's upload of {sealed.dataset}",
                               lambda w: w.kind == "upload-accepted" and w.fields["dataset"] == sealed.dataset
                               and w.fields["ciphertext_sha256"] == sent)
    return logged.index
