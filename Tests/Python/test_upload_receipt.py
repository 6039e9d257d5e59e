"""The upload's answer as the Python client reads it (parley_client.uploads.UploadReceipt): the
worker's `plaintext_bytes` and `seconds` as attributes (None from an older host), the line
`parley upload` prints for the same receipt (the Swift tests, Tests/ParleyPartyTests/
UploadSummaryTests.swift, hold the same cases), and refusals where the Swift decoder refuses.
No host needed: receipts are dicts here."""
from __future__ import annotations

import pytest

from parley_client import UploadReceipt
from parley_client.errors import ParleyError
from parley_client.identifiers import IdentifierSummary

BASE = {"dataset": "exposures", "rows": 2_000_000, "digest": "ab" * 32, "log_size": 9}


def receipt(**extra) -> UploadReceipt:
    return UploadReceipt.parse({**BASE, **extra})


def test_bytes_and_seconds_are_attributes_and_stay_in_the_dict():
    r = receipt(plaintext_bytes=143_200_000, seconds=1.9, log_index=7)
    assert (r.plaintext_bytes, r.seconds, r.rows, r.dataset, r.log_size, r.log_index) == (143_200_000, 1.9, 2_000_000, "exposures", 9, 7)
    assert r["plaintext_bytes"] == 143_200_000 and r["seconds"] == 1.9 and isinstance(r, dict)
    assert r.bytes_per_second == pytest.approx(143_200_000 / 1.9)
    assert receipt(seconds=2).seconds == 2.0 and type(receipt(seconds=2).seconds) is float


def test_an_older_hosts_receipt_has_none():
    r = receipt()
    assert r.plaintext_bytes is None and r.seconds is None and r.bytes_per_second is None and r.identifiers is None
    assert r.work_summary() is None
    assert r.describe() == "accepted exposures: 2,000,000 rows"


def test_describe_is_the_line_parley_upload_prints():
    assert receipt(plaintext_bytes=143_200_000, seconds=1.9).describe() == \
        "accepted exposures: 2,000,000 rows, 143.2 MB parsed in 1.9 s (75 MB/s)"
    assert receipt(rows=16_000_000, plaintext_bytes=2_512_000_000, seconds=40.3).describe() == \
        "accepted exposures: 16,000,000 rows, 2.51 GB parsed in 40.3 s (62 MB/s)"
    assert receipt(rows=401, plaintext_bytes=30_512, seconds=0.0042).describe() == \
        "accepted exposures: 401 rows, 30.5 kB parsed in 0.004 s (7.3 MB/s)"
    assert receipt(rows=3, plaintext_bytes=61, seconds=0.25).describe() == \
        "accepted exposures: 3 rows, 61 bytes parsed in 0.25 s (0.00 MB/s)"
    assert receipt(rows=1000).describe() == "accepted exposures: 1,000 rows"
    assert receipt(plaintext_bytes=5_000_000).describe() == "accepted exposures: 2,000,000 rows, 5.0 MB parsed"
    assert receipt(seconds=3).describe() == "accepted exposures: 2,000,000 rows, parsed in 3.0 s"
    assert receipt(plaintext_bytes=5_000_000, seconds=0).work_summary() == "5.0 MB parsed in 0.000 s"


def test_identifiers_are_still_read_into_a_summary():
    ids = {"unusable_rows": 2, "dropped_rows": 1, "row_numbers": [2, 3], "problems": {"email": {"empty": 2}}}
    r = receipt(identifiers=ids, plaintext_bytes=10)
    assert isinstance(r.identifiers, IdentifierSummary) and r.identifiers.json == ids and r["identifiers"] is r.identifiers


@pytest.mark.parametrize("name, answer", [
    ("not-an-object", ["exposures"]),
    ("no-rows", {k: v for k, v in BASE.items() if k != "rows"}),
    ("no-log-size", {k: v for k, v in BASE.items() if k != "log_size"}),
    ("text-rows", {**BASE, "rows": "2000000"}),
    ("negative-bytes", {**BASE, "plaintext_bytes": -1}),
    ("fractional-bytes", {**BASE, "plaintext_bytes": 1.5}),
    ("text-bytes", {**BASE, "plaintext_bytes": "143200000"}),
    ("boolean-bytes", {**BASE, "plaintext_bytes": True}),
    ("text-seconds", {**BASE, "seconds": "1.9"}),
    ("boolean-seconds", {**BASE, "seconds": False}),
    ("infinite-seconds", {**BASE, "seconds": float("inf")}),
])
def test_a_receipt_the_swift_decoder_refuses_is_malformed(name, answer):
    with pytest.raises(ParleyError) as e:
        UploadReceipt.parse(answer)
    assert e.value.code == "malformed", name


def test_upload_headers_announce_the_size_only_when_known():
    from parley_client.party import _upload_headers
    known = _upload_headers(b"\x01\x02", 143_000_000)
    assert known["Parley-Signature"] == "0102" and known["Parley-Upload-Size"] == "143000000"
    unknown = _upload_headers(b"\x01\x02", None)
    assert "Parley-Upload-Size" not in unknown and unknown["Parley-Signature"] == "0102"
