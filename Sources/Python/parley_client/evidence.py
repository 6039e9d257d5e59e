"""Evidence verification in three typed stages (docs/formats.md sections 7-12, docs/python.md).

    parse_evidence(bytes)          -> SoftwareQuote | TPMEvidence (stage 1: or EvidenceParseError)
    check_integrity(quote, ...)    -> [Reason]                   (stage 2, software: chain, signature, nonce)
    tpm_evidence.check_tpm_integrity(ev, ak, nonce) -> VerifiedTPM | [Reason] (stage 2, TPM)
    appraise(claims, policy, ...)  -> [Reason]                   (stage 3: the policy)
    verify(bytes, nonce, policy)   -> Verdict                    (all three, the nonce ledger)

Reason codes and their order are the Swift verifier's (`parley attest verify --json`).
"""
from __future__ import annotations

import datetime as _dt
import enum
import os
import re
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID

from . import cbor
from .cose import COSEError, COSESign1
from . import platform, tpm_evidence
from .claims import Claims, EvidenceParseError, Reason, _bstr, _uint, parse_claims  # noqa: F401
from .policy import Policy

MAX_EVIDENCE_BYTES = 40 << 20
SW_QUOTE_LIMITS = cbor.Limits(max_bytes=64 << 10, max_depth=4, max_items=160)
_CLAIM_KEYS = {"job", "measurements", "debug", "public_key", "signing_key"}
_OPTIONAL_CLAIM_KEYS = {"ledger", "sandbox"}
MAX_INTERMEDIATES = 4


class Status(enum.Enum):
    TRUSTED = "trusted"
    REFUSED = "refused"
    FAILED = "failed"      # the verifier could not finish; says nothing about the evidence


@dataclass(frozen=True)
class Verdict:
    status: Status
    reasons: list[Reason] = field(default_factory=list)
    tier: str | None = None          # "software", "tpm" or "tpm-unappraised" (trusted only)
    claims: Claims | None = None
    warning: str | None = None       # what a person must be told (the tpm-unappraised warning)

    @property
    def trusted(self) -> bool:
        return self.status is Status.TRUSTED

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    def __repr__(self) -> str:
        if self.trusted:
            return f"Verdict(trusted, tier={self.tier}, job={self.claims.job})"
        return f"Verdict({self.status.value}, {self.codes})"


@dataclass(frozen=True)
class SoftwareQuote:
    """Stage 1 output: parsed, nothing checked."""
    message: COSESign1
    claims: Claims
    timestamp_ms: int
    nonce: bytes
    certificate: bytes
    cabundle: list[bytes]


def _timestamp(v) -> int:
    if _uint(v, "timestamp") >= 1 << 53:
        raise EvidenceParseError("timestamp is out of range (at most 2^53 - 1 ms)")
    return v


def parse_evidence(data: bytes) -> SoftwareQuote | tpm_evidence.TPMEvidence:
    """Stage 1, telling the formats apart by their outer CBOR: a COSE_Sign1 (tag 18, `0xd2`) is a
    software document, a map (`0xa0`-`0xbb`) TPM evidence. Raises EvidenceParseError."""
    if len(data) > MAX_EVIDENCE_BYTES:
        raise EvidenceParseError(f"evidence is over {MAX_EVIDENCE_BYTES} bytes")
    if not data:
        raise EvidenceParseError("evidence is empty")
    if 0xA0 <= data[0] <= 0xBB:
        return tpm_evidence.parse_tpm_evidence(data)
    if data[0] != 0xD2:
        raise EvidenceParseError("evidence is neither a software attestation document nor TPM evidence")
    try:
        msg = COSESign1.parse(cbor.loads(data, cbor.Limits(max_bytes=MAX_EVIDENCE_BYTES)))
        payload = cbor.loads(msg.untrusted_payload, SW_QUOTE_LIMITS)
    except (cbor.CBORError, COSEError) as e:
        raise EvidenceParseError(str(e)) from None
    if not isinstance(payload, dict):
        raise EvidenceParseError("the payload is not a map")
    required = _CLAIM_KEYS | {"format", "timestamp", "nonce", "certificate", "cabundle"}
    keys = set(payload)
    if not required <= keys or keys - required - _OPTIONAL_CLAIM_KEYS:
        raise EvidenceParseError("the document has missing or unknown fields")
    if payload["format"] != "parley/sw-quote/1":
        raise EvidenceParseError("format is not parley/sw-quote/1")
    cab = payload["cabundle"]
    if not isinstance(cab, (list, tuple)) or len(cab) > MAX_INTERMEDIATES:
        raise EvidenceParseError("cabundle is not an array of at most 4")
    return SoftwareQuote(message=msg, claims=parse_claims(payload), timestamp_ms=_timestamp(payload["timestamp"]),
                         nonce=_bstr(payload["nonce"], "nonce"),
                         certificate=_bstr(payload["certificate"], "certificate"),
                         cabundle=[_bstr(c, "cabundle entry") for c in cab])


