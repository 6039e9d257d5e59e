"""What one Spark task does: stream one sealed upload file to its host, once, and say how it went.

Standard library only, and shipped to the executors by value (parley_courier.driver), so an
executor needs no Parley code installed. A task sees a file path, a URL, the upload's headers
(the provider's signature over the stream header: public) and the ciphertext bytes; it never
holds a key and never sees plaintext. It returns a small dict (shard, outcome, HTTP status,
the SHA-256 of the bytes it sent, the host's receipt digest, the attempt number), never a
response body: a host's message could say more than the courier should carry.

Idempotence under retry: a second upload of an accepted dataset is answered 409 by the host, and
so is an upload while an earlier attempt's (broken) upload still holds the dataset's slot. On a
409 the task asks the job's status: accepted with this very stream's digest is success
(`accepted_earlier`), accepted with another digest is the refusal `accepted-other-stream`, not
accepted while the job collects means an earlier attempt is still being wound down (the task
waits and sends again), anything else is `not-collecting`.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import re
import time
import urllib.parse

UPLOAD_PATH = re.compile(r"^/v1/jobs/([A-Za-z0-9._-]{1,128})/datasets/([A-Za-z0-9._-]{1,128})$")
MAX_ANSWER = 64 << 10     # the most of a host's answer a task reads
BUSY_WAITS = (0.2, 0.5, 1, 2, 4, 8)  # seconds between sends while an earlier attempt holds the slot


class DeliveryInterrupted(Exception):
    """The connection broke before the host answered: Spark retries the task. The message names
    the shard and the kind of failure only."""


class _Reader:
    """The file, read in blocks for http.client, hashed as it is sent."""

    def __init__(self, f):
        self.f, self.sha256, self.sent = f, hashlib.sha256(), 0

    def read(self, n=-1):
        b = self.f.read(n if n and n > 0 else 1 << 16)
        self.sha256.update(b)
        self.sent += len(b)
        return b


def _connection(url: urllib.parse.SplitResult, timeout: float):
    cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    return cls(url.hostname, url.port, timeout=timeout)


def _answer(resp) -> tuple[int, dict]:
    body = resp.read(MAX_ANSWER + 1)
    try:
        parsed = json.loads(body) if len(body) <= MAX_ANSWER else None
    except ValueError:
        parsed = None
    return resp.status, parsed if isinstance(parsed, dict) else {}


def _put(url, headers: dict, path: str, timeout: float) -> tuple[int, dict, str, int]:
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(0)
        reader = _Reader(f)
        conn = _connection(url, timeout)
        try:
            conn.request("PUT", url.path, body=reader, headers={**headers, "Content-Length": str(size),
                                                                 "Content-Type": "application/octet-stream"})
            status, answer = _answer(conn.getresponse())
        finally:
            conn.close()
    if reader.sent != size:
        raise DeliveryInterrupted("the file changed size while it was sent")
    return status, answer, reader.sha256.hexdigest(), size


def _job_status(url, job: str, timeout: float) -> dict:
    conn = _connection(url, timeout)
    try:
        conn.request("GET", f"/v1/jobs/{job}")
        status, answer = _answer(conn.getresponse())
    finally:
        conn.close()
    return answer if status == 200 else {}


def classify(status: int, answer: dict, sent_sha256: str, dataset: str, job_status: dict | None) -> tuple[str, bool]:
    """(outcome, accepted_earlier) for the host's answer to one send; outcome is `accepted`,
    `busy` (send again later) or a refusal reason's value (parley_courier.Refusal)."""
    code = answer.get("code") if isinstance(answer.get("code"), str) else ""
    if status == 200:
        if answer.get("digest") != sent_sha256 or answer.get("dataset") != dataset:
            return "receipt-mismatch", False
        return "accepted", False
    if status == 409:
        entry = ((job_status or {}).get("datasets") or {}).get(dataset)
        if not isinstance(entry, dict):
            return "not-collecting", False
        if entry.get("accepted") is True:
            return ("accepted", True) if entry.get("digest") == sent_sha256 else ("accepted-other-stream", False)
        if (job_status or {}).get("state") == "collecting-datasets":
            return "busy", False
        return "not-collecting", False
    if status == 413 and code == "upload-broken":
        return "busy", False  # the host saw the stream break off (a network cut): send it again
    return {400: "bad-stream", 401: "unsigned", 403: "not-provider", 404: "no-dataset" if code == "no-dataset" else "no-job",
            413: "too-large", 422: "refused-by-worker"}.get(status, "host-error"), False


def deliver_one(delivery: dict, timeout: float = 600.0, sleep=time.sleep) -> dict:
    """Sends one delivery ({"shard", "path", "url", "headers"}) and returns
    {"shard", "outcome", "http_status", "sent_sha256", "receipt_digest", "accepted_earlier", "attempt"}.
    Raises DeliveryInterrupted (Spark retries) when the connection breaks before an answer."""
    shard = int(delivery["shard"])
    url = urllib.parse.urlsplit(delivery["url"])
    m = UPLOAD_PATH.match(url.path)
    attempt = _attempt_number()
    result = {"shard": shard, "outcome": "bad-delivery", "http_status": None, "sent_sha256": None,
              "receipt_digest": None, "accepted_earlier": False, "attempt": attempt}
    if not m or url.scheme not in ("http", "https"):
        return result
    job, dataset = m.groups()
    for wait in (*BUSY_WAITS, None):
        try:
            status, answer, sent, _ = _put(url, dict(delivery["headers"]), delivery["path"], timeout)
            job_status = _job_status(url, job, timeout) if status == 409 else None
        except FileNotFoundError:
            return {**result, "outcome": "no-file"}
        except (OSError, http.client.HTTPException) as e:
            raise DeliveryInterrupted(f"shard {shard}: the connection to the host broke ({type(e).__name__})") from None
        outcome, earlier = classify(status, answer, sent, dataset, job_status)
        result.update(http_status=status, sent_sha256=sent, outcome=outcome, accepted_earlier=earlier,
                      receipt_digest=answer.get("digest") if status == 200 else
                      (job_status or {}).get("datasets", {}).get(dataset, {}).get("digest") if earlier else None)
        if outcome != "busy":
            return result
        if wait is None:
            return {**result, "outcome": "busy"}
        sleep(wait)
    return result


def _attempt_number() -> int:
    try:
        from pyspark import TaskContext
        context = TaskContext.get()
        return context.attemptNumber() if context else 0
    except ImportError:
        return 0
