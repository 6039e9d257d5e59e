"""How a launch entry carries its TPM evidence's platform logs without repeating them (docs/log.md,
the launch entry's `platform`; Swift `PlatformLogDelta`, `PlatformLogState`).

A launch entry may store its TPM evidence without `boot_log` and `ima_log` and, beside it, what
changed since the previous launch entry that carried platform logs: `{"boot_log": bstr}` or
`{"boot_log_sha256": bstr(32)}`, plus `"ima_kept": uint`, `"ima_kept_sha256": bstr(32)` (exactly
when `ima_kept` > 0) and `"ima_added": bstr`. An auditor replaying the log in order rebuilds each
evidence byte for byte and re-verifies it. Nothing here is trusted: the rebuilt evidence is
verified like any other.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import cbor

EVIDENCE_LIMITS = cbor.Limits(max_bytes=40 << 20, max_depth=4, max_items=10_000)
MAX_IMA_BYTES = 32 << 20
_FIELDS = {"boot_log", "boot_log_sha256", "ima_kept", "ima_kept_sha256", "ima_added"}


class PlatformLogsUnavailable(Exception):
    """A stored launch's platform logs cannot be rebuilt (the reason says why)."""


@dataclass(frozen=True)
class PlatformLogDelta:
    boot_log: bytes | None
    boot_log_sha256: bytes | None
    ima_kept: int
    ima_kept_sha256: bytes | None
    ima_added: bytes

    @staticmethod
    def parse(m, context: str) -> "PlatformLogDelta":
        """Reads the `platform` map; raises PlatformLogsUnavailable for a missing, mistyped,
        unknown or contradictory field."""
        def bad(why: str) -> PlatformLogsUnavailable:
            return PlatformLogsUnavailable(f"{context} platform {why}")

        if not isinstance(m, dict) or set(m) - _FIELDS:
            raise bad("is not a map of boot_log, boot_log_sha256, ima_kept, ima_kept_sha256, ima_added")
        boot, boot_sha, kept, kept_sha, added = (m.get(k) for k in ("boot_log", "boot_log_sha256", "ima_kept", "ima_kept_sha256", "ima_added"))
        if type(kept) is not int or not 0 <= kept <= MAX_IMA_BYTES or not isinstance(added, bytes):
            raise bad("ima_kept or ima_added is missing or mistyped")
        if not all(v is None or isinstance(v, bytes) for v in (boot, boot_sha, kept_sha)):
            raise bad("has a field that is not a byte string")
        if (boot is None) == (boot_sha is None) or (boot_sha is not None and len(boot_sha) != 32) \
                or (kept == 0) != (kept_sha is None) or (kept_sha is not None and len(kept_sha) != 32):
            raise bad("must hold either boot_log or a 32-byte boot_log_sha256, and ima_kept_sha256 exactly when ima_kept > 0")
        return PlatformLogDelta(boot, boot_sha, kept, kept_sha, added)


class PlatformLogState:
    """The platform logs the launch entries of a log have carried so far, in log order."""

    def __init__(self):
        self.boot_log: bytes | None = None
        self.ima_log: bytes = b""

    def expand(self, stored: bytes, delta: PlatformLogDelta) -> bytes:
        """The evidence a launch entry stored with `delta`, and the state moved on to it; raises
        PlatformLogsUnavailable (and leaves the state) when the delta refers to logs no earlier
        launch entry carried or the stored evidence is not TPM evidence without its logs."""
        if delta.boot_log is not None:
            boot = delta.boot_log
        elif self.boot_log is not None and hashlib.sha256(self.boot_log).digest() == delta.boot_log_sha256:
            boot = self.boot_log
        else:
            raise PlatformLogsUnavailable("the launch entry names a boot log by its SHA-256 that no earlier launch entry carried")
        ima = b""
        if delta.ima_kept > 0:
            if delta.ima_kept > len(self.ima_log) or hashlib.sha256(self.ima_log[:delta.ima_kept]).digest() != delta.ima_kept_sha256:
                raise PlatformLogsUnavailable(f"the launch entry keeps {delta.ima_kept} bytes of an earlier IMA list that no earlier "
                                              "launch entry carried")
            ima = self.ima_log[:delta.ima_kept]
        ima += delta.ima_added
        try:
            m = cbor.loads(stored, EVIDENCE_LIMITS)
        except cbor.CBORError:
            m = None
        if not isinstance(m, dict) or "boot_log" in m or "ima_log" in m:
            raise PlatformLogsUnavailable("the launch entry's evidence is not TPM evidence stored without its platform logs")
        m["boot_log"], m["ima_log"] = boot, ima
        self.boot_log, self.ima_log = boot, ima
        return cbor.dumps(m)
