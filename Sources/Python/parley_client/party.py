"""The data scientist's entry point: `Party(key=..., policy=..., server=...)`."""
from __future__ import annotations

import os
import secrets

import httpx

from . import evidence as _evidence
from .errors import EvidenceRefused, ParleyError, ServerError
from .policy import Policy


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
        self.policy = policy if isinstance(policy, Policy) else Policy.load(policy)
        self.server = server.rstrip("/")
        self.state = state or _default_state()
        self._random = random
        self._clock = clock
        self._http = httpx.Client(base_url=self.server, timeout=timeout)
        self.ledger = _evidence.NonceLedger(os.path.join(self.state, "seen-nonces"))

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

    def verify(self, job: str) -> _evidence.Verdict:
        """Fetches the job's evidence for a fresh nonce and verifies it against the policy."""
        nonce = self._random(32)
        data = self.fetch_evidence(job, nonce)
        return _evidence.verify(data, nonce, self.policy, self.ledger, job=job, now=self._now())

    def attest(self, job: str) -> _evidence.Claims:
        """verify(), raising EvidenceRefused unless the worker is trusted; returns its claims."""
        v = self.verify(job)
        if not v.trusted:
            raise EvidenceRefused(v)
        return v.claims

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
