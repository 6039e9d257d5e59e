"""Reading a sealed module `parley/module/1` (`parley module seal`): a COSE_Sign1 (ES256) whose
payload names its author's key; `inspect(path)` opens and checks it and reports what a reviewer
needs, with what one run of each query costs (docs/privacy.md), as `parley module inspect --json`."""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from fractions import Fraction

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
    datasets: dict            # name -> {"provider", "privacy_unit", "columns": [{"name", "type"}], "bounds"}, plus
                              # "identified_by" (every identifier, in priority order) and "phone_country" when declared
    queries: dict             # name -> {"receivers", "sql", "cost": QueryCost.json or None, "cost_error": str or None}, plus
                              # "params" (name -> {"type", "values"} or {"type", "min", "max"}) and "matching"
                              # (per join on several identifiers, its equalities in priority order) when present
    policy: dict              # as written in the module
    ledger: str | None
    ledger_id: str = ""       # hex SHA-256 of the ledger identity (docs/formats.md section 7)

    def identifier_and_parameter_lines(self) -> list[str]:
        """What `parley module inspect` says of identifiers and parameters, in its words: per
        dataset on several identifiers "NAME: a person is matched by email, then phone (...)",
        per query its "parameter @p: type, one of ..." and "matching: ..." lines."""
        out = []
        for name in sorted(self.datasets):
            d = self.datasets[name]
            rule = ""
            if "identified_by" in d:
                rule = f"a person is matched by {', then '.join(d['identified_by'])} (one privacy unit across identifiers)"
            if "phone_country" in d:
                rule += ("; " if rule else "") + f"national phone numbers are in {d['phone_country']}"
            if rule:
                out.append(f"{name}: {rule}")
        for name in sorted(self.queries):
            q = self.queries[name]
            for p, decl in sorted(q.get("params", {}).items()):
                allowed = f"one of {', '.join(decl['values'])}" if "values" in decl else f"from {decl['min']} to {decl['max']}"
                out.append(f"{name}: parameter @{p}: {decl['type']}, {allowed} (bound by the receiver per run; every run is charged)")
            for rule in q.get("matching", []):
                out.append(f"{name}: matching: {', else '.join(rule)} (each person counted once; see docs/privacy.md)")
        return out


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
        datasets = {n: _dataset(n, d) for n, d in m["datasets"].items()}
        queries = {n: _query(n, q) for n, q in m["queries"].items()}
    except ParleyError as e:
        raise bad(e.message) from None
    except (KeyError, TypeError, IndexError, AttributeError, ValueError):
        raise bad("a party, dataset or query is malformed") from None
    for n, q in queries.items():
        try:
            q["cost"], q["cost_error"] = query_cost(m, n).json, None
        except ParleyError as e:
            q["cost"], q["cost_error"] = None, e.message
    return ModuleReport(name=m["name"], version=m["version"], measurement=sealed.measurement.hex(),
                        signer=hashlib.sha384(m["author"]).hexdigest(), parties=parties, datasets=datasets, queries=queries,
                        policy=dict(m["policy"]), ledger=m.get("ledger"), ledger_id=sealed.ledger_id.hex())


# --- datasets and queries (docs/formats.md section 6a; ModuleCBOR.swift)

COLUMN_TYPES = {"text", "int", "decimal", "date", "email", "phone", "sha256_email", "sha256_phone"}
IDENTIFIER_TYPES = {"email", "phone", "sha256_email", "sha256_phone"}
MAX_UNIT_IDENTIFIERS = 4   # a `privacy_unit` array names 2 to 4 identifier columns
MAX_PARAMS = 8             # parameters a query may declare
MAX_PARAM_VALUES = 256     # allowed values a parameter may list
PARAM_TYPES = {"int", "decimal", "date", "text"}


