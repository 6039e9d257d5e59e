"""Receipts, the launch entry and the ledger claim against a real `parley serve` (docs/log.md
sections 7-8), the Python client beside the CLI: accepted uploads and releases come with receipts
proved into the log; a host that does not log them, or proves them wrongly, or hides the launch,
or shows the worker another history, is refused by both with the same reason; so is a worker that
did not count a job of its ledger the client saw, and an upload while an earlier job the client
uploaded to is still open."""
from __future__ import annotations

import json
import os
import re

import pytest

import parley_client
from parley_client import cbor, entries, log, receipts
from conftest import LyingHost


def party(h, name, state, server=None, policy="policy.toml"):
    return parley_client.Party(key=os.path.join(h.dir, f"{name}.key"), policy=os.path.join(h.dir, policy),
                               server=server or h.url, state=os.path.join(h.dir, state))


def cli_reason(p) -> str:
    """The CLI's refusal: its last `parley: ` line on standard error."""
    lines = [line[len("parley: "):] for line in p.stderr.splitlines() if line.startswith("parley: ") and "warning" not in line[:17]]
    assert p.returncode != 0 and lines, p.stderr
    return lines[-1]


def cli_upload(h, job, dataset, key, state, server=None):
    return h.cli("upload", "--server", server or h.url, "--job", job, "--dataset", dataset, "--file", f"{dataset}.csv",
                 "--key", f"{key}.key", "--policy", "policy.toml", "--quiet", "--state", state, check=False)


def cli_query(h, job, state, server=None):
    return h.cli("query", "run", "--server", server or h.url, "--job", job, "--query", "conversions", "--key", "brand.key",
                 "--policy", "policy.toml", "--format", "json", "--state", state, check=False)


def cli_verify_json(h, job, state, server=None) -> dict:
    import secrets
    nonce = secrets.token_hex(32)
    ev = os.path.join(h.dir, f"ev-{job}.cbor")
    h.cli("attest", "fetch", "--server", server or h.url, "--job", job, "--nonce", nonce, "--policy", "policy.toml", "-o", ev,
          "--state", state + "-fetch")
    p = h.cli("attest", "verify", ev, "--nonce", nonce, "--policy", "policy.toml", "--server", server or h.url, "--state", state,
              "--json", "--job", job, "--nonce-ledger", ev + ".ledger", check=False)
    return json.loads(p.stdout)


def log_dir(h, state) -> str:
    folders = os.listdir(os.path.join(h.dir, state, "logs"))
    assert len(folders) == 1
    return os.path.join(h.dir, state, "logs", folders[0])


def test_uploads_and_results_come_with_receipts_proved_into_the_log(dphost, job):
    h = dphost
    key = log.VerifierKey.parse(open(os.path.join(h.dir, "host/log-key.pub")).read())
    with party(h, "brand", "rc-brand") as brand, party(h, "retailer", "rc-retailer") as retailer:
        up = brand.upload(job, "exposures", os.path.join(h.dir, "exposures.csv"), progress=False)
        retailer.upload(job, "purchases", os.path.join(h.dir, "purchases.csv"), progress=False)
        assert 0 <= up["log_index"] < up["log_size"]
        df = brand.query(job, "conversions")
    assert df.attrs["log_index"] > up["log_index"]
    d = log_dir(h, "rc-brand")
    names = sorted(os.listdir(os.path.join(d, "receipts")))
    assert f"{job}-{up['log_index']}.cbor" in names and f"{job}-{df.attrs['log_index']}.cbor" in names
    # Each receipt verifies offline: the checkpoint is the log's, the proof leads to its root,
    # and the entry is the worker's, signed by the attested key, naming what was sent or received.
    for index, kind in ((up["log_index"], "upload-accepted"), (df.attrs["log_index"], "release")):
        with open(os.path.join(d, "receipts", f"{job}-{index}.cbor"), "rb") as f:
            r = receipts.Receipt.decode(f.read())
        assert r.index == index and r.verify(key).size > index
        record = entries.parse_log_entry(r.entry)
        assert record.kind == "worker" and record.job == job
    with party(h, "brand", "rc-brand") as brand:
        launch = brand.log.find(job, "launch", "the launch", lambda e: True)
        signing_key = entries.parse_log_entry(launch.entry).launch.claims.signing_key
    for index, kind in ((up["log_index"], "upload-accepted"), (df.attrs["log_index"], "release")):
        with open(os.path.join(d, "receipts", f"{job}-{index}.cbor"), "rb") as f:
            w = entries.verify_worker_entry(entries.parse_log_entry(receipts.Receipt.decode(f.read()).entry).worker, signing_key)
        assert w.kind == kind
    assert w.fields["result_sha256"].hex() == df.attrs["result_sha256"]
    # The ledger memory marks the job as seen and uploaded to, in the CLI's layout.
    ledgers = os.listdir(os.path.join(d, "ledgers"))
    assert len(ledgers) == 1
    marks = cbor.loads(open(os.path.join(d, "ledgers", ledgers[0]), "rb").read())
    assert marks[job]["uploaded"] is True and type(marks[job]["launch"]) is int


