"""Witness cosignatures (docs/log.md section 9) with a real `parley witness` and a real
`parley serve --witness URL`: a policy that requires the witness is accepted by the Python
client and the CLI when the witness cosigned, and refused by both, with the same reason, when it
needs a cosignature the checkpoint does not carry."""
from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import parley_client
from parley_client import log
from conftest import Host, bin_dir


class Witness:
    def __init__(self, h: Host, name: str):
        self.dir = os.path.join(h.dir, name.replace("/", "_"))
        self.proc = subprocess.Popen([h.bin, "witness", "--data", self.dir, "--name", name, "--log",
                                      os.path.join(h.dir, "host", "log-key.pub"), "--listen", "127.0.0.1:0"],
                                     cwd=h.dir, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = None
        found = threading.Event()

        def read():
            for line in self.proc.stdout:
                m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
                if m and not self.url:
                    self.url = m.group(1)
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(30) or not self.url:
            self.stop()
            raise AssertionError("parley witness did not say where it listens within 30 s")
        self.pub = os.path.join(self.dir, "witness-key.pub")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def unconfigured_witness_key(path: str, name: str = "absent.test/witness") -> str:
    raw = b"\x04" + Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    with open(path, "w") as f:
        f.write(f"{name}+{kid.hex()}+{base64.b64encode(raw).decode()}\n")
    return path


@pytest.fixture(scope="module")
def witnessed():
    bin_dir()
    d = tempfile.mkdtemp(prefix="parley-py-witness-")
    h = Host(d)
    w = None
    try:
        h.prepare(rows=10)
        h.start()  # creates the log key the witness follows
        h.stop()
        w = Witness(h, "w1.test/witness")
        h.start("--witness", w.url)
        h.job = h.launch()
        h.witness = w
        shutil.copy(w.pub, os.path.join(d, "w1.pub"))
        unconfigured_witness_key(os.path.join(d, "absent.pub"))
        yield h
    finally:
        h.stop()
        if w:
            w.stop()
        shutil.rmtree(d, ignore_errors=True)


def cosigned_checkpoint(h) -> str:
    """The host's checkpoint once it carries the witness's line (the host submits as it signs)."""
    with open(os.path.join(h.dir, "w1.pub")) as f:
        name = f.read().split("+")[0]
    import httpx
    deadline = time.time() + 30
    while time.time() < deadline:
        note = httpx.get(h.url + "/v1/log/checkpoint").text
        if f"\u2014 {name} " in note:
            return note
        time.sleep(0.2)
    raise AssertionError("the host never served a checkpoint cosigned by its witness")


def party(h, policy, state):
    return parley_client.Party(key=os.path.join(h.dir, "brand.key"), policy=os.path.join(h.dir, policy), server=h.url,
                               state=os.path.join(h.dir, state))


def cli_fetch(h, policy, state):
    return h.cli("attest", "fetch", "--server", h.url, "--job", h.job, "--nonce", secrets.token_hex(32), "--policy", policy,
                 "-o", os.path.join(h.dir, "ev.cbor"), "--state", state, check=False)


def test_a_policy_requiring_the_witness_is_accepted_when_it_cosigned(witnessed):
    h = witnessed
    note = cosigned_checkpoint(h)
    key = log.VerifierKey.parse(open(os.path.join(h.dir, "host", "log-key.pub")).read())
    w1 = log.CosignerKey.parse(open(os.path.join(h.dir, "w1.pub")).read())
    log.verify_checkpoint(note, key)
    assert list(log.cosignatures(note, [w1])) == [w1.text]
    h.write_policy("w1.toml", witnesses='["w1.pub"]', witness_quorum="1")
    with party(h, "w1.toml", "w-ok") as p:
        assert p.verify(h.job).trusted
    with open(os.path.join(h.dir, "w-ok", "logs", os.listdir(os.path.join(h.dir, "w-ok", "logs"))[0], "checkpoint")) as f:
        assert log.cosignatures(f.read(), [w1]), "the cosigned note is what the client keeps"
    assert cli_fetch(h, "w1.toml", "w-ok-cli").returncode == 0


def test_a_policy_needing_a_cosignature_the_checkpoint_lacks_is_refused_by_both(witnessed):
    h = witnessed
    cosigned_checkpoint(h)
    for policy, extra, have, need in (("absent.toml", dict(witnesses='["absent.pub"]', witness_quorum="1"), 0, 1),
                                      ("both.toml", dict(witnesses='["w1.pub", "absent.pub"]'), 1, 2)):
        h.write_policy(policy, **extra)
        state = "w-" + policy
        with party(h, policy, state) as p:
            with pytest.raises(log.LogRefused) as e:
                p.verify(h.job)
        assert e.value.code == "tooFewCosignatures"
        assert f"carries {have} valid cosignature(s) from the witnesses your policy pins, and it needs {need}" in e.value.message
        assert not os.path.exists(os.path.join(h.dir, state, "logs")), "nothing was remembered"
        refused = cli_fetch(h, policy, state + "-cli")
        assert refused.returncode != 0
        assert refused.stderr.strip().splitlines()[-1] == "parley: " + e.value.message
