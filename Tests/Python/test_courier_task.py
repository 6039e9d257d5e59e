"""The courier's task (parley_courier.task.deliver_one) without Spark: every refusal it can give,
each from a fake host that answers as the real one does, the retry cases (an earlier attempt
accepted, an earlier attempt still holding the slot), and delivery twice to a real `parley
serve`: the second is success, not a refusal."""
from __future__ import annotations

import http.server
import json
import os
import threading

import pytest

import parley_client
from parley_courier import Accepted, Delivery, Refusal, Refused, outcome_from_task
from parley_courier.task import classify, deliver_one

DIGEST = "ab" * 32


class FakeHost:
    """Answers PUT with `put` ((status, json)) and GET /v1/jobs/J with `status` (json), counting PUTs."""

    def __init__(self, put, status=None):
        self.put, self.status, self.puts = list(put) if isinstance(put, list) else put, status, 0
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _send(self, code, body):
                b = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(b)))
                self.end_headers()
                self.wfile.write(b)

            def do_PUT(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                fake.puts += 1
                answer = fake.put.pop(0) if isinstance(fake.put, list) else fake.put
                self._send(*answer)

            def do_GET(self):
                self._send(200, fake.status or {})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/jobs/j1/datasets/exposures"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stream(tmp_path):
    p = tmp_path / "sealed.bin"
    p.write_bytes(b"\x00\x00\x00\x05hello ciphertext")
    import hashlib
    return str(p), hashlib.sha256(p.read_bytes()).hexdigest()


def run(fake, path, **kw):
    d = Delivery(shard=3, path=path, url=fake.url, headers={"Parley-Signature": "00" * 64})
    return outcome_from_task(deliver_one(d.as_task(), **kw))


def collecting(accepted=False, digest=None, state="collecting-datasets"):
    return {"state": state, "datasets": {"exposures": {"provider": "brand", "accepted": accepted, **({"digest": digest} if digest else {})}}}


@pytest.mark.parametrize("answer, status, reason", [
    ((400, {"code": "bad-stream"}), None, Refusal.BAD_STREAM),
    ((401, {"code": "unsigned"}), None, Refusal.UNSIGNED),
    ((403, {"code": "not-provider"}), None, Refusal.NOT_PROVIDER),
    ((404, {"code": "no-job"}), None, Refusal.NO_JOB),
    ((404, {"code": "no-dataset"}), None, Refusal.NO_DATASET),
    ((413, {"code": "too-large"}), None, Refusal.TOO_LARGE),
    ((422, {"code": "upload-refused"}), None, Refusal.REFUSED_BY_WORKER),
    ((500, {"code": "internal"}), None, Refusal.HOST_ERROR),
    ((409, {"code": "upload-refused"}), collecting(accepted=True, digest=DIGEST), Refusal.ACCEPTED_OTHER_STREAM),
    ((409, {"code": "upload-refused"}), collecting(state="stopped"), Refusal.NOT_COLLECTING),
    ((409, {"code": "upload-refused"}), {}, Refusal.NOT_COLLECTING),
    ((200, {"dataset": "exposures", "digest": DIGEST, "rows": 1, "log_size": 2}), None, Refusal.RECEIPT_MISMATCH),
    ((200, {"dataset": "purchases", "digest": None, "rows": 1, "log_size": 2}), None, Refusal.RECEIPT_MISMATCH),
])
def test_every_refusal_is_typed(stream, answer, status, reason):
    path, sha = stream
    if answer[0] == 200 and answer[1]["digest"] is None:
        answer = (200, {**answer[1], "digest": sha})  # the right stream, but named under another dataset
    fake = FakeHost(answer, status)
    try:
        out = run(fake, path)
    finally:
        fake.stop()
    assert isinstance(out, Refused) and out.reason is reason and out.shard == 3 and out.http_status == answer[0]
    assert fake.puts == 1


def test_a_slot_held_through_every_wait_is_busy_and_waits_are_injected(stream):
    path, _ = stream
    fake = FakeHost((409, {"code": "upload-refused"}), collecting())
    waits = []
    try:
        out = run(fake, path, sleep=waits.append)
    finally:
        fake.stop()
    assert isinstance(out, Refused) and out.reason is Refusal.BUSY and fake.puts == len(waits) + 1 and len(waits) >= 3


def test_an_earlier_attempts_broken_upload_is_sent_again_and_accepted(stream):
    path, sha = stream
    ok = (200, {"dataset": "exposures", "digest": sha, "rows": 1, "log_size": 4})
    fake = FakeHost([(413, {"code": "upload-broken"}), (409, {"code": "upload-refused"}), ok], collecting())
    try:
        out = run(fake, path, sleep=lambda s: None)
    finally:
        fake.stop()
    assert out == Accepted(shard=3, digest=sha, sent_sha256=sha, http_status=200, earlier=False, attempt=0) and fake.puts == 3


def test_an_earlier_attempts_accepted_upload_is_success(stream):
    path, sha = stream
    fake = FakeHost((409, {"code": "upload-refused"}), collecting(accepted=True, digest=sha))
    try:
        out = run(fake, path)
    finally:
        fake.stop()
    assert isinstance(out, Accepted) and out.earlier and out.digest == sha and out.http_status == 409


def test_no_file_and_a_url_that_is_no_upload_url(tmp_path):
    fake = FakeHost((200, {}))
    try:
        out = run(fake, str(tmp_path / "missing.bin"))
        assert isinstance(out, Refused) and out.reason is Refusal.NO_FILE and fake.puts == 0
    finally:
        fake.stop()
    bad = outcome_from_task(deliver_one({"shard": 1, "path": "x", "url": "http://127.0.0.1:1/v1/log/key", "headers": {}}))
    assert isinstance(bad, Refused) and bad.reason is Refusal.BAD_DELIVERY
    for kw in ({"url": "ftp://h/v1/jobs/j/datasets/d"}, {"url": "http://h/v1/jobs/j"}, {"shard": -1}, {"headers": {}}):
        with pytest.raises(ValueError):
            Delivery(**{"shard": 0, "path": "p", "url": "http://h/v1/jobs/j/datasets/d", "headers": {"Parley-Signature": "00"}, **kw})


def test_a_connection_that_breaks_raises_for_spark_to_retry(stream):
    from parley_courier.task import DeliveryInterrupted
    path, _ = stream
    with pytest.raises(DeliveryInterrupted) as e:
        deliver_one({"shard": 0, "path": path, "url": "http://127.0.0.1:9/v1/jobs/j/datasets/d", "headers": {"Parley-Signature": "00"}})
    assert "shard 0" in str(e.value) and path not in str(e.value)


def test_classify_busy_only_while_collecting_and_not_accepted():
    assert classify(409, {}, DIGEST, "exposures", collecting()) == ("busy", False)
    assert classify(409, {}, DIGEST, "exposures", collecting(accepted=True, digest=DIGEST)) == ("accepted", True)
    assert classify(409, {}, DIGEST, "exposures", collecting(accepted=True, digest=DIGEST, state="ready")) == ("accepted", True)
    assert classify(409, {}, DIGEST, "exposures", collecting(state="ready")) == ("not-collecting", False)


def party(host, name):
    return parley_client.Party(key=os.path.join(host.dir, f"{name}.key"), policy=os.path.join(host.dir, "policy.toml"),
                               server=host.url, state=os.path.join(host.dir, f"py-{name}-state"))


def test_a_sealed_file_delivered_twice_to_a_real_host_is_one_accepted_upload(dphost, job, tmp_path):
    with party(dphost, "brand") as brand:
        sealed = brand.seal_upload(job, "exposures", os.path.join(dphost.dir, "exposures.csv"), str(tmp_path / "exposures.sealed"))
        assert os.stat(sealed.path).st_mode & 0o777 == 0o600
        with pytest.raises(FileExistsError):
            brand.seal_upload(job, "exposures", b"email_hash,campaign,region\n", sealed.path)
        d = sealed.delivery(0, dphost.url).as_task()
        first, second = outcome_from_task(deliver_one(d)), outcome_from_task(deliver_one(d))
        assert isinstance(first, Accepted) and not first.earlier and first.digest == sealed.sha256
        assert isinstance(second, Accepted) and second.earlier and second.digest == sealed.sha256
        index = brand.confirm_delivery(sealed, second)
        assert index == brand.confirm_delivery(sealed, first) and index >= 0
        assert brand.status(job)["datasets"]["exposures"] == {"provider": "brand", "accepted": True, "rows": 2000, "digest": sealed.sha256}
        # Another stream of the accepted dataset: a refusal, and confirm_delivery says why.
        other = brand.seal_upload(job, "exposures", os.path.join(dphost.dir, "exposures.csv"), str(tmp_path / "again.sealed"))
        refused = outcome_from_task(deliver_one(other.delivery(1, dphost.url).as_task()))
        assert isinstance(refused, Refused) and refused.reason is Refusal.ACCEPTED_OTHER_STREAM
        with pytest.raises(parley_client.ParleyError) as e:
            brand.confirm_delivery(other, refused)
        assert e.value.code == "notDelivered" and "accepted-other-stream" in e.value.message
        with pytest.raises(parley_client.ParleyError) as e:
            brand.confirm_delivery(other, first)
        assert e.value.code == "receiptMismatch"


def test_the_driver_turns_speculation_off_retries_on_and_authentication_on():
    from parley_courier.driver import COURIER_CONF
    assert COURIER_CONF["spark.speculation"] == "false" and int(COURIER_CONF["spark.task.maxFailures"]) >= 4
    assert COURIER_CONF["spark.authenticate"] == "true" and COURIER_CONF["spark.driver.bindAddress"] == "127.0.0.1"
    assert not any("secret" in k for k in COURIER_CONF)  # the secret comes from the properties file only
