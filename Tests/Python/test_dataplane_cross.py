"""Uploads and queries across the two implementations, against a real `parley serve`: a Python
upload accepted by the Swift worker and queried by the Swift CLI, Swift CLI uploads queried from
Python, and the refusals a party must see (untrusted worker before any byte, replayed upload,
a key that is not a receiver)."""
from __future__ import annotations

import json
import os

import pandas as pd
import pytest

import parley_client
from parley_client.errors import EvidenceRefused, ParleyError, ServerError


def party(host, name, policy="policy.toml", state=None):
    return parley_client.Party(key=os.path.join(host.dir, f"{name}.key"), policy=os.path.join(host.dir, policy),
                               server=host.url, state=os.path.join(host.dir, state or f"py-{name}-state"))


def swift_query(host, job, query="conversions"):
    out = host.cli("query", "run", "--server", host.url, "--job", job, "--query", query, "--key", "brand.key",
                   "--policy", "policy.toml", "--format", "json", "--state", "brand-state").stdout
    return json.loads(out)


def test_python_uploads_are_accepted_by_the_swift_worker_and_queried_by_the_swift_cli(dphost, job):
    host = dphost
    with party(host, "brand") as brand, party(host, "retailer") as retailer:
        exposures = os.path.join(host.dir, "exposures.csv")
        receipt = brand.upload(job, "exposures", exposures, progress=False)
        assert receipt["dataset"] == "exposures" and receipt["rows"] == 2000 and receipt["log_size"] > 0
        assert isinstance(receipt, parley_client.UploadReceipt) and (receipt.rows, receipt.log_index) == (2000, receipt["log_index"])
        # The worker's size and time, as the host relays them.
        assert receipt.plaintext_bytes == os.path.getsize(exposures)
        assert receipt.seconds is not None and receipt.seconds >= 0
        purchases = pd.read_csv(os.path.join(host.dir, "purchases.csv"))
        receipt = retailer.upload(job, "purchases", purchases, progress=False)
        assert receipt["rows"] == len(purchases) == 1000
        status = brand.status(job)
        assert status["datasets"]["exposures"]["accepted"] and status["datasets"]["purchases"]["accepted"]
    result = swift_query(host, job)
    assert result["columns"] == ["campaign", "buyers", "revenue"]
    assert sorted(r[0] for r in result["rows"]) == ["a"]  # only even ids bought, all of campaign "a"
    assert result["epsilon_charged"] == "1"


def test_swift_uploads_are_queried_from_python_as_a_dataframe(dphost, job):
    host = dphost
    for ds, key in (("exposures", "brand"), ("purchases", "retailer")):
        host.cli("upload", "--server", host.url, "--job", job, "--dataset", ds, "--file", f"{ds}.csv", "--key", f"{key}.key",
                 "--policy", "policy.toml", "--quiet", "--state", f"{key}-state")
    with party(host, "brand") as brand:
        df = brand.query(job, "conversions")
        assert list(df.columns) == ["campaign", "buyers", "revenue"]
        assert list(df["campaign"]) == ["a"]
        # 1000 buyers, noise of scale 1/epsilon around it: far from zero, near 1000.
        assert 900 < int(df["buyers"].iloc[0]) < 1100
        first_left = float(df.attrs["budget_left"])
        assert df.attrs["epsilon_charged"] == "1" and df.attrs["job"] == job and df.attrs["query"] == "conversions"
        assert set(df.attrs["inputs"]) == {"exposures", "purchases"} and df.attrs["mechanism"]
        assert df.attrs["suppressed_groups"] >= 0
        again = brand.query(job, "conversions")
        assert float(again.attrs["budget_left"]) == first_left - 1


def test_an_untrusted_worker_gets_no_byte(dphost, job):
    host = dphost
    host.write_policy("wrong-module.toml", module=f'"{"00" * 48}"')
    with party(host, "brand", policy="wrong-module.toml") as brand:
        with pytest.raises(EvidenceRefused) as e:
            brand.upload(job, "exposures", os.path.join(host.dir, "exposures.csv"), progress=False)
        assert e.value.code == "appraisal.moduleNotExpected"
        assert not brand.status(job)["datasets"]["exposures"]["accepted"]


def test_a_second_upload_and_a_non_receiver_are_refused(dphost, job):
    host = dphost
    with party(host, "brand") as brand, party(host, "retailer") as retailer:
        brand.upload(job, "exposures", os.path.join(host.dir, "exposures.csv"), progress=False)
        with pytest.raises(ServerError) as e:
            brand.upload(job, "exposures", os.path.join(host.dir, "exposures.csv"), progress=False)
        assert e.value.status == 409
        with pytest.raises(ServerError) as e:
            retailer.upload(job, "exposures", os.path.join(host.dir, "exposures.csv"), progress=False)
        assert e.value.status == 403
        retailer.upload(job, "purchases", os.path.join(host.dir, "purchases.csv"), progress=False)
        with pytest.raises(ServerError) as e:
            retailer.query(job, "conversions")  # receivers = ["brand"]
        assert e.value.status == 403
    with party(host, "author") as outsider:
        with pytest.raises(ParleyError) as e:
            outsider.query(job, "conversions")
        assert e.value.code == "notAParty"
