"""Deterministic CBOR (docs/formats.md section 1): a structural pre-scan with caps, then cbor2.

The scan refuses what the deterministic decoder refuses (non-shortest heads, indefinite lengths,
simple values other than false/true/null/undefined, truncation, trailing bytes) and enforces the
caps (bytes, depth, items, declared lengths against remaining bytes) before cbor2 builds
anything. After decoding, the item is re-encoded canonically: any other difference (unsorted or
duplicate map keys, a float with a shorter exact form) makes the bytes differ and is refused.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import cbor2


class CBORError(ValueError):
    """The bytes are not one deterministic CBOR item within the caps."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 16 << 20
    max_depth: int = 32
    max_items: int = 1 << 20


def _scan(data: bytes, limits: Limits) -> None:
    n = len(data)
    pos = 0
    items = 0
    # stack of remaining child counts per open container
    stack: list[int] = []

    def head(p: int) -> tuple[int, int, int]:
        if p >= n:
            raise CBORError("truncated")
        ib = data[p]
        major, info = ib >> 5, ib & 0x1F
        p += 1
        if info < 24:
            return major, info, p
        if info in (24, 25, 26, 27):
            size = 1 << (info - 24)
            if p + size > n:
                raise CBORError("truncated")
            value = int.from_bytes(data[p:p + size], "big")
            minimum = {24: 24, 25: 0x100, 26: 0x10000, 27: 0x100000000}[info]
            if major != 7 and value < minimum:
                raise CBORError("a head longer than needed")
            return major, value if major != 7 else info, p + size
        raise CBORError("an indefinite length or reserved head")

    while True:
        items += 1
        if items > limits.max_items:
            raise CBORError("too many items")
        major, arg, pos = head(pos)
        if major in (2, 3):
            if arg > n - pos:
                raise CBORError("truncated")
            pos += arg
        elif major in (4, 5):
            count = arg * (2 if major == 5 else 1)
            if count > n - pos:
                raise CBORError("a container declares more entries than its bytes could hold")
            if count:
                if len(stack) + 1 > limits.max_depth:
                    raise CBORError("nested too deeply")
                stack.append(count)
                continue
        elif major == 6:
            if len(stack) + 1 > limits.max_depth:
                raise CBORError("nested too deeply")
            stack.append(1)
            continue
        elif major == 7:
            if arg < 24 and arg not in (20, 21, 22, 23):
                raise CBORError("a simple value Parley does not use")
            if arg == 24:
                raise CBORError("a simple value Parley does not use")
        # one item done: pop finished containers
        while stack:
            stack[-1] -= 1
            if stack[-1]:
                break
            stack.pop()
        if not stack:
            break
    if pos != n:
        raise CBORError("bytes after the item")


def loads(data: bytes, limits: Limits = Limits()):
    """Decodes one deterministic CBOR item, or raises CBORError."""
    if not isinstance(data, (bytes, bytearray)):
        raise CBORError("not bytes")
    data = bytes(data)
    if len(data) > limits.max_bytes:
        raise CBORError(f"larger than {limits.max_bytes} bytes")
    _scan(data, limits)
    try:
        item = cbor2.loads(data)
    except Exception as e:  # cbor2 raises several types on bad input
        raise CBORError(f"not CBOR: {type(e).__name__}") from None
    if dumps(item) != data:
        raise CBORError("not in the deterministic encoding (key order, duplicate key or float form)")
    return _plain(item)


def _plain(item):
    """cbor2 may give immutable containers (inside tags, as keys): plain dicts and lists instead."""
    if isinstance(item, cbor2.CBORTag):
        return cbor2.CBORTag(item.tag, _plain(item.value))
    if isinstance(item, Mapping):
        return {k: _plain(v) for k, v in item.items()}
    if isinstance(item, (list, tuple)):
        return [_plain(v) for v in item]
    return item


def dumps(item) -> bytes:
    """The deterministic encoding of an item (RFC 8949 section 4.2.1)."""
    return cbor2.dumps(item, canonical=True)
