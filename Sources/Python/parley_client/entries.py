"""Log entries `parley/log-entry/1` and worker entries `parley/worker-entry/1` (docs/log.md
sections 2-3): one parser each, refusing unknown kinds and fields, missing or mistyped ones.

A parsed `LogEntry` is only what the host *said*; a `WorkerEntry` exists only after
`verify_worker_entry` checked its COSE signature with the key it is given (the attested
worker's), so holding one means that key signed it.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from . import cbor
from .cose import COSEError, COSESign1
from .errors import ParleyError

LOG_ENTRY_LIMITS = cbor.Limits(max_bytes=16 << 20, max_depth=4, max_items=128)
WORKER_ENTRY_LIMITS = cbor.Limits(max_bytes=1 << 20, max_depth=4, max_items=256)
MAX_COUNTED_JOBS = 100_000
MAX_REASON = 4096
_JOB = re.compile(r"[A-Za-z0-9_-]{1,64}")
_UPLOAD_REFUSALS = {"undeclared-dataset", "already-uploaded", "too-large", "bad-stream", "not-provider", "invalid-csv"}
_QUERY_REFUSALS = {"no-module", "undeclared-query", "not-receiver", "bad-nonce", "replayed", "bad-signature", "datasets-missing",
                   "budget-exceeded", "invalid-query", "invalid-parameters", "job-closed", "not-computable"}
MAX_PARAMS = 8            # a release's `params`: 1 to 8 text values (docs/log.md)
_COMMON = {"format", "kind", "job", "time"}
_LAUNCH = _COMMON | {"tier", "measurements", "debug", "public_key", "signing_key", "module_bundle", "evidence", "nonce",
                     "ledger", "sandbox", "platform", "ledger_counted"}


class EntryError(ParleyError):
    """An entry does not parse (code `malformed`), or a worker entry does not verify (`workerEntryRejected`)."""


def _bad(why: str) -> EntryError:
    return EntryError("malformed", why)


def _text(m: dict, k: str, ctx: str) -> str:
    v = m.get(k)
    if not isinstance(v, str):
        raise _bad(f"{ctx} {k} is missing or not text")
    return v


def _bytes(m: dict, k: str, ctx: str, size: int | None = None) -> bytes:
    v = m.get(k)
    if not isinstance(v, bytes) or (size is not None and len(v) != size):
        raise _bad(f"{ctx} {k} is missing or not a byte string" + (f" of {size} bytes" if size else ""))
    return v


def _uint(m: dict, k: str, ctx: str) -> int:
    v = m.get(k)
    if type(v) is not int or not 0 <= v < 1 << 64:
        raise _bad(f"{ctx} {k} is missing or not an unsigned integer")
    return v


def _only(m: dict, allowed: set, ctx: str) -> None:
    unknown = sorted(set(m) - allowed)
    if unknown:
        raise _bad(f"{ctx} has an unknown field {unknown[0]!r}")


def pack_counted(launches: list[int]) -> bytes:
    """The counted jobs' launch indexes as the ledger claim binds them: each a u64 big-endian."""
    return b"".join(i.to_bytes(8, "big") for i in launches)


def counted_digest(launches: list[int]) -> bytes:
    """SHA-256 of `pack_counted(launches)`: the ledger claim's `counted_digest`."""
    return hashlib.sha256(pack_counted(launches)).digest()


def unpack_counted(data: bytes, ctx: str) -> list[int]:
    """Reads `ledger_counted`: a multiple of 8 bytes, at most 100,000 indexes, strictly ascending."""
    if len(data) % 8 or len(data) // 8 > MAX_COUNTED_JOBS:
        raise _bad(f"{ctx} is not a list of at most {MAX_COUNTED_JOBS} 8-byte entry indexes")
    out = [int.from_bytes(data[i:i + 8], "big") for i in range(0, len(data), 8)]
    if any(a >= b for a, b in zip(out, out[1:])):
        raise _bad(f"{ctx} is not in ascending order")
    return out


def binds(ledger: dict, launches: list[int]) -> bool:
    """Whether a ledger claim's `counted` and `counted_digest` bind exactly `launches`."""
    return ledger["counted"] == len(launches) and ledger["counted_digest"] == counted_digest(launches)


