"""Stage 2: the platform logs replayed against the quoted PCRs (docs/formats.md section 11).
Only what replays is trusted: PCRs 0-7 from the boot log, the prefix of the IMA list that the quote covers."""
from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from .logs import BOOT_PCRS, IMA_PCR, MAX_TEMPLATE_FAILURES, BootLog, IMAEntry, IMAList


class ReplayFailureKind(enum.Enum):
    BOOT_BANK_MISSING = "bootBankMissing"
    BOOT_PCR_MISMATCH = "bootPCRMismatch"
    PCR_NOT_QUOTED = "pcrNotQuoted"
    IMA_TEMPLATE_DIGEST_MISMATCH = "imaTemplateDigestMismatch"
    IMA_ENTRY_OUTSIDE_PCR10 = "imaEntryOutsidePCR10"
    IMA_PCR_MISMATCH = "imaPCRMismatch"


@dataclass(frozen=True)
class ReplayFailure:
    kind: ReplayFailureKind
    message: str
    pcr: int | None = None
    events: tuple = ()


@dataclass(frozen=True)
class ReplayedBoot:
    pcrs: dict[int, bytes]       # the quoted (and replayed) values of PCRs 0-7


@dataclass(frozen=True)
class ReplayedIMA:
    entries: list[IMAEntry]      # the prefix the quote covers
    unquoted: int                # later entries: not trusted, not appraised


def replay_boot(log: BootLog, quoted: dict[int, bytes]) -> ReplayedBoot | list[ReplayFailure]:
    K, values = ReplayFailureKind, log.replayed("sha256")
    if values is None:
        return [ReplayFailure(K.BOOT_BANK_MISSING, "the boot event log has no sha256 digests, the bank the quote covers")]
    out = []
    for pcr in BOOT_PCRS:
        if pcr not in quoted:
            out.append(ReplayFailure(K.PCR_NOT_QUOTED, f"the TPM quote does not cover PCR {pcr}, which the platform appraisal needs", pcr))
            continue
        if values.get(pcr, log.initial(pcr, "sha256")) != quoted[pcr]:
            evs = tuple(e.sequence for e in log.events if e.pcr == pcr and e.extended)
            out.append(ReplayFailure(K.BOOT_PCR_MISMATCH, f"the boot event log does not replay to the quoted PCR {pcr} (events "
                                     f"{', '.join(map(str, evs))} extend it; one was changed, dropped, reordered or inserted)", pcr, evs))
    return out or ReplayedBoot({i: quoted[i] for i in BOOT_PCRS})


def replay_ima(lst: IMAList, quoted: dict[int, bytes]) -> ReplayedIMA | list[ReplayFailure]:
    """Template digests first (at most 16 failures), then the longest prefix replaying to PCR 10."""
    K = ReplayFailureKind
    target = quoted.get(IMA_PCR)
    if target is None:
        return [ReplayFailure(K.PCR_NOT_QUOTED, f"the TPM quote does not cover PCR {IMA_PCR}, which the platform appraisal needs", IMA_PCR)]
    out = []
    for e in lst.entries:
        if e.pcr != IMA_PCR:
            out.append(ReplayFailure(K.IMA_ENTRY_OUTSIDE_PCR10, f"IMA entry {e.sequence} was extended into PCR {e.pcr}, which the quote does not cover", e.pcr, (e.sequence,)))
        if not e.violation and hashlib.sha1(e.template_data).digest() != e.template_digest:
            out.append(ReplayFailure(K.IMA_TEMPLATE_DIGEST_MISMATCH, f"IMA entry {e.sequence}'s template digest is not the hash of its template data", None, (e.sequence,)))
        if len(out) >= MAX_TEMPLATE_FAILURES:
            break
    if out:
        return out
    pcr = bytes(32)
    matched = 0 if pcr == target else None
    for i, e in enumerate(lst.entries):
        pcr = hashlib.sha256(pcr + e.extend_digest("sha256")).digest()
        if pcr == target:
            matched = i + 1
    if matched is None:
        return [ReplayFailure(K.IMA_PCR_MISMATCH, f"no prefix of the IMA measurement list ({len(lst.entries)} entries) replays to the quoted PCR {IMA_PCR}")]
    return ReplayedIMA(lst.entries[:matched], len(lst.entries) - matched)