def _dataset(name: str, d: dict) -> dict:
    """A dataset's report: `privacy_unit` is the first identifier; a CBOR array (several
    identifiers, 2 to 4) is reported as `identified_by`, as `module inspect --json` does."""
    ctx = f"dataset {name}"
    if not isinstance(d, dict) or not isinstance(d.get("provider"), str) or not isinstance(d.get("columns"), list):
        raise ParleyError("malformed", f"{ctx} is malformed")
    columns = []
    for c in d["columns"]:
        if not isinstance(c, list) or len(c) != 2 or not isinstance(c[0], str) or c[1] not in COLUMN_TYPES:
            raise ParleyError("malformed", f"{ctx} has a malformed column or an unknown column type")
        columns.append({"name": c[0], "type": c[1]})
    bounds = d.get("bounds", {})
    if not isinstance(bounds, dict) or not all(isinstance(b, list) and len(b) == 2 and all(isinstance(x, str) for x in b)
                                               for b in bounds.values()):
        raise ParleyError("malformed", f"{ctx} bounds must be [lower, upper] texts")
    unit = d.get("privacy_unit")
    out = {"provider": d["provider"], "columns": columns, "bounds": bounds}
    if isinstance(unit, list):
        if not 2 <= len(unit) <= MAX_UNIT_IDENTIFIERS or not all(isinstance(u, str) for u in unit):
            raise ParleyError("malformed", f"{ctx}: a privacy_unit array needs 2 to {MAX_UNIT_IDENTIFIERS} identifier names")
        out["privacy_unit"], out["identified_by"] = unit[0], list(unit)
    elif isinstance(unit, str):
        out["privacy_unit"] = unit
    else:
        raise ParleyError("malformed", f"{ctx} privacy_unit is neither text nor an array of text")
    if "phone_country" in d:
        if not isinstance(d["phone_country"], str):
            raise ParleyError("malformed", f"{ctx} phone_country is not text")
        out["phone_country"] = d["phone_country"]
    return out


_CANONICAL = {"int": re.compile(r"-?(0|[1-9]\d{0,18})"), "decimal": re.compile(r"-?(0|[1-9]\d{0,14})\.\d{4}"),
              "date": re.compile(r"\d{4}-\d{2}-\d{2}")}


def _canonical(type_: str, value: str) -> bool:
    """Whether `value` is a `type_` in the canonical text requests carry (`2`, `12.5000`, `2024-06-01`)."""
    if type_ == "text":
        return True
    if not _CANONICAL[type_].fullmatch(value) or value == "-0" or value == "-0.0000":
        return False
    if type_ == "int":
        return -(1 << 63) <= int(value) < 1 << 63
    if type_ == "date":
        import datetime
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            return False
    return True


def _order(type_: str, value: str):
    return value if type_ == "date" else Fraction(value)


def _params(name: str, declared) -> dict:
    """A query's `params`: name -> {"type", "values": [text]} or {"type", "min", "max"}."""
    if not isinstance(declared, dict) or not 1 <= len(declared) <= MAX_PARAMS:
        raise ParleyError("malformed", f"query {name} params must declare 1 to {MAX_PARAMS} parameters")
    out = {}
    for p, d in declared.items():
        ctx = f"query {name} parameter {p}"
        if not isinstance(p, str) or not isinstance(d, dict) or d.get("type") not in PARAM_TYPES:
            raise ParleyError("malformed", f"{ctx} has no known type")
        if set(d) == {"type", "values"}:
            values = d["values"]
            if not isinstance(values, list) or not 1 <= len(values) <= MAX_PARAM_VALUES or not all(isinstance(v, str) for v in values):
                raise ParleyError("malformed", f"{ctx} values must be 1 to {MAX_PARAM_VALUES} texts")
            if not all(_canonical(d["type"], v) for v in values) or len(set(values)) != len(values):
                raise ParleyError("malformed", f"{ctx} values are not distinct values in canonical form")
            out[p] = {"type": d["type"], "values": list(values)}
        elif set(d) == {"type", "min", "max"} and d["type"] != "text":
            if not isinstance(d["min"], str) or not isinstance(d["max"], str):
                raise ParleyError("malformed", f"{ctx} min and max must be text")
            if not _canonical(d["type"], d["min"]) or not _canonical(d["type"], d["max"]) \
                    or _order(d["type"], d["min"]) > _order(d["type"], d["max"]):
                raise ParleyError("malformed", f"{ctx} min and max must be in canonical form, min not above max")
            out[p] = {"type": d["type"], "min": d["min"], "max": d["max"]}
        else:
            raise ParleyError("malformed", f"{ctx} must have either values or min and max (not for text), and nothing else")
    return out


_JOIN = re.compile(r"\bJOIN\s+\w+\s+(?:AS\s+)?(\w+)\s+ON\s+(.+?)(?=\bJOIN\b|\bWHERE\b|\bGROUP\s+BY\b|\bLEFT\b|\bINNER\b|$)",
                   re.IGNORECASE | re.DOTALL)