def _flip_first_hash(body: bytes) -> bytes:
    hashes = cbor.loads(body)
    if not hashes:
        return body
    return cbor.dumps([bytes([hashes[0][0] ^ 1]) + hashes[0][1:]] + hashes[1:])


def test_an_upload_the_host_does_not_log_is_not_accounted_for_by_both(dphost, job):
    h = dphost
    hide = LyingHost(h.url, lambda m, path, q, body: cbor.dumps([]) if path == "/v1/log/index" and q.get("kind") == "worker" else body)
    try:
        with party(h, "brand", "nl-py", server=hide.url) as brand:
            with pytest.raises(receipts.ReceiptRefused) as e:
                brand.upload(job, "exposures", os.path.join(h.dir, "exposures.csv"), progress=False)
        assert e.value.code == "notLogged"
        assert e.value.message == (f"the host did not log your upload of exposures (its index of {job} points at no such entry): "
                                   "the result or upload is not accounted for in the log; keep your state directory and tell the auditor")
        swift = cli_reason(cli_upload(h, job, "purchases", "retailer", "nl-cli", server=hide.url))
        assert swift == e.value.message.replace("exposures", "purchases")
    finally:
        hide.stop()


def test_a_launch_whose_inclusion_proof_does_not_hold_is_refused_by_both(dphost, job):
    h = dphost
    liar = LyingHost(h.url, lambda m, path, q, body: _flip_first_hash(body) if path == "/v1/log/proof/inclusion" else body)
    try:
        with party(h, "brand", "ip-py", server=liar.url) as brand:
            with pytest.raises(log.LogRefused) as e:
                brand.verify(job)
        assert e.value.code == "launchNotLogged" and f"inclusion proof of the launch of {job} (entry " in e.value.message
        swift = cli_verify_json(h, job, "ip-cli", server=liar.url)
        assert swift["reasons"] == [{"code": "launchNotLogged", "message": e.value.message}]
    finally:
        liar.stop()


def _shape(message: str) -> str:
    """A message with its numbers and hashes blanked (entry indexes and roots differ per run)."""
    return re.sub(r"[0-9a-f]{64}|\d+", "#", message)


def test_a_release_proved_wrongly_is_not_accounted_for_by_both(dphost, job):
    h = dphost
    for ds, key in (("exposures", "brand"), ("purchases", "retailer")):
        assert cli_upload(h, job, ds, key, f"rp-{key}").returncode == 0
    armed = {"on": False}

    def tamper(m, path, q, body):
        if path == "/v1/jobs/" + job + "/queries/conversions":
            armed["on"] = True  # from the result on, every inclusion proof is flipped
        if path == "/v1/log/proof/inclusion" and armed["on"]:
            return _flip_first_hash(body)
        return body

    liar = LyingHost(h.url, tamper)
    try:
        with party(h, "brand", "rp-py", server=liar.url) as brand:
            with pytest.raises(receipts.ReceiptRefused) as e:
                brand.query(job, "conversions")
        assert e.value.code == "inclusionProofFailed"
        assert e.value.message.startswith("the host's inclusion proof of the release of your result of conversions (entry ")
        assert "does not hold: the proof leads to root " in e.value.message
        armed["on"] = False
        swift = cli_reason(cli_query(h, job, "rp-cli", server=liar.url))
        assert _shape(swift) == _shape(e.value.message)
    finally:
        liar.stop()


def test_a_launch_the_host_hides_is_refused_by_both(dphost, job):
    h = dphost
    hide = LyingHost(h.url, lambda m, path, q, body: cbor.dumps([]) if path == "/v1/log/index" and q.get("kind") == "launch" else body)
    try:
        with party(h, "brand", "ln-py", server=hide.url) as brand:
            with pytest.raises(log.LogRefused) as e:
                brand.verify(job)
        assert e.value.code == "launchNotLogged"
        assert e.value.message.startswith(f"the job's launch is not in the host's log as the worker attests it (the host did not log the launch of {job}")
        swift = cli_verify_json(h, job, "ln-cli", server=hide.url)
        assert swift["verdict"] == "refused" and swift["reasons"] == [{"code": "launchNotLogged", "message": e.value.message}]
    finally:
        hide.stop()


