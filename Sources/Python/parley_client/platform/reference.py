"""The party's reference values, read from the policy's files (docs/formats.md section 12):
boot_reference, a Keylime runtime_policy, required_measured."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .logs import BOOT_PCRS, MAX_BOOT_REFERENCE_BYTES, MAX_EXCLUDES, MAX_POLICY_PATHS, MAX_RUNTIME_POLICY_BYTES, PlatformParseError

_KEYLIME_KEYS = {"meta", "release", "digests", "excludes", "keyrings", "ima", "ima-buf", "verification-keys"}
_HEX = re.compile(r"[0-9a-fA-F]*")


def _hex_digest(s: str) -> bytes | None:
    if not isinstance(s, str) or len(s) % 2 or not _HEX.fullmatch(s):
        return None
    b = bytes.fromhex(s)
    return b if len(b) in (20, 32, 48, 64) else None


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise PlatformParseError(f'duplicate JSON key "{k[:64]}"')
        d[k] = v
    return d


@dataclass(frozen=True)
class RuntimePolicy:
    """A Keylime runtime policy: path -> accepted lower-case hex digests, and exclude patterns."""
    digests: dict[str, frozenset]
    excludes: list[str]

    @staticmethod
    def parse(data: bytes) -> "RuntimePolicy":
        if len(data) > MAX_RUNTIME_POLICY_BYTES:
            raise PlatformParseError(f"runtime policy is over {MAX_RUNTIME_POLICY_BYTES} bytes")
        try:
            j = json.loads(data.decode("utf-8-sig"), object_pairs_hook=_no_duplicates)
        except PlatformParseError as e:
            raise PlatformParseError(f"runtime policy: {e}") from None
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise PlatformParseError("runtime policy is not a JSON object (Keylime runtime-policy format expected)") from None
        if not isinstance(j, dict):
            raise PlatformParseError("runtime policy is not a JSON object (Keylime runtime-policy format expected)")
        unknown = sorted(set(j) - _KEYLIME_KEYS)
        if unknown:
            raise PlatformParseError(f'runtime policy has an unknown field "{unknown[0][:64]}"')
        digests = j.get("digests")
        if not isinstance(digests, dict):
            raise PlatformParseError('runtime policy has no "digests" object')
        if len(digests) > MAX_POLICY_PATHS:
            raise PlatformParseError(f"runtime policy lists more than {MAX_POLICY_PATHS} paths")
        out = {}
        for path, lst in digests.items():
            if not isinstance(lst, list) or not lst or not all(isinstance(x, str) for x in lst):
                raise PlatformParseError(f'runtime policy: digests for "{path[:256]}" must be a non-empty array of hex strings')
            norm = set()
            for s in lst:
                b = _hex_digest(s.split(":", 1)[-1])
                if b is None:
                    raise PlatformParseError(f'runtime policy: a digest for "{path[:256]}" is not a SHA-1/256/384/512 hex digest')
                norm.add(b.hex())
            out[path] = frozenset(norm)
        ex = j.get("excludes", [])
        if ex is None:
            ex = []
        if not isinstance(ex, list) or not all(isinstance(x, str) for x in ex):
            raise PlatformParseError("runtime policy: excludes must be an array of strings")
        if len(ex) > MAX_EXCLUDES:
            raise PlatformParseError(f"runtime policy has more than {MAX_EXCLUDES} excludes")
        return RuntimePolicy(out, list(ex))

    def __post_init__(self):
        compiled = []
        for p in self.excludes:
            try:
                compiled.append(re.compile(p))
            except re.error:
                raise PlatformParseError(f'runtime policy: exclude "{p[:256]}" is not a valid regular expression') from None
        object.__setattr__(self, "_compiled", compiled)

    def excluded(self, path: str) -> bool:
        return any(c.match(path) for c in self._compiled)


def parse_boot_reference(data: bytes) -> dict[int, bytes]:
    usage = 'boot reference must be {"format": "parley/boot-reference/1", "bank": "sha256", "pcrs": {"0": hex, … "7": hex}}'
    if len(data) > MAX_BOOT_REFERENCE_BYTES:
        raise PlatformParseError("boot reference is not a JSON object of at most 64 KiB")
    try:
        j = json.loads(data.decode("utf-8-sig"), object_pairs_hook=_no_duplicates)
    except PlatformParseError as e:
        raise PlatformParseError(f"boot reference: {e}") from None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise PlatformParseError(usage) from None
    if not isinstance(j, dict) or set(j) != {"format", "bank", "pcrs"} or not isinstance(j["pcrs"], dict) \
            or j["format"] != "parley/boot-reference/1" or j["bank"] != "sha256":
        raise PlatformParseError(usage)
    pcrs = {}
    for k, v in j["pcrs"].items():
        if not re.fullmatch(r"[+-]?[0-9]{1,18}", k) or not isinstance(v, str) or len(v) % 2 or not _HEX.fullmatch(v):
            raise PlatformParseError(f'boot reference: PCR "{k[:16]}" is not an index with a hex value')
        pcrs[int(k)] = bytes.fromhex(v)
    if set(pcrs) != set(BOOT_PCRS) or any(len(v) != 32 for v in pcrs.values()):
        raise PlatformParseError("a boot reference needs a 32-byte SHA-256 value for each of PCRs 0-7")
    return pcrs


@dataclass(frozen=True)
class PlatformReference:
    boot: dict[int, bytes]
    runtime: RuntimePolicy
    required: list[str]          # lower-case hex file digests

    @staticmethod
    def make(boot: dict[int, bytes], runtime: RuntimePolicy, required: list[str]) -> "PlatformReference":
        if not required:
            raise PlatformParseError("required_measured must list the digests of the reviewed parley and parley-enclave executables")
        return PlatformReference(boot, runtime, [r.lower() for r in required])
