"""Launch claims (docs/formats.md section 7), shared by both quote formats, and the types every
stage of evidence verification uses."""
from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

_JOB = re.compile(r"[A-Za-z0-9_-]{1,64}")
_STEP = re.compile(r"[a-z0-9-]{1,64}")
_LEDGER_KEYS = {"id", "log_key", "checkpoint_size", "checkpoint_root", "inherited", "counted", "counted_digest"}


class EvidenceParseError(ValueError):
    """Stage 1: the bytes are not evidence Parley accepts."""


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True)
class Claims:
    """Launch claims (docs/formats.md section 7), authentic once a Verdict is trusted."""
    job: str
    runtime: bytes
    module: bytes
    module_signer: bytes
    debug: bool
    public_key: bytes
    signing_key: bytes
    ledger: dict | None = None
    sandbox: dict | None = None


def _bstr(v, name, size=None, lo=None, hi=None):
    if not isinstance(v, bytes):
        raise EvidenceParseError(f"{name} is not a byte string")
    if size is not None and len(v) != size:
        raise EvidenceParseError(f"{name} is not {size} bytes")
    if lo is not None and not lo <= len(v) <= hi:
        raise EvidenceParseError(f"{name} is not {lo} to {hi} bytes")
    return v


def _uint(v, name):
    if type(v) is not int or v < 0:
        raise EvidenceParseError(f"{name} is not an unsigned integer")
    return v


def parse_claims(m: dict) -> Claims:
    job = m["job"]
    if not isinstance(job, str) or not _JOB.fullmatch(job):
        raise EvidenceParseError("job is not 1-64 of [A-Za-z0-9_-]")
    ms = m["measurements"]
    if not isinstance(ms, dict) or set(ms) != {"runtime", "module", "module_signer"}:
        raise EvidenceParseError("measurements must hold exactly runtime, module, module_signer")
    if type(m["debug"]) is not bool:
        raise EvidenceParseError("debug is not a bool")
    ledger = m.get("ledger")
    if ledger is not None:
        if not isinstance(ledger, dict) or set(ledger) != _LEDGER_KEYS:
            raise EvidenceParseError("ledger has missing or unknown fields")
        _bstr(ledger["id"], "ledger.id", 32)
        _bstr(ledger["checkpoint_root"], "ledger.checkpoint_root", 32)
        _uint(ledger["checkpoint_size"], "ledger.checkpoint_size")
        if not isinstance(ledger["log_key"], str) or len(ledger["log_key"].encode()) > 512:
            raise EvidenceParseError("ledger.log_key is not text of at most 512 bytes")
        if not isinstance(ledger["inherited"], str) or len(ledger["inherited"].encode()) > 128:
            raise EvidenceParseError("ledger.inherited is not text of at most 128 bytes")
        _bstr(ledger["counted_digest"], "ledger.counted_digest", 32)
        _uint(ledger["counted"], "ledger.counted")
        if ledger["counted"] > 100_000 or ledger["counted"] > ledger["checkpoint_size"]:
            raise EvidenceParseError("ledger.counted is over 100,000 or over checkpoint_size")
    sandbox = m.get("sandbox")
    if sandbox is not None:
        if not isinstance(sandbox, dict) or not 1 <= len(sandbox) <= 32:
            raise EvidenceParseError("sandbox is not a map of 1 to 32 steps")
        for k, v in sandbox.items():
            if not isinstance(k, str) or not _STEP.fullmatch(k) or not isinstance(v, str) or len(v.encode()) > 1024:
                raise EvidenceParseError("a sandbox step is out of its caps")
    signing_key = _bstr(m["signing_key"], "signing_key")
    try:
        k = load_der_public_key(signing_key)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        k = None
    if not isinstance(k, ec.EllipticCurvePublicKey) or not isinstance(k.curve, (ec.SECP256R1, ec.SECP384R1)):
        raise EvidenceParseError("signing_key is not a P-256 or P-384 SubjectPublicKeyInfo")
    return Claims(job=job, runtime=_bstr(ms["runtime"], "runtime", 48), module=_bstr(ms["module"], "module", 48),
                  module_signer=_bstr(ms["module_signer"], "module_signer", 48), debug=m["debug"],
                  public_key=_bstr(m["public_key"], "public_key", 32), signing_key=signing_key,
                  ledger=ledger, sandbox=sandbox)
