"""Platform logs, their replay and their appraisal (docs/formats.md sections 11-12).

    parse_boot_log(bytes)  -> BootLog   TCG PC Client crypto-agile (or SHA-1 legacy) log, UNTRUSTED
    parse_ima_list(bytes)  -> IMAList   binary_runtime_measurements, UNTRUSTED
    replay_boot(log, pcrs) -> ReplayedBoot | [ReplayFailure]   (stage 2)
    replay_ima(list, pcrs) -> ReplayedIMA  | [ReplayFailure]   (stage 2)
    appraise_platform(boot, ima, pcrs, reference) -> [AppraisalFailure]  (stage 3)
    PlatformReference.load(boot_path, runtime_path, required) the policy's reference values

Both logs are little-endian. Only replay makes their digests count; the event data and paths stay
what the host wrote.
"""
from __future__ import annotations

import enum
import hashlib
import json
import re
from dataclasses import dataclass

BOOT_PCRS = list(range(8))
IMA_PCR = 10
AGGREGATE_PCRS = list(range(10))
BOOT_AGGREGATE = "boot_aggregate"
WORKER_IMA_PATH = "/memfd:parley-enclave (deleted)"

MAX_BOOT_LOG_BYTES = 2 << 20
MAX_BOOT_EVENTS = 8192
MAX_BOOT_EVENT_BYTES = 256 << 10
MAX_ALGORITHMS = 8
MAX_IMA_BYTES = 32 << 20
MAX_IMA_ENTRIES = 200_000
MAX_TEMPLATE_DATA = 64 << 10
MAX_TEMPLATE_NAME = 32
MAX_RUNTIME_POLICY_BYTES = 64 << 20
MAX_POLICY_PATHS = 1_000_000
MAX_EXCLUDES = 4096
MAX_BOOT_REFERENCE_BYTES = 64 << 10
MAX_APPRAISAL_FAILURES = 32
MAX_TEMPLATE_FAILURES = 16

EV_NO_ACTION = 3
_SPEC_ID = b"Spec ID Event03\0"
_STARTUP_LOCALITY = b"StartupLocality\0"
# TPM_ALG_ID -> (name, digest size)
BANKS = {0x0004: ("sha1", 20), 0x000B: ("sha256", 32), 0x000C: ("sha384", 48), 0x000D: ("sha512", 64)}
_SIZES = {name: size for name, size in BANKS.values()}


class PlatformParseError(ValueError):
    """A platform log is malformed, over a cap, or of a kind Parley does not read."""


def _hash(bank: str, data: bytes) -> bytes:
    return hashlib.new(bank, data).digest()


class _LE:
    """Bounded little-endian cursor; a declared length over its cap is refused before reading."""

    def __init__(self, data: bytes, structure: str):
        self.data, self.structure, self.pos = data, structure, 0

    @property
    def at_end(self) -> bool:
        return self.pos == len(self.data)

    def _need(self, n: int, field: str) -> None:
        if n > len(self.data) - self.pos:
            raise PlatformParseError(f"{self.structure} is truncated at byte {self.pos} (reading {field})")

    def uint(self, width: int, field: str) -> int:
        self._need(width, field)
        v = int.from_bytes(self.data[self.pos:self.pos + width], "little")
        self.pos += width
        return v

    def take(self, n: int, field: str, cap: int) -> bytes:
        if n > cap:
            raise PlatformParseError(f"{self.structure} at byte {self.pos}: {field} declares {n} bytes, over the cap of {cap}")
        self._need(n, field)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out


# ---------------------------------------------------------------------------------------------
# Measured-boot log

@dataclass(frozen=True)
class BootEvent:
    sequence: int              # counting the Spec ID header as 0, as tpm2_eventlog does
    pcr: int
    type: int
    digests: dict              # bank name -> digest
    data: bytes                # untrusted hint

    @property
    def extended(self) -> bool:
        return self.type != EV_NO_ACTION


@dataclass(frozen=True)
class BootLog:
    banks: list[str]
    events: list[BootEvent]
    startup_locality: int | None

    def initial(self, pcr: int, bank: str) -> bytes:
        v = bytearray(_SIZES[bank])
        if pcr == 0 and self.startup_locality is not None:
            v[-1] = self.startup_locality
        return bytes(v)

    def replayed(self, bank: str) -> dict[int, bytes] | None:
        if bank not in self.banks:
            return None
        pcrs = {0: self.initial(0, bank)}
        for e in self.events:
            if e.extended:
                pcrs[e.pcr] = _hash(bank, pcrs.get(e.pcr, self.initial(e.pcr, bank)) + e.digests[bank])
        return pcrs


