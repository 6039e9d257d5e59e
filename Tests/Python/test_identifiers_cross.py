"""The three-bank example (Enclave/Modules/aml-overlap) from Python, against a real `parley serve`
and the Swift CLI: inspect equal to `module inspect --json` (identifier datasets, `matching`,
`params`); uploads of raw and hashed identifiers accepted by the Swift worker with the report the
CLI prints; a query with typed parameters signed, answered and held to its release entry; and
the parameter refusals, the host's `bad-params` surfaced with its message."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings

import pytest

import parley_client
from parley_client import cbor, cose
from parley_client.errors import ParleyError, ServerError
from parley_client.identifiers import IdentifierSummary, UnusableIdentifiers

from conftest import REPO, Host

BANKS = {"bank_a": "alerts_a", "bank_b": "alerts_b", "bank_c": "alerts_c"}


def _email(i):
    return ("First.Last%d@Gmail.com" % i, "firstlast%d@gmail.com" % i) if i % 7 == 0 else \
        ("person%d@Example.com" % i, "person%d@example.com" % i)


def _phone(i):
    return "07700 %06d" % i, "+447700%06d" % i


def _sha(t):
    return hashlib.sha256(t.encode()).hexdigest()


def write_alerts(d):
    """As ThreePartyCLITests.writeAlerts: a flags people 0..<400, b 200..<600 (every fifth without
    an email hash), c 100..<500 (every fourth without an email) and three rows with bad identifiers."""
    a = ["email,phone,segment,amount,flagged_on"]
    for i in range(400):
        a.append(f"{_email(i)[0]},{_phone(i)[0]},{'retail' if i % 2 == 0 else 'business'},{i % 100 * 10},"
                 f"{'2024-06-01' if i < 300 else '2025-06-01'}")
    b = ["email_sha256,phone_sha256,typology"]
    for i in range(200, 600):
        b.append(f"{'' if i % 5 == 0 else _sha(_email(i)[1])},{_sha(_phone(i)[1])},{'mule' if i % 2 == 0 else 'structuring'}")
    c = ["email,phone,typology"]
    for i in range(100, 500):
        c.append(f"{'' if i % 4 == 0 else _email(i)[0]},{_phone(i)[1].replace('+44', '+44 ')},{'sanctions' if i % 3 == 0 else 'fraud'}")
    c += ["not-an-email,,fraud", ",call me,fraud", "person100@example.com,12,fraud"]
    for name, lines in (("alerts_a", a), ("alerts_b", b), ("alerts_c", c)):
        with open(os.path.join(d, f"{name}.csv"), "w") as f:
            f.write("\n".join(lines) + "\n")


class BankHost(Host):
    def launch(self) -> str:
        out = self.cli("job", "launch", "aml-overlap.parley", "--server", self.url, "--data", "host").stdout
        return out.strip().split("\n")[-1]

    def stop_job(self, job):
        self.cli("job", "stop", job, "--server", self.url, "--data", "host", check=False)


@pytest.fixture(scope="module")
def banks():
    h = BankHost(tempfile.mkdtemp(prefix="parley-py-aml-"))
    try:
        for k in (*BANKS, "author"):
            h.cli("keygen", k)
        shutil.copy(os.path.join(REPO, "Enclave/Modules/aml-overlap/aml-overlap.toml"), h.dir)
        h.cli("module", "seal", "aml-overlap.toml", "--key", "author.key")
        h.measurement = h.cli("module", "measure", "aml-overlap.parley").stdout.strip()
        h.runtime = h.cli("runtime", "measure").stdout.strip()
        h.write_policy("policy.toml")
        write_alerts(h.dir)
        h.start()
        yield h
    finally:
        h.stop()
        shutil.rmtree(h.dir, ignore_errors=True)


def party(h, bank):
    return parley_client.Party(key=os.path.join(h.dir, f"{bank}.key"), policy=os.path.join(h.dir, "policy.toml"),
                               server=h.url, state=os.path.join(h.dir, f"py-{bank}-state"))


@pytest.fixture(scope="module")
def uploaded(banks):
    """One job with the three banks' Python uploads (and their receipts and warnings)."""
    job = banks.launch()
    receipts, caught = {}, {}
    for bank, dataset in BANKS.items():
        with party(banks, bank) as p, warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            receipts[dataset] = p.upload(job, dataset, os.path.join(banks.dir, f"{dataset}.csv"), progress=False)
            caught[dataset] = [x for x in w if issubclass(x.category, UnusableIdentifiers)]
    yield job, receipts, caught
    banks.stop_job(job)


