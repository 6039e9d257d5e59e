"""The budget ledger across jobs (docs/privacy.md, "The ledger across jobs"; docs/log.md
section 8): what each ledger's jobs spent, and the audit of every launch's ledger claim against
the whole log."""
from __future__ import annotations

from fractions import Fraction

from .audit_types import Finding
from .bundle import MerkleTree
from .entries import EntryError, binds, parse_log_entry, verify_worker_entry
from .errors import ParleyError
from .exact import epsilon_text, parse_epsilon
from .module import open_sealed


class LedgerTally:
    """What the jobs of one ledger spent, from the entries (docs/privacy.md, "The ledger across
    jobs"): a job with a `closed` entry counts what it says (at least what its releases and
    charged refusals logged); a job without one counts at least its module's whole budget."""

    def __init__(self, ledger_id: bytes):
        self.ledger = ledger_id
        self.jobs: list[dict] = []

    def read(self, index: int, data: bytes) -> None:
        try:
            record = parse_log_entry(data)
        except EntryError:
            return
        job = next((j for j in self.jobs if j["id"] == record.job), None)
        if record.kind == "launch":
            if job is not None:
                return
            try:
                module = open_sealed(record.launch.module_bundle)
                if module.ledger_id != self.ledger:
                    return
                budget = parse_epsilon(module.payload["policy"]["budget_epsilon"])
            except (ParleyError, ValueError, KeyError, TypeError):
                return
            self.jobs.append({"id": record.job, "launch": index, "budget": budget, "released": Fraction(0), "closed": None,
                              "ended": False, "key": record.launch.claims.signing_key})
        elif record.kind in ("stopped", "failed") and job:
            job["ended"] = True
        elif record.kind == "worker" and job:
            try:
                w = verify_worker_entry(record.worker, job["key"])
            except EntryError:
                return
            if w.job != record.job:
                return
            charged = w.fields.get("epsilon") if w.kind in ("release", "query-refused") else None
            if w.kind == "closed":
                try:
                    job["closed"] = parse_epsilon(w.fields["spent"])
                except ValueError:
                    pass
            if charged is not None:
                try:
                    job["released"] += parse_epsilon(charged)
                except ValueError:
                    pass

    @property
    def spent(self) -> Fraction:
        total = Fraction(0)
        for j in self.jobs:
            if j["closed"] is not None:
                total += max(j["closed"], j["released"])
            else:
                total = max(total + j["released"], j["budget"])
        return total

    @property
    def open_jobs(self) -> list[str]:
        return [j["id"] for j in self.jobs if j["closed"] is None and not j["ended"]]


def _claim_problem(index: int, record, lid: bytes, entries: list[tuple[int, bytes]], tree: MerkleTree,
                   launches: list[tuple[int, str, bytes]]) -> Finding | None:
    """What is wrong with one launch's ledger claim against the whole log, if anything (in the
    Swift auditor's order: the ledger, the checkpoint, a launch it hides, the counted jobs, the
    inherited spend)."""
    claim = record.launch.claims.ledger

    def invalid(why: str) -> Finding:
        return Finding("ledgerClaimInvalid", f"the worker's ledger claim does not fit the log: {why}", index)

    if claim["id"] != lid:
        return invalid("it names another ledger than its module's")
    cs = claim["checkpoint_size"]
    if cs > index or tree.root(cs) != claim["checkpoint_root"]:
        return invalid(f"its checkpoint of {cs} entries is not this log's prefix before the launch")
    hidden = next(((i, j) for i, j, l in launches if l == lid and i >= cs), None)
    if hidden:
        return invalid(f"its checkpoint of {cs} entries leaves out job {hidden[1]} of the same ledger, launched earlier at entry "
                       f"{hidden[0]}: the host hid it from the worker")
    tally = LedgerTally(lid)
    for i, d in entries[:cs]:
        tally.read(i, d)
    if not binds(claim, [j["launch"] for j in tally.jobs]):
        seen = set(record.launch.ledger_counted)
        left = next((j for j in tally.jobs if j["launch"] not in seen), None)
        if left:
            return invalid(f"its worker counted {claim['counted']} earlier job(s) of the ledger and leaves out job {left['id']}, "
                           f"launched at entry {left['launch']}: the host hid it from the worker")
        return invalid(f"its worker counted {claim['counted']} earlier job(s) of the ledger, not the {len(tally.jobs)} the log holds "
                       "before its checkpoint")
    if epsilon_text(tally.spent) != claim["inherited"]:
        return Finding("ledgerInheritanceMismatch", f"the worker says earlier jobs of its ledger spent {claim['inherited']}, but the log "
                                                    f"up to its checkpoint counts {epsilon_text(tally.spent)}", index)
    return None


def audit_ledgers(entries: list[tuple[int, bytes]], tree: MerkleTree) -> tuple[list[Finding], list[dict]]:
    """Every launch's ledger claim against the whole log, and per ledger (in order of first
    launch) its jobs, what they spent, its budget and the jobs still open."""
    failures: list[Finding] = []
    ledgers: dict[bytes, dict] = {}
    launches: list[tuple[int, str, bytes]] = []
    for index, data in entries:
        try:
            record = parse_log_entry(data)
            if record.kind != "launch":
                continue
            module = open_sealed(record.launch.module_bundle)
            lid = module.ledger_id
        except (ParleyError, KeyError, TypeError):
            continue
        try:
            budget = epsilon_text(parse_epsilon(module.payload["policy"]["budget_epsilon"]))
        except (ValueError, KeyError, TypeError):
            budget = "?"
        ledgers[lid] = {"name": module.payload.get("ledger") or module.payload["name"], "budget": budget}
        if record.launch.claims.ledger is not None:
            problem = _claim_problem(index, record, lid, entries, tree, launches)
            if problem:
                failures.append(problem)
        launches.append((index, record.job, lid))
    summaries = []
    for lid, info in ledgers.items():
        tally = LedgerTally(lid)
        for i, d in entries:
            tally.read(i, d)
        summaries.append({"id": lid.hex(), "name": info["name"], "jobs": [j["id"] for j in tally.jobs],
                          "spent": epsilon_text(tally.spent), "budget": info["budget"], "open": tally.open_jobs})
    return failures, summaries