def _note_locality(e: BootEvent, earlier: list[BootEvent], current: int | None) -> int | None:
    if not (e.pcr == 0 and e.type == EV_NO_ACTION and len(e.data) == 17 and e.data[:16] == _STARTUP_LOCALITY):
        return current
    if current is not None:
        raise PlatformParseError("the boot log has two StartupLocality events")
    if any(x.pcr == 0 and x.extended for x in earlier):
        raise PlatformParseError("the boot log's StartupLocality event comes after an extend of PCR 0")
    return e.data[16]


def _parse_legacy(data: bytes) -> BootLog:
    r, events, loc = _LE(data, "boot event log (SHA-1 format)"), [], None
    while not r.at_end:
        if len(events) >= MAX_BOOT_EVENTS:
            raise PlatformParseError(f"the boot event log has more than {MAX_BOOT_EVENTS} events")
        seq = len(events)
        pcr = r.uint(4, f"event {seq} pcrIndex")
        if pcr >= 24:
            raise PlatformParseError(f"boot log event {seq} names PCR {pcr}, not 0-23")
        typ = r.uint(4, f"event {seq} eventType")
        digest = r.take(20, f"event {seq} digest", 20)
        body = r.take(r.uint(4, f"event {seq} eventSize"), f"event {seq} data", MAX_BOOT_EVENT_BYTES)
        e = BootEvent(seq, pcr, typ, {"sha1": digest}, body)
        loc = _note_locality(e, events, loc)
        events.append(e)
    return BootLog(["sha1"], events, loc)


def parse_boot_log(data: bytes) -> BootLog:
    """A crypto-agile log (a SHA-1-format Spec ID Event03 header, then TCG_PCR_EVENT2 records); a
    log whose first record is no Spec ID header is read as the SHA-1 legacy format."""
    data = bytes(data)
    if len(data) > MAX_BOOT_LOG_BYTES:
        raise PlatformParseError(f"the boot event log is {len(data)} bytes, over the cap of {MAX_BOOT_LOG_BYTES}")
    r = _LE(data, "boot event log")
    hpcr = r.uint(4, "header pcrIndex")
    htype = r.uint(4, "header eventType")
    r.take(20, "header digest", 20)
    header = r.take(r.uint(4, "header eventSize"), "header event", MAX_BOOT_EVENT_BYTES)
    if not (hpcr == 0 and htype == EV_NO_ACTION and len(header) >= 24 and header[:16] == _SPEC_ID):
        return _parse_legacy(data)
    h = _LE(header[16:], "Spec ID header")
    h.uint(4, "platformClass")
    for f in ("specVersionMinor", "specVersionMajor", "specErrata", "uintnSize"):
        h.uint(1, f)
    count = h.uint(4, "numberOfAlgorithms")
    if not 1 <= count <= MAX_ALGORITHMS:
        raise PlatformParseError(f"the boot log header declares {count} algorithms (1 to {MAX_ALGORITHMS} accepted)")
    sizes, banks = {}, []
    for _ in range(count):
        alg, size = h.uint(2, "algorithmId"), h.uint(2, "digestSize")
        if alg not in BANKS:
            raise PlatformParseError(f"the boot log header declares algorithm 0x{alg:x}, which Parley does not know")
        name, want = BANKS[alg]
        if want != size or alg in sizes:
            raise PlatformParseError(f"the boot log header declares {name} twice or with size {size}")
        sizes[alg] = size
        banks.append(name)
    h.take(h.uint(1, "vendorInfoSize"), "vendorInfo", 255)
    if not h.at_end:
        raise PlatformParseError("the Spec ID header has trailing bytes")
    events, loc = [], None
    while not r.at_end:
        if len(events) >= MAX_BOOT_EVENTS:
            raise PlatformParseError(f"the boot event log has more than {MAX_BOOT_EVENTS} events")
        seq = len(events) + 1
        pcr = r.uint(4, f"event {seq} pcrIndex")
        if pcr >= 24:
            raise PlatformParseError(f"boot log event {seq} names PCR {pcr}, not 0-23")
        typ = r.uint(4, f"event {seq} eventType")
        n = r.uint(4, f"event {seq} digest count")
        if n != len(banks):
            raise PlatformParseError(f"boot log event {seq} has {n} digests; the header declares {len(banks)} algorithms")
        digests = {}
        for _ in range(n):
            alg = r.uint(2, f"event {seq} hashAlg")
            if alg not in sizes or BANKS[alg][0] in digests:
                raise PlatformParseError(f"boot log event {seq} has a digest of an algorithm the header does not declare, or one twice")
            digests[BANKS[alg][0]] = r.take(sizes[alg], f"event {seq} digest", 64)
        body = r.take(r.uint(4, f"event {seq} eventSize"), f"event {seq} data", MAX_BOOT_EVENT_BYTES)
        e = BootEvent(seq, pcr, typ, digests, body)
        loc = _note_locality(e, events, loc)
        events.append(e)
    return BootLog(banks, events, loc)


