"""parley_client.inspect against `parley module inspect --json` on a bundle the Swift CLI sealed,
and its refusals (a changed byte, another author's signature, a cut bundle)."""
from __future__ import annotations

import json
import os

import pytest

import parley_client
from parley_client import cbor, cose


def test_inspect_agrees_with_the_cli(host):
    report = parley_client.inspect(os.path.join(host.dir, "campaign-lift.parley"))
    cli = json.loads(host.cli("module", "inspect", "campaign-lift.parley", "--json").stdout)
    assert report.measurement == cli["measurement"] == host.measurement
    assert report.signer == cli["signer"] and report.name == cli["name"] and report.version == cli["version"]
    assert report.parties == cli["parties"]
    for name, d in cli["datasets"].items():
        assert report.datasets[name]["provider"] == d["provider"] and report.datasets[name]["columns"] == d["columns"]
        assert report.datasets[name]["privacy_unit"] == d["privacy_unit"] and report.datasets[name]["bounds"] == d["bounds"]
    assert {n: q["receivers"] for n, q in report.queries.items()} == {n: q["receivers"] for n, q in cli["queries"].items()}
    # the CLI shows the SQL without its trailing newline
    assert {n: q["sql"].strip() for n, q in report.queries.items()} == {n: q["sql"].strip() for n, q in cli["queries"].items()}


def test_inspect_refuses_bundles_that_do_not_open(host, tmp_path):
    data = open(os.path.join(host.dir, "campaign-lift.parley"), "rb").read()
    item = cbor.loads(data)
    payload = cbor.loads(item.value[2])
    payload["name"] = "other"
    from cryptography.hazmat.primitives.asymmetric import ec
    forged = cose.sign(ec.generate_private_key(ec.SECP256R1()), cbor.dumps(payload))  # author key unchanged
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 1
    for name, bad in (("forged", forged), ("flipped", bytes(flipped)), ("cut", data[:-1]), ("empty", b"")):
        p = tmp_path / f"{name}.parley"
        p.write_bytes(bad)
        with pytest.raises(parley_client.ParleyError) as e:
            parley_client.inspect(str(p))
        assert e.value.code == "bad-module", name
