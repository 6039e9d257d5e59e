"""An audit bundle's files (docs/log.md section 5) and the record scan of its `entries.log`
(section 4): untrusted input, read with caps; the MANIFEST catches damage, not forgery."""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

from . import cbor
from . import log as _log
from .audit_types import Finding
from .errors import ParleyError

MAX_ENTRY_BYTES = 16 << 20
MAX_BUNDLE_FILE = 1 << 31
ENTRY_MAGIC = b"PRLYLOG1"


@dataclass
class AuditBundle:
    """The bundle's files (relative path -> bytes) and what its MANIFEST says is wrong with them."""
    files: dict[str, bytes]
    manifest_problems: list[str]

    @staticmethod
    def open(path: str) -> "AuditBundle":
        """A folder written by `parley audit export`, or a file holding the `/v1/audit/export` body."""
        if os.path.isdir(path):
            files = {}
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for n in sorted(names):
                    if n.startswith("."):
                        continue
                    full = os.path.join(root, n)
                    if os.path.getsize(full) > MAX_BUNDLE_FILE:
                        raise ParleyError("malformed", f"{full} is too large for an audit bundle file")
                    with open(full, "rb") as f:
                        files[os.path.relpath(full, path).replace(os.sep, "/")] = f.read()
            return AuditBundle.from_files(files, path)
        with open(path, "rb") as f:
            return AuditBundle.from_export(f.read(MAX_BUNDLE_FILE + 1))

    @staticmethod
    def from_export(body: bytes) -> "AuditBundle":
        """The host's `/v1/audit/export` answer: a CBOR map of relative path to file bytes."""
        try:
            m = cbor.loads(body, cbor.Limits(max_bytes=MAX_BUNDLE_FILE, max_depth=3, max_items=1 << 20))
        except cbor.CBORError as e:
            raise ParleyError("malformed", f"the audit export is not deterministic CBOR: {e}") from None
        if not isinstance(m, dict) or not all(isinstance(k, str) and isinstance(v, bytes) for k, v in m.items()):
            raise ParleyError("malformed", "the audit export is not a map of path to bytes")
        return AuditBundle.from_files(m, "the export")

    @staticmethod
    def from_files(files: dict[str, bytes], name: str) -> "AuditBundle":
        for p in files:
            if p.startswith("/") or ".." in p.split("/") or not p:
                raise ParleyError("malformed", f"{name} names an unsafe path")
        if "entries.log" not in files:
            raise ParleyError("malformed", f"{name} has no entries.log: it is not an audit bundle")
        if "MANIFEST" not in files:
            raise ParleyError("malformed", f"the MANIFEST ({name}) is missing")
        listed: dict[str, bytes] = {}
        for number, line in enumerate(l for l in files["MANIFEST"].decode("utf-8", "replace").split("\n") if l):
            m = re.fullmatch(r"([0-9a-fA-F]{64})  (.+)", line)
            if not m:
                raise ParleyError("malformed", f"MANIFEST line {number + 1} is not \"<sha256 hex>  <path>\"")
            path = m.group(2)
            if path.startswith("/") or ".." in path.split("/"):
                raise ParleyError("malformed", f"MANIFEST line {number + 1} names a path outside the bundle: {path!r}")
            if path in listed:
                raise ParleyError("malformed", f"MANIFEST lists {path} twice")
            listed[path] = bytes.fromhex(m.group(1))
        problems = []
        considered = [p for p in sorted(files) if p in ("entries.log", "log-key.pub", "quoting-root.pem", "tpm-ak.pem")
                      or (p.startswith("checkpoints/") and p.endswith(".note") and p.count("/") == 1)
                      or (p.startswith("tpm-events/") and p.count("/") == 1)]
        for p in considered:
            if p not in listed:
                problems.append(f"{p} is not listed in the MANIFEST")
            elif listed[p] != hashlib.sha256(files[p]).digest():
                problems.append(f"{p} differs from its MANIFEST digest")
        for p in sorted(listed):
            if p not in considered:
                problems.append(f"{p} is listed in the MANIFEST but missing")
        return AuditBundle(files, problems)

    @property
    def checkpoint_notes(self) -> list[bytes]:
        return [self.files[p] for p in sorted(self.files) if p.startswith("checkpoints/") and p.endswith(".note") and p.count("/") == 1]


class MerkleTree:
    """The RFC 9162 tree over leaf hashes; `root(size)` of any prefix."""

    def __init__(self, leaves: list[bytes]):
        self.leaves = leaves

    @property
    def size(self) -> int:
        return len(self.leaves)

    def root(self, size: int) -> bytes:
        def mth(lo: int, hi: int) -> bytes:
            if hi - lo == 1:
                return self.leaves[lo]
            k = 1
            while k * 2 < hi - lo:
                k *= 2
            return hashlib.sha256(b"\x01" + mth(lo, lo + k) + mth(lo + k, hi)).digest()
        if size == 0:
            return hashlib.sha256(b"").digest()
        return mth(0, size)


def scan_entries(data: bytes) -> tuple[list[tuple[int, bytes]], Finding | None]:
    """The intact prefix of entries.log as (index, payload), and what ended the scan, if not its end."""
    out: list[tuple[int, bytes]] = []
    if len(data) < 8 or data[:8] != ENTRY_MAGIC:
        return out, Finding("log.badFileHeader", "the entry file does not start with the log's magic", 0)
    off, pos, size = 8, 0, len(data)
    while off < size:
        remaining = size - off
        torn = Finding("log.truncatedEntry", f"the file ends {remaining} bytes into this entry", pos)
        if remaining < 12:
            return out, torn
        length = int.from_bytes(data[off:off + 4], "big")
        index = int.from_bytes(data[off + 4:off + 12], "big")
        rec = 12 + length + 32
        if rec > remaining:
            return out, torn
        if length > MAX_ENTRY_BYTES:
            return out, Finding("log.entryTooLarge", f"the record's length {length} is over the limit", pos)
        payload = data[off + 12:off + 12 + length]
        if _log.leaf_hash(payload) != data[off + 12 + length:off + rec]:
            if rec == remaining:
                return out, torn
            return out, Finding("log.entryChecksumMismatch", "the entry's bytes do not match its checksum", pos)
        if index != pos:
            return out, Finding("log.entryOutOfPlace", f"the record here claims index {index}: an entry was dropped, inserted or moved", pos)
        out.append((pos, payload))
        off += rec
        pos += 1
    return out, None
