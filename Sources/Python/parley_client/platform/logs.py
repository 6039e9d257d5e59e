"""The platform's two logs as parsed, UNTRUSTED until replayed (docs/formats.md section 11): the TCG PC
Client measured-boot log and the kernel's binary IMA measurement list, both little-endian, every
length checked against its cap before it is read."""
from __future__ import annotations

import hashlib
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
