"""Results `parley/result/1`: HPKE-sealed to the receiver, a COSE_Sign1 by the attested worker
(docs/formats.md section 4a). Opened and checked in stages: open, signature, parse, binding."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.serialization import load_der_public_key

from . import cbor
from .cose import COSEError, COSESign1
from .errors import ParleyError
from .evidence import Claims
from .stream import SUITE, result_info

RESULT_LIMITS = cbor.Limits(max_bytes=16 << 20, max_depth=4, max_items=2_000_000)
_FIELDS = {"format", "job", "query", "columns", "rows", "suppressed_groups", "mechanism", "epsilon", "delta",
           "budget_left", "inputs", "timestamp"}


class ResultRefused(ParleyError):
    """A result that does not open or check: code `result.doesNotOpen`, `result.notSignedByTheAttestedWorker`,
    `result.malformed` or `result.wrongJobOrQuery`."""


@dataclass(frozen=True)
class Result:
    job: str
    query: str
    columns: list[str]
    rows: list[list]
    suppressed_groups: int
    mechanism: str
    epsilon: str
    delta: str
    budget_left: str
    inputs: dict[str, bytes]
    timestamp_ms: int
    signed_sha256: bytes
    log_index: int | None = None   # the worker's `release` entry, proved into the log (set by Party.query_result)
    params: dict = None            # the `@parameter` values signed and logged with the release ({} for none)

    def __post_init__(self):
        if self.params is None:
            object.__setattr__(self, "params", {})


def parse_result(payload: bytes, signed_sha256: bytes) -> Result:
    try:
        m = cbor.loads(payload, RESULT_LIMITS)
    except cbor.CBORError as e:
        raise ResultRefused("result.malformed", f"the result is malformed: {e}") from None
    if not isinstance(m, dict) or set(m) != _FIELDS or m["format"] != "parley/result/1":
        raise ResultRefused("result.malformed", "the result is malformed: missing or unknown fields, or another format")
    cols, rows = m["columns"], m["rows"]
    ok = (isinstance(m["job"], str) and isinstance(m["query"], str) and isinstance(cols, list)
          and all(isinstance(c, str) for c in cols) and isinstance(rows, list)
          and all(isinstance(r, list) and len(r) == len(cols) for r in rows)
          and all(isinstance(c, (str, int)) and not isinstance(c, bool) for r in rows for c in r)
          and type(m["suppressed_groups"]) is int and m["suppressed_groups"] >= 0
          and all(isinstance(m[k], str) for k in ("mechanism", "epsilon", "delta", "budget_left"))
          and isinstance(m["inputs"], dict) and all(isinstance(k, str) and isinstance(v, bytes) for k, v in m["inputs"].items())
          and type(m["timestamp"]) is int and m["timestamp"] >= 0)
    if not ok:
        raise ResultRefused("result.malformed", "the result is malformed: a field has the wrong type or a row the wrong length")
    return Result(m["job"], m["query"], cols, rows, m["suppressed_groups"], m["mechanism"], m["epsilon"], m["delta"],
                  m["budget_left"], m["inputs"], m["timestamp"], signed_sha256)


def open_result(sealed: bytes, agreement_private_raw: bytes, worker: Claims, query: str, nonce: bytes) -> Result:
    """Opens a sealed result for the request (query, nonce) and checks it against the attested worker."""
    if len(sealed) < 32 + 16:
        raise ResultRefused("result.doesNotOpen", "the result does not open with this receiver's key for this request")
    try:
        sk = SUITE.kem.deserialize_private_key(agreement_private_raw)
        signed = SUITE.create_recipient_context(sealed[:32], sk, result_info(worker.job, query, nonce)).open(sealed[32:])
    except Exception:  # pyhpke raises OpenError and others on bad input
        raise ResultRefused("result.doesNotOpen", "the result does not open with this receiver's key for this request") from None
    not_signed = ResultRefused("result.notSignedByTheAttestedWorker", "the result is not signed by the attested worker's key")
    try:
        msg = COSESign1.parse(cbor.loads(signed, RESULT_LIMITS))
        key = load_der_public_key(worker.signing_key)
    except (cbor.CBORError, COSEError, ValueError):
        raise not_signed from None
    if msg.verify(key) is not None:
        raise not_signed
    r = parse_result(msg.untrusted_payload, hashlib.sha256(signed).digest())
    if r.job != worker.job or r.query != query:
        raise ResultRefused("result.wrongJobOrQuery", "the result is for another job or query")
    return r
