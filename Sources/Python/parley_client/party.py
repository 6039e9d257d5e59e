"""The data scientist's entry point: `Party(key=..., policy=..., server=...)`."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import secrets

import httpx

import time
import warnings

from . import evidence as _evidence
from . import log as _log
from . import receipts as _receipts
from . import stream as _stream
from .errors import EvidenceRefused, ParleyError, ServerError
from .uploads import UploadReceipt
from .keys import PartyKey
from .policy import Policy
from .result import Result, open_result


def _default_state() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "parley")


class Party:
    """One party of a job: its key file, its policy file and the host it talks to.

    `state` is the client-state directory (as the CLI's `--state`); `random` and `clock` are
    injectable for tests (defaults: `secrets.token_bytes`, the wall clock).
    """

    def __init__(self, key: str | None = None, policy: str | Policy = "policy.toml", server: str = "http://127.0.0.1:7300",
                 state: str | None = None, random=secrets.token_bytes, clock=None, timeout: float = 60.0):
        self.key_path = key
        self.key = PartyKey.load(key) if key else None
        self.policy = policy if isinstance(policy, Policy) else Policy.load(policy)
        self.server = server.rstrip("/")
        self.state = state or _default_state()
        self._random = random
        self._clock = clock
        self._http = httpx.Client(base_url=self.server, timeout=timeout)
        self.ledger = _evidence.NonceLedger(os.path.join(self.state, "seen-nonces"))
        self._state = None
        try:
            self.witnesses = [_log.CosignerKey.parse(w) for w in self.policy.witnesses]
        except ParleyError as e:
            raise ParleyError("malformed", f"policy: witnesses: {e.message}") from None

    def _now(self):
        return self._clock() if self._clock else None

    def _get(self, path: str, **params) -> httpx.Response:
        r = self._http.get(path, params=params or None)
        self._raise_for(r)
        return r

    @staticmethod
    def _raise_for(r: httpx.Response) -> None:
        if r.status_code < 400:
            return
        try:
            body = r.json()
            code, msg = str(body.get("code", "error")), str(body.get("error", ""))
        except ValueError:
            code, msg = "error", r.text[:200]
        raise ServerError(r.status_code, code, msg)

    def fetch_evidence(self, job: str, nonce: bytes) -> bytes:
        r = self._get(f"/v1/jobs/{job}/evidence", nonce=nonce.hex())
        if len(r.content) > _evidence.MAX_EVIDENCE_BYTES:
            raise ParleyError("limitExceeded", "the evidence is too large")
        return r.content

    def log_key(self) -> _log.VerifierKey:
        """The policy's pinned `log_key`, else the host's own (with a warning: a host could then
        start a new log under a new key unnoticed)."""
        if self.policy.log_key:
            return _log.VerifierKey.parse(self.policy.log_key)
        warnings.warn("the policy pins no log_key: using the host's own log key, so a new log under a new key would go unnoticed",
                      stacklevel=3)
        return _log.VerifierKey.parse(self._get("/v1/log/key").text[:4096])

    def _log_state(self) -> _log.ClientState:
        if self._state is None:
            self._state = _log.ClientState(self.state, self.log_key())
        return self._state

    def follow_log(self) -> _log.Checkpoint:
        """The host's newest checkpoint, verified and proved to extend the one this client
        remembers (docs/log.md section 7); raises LogRefused naming both sizes otherwise. A
        policy with `witnesses` needs `witness_quorum` valid cosignatures by them on it
        (`tooFewCosignatures`, docs/log.md section 9)."""
        state = self._log_state()
        note = self._get("/v1/log/checkpoint").content[:_log.MAX_NOTE_BYTES + 1].decode("utf-8", "replace")

        def proof(first: int, second: int) -> list[bytes]:
            return _log.decode_proof(self._get("/v1/log/proof/consistency", first=first, second=second).content)

        return state.follow(note, proof, self._now_ms(), self.witnesses, self.policy.witness_quorum)

    def _now_ms(self) -> int:
        now = self._clock() if self._clock else None
        return int((now.timestamp() if now else time.time()) * 1000)

    @property
    def log(self) -> _receipts.LogMemory:
        """Receipts and the ledger memory over this host's log (parley_client.receipts)."""
        return _receipts.LogMemory(self._log_state(), lambda path, **params: self._get(path, **params).content,
                                   self.follow_log, self._now_ms)

    def verify(self, job: str) -> _evidence.Verdict:
        """Follows the log (refusing a rolled-back, forked or rewritten one before anything else),
        then fetches the job's evidence for a fresh nonce and verifies it against the policy. A
        trusted worker's ledger claim and launch entry are then held to the log and to what this
        client saw (LogRefused: `noLedgerBinding`, `ledgerOnOtherLog`, `ledgerCheckpointNotInLog`,
        `launchNotLogged`, `ledgerHidesEntries`), as `parley attest verify --server` does."""
        head = self.follow_log()
        nonce = self._random(32)
        data = self.fetch_evidence(job, nonce)
        verdict = _evidence.verify(data, nonce, self.policy, self.ledger, job=job, now=self._now())
        if verdict.trusted:
            self.log.check_ledger(verdict.claims, head)
        return verdict

    def attest(self, job: str) -> _evidence.Claims:
        """verify(), raising EvidenceRefused unless the worker is trusted; returns its claims."""
        v = self.verify(job)
        if not v.trusted:
            raise EvidenceRefused(v)
        return v.claims

    def _key(self) -> PartyKey:
        if self.key is None:
            raise ParleyError("badKey", "this Party has no key: give key=\"NAME.key\" (from `parley keygen NAME`)")
        return self.key

    def status(self, job: str) -> dict:
        """The job's public status (GET /v1/jobs/{id}): datasets, queries, parties."""
        return self._get(f"/v1/jobs/{job}").json()

    def party_name(self, job: str) -> str:
        """This key's party name in the job: the one whose fingerprint is the key's."""
        fp = self._key().fingerprint
        names = [n for n, f in self.status(job).get("parties", {}).items() if f == fp]
        if len(names) != 1:
            raise ParleyError("notAParty", "this key is not a party of the job (its fingerprint is not in the job's parties)")
        return names[0]

    def upload(self, job: str, dataset: str, data, chunk_size: int = _stream.DEFAULT_CHUNK, progress: bool = True) -> UploadReceipt:
        """Verifies the worker, then seals `data` (a CSV path, bytes, a binary file or a pandas
        DataFrame) to its attested key and streams it, with a tqdm bar (bytes, MB/s) when
        `progress`. Returns the host's answer `{"dataset", "rows", "digest", "log_size"}` with
        `log_index`, the worker's `upload-accepted` entry for exactly this stream, proved into
        the log (receipt kept), as an UploadReceipt: a dict whose fields are also attributes,
        with `plaintext_bytes` and `seconds` (the CSV bytes the worker parsed and its time, None
        from a host that does not report them) and `describe()`, the line `parley upload` prints.
        For a dataset with identifier columns it also holds `identifiers`, the worker's
        IdentifierSummary of rows whose identifiers it could not use (row numbers and reasons,
        never contents); when there are any, an UnusableIdentifiers warning says what
        `parley upload` notes.
        Raises EvidenceRefused or LogRefused (`earlierJobOpen`, ...) before sending a byte,
        ServerError when the host or worker refuses, ReceiptRefused when the log does not account
        for the upload."""
        key = self._key()
        claims = self.attest(job)
        memory = self.log
        memory.check_before_upload(claims)
        f, total, close = _open_data(data)
        try:
            sealer = _stream.StreamSealer(claims.public_key, _stream.upload_info(job, dataset), chunk_size)
            signature = key.sign(_stream.upload_signed_message(job, dataset, sealer.header_sha256))
            digest = hashlib.sha256()
            bar = _progress(total, f"upload {dataset}") if progress else None

            def body():
                for frame in _stream.seal_file(f, sealer, bar.update if bar else None):
                    digest.update(frame)
                    yield frame

            try:
                r = self._http.put(f"/v1/jobs/{job}/datasets/{dataset}", content=body(),
                                   headers=_upload_headers(signature, total))
            finally:
                if bar:
                    bar.close()
            self._raise_for(r)
            answer = r.json()
            if isinstance(answer, dict) and (answer.get("digest") != digest.hexdigest() or answer.get("dataset") != dataset):
                raise ParleyError("receiptMismatch", "the host's receipt names another stream than the one sent")
            receipt = UploadReceipt.parse(answer)
            sent = digest.digest()
            logged = memory.receipt(job, claims.signing_key, f"your upload of {dataset}",
                                    lambda w: w.kind == "upload-accepted" and w.fields["dataset"] == dataset
                                    and w.fields["ciphertext_sha256"] == sent,
                                    hint=receipt.log_size)
            receipt["log_index"] = logged.index
            if receipt.get("identifiers") is not None:
                receipt["identifiers"].warn(stacklevel=3)
            return receipt
        finally:
            if close:
                f.close()

    def seal_upload(self, job: str, dataset: str, data, path: str, chunk_size: int = _stream.DEFAULT_CHUNK):
        """Verifies the worker, then seals `data` into a new file at `path` for a courier to carry
        instead of sending it (parley_client.sealed.seal_upload, docs/spark.md)."""
        from .sealed import seal_upload
        return seal_upload(self, job, dataset, data, path, chunk_size)

    def confirm_delivery(self, sealed, outcome) -> int:
        """Proves a courier's outcome for a sealed upload against the log; returns the
        `upload-accepted` entry's index (parley_client.sealed.confirm_delivery)."""
        from .sealed import confirm_delivery
        return confirm_delivery(self, sealed, outcome)

    def query_result(self, job: str, query: str, params: dict | None = None) -> Result:
        """Verifies the worker, sends a signed request with a fresh nonce, opens and checks the
        sealed result against the attested worker's keys, and finds the worker's `release` entry
        for this very result in the log (`log_index`; ReceiptRefused if the log does not account
        for it).

        `params` binds a query's declared `@parameters` (name -> value in the canonical text the
        module lists: `"2024-06-01"`, `"2"`, `"12.5000"`; `parley_client.inspect` shows them).
        They are signed with the request, so the host cannot change them, and the release entry
        must record exactly them. Raises ParleyError (`bad-params`) for a map that is not 1 to 8
        text values of at most 128 bytes, and ServerError (`bad-params`, with the host's message)
        for values the module does not allow."""
        key = self._key()
        params = _check_params(params)
        claims = self.attest(job)
        receiver = self.party_name(job)
        nonce = self._random(32)
        signature = key.sign(_stream.query_request_message(job, query, receiver, nonce, params))
        body = {"receiver": receiver, "nonce": nonce.hex(), "signature": signature.hex()}
        if params:
            body["params"] = params
        r = self._http.post(f"/v1/jobs/{job}/queries/{query}", json=body)
        self._raise_for(r)
        from cryptography.hazmat.primitives import serialization as s
        raw = key.agreement.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())
        result = open_result(r.content, raw, claims, query, nonce)
        logged = self.log.receipt(job, claims.signing_key, f"the release of your result of {query}",
                                  lambda w: w.kind == "release" and w.fields["query"] == query and w.fields["receiver"] == receiver
                                  and w.fields["result_sha256"] == result.signed_sha256
                                  and w.fields.get("params", {}) == params)
        return dataclasses.replace(result, log_index=logged.index, params=dict(params))

    def query(self, job: str, query: str, params: dict | None = None):
        """query_result() as a pandas DataFrame; `attrs` hold epsilon charged, delta, budget left,
        suppressed groups, the mechanism, the inputs' digests, job, query, the bound `params`
        and timestamp."""
        return to_dataframe(self.query_result(job, query, params))

    def audit_export(self):
        """The host's audit bundle (`GET /v1/audit/export`), as a parley_client.audit.AuditBundle."""
        from .audit import AuditBundle
        return AuditBundle.from_export(self._get("/v1/audit/export").content)

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _check_params(params) -> dict:
    """The request's parameter values as the wire carries them: `{}` for none, else 1 to 8
    text names and text values of at most 128 bytes (docs/formats.md section 4a). Whether the
    module allows them is the worker's and the host's check (`bad-params`)."""
    if params is None or params == {}:
        return {}
    if not isinstance(params, dict) or len(params) > _stream.MAX_QUERY_PARAMS:
        raise ParleyError("bad-params", f"params must be a dict of at most {_stream.MAX_QUERY_PARAMS} values")
    for k, v in params.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ParleyError("bad-params", "params must map names to values written as text, e.g. {\"since\": \"2024-06-01\"}")
        if len(v.encode("utf-8")) > _stream.MAX_QUERY_PARAM_BYTES:
            raise ParleyError("bad-params", f"parameter @{k} is over {_stream.MAX_QUERY_PARAM_BYTES} bytes")
    return dict(params)


