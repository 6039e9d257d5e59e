"""docs/notebooks/campaign-lift.ipynb, executed with nbclient against a real `parley serve`: every
cell must run (the notebook's own asserts check the verdicts), and its outputs must show the story."""
from __future__ import annotations

import os

import nbformat
from nbclient import NotebookClient

from conftest import REPO


def test_the_campaign_lift_notebook_runs_against_a_real_host(dphost, job, monkeypatch):
    host = dphost
    monkeypatch.setenv("PARLEY_SERVER", host.url)
    monkeypatch.setenv("PARLEY_JOB", job)
    monkeypatch.setenv("PARLEY_DIR", host.dir)
    # The kernel imports the client from the source tree, as these tests do.
    monkeypatch.setenv("PYTHONPATH", os.path.join(REPO, "Sources", "Python"))
    nb = nbformat.read(os.path.join(REPO, "docs", "notebooks", "campaign-lift.ipynb"), as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": host.dir}}).execute()
    text = "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "Status.TRUSTED software " + job in text
    assert "of the people who saw campaign a," in text
    assert "appraisal.moduleNotExpected" in text
    assert "logged as entry" in text and "AuditVerdict.PASSED" in text
