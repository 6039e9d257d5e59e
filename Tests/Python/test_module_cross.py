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


def _cli_cost_matches(report, cli):
    for name, q in cli["queries"].items():
        mine = report.queries[name]["cost"]
        assert mine is not None, report.queries[name]["cost_error"]
        theirs = q["cost"]
        assert {k: mine[k] for k in ("epsilon", "delta", "mechanism", "partitions", "weak")} == \
            {k: theirs[k] for k in ("epsilon", "delta", "mechanism", "partitions", "weak")}, name
        for k in ("threshold_delta", "partition_selection_delta"):
            assert mine[k] == pytest.approx(theirs[k], rel=1e-9, abs=1e-300), (name, k)


def test_query_costs_and_the_ledger_agree_with_the_cli(host):
    report = parley_client.inspect(os.path.join(host.dir, "campaign-lift.parley"))
    cli = json.loads(host.cli("module", "inspect", "campaign-lift.parley", "--json").stdout)
    _cli_cost_matches(report, cli)
    assert report.ledger_id == cli["ledger"]["id"]
    assert report.queries["conversions"]["cost"]["partition_selection_delta"] == pytest.approx(4.7e-8, rel=0.01)


def test_gaussian_declared_whole_and_weak_costs_agree_with_the_cli(host, tmp_path):
    """Another module sealed by the CLI: discrete Gaussian noise (delta), a query with declared
    group keys, one without GROUP BY, and a small min_group_size the CLI calls weak."""
    src = open(os.path.join(host.dir, "campaign-lift.toml")).read()
    src = src.replace("min_group_size = 50", "min_group_size = 5").replace("# delta = 1e-9", "delta = 1e-9")
    src += '''
[queries.declared]
receivers = ["brand"]
sql = """
SELECT e.campaign, COUNT(*) AS n, AVG(p.amount) AS mean, SUM(p.amount) AS total
FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash
GROUP BY e.campaign
"""
group_keys = { "e.campaign" = ["a", "b"] }

[queries.total]
receivers = ["brand"]
sql = """
SELECT COUNT(DISTINCT e.email_hash) AS people FROM exposures e
"""
'''
    path = os.path.join(host.dir, "variant.toml")
    with open(path, "w") as f:
        f.write(src)
    host.cli("module", "seal", "variant.toml", "--key", "author.key")
    report = parley_client.inspect(os.path.join(host.dir, "variant.parley"))
    cli = json.loads(host.cli("module", "inspect", "variant.parley", "--json").stdout)
    _cli_cost_matches(report, cli)
    assert report.queries["declared"]["cost"]["partitions"] == {"kind": "declared", "keys": [["a"], ["b"]]}
    assert report.queries["total"]["cost"]["partitions"]["kind"] == "whole"
    assert report.queries["conversions"]["cost"]["mechanism"] == "discrete-gaussian"
    assert report.queries["conversions"]["cost"]["weak"], "min_group_size 5 is weak"
