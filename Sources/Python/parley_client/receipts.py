"""Receipts and the ledger memory (docs/log.md sections 7-8), as the CLI keeps them.

After an accepted upload the client finds the worker's `upload-accepted` entry naming the
SHA-256 of the stream it sent; after a result, the `release` entry naming the SHA-256 of the
signed result it opened. Each must be signed by the attested worker key and proved (RFC 9162
inclusion proof) into the newest checkpoint, itself proved to extend what this client saw;
otherwise the action is not accounted for (`ReceiptRefused`). Before trusting a worker, the client
finds the job's `launch` entry (it must state exactly the attested claims and carry a module
bundle of the attested measurement and ledger) and holds the worker's ledger claim to what it
saw of the ledger (`LogRefused`: `noLedgerBinding`, `ledgerOnOtherLog`, `ledgerCheckpointNotInLog`,
`ledgerHidesEntries`, `launchNotLogged`; before an upload `earlierJobOpen`).

State, beside the log's checkpoint (`<state>/logs/<key name>+<key id>/`):
`receipts/<job>-<index>.cbor` (`parley/receipt/1`: `{format, index, entry, checkpoint, proof}`) and
`ledgers/<ledger id hex>` (`{job: {"launch": uint, "seen": ms, "uploaded": bool, ? "ended": true}}`).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

from . import cbor
from . import log as _log
from .entries import EntryError, LogEntry, WorkerEntry, parse_log_entry, verify_worker_entry
from .errors import ParleyError
from .log import LogRefused, cli_date
from .module import open_sealed

MAX_CANDIDATES = 16_384
RECEIPT_FORMAT = "parley/receipt/1"


class ReceiptRefused(ParleyError):
    """The host did not account for an action in its log: no matching entry (`notLogged`) or an
    inclusion proof that does not hold (`inclusionProofFailed`). Messages are the CLI's."""


def _refusal(code: str, message: str) -> LogRefused:
    return LogRefused(code, message)


def no_ledger_binding() -> LogRefused:
    return _refusal("noLedgerBinding", "the worker's evidence binds no budget ledger (it was started without the host's log), "
                                       "so it may not count what earlier jobs spent. Nothing was sent")


def ledger_on_other_log() -> LogRefused:
    return _refusal("ledgerOnOtherLog", "the worker counted its budget ledger from another log than the one you follow "
                                        "(another log key). Nothing was sent")


def ledger_checkpoint_not_in_log(worker_size: int, log_size: int) -> LogRefused:
    return _refusal("ledgerCheckpointNotInLog",
                    f"the worker counted its budget ledger up to a checkpoint of {worker_size} entries that is not part of the host's "
                    f"log of {log_size} entries: the host showed the worker another history. Nothing was sent; keep your state "
                    "directory as evidence")


def ledger_hides_entries(worker_size: int, seen_index: int, seen_ms: int) -> LogRefused:
    return _refusal("ledgerHidesEntries",
                    f"the worker counted its budget ledger up to a checkpoint of {worker_size} entries, but on {cli_date(seen_ms)} you "
                    f"saw entry {seen_index} of this ledger: the host hid earlier jobs from the new worker, which would reset the "
                    "budget. Nothing was sent; keep your state directory as evidence")


def earlier_job_open(job: str) -> LogRefused:
    return _refusal("earlierJobOpen",
                    f"job {job} of the same budget ledger, which you uploaded to, is still open: the operator must stop it (its worker "
                    "then signs what it spent) before you upload to another job of the ledger. Nothing was sent")


def launch_not_logged(why: str) -> LogRefused:
    return _refusal("launchNotLogged", f"the job's launch is not in the host's log as the worker attests it ({why}): later jobs "
                                       "could not count its spend. Nothing was sent")


