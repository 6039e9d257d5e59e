"""The sealed stream `parley/stream/1` (docs/formats.md section 4) and the data-plane messages
parties sign or bind into encryption (section 4a)."""
from __future__ import annotations

import hashlib
import struct

from pyhpke import AEADId, CipherSuite, KDFId, KEMId

from . import cbor

SUITE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)
FORMAT = "parley/stream/1"
DEFAULT_CHUNK = 64 << 10
MIN_CHUNK, MAX_CHUNK = 16, 4 << 20
MAX_HEADER = 256


class StreamError(ValueError):
    """A stream that does not open: bad frame, header, chunk, truncation or trailing bytes."""


def upload_info(job: str, dataset: str) -> bytes:
    return cbor.dumps({"format": "parley/upload/1", "job": job, "dataset": dataset})


def upload_signed_message(job: str, dataset: str, header_sha256: bytes) -> bytes:
    return cbor.dumps({"format": "parley/upload-signature/1", "job": job, "dataset": dataset, "header_sha256": header_sha256})


MAX_QUERY_PARAMS = 8          # most parameter values one request may carry
MAX_QUERY_PARAM_BYTES = 128   # the longest value


def query_request_message(job: str, query: str, receiver: str, nonce: bytes, params: dict | None = None) -> bytes:
    """`parley/query-request/1`: what a receiver signs. `params` (name -> canonical text) is in
    the map only when non-empty, so a request without parameters is what it always was."""
    m = {"format": "parley/query-request/1", "job": job, "query": query, "receiver": receiver, "nonce": nonce}
    if params:
        m["params"] = dict(params)
    return cbor.dumps(m)


def result_info(job: str, query: str, nonce: bytes) -> bytes:
    return cbor.dumps({"format": "parley/result/1", "job": job, "query": query, "nonce": nonce})


def _frame(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


class StreamSealer:
    """Seals plaintext chunks in order to a worker's X25519 key. `header` is the first frame's
    content; `frames(chunks)` yields every frame of the stream."""

    def __init__(self, recipient_public_key: bytes, info: bytes, chunk_size: int = DEFAULT_CHUNK, eks=None):
        if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
            raise ValueError("chunk_size must be 16 B to 4 MiB")
        pkr = SUITE.kem.deserialize_public_key(recipient_public_key)
        enc, self._ctx = SUITE.create_sender_context(pkr, info, eks=eks)
        self.chunk_size = chunk_size
        self.header = cbor.dumps({"chunk_size": chunk_size, "enc": enc, "format": FORMAT})
        self.header_sha256 = hashlib.sha256(self.header).digest()
        self._aad = (self.header_sha256 + b"\x00", self.header_sha256 + b"\x01")
        self._done = False

    def header_frame(self) -> bytes:
        return _frame(self.header)

    def seal_chunk(self, plaintext: bytes, final: bool) -> bytes:
        """One framed chunk; chunks must be sealed in order and exactly one is final (the last)."""
        if self._done:
            raise ValueError("the final chunk was already sealed")
        if len(plaintext) > self.chunk_size:
            raise ValueError("a chunk is larger than chunk_size")
        self._done = final
        return _frame(self._ctx.seal(plaintext, self._aad[1 if final else 0]))


def seal_file(f, sealer: StreamSealer, progress=None):
    """Yields the stream's frames for a binary file object, reading one chunk ahead so that the
    last chunk is the final one (an empty file is one final, empty chunk)."""
    yield sealer.header_frame()
    current = f.read(sealer.chunk_size)
    while True:
        following = f.read(sealer.chunk_size) if len(current) == sealer.chunk_size else b""
        final = not following
        yield sealer.seal_chunk(current, final)
        if progress:
            progress(len(current))
        if final:
            return
        current = following


def open_stream(data: bytes, private_key: bytes, info: bytes) -> bytes:
    """Opens a whole stream held in memory (tests and audits; the worker streams)."""
    pos = 0

    def frame(limit: int) -> bytes:
        nonlocal pos
        if pos + 4 > len(data):
            raise StreamError("truncated: no final chunk")
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        if n > limit:
            raise StreamError("a frame is longer than allowed")
        if pos + 4 + n > len(data):
            raise StreamError("truncated frame")
        pos += 4 + n
        return data[pos - n:pos]

    header_bytes = frame(MAX_HEADER)
    try:
        header = cbor.loads(header_bytes, cbor.Limits(max_bytes=MAX_HEADER, max_depth=2, max_items=8))
    except cbor.CBORError as e:
        raise StreamError(f"header: {e}") from None
    if not isinstance(header, dict) or set(header) != {"chunk_size", "enc", "format"} or header["format"] != FORMAT:
        raise StreamError("not a parley/stream/1 header")
    cs, enc = header["chunk_size"], header["enc"]
    if type(cs) is not int or not MIN_CHUNK <= cs <= MAX_CHUNK or not isinstance(enc, bytes) or len(enc) != 32:
        raise StreamError("header fields out of range")
    sk = SUITE.kem.deserialize_private_key(private_key)
    # Two contexts in lockstep, one per flag: pyhpke advances a context's sequence number even
    # when open fails, so each chunk is tried once under each flag and exactly one must open.
    try:
        ctx = (SUITE.create_recipient_context(enc, sk, info), SUITE.create_recipient_context(enc, sk, info))
    except Exception:  # pyhpke raises ValueError and its own errors for an unusable enc
        raise StreamError("the header's encapsulated key is unusable") from None
    digest = hashlib.sha256(header_bytes).digest()
    out = []
    while True:
        ct = frame(cs + 16)
        opened = []
        for flag in (0, 1):
            try:
                opened.append((flag, ctx[flag].open(ct, digest + bytes([flag]))))
            except Exception:  # pyhpke's OpenError
                pass
        if len(opened) != 1:
            raise StreamError("a chunk does not open (changed, reordered, repeated, dropped or foreign)")
        final, pt = opened[0][0] == 1, opened[0][1]
        out.append(pt)
        if final:
            if pos != len(data):
                raise StreamError("bytes after the final chunk")
            return b"".join(out)
