"""The shared host's whole log (named to run after the tests that fill it: uploads, refusals,
releases, jobs launched while another was open, lying proxies in front of it) replayed by the
Python auditor and by `parley audit replay --json`: the same account, field by field."""
from __future__ import annotations

import os
import shutil

import parley_client
from test_audit_cross import swift_replay


def test_the_shared_hosts_whole_log_gives_both_auditors_the_same_account(dphost, job):
    """dphost's log holds every job the other tests ran (refused uploads, jobs launched while
    another was open, several releases): both auditors must tell the same story of it."""
    h = dphost
    out = os.path.join(h.dir, "whole-bundle")
    shutil.rmtree(out, ignore_errors=True)
    h.cli("audit", "export", "--server", h.url, "-o", out)
    swift = swift_replay(h, out)
    mine = parley_client.read_audit_bundle(out).to_json()
    assert mine["verdict"] == swift["verdict"], (mine["failures"], swift["failures"])
    for key in ("log", "jobs", "uploads", "releases", "refusals", "ledgers", "epsilon_by_dataset"):
        assert mine[key] == swift[key], key
    assert sorted(w["code"] for w in mine["warnings"]) == sorted(w["code"] for w in swift["warnings"])
    assert [(f["code"], f.get("entry")) for f in mine["failures"]] == [(f["code"], f.get("entry")) for f in swift["failures"]]


def test_the_shared_hosts_log_rewritten_under_its_ledger_claims_fails_both_alike(dphost, job):
    """An entry slipped in at the start (so no launch's counted checkpoint is a prefix any more)
    and an earlier launch dropped (so later workers counted a job the log no longer holds): every
    failure of the two auditors is the same, in order."""
    from parley_client import cbor
    from parley_client.entries import parse_log_entry
    from test_audit_cross import records, resign
    h = dphost
    out = os.path.join(h.dir, "whole-bundle-2")
    shutil.rmtree(out, ignore_errors=True)
    h.cli("audit", "export", "--server", h.url, "-o", out)
    base = records(os.path.join(out, "entries.log"))
    launches = [i for i, p in enumerate(base) if parse_log_entry(p).kind == "launch"]
    assert len(launches) >= 2
    early = cbor.dumps({"format": "parley/log-entry/1", "kind": "failed", "job": "early", "time": 1, "reason": "before"})
    for name, payloads in (("slipped-in", [early] + base), ("launch-dropped", base[:launches[0]] + base[launches[0] + 1:])):
        b = os.path.join(h.dir, "whole-" + name)
        shutil.rmtree(b, ignore_errors=True)
        shutil.copytree(out, b)
        resign(h, b, payloads)
        swift = swift_replay(h, b)
        py = parley_client.read_audit_bundle(b)
        assert swift["verdict"] == py.verdict.value == "failed", name
        codes = [(f["code"], f.get("entry")) for f in swift["failures"]]
        assert codes == [(f.code, f.entry) for f in py.failures], name
        assert any(c in ("ledgerClaimInvalid", "ledgerInheritanceMismatch") for c, _ in codes), (name, codes)
