"""Exceptions carrying the CLI's stable reason codes."""
from __future__ import annotations


class ParleyError(Exception):
    """A refusal or failure: `code` is the CLI's stable code (`malformed`, `integrity.signature`, ...)."""

    def __init__(self, code: str, message: str, reasons: list | None = None):
        super().__init__(f"{message} [{code}]")
        self.code = code
        self.message = message
        self.reasons = reasons or []


class EvidenceRefused(ParleyError):
    """The worker's evidence was refused: `verdict` holds every reason."""

    def __init__(self, verdict):
        first = verdict.reasons[0] if verdict.reasons else None
        super().__init__(first.code if first else "refused",
                         "; ".join(r.message for r in verdict.reasons) or "refused", verdict.reasons)
        self.verdict = verdict


class ServerError(ParleyError):
    """The host answered with a refusal: `status` and the API's `code`."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(code, f"the host refused ({status}): {message}")
        self.status = status
