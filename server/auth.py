"""Service keys: minting, hashing at rest, authentication, scope, per-key connect rate limit."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from agents.protocol import Scope
from server.db.keys import KeyRecord, KeyRepository

KEY_PREFIX = {Scope.UCT: "qk_uct_", Scope.CONTROL_HUB: "qk_ch_"}
SECRET_BYTES = 32


class AuthError(Exception):
    """Authentication or authorisation failed; `reason` goes into the close frame (1008)."""

    def __init__(self, reason: str, outcome: str, key_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.outcome = outcome
        self.key_id = key_id


class RateLimited(Exception):
    def __init__(self, retry_after: float):
        super().__init__(f"too many connections for this key; retry in {retry_after:.1f}s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Principal:
    key_id: str
    workspace_id: str
    scope: Scope


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def mint_key(scope: Scope) -> tuple[str, str]:
    """A new key and its id. The key is shown once; only its hash is stored."""
    secret = secrets.token_urlsafe(SECRET_BYTES)  # 32 random bytes -> 43 url-safe characters
    return KEY_PREFIX[scope] + secret, "key_" + secrets.token_hex(8)


def scope_of(key: str) -> Scope | None:
    for scope, prefix in KEY_PREFIX.items():
        if key.startswith(prefix):
            return scope
    return None


class KeyService:
    def __init__(self, repo: KeyRepository) -> None:
        self._repo = repo

    async def create(
        self, scope: Scope, *, workspace_id: str, name: str = ""
    ) -> tuple[str, KeyRecord]:
        key, key_id = mint_key(scope)
        record = await self._repo.add(
            key_id=key_id,
            workspace_id=workspace_id,
            scope=scope.value,
            name=name,
            prefix=key[: len(KEY_PREFIX[scope]) + 4],
            key_hash=hash_key(key),
        )
        return key, record

    async def authenticate(self, key: str | None, required: Scope) -> Principal:
        if not key:
            raise AuthError("missing api_key", "missing")
        scope = scope_of(key)
        if scope is None or len(key) > 200:
            raise AuthError("invalid api_key", "malformed")
        record = await self._repo.by_hash(hash_key(key))
        if record is None:
            raise AuthError("invalid api_key", "unknown")
        if record.revoked_at is not None:
            raise AuthError("api_key revoked", "revoked", record.id)
        if record.scope != required.value:
            need = "UCT (qk_uct_)" if required is Scope.UCT else "ControlHub (qk_ch_)"
            raise AuthError(
                f"api_key lacks scope: this endpoint needs a {need} key", "wrong_scope", record.id
            )
        return Principal(record.id, record.workspace_id, Scope(record.scope))


class ConnectRateLimiter:
    """Token bucket per key: `rate_per_minute` refill, `burst` capacity. In-process."""

    def __init__(self, rate_per_minute: float, burst: int, *, max_keys: int = 100_000) -> None:
        self._rate = rate_per_minute / 60.0
        self._burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._max_keys = max_keys

    def check(self, key_id: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(key_id, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens < 1.0:
            self._buckets[key_id] = (tokens, now)
            raise RateLimited((1.0 - tokens) / self._rate if self._rate > 0 else 60.0)
        if len(self._buckets) >= self._max_keys and key_id not in self._buckets:
            self._buckets.clear()
        self._buckets[key_id] = (tokens - 1.0, now)
