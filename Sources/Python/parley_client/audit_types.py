"""The audit's finding: a failure or a warning, with the CLI's stable code."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """A failure or warning: its stable code, a reason a person can act on, the entry (or None)."""
    code: str
    reason: str
    entry: int | None = None
