"""The answer to an upload (`PUT /v1/jobs/{id}/datasets/{name}`, docs/api.md): the worker's
receipt as the host relays it, read the way the Swift CLI reads it."""
from __future__ import annotations

import math

from .errors import ParleyError
from .identifiers import IdentifierSummary


class UploadReceipt(dict):
    """What `Party.upload` returns: the host's answer as a dict (`dataset`, `rows`, `digest`,
    `log_size`, `log_index`, and when present `identifiers`, `plaintext_bytes`, `seconds`), with
    the same names as attributes. `plaintext_bytes` (CSV bytes the worker parsed, header
    included) and `seconds` (the worker's time from the upload's first byte to its acceptance)
    are None from a host that does not send them. Like `identifiers` they are the worker's
    report relayed by the host (UNTRUSTED), not part of its signed `upload-accepted` entry."""

    @staticmethod
    def parse(answer) -> "UploadReceipt":
        """Reads the host's JSON answer; raises ParleyError (`malformed`) for what the Swift
        client's decoder refuses: a missing field, or a field of the wrong type."""
        if not isinstance(answer, dict):
            raise ParleyError("malformed", "the upload receipt is not a JSON object")
        for name in ("dataset", "digest"):
            if not isinstance(answer.get(name), str):
                raise ParleyError("malformed", f"the upload receipt has no \"{name}\" text")
        for name in ("rows", "log_size"):
            if not _unsigned(answer.get(name)):
                raise ParleyError("malformed", f"the upload receipt has no \"{name}\" count")
        out = UploadReceipt(answer)
        if out.get("identifiers") is not None:
            out["identifiers"] = IdentifierSummary.parse(out["identifiers"])
        if out.get("plaintext_bytes") is not None and not _unsigned(out["plaintext_bytes"]):
            raise ParleyError("malformed", "the upload receipt's plaintext_bytes is not an unsigned integer")
        s = out.get("seconds")
        if s is not None and (type(s) not in (int, float) or not math.isfinite(s)):
            raise ParleyError("malformed", "the upload receipt's seconds is not a number")
        return out

    @property
    def dataset(self) -> str:
        return self["dataset"]

    @property
    def rows(self) -> int:
        return self["rows"]

    @property
    def digest(self) -> str:
        """SHA-256 of the ciphertext stream (hex), as the worker computed it."""
        return self["digest"]

    @property
    def log_size(self) -> int:
        return self["log_size"]

    @property
    def log_index(self) -> int | None:
        """The index of the worker's `upload-accepted` entry, proved into the log."""
        return self.get("log_index")

    @property
    def identifiers(self) -> IdentifierSummary | None:
        return self.get("identifiers")

    @property
    def plaintext_bytes(self) -> int | None:
        """CSV bytes the worker parsed, header included; None from an older host."""
        return self.get("plaintext_bytes")

    @property
    def seconds(self) -> float | None:
        """The worker's seconds from the upload's first byte to its acceptance; None from an older host."""
        s = self.get("seconds")
        return None if s is None else float(s)

    @property
    def bytes_per_second(self) -> float | None:
        """plaintext_bytes / seconds, when both are there and seconds is above 0."""
        if self.plaintext_bytes is None or self.seconds is None or self.seconds <= 0:
            return None
        return self.plaintext_bytes / self.seconds

    def work_summary(self) -> str | None:
        """`143.2 MB parsed in 1.9 s (75 MB/s)`, as `parley upload` prints it; None without
        plaintext_bytes and seconds."""
        b, s = self.plaintext_bytes, self.seconds
        if b is None and s is None:
            return None
        if s is None:
            return f"{_size(b)} parsed"
        if b is None:
            return f"parsed in {_duration(s)}"
        return f"{_size(b)} parsed in {_duration(s)}" + (f" ({_rate(b / s)})" if s > 0 else "")

    def describe(self) -> str:
        """The line `parley upload` prints first: `accepted exposures: 2,000,000 rows, 143.2 MB
        parsed in 1.9 s (75 MB/s)` (rows only from an older host)."""
        work = self.work_summary()
        return f"accepted {self.dataset}: {self.rows:,} rows" + (f", {work}" if work else "")


def _unsigned(v) -> bool:
    return type(v) is int and 0 <= v < 1 << 64


def _size(b: int) -> str:
    if b >= 1e9:
        return f"{b / 1e9:.2f} GB"
    if b >= 1e6:
        return f"{b / 1e6:.1f} MB"
    if b >= 1e3:
        return f"{b / 1e3:.1f} kB"
    return f"{b} bytes"


def _duration(s: float) -> str:
    s = max(s, 0.0)
    if s >= 1:
        return f"{s:.1f} s"
    if s >= 0.01:
        return f"{s:.2f} s"
    return f"{s:.3f} s"


def _rate(bps: float) -> str:
    mb = bps / 1e6
    if mb >= 10:
        return f"{mb:.0f} MB/s"
    if mb >= 1:
        return f"{mb:.1f} MB/s"
    return f"{mb:.2f} MB/s"