def test_inspect_of_aml_overlap_equals_the_cli_json(banks):
    report = parley_client.inspect(os.path.join(banks.dir, "aml-overlap.parley"))
    cli = json.loads(banks.cli("module", "inspect", "aml-overlap.parley", "--json").stdout)
    assert report.measurement == cli["measurement"] and report.ledger_id == cli["ledger"]["id"]
    assert report.datasets == cli["datasets"]
    assert report.datasets["alerts_a"]["identified_by"] == ["email", "phone"] and report.datasets["alerts_a"]["phone_country"] == "GB"
    assert "phone_country" not in report.datasets["alerts_b"]
    for name, q in cli["queries"].items():
        mine = report.queries[name]
        for k in ("receivers", "params", "matching"):
            assert mine.get(k) == q.get(k), (name, k)
        assert {k: mine["cost"][k] for k in ("epsilon", "delta", "mechanism", "partitions", "weak")} == \
            {k: q["cost"][k] for k in ("epsilon", "delta", "mechanism", "partitions", "weak")}, name
    assert report.queries["shared_since"]["params"]["min_amount"] == {"type": "int", "values": ["0", "1000", "10000"]}
    assert "params" not in report.queries["shared_with_b"]
    assert report.queries["flagged_by_all"]["matching"] == [["c.email = a.email", "c.phone = a.phone"],
                                                            ["c.email = b.email_sha256", "c.phone = b.phone_sha256"]]


def test_inspect_says_what_the_cli_says_of_identifiers_and_parameters(banks):
    """Each dataset's matching rule and each query's parameter and matching lines, as the text
    of `parley module inspect` words them."""
    import re
    text = banks.cli("module", "inspect", "aml-overlap.parley").stdout
    cli, section, current = [], None, None
    for line in text.splitlines():
        if line and not line.startswith(" "):
            section = line
        elif section in ("datasets", "queries") and re.match(r"^  \S", line):
            current = re.match(r"^  (\w+)", line).group(1)
            m = re.search(r"; (a person is matched by .*)\)$", line)
            if section == "datasets" and m:
                cli.append(f"{current}: {m.group(1)}")
        elif section == "queries" and re.match(r"^    (parameter @|matching: )", line):
            cli.append(f"{current}: {line.strip()}")
    mine = parley_client.inspect(os.path.join(banks.dir, "aml-overlap.parley")).identifier_and_parameter_lines()
    assert sorted(mine) == sorted(cli) and len(cli) == 3 + 2 + 5, (mine, cli)


