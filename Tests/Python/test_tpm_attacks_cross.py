"""TPM cross tests that need a platform or TPM of their own (tpm_host.py): hosts booted with a wrong or
missing boot_aggregate, PCRs extended after IMA started or without a log entry, debug workers, no
platform logs; and attacks with tpm2-tools on the host's TPM after the host stopped: the forgery of
PlatformEvidenceTests, a quote by an unrestricted key, launch events in a resettable PCR, a launch
log from another boot. The Swift and Python verifiers must agree on each.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import tpm_builder as B
from conftest import bin_dir
from parley_client import cbor, evidence, platform
from parley_client.policy import Policy
from tpm_host import (  # noqa: F401
    TOOLS,
    TestPlatform,
    variant,
    agree,
    fetch,
    host_event_log,
    make_evidence,
    require_tools,
    run_measured,
    tpm_reset_count,
)


@pytest.fixture(scope="module")
def wrong_aggregate(request):
    return variant(request, aggregate=b"\x5a" * 32)


@pytest.fixture(scope="module")
def no_aggregate(request):
    return variant(request, aggregate="omitted")


@pytest.fixture(scope="module")
def pcr9_after_ima(request):
    return variant(request, before_serve=lambda tpm, plat: tpm.extend(9, b"\x99" * 32))


@pytest.fixture(scope="module")
def unlogged_pcr4(request):
    return variant(request, before_serve=lambda tpm, plat: tpm.extend(4, hashlib.sha256(b"an unlogged boot component").digest()))


@pytest.fixture(scope="module")
def debug_host(request):
    return variant(request, extra_args=["--debug-workers"])


def test_debug_worker_refused_unless_allowed(debug_host):
    data, nonce = fetch(debug_host)
    agree(debug_host, data, nonce, ("refused", None, ["appraisal.debugWorker"]))
    debug_host.tpm_policy("debug-ok.toml", allow_debug="true")
    agree(debug_host, data, nonce, ("trusted", "tpm", []), policy="debug-ok.toml")


@pytest.fixture(scope="module")
def no_logs(request):
    return variant(request, logs=False)


def test_wrong_boot_aggregate(wrong_aggregate):
    data, nonce = fetch(wrong_aggregate)
    agree(wrong_aggregate, data, nonce, ("refused", None, ["appraisal.platform.bootAggregate.mismatch"]))


def test_list_without_boot_aggregate_first(no_aggregate):
    data, nonce = fetch(no_aggregate)
    agree(no_aggregate, data, nonce, ("refused", None, ["appraisal.platform.bootAggregate.missing"]))


def test_pcrs_extended_after_ima_started(pcr9_after_ima):
    data, nonce = fetch(pcr9_after_ima)
    agree(pcr9_after_ima, data, nonce, ("refused", None, ["appraisal.platform.bootAggregate.mismatch"]))


def test_a_pcr_that_does_not_match_its_log(unlogged_pcr4):
    data, nonce = fetch(unlogged_pcr4)
    agree(unlogged_pcr4, data, nonce, ("refused", None, ["integrity.platformReplay.bootPCRMismatch"]))


def test_no_platform_logs_refused_by_default_and_weaker_when_allowed(no_logs):
    data, nonce = fetch(no_logs)
    m = cbor.loads(data, cbor.Limits(max_bytes=40 << 20, max_depth=4, max_items=10_000))
    assert "boot_log" not in m and sorted(m["pcrs"]) == [13]
    agree(no_logs, data, nonce, ("refused", None, ["appraisal.platformNotAppraised"]))
    no_logs.tpm_policy("unappraised.toml", reference=None, allow_unappraised_tpm="true")
    agree(no_logs, data, nonce, ("trusted", "tpm-unappraised", []), policy="unappraised.toml")
    v = evidence.verify(data, nonce, Policy.load(os.path.join(no_logs.dir, "unappraised.toml")))
    j = no_logs.swift_verify(data, nonce, policy="unappraised.toml")
    assert v.warning == j["warning"]


@pytest.fixture(scope="module")
def attacked(request):
    require_tools(*TOOLS, "tpm2_createprimary", "tpm2_readpublic", "tpm2_quote", "tpm2_flushcontext", "tpm2_sign", "tpm2_pcrreset")
    h = variant(request)
    h.honest_evidence, h.honest_nonce = fetch(h)
    h.stop()  # the host holds the TPM's one connection; the attacker uses it now
    h.events = host_event_log(h)
    return h


def test_the_tpm_tools_forgery_fails_under_the_default_policy(attacked, tmp_path):
    """The issue's attack: re-derive the attestation key with tpm2-tools, extend a made-up launch
    event (the reviewed module and runtime, the attacker's keys) into PCR 13, quote with the party's
    nonce. The IMA list names the tools; leaving them out breaks its replay; without platform logs
    only the weaker tier, when a policy accepts it, lets the forgery through: both verifiers agree."""
    h, plat, w = attacked, attacked.plat, str(tmp_path)
    label = b"parley/tpm-ak/1"
    with open(os.path.join(w, "unique"), "wb") as f:
        f.write(bytes([len(label), 0]) + label + b"\0\0")
    run_measured(plat, "tpm2_createprimary", "-Q", "-C", "e", "-g", "sha256", "-G", "ecc256:ecdsa-sha256:null", "-a",
                 "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign", "-u", w + "/unique", "-c", w + "/ak.ctx")
    run_measured(plat, "tpm2_flushcontext", "-t")
    run_measured(plat, "tpm2_readpublic", "-Q", "-c", w + "/ak.ctx", "-f", "pem", "-o", w + "/ak.pem")
    run_measured(plat, "tpm2_flushcontext", "-t")
    run_measured(plat, "tpm2_readpublic", "-Q", "-c", w + "/ak.ctx", "-o", w + "/ak.pub")
    run_measured(plat, "tpm2_flushcontext", "-t")
    pinned = Policy.load(os.path.join(h.dir, "tpm-policy.toml")).tpm_ak_der
    assert serialization.load_pem_public_key(open(w + "/ak.pem", "rb").read()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == pinned, "the attacker re-derives the pinned key"
    honest = cbor.loads(h.events[-1])
    forged = {k: v for k, v in honest.items() if k != "format"}
    forged.update(job="job-forged", public_key=os.urandom(32), signing_key=B.spki(ec.generate_private_key(ec.SECP384R1()).public_key()))
    forged_event = cbor.dumps({"format": "parley/launch-event/1", **forged})
    run_measured(plat, "tpm2_pcrextend", f"13:sha256={hashlib.sha256(forged_event).hexdigest()}")
    nonce = secrets.token_bytes(32)
    quoted = list(range(11)) + [13]
    run_measured(plat, "tpm2_quote", "-Q", "-c", w + "/ak.ctx", "-l", "sha256:" + ",".join(map(str, quoted)), "-q", nonce.hex(),
                 "-g", "sha256", "-m", w + "/attest", "-s", w + "/sig")
    pcrs = plat.tpm.read(quoted)
    run_measured(plat, "tpm2_flushcontext", "-t")  # measured after the quote: outside its prefix
    attest, sig, ak_pub = (open(w + n, "rb").read() for n in ("/attest", "/sig", "/ak.pub"))
    boot_log, ima = open(plat.boot_log_path, "rb").read(), open(plat.ima_log_path, "rb").read()
    events = h.events + [forged_event]
    full = make_evidence(attest, sig, ak_pub, pcrs, events, forged, nonce, boot_log, ima)
    got = agree(h, full, nonce, job="job-forged")
    assert got[0] == "refused" and set(got[2]) == {"appraisal.platform.executableNotAllowed"}, got
    v = evidence.verify(full, nonce, Policy.load(os.path.join(h.dir, "tpm-policy.toml")), job="job-forged")
    named = " ".join(r.message for r in v.reasons)
    assert "/tpm2_pcrextend" in named and "/tpm2_quote" in named, named
    honest_only = b"".join(B.split_ima(ima)[:3])
    agree(h, make_evidence(attest, sig, ak_pub, pcrs, events, forged, nonce, boot_log, honest_only), nonce,
          ("refused", None, ["integrity.platformReplay.imaPCRMismatch"]), job="job-forged")
    # The same forgery without platform logs is what the weaker tier cannot catch.
    plat.tpm.tool("tpm2_quote", "-Q", "-c", w + "/ak.ctx", "-l", "sha256:13", "-q", nonce.hex(), "-g", "sha256",
                  "-m", w + "/attest13", "-s", w + "/sig13")
    plat.tpm.tool("tpm2_flushcontext", "-t")
    bare = make_evidence(open(w + "/attest13", "rb").read(), open(w + "/sig13", "rb").read(), ak_pub, {13: pcrs[13]}, events, forged, nonce)
    agree(h, bare, nonce, ("refused", None, ["appraisal.platformNotAppraised"]), job="job-forged")
    h.tpm_policy("weak.toml", reference=None, allow_unappraised_tpm="true")
    agree(h, bare, nonce, ("trusted", "tpm-unappraised", []), policy="weak.toml", job="job-forged")
    weak = evidence.verify(bare, nonce, Policy.load(os.path.join(h.dir, "weak.toml")), job="job-forged")
    assert weak.claims.public_key == forged["public_key"]


def test_a_quote_by_an_unrestricted_key_is_refused(attacked, tmp_path):
    """A non-restricted signing key signs anything, so bytes that start with TPM_GENERATED_VALUE
    prove nothing: the quote is refused even when that key is the pinned one."""
    h, w = attacked, str(tmp_path)
    h.tpm.tool("tpm2_createprimary", "-Q", "-C", "o", "-g", "sha256", "-G", "ecc256:ecdsa-sha256:null", "-a",
               "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign", "-c", w + "/key.ctx")
    h.tpm.tool("tpm2_flushcontext", "-t")
    h.tpm.tool("tpm2_readpublic", "-Q", "-c", w + "/key.ctx", "-o", w + "/key.pub")
    h.tpm.tool("tpm2_flushcontext", "-t")
    h.tpm.tool("tpm2_readpublic", "-Q", "-c", w + "/key.ctx", "-f", "pem", "-o", os.path.join(h.dir, "unrestricted.pem"))
    h.tpm.tool("tpm2_flushcontext", "-t")
    m = cbor.loads(h.honest_evidence, cbor.Limits(max_bytes=40 << 20, max_depth=4, max_items=10_000))
    nonce = secrets.token_bytes(32)
    from parley_client import tpm as T
    genuine = T.parse_attest(m["attest"])
    a = B.attest(nonce, m["pcrs"], reset=genuine.reset_count, restart=genuine.restart_count)
    with open(w + "/forged-attest", "wb") as f:
        f.write(a)
    h.tpm.tool("tpm2_sign", "-Q", "-c", w + "/key.ctx", "-g", "sha256", "-s", "ecdsa", "-o", w + "/forged-sig", w + "/forged-attest")
    h.tpm.tool("tpm2_flushcontext", "-t")
    m.update(attest=a, signature=open(w + "/forged-sig", "rb").read(), ak_public=open(w + "/key.pub", "rb").read(), nonce=nonce)
    forged = cbor.dumps(m)
    agree(h, forged, nonce, ("refused", None, ["integrity.attestationKeyNotPinned", "integrity.tpmQuote"]))
    h.tpm_policy("unrestricted.toml", tpm_ak='"unrestricted.pem"')
    agree(h, forged, nonce, ("refused", None, ["integrity.tpmQuote"]), policy="unrestricted.toml")
    v = evidence.verify(forged, nonce, Policy.load(os.path.join(h.dir, "unrestricted.toml")))
    assert "restricted" in v.reasons[0].message


def test_launch_events_in_a_resettable_pcr_are_refused(attacked, tmp_path):
    """The retired design: launch events in PCR 23, which locality 0 resets. PCR 13 cannot be reset."""
    h, w = attacked, str(tmp_path)
    p = subprocess.run(["tpm2_pcrreset", "13"], capture_output=True, env=dict(os.environ, TPM2TOOLS_TCTI=h.tpm.tcti), timeout=60)
    assert p.returncode != 0, "PCR 13 must not be resettable at locality 0"
    label = b"parley/tpm-ak/1"
    with open(w + "/unique", "wb") as f:
        f.write(bytes([len(label), 0]) + label + b"\0\0")
    h.tpm.tool("tpm2_createprimary", "-Q", "-C", "e", "-g", "sha256", "-G", "ecc256:ecdsa-sha256:null", "-a",
               "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign", "-u", w + "/unique", "-c", w + "/ak.ctx")
    h.tpm.tool("tpm2_flushcontext", "-t")
    h.tpm.tool("tpm2_readpublic", "-Q", "-c", w + "/ak.ctx", "-o", w + "/ak.pub")
    h.tpm.tool("tpm2_flushcontext", "-t")
    h.tpm.tool("tpm2_pcrreset", "23")
    claims = {k: v for k, v in cbor.loads(h.events[-1]).items() if k != "format"}
    events = [B.epoch_event(), cbor.dumps({"format": "parley/launch-event/1", **claims})]
    for e in events:
        h.tpm.extend(23, hashlib.sha256(e).digest())
    nonce = secrets.token_bytes(32)
    sel = list(range(11)) + [23]
    h.tpm.tool("tpm2_quote", "-Q", "-c", w + "/ak.ctx", "-l", "sha256:" + ",".join(map(str, sel)), "-q", nonce.hex(), "-g", "sha256",
               "-m", w + "/attest", "-s", w + "/sig")
    h.tpm.tool("tpm2_flushcontext", "-t")
    pcrs = h.tpm.read(sel)
    ev = make_evidence(open(w + "/attest", "rb").read(), open(w + "/sig", "rb").read(), open(w + "/ak.pub", "rb").read(), pcrs, events,
                       claims, nonce, open(h.plat.boot_log_path, "rb").read(), open(h.plat.ima_log_path, "rb").read())
    agree(h, ev, nonce, ("refused", None, ["integrity.launchPCRNotQuoted"]))


@pytest.fixture(scope="module")
def rebooted(request):
    require_tools(*TOOLS, "tpm2_createprimary", "tpm2_readpublic", "tpm2_quote", "tpm2_flushcontext")
    h = variant(request)
    h.stop()
    h.events = host_event_log(h)
    return h


def test_a_quote_from_another_boot_than_the_launch_log(rebooted, tmp_path):
    """After a reboot, the previous boot's launch log re-extended into the fresh PCR 13 replays,
    but its epoch belongs to another boot of the TPM: refused by both."""
    h, w = rebooted, str(tmp_path)
    before = tpm_reset_count(h, w)
    h.tpm.restart()
    plat = TestPlatform(h.tpm, os.path.join(w, "platform-2"))
    plat.measure_file(h.plat.host_path)
    plat.measure_file(os.path.join(bin_dir(), "parley-enclave"), platform.WORKER_IMA_PATH)
    for e in h.events:
        h.tpm.extend(13, hashlib.sha256(e).digest())
    assert tpm_reset_count(h, w) == before + 1, "the restart is a TPM Reset"
    nonce = secrets.token_bytes(32)
    quoted = list(range(11)) + [13]
    h.tpm.tool("tpm2_quote", "-Q", "-c", w + "/ak.ctx", "-l", "sha256:" + ",".join(map(str, quoted)), "-q", nonce.hex(), "-g", "sha256",
               "-m", w + "/attest", "-s", w + "/sig")
    h.tpm.tool("tpm2_flushcontext", "-t")
    claims = {k: v for k, v in cbor.loads(h.events[-1]).items() if k != "format"}
    ev = make_evidence(open(w + "/attest", "rb").read(), open(w + "/sig", "rb").read(), open(w + "/ak.pub", "rb").read(),
                       h.tpm.read(quoted), h.events, claims, nonce, open(plat.boot_log_path, "rb").read(), open(plat.ima_log_path, "rb").read())
    agree(h, ev, nonce, ("refused", None, ["integrity.epochFromAnotherBoot"]))


@pytest.fixture(scope="module")
def workflow_host(request):
    return variant(request, rows=2000)


def test_python_uploads_to_a_tpm_attested_worker_and_both_clients_query_it(workflow_host):
    """The whole party flow against a TPM-quoted worker: each Python upload verifies the worker at the
    `tpm` tier first; the Swift CLI and the Python client both query the result under the TPM policy."""
    import json

    import pandas as pd

    from parley_client import Party
    h = workflow_host
    policy = os.path.join(h.dir, "tpm-policy.toml")
    with Party(key=os.path.join(h.dir, "brand.key"), policy=policy, server=h.url, state=os.path.join(h.dir, "py-brand")) as brand, \
            Party(key=os.path.join(h.dir, "retailer.key"), policy=policy, server=h.url, state=os.path.join(h.dir, "py-retailer")) as retailer:
        assert brand.verify(h.job).tier == "tpm"
        assert brand.upload(h.job, "exposures", os.path.join(h.dir, "exposures.csv"), progress=False)["rows"] == 2000
        assert retailer.upload(h.job, "purchases", pd.read_csv(os.path.join(h.dir, "purchases.csv")), progress=False)["rows"] == 1000
        df = brand.query(h.job, "conversions")
        assert list(df["campaign"]) == ["a"] and 900 < int(df["buyers"].iloc[0]) < 1100
    out = h.cli("query", "run", "--server", h.url, "--job", h.job, "--query", "conversions", "--key", "brand.key",
                "--policy", "tpm-policy.toml", "--format", "json", "--state", "brand-cli-state").stdout
    result = json.loads(out)
    assert result["columns"] == ["campaign", "buyers", "revenue"] and [r[0] for r in result["rows"]] == ["a"]
