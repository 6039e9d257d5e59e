"""TPM evidence `parley/tpm-quote/2` (docs/formats.md sections 9-11): stage 1 and stage 2.

    parse_tpm_evidence(bytes)                -> TPMEvidence (UNTRUSTED) or EvidenceParseError
    check_tpm_integrity(ev, policy, nonce)   -> VerifiedTPM | [Reason]

Stage 3 (the launch claims and the platform against the party's reference values) is
`evidence.appraise`.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import cbor, platform, tpm
from .claims import Claims, EvidenceParseError, Reason, parse_claims

FORMAT = "parley/tpm-quote/2"
EPOCH_FORMAT = "parley/epoch-event/2"
LAUNCH_FORMAT = "parley/launch-event/1"
LAUNCH_PCR = 13
MAX_EVENTS = 4096
MAX_PCRS = 24
EVIDENCE_LIMITS = cbor.Limits(max_bytes=40 << 20, max_depth=4, max_items=8256)
EVENT_LIMITS = cbor.Limits(max_bytes=8 << 10, max_depth=4, max_items=160)
_FIELDS = {"format", "attest", "signature", "ak_public", "pcr_bank", "pcrs", "event_log", "job", "nonce",
           "public_key", "signing_key", "boot_log", "ima_log"}
_REQUIRED = _FIELDS - {"boot_log", "ima_log"}
_EPOCH_FIELDS = {"format", "epoch", "started", "reset_count", "restart_count"}
_LAUNCH_REQUIRED = {"format", "job", "measurements", "debug", "public_key", "signing_key"}
_LAUNCH_OPTIONAL = {"ledger", "sandbox"}


@dataclass(frozen=True)
class EpochEvent:
    epoch: int
    started: int
    reset_count: int
    restart_count: int


@dataclass(frozen=True)
class LaunchEvent:
    claims: Claims


@dataclass(frozen=True)
class TPMEvidence:
    """Stage 1 output. Nothing here is trusted."""
    attest: bytes
    signature: bytes
    ak_public: bytes
    pcrs: dict[int, bytes]
    event_bytes: list[bytes]
    events: list
    job: str
    nonce: bytes
    public_key: bytes
    signing_key: bytes
    boot_log: platform.BootLog | None
    ima_list: platform.IMAList | None


@dataclass(frozen=True)
class VerifiedTPM:
    """Stage 2 output: the quote verified, the launch log replayed to PCR 13, the platform logs
    (when sent) replayed to PCRs 0-7 and 10. The claims are authentic, not yet appraised."""
    claims: Claims
    pcrs: dict[int, bytes]
    boot: platform.ReplayedBoot | None
    ima: platform.ReplayedIMA | None


def _bytes(v, name: str) -> bytes:
    if not isinstance(v, bytes):
        raise EvidenceParseError(f"{name} is not a byte string")
    return v


def _text(v, name: str) -> str:
    if not isinstance(v, str):
        raise EvidenceParseError(f"{name} is not text")
    return v


def _uint(v, name: str, bits: int = 64) -> int:
    if type(v) is not int or not 0 <= v < 1 << bits:
        raise EvidenceParseError(f"{name} is not an unsigned integer of at most {bits} bits")
    return v


def parse_event(data: bytes):
    """One launch-log event: `parley/epoch-event/2` or `parley/launch-event/1`; any other is refused."""
    try:
        m = cbor.loads(data, EVENT_LIMITS)
    except cbor.CBORError as e:
        raise EvidenceParseError(str(e)) from None
    if not isinstance(m, dict) or not all(isinstance(k, str) for k in m):
        raise EvidenceParseError("an event is not a text-keyed map")
    fmt = _text(m.get("format"), "event format")
    if fmt == EPOCH_FORMAT:
        if set(m) != _EPOCH_FIELDS:
            raise EvidenceParseError("epoch event has missing or unknown fields")
        return EpochEvent(_uint(m["epoch"], "epoch"), _uint(m["started"], "started"),
                          _uint(m["reset_count"], "reset_count", 32), _uint(m["restart_count"], "restart_count", 32))
    if fmt == LAUNCH_FORMAT:
        keys = set(m)
        if not _LAUNCH_REQUIRED <= keys or keys - _LAUNCH_REQUIRED - _LAUNCH_OPTIONAL:
            raise EvidenceParseError("launch event has missing or unknown fields")
        return LaunchEvent(parse_claims(m))
    raise EvidenceParseError(f'event log holds an unknown event type "{fmt[:64]}"')


def parse_tpm_evidence(data: bytes) -> TPMEvidence:
    """Stage 1: the map, every launch event and both platform logs, each within its caps."""
    try:
        m = cbor.loads(data, EVIDENCE_LIMITS)
    except cbor.CBORError as e:
        raise EvidenceParseError(str(e)) from None
    if not isinstance(m, dict) or not all(isinstance(k, str) for k in m):
        raise EvidenceParseError("TPM evidence is not a text-keyed map")
    keys = set(m)
    if keys - _FIELDS:
        raise EvidenceParseError("TPM evidence has an unknown field")
    if not _REQUIRED <= keys:
        raise EvidenceParseError("TPM evidence misses a field")
    if m["format"] != FORMAT:
        raise EvidenceParseError(f"format is not {FORMAT}")
    if m["pcr_bank"] != "sha256":
        raise EvidenceParseError("pcr_bank is not sha256")
    pcr_map = m["pcrs"]
    if not isinstance(pcr_map, dict) or len(pcr_map) > MAX_PCRS:
        raise EvidenceParseError(f"pcrs must be a map of at most {MAX_PCRS} PCRs")
    pcrs = {}
    for k, v in pcr_map.items():
        if type(k) is not int or not 0 <= k < 24:
            raise EvidenceParseError("pcrs has a key that is not a PCR index 0-23")
        pcrs[k] = _bytes(v, f"pcr {k}")
    log = m["event_log"]
    if not isinstance(log, list):
        raise EvidenceParseError("event_log is not an array")
    if len(log) > MAX_EVENTS:
        raise EvidenceParseError(f"event_log has more than {MAX_EVENTS} events")
    event_bytes = [_bytes(e, "an event") for e in log]
    events = []
    for i, b in enumerate(event_bytes):
        try:
            events.append(parse_event(b))
        except EvidenceParseError as e:
            raise EvidenceParseError(f"event {i}: {e}") from None
    if ("boot_log" in m) != ("ima_log" in m):
        raise EvidenceParseError("boot_log and ima_log go together")
    boot = ima = None
    if "boot_log" in m:
        try:
            boot = platform.parse_boot_log(_bytes(m["boot_log"], "boot_log"))
            ima = platform.parse_ima_list(_bytes(m["ima_log"], "ima_log"))
        except platform.PlatformParseError as e:
            raise EvidenceParseError(str(e)) from None
    return TPMEvidence(attest=_bytes(m["attest"], "attest"), signature=_bytes(m["signature"], "signature"),
                       ak_public=_bytes(m["ak_public"], "ak_public"), pcrs=pcrs, event_bytes=event_bytes, events=events,
                       job=_text(m["job"], "job"), nonce=_bytes(m["nonce"], "nonce"),
                       public_key=_bytes(m["public_key"], "public_key"), signing_key=_bytes(m["signing_key"], "signing_key"),
                       boot_log=boot, ima_list=ima)


def replay_launch_log(event_bytes: list[bytes]) -> bytes:
    """PCR 13 from its start value (32 zero bytes): pcr = SHA-256(pcr || SHA-256(event))."""
    pcr = bytes(32)
    for e in event_bytes:
        pcr = hashlib.sha256(pcr + hashlib.sha256(e).digest()).digest()
    return pcr


def _integrity(code: str, message: str) -> Reason:
    return Reason("integrity." + code, message)


def check_tpm_integrity(ev: TPMEvidence, pinned_ak: bytes | None, nonce: bytes) -> VerifiedTPM | list[Reason]:
    """Stage 2, in this order (each group stops the stage when it fails):
    1. a pinned attestation key (`integrity.noTrustAnchor`); the three TPM structures parse
       (`integrity.tpmQuote`);
    2. every one of: the key is the pinned one (`attestationKeyNotPinned`), the quote
       (`tpm.verify_quote`: each failure `tpmQuote`, the nonce `nonceMismatch`), the evidence's
       `nonce` field (`nonceMismatch`, once);
    3. PCR 13 quoted, the launch log replays to it, starts with an epoch event, its epoch is the
       quote's boot; 4. both platform logs replay (every failure of both); 5. exactly one launch
       event names `job`, with the keys the evidence repeats."""
    if pinned_ak is None:
        return [_integrity("noTrustAnchor", "no pinned TPM attestation key to check tpm evidence against")]
    try:
        q = tpm.UnverifiedQuote.parse(ev.attest, ev.signature, ev.ak_public, ev.pcrs)
    except tpm.TPMParseError as e:
        return [_integrity("tpmQuote", f"the TPM quote is invalid: the quote structures do not parse: {e}")]
    out = []
    if tpm.ak_spki(q.key) != pinned_ak:
        out.append(_integrity("attestationKeyNotPinned", "the TPM quote is signed by an attestation key other than the pinned one"))
    for f in tpm.verify_quote(q, nonce):
        if f.kind is tpm.QuoteFailureKind.NONCE_MISMATCH:
            out.append(_integrity("nonceMismatch", "the evidence does not carry the nonce this party sent (replayed or for someone else)"))
        else:
            out.append(_integrity("tpmQuote", f"the TPM quote is invalid: {f.message}"))
    if ev.nonce != nonce and not any(r.code == "integrity.nonceMismatch" for r in out):
        out.append(_integrity("nonceMismatch", "the evidence does not carry the nonce this party sent (replayed or for someone else)"))
    if out:
        return out

    pcr13 = ev.pcrs.get(LAUNCH_PCR)
    if pcr13 is None:
        return [_integrity("launchPCRNotQuoted", f"the TPM quote does not cover PCR {LAUNCH_PCR}, where launches are measured")]
    if replay_launch_log(ev.event_bytes) != pcr13:
        return [_integrity("eventLogDoesNotReplay", f"the event log does not replay to the quoted PCR {LAUNCH_PCR}")]
    if not ev.events or not isinstance(ev.events[0], EpochEvent):
        return [_integrity("eventLogWithoutEpoch", "the event log does not start with an epoch event")]
    epochs = [e for e in ev.events if isinstance(e, EpochEvent)]
    a = q.attestation
    if ev.events[0].reset_count != a.reset_count or (epochs[-1].reset_count, epochs[-1].restart_count) != (a.reset_count, a.restart_count):
        return [_integrity("epochFromAnotherBoot", "the launch log's epoch was written in another boot of the TPM than the one that signed this quote")]

    boot = ima = None
    if ev.boot_log is not None:
        b, i = platform.replay_boot(ev.boot_log, ev.pcrs), platform.replay_ima(ev.ima_list, ev.pcrs)
        failures = (b if isinstance(b, list) else []) + (i if isinstance(i, list) else [])
        if failures:
            return [_integrity("platformReplay." + f.kind.value, f.message) for f in failures]
        boot, ima = b, i

    launches = [e.claims for e in ev.events if isinstance(e, LaunchEvent) and e.claims.job == ev.job]
    if not launches:
        return [_integrity("launchEventMissing", "the event log has no launch event for this job")]
    if len(launches) > 1:
        return [_integrity("launchEventDuplicated", "the event log has more than one launch event for this job")]
    c = launches[0]
    if c.public_key != ev.public_key or c.signing_key != ev.signing_key:
        return [_integrity("keyMismatch", "the worker keys in the evidence differ from those in the job's launch event")]
    return VerifiedTPM(c, dict(ev.pcrs), boot, ima)