def test_inspect_refuses_malformed_identifier_and_parameter_declarations(banks, tmp_path):
    """Sealed by a valid author key but malformed: a privacy_unit array of one, or of five; an
    unknown column type; a parameter with values and a range, nine parameters, a value not in
    canonical form or listed twice, a range upside down or with no such date, a text range."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    data = open(os.path.join(banks.dir, "aml-overlap.parley"), "rb").read()
    payload = cbor.loads(cbor.loads(data).value[2])
    pem = open(os.path.join(banks.dir, "author.key"), "rb").read()
    author = load_pem_private_key(pem[:pem.index(b"-----END PRIVATE KEY-----") + 25], None)

    def variant(change):
        m = cbor.loads(cbor.dumps(payload))
        change(m)
        return cose.sign(author, cbor.dumps(m))

    cases = {
        "unit-array-of-one": lambda m: m["datasets"]["alerts_a"].__setitem__("privacy_unit", ["email"]),
        "unit-array-of-five": lambda m: m["datasets"]["alerts_a"].__setitem__("privacy_unit", ["email", "phone"] * 2 + ["x"]),
        "unknown-column-type": lambda m: m["datasets"]["alerts_a"]["columns"][0].__setitem__(1, "postcode"),
        "values-and-range": lambda m: m["queries"]["shared_since"]["params"]["min_amount"].update({"min": "0", "max": "1"}),
        "nine-params": lambda m: m["queries"]["shared_since"]["params"].update(
            {f"p{i}": {"type": "int", "values": ["1"]} for i in range(7)}),
        "non-canonical-value": lambda m: m["queries"]["shared_since"]["params"]["min_amount"].__setitem__("values", ["+0", "1000"]),
        "value-listed-twice": lambda m: m["queries"]["shared_since"]["params"]["min_amount"].__setitem__("values", ["0", "0"]),
        "min-above-max": lambda m: m["queries"]["shared_since"]["params"]["since"].update({"min": "2026-01-01", "max": "2025-01-01"}),
        "not-a-date": lambda m: m["queries"]["shared_since"]["params"]["since"].update({"min": "2026-02-30"}),
        "text-range": lambda m: m["queries"]["shared_since"]["params"].__setitem__("since", {"type": "text", "min": "a", "max": "b"}),
    }
    good = tmp_path / "good.parley"
    good.write_bytes(variant(lambda m: None))
    assert parley_client.inspect(str(good)).datasets["alerts_a"]["identified_by"] == ["email", "phone"]
    for name, change in cases.items():
        p = tmp_path / f"{name}.parley"
        p.write_bytes(variant(change))
        with pytest.raises(ParleyError) as e:
            parley_client.inspect(str(p))
        assert e.value.code == "bad-module", name
        # the Swift reader refuses the same bundles
        assert banks.cli("module", "inspect", str(p), "--json", check=False).returncode != 0, name


def test_python_uploads_of_identifiers_are_accepted_with_the_report_the_cli_prints(banks, uploaded):
    job, receipts, caught = uploaded
    c = receipts["alerts_c"]
    assert c["rows"] == 401 and isinstance(c["identifiers"], IdentifierSummary)
    s = c["identifiers"]
    assert (s.unusable_rows, s.dropped_rows) == (103, 2)
    assert s.problems == {"email": {"empty": 101, "not_an_email": 1}, "phone": {"empty": 1, "not_a_phone_number": 2}}
    assert s.row_numbers[-3:] == [402, 403, 404] and len(s.row_numbers) == 103
    assert "call me" not in s.describe() and "not-an-email" not in s.describe()
    assert len(caught["alerts_c"]) == 1 and str(caught["alerts_c"][0].message) == s.describe()
    b = receipts["alerts_b"]["identifiers"]
    assert (b.unusable_rows, b.dropped_rows, b.problems) == (80, 0, {"email_sha256": {"empty": 80}})
    a = receipts["alerts_a"]["identifiers"]
    assert a.unusable_rows == 0 and not caught["alerts_a"]
    # The same file through the CLI, in a job of its own: the note it prints is describe()'s.
    other = banks.launch()
    try:
        out = banks.cli("upload", "--server", banks.url, "--job", other, "--dataset", "alerts_c", "--file", "alerts_c.csv",
                        "--key", "bank_c.key", "--policy", "policy.toml", "--quiet", "--state", "cli-bank_c-state").stdout
    finally:
        banks.stop_job(other)
    assert out.startswith("accepted alerts_c: 401 rows")
    assert s.describe() in out, out


def test_identifier_summary_parse_refuses_what_the_swift_reader_refuses():
    good = {"unusable_rows": 2, "dropped_rows": 1, "row_numbers": [2, 3], "problems": {"email": {"empty": 2}}}
    assert IdentifierSummary.parse(good).json == good
    bad = {
        "missing-field": {k: v for k, v in good.items() if k != "problems"},
        "extra-field": {**good, "contents": ["x"]},
        "dropped-above-unusable": {**good, "dropped_rows": 3},
        "more-rows-than-counted": {**good, "row_numbers": [2, 3, 4]},
        "over-1000-rows": {**good, "unusable_rows": 2000, "row_numbers": list(range(1001))},
        "negative-count": {**good, "unusable_rows": -1},
        "text-count": {**good, "problems": {"email": {"empty": "2"}}},
        "too-many-columns": {**good, "problems": {f"c{i}": {"empty": 1} for i in range(65)}},
    }
    for name, value in bad.items():
        with pytest.raises(ParleyError) as e:
            IdentifierSummary.parse(value)
        assert e.value.code == "malformed", name


def test_each_bank_receives_its_query_from_python(banks, uploaded):
    job = uploaded[0]
    for bank, query, truth in (("bank_a", "shared_with_b", {"retail": 100, "business": 100}),
                               ("bank_b", "shared_with_c", {"mule": 150, "structuring": 150}),
                               ("bank_c", "flagged_by_all", {"sanctions": 67, "fraud": 133})):
        with party(banks, bank) as p:
            r = p.query_result(job, query)
            released = {row[0]: int(row[1]) for row in r.rows}
            assert set(released) == set(truth), query
            assert all(abs(released[k] - v) < 30 for k, v in truth.items()), (query, released)
            assert r.params == {} and r.log_index is not None


def test_a_query_with_params_is_signed_answered_and_held_to_its_release(banks, uploaded):
    job = uploaded[0]
    params = {"since": "2025-01-01", "min_amount": "0"}
    with party(banks, "bank_a") as p:
        df = p.query(job, "shared_since", params=params)
        # people 300..<400 of a ∩ b, half per segment
        assert sorted(df["segment"]) == ["business", "retail"]
        assert all(abs(int(n) - 50) < 30 for n in df["shared_alerts"])
        assert df.attrs["params"] == params
        entry = p.log.receipt(job, p.attest(job).signing_key, "the release",
                              lambda w: w.kind == "release" and w.fields["result_sha256"].hex() == df.attrs["result_sha256"])
    # the release entry records exactly the signed values, and the auditor accepts the log
    assert entry.index == df.attrs["log_index"]
    with party(banks, "bank_a") as p:
        audit = p.audit_export()
    from parley_client.audit import replay
    verdict = replay(audit)
    assert verdict.passed, verdict.first_failure
    swift = json.loads(banks.cli("audit", "replay", "--server", banks.url, "--state", "auditor-state", "--json", check=False).stdout)
    assert swift["verdict"] == "passed", swift["failures"]
    assert verdict.to_json()["releases"] == swift["releases"]


@pytest.mark.parametrize("params, mentions", [
    ({"since": "2025-01-01"}, "parameter @min_amount needs a value"),
    ({"since": "2025-01-01", "min_amount": "5"}, "parameter @min_amount must be one of 0, 1000, 10000"),
    ({"since": "2023-01-01", "min_amount": "0"}, "must be from 2024-01-01 to 2026-12-31"),
    ({"since": "2025-01-01", "min_amount": "+0"}, "write parameter @min_amount as 0"),
    ({"since": "2025-01-01", "min_amount": "0", "region": "1"}, "declares no parameter @region"),
    ({"since": "soon", "min_amount": "0"}, "must be a date (YYYY-MM-DD)"),
    (None, "needs a value"),
])
def test_params_the_module_does_not_allow_are_the_hosts_bad_params(banks, uploaded, params, mentions):
    with party(banks, "bank_a") as p:
        with pytest.raises(ServerError) as e:
            p.query_result(uploaded[0], "shared_since", params=params)
    assert (e.value.status, e.value.code) == (400, "bad-params"), e.value
    assert mentions in e.value.message, e.value.message


def test_params_for_a_query_without_parameters_are_refused(banks, uploaded):
    with party(banks, "bank_a") as p:
        with pytest.raises(ServerError) as e:
            p.query_result(uploaded[0], "shared_with_b", params={"since": "2025-01-01"})
    assert (e.value.status, e.value.code) == (400, "bad-params"), e.value


def test_params_that_are_not_text_values_are_refused_before_sending(banks, uploaded):
    with party(banks, "bank_a") as p:
        for bad in ({"min_amount": 0}, {f"p{i}": "1" for i in range(9)}, {"since": "x" * 129}, ["since"]):
            with pytest.raises(ParleyError) as e:
                p.query_result(uploaded[0], "shared_since", params=bad)
            assert e.value.code == "bad-params" and not isinstance(e.value, ServerError), bad
