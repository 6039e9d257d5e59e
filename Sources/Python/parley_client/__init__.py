"""Parley's party client: verify a worker's evidence, upload sealed, query, audit (docs/python.md)."""
from .errors import EvidenceRefused, ParleyError, ServerError
from .evidence import Claims, NonceLedger, Reason, Status, Verdict, verify
from .party import Party
from .policy import Policy

__all__ = ["Party", "Policy", "Verdict", "Status", "Reason", "Claims", "NonceLedger", "verify",
           "ParleyError", "EvidenceRefused", "ServerError"]