@dataclass(frozen=True)
class Receipt:
    """An entry, its index, a checkpoint note covering it and the inclusion proof (leaf first)."""
    index: int
    entry: bytes
    checkpoint: str
    proof: list[bytes]

    @property
    def encoded(self) -> bytes:
        return cbor.dumps({"format": RECEIPT_FORMAT, "index": self.index, "entry": self.entry,
                           "checkpoint": self.checkpoint.encode(), "proof": list(self.proof)})

    @staticmethod
    def decode(data: bytes) -> "Receipt":
        try:
            m = cbor.loads(data, cbor.Limits(max_bytes=17 << 20, max_depth=3, max_items=200))
        except cbor.CBORError as e:
            raise ParleyError("malformed", f"the receipt is not deterministic CBOR: {e}") from None
        if not isinstance(m, dict) or set(m) != {"format", "index", "entry", "checkpoint", "proof"} or m["format"] != RECEIPT_FORMAT \
                or type(m["index"]) is not int or m["index"] < 0 or not isinstance(m["entry"], bytes) or not isinstance(m["checkpoint"], bytes) \
                or not isinstance(m["proof"], list) or not all(isinstance(h, bytes) and len(h) == 32 for h in m["proof"]):
            raise ParleyError("malformed", "not a parley/receipt/1")
        return Receipt(m["index"], m["entry"], m["checkpoint"].decode("utf-8", "replace"), m["proof"])

    def verify(self, key: _log.VerifierKey) -> _log.Checkpoint:
        """Offline: the checkpoint is the log key's and the proof leads from the entry to its root.
        Raises LogRefused (`checkpointRejected`) or ReceiptRefused (`inclusionProofFailed`)."""
        cp = _log.verify_checkpoint(self.checkpoint, key)
        why = _log.inclusion_failure(self.index, cp.size, _log.leaf_hash(self.entry), cp.root, self.proof)
        if why:
            raise ReceiptRefused("inclusionProofFailed", f"the receipt's inclusion proof of entry {self.index} into its checkpoint of "
                                                         f"{cp.size} entries does not hold: {why}")
        return cp


def _hashes(data: bytes, what: str) -> list[bytes]:
    try:
        item = cbor.loads(data, cbor.Limits(max_bytes=16 << 10, max_depth=2, max_items=257))
    except cbor.CBORError as e:
        raise ParleyError("malformed", f"the host's {what} is malformed: {e}") from None
    if not isinstance(item, list) or not all(isinstance(h, bytes) and len(h) == 32 for h in item):
        raise ParleyError("malformed", f"the host's {what} is not an array of 32-byte hashes")
    return item


