"""Reading and replaying an audit bundle (docs/log.md sections 5-6), as `parley audit replay`
does, independently: `read_audit_bundle(path, policy=None)` -> `AuditReport`.

Everything in a bundle is untrusted; the replay reads nothing else, never raises on bad
content (only on a bundle it cannot read at all) and reports every failure and warning with the
CLI's stable `code`. Its verdict is `AuditVerdict.PASSED` or `AuditVerdict.FAILED` with the first
failure: failures about checkpoints alone first, then by entry index.

TPM launches are re-verified as the Swift auditor does (LaunchVerification.swift): the stored
evidence is rebuilt with the platform logs earlier launch entries carried (`platform_delta`),
then checked with the pinned `tpm_ak` (or the bundle's `tpm-ak.pem`, with a warning) at the
integrity stage (quote, nonce, launch log, platform log replay) for the host's recorded nonce;
its claims must equal the entry's. Reference values are a party's appraisal, not the auditor's.

A difference from the Swift auditor (docs/python.md): the per-dataset spend of a charged
refusal names the datasets from the query's FROM/JOIN clauses.
"""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction

from cryptography import x509

from . import log as _log
from .audit_types import Finding
from .bundle import AuditBundle, MerkleTree, scan_entries
from .entries import EntryError, parse_log_entry, verify_worker_entry
from .errors import ParleyError
from .exact import epsilon_text, parse_epsilon
from .ledger import audit_ledgers
from .module import open_sealed
from .platform_delta import PlatformLogState, PlatformLogsUnavailable


