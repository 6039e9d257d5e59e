"""A party's appraisal policy: the same TOML file the CLI reads (docs/python.md, "Policy file")."""
from __future__ import annotations

import base64
import os
import re
import tomllib
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from .errors import ParleyError
from .log import CosignerKey
from .platform import PlatformParseError, PlatformReference, RuntimePolicy, parse_boot_reference

_KEYS = {"quote", "module", "runtime", "module_signers", "quoting_root", "tpm_ak", "max_age_seconds", "allow_debug",
         "log_key", "witnesses", "witness_quorum", "boot_reference", "runtime_policy", "required_measured",
         "allow_unappraised_tpm"}
_HEX96 = re.compile(r"[0-9a-f]{96}")
_NOTE_KEY = re.compile(r"[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+")
MAX_POLICY_BYTES = 1 << 20


@dataclass
class Policy:
    quote: str
    module: bytes
    runtime: list[bytes]
    module_signers: list[bytes] | None
    quoting_root: x509.Certificate | None = None
    tpm_ak_der: bytes | None = None
    max_age_seconds: int = 300
    max_clock_skew_seconds: int = 60
    allow_debug: bool = False
    log_key: str | None = None
    witnesses: list[str] = field(default_factory=list)
    witness_quorum: int = 0
    platform: PlatformReference | None = None   # TPM reference values (docs/formats.md section 12)
    allow_unappraised_tpm: bool = False

    @staticmethod
    def load(path: str) -> "Policy":
        """Reads and checks a policy file; a missing or empty expectation raises, never passes."""
        with open(path, "rb") as f:
            data = f.read(MAX_POLICY_BYTES + 1)
        if len(data) > MAX_POLICY_BYTES:
            raise ParleyError("malformed", f"{path}: over {MAX_POLICY_BYTES} bytes")
        try:
            t = tomllib.loads(data.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ParleyError("malformed", f"{path}: {e}") from None
        return Policy.from_table(t, base=os.path.dirname(os.path.abspath(path)), name=path)

    @staticmethod
    def from_table(t: dict, base: str, name: str = "policy") -> "Policy":
        def err(key: str, why: str) -> ParleyError:
            return ParleyError("malformed", f"{name}: {key}: {why}")

        unknown = sorted(set(t) - _KEYS)
        if unknown:
            raise err(unknown[0], "unknown key")

        def string(key, required=False, check=None, must=""):
            v = t.get(key)
            if v is None:
                if required:
                    raise err(key, f"missing; must be {must}")
                return None
            if not isinstance(v, str) or (check and not check(v)):
                raise err(key, f"must be {must or 'a string'}")
            return v

        def strings(key, required=False, check=None, must=""):
            v = t.get(key)
            if v is None:
                if required:
                    raise err(key, f"missing; must be a list of {must}")
                return None
            if not isinstance(v, list) or not all(isinstance(x, str) and (not check or check(x)) for x in v):
                raise err(key, f"must be a list of {must or 'strings'}")
            return v

        def boolean(key):
            v = t.get(key, False)
            if not isinstance(v, bool):
                raise err(key, "must be true or false")
            return v

        def resolve(p: str) -> str:
            return p if p.startswith("/") else os.path.join(base, p)

        hex96 = lambda s: bool(_HEX96.fullmatch(s))  # noqa: E731
        quote = string("quote", True, lambda s: s in ("software", "tpm"), '"software" or "tpm"')
        module = string("module", True, hex96, "96 hex digits (from `parley module measure BUNDLE`)")
        runtime = strings("runtime", True, hex96, "96 hex digits (from `parley runtime measure`)")
        if not runtime:
            raise err("runtime", "is empty: list at least one accepted runtime measurement")
        signers = strings("module_signers", False, hex96, "96 hex digits")
        if signers is not None and not signers:
            raise err("module_signers", "is empty: list at least one signer, or remove the key to accept any")
        max_age = t.get("max_age_seconds", 300)
        if type(max_age) is not int or not 1 <= max_age <= 86400:
            raise err("max_age_seconds", "must be 1 to 86400")
        p = Policy(quote=quote, module=bytes.fromhex(module), runtime=[bytes.fromhex(r) for r in runtime],
                   module_signers=[bytes.fromhex(s) for s in signers] if signers is not None else None,
                   max_age_seconds=max_age, allow_debug=boolean("allow_debug"),
                   allow_unappraised_tpm=boolean("allow_unappraised_tpm"))
        root = string("quoting_root")
        if root is not None:
            try:
                with open(resolve(root), "rb") as f:
                    p.quoting_root = x509.load_pem_x509_certificate(f.read(1 << 20))
            except (OSError, ValueError) as e:
                raise err("quoting_root", f"{resolve(root)}: {e}") from None
        ak = string("tpm_ak")
        if ak is not None:
            try:
                with open(resolve(ak), "rb") as f:
                    key = load_pem_public_key(f.read(1 << 20))
            except (OSError, ValueError) as e:
                raise err("tpm_ak", f"{resolve(ak)}: {e}") from None
            if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, (ec.SECP256R1, ec.SECP384R1)):
                raise err("tpm_ak", f"{resolve(ak)} is not a P-256 or P-384 public key (copy tpm-ak.pem from the host's data directory)")
            p.tpm_ak_der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        lk = string("log_key")
        if lk is not None:
            try:
                with open(resolve(lk), encoding="utf-8") as f:
                    text = f.read(1 << 16).strip()
            except OSError as e:
                raise err("log_key", f"{resolve(lk)}: {e}") from None
            if not _NOTE_KEY.fullmatch(text):
                raise err("log_key", f"{resolve(lk)} is not a note verifier key (copy log-key.pub from the host's data directory)")
            try:
                base64.b64decode(text.split("+", 2)[2], validate=True)
            except ValueError:
                raise err("log_key", f"{resolve(lk)} is not a note verifier key") from None
            p.log_key = text
        for w in strings("witnesses") or []:
            try:
                with open(resolve(w), encoding="utf-8") as f:
                    text = f.read(1 << 16).strip()
                CosignerKey.parse(text)
                p.witnesses.append(text)
            except (OSError, UnicodeDecodeError, ParleyError):
                raise err("witnesses", f"{resolve(w)} is not a witness key (witness-key.pub from `parley witness`)") from None
        quorum = t.get("witness_quorum")
        if quorum is not None:
            if type(quorum) is not int or not p.witnesses or not 1 <= quorum <= len(p.witnesses):
                raise err("witness_quorum", "must be 1 to the number of witnesses listed")
            p.witness_quorum = quorum
        else:
            p.witness_quorum = len(p.witnesses)
        if quote == "software" and p.quoting_root is None:
            raise err("quote", 'quote = "software" needs quoting_root = "quoting-root.pem" (copy it from the host\'s data directory)')
        if quote == "tpm" and p.tpm_ak_der is None:
            raise err("quote", 'quote = "tpm" needs tpm_ak = "tpm-ak.pem" (copy it from the host\'s data directory)')
        platform_keys = [k for k in ("boot_reference", "runtime_policy", "required_measured") if k in t]
        if platform_keys and len(platform_keys) != 3:
            missing = next(k for k in ("boot_reference", "runtime_policy", "required_measured") if k not in t)
            raise err(missing, "boot_reference, runtime_policy and required_measured go together (write them with `parley attest reference`)")
        if platform_keys:
            p.platform = _platform_reference(t, resolve, err, string, strings)
        if quote == "tpm" and p.platform is None and not p.allow_unappraised_tpm:
            raise err("quote", 'quote = "tpm" needs boot_reference, runtime_policy and required_measured; '
                               "allow_unappraised_tpm = true accepts forgeable launches instead")
        return p