_EQUALITY = re.compile(r"^\s*(\w+\.\w+)\s*=\s*(\w+\.\w+)\s*$")


def matching(sql: str) -> list[list[str]]:
    """Per join on several identifiers (`ON a.email = b.email OR a.phone = b.phone`), its
    equalities in priority order, each written `earlier = joined` as `module inspect` shows
    them. Joins on one equality are left out. Display only: the worker's planner decides."""
    out = []
    for alias, condition in _JOIN.findall(sql):
        parts = re.split(r"\bOR\b", condition, flags=re.IGNORECASE)
        if len(parts) < 2:
            continue
        rule = []
        for part in parts:
            eq = _EQUALITY.match(part)
            if eq is None:
                rule = []
                break
            left, right = eq.groups()
            if left.split(".")[0] == alias:
                left, right = right, left
            rule.append(f"{left} = {right}")
        if rule:
            out.append(rule)
    return out


def _query(name: str, q: dict) -> dict:
    if not isinstance(q, dict) or set(q) - {"sql", "receivers", "group_keys", "params"} or not isinstance(q.get("sql"), str):
        raise ParleyError("malformed", f"query {name} is malformed or has an unknown field")
    out = {"receivers": list(q["receivers"]), "sql": q["sql"]}
    if not all(isinstance(r, str) for r in out["receivers"]):
        raise ParleyError("malformed", f"query {name} receivers must be texts")
    if "params" in q:
        out["params"] = _params(name, q["params"])
    rules = matching(q["sql"])
    if rules:
        out["matching"] = rules
    return out


# --- query costs (docs/privacy.md: "Measurements", "Noise calibration", "Partitions")

SAFETY_MARGIN = 1e-9
WEAK_GROUP_SIZE_BELOW = 10
WEAK_PARTITION_SELECTION_DELTA_ABOVE = 1e-6
_AGGREGATE = re.compile(r"\b(COUNT|SUM|AVG)\s*\(\s*(DISTINCT\s+)?([^()]*?)\s*\)", re.IGNORECASE)


@dataclass(frozen=True)
class QueryCost:
    """What one run of a declared query charges and how its groups are chosen."""
    epsilon: Fraction
    delta: Fraction
    mechanism: str                      # discrete-laplace or discrete-gaussian
    measurements: list[str]             # distinct measurements, each with an equal share 1/n
    partitions: str                     # threshold, declared or whole
    keys: list[list[str]] | None        # the declared keys (cross product), for `declared`
    partition_selection_delta: float    # the threshold's delta bound; 0 for public partitions
    weak: list[str]

    @property
    def json(self) -> dict:
        """The `cost` object of `parley module inspect --json`."""
        from .exact import epsilon_text
        return {"epsilon": epsilon_text(self.epsilon), "delta": epsilon_text(self.delta), "mechanism": self.mechanism,
                "threshold_delta": self.partition_selection_delta, "partition_selection_delta": self.partition_selection_delta,
                "partitions": {"kind": self.partitions, **({"keys": self.keys} if self.keys is not None else {})}, "weak": self.weak}


def _exact(text, what: str) -> Fraction:
    if not isinstance(text, str) or not re.fullmatch(r"\d{1,20}(\.\d{1,38})?([eE][-+]?\d{1,3})?|\d{1,20}/[1-9]\d{0,19}", text):
        raise ParleyError("malformed", f"the policy's {what} is not an exact non-negative number")
    return Fraction(text)


def _tail(mechanism: str, parameter: Fraction, threshold: int) -> float:
    """An upper bound of P(noise >= threshold), inflated by 1e-9 (docs/privacy.md, "Partitions")."""
    if threshold < 1:
        return 1.0
    m = float(threshold)
    if mechanism == "discrete-laplace":
        inverse = parameter.denominator / parameter.numerator
        bound = math.exp(-m * inverse) / (1 + math.exp(-inverse))
    else:
        s2 = float(parameter)
        density = lambda x: math.exp(-x * x / (2 * s2))  # noqa: E731
        tail, normaliser = 0.0, 1.0
        for i in range(4096):
            tail += density(m + i)
            normaliser += 2 * density(i + 1)
        rest = m + 4096
        tail += density(rest) / -math.expm1(-rest / s2)
        bound = tail / max(normaliser, math.sqrt(2 * math.pi * s2) - 1)
    return min(1.0, bound * (1 + SAFETY_MARGIN))