@dataclass(frozen=True)
class LaunchRecord:
    claims: object            # evidence.Claims, as the host states them
    tier: str
    module_bundle: bytes
    evidence: bytes
    nonce: bytes
    ledger_counted: list[int] = field(default_factory=list)
    platform: object | None = None   # platform_delta.PlatformLogDelta: TPM evidence stored without its platform logs


@dataclass(frozen=True)
class LogEntry:
    """One `parley/log-entry/1`, UNTRUSTED: what the host said."""
    job: str
    time: int
    kind: str                 # launch, worker, upload-refused, stopped, failed
    launch: LaunchRecord | None = None
    worker: bytes | None = None            # the signed worker entry, verbatim
    dataset: str | None = None             # upload-refused
    code: str | None = None                # upload-refused
    reason: str | None = None              # failed


def parse_log_entry(data: bytes) -> LogEntry:
    """Parses a log entry; raises EntryError (`malformed`) naming the first defect."""
    from .evidence import EvidenceParseError, parse_claims
    try:
        m = cbor.loads(data, LOG_ENTRY_LIMITS)
    except cbor.CBORError as e:
        raise _bad(f"the log entry is not deterministic CBOR: {e}") from None
    if not isinstance(m, dict) or not all(isinstance(k, str) for k in m):
        raise _bad("the log entry is not a text-keyed map")
    if m.get("format") != "parley/log-entry/1":
        raise _bad("the entry's format is not parley/log-entry/1")
    kind, job, time = _text(m, "kind", "log entry"), _text(m, "job", "log entry"), _uint(m, "time", "log entry")
    if not _JOB.fullmatch(job):
        raise _bad("the log entry's job is not a valid job id")
    ctx = f"{kind} entry"
    if kind == "launch":
        _only(m, _LAUNCH, ctx)
        tier = _text(m, "tier", ctx)
        if tier not in ("software", "tpm"):
            raise _bad(f"{ctx} names an unknown tier")
        for k in ("measurements", "debug", "public_key", "signing_key"):
            if k not in m:
                raise _bad(f"{ctx} has no {k}")
        try:
            claims = parse_claims(m)
        except (EvidenceParseError, KeyError, TypeError) as e:
            raise _bad(f"{ctx} claims: {e}") from None
        counted: list[int] = []
        if claims.ledger is not None:
            counted = unpack_counted(_bytes(m, "ledger_counted", ctx), f"{ctx} ledger_counted")
            if not binds(claims.ledger, counted):
                raise _bad("the launch's counted jobs are not the list its ledger claim binds")
        elif "ledger_counted" in m:
            raise _bad(f"{ctx} has ledger_counted without a ledger claim")
        nonce = _bytes(m, "nonce", ctx)
        if not 16 <= len(nonce) <= 64:
            raise _bad(f"{ctx} nonce is not 16 to 64 bytes")
        platform = None
        if "platform" in m:
            from .platform_delta import PlatformLogDelta, PlatformLogsUnavailable
            try:
                platform = PlatformLogDelta.parse(m["platform"], ctx)
            except PlatformLogsUnavailable as e:
                raise _bad(str(e)) from None
        return LogEntry(job, time, kind, launch=LaunchRecord(claims, tier, _bytes(m, "module_bundle", ctx), _bytes(m, "evidence", ctx),
                                                             nonce, counted, platform))
    if kind == "worker":
        _only(m, _COMMON | {"entry"}, ctx)
        return LogEntry(job, time, kind, worker=_bytes(m, "entry", ctx))
    if kind == "upload-refused":
        _only(m, _COMMON | {"dataset", "code"}, ctx)
        code = _text(m, "code", ctx)
        if code not in _UPLOAD_REFUSALS:
            raise _bad(f"{ctx} has an unknown refusal code")
        return LogEntry(job, time, kind, dataset=_text(m, "dataset", ctx), code=code)
    if kind == "stopped":
        _only(m, _COMMON, ctx)
        return LogEntry(job, time, kind)
    if kind == "failed":
        _only(m, _COMMON | {"reason"}, ctx)
        return LogEntry(job, time, kind, reason=_text(m, "reason", ctx))
    raise _bad("the log entry has an unknown kind")


