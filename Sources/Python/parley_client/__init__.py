"""Parley's party client: verify a worker's evidence, upload sealed, query, audit (docs/python.md)."""
from .errors import EvidenceRefused, ParleyError, ServerError
from .evidence import Claims, NonceLedger, Reason, Status, Verdict, verify
from .party import Party
from .keys import PartyKey
from .log import Checkpoint, LogRefused, VerifierKey
from .module import ModuleReport, inspect
from .policy import Policy
from .result import Result, ResultRefused
from .receipts import Receipt, ReceiptRefused
from .uploads import UploadReceipt
from .audit import AuditBundle, AuditPolicy, AuditReport, AuditVerdict, read_audit_bundle

__all__ = ["Party", "Policy", "Verdict", "Status", "Reason", "Claims", "NonceLedger", "verify",
           "ParleyError", "EvidenceRefused", "ServerError", "PartyKey", "Result", "ResultRefused", "Checkpoint", "LogRefused", "VerifierKey", "inspect", "ModuleReport",
           "Receipt", "ReceiptRefused", "UploadReceipt", "AuditBundle", "AuditPolicy", "AuditReport", "AuditVerdict", "read_audit_bundle"]
