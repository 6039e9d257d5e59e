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