def query_cost(module: dict, name: str) -> QueryCost:
    """The cost of one run of query `name` of a module payload: `epsilon_per_query` and `delta`,
    split equally over the run's distinct measurements (the distinct-unit count always; the
    number of groups for groups from the data; one row count for every COUNT(*); one sum per
    SUM/AVG column), and the partition-selection delta of the `min_group_size` threshold.
    The aggregates are read from the query's SQL; raises ParleyError (`malformed`)."""
    q = module.get("queries", {}).get(name)
    if not isinstance(q, dict) or not isinstance(q.get("sql"), str):
        raise ParleyError("malformed", f"the module declares no query {name}")
    p = module["policy"]
    eps = _exact(p.get("epsilon_per_query"), "epsilon_per_query")
    delta = _exact(p["delta"], "delta") if p.get("delta") is not None else None
    if eps <= 0 or (delta is not None and not 0 < delta < 1):
        raise ParleyError("malformed", "the policy's epsilon_per_query must be above 0 and delta between 0 and 1")
    groups, k = p.get("max_groups_per_unit"), p.get("min_group_size")
    if type(groups) is not int or groups < 1 or type(k) is not int:
        raise ParleyError("malformed", "the policy's max_groups_per_unit or min_group_size is not a positive integer")
    sql = q["sql"]
    group_by = re.search(r"\bGROUP\s+BY\s+(.+?)\s*$", sql, re.IGNORECASE | re.DOTALL)
    declared = q.get("group_keys")
    keys = None
    if group_by is None:
        partitions = "whole"
    elif declared is None:
        partitions = "threshold"
    else:
        partitions = "declared"
        columns = [c.strip() for c in group_by.group(1).split(",")]
        keys = [[]]
        for column in columns:
            values = [v for c, v in declared if c == column or c == column.split(".")[-1]]
            if len(values) != 1:
                raise ParleyError("malformed", f"group_keys must list the values of every GROUP BY column once; {column} is "
                                               + ("missing" if not values else "listed twice"))
            keys = [prefix + [v] for prefix in keys for v in values[0]]
    measurements = ["distinct-units"] if partitions != "threshold" else ["distinct-units", "group-count"]
    for fn, distinct, arg in _AGGREGATE.findall(sql):
        fn = fn.upper()
        if fn == "COUNT" and arg.strip() == "*":
            m = "row-count"
        elif fn == "COUNT":
            m = "distinct-units"
        else:
            m = "sum:" + re.sub(r"\s+", "", arg)
        if m not in measurements:
            measurements.append(m)
    if len(measurements) == (2 if partitions == "threshold" else 1) and not _AGGREGATE.search(sql):
        raise ParleyError("malformed", "a query must have at least one aggregate")
    n = len(measurements)
    if delta is None:
        mechanism, parameter = "discrete-laplace", Fraction(groups * n) / eps
    else:
        mechanism = "discrete-gaussian"
        e = float(eps)
        log_inverse = math.log(delta.denominator) - math.log(delta.numerator)
        root = math.sqrt(log_inverse + e) + math.sqrt(log_inverse)
        rho = e * e / (root * root)
        inflated = groups * n / (2 * rho) * (1 + SAFETY_MARGIN)  # the unit count's L2² is G
        granularity = 65536 if inflated < 65536 else 1
        parameter = Fraction(math.ceil(inflated * granularity), granularity)
    select_delta = 0.0 if partitions != "threshold" else min(1.0, groups * _tail(mechanism, parameter, k - 1))
    weak = []
    if partitions != "declared" and k < WEAK_GROUP_SIZE_BELOW:
        weak.append(f"min_group_size {k} is below {WEAK_GROUP_SIZE_BELOW}: groups this small are released with little protection; raise it")
    if select_delta > WEAK_PARTITION_SELECTION_DELTA_ABOVE:
        weak.append(f"partition-selection delta {'%.2g' % select_delta} is above {WEAK_PARTITION_SELECTION_DELTA_ABOVE}: whether a person's "
                    "group exists is poorly hidden; declare the group keys (group_keys), or raise min_group_size or epsilon_per_query")
    return QueryCost(eps, delta or Fraction(0), mechanism, measurements, partitions, keys, select_delta, weak)