def _chain_problem(leaf: x509.Certificate, intermediates: list[x509.Certificate], root: x509.Certificate,
                   now: _dt.datetime) -> str | None:
    """RFC 5280 path checks Parley needs: names, signatures, validity, CA flags, key usage, path length."""
    path = [leaf] + intermediates + [root]
    for i, cert in enumerate(path):
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            return "a certificate is expired or not yet valid"
        try:
            bc = cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value
        except x509.ExtensionNotFound:
            bc = None
        try:
            ku = cert.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
        except x509.ExtensionNotFound:
            ku = None
        if i == 0:
            if bc is not None and bc.ca:
                return "the quoting certificate is a CA"
            if ku is None or not ku.digital_signature:
                return "the quoting certificate does not allow digitalSignature"
        else:
            if bc is None or not bc.ca:
                return "an issuer is not a CA"
            if ku is not None and not ku.key_cert_sign:
                return "an issuer does not allow keyCertSign"
            if bc.path_length is not None and i - 1 > bc.path_length:
                return "a path length constraint is exceeded"
        if i + 1 < len(path):
            issuer = path[i + 1]
            if cert.issuer != issuer.subject:
                return "a certificate's issuer is not the next certificate"
            try:
                cert.verify_directly_issued_by(issuer)
            except Exception:  # InvalidSignature, ValueError, TypeError on an unusable key
                return "a certificate's signature does not verify"
    return None


def check_integrity(q: SoftwareQuote, policy: Policy, nonce: bytes, now: _dt.datetime) -> list[Reason]:
    """Stage 2: empty when the document is intact. Order: chain, quoting key, signature, nonce."""
    if policy.quoting_root is None:
        return [Reason("integrity.noTrustAnchor", "no pinned quoting root to check software evidence against")]
    try:
        leaf = x509.load_der_x509_certificate(q.certificate)
        inter = [x509.load_der_x509_certificate(c) for c in q.cabundle]
    except ValueError:
        return [Reason("integrity.certificateChain", "the quoting certificate does not chain to the pinned root: "
                                                     "a certificate in the document does not parse")]
    try:
        why = _chain_problem(leaf, inter, policy.quoting_root, now)
    except ValueError:  # cryptography parses extensions lazily
        why = "a certificate in the document does not parse"
    if why:
        return [Reason("integrity.certificateChain", f"the quoting certificate does not chain to the pinned root: {why}")]
    key = leaf.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP384R1):
        return [Reason("integrity.quotingKeyUnusable", "the quoting certificate's key is not a P-384 key")]
    out = []
    bad = q.message.verify(key)
    if bad:
        out.append(Reason("integrity.signature", f"the attestation document's signature is invalid: {bad}"))
    if q.nonce != nonce:
        out.append(Reason("integrity.nonceMismatch", "the evidence does not carry the nonce this party sent"))
    return out


UNAPPRAISED_WARNING = ("WARNING: the platform was not appraised (tpm-unappraised): anyone who controls this host's TPM "
                      "can forge launches and receive your data")


def appraise(claims: Claims, tier: str, timestamp_ms: int | None, policy: Policy, now: _dt.datetime,
             nonce_seen: bool, job: str | None, tpm: tpm_evidence.VerifiedTPM | None = None) -> list[Reason]:
    """Stage 3, in the Swift appraiser's order (`tpm`: the replayed platform of TPM evidence)."""
    return appraise_with_tier(claims, tier, timestamp_ms, policy, now, nonce_seen, job, tpm)[0]