def _hex_file_digest(s: str) -> bool:
    return bool(re.fullmatch(r"([0-9a-fA-F]{2}){20}|([0-9a-fA-F]{2}){32}|([0-9a-fA-F]{2}){48}|([0-9a-fA-F]{2}){64}", s))


def _platform_reference(t, resolve, err, string, strings) -> PlatformReference:
    """boot_reference (parley/boot-reference/1 JSON), runtime_policy (Keylime JSON), required_measured
    (hex file digests), read and checked as the CLI does; a defect names the key."""
    boot_path, runtime_path = resolve(string("boot_reference")), resolve(string("runtime_policy"))
    required = strings("required_measured", False, _hex_file_digest, "a hex file digest (from `parley attest reference`)")

    def read(key, path, cap):
        try:
            with open(path, "rb") as f:
                data = f.read(cap + 1)
        except OSError as e:
            raise err(key, f"{path}: {e.strerror}") from None
        if len(data) > cap:
            raise err(key, f"{path}: over {cap} bytes")
        return data

    try:
        boot = parse_boot_reference(read("boot_reference", boot_path, 64 << 10))
    except PlatformParseError as e:
        raise err("boot_reference", f"{boot_path}: {e}") from None
    try:
        runtime = RuntimePolicy.parse(read("runtime_policy", runtime_path, 64 << 20))
    except PlatformParseError as e:
        raise err("runtime_policy", f"{runtime_path}: {e}") from None
    try:
        return PlatformReference.make(boot, runtime, required)
    except PlatformParseError as e:
        raise err("required_measured", str(e)) from None
