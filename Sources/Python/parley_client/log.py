"""Checkpoints (C2SP signed notes of tlog-checkpoints), RFC 9162 consistency proofs, and the
client-state rules of docs/log.md section 7: refuse a rolled-back, forked or rewritten log,
naming both tree sizes, before anything else is fetched or sent."""
from __future__ import annotations

import base64
import binascii
import datetime as _dt
import fcntl
import hashlib
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import cbor
from .errors import ParleyError

MAX_NOTE_BYTES = 64 << 10
MAX_PROOF_HASHES = 64
_NAME = re.compile(r"[^+\s]+")


class LogRefused(ParleyError):
    """The host's log does not extend what this client saw (`logRolledBack`, `logForked`,
    `logNotAnExtension`), its checkpoint does not verify (`checkpointRejected`) or lacks the
    policy's witness cosignatures (`tooFewCosignatures`), or the worker's ledger claim or launch
    entry does not hold against the log (`noLedgerBinding`, `ledgerOnOtherLog`,
    `ledgerCheckpointNotInLog`, `ledgerHidesEntries`, `earlierJobOpen`, `launchNotLogged`: see
    parley_client.receipts). Messages are the CLI's (`LogRefusal`)."""


def cli_date(ms: int | None) -> str:
    """A time as the CLI writes it in refusals (ISO 8601, seconds, UTC: `2026-12-03T06:00:00Z`)."""
    t = _dt.datetime.fromtimestamp((ms or 0) / 1000, _dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def too_few_cosignatures(have: int, need: int) -> LogRefused:
    return LogRefused("tooFewCosignatures",
                      f"the host's checkpoint carries {have} valid cosignature(s) from the witnesses your policy pins, and it needs {need}: "
                      "without them you cannot tell whether other parties are shown the same log. Nothing was sent; ask the operator "
                      "to run `parley serve --witness URL` with your witnesses")


@dataclass(frozen=True)
class VerifierKey:
    """A note verifier key `<name>+<8 hex key id>+<base64(0x01 || Ed25519 key)>`."""
    name: str
    key_id: bytes
    key: Ed25519PublicKey
    text: str

    @staticmethod
    def parse(text: str) -> "VerifierKey":
        text = text.strip()
        parts = text.split("+", 2)
        if len(parts) != 3 or not _NAME.fullmatch(parts[0]) or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise ParleyError("malformed", "not a note verifier key (<name>+<8 hex>+<base64>)")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            raise ParleyError("malformed", "the verifier key's base64 does not decode") from None
        if len(raw) != 33 or raw[0] != 0x01:
            raise ParleyError("malformed", "the verifier key is not an Ed25519 (0x01) key")
        key_id = hashlib.sha256(parts[0].encode() + b"\n" + raw).digest()[:4]
        if key_id.hex() != parts[1]:
            raise ParleyError("malformed", "the verifier key's id does not match its name and key")
        return VerifierKey(parts[0], key_id, Ed25519PublicKey.from_public_bytes(raw[1:]), text)

    @property
    def dir_name(self) -> str:
        # As the CLI names it (ClientState.logDirectory): letters, digits, ".", "-" and "_" kept,
        # anything else (the "/" of "parley.local/log") made "_", so that the name is one path
        # component and both clients share one folder per log.
        safe = "".join(c if c.isalpha() or c.isnumeric() or c in ".-_" else "_" for c in self.name)
        return f"{safe}+{self.key_id.hex()}"


@dataclass(frozen=True)
class CosignerKey:
    """A witness's key, C2SP tlog-cosignature `cosignature/v1` (Ed25519):
    `<name>+<8 hex key id>+<base64(0x04 || key)>`, key id `SHA-256(name || 0x0A || 0x04 || key)[:4]`."""
    name: str
    key_id: bytes
    key: Ed25519PublicKey
    text: str

    @staticmethod
    def parse(text: str) -> "CosignerKey":
        text = text.strip()
        parts = text.split("+", 2)
        if len(text) > 512 or len(parts) != 3 or not _NAME.fullmatch(parts[0]) or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise ParleyError("malformed", "not a witness key (<name>+<8 hex>+<base64>)")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            raise ParleyError("malformed", "the witness key's base64 does not decode") from None
        if len(raw) != 33 or raw[0] != 0x04:
            raise ParleyError("malformed", "the witness key is not an Ed25519 cosignature/v1 (0x04) key")
        key_id = hashlib.sha256(parts[0].encode() + b"\n" + raw).digest()[:4]
        if key_id.hex() != parts[1]:
            raise ParleyError("malformed", "the witness key's id does not match its name and key")
        return CosignerKey(parts[0], key_id, Ed25519PublicKey.from_public_bytes(raw[1:]), text)


def cosignatures(note: str, witnesses: list[CosignerKey]) -> dict[str, int]:
    """The `cosignature/v1` lines of a (log-verified) checkpoint note by `witnesses` that verify:
    witness key text -> its timestamp (POSIX seconds). Lines by other keys are ignored; a line
    claiming a pinned witness that does not verify is left out, so it cannot count; each witness
    counts once. Signed message: `cosignature/v1\ntime <T>\n` then the checkpoint text."""
    sep = note.find("\n\n")
    if sep < 0:
        return {}
    text, sigs = note[:sep + 1], note[sep + 2:]
    out: dict[str, int] = {}
    for line in sigs.splitlines():
        m = re.fullmatch(r"\u2014 (\S+) ([A-Za-z0-9+/=]+)", line)
        if not m:
            continue
        try:
            raw = base64.b64decode(m.group(2), validate=True)
        except binascii.Error:
            continue
        w = next((w for w in witnesses if w.name == m.group(1) and w.key_id == raw[:4]), None)
        if w is None or len(raw) != 76 or w.text in out:
            continue
        ts = int.from_bytes(raw[4:12], "big")
        if ts > (1 << 63) - 1:
            continue
        try:
            w.key.verify(raw[12:], f"cosignature/v1\ntime {ts}\n".encode() + text.encode())
        except InvalidSignature:
            continue
        out[w.text] = ts
    return out


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    note: str


def verify_checkpoint(note: str, key: VerifierKey) -> Checkpoint:
    """Parses a signed note, verifies the log key's signature over its text, then parses the
    tlog-checkpoint text. Signatures by other keys (witness cosignatures) are ignored here."""
    def bad(why: str) -> LogRefused:
        return LogRefused("checkpointRejected", f"the host's log checkpoint is refused: {why}")

    if len(note.encode()) > MAX_NOTE_BYTES:
        raise bad("too large")
    sep = note.find("\n\n")
    if sep < 0 or not note.endswith("\n"):
        raise bad("not a signed note")
    text, sigs = note[:sep + 1], note[sep + 2:]
    signed = False
    for line in sigs.splitlines():
        m = re.fullmatch(r"\u2014 (\S+) ([A-Za-z0-9+/=]+)", line)
        if not m:
            raise bad("a signature line is malformed")
        if m.group(1) != key.name:
            continue
        raw = base64.b64decode(m.group(2))
        if len(raw) != 68 or raw[:4] != key.key_id:
            continue
        try:
            key.key.verify(raw[4:], text.encode())
            signed = True
        except InvalidSignature:
            raise bad(f"the signature by {key.name} does not verify") from None
    if not signed:
        raise bad("the log's key did not sign this checkpoint")
    lines = text.split("\n")[:-1]
    if len(lines) < 3 or lines[0] != key.name or not re.fullmatch(r"0|[1-9][0-9]{0,19}", lines[1]):
        raise bad("the checkpoint text is malformed or for another origin")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except binascii.Error:
        raise bad("the root hash does not decode") from None
    if len(root) != 32:
        raise bad("the root hash is not 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), root, note)


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


MAX_CONSISTENCY_HASHES = 128
EMPTY_ROOT = hashlib.sha256(b"").digest()


def consistency_failure(first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> str | None:
    """RFC 9162 section 2.1.4.2: None when `proof` shows the tree of size `second` (root
    `second_root`) extends the one of size `first`; otherwise why not, in the CLI's words."""
    if first > second:
        return f"the newer tree ({second}) is smaller than the older one ({first})"
    if any(len(p) != 32 for p in proof):
        return "the proof has the wrong number of hashes for these sizes"
    if first == second:
        if proof:
            return "the proof should be empty for these sizes"
        return None if first_root == second_root else "two trees of the same size have different roots"
    if first == 0:
        if proof:
            return "the proof should be empty for these sizes"
        return None if first_root == EMPTY_ROOT else "the empty tree's root is not SHA-256 of the empty string"
    if not proof or len(proof) > MAX_CONSISTENCY_HASHES:
        return "the proof has the wrong number of hashes for these sizes"
    c = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first root is the proof's implicit start
        c.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = c[0]
    for e in c[1:]:
        if sn == 0:
            return "the proof has the wrong number of hashes for these sizes"
        if fn & 1 or fn == sn:
            fr = _node(e, fr)
            sr = _node(e, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = _node(sr, e)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return "the proof has the wrong number of hashes for these sizes"
    if sr != second_root:
        return f"the proof leads to root {sr.hex()}, not the expected one"
    if fr != first_root:
        return f"the proof leads to older root {fr.hex()}, not the expected one"
    return None


def consistency_holds(first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> bool:
    """Whether an RFC 9162 consistency proof holds (see consistency_failure)."""
    return consistency_failure(first, second, first_root, second_root, proof) is None


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def inclusion_failure(index: int, size: int, leaf: bytes, root: bytes, proof: list[bytes]) -> str | None:
    """RFC 9162 section 2.1.3.2: None when `proof` (leaf first) leads from leaf `index` of the
    tree of `size` to `root`; otherwise why not, in the CLI's words (`ProofFailure`)."""
    if not 0 <= index < size:
        return f"leaf index {index} is not in a tree of {size} leaves"
    if len(proof) > MAX_PROOF_HASHES or any(len(p) != 32 for p in proof):
        return "the proof has the wrong number of hashes for these sizes"
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return "the proof has the wrong number of hashes for these sizes"
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return "the proof has the wrong number of hashes for these sizes"
    if r != root:
        return f"the proof leads to root {r.hex()}, not the expected one"
    return None


def inclusion_holds(index: int, size: int, leaf: bytes, root: bytes, proof: list[bytes]) -> bool:
    """Whether an RFC 9162 inclusion proof holds (see inclusion_failure)."""
    return inclusion_failure(index, size, leaf, root, proof) is None


class ClientState:
    """`<state>/logs/<key name>+<key id>/` as the CLI keeps it (docs/log.md section 7): `key`,
    `checkpoint` (the newest verified note), `seen` (ms since the epoch), `LOCK`."""

    def __init__(self, root: str, key: VerifierKey):
        self.dir = os.path.join(root, "logs", key.dir_name)
        self.key = key

    def _lock(self):
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(self.dir, "LOCK"), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def remembered(self) -> tuple[Checkpoint, int | None] | None:
        path = os.path.join(self.dir, "checkpoint")
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as f:
            cp = verify_checkpoint(f.read(MAX_NOTE_BYTES + 1), self.key)
        seen = None
        try:
            with open(os.path.join(self.dir, "seen"), encoding="utf-8") as f:
                seen = int(f.read(32).strip())
        except (OSError, ValueError):
            pass
        return cp, seen

    def _write(self, name: str, text: str) -> None:
        tmp = os.path.join(self.dir, name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.dir, name))

    def follow(self, note: str, consistency_proof, now_ms: int, witnesses: list[CosignerKey] = (), quorum: int = 0) -> Checkpoint:
        """Checks the host's current checkpoint against the memory and keeps it when it is a
        proved extension. `consistency_proof(first, second)` fetches the proof's hashes. With a
        `quorum`, the checkpoint must carry that many valid cosignatures by `witnesses` dated at
        most a minute after `now_ms` (`tooFewCosignatures`), checked before the memory is read."""
        new = verify_checkpoint(note, self.key)
        if quorum > 0:
            limit = max(0, now_ms // 1000 + 60)
            have = sum(1 for t in cosignatures(note, list(witnesses)).values() if t <= limit)
            if have < quorum:
                raise too_few_cosignatures(have, quorum)
        fd = self._lock()
        try:
            old = self.remembered()
            if old is None:
                self._write("key", self.key.text + "\n")
                self._write("checkpoint", new.note)
                self._write("seen", str(now_ms))
                return new
            cp, seen = old
            when = cli_date(seen)
            if new.size < cp.size:
                raise LogRefused("logRolledBack", f"the host's log has {new.size} entries, but on {when} you verified a checkpoint of "
                                                  f"{cp.size} entries: the host rolled its log back or cut it (an older copy of its data "
                                                  "directory?). Nothing was sent; keep your state directory and tell the other parties and "
                                                  "the auditor (`parley audit replay --known-checkpoint`)")
            if new.size == cp.size:
                if new.root != cp.root:
                    raise LogRefused("logForked", f"the host's log of {new.size} entries has another root than the one of {cp.size} entries "
                                                  f"you verified on {when}: the host rewrote its history (a fork). Nothing was sent; keep "
                                                  "your state directory as evidence")
                return new
            why = consistency_failure(cp.size, new.size, cp.root, new.root, consistency_proof(cp.size, new.size))
            if why:
                raise LogRefused("logNotAnExtension", f"the host's log of {new.size} entries does not extend the {cp.size} entries you "
                                                      f"verified on {when} ({why}): the host rewrote its history. Nothing was sent; keep "
                                                      "your state directory as evidence")
            self._write("checkpoint", new.note)
            self._write("seen", str(now_ms))
            return new
        finally:
            os.close(fd)


def decode_proof(data: bytes) -> list[bytes]:
    """The host's proof body: a CBOR array of 32-byte hashes."""
    try:
        item = cbor.loads(data, cbor.Limits(max_bytes=8 << 10, max_depth=2, max_items=MAX_PROOF_HASHES + 1))
    except cbor.CBORError as e:
        raise LogRefused("logNotAnExtension", f"the consistency proof is malformed: {e}") from None
    if not isinstance(item, list) or not all(isinstance(h, bytes) and len(h) == 32 for h in item):
        raise LogRefused("logNotAnExtension", "the consistency proof is not an array of 32-byte hashes")
    return item
