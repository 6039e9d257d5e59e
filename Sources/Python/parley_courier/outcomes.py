"""A delivery and its outcome: accepted (with the digest the host's receipt names) or refused
with a reason from a fixed list; never a bool."""
from __future__ import annotations

import dataclasses
import enum
import urllib.parse

from .task import UPLOAD_PATH


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One sealed stream to carry: `path` of the ciphertext file, the upload `url`
    (`http://HOST/v1/jobs/J/datasets/D`) and its `headers` (`Parley-Signature`, optionally
    `Parley-Upload-Size`). Raises ValueError for a URL that is no upload URL."""
    shard: int
    path: str
    url: str
    headers: dict

    def __post_init__(self):
        u = urllib.parse.urlsplit(self.url)
        if u.scheme not in ("http", "https") or not UPLOAD_PATH.match(u.path):
            raise ValueError("a delivery's url must be http(s)://HOST/v1/jobs/JOB/datasets/DATASET")
        if type(self.shard) is not int or self.shard < 0:
            raise ValueError("a delivery's shard is an index from 0")
        if "Parley-Signature" not in self.headers:
            raise ValueError("a delivery carries the provider's Parley-Signature header")

    def as_task(self) -> dict:
        return {"shard": self.shard, "path": self.path, "url": self.url, "headers": dict(self.headers)}


class Refusal(enum.Enum):
    """Why a delivery was not accepted."""
    ACCEPTED_OTHER_STREAM = "accepted-other-stream"  # the dataset holds another stream than this file
    NOT_COLLECTING = "not-collecting"                # the job takes no uploads (ended, ready, or no such dataset entry)
    BUSY = "busy"                                    # another upload of the dataset held the slot through every wait
    RECEIPT_MISMATCH = "receipt-mismatch"            # the host's 200 names another stream or dataset than the one sent
    BAD_STREAM = "bad-stream"                        # 400: the file is no parley/stream/1 stream
    UNSIGNED = "unsigned"                            # 401: no usable Parley-Signature
    NOT_PROVIDER = "not-provider"                    # 403: the signature is not the dataset's provider's
    NO_JOB = "no-job"                                # 404: no live job of that id
    NO_DATASET = "no-dataset"                        # 404: the module declares no such dataset
    TOO_LARGE = "too-large"                          # 413: over a limit the operator set
    REFUSED_BY_WORKER = "refused-by-worker"          # 422: the worker refused the stream (nothing of it kept)
    HOST_ERROR = "host-error"                        # any other answer
    NO_FILE = "no-file"                              # the task found no file at the path
    BAD_DELIVERY = "bad-delivery"                    # the URL is no upload URL


@dataclasses.dataclass(frozen=True)
class Accepted:
    """The host accepted the stream. `digest` is the SHA-256 (hex) the host's receipt names,
    equal to `sent_sha256`; `earlier` says an earlier attempt's upload was the accepted one (a
    retry found it). Still the host's word: Party.confirm_delivery proves it in the log."""
    shard: int
    digest: str
    sent_sha256: str
    http_status: int
    earlier: bool
    attempt: int


@dataclasses.dataclass(frozen=True)
class Refused:
    shard: int
    reason: Refusal
    http_status: int | None
    attempt: int


def outcome_from_task(r: dict) -> Accepted | Refused:
    """A task's result dict as a typed outcome."""
    if r["outcome"] == "accepted":
        return Accepted(shard=r["shard"], digest=r["receipt_digest"], sent_sha256=r["sent_sha256"], http_status=r["http_status"],
                        earlier=bool(r["accepted_earlier"]), attempt=r["attempt"])
    return Refused(shard=r["shard"], reason=Refusal(r["outcome"]), http_status=r["http_status"], attempt=r["attempt"])
