"""Stage 3: the replayed platform against the party's reference values (docs/formats.md section 12):
boot PCRs, boot_aggregate, every quoted IMA entry, the required executables."""
from __future__ import annotations

import enum
from dataclasses import dataclass

from .logs import AGGREGATE_PCRS, BOOT_AGGREGATE, BOOT_PCRS, MAX_APPRAISAL_FAILURES, IMAEntry, _hash
from .reference import PlatformReference
from .replay import ReplayedBoot, ReplayedIMA


class AppraisalFailureKind(enum.Enum):
    BOOT_PCR_NOT_REFERENCE = "bootPCRNotReference"
    EXECUTABLE_NOT_ALLOWED = "executableNotAllowed"
    DIGEST_NOT_ALLOWED = "digestNotAllowed"
    IMA_VIOLATION = "imaViolation"
    TEMPLATE_NOT_APPRAISABLE = "templateNotAppraisable"
    REQUIRED_NOT_MEASURED = "requiredNotMeasured"
    AGGREGATE_MISSING = "bootAggregate.missing"
    AGGREGATE_BANK_NOT_QUOTED = "bootAggregate.bankNotQuoted"
    AGGREGATE_PCR_NOT_QUOTED = "bootAggregate.pcrNotQuoted"
    AGGREGATE_MISMATCH = "bootAggregate.mismatch"


@dataclass(frozen=True)
class PlatformFailure:
    kind: AppraisalFailureKind
    message: str


def _is_boot_aggregate(e: IMAEntry) -> bool:
    c = e.content
    return c.kind == "file" and c.name == BOOT_AGGREGATE and not e.violation


def expected_boot_aggregate(pcrs: dict[int, bytes], bank: str = "sha256") -> bytes | None:
    idx = BOOT_PCRS if bank == "sha1" else AGGREGATE_PCRS
    if any(i not in pcrs for i in idx):
        return None
    return _hash(bank, b"".join(pcrs[i] for i in idx))


def appraise_boot_aggregate(entries: list[IMAEntry], quoted: dict[int, bytes]) -> PlatformFailure | None:
    """IMA's first entry must be `boot_aggregate` = SHA-256(PCR0 || ... || PCR9) of the quote."""
    K = AppraisalFailureKind
    if not entries or entries[0].sequence != 0 or not _is_boot_aggregate(entries[0]):
        return PlatformFailure(K.AGGREGATE_MISSING, "the quoted IMA list does not start with a boot_aggregate entry")
    c = entries[0].content
    if c.algorithm != "sha256":
        return PlatformFailure(K.AGGREGATE_BANK_NOT_QUOTED, f"the IMA boot_aggregate is a {c.algorithm[:16]} digest over a PCR bank "
                               "the quote does not cover; boot the host with ima_hash=sha256 (Linux 5.8 or later)")
    absent = next((i for i in AGGREGATE_PCRS if i not in quoted), None)
    if absent is not None:
        return PlatformFailure(K.AGGREGATE_PCR_NOT_QUOTED, f"the TPM quote does not cover PCR {absent}, which the IMA boot_aggregate hashes")
    if expected_boot_aggregate(quoted) != c.digest:
        return PlatformFailure(K.AGGREGATE_MISMATCH, "the IMA boot_aggregate (sha256) is not the hash of the quoted PCRs 0-9")
    return None


def appraise_platform(boot: ReplayedBoot, ima: ReplayedIMA, quoted: dict[int, bytes], ref: PlatformReference) -> list[PlatformFailure]:
    """Boot PCRs, then boot_aggregate, then every other quoted IMA entry (at most 32 failures), then
    the required executables."""
    K, out, seen = AppraisalFailureKind, [], set()
    out += [PlatformFailure(K.BOOT_PCR_NOT_REFERENCE, f"boot PCR {p} is not the reference value")
            for p in BOOT_PCRS if boot.pcrs.get(p) != ref.boot.get(p)]
    agg = appraise_boot_aggregate(ima.entries, {i: v for i, v in quoted.items() if i in AGGREGATE_PCRS})
    if agg:
        out.append(agg)
    for e in ima.entries:
        if len(out) >= MAX_APPRAISAL_FAILURES:
            break
        if e.sequence == 0 and _is_boot_aggregate(e):
            continue
        c = e.content
        if c.kind == "file":
            hx = c.digest.hex()
            if c.name == BOOT_AGGREGATE:
                out.append(PlatformFailure(K.EXECUTABLE_NOT_ALLOWED, f"IMA entry {e.sequence}: {c.name} (digest {hx}) ran but is not on the runtime allow-list"))
                continue
            if ref.runtime.excluded(c.name):
                continue
            if e.violation:
                out.append(PlatformFailure(K.IMA_VIOLATION, f"IMA entry {e.sequence}: {c.name} is a measurement violation"))
            elif c.name in ref.runtime.digests:
                if hx in ref.runtime.digests[c.name]:
                    seen.add(hx)
                else:
                    out.append(PlatformFailure(K.DIGEST_NOT_ALLOWED, f"IMA entry {e.sequence}: {c.name} ran with digest {hx}, which the runtime allow-list does not accept for that path"))
            else:
                out.append(PlatformFailure(K.EXECUTABLE_NOT_ALLOWED, f"IMA entry {e.sequence}: {c.name} (digest {hx}) ran but is not on the runtime allow-list"))
        elif c.kind == "buffer":
            if not ref.runtime.excluded(c.name):
                out.append(PlatformFailure(K.TEMPLATE_NOT_APPRAISABLE, f"IMA entry {e.sequence} has template {e.template_name}, which names no file to appraise"))
        else:
            out.append(PlatformFailure(K.TEMPLATE_NOT_APPRAISABLE, f"IMA entry {e.sequence} has template {e.template_name}, which names no file to appraise"))
    out += [PlatformFailure(K.REQUIRED_NOT_MEASURED, f"the reviewed executable with digest {d} is not in the quoted IMA list")
            for d in ref.required if d not in seen]
    return out