class LogMemory:
    """The receipt search and ledger memory over one host's log.

    `get(path, **params) -> bytes` fetches from the host (raising ServerError on a refusal);
    `follow() -> Checkpoint` follows the log (log.ClientState.follow) and returns the newest
    proved checkpoint; `state` is the log's folder in the client state."""

    def __init__(self, state: _log.ClientState, get, follow, now_ms=lambda: int(time.time() * 1000)):
        self.state, self._get, self._follow, self._now_ms = state, get, follow, now_ms

    @property
    def directory(self) -> str:
        return self.state.dir

    # -- the host's log, read through its index

    def job_index(self, job: str, kind: str | None, before: int) -> list[int]:
        params = {"job": job, "before": before}
        if kind:
            params["kind"] = kind
        try:
            item = cbor.loads(self._get("/v1/log/index", **params), cbor.Limits(max_bytes=16 << 10, max_depth=2, max_items=1025))
        except cbor.CBORError as e:
            raise ParleyError("malformed", f"the host's log index is malformed: {e}") from None
        if not isinstance(item, list) or not all(type(i) is int and i >= 0 for i in item):
            raise ParleyError("malformed", "the host's log index is not an array of entry indexes")
        return item

    def entry(self, index: int) -> bytes | None:
        try:
            item = cbor.loads(self._get("/v1/log/entries", start=index, count=1),
                              cbor.Limits(max_bytes=64 << 20, max_depth=2, max_items=2048))
        except cbor.CBORError as e:
            raise ParleyError("malformed", f"the host's log entries are malformed: {e}") from None
        if not isinstance(item, list) or len(item) > 1 or not all(isinstance(e, bytes) for e in item):
            raise ParleyError("malformed", "the host returned more log entries than asked for, or not byte strings")
        return item[0] if item else None

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return _hashes(self._get("/v1/log/proof/inclusion", index=index, size=size), "inclusion proof")

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return _hashes(self._get("/v1/log/proof/consistency", first=first, second=second), "consistency proof")

    def find(self, job: str, kind: str | None, what: str, matching, hint: int | None = None) -> Receipt:
        """The newest entry of `job` of `kind` for which `matching(LogEntry)` holds, proved into
        the newest checkpoint, kept as a receipt. The host's index is only a pointer: each entry
        read must be the job's and match. At most MAX_CANDIDATES entries are read."""
        head = self._follow()
        size = head.size
        if size == 0:
            raise ReceiptRefused("notLogged", f"the host did not log {what}: its log is empty")
        before = min(hint if hint is not None else size, size)
        read = 0
        while read < MAX_CANDIDATES and before > 0:
            candidates = self.job_index(job, kind, before)
            if not candidates:
                break
            for index in candidates:
                if index >= before:
                    raise ParleyError("malformed", f"the host's index of {job} is not newest first below entry {before}")
                before = index
                read += 1
                data = self.entry(index)
                record = None
                if data is not None:
                    try:
                        record = parse_log_entry(data)
                    except EntryError:
                        record = None
                if record is None or record.job != job or (kind and record.kind != kind) or not matching(record):
                    if read >= MAX_CANDIDATES:
                        break
                    continue
                proof = self.inclusion_proof(index, size)
                why = _log.inclusion_failure(index, size, _log.leaf_hash(data), head.root, proof)
                if why:
                    raise ReceiptRefused("inclusionProofFailed",
                                         f"the host's inclusion proof of {what} (entry {index}) into its checkpoint of {size} entries "
                                         f"does not hold: {why}")
                receipt = Receipt(index, data, head.note, proof)
                self._write(os.path.join("receipts", f"{job}-{index}.cbor"), receipt.encoded)
                return receipt
        raise ReceiptRefused("notLogged", f"the host did not log {what} (its index of {job} points at no such entry): the result or "
                                          "upload is not accounted for in the log; keep your state directory and tell the auditor")

    def receipt(self, job: str, signing_key: bytes, what: str, matching, hint: int | None = None) -> Receipt:
        """The worker entry of `job` signed by `signing_key` (the attested worker's) for which
        `matching(WorkerEntry)` holds, proved and kept (see find)."""
        def check(record: LogEntry) -> bool:
            try:
                w = verify_worker_entry(record.worker, signing_key)
            except EntryError:
                return False
            return w.job == job and matching(w)
        return self.find(job, "worker", what, check, hint)

    # -- the ledger memory

    def _path(self, ledger_id: bytes) -> str:
        return os.path.join(self.directory, "ledgers", ledger_id.hex())

    def _write(self, rel: str, data: bytes) -> None:
        path = os.path.join(self.directory, rel)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def ledger_marks(self, ledger_id: bytes) -> dict:
        """job -> {"launch", "seen", "uploaded", "ended"} this client keeps for the ledger."""
        path = self._path(ledger_id)
        if not os.path.exists(path):
            return {}
        with open(path, "rb") as f:
            data = f.read((1 << 20) + 1)
        try:
            m = cbor.loads(data, cbor.Limits(max_bytes=1 << 20, max_depth=3, max_items=50_000))
        except cbor.CBORError as e:
            raise ParleyError("malformed", f"{path} is damaged: {e}") from None
        out = {}
        if not isinstance(m, dict):
            raise ParleyError("malformed", f"{path} is damaged: not a map")
        for job, v in m.items():
            if not isinstance(v, dict) or set(v) - {"launch", "seen", "uploaded", "ended"} \
                    or type(v.get("launch")) is not int or v["launch"] < 0 or type(v.get("seen")) is not int or v["seen"] < 0 \
                    or type(v.get("uploaded")) is not bool or type(v.get("ended", False)) is not bool:
                raise ParleyError("malformed", f"{path} is damaged: a mark of {job!r}")
            out[job] = {"launch": v["launch"], "seen": v["seen"], "uploaded": v["uploaded"], "ended": v.get("ended", False)}
        return out

    def mark(self, ledger_id: bytes, job: str, launch: int, uploaded: bool = False, ended: bool = False) -> None:
        marks = self.ledger_marks(ledger_id)
        m = marks.get(job) or {"launch": launch, "seen": self._now_ms(), "uploaded": False, "ended": False}
        m["uploaded"] = m["uploaded"] or uploaded
        m["ended"] = m["ended"] or ended
        marks[job] = m
        out = {}
        for j, v in marks.items():
            f = {"launch": v["launch"], "seen": v["seen"], "uploaded": v["uploaded"]}
            if v["ended"]:
                f["ended"] = True
            out[j] = f
        self._write(os.path.join("ledgers", ledger_id.hex()), cbor.dumps(out))

    def launch_entry(self, claims, ledger: dict) -> tuple[int, LogEntry]:
        """The index and record of the job's launch entry, which must state exactly the attested
        claims and carry a module bundle of the attested measurement and ledger."""
        try:
            found = self.find(claims.job, "launch", f"the launch of {claims.job}",
                              lambda r: r.launch is not None and r.launch.claims == claims)
        except LogRefused:
            raise
        except ParleyError as e:
            raise launch_not_logged(e.message) from None
        record = parse_log_entry(found.entry)
        try:
            module = open_sealed(record.launch.module_bundle)
            ok = module.measurement == claims.module and module.ledger_id == ledger["id"]
        except (ParleyError, KeyError, TypeError, AttributeError):
            ok = False
        if not ok:
            raise launch_not_logged("its module bundle does not open, or does not measure to the attested module and its ledger")
        return found.index, record

    def check_ledger(self, claims, head: _log.Checkpoint) -> None:
        """Holds the worker's ledger claim to the log and to what this client saw (the CLI's
        `checkLedger`): the claim exists and names this log's key; its checkpoint is a prefix of
        `head`; the job's launch entry is in the log as attested; and every other job of the
        ledger this client saw launched before this one is among those counted. Marks the launch."""
        ledger = claims.ledger
        if ledger is None:
            raise no_ledger_binding()
        if ledger["log_key"] != self.state.key.text:
            raise ledger_on_other_log()
        size, worker_size = head.size, ledger["checkpoint_size"]
        if worker_size > size:
            raise ledger_checkpoint_not_in_log(worker_size, size)
        proof = [] if worker_size == size else self.consistency_proof(worker_size, size)
        if not _log.consistency_holds(worker_size, size, ledger["checkpoint_root"], head.root, proof):
            raise ledger_checkpoint_not_in_log(worker_size, size)
        launch, record = self.launch_entry(claims, ledger)
        counted = set(record.launch.ledger_counted)
        missed = [(m["launch"], m["seen"]) for j, m in self.ledger_marks(ledger["id"]).items()
                  if j != claims.job and m["launch"] < launch and (m["launch"] >= worker_size or m["launch"] not in counted)]
        if missed:
            index, seen = min(missed)
            raise ledger_hides_entries(worker_size, index, seen)
        self.mark(ledger["id"], claims.job, launch)

    def has_ended(self, job: str) -> bool:
        for kind in ("stopped", "failed"):
            try:
                self.find(job, kind, f"the end of {job}", lambda r: True)
                return True
            except ReceiptRefused:
                continue
        return False

    def check_before_upload(self, claims) -> None:
        """Every earlier job of the ledger this client uploaded to has ended in the log, so no
        two jobs spend the ledger's budget in parallel on its data (`earlierJobOpen`). Marks the upload."""
        ledger = claims.ledger
        if ledger is None:
            raise no_ledger_binding()
        marks = self.ledger_marks(ledger["id"])
        for job in sorted(marks):
            m = marks[job]
            if job != claims.job and m["uploaded"] and not m["ended"]:
                if not self.has_ended(job):
                    raise earlier_job_open(job)
                self.mark(ledger["id"], job, m["launch"], ended=True)
        mine = marks.get(claims.job)
        if mine is None:
            raise launch_not_logged("verify the worker with the log first")
        self.mark(ledger["id"], claims.job, mine["launch"], uploaded=True)


__all__ = ["LogMemory", "Receipt", "ReceiptRefused", "WorkerEntry", "MAX_CANDIDATES"]