# ---------------------------------------------------------------------------------------------
# IMA measurement list

@dataclass(frozen=True)
class IMAContent:
    """Decoded template fields: kind 'file' (ima-ng, ima-sig), 'buffer' (ima-buf) or 'undecoded'."""
    kind: str
    name: str = ""
    algorithm: str = ""
    digest: bytes = b""


_UNDECODED = IMAContent("undecoded")


@dataclass(frozen=True)
class IMAEntry:
    sequence: int
    pcr: int
    template_digest: bytes
    template_name: str
    template_data: bytes

    @property
    def violation(self) -> bool:
        return self.template_digest == bytes(20)

    def extend_digest(self, bank: str) -> bytes:
        return b"\xff" * _SIZES[bank] if self.violation else _hash(bank, self.template_data)

    @property
    def content(self) -> IMAContent:
        fields = _fields(self.template_data)
        if fields is None or len(fields) < 2:
            return _UNDECODED
        d, name = _digest_field(fields[0]), _name_field(fields[1])
        if d is None or name is None:
            return _UNDECODED
        kind = {("ima-ng", 2): "file", ("ima-sig", 3): "file", ("ima-buf", 3): "buffer"}.get((self.template_name, len(fields)))
        return IMAContent(kind, name, d[0], d[1]) if kind else _UNDECODED


def _fields(data: bytes) -> list[bytes] | None:
    """`u32 length || bytes` fields, at most 8, tiling the data exactly; else None."""
    r, out = _LE(data, "IMA template data"), []
    while not r.at_end:
        if len(out) >= 8:
            return None
        try:
            out.append(r.take(r.uint(4, "field length"), "field", MAX_TEMPLATE_DATA))
        except PlatformParseError:
            return None
    return out


def _digest_field(f: bytes) -> tuple[str, bytes] | None:
    """d-ng: `algorithm ":" NUL digest`; a known algorithm's digest must have its size."""
    colon = f.find(b":")
    if colon < 0 or colon >= 16 or colon + 1 >= len(f) or f[colon + 1] != 0:
        return None
    try:
        alg = f[:colon].decode("utf-8")
    except UnicodeDecodeError:
        return None
    digest = f[colon + 2:]
    if alg in _SIZES and _SIZES[alg] != len(digest):
        return None
    return alg, digest


def _name_field(f: bytes) -> str | None:
    if not f or f[-1] != 0 or len(f) > 4097:
        return None
    try:
        return f[:-1].decode("utf-8")
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True)
class IMAList:
    entries: list[IMAEntry]


def parse_ima_list(data: bytes) -> IMAList:
    data = bytes(data)
    if len(data) > MAX_IMA_BYTES:
        raise PlatformParseError(f"the IMA measurement list is {len(data)} bytes, over the cap of {MAX_IMA_BYTES}")
    r, entries = _LE(data, "IMA measurement list"), []
    while not r.at_end:
        if len(entries) >= MAX_IMA_ENTRIES:
            raise PlatformParseError(f"the IMA measurement list has more than {MAX_IMA_ENTRIES} entries")
        i = len(entries)
        pcr = r.uint(4, f"entry {i} pcr")
        if pcr >= 24:
            raise PlatformParseError(f"IMA entry {i} names PCR {pcr}, not 0-23")
        digest = r.take(20, f"entry {i} template digest", 20)
        raw = r.take(r.uint(4, f"entry {i} name length"), f"entry {i} template name", MAX_TEMPLATE_NAME)
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            name = ""
        if not name:
            raise PlatformParseError(f"IMA entry {i} has a template name that is not text")
        if name == "ima":
            raise PlatformParseError(f'IMA entry {i} uses the legacy "ima" template; boot with ima_template=ima-ng or ima-sig')
        body = r.take(r.uint(4, f"entry {i} data length"), f"entry {i} template data", MAX_TEMPLATE_DATA)
        entries.append(IMAEntry(i, pcr, digest, name, body))
    return IMAList(entries)


# ---------------------------------------------------------------------------------------------
# Replay (stage 2)

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


# ---------------------------------------------------------------------------------------------
# Reference values (the policy's boot_reference, runtime_policy, required_measured)

_KEYLIME_KEYS = {"meta", "release", "digests", "excludes", "keyrings", "ima", "ima-buf", "verification-keys"}
_HEX = re.compile(r"[0-9a-fA-F]*")