def _open_data(data):
    """(binary file, size or None, whether to close it) for a path, bytes, a file or a DataFrame."""
    if isinstance(data, (str, os.PathLike)):
        return open(data, "rb"), os.path.getsize(data), True
    if isinstance(data, (bytes, bytearray)):
        return io.BytesIO(bytes(data)), len(data), True
    if hasattr(data, "to_csv"):
        b = data.to_csv(index=False).encode("utf-8")
        return io.BytesIO(b), len(b), True
    if hasattr(data, "read"):
        return data, None, False
    raise TypeError("data must be a path, bytes, a binary file or a pandas DataFrame")


def _progress(total, desc):
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, leave=False)


def to_dataframe(r: Result):
    import pandas as pd
    df = pd.DataFrame(r.rows, columns=r.columns)
    for c in df.columns:
        if df[c].dtype == object:
            try:
                df[c] = pd.to_numeric(df[c])
            except (ValueError, TypeError):
                pass
    df.attrs.update({"job": r.job, "query": r.query, "epsilon_charged": r.epsilon, "delta_charged": r.delta,
                     "budget_left": r.budget_left, "suppressed_groups": r.suppressed_groups, "mechanism": r.mechanism,
                     "inputs": {k: v.hex() for k, v in r.inputs.items()}, "timestamp_ms": r.timestamp_ms,
                     "result_sha256": r.signed_sha256.hex(), "log_index": r.log_index,
                     "params": dict(r.params)})
    return df


def _upload_headers(signature: bytes, total) -> dict:
    """The upload's headers: the provider's signature and, when the size is known, the
    plaintext size (`Parley-Upload-Size`, an unsigned hint that sizes the worker's buffers and
    lets it refuse early a dataset its memory cannot hold; docs/data-plane.md)."""
    headers = {"Parley-Signature": signature.hex(), "Content-Type": "application/octet-stream"}
    if isinstance(total, int) and total >= 0:
        headers["Parley-Upload-Size"] = str(total)
    return headers
