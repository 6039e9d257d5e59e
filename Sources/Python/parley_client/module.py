"""Reading a sealed module `parley/module/1` (`parley module seal`): a COSE_Sign1 (ES256) whose
payload names its author's key; `inspect(path)` opens and checks it and reports what a reviewer
needs. Query costs (`parley module inspect`'s `cost`) are not computed here (docs/python.md)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from . import cbor
from .cose import COSEError, COSESign1
from .errors import ParleyError

MAX_BUNDLE_BYTES = 1 << 20  # the host's launch limit (docs/api.md)
_FIELDS = {"format", "name", "version", "author", "parties", "datasets", "policy", "queries"}


@dataclass(frozen=True)
class ModuleReport:
    name: str
    version: str
    measurement: str          # SHA-384 of the signed payload, hex: the policy's `module`
    signer: str               # SHA-384 of the author's SubjectPublicKeyInfo, hex: `module_signers`
    parties: dict             # name -> {"signing_key_sha384": hex}
    datasets: dict            # name -> {"provider", "privacy_unit", "columns": [{"name", "type"}], "bounds"}
    queries: dict             # name -> {"receivers", "sql"}
    policy: dict              # as written in the module
    ledger: str | None


@dataclass(frozen=True)
class SealedModule:
    """A sealed module whose author's signature verified: its payload map and measurement."""
    payload: dict
    measurement: bytes        # SHA-384 of the signed payload

    @property
    def ledger_id(self) -> bytes:
        """SHA-256 of deterministic CBOR `{"format": "parley/ledger/1", "name": ledger or name,
        "parties": {party: SHA-256(signing key DER)}}` (docs/formats.md section 7)."""
        m = self.payload
        parties = {n: hashlib.sha256(p["signing_key"]).digest() for n, p in m["parties"].items()}
        return hashlib.sha256(cbor.dumps({"format": "parley/ledger/1", "name": m.get("ledger") or m["name"],
                                          "parties": parties})).digest()


def open_sealed(data: bytes, name: str = "the module") -> SealedModule:
    """Opens a sealed module's bytes: COSE_Sign1 by its `author`; raises ParleyError (`bad-module`)."""
    def bad(why: str) -> ParleyError:
        return ParleyError("bad-module", f"{name} is not a sealed module that opens: {why}")

    if len(data) > MAX_BUNDLE_BYTES:
        raise bad("over 1 MiB")
    try:
        msg = COSESign1.parse(cbor.loads(data, cbor.Limits(max_bytes=MAX_BUNDLE_BYTES)))
        m = cbor.loads(msg.untrusted_payload, cbor.Limits(max_bytes=MAX_BUNDLE_BYTES, max_depth=8, max_items=100_000))
    except (cbor.CBORError, COSEError) as e:
        raise bad(str(e)) from None
    if not isinstance(m, dict) or not _FIELDS <= set(m) or set(m) - _FIELDS - {"ledger"} or m["format"] != "parley/module/1":
        raise bad("missing or unknown fields, or another format")
    try:
        author = load_der_public_key(m["author"])
    except (ValueError, TypeError):
        raise bad("the author key does not parse") from None
    if not isinstance(author, ec.EllipticCurvePublicKey) or msg.verify(author) is not None:
        raise bad("the author's signature does not verify")
    parties = m["parties"]
    if not isinstance(parties, dict) or not all(isinstance(p, dict) and isinstance(p.get("signing_key"), bytes) for p in parties.values()):
        raise bad("a party is malformed")
    if "ledger" in m and not isinstance(m["ledger"], str):
        raise bad("ledger is not text")
    return SealedModule(m, hashlib.sha384(msg.untrusted_payload).digest())


def inspect(path: str) -> ModuleReport:
    """Opens a `.parley` bundle and verifies its author's signature; raises ParleyError
    (`bad-module`) for anything that does not open."""
    def bad(why: str) -> ParleyError:
        return ParleyError("bad-module", f"{path} is not a sealed module that opens: {why}")

    with open(path, "rb") as f:
        data = f.read(MAX_BUNDLE_BYTES + 1)
    sealed = open_sealed(data, path)
    m = sealed.payload
    try:
        parties = {n: {"signing_key_sha384": hashlib.sha384(p["signing_key"]).hexdigest()} for n, p in m["parties"].items()}
        datasets = {n: {"provider": d["provider"], "privacy_unit": d["privacy_unit"],
                        "columns": [{"name": c[0], "type": c[1]} for c in d["columns"]], "bounds": d.get("bounds", {})}
                    for n, d in m["datasets"].items()}
        queries = {n: {"receivers": list(q["receivers"]), "sql": q["sql"]} for n, q in m["queries"].items()}
    except (KeyError, TypeError, IndexError, AttributeError):
        raise bad("a party, dataset or query is malformed") from None
    return ModuleReport(name=m["name"], version=m["version"], measurement=sealed.measurement.hex(),
                        signer=hashlib.sha384(m["author"]).hexdigest(), parties=parties, datasets=datasets, queries=queries,
                        policy=dict(m["policy"]), ledger=m.get("ledger"))