class AuditVerdict(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"


def _ak_der(pem: bytes) -> bytes:
    """A P-256 or P-384 public key PEM as SubjectPublicKeyInfo DER; raises ValueError."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
    key = load_pem_public_key(pem)
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in ("secp256r1", "secp384r1"):
        raise ValueError("not a P-256 or P-384 public key")
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _read_ak(read, path, bad) -> bytes:
    try:
        return _ak_der(read(path).encode())
    except (OSError, ValueError, TypeError):
        raise bad("tpm_ak", "is not a P-256 or P-384 public key PEM") from None


@dataclass
class AuditPolicy:
    """Pins for the replay (the CLI's audit policy TOML: `modules`, `log_key`, `quoting_root`,
    `tpm_ak`, `witnesses`, `witness_quorum`) and the known checkpoints the log must extend."""
    log_key: _log.VerifierKey | None = None
    quoting_root: x509.Certificate | None = None
    tpm_ak: bytes | None = None          # the TPM attestation key, SubjectPublicKeyInfo DER
    expected_modules: list[bytes] | None = None
    witnesses: list[_log.CosignerKey] = field(default_factory=list)
    witness_quorum: int = 0
    known_checkpoints: list[tuple[str, str]] = field(default_factory=list)   # (source, signed note)

    @staticmethod
    def load(path: str) -> "AuditPolicy":
        base = os.path.dirname(os.path.abspath(path))

        def read(p: str) -> str:
            with open(p if os.path.isabs(p) else os.path.join(base, p), encoding="utf-8") as f:
                return f.read(1 << 20)

        def bad(key: str, why: str) -> ParleyError:
            return ParleyError("malformed", f"{path}: {key}: {why}")

        with open(path, "rb") as f:
            t = tomllib.loads(f.read(1 << 20).decode("utf-8"))
        unknown = sorted(set(t) - {"modules", "log_key", "quoting_root", "tpm_ak", "witnesses", "witness_quorum"})
        if unknown:
            raise bad(unknown[0], "unknown key")
        p = AuditPolicy()
        if "modules" in t:
            if not isinstance(t["modules"], list) or not all(isinstance(m, str) and re.fullmatch(r"[0-9a-f]{96}", m) for m in t["modules"]):
                raise bad("modules", "must be a list of 96 hex digits")
            p.expected_modules = [bytes.fromhex(m) for m in t["modules"]]
        if "log_key" in t:
            try:
                p.log_key = _log.VerifierKey.parse(read(t["log_key"]))
            except (OSError, ParleyError):
                raise bad("log_key", "is not a note verifier key") from None
        if "quoting_root" in t:
            try:
                p.quoting_root = x509.load_pem_x509_certificate(read(t["quoting_root"]).encode())
            except (OSError, ValueError):
                raise bad("quoting_root", "is not a PEM certificate") from None
        if "tpm_ak" in t:
            p.tpm_ak = _read_ak(read, t["tpm_ak"], bad)
        for w in t.get("witnesses", []):
            try:
                p.witnesses.append(_log.CosignerKey.parse(read(w)))
            except (OSError, ParleyError):
                raise bad("witnesses", f"{w} is not a witness key") from None
        q = t.get("witness_quorum", len(p.witnesses))
        if type(q) is not int or not (1 if p.witnesses else 0) <= q <= max(1, len(p.witnesses)):
            raise bad("witness_quorum", "must be 1 to the number of witnesses")
        p.witness_quorum = q
        return p


@dataclass
class AuditReport:
    verdict: AuditVerdict
    failures: list[Finding]
    warnings: list[Finding]
    entries: int = 0
    root: bytes | None = None
    verified_checkpoints: int = 0
    largest_checkpoint: int | None = None
    log_key: str | None = None
    log_key_pinned: bool = False
    jobs: list[dict] = field(default_factory=list)
    uploads: list[dict] = field(default_factory=list)
    releases: list[dict] = field(default_factory=list)
    refusals: list[dict] = field(default_factory=list)
    ledgers: list[dict] = field(default_factory=list)
    epsilon_by_dataset: list[dict] = field(default_factory=list)

    @property
    def first_failure(self) -> Finding | None:
        return self.failures[0] if self.failures else None

    @property
    def passed(self) -> bool:
        return self.verdict is AuditVerdict.PASSED

    def to_json(self) -> dict:
        """The shape of `parley audit replay --json`."""
        # As the CLI writes it: a failure about no entry has no `entry` key.
        f = lambda x: {"code": x.code, "reason": x.reason, **({"entry": x.entry} if x.entry is not None else {})}  # noqa: E731
        return {"verdict": self.verdict.value, "first_failure": f(self.first_failure) if self.failures else None,
                "log": {"entries": self.entries, "root": self.root.hex() if self.root else None,
                        "verified_checkpoints": self.verified_checkpoints, "largest_checkpoint": self.largest_checkpoint,
                        "key": self.log_key, "key_pinned": self.log_key_pinned},
                "jobs": self.jobs, "uploads": self.uploads, "releases": self.releases, "refusals": self.refusals,
                "ledgers": self.ledgers, "epsilon_by_dataset": self.epsilon_by_dataset,
                "warnings": [{"code": w.code, "message": w.reason} for w in self.warnings],
                "failures": [f(x) for x in self.failures]}


# --- the replay


_FROM = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


class _Replay:
    def __init__(self, bundle: AuditBundle, policy: AuditPolicy | None):
        self.bundle, self.policy = bundle, policy or AuditPolicy()
        self.failures: list[Finding] = []
        self.warnings: list[Finding] = [Finding("manifest", f"MANIFEST: {p}") for p in bundle.manifest_problems]
        self.jobs: dict[str, dict] = {}
        self.order: list[str] = []
        self.uploads, self.releases, self.refusals = [], [], []
        self.spending: dict[str, dict] = {}
        self.platform = PlatformLogState()
        self.tpm_ak: bytes | None = None

    def fail(self, index, code, reason):
        self.failures.append(Finding(code, reason, index))

    def warn(self, code, reason):
        self.warnings.append(Finding(code, reason))

    def run(self) -> AuditReport:
        p, b = self.policy, self.bundle
        carried = None
        if "log-key.pub" in b.files:
            try:
                carried = _log.VerifierKey.parse(b.files["log-key.pub"].decode("utf-8"))
            except (ParleyError, UnicodeDecodeError):
                self.warn("manifest", "MANIFEST: log-key.pub is not a log verifier key")
        if p.log_key:
            key = p.log_key
            if carried and carried.text != key.text:
                self.warn("bundleLogKeyDiffers", "the bundle's log-key.pub differs from the pinned key (the pinned key was used)")
        elif carried:
            key = carried
            self.warn("logKeyNotPinned", "the log key was taken from the bundle, not pinned: this shows the log is self-consistent, "
                                         "not that it is the host's")
        else:
            return self.report(None, [], None, 0, None)
        self.key = key
        entries, end = scan_entries(b.files["entries.log"])
        tree = MerkleTree([_log.leaf_hash(e) for _, e in entries])
        if end:
            self.failures.append(end)
        checkpoints = self.check_checkpoints(tree)
        self.check_known(tree)
        root = p.quoting_root
        if root is None and "quoting-root.pem" in b.files:
            try:
                root = x509.load_pem_x509_certificate(b.files["quoting-root.pem"])
                self.warn("anchorNotPinned", "quoting-root.pem was taken from the bundle, not pinned: pin the host's own copy to trust the launches")
            except ValueError:
                self.warn("manifest", "MANIFEST: quoting-root.pem is not a PEM certificate")
        self.root = root
        ak = p.tpm_ak
        if ak is None and "tpm-ak.pem" in b.files:
            try:
                ak = _ak_der(b.files["tpm-ak.pem"])
                self.warn("anchorNotPinned", "tpm-ak.pem was taken from the bundle, not pinned: pin the host's own copy to trust the launches")
            except ValueError:
                self.warn("manifest", "MANIFEST: tpm-ak.pem is not a PEM public key")
        self.tpm_ak = ak
        for index, data in entries:
            self.visit(index, data)
        self.across_jobs(entries, tree)
        return self.report(key, checkpoints, tree, len(entries), tree.root(tree.size))

    def report(self, key, checkpoints, tree, n, root) -> AuditReport:
        if key is None:
            self.failures = [Finding("noLogKey", "no log key: pin the host's log-key.pub in the audit policy (the bundle has none)")]
        ordered = [f for _, f in sorted(enumerate(self.failures), key=lambda t: (t[1].entry is not None, t[1].entry or 0, t[0]))]
        return AuditReport(AuditVerdict.FAILED if ordered else AuditVerdict.PASSED, ordered, self.warnings, n, root,
                           len(checkpoints), max((c[0] for c in checkpoints), default=None), key.text if key else None,
                           self.policy.log_key is not None, self.job_summaries(), self.uploads, self.releases, self.refusals,
                           getattr(self, "ledgers", []), self.dataset_spending())

    # -- the log

    def check_checkpoints(self, tree: MerkleTree) -> list[tuple[int, bytes]]:
        verified = set()
        for position, note in enumerate(self.bundle.checkpoint_notes):
            try:
                cp = _log.verify_checkpoint(note.decode("utf-8"), self.key)
                verified.add((cp.size, cp.root))
            except (_log.LogRefused, UnicodeDecodeError) as e:
                why = e.message if isinstance(e, ParleyError) else "the note is not UTF-8"
                self.fail(None, "log.checkpointRejected", f"checkpoint {position} refused: {why}")
        distinct = sorted(verified, key=lambda c: (c[0], c[1].hex()))
        for a, c in zip(distinct, distinct[1:]):
            if a[0] == c[0]:
                self.fail(None, "log.forkedCheckpoints", f"two signed checkpoints of size {c[0]} have different roots (a fork)")
        matching, mismatching = [], []
        for size, root in distinct:
            if size > tree.size:
                self.fail(tree.size, "log.checkpointBeyondLog", f"a signed checkpoint covers {size} entries but the file holds {tree.size}")
            elif tree.root(size) == root:
                matching.append(size)
            else:
                mismatching.append(size)
        for size in mismatching:
            newer = next((m for m in matching if m > size), None)
            if newer is not None:
                self.fail(None, "log.inconsistentCheckpoints", f"signed checkpoints {size} and {newer} are inconsistent")
            else:
                vouched = max((m for m in matching if m < size), default=0)
                self.fail(vouched, "log.rootMismatch", f"the entries do not hash to the signed root at size {size}; the last matching "
                                                       f"checkpoint is at {vouched}")
        return distinct

    def check_known(self, tree: MerkleTree) -> None:
        p = self.policy
        for source, note in p.known_checkpoints:
            try:
                cp = _log.verify_checkpoint(note, self.key)
            except _log.LogRefused as e:
                self.fail(None, "knownCheckpointRejected", f"the known checkpoint {source} is refused: {e.message}")
                continue
            if p.witness_quorum > 0:
                have = len(_log.cosignatures(note, p.witnesses))
                if have < p.witness_quorum:
                    self.fail(None, "knownCheckpointUnwitnessed", f"the known checkpoint {source} carries {have} valid cosignature(s) from the "
                                                                  f"pinned witnesses; {p.witness_quorum} required")
            if cp.size > tree.size:
                self.fail(None, "knownCheckpointNotExtended", f"the log has {tree.size} entries but the known checkpoint {source} covers "
                                                              f"{cp.size}: the log was rolled back or cut")
            elif tree.root(cp.size) != cp.root:
                self.fail(None, "knownCheckpointNotExtended", f"the log does not extend the known checkpoint {source}: at size {cp.size} "
                                                              "its root differs (history was rewritten and re-signed)")

    # -- the entries

    def visit(self, index: int, data: bytes) -> None:
        try:
            record = parse_log_entry(data)
        except EntryError as e:
            return self.fail(index, "unreadableEntry", f"the entry is not a Parley log entry: {e.message}")
        if record.kind == "launch":
            return self.visit_launch(index, record)
        job = self.jobs.get(record.job)
        if record.kind == "failed" and job is None:
            self.track({"id": record.job, "ended": f"failed: {record.reason}"})
            return
        if job is None:
            return self.fail(index, "entryForUnlaunchedJob", f"a {record.kind} entry for a job that was never launched in this log")
        if job.get("ended") and record.kind not in ("stopped", "failed"):
            self.warn("entryAfterJobEnded", f"entry {index} is for job {job['id']} after it was recorded as stopped or failed")
        if record.kind == "worker":
            self.visit_worker(index, record.worker, job)
        elif record.kind == "upload-refused":
            self.refusals.append({"job": job["id"], "kind": "upload", "subject": record.dataset, "code": record.code, "entry": index})
        else:
            job["ended"] = job.get("ended") or ("stopped" if record.kind == "stopped" else f"failed: {record.reason}")

    def track(self, job: dict) -> None:
        if job["id"] not in self.jobs:
            self.order.append(job["id"])
        self.jobs[job["id"]] = job

    def visit_launch(self, index: int, record) -> None:
        existing = self.jobs.get(record.job)
        if existing and existing.get("launch") is not None:
            return self.fail(index, "jobLaunchedTwice", "the job was already launched earlier in the log")
        launch = record.launch
        claims = launch.claims
        module = None
        try:
            module = open_sealed(launch.module_bundle)
            if module.measurement != claims.module:
                self.fail(index, "moduleMeasurementMismatch", f"the launch states module {claims.module.hex()[:16]}... but the bundle's "
                                                              f"payload measures {module.measurement.hex()[:16]}...")
            if hashlib.sha384(module.payload["author"]).digest() != claims.module_signer:
                self.fail(index, "moduleSignerMismatch", "the launch states a module signer other than the bundle's author")
        except ParleyError as e:
            module = None
            self.fail(index, "moduleUnreadable", f"the launched module bundle does not open: {e.message}")
        if self.policy.expected_modules is not None and claims.module not in self.policy.expected_modules:
            self.fail(index, "moduleNotExpected", f"the job ran module {claims.module.hex()[:16]}..., which the audit policy does not expect")
        if launch.platform is not None:
            try:
                launch = dataclasses.replace(launch, evidence=self.platform.expand(launch.evidence, launch.platform))
            except PlatformLogsUnavailable as e:
                self.fail(index, "platformLogsUnavailable", f"the launch evidence's platform logs cannot be rebuilt: {e}")
        self.verify_evidence(index, launch, record.time)
        if claims.debug:
            self.warn("debugWorker", f"job {record.job} ran its worker in debug mode, without its sandbox")
        job = existing or {"id": record.job}
        job.update(launch=index, claims=claims, tier=launch.tier, module=module, accepted={}, spent=Fraction(0), inherited=Fraction(0))
        if claims.ledger is not None:
            try:
                job["inherited"] = parse_epsilon(claims.ledger["inherited"])
            except ValueError as e:
                self.fail(index, "unreadableEpsilon", f"a privacy parameter is not an exact number: {e}")
        job["budget"] = None
        if module is not None:
            try:
                job["budget"] = parse_epsilon(module.payload["policy"]["budget_epsilon"])
            except (ValueError, KeyError, TypeError) as e:
                self.fail(index, "moduleUnreadable", f"the launched module bundle does not open: its budget_epsilon: {e}")
        self.track(job)

    def verify_evidence(self, index: int, launch, recorded_ms: int) -> None:
        """Parse, the stated tier, the anchor, integrity for the recorded nonce (software at the
        document's own time, TPM at the entry's), then the claims against the entry's."""
        from . import evidence as _ev
        from . import tpm_evidence
        from .policy import Policy
        try:
            q = _ev.parse_evidence(launch.evidence)
        except _ev.EvidenceParseError as e:
            return self.fail(index, "evidenceUnparseable", f"the launch evidence cannot be read: {e}")
        tier = "software" if isinstance(q, _ev.SoftwareQuote) else "tpm"
        if launch.tier != tier:
            return self.fail(index, "tierMismatch", f"the entry says {launch.tier} but the evidence is {tier}")
        if tier == "tpm":
            if self.tpm_ak is None:
                return self.fail(index, "noTrustAnchor", "no TPM attestation key to verify tpm evidence (pin one, or include it in the bundle)")
            checked = tpm_evidence.check_tpm_integrity(q, self.tpm_ak, launch.nonce)
            if isinstance(checked, list):
                return self.fail(index, "evidenceRejected", "the launch evidence does not verify: " + "; ".join(r.message for r in checked))
            return self.compare_claims(index, launch.claims, checked.claims)
        if self.root is None:
            return self.fail(index, "noTrustAnchor", "no quoting root to verify software evidence (pin one, or include it in the bundle)")
        import datetime as _dt
        at = _dt.datetime.fromtimestamp(q.timestamp_ms / 1000, _dt.timezone.utc)
        anchor = Policy(quote="software", module=b"", runtime=[], module_signers=None, quoting_root=self.root)
        broken = _ev.check_integrity(q, anchor, launch.nonce, at)
        if broken:
            return self.fail(index, "evidenceRejected", "the launch evidence does not verify: " + "; ".join(r.message for r in broken))
        self.compare_claims(index, launch.claims, q.claims)

    def compare_claims(self, index: int, a, b) -> None:
        differ = [n for n, x, y in (("job", a.job, b.job), ("measurements.runtime", a.runtime, b.runtime),
                                    ("measurements.module", a.module, b.module), ("measurements.module_signer", a.module_signer, b.module_signer),
                                    ("debug", a.debug, b.debug), ("public_key", a.public_key, b.public_key), ("ledger", a.ledger, b.ledger),
                                    ("signing_key", a.signing_key, b.signing_key)) if x != y]
        if differ:
            self.fail(index, "claimsDiffer", "the launch entry's claims differ from the verified evidence's in: " + ", ".join(differ))

    def visit_worker(self, index: int, signed: bytes, job: dict) -> None:
        claims = job.get("claims")
        if claims is None:
            return self.fail(index, "entryForUnlaunchedJob", "a worker entry for a job that was never launched in this log")
        try:
            w = verify_worker_entry(signed, claims.signing_key)
        except EntryError as e:
            return self.fail(index, "workerEntryRejected", e.message)
        if w.job != job["id"]:
            return self.fail(index, "workerEntryForOtherJob", f"the worker signed this entry for job {w.job}, not the job it is logged under")
        f, module = w.fields, job.get("module")
        if w.kind == "upload-accepted":
            summary = {"job": job["id"], "dataset": f["dataset"], "provider": f["provider"], "rows": f["rows"],
                       "sha256": f["ciphertext_sha256"].hex(), "entry": index}
            if module is not None:
                declared = module.payload.get("datasets", {}).get(f["dataset"])
                if declared is None:
                    return self.fail(index, "undeclaredDataset", f"an upload of dataset {f['dataset']}, which the job's module does not declare")
                if declared.get("provider") != f["provider"]:
                    self.fail(index, "providerMismatch", f"dataset {f['dataset']} was accepted from {f['provider']}, but the module names "
                                                         f"{declared.get('provider')}")
            if f["dataset"] in job["accepted"]:
                return self.fail(index, "datasetAcceptedTwice", f"dataset {f['dataset']} was accepted a second time in the same job")
            job["accepted"][f["dataset"]] = summary
            self.uploads.append(summary)
            s = self.spending.setdefault(summary["sha256"], {"dataset": f["dataset"], "jobs": [], "epsilon": Fraction(0)})
            if job["id"] not in s["jobs"]:
                s["jobs"].append(job["id"])
        elif w.kind == "release":
            self.releases.append({"job": job["id"], "query": f["query"], "receiver": f["receiver"], "epsilon": f["epsilon"],
                                  "delta": f["delta"], "budget_left": f["budget_left"], "suppressed_groups": f["suppressed_groups"],
                                  "entry": index})
            if module is not None:
                q = module.payload.get("queries", {}).get(f["query"])
                if not q or f["receiver"] not in q.get("receivers", []):
                    self.fail(index, "undeclaredRelease", f"a release of {f['query']} to {f['receiver']}, which the module does not declare")
                missing = sorted(d for d in module.payload.get("datasets", {}) if d not in job["accepted"])
                if missing:
                    self.fail(index, "releaseBeforeDatasets", f"query {f['query']} was released before every dataset was accepted "
                                                              f"(missing: {', '.join(missing)})")
            for d in sorted(f["inputs"]):
                if job["accepted"].get(d, {}).get("sha256") != f["inputs"][d].hex():
                    self.fail(index, "releaseInputMismatch", f"the release read dataset {d} with a digest other than the accepted upload's")
            self.spend(index, job, f["epsilon"], f["delta"], f["budget_left"], [v.hex() for v in f["inputs"].values()])
        elif w.kind == "query-refused":
            self.refusals.append({"job": job["id"], "kind": "query", "subject": f"{f['query']} for {f['receiver']}", "code": f["code"],
                                  "entry": index})
            if "epsilon" in f:
                sql = ((module.payload.get("queries", {}).get(f["query"]) or {}).get("sql", "")) if module else ""
                read = {m.group(1) for m in _FROM.finditer(sql)}
                self.spend(index, job, f["epsilon"], f["delta"], f["budget_left"],
                           [job["accepted"][d]["sha256"] for d in sorted(read) if d in job["accepted"]])
        else:  # closed
            try:
                parse_epsilon(f["spent"])
                parse_epsilon(f["budget_left"])
            except ValueError as e:
                self.fail(index, "unreadableEpsilon", f"a privacy parameter is not an exact number: {e}")

    def spend(self, index, job, eps_text, delta_text, left_text, inputs) -> None:
        try:
            eps = parse_epsilon(eps_text)
            parse_epsilon(delta_text)
            job["spent"] += eps
            for d in set(inputs):
                if d in self.spending:
                    self.spending[d]["epsilon"] += eps
            budget = job.get("budget")
            if budget is None:
                return
            total = job["inherited"] + job["spent"]
            if total > budget:
                return self.fail(index, "budgetExceeded", f"the job spent epsilon {epsilon_text(total)}, over its module's budget of "
                                                          f"{epsilon_text(budget)}")
            expected = budget - total
            if parse_epsilon(left_text) != expected:
                self.fail(index, "budgetLeftMismatch", f"the worker says {left_text} epsilon is left, but the logged releases leave "
                                                       f"{epsilon_text(expected)}: a release is missing from the log")
        except ValueError as e:
            self.fail(index, "unreadableEpsilon", f"a privacy parameter is not an exact number: {e}")

    # -- across jobs (the ledger claims, section 8; docs/privacy.md "The ledger across jobs")

    def across_jobs(self, entries: list[tuple[int, bytes]], tree: MerkleTree) -> None:
        failures, self.ledgers = audit_ledgers(entries, tree)
        self.failures += failures
        for s in self.dataset_spending():
            if len(s["jobs"]) > 1:
                self.warn("datasetDigestInSeveralJobs", f"dataset {s['dataset']} with digest {s['sha256'][:16]}... was accepted in jobs "
                                                        f"{', '.join(s['jobs'])} (epsilon {s['epsilon']} in all): a relaunch may have reset its budget")
        by_module: dict[bytes, list[dict]] = {}
        for jid in self.order:
            j = self.jobs[jid]
            c = j.get("claims")
            if c is None or not j.get("accepted") or c.ledger is not None:
                continue
            by_module.setdefault(c.module, []).append(j)
        for m, group in sorted(by_module.items(), key=lambda t: t[0].hex()):
            if len(group) > 1:
                name = group[0]["module"].payload["name"] if group[0].get("module") else "?"
                budget = epsilon_text(group[0]["budget"]) if group[0].get("budget") is not None else "?"
                self.warn("moduleRelaunched", f"module {name} ({m.hex()[:16]}...) ran as jobs {', '.join(j['id'] for j in group)}, which spent "
                                              f"epsilon {epsilon_text(sum((j['spent'] for j in group), Fraction(0)))} together against a "
                                              f"budget of {budget} each: a relaunch resets the budget")

    def job_summaries(self) -> list[dict]:
        out = []
        for jid in self.order:
            j = self.jobs[jid]
            m = j.get("module")
            declared = len(m.payload.get("datasets", {})) if m else 0
            accepted = len(j.get("accepted", {}))
            state = j.get("ended") or ("ready" if m is not None and accepted >= declared
                                       else f"collecting datasets ({accepted} of {declared})")
            out.append({"id": jid, "module_name": m.payload["name"] if m else None, "module_version": m.payload["version"] if m else None,
                        "module": j["claims"].module.hex() if j.get("claims") else None, "tier": j.get("tier"), "state": state,
                        "epsilon_spent": epsilon_text(j.get("spent", Fraction(0))),
                        "budget": epsilon_text(j["budget"]) if j.get("budget") is not None else None, "launch_entry": j.get("launch")})
        return out

    def dataset_spending(self) -> list[dict]:
        return sorted(({"sha256": k, "dataset": v["dataset"], "jobs": v["jobs"], "epsilon": epsilon_text(v["epsilon"])}
                       for k, v in self.spending.items()), key=lambda s: (s["dataset"], s["sha256"]))


def replay(bundle: AuditBundle, policy: AuditPolicy | None = None) -> AuditReport:
    """Replays a bundle (docs/log.md section 6); never raises on what the bundle holds."""
    return _Replay(bundle, policy).run()


def read_audit_bundle(path: str, policy: AuditPolicy | str | None = None, known_checkpoints: list[str] = ()) -> AuditReport:
    """Opens a bundle (a `parley audit export` folder, or a file holding the `/v1/audit/export`
    body) and replays it. `policy` is an AuditPolicy or the path of an audit policy TOML;
    `known_checkpoints` are files of signed checkpoints someone saw (a party's
    `<state>/logs/<key>/checkpoint`, a receipt's): the log must extend each.
    Raises ParleyError only for a bundle that cannot be read at all (no entries.log, no MANIFEST)."""
    p = AuditPolicy.load(policy) if isinstance(policy, str) else (policy or AuditPolicy())
    for k in known_checkpoints:
        with open(k, encoding="utf-8", errors="replace") as f:
            p.known_checkpoints.append((k, f.read(_log.MAX_NOTE_BYTES + 1)))
    return replay(AuditBundle.open(path), p)
