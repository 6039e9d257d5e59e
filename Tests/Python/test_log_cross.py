"""Checkpoints and consistency proofs against a real `parley serve`, with the CLI's client-state
rules (docs/log.md section 7): the Python client and the CLI share one state directory; a host
restarted from an older copy of its data directory is refused as rolled back, and one that went
another way from a shared past as forked or not an extension, by both, naming both sizes."""
from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile

import pytest

import parley_client
from parley_client import log
from conftest import Host, bin_dir


def party(h, state):
    return parley_client.Party(key=os.path.join(h.dir, "brand.key"), policy=os.path.join(h.dir, "policy.toml"),
                               server=h.url, state=os.path.join(h.dir, state))


def cli_fetch(h, job, state):
    return h.cli("attest", "fetch", "--server", h.url, "--job", job, "--nonce", secrets.token_hex(32), "--policy", "policy.toml",
                 "-o", os.path.join(h.dir, "ev.cbor"), "--state", state, check=False)


def cli_reason(p) -> str:
    return [line for line in p.stderr.splitlines() if line.startswith("parley: ")][-1][len("parley: "):]


def undated(message: str) -> str:
    """The two clients verified the remembered checkpoint at different moments."""
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<date>", message)


def size_of(h) -> int:
    with party(h, "probe-state") as p:
        return log.verify_checkpoint(p._get("/v1/log/checkpoint").text, p.log_key()).size


def test_the_python_client_and_the_cli_share_one_state_directory(dphost, job):
    state = "shared-state"
    assert cli_fetch(dphost, job, state).returncode == 0
    with party(dphost, state) as p:
        assert p.verify(job).trusted
        remembered, _ = log.ClientState(os.path.join(dphost.dir, state), p.log_key()).remembered()
    assert cli_fetch(dphost, job, state).returncode == 0
    # One folder for the log, named as the CLI names it: both clients wrote into the same one.
    folders = os.listdir(os.path.join(dphost.dir, state, "logs"))
    assert len(folders) == 1, folders
    assert re.fullmatch(r"parley\.local_log\+[0-9a-f]{8}", folders[0]), folders
    with open(os.path.join(dphost.dir, state, "logs", folders[0], "checkpoint")) as f:
        assert log.verify_checkpoint(f.read(), log.VerifierKey.parse(open(os.path.join(dphost.dir, "host/log-key.pub")).read())).size >= remembered.size


def test_rolled_back_forked_and_rewritten_logs_are_refused_by_both_naming_both_sizes():
    bin_dir()
    d = tempfile.mkdtemp(prefix="parley-py-log-")
    h = Host(d)
    try:
        h.prepare(rows=10)
        h.start()
        first = h.launch()
        h.stop()
        shutil.copytree(os.path.join(d, "host"), os.path.join(d, "host-old"))
        h.start()
        later = h.launch()
        with party(h, "py-state") as p:
            assert p.verify(later).trusted
        assert cli_fetch(h, later, "cli-state").returncode == 0
        seen = size_of(h)
        h.stop()
        shutil.move(os.path.join(d, "host"), os.path.join(d, "host-new"))
        shutil.copytree(os.path.join(d, "host-old"), os.path.join(d, "host"))
        h.start()
        old = size_of(h)
        assert old < seen
        with party(h, "py-state") as p:
            with pytest.raises(parley_client.LogRefused) as e:
                p.verify(first)
        assert e.value.code == "logRolledBack"
        assert re.search(rf"\b{old}\b", e.value.message) and re.search(rf"\b{seen}\b", e.value.message)
        refused = cli_fetch(h, first, "cli-state")
        assert refused.returncode != 0 and str(old) in refused.stderr and str(seen) in refused.stderr
        assert undated(cli_reason(refused)) == undated(e.value.message), "the CLI's sentence"
        # The old copy goes on another way: launches until it is as long as, then longer than, the log seen.
        live = h.launch()
        while size_of(h) < seen:
            live = h.launch()
        now = size_of(h)
        expected = "logForked" if now == seen else "logNotAnExtension"
        with party(h, "py-state") as p:
            with pytest.raises(parley_client.LogRefused) as e:
                p.verify(first)
        assert e.value.code == expected and str(seen) in e.value.message and str(now) in e.value.message
        refused = cli_fetch(h, first, "cli-state")
        assert refused.returncode != 0 and str(seen) in refused.stderr
        assert undated(cli_reason(refused)) == undated(e.value.message), "the CLI's sentence"
        # A client that never saw the other history follows this one.
        with party(h, "fresh-state") as p:
            assert p.verify(live).trusted
    finally:
        h.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_consistency_proofs_and_checkpoints_from_the_host_and_their_tampering(dphost, job):
    with party(dphost, "proof-state") as p:
        key = p.log_key()
        cp = log.verify_checkpoint(p._get("/v1/log/checkpoint").text, key)
        # Remember this checkpoint, make the log grow, and prove the new one from it.
        p.follow_log()
        o = log.ClientState(os.path.join(dphost.dir, "proof-state"), key).remembered()[0]
        assert o.size == cp.size
        dphost.cli("job", "stop", dphost.launch(), "--server", dphost.url, "--data", "host")
        cp = p.follow_log()
        assert o.size < cp.size
        good = log.decode_proof(p._get("/v1/log/proof/consistency", first=o.size, second=cp.size).content)
        assert log.consistency_holds(o.size, cp.size, o.root, cp.root, good)
        flipped = [bytes([good[0][0] ^ 1]) + good[0][1:]] + good[1:]
        for bad in ([], good[:-1], good + [bytes(32)], flipped):
            assert not log.consistency_holds(o.size, cp.size, o.root, cp.root, bad)
        assert not log.consistency_holds(o.size, cp.size, bytes(32), cp.root, good)
        assert not log.consistency_holds(o.size, cp.size, o.root, bytes(32), good)
        # A checkpoint whose text or signature changed is refused.
        text = cp.note
        lines = text.split("\n")
        lines[1] = str(cp.size + 1)
        for bad in ("\n".join(lines), text.replace("\u2014 ", "\u2014 x"), text[: text.index("\n\n") + 2]):
            with pytest.raises(parley_client.LogRefused) as e:
                log.verify_checkpoint(bad, key)
            assert e.value.code == "checkpointRejected"