def appraise_with_tier(claims: Claims, tier: str, timestamp_ms: int | None, policy: Policy, now: _dt.datetime,
                       nonce_seen: bool, job: str | None, tpm: tpm_evidence.VerifiedTPM | None = None) -> tuple[list[Reason], str]:
    """The failures, and the tier the evidence earns when there are none (`tpm-unappraised` when a
    TPM platform was not appraised and the policy allows that)."""
    out, earned = [], tier
    if job is not None and claims.job != job:
        out.append(Reason("appraisal.otherJob", "the evidence is for another job than the one asked about"))
    if tier != policy.quote:
        out.append(Reason("appraisal.wrongTier", f"the evidence is a {tier} quote, which the policy does not accept"))
    if tier == "tpm" and policy.quote == "tpm":
        if tpm is not None and tpm.boot is not None and policy.platform is not None:
            out += [Reason("appraisal.platform." + f.kind.value, f.message)
                    for f in platform.appraise_platform(tpm.boot, tpm.ima, tpm.pcrs, policy.platform)]
        elif policy.allow_unappraised_tpm:
            earned = "tpm-unappraised"
        else:
            out.append(Reason("appraisal.platformNotAppraised",
                              "the TPM evidence's platform (measured boot and IMA) could not be appraised: without it, whoever "
                              "controls the TPM can forge launches; the host must send its boot and IMA logs and the policy must "
                              "pin boot_reference and runtime_policy"))
    if claims.module != policy.module:
        out.append(Reason("appraisal.moduleNotExpected", "the worker runs a module other than the one the policy expects"))
    if claims.runtime not in policy.runtime:
        out.append(Reason("appraisal.runtimeNotAccepted", "the worker's runtime measurement is not one the policy accepts"))
    if policy.module_signers is not None and claims.module_signer not in policy.module_signers:
        out.append(Reason("appraisal.signerNotAccepted", "the module is signed by a key the policy does not accept"))
    if claims.debug and not policy.allow_debug:
        out.append(Reason("appraisal.debugWorker", "the worker runs in debug mode (no sandbox), which the policy does not allow"))
    if timestamp_ms is not None:
        age = now.timestamp() - timestamp_ms / 1000
        if age > policy.max_age_seconds:
            out.append(Reason("appraisal.stale", f"the attestation document is {int(age)} seconds old, older than the policy allows"))
        if -age > policy.max_clock_skew_seconds:
            out.append(Reason("appraisal.fromTheFuture", f"the attestation document is dated {int(-age)} seconds in the future"))
    if nonce_seen:
        out.append(Reason("appraisal.nonceReused", "this nonce was already used within its window; use a fresh nonce for every request"))
    return out, earned


class NonceLedger:
    """Nonces already used, each remembered for `window` seconds; kept in a file when `path` is given
    (lines `hex ms`, the CLI's format)."""

    def __init__(self, path: str | None = None, window: float = 86400):
        self.path, self.window, self.seen = path, window, {}
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                text = f.read(16 << 20)
            for line in text.splitlines():
                parts = line.split(" ")
                if len(parts) != 2 or not re.fullmatch(r"([0-9a-f]{2}){16,64}", parts[0]):
                    raise ValueError(f"nonce ledger {path} has a malformed line; delete the file to start a new ledger")
                self.seen[parts[0]] = float(parts[1]) / 1000

    def contains(self, nonce: bytes, now: float) -> bool:
        t = self.seen.get(nonce.hex())
        return t is not None and now - t < self.window

    def record(self, nonce: bytes, now: float) -> None:
        self.seen = {k: t for k, t in self.seen.items() if now - t < self.window}
        self.seen[nonce.hex()] = now
        if self.path:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            tmp = self.path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write("".join(f"{k} {int(t * 1000)}\n" for k, t in self.seen.items()))
            os.replace(tmp, self.path)


def verify(data: bytes, nonce: bytes, policy: Policy, ledger: NonceLedger | None = None, job: str | None = None,
           now: _dt.datetime | None = None) -> Verdict:
    """Parse, check integrity, appraise. Trusted only when every stage passes; a pass records the nonce."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    ledger = ledger if ledger is not None else NonceLedger()
    try:
        q = parse_evidence(bytes(data))
    except EvidenceParseError as e:
        return Verdict(Status.REFUSED, [Reason("unparseable", f"the evidence cannot be read: {e}")])
    seen = ledger.contains(nonce, now.timestamp())
    if isinstance(q, tpm_evidence.TPMEvidence):
        checked = tpm_evidence.check_tpm_integrity(q, policy.tpm_ak_der, nonce)
        if isinstance(checked, list):
            return Verdict(Status.REFUSED, checked)
        claims = checked.claims
        failures, tier = appraise_with_tier(claims, "tpm", None, policy, now, seen, job, checked)
    else:
        broken = check_integrity(q, policy, nonce, now)
        if broken:
            return Verdict(Status.REFUSED, broken)
        claims = q.claims
        failures, tier = appraise_with_tier(claims, "software", q.timestamp_ms, policy, now, seen, job)
    if failures:
        return Verdict(Status.REFUSED, failures)
    try:
        ledger.record(nonce, now.timestamp())
    except OSError as e:
        return Verdict(Status.FAILED, [Reason("verifier.nonceLedger", f"the nonce ledger could not be written: {e}")])
    return Verdict(Status.TRUSTED, [], tier, claims, UNAPPRAISED_WARNING if tier == "tpm-unappraised" else None)