def _release_params(m: dict) -> dict:
    """A release's `params` (the values its receiver bound and signed): absent for a query
    without `@parameters` (then `{}`), else 1 to 8 text -> text entries."""
    if "params" not in m:
        return {}
    p = m["params"]
    if not isinstance(p, dict) or not 1 <= len(p) <= MAX_PARAMS \
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in p.items()):
        raise _bad(f"release entry params must be a map of 1 to {MAX_PARAMS} text values")
    return dict(p)


@dataclass(frozen=True)
class WorkerEntry:
    """A `parley/worker-entry/1` whose signature verified with the key it was checked with."""
    job: str
    timestamp: int
    kind: str                 # upload-accepted, release, query-refused, closed
    fields: dict              # the kind's own fields, as in docs/log.md section 3


_WORKER_KINDS = {
    "upload-accepted": ({"dataset": str, "provider": str, "ciphertext_sha256": 32, "rows": int}, set()),
    "release": ({"query": str, "receiver": str, "result_sha256": 32, "epsilon": str, "delta": str, "budget_left": str,
                 "suppressed_groups": int, "inputs": dict}, {"params"}),
    "query-refused": ({"query": str, "receiver": str, "code": str}, {"epsilon", "delta", "budget_left"}),
    "closed": ({"spent": str, "budget_left": str}, set()),
}


def verify_worker_entry(data: bytes, signing_key: bytes) -> WorkerEntry:
    """Checks the COSE signature with `signing_key` (SubjectPublicKeyInfo DER, the attested
    worker's), then parses the authenticated payload. Raises EntryError (`workerEntryRejected`)."""
    def rejected(why: str) -> EntryError:
        return EntryError("workerEntryRejected", why)

    try:
        msg = COSESign1.parse(cbor.loads(data, WORKER_ENTRY_LIMITS))
    except (cbor.CBORError, COSEError) as e:
        raise rejected(f"the worker entry is not a COSE_Sign1: {e}") from None
    try:
        key = load_der_public_key(signing_key)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise rejected("the job's attested signing key is unusable")
    bad = msg.verify(key)
    if bad:
        raise rejected(f"the worker entry is not signed by the job's attested key: {bad}")
    try:
        m = cbor.loads(msg.untrusted_payload, WORKER_ENTRY_LIMITS)
        if not isinstance(m, dict) or m.get("format") != "parley/worker-entry/1":
            raise _bad("not a parley/worker-entry/1 map")
        job, ts, kind = _text(m, "job", "worker entry"), _uint(m, "timestamp", "worker entry"), _text(m, "kind", "worker entry")
        if kind not in _WORKER_KINDS:
            raise _bad("worker entry has an unknown kind")
        required, optional = _WORKER_KINDS[kind]
        _only(m, {"format", "job", "timestamp", "kind"} | set(required) | optional, f"{kind} entry")
        out = {}
        for k, t in required.items():
            v = m.get(k)
            if t is int:
                ok = type(v) is int and 0 <= v < 1 << 64
            elif isinstance(t, type):
                ok = isinstance(v, t)
            else:  # a byte string of this size
                ok = isinstance(v, bytes) and len(v) == t
            if not ok:
                raise _bad(f"{kind} entry {k} is missing or mistyped")
            out[k] = v
        if kind == "release" and not all(isinstance(k, str) and isinstance(v, bytes) for k, v in out["inputs"].items()):
            raise _bad("release entry inputs is not a map of text to bytes")
        if kind == "release":
            out["params"] = _release_params(m)
        if kind == "query-refused":
            if "epsilon" in m:
                for k in ("epsilon", "delta", "budget_left"):
                    out[k] = _text(m, k, "query-refused entry")
            elif "delta" in m or "budget_left" in m:
                raise _bad("query-refused entry has delta or budget_left without epsilon")
            if out["code"] not in _QUERY_REFUSALS:
                raise _bad("query-refused entry has an unknown code")
    except EntryError as e:
        raise rejected(f"the signed worker entry does not parse: {e.message}") from None
    except cbor.CBORError as e:
        raise rejected(f"the signed worker entry does not parse: {e}") from None
    return WorkerEntry(job, ts, kind, out)