def _hex_digest(s: str) -> bytes | None:
    if not isinstance(s, str) or len(s) % 2 or not _HEX.fullmatch(s):
        return None
    b = bytes.fromhex(s)
    return b if len(b) in (20, 32, 48, 64) else None


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise PlatformParseError(f'duplicate JSON key "{k[:64]}"')
        d[k] = v
    return d


@dataclass(frozen=True)
class RuntimePolicy:
    """A Keylime runtime policy: path -> accepted lower-case hex digests, and exclude patterns."""
    digests: dict[str, frozenset]
    excludes: list[str]

    @staticmethod
    def parse(data: bytes) -> "RuntimePolicy":
        if len(data) > MAX_RUNTIME_POLICY_BYTES:
            raise PlatformParseError(f"runtime policy is over {MAX_RUNTIME_POLICY_BYTES} bytes")
        try:
            j = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise PlatformParseError("runtime policy is not a JSON object (Keylime runtime-policy format expected)") from None
        if not isinstance(j, dict):
            raise PlatformParseError("runtime policy is not a JSON object (Keylime runtime-policy format expected)")
        unknown = sorted(set(j) - _KEYLIME_KEYS)
        if unknown:
            raise PlatformParseError(f'runtime policy has an unknown field "{unknown[0][:64]}"')
        digests = j.get("digests")
        if not isinstance(digests, dict):
            raise PlatformParseError('runtime policy has no "digests" object')
        if len(digests) > MAX_POLICY_PATHS:
            raise PlatformParseError(f"runtime policy lists more than {MAX_POLICY_PATHS} paths")
        out = {}
        for path, lst in digests.items():
            if not isinstance(lst, list) or not lst or not all(isinstance(x, str) for x in lst):
                raise PlatformParseError(f'runtime policy: digests for "{path[:256]}" must be a non-empty array of hex strings')
            norm = set()
            for s in lst:
                b = _hex_digest(s.split(":", 1)[-1])
                if b is None:
                    raise PlatformParseError(f'runtime policy: a digest for "{path[:256]}" is not a SHA-1/256/384/512 hex digest')
                norm.add(b.hex())
            out[path] = frozenset(norm)
        ex = j.get("excludes", [])
        if ex is None:
            ex = []
        if not isinstance(ex, list) or not all(isinstance(x, str) for x in ex):
            raise PlatformParseError("runtime policy: excludes must be an array of strings")
        if len(ex) > MAX_EXCLUDES:
            raise PlatformParseError(f"runtime policy has more than {MAX_EXCLUDES} excludes")
        return RuntimePolicy(out, list(ex))

    def __post_init__(self):
        compiled = []
        for p in self.excludes:
            try:
                compiled.append(re.compile(p))
            except re.error:
                raise PlatformParseError(f'runtime policy: exclude "{p[:256]}" is not a valid regular expression') from None
        object.__setattr__(self, "_compiled", compiled)

    def excluded(self, path: str) -> bool:
        return any(c.match(path) for c in self._compiled)


def parse_boot_reference(data: bytes) -> dict[int, bytes]:
    usage = 'boot reference must be {"format": "parley/boot-reference/1", "bank": "sha256", "pcrs": {"0": hex, … "7": hex}}'
    if len(data) > MAX_BOOT_REFERENCE_BYTES:
        raise PlatformParseError("boot reference is not a JSON object of at most 64 KiB")
    try:
        j = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise PlatformParseError(usage) from None
    if not isinstance(j, dict) or set(j) != {"format", "bank", "pcrs"} or not isinstance(j["pcrs"], dict) \
            or j["format"] != "parley/boot-reference/1" or j["bank"] != "sha256":
        raise PlatformParseError(usage)
    pcrs = {}
    for k, v in j["pcrs"].items():
        if not re.fullmatch(r"[0-9]{1,2}", k) or not isinstance(v, str) or len(v) % 2 or not _HEX.fullmatch(v):
            raise PlatformParseError(f'boot reference: PCR "{k[:16]}" is not an index with a hex value')
        pcrs[int(k)] = bytes.fromhex(v)
    if set(pcrs) != set(BOOT_PCRS) or any(len(v) != 32 for v in pcrs.values()):
        raise PlatformParseError("a boot reference needs a 32-byte SHA-256 value for each of PCRs 0-7")
    return pcrs


@dataclass(frozen=True)
class PlatformReference:
    boot: dict[int, bytes]
    runtime: RuntimePolicy
    required: list[str]          # lower-case hex file digests

    @staticmethod
    def make(boot: dict[int, bytes], runtime: RuntimePolicy, required: list[str]) -> "PlatformReference":
        if not required:
            raise PlatformParseError("required_measured must list the digests of the reviewed parley and parley-enclave executables")
        return PlatformReference(boot, runtime, [r.lower() for r in required])


# ---------------------------------------------------------------------------------------------
# Appraisal (stage 3)

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