def test_a_worker_shown_another_history_is_refused_by_both(dphost, job):
    """The consistency proof from the worker's checkpoint to the host's is made wrong: the
    worker's ledger checkpoint is then not proved to be part of the log the client follows."""
    h = dphost
    liar = LyingHost(h.url, lambda m, path, q, body: _flip_first_hash(body) if path == "/v1/log/proof/consistency" else body)
    try:
        with party(h, "brand", "ho-py", server=liar.url) as brand:
            with pytest.raises(log.LogRefused) as e:
                brand.verify(job)
        assert e.value.code == "ledgerCheckpointNotInLog"
        assert "the host showed the worker another history" in e.value.message
        swift = cli_verify_json(h, job, "ho-cli", server=liar.url)
        assert swift["reasons"] == [{"code": "ledgerCheckpointNotInLog", "message": e.value.message}]
    finally:
        liar.stop()


def test_a_worker_that_did_not_count_a_job_the_client_saw_is_refused_by_both(dphost, job):
    """The client remembers a launch of the ledger (a mark in `ledgers/`, as after verifying an
    earlier job) that the new worker's counted list leaves out: ledgerHidesEntries, naming it."""
    h = dphost
    with party(h, "brand", "lh-shared") as brand:
        assert brand.verify(job).trusted
        d = log_dir(h, "lh-shared")
        (ledger,) = os.listdir(os.path.join(d, "ledgers"))
        path = os.path.join(d, "ledgers", ledger)
        marks = cbor.loads(open(path, "rb").read())
        mine = marks[job]["launch"]
        marks["ghost"] = {"launch": mine - 1, "seen": 1_700_000_000_000, "uploaded": False}
        with open(path, "wb") as f:
            f.write(cbor.dumps(marks))
        with pytest.raises(log.LogRefused) as e:
            brand.verify(job)
    assert e.value.code == "ledgerHidesEntries"
    assert f"you saw entry {mine - 1} of this ledger" in e.value.message and "on 2023-11-14T22:13:20Z" in e.value.message
    swift = cli_verify_json(h, job, "lh-shared")
    assert swift["reasons"] == [{"code": "ledgerHidesEntries", "message": e.value.message}]


def test_an_upload_while_an_earlier_job_of_the_ledger_is_open_is_refused_by_both(dphost):
    h = dphost
    first = h.launch()
    second = None
    try:
        with party(h, "brand", "eo-shared") as brand:
            brand.upload(first, "exposures", os.path.join(h.dir, "exposures.csv"), progress=False)
            second = h.launch()
            with pytest.raises(log.LogRefused) as e:
                brand.upload(second, "exposures", os.path.join(h.dir, "exposures.csv"), progress=False)
            assert e.value.code == "earlierJobOpen" and f"job {first} of the same budget ledger" in e.value.message
            assert not brand.status(second)["datasets"]["exposures"]["accepted"], "nothing was sent"
        swift = cli_reason(cli_upload(h, second, "exposures", "brand", "eo-shared"))
        assert swift == e.value.message
        h.cli("job", "stop", first, "--server", h.url, "--data", "host")
        with party(h, "brand", "eo-shared") as brand:
            assert brand.upload(second, "exposures", os.path.join(h.dir, "exposures.csv"), progress=False)["rows"] == 2000
    finally:
        for j in (first, second):
            if j:
                h.cli("job", "stop", j, "--server", h.url, "--data", "host", check=False)


def test_an_index_that_is_out_of_order_or_points_elsewhere_gains_the_host_nothing(dphost, job):
    """The index is only a pointer: oldest first is refused as malformed, and pointing at another
    job's entries finds nothing, by both clients with the same sentence."""
    h = dphost
    mine = h.launch()  # launched after `job`, so an entry of another job lies before its launch
    try:
        def oldest_first(m, path, q, body):
            if path != "/v1/log/index":
                return body
            found = cbor.loads(body)
            return cbor.dumps(sorted(set(found) | {found[0] - 1})) if found else body

        def elsewhere(m, path, q, body):
            return cbor.dumps([0]) if path == "/v1/log/index" else body

        for name, tamper, expected in (("oldest-first", oldest_first, "is not newest first below entry"),
                                       ("elsewhere", elsewhere, "points at no such entry")):
            liar = LyingHost(h.url, tamper)
            try:
                with party(h, "brand", f"ix-{name}", server=liar.url) as brand:
                    with pytest.raises(log.LogRefused) as e:
                        brand.verify(mine)
                assert e.value.code == "launchNotLogged" and expected in e.value.message, e.value.message
                swift = cli_verify_json(h, mine, f"ix-{name}-cli", server=liar.url)
                assert swift["reasons"] == [{"code": "launchNotLogged", "message": e.value.message}]
            finally:
                liar.stop()
    finally:
        h.cli("job", "stop", mine, "--server", h.url, "--data", "host", check=False)
