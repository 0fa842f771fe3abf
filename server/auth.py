"""Service keys: minting, hashing at rest, authentication, scope, per-key connect rate limit."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agents.protocol import Scope
from agents.tenancy import is_workspace_id, validate_workspace_id
from server.authaudit import AuditBuffer
from server.db.keys import KeyRecord, KeyRepository

if TYPE_CHECKING:
    from server.sharedlimit import SharedBuckets

__all__ = [
    "AuditBuffer",
    "AuthError",
    "ConnectRateLimiter",
    "KeyService",
    "Principal",
    "RateLimited",
    "hash_key",
    "mint_key",
    "scope_of",
]

KEY_PREFIX = {Scope.UCT: "qk_uct_", Scope.CONTROL_HUB: "qk_ch_"}
SECRET_BYTES = 32


class AuthError(Exception):
    """Authentication or authorisation failed; `reason` goes into the close frame
    (POLICY_VIOLATION)."""

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
    """Keys: create, authenticate (with a short cache of lookups), revoke.

    The cache keeps a connection storm off the database. Revoking through this service takes
    effect at once and is announced to `on_revoke` listeners (server/revocation.py: the other
    replicas and this key's open sockets); a revocation made elsewhere (the CLI, another
    replica) reaches `forget` through the revocation hub within a second.
    """

    def __init__(self, repo: KeyRepository, *, cache_seconds: float = 5.0) -> None:
        self._repo = repo
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, KeyRecord]] = {}
        self.on_revoke: list[Callable[[str], Awaitable[None]]] = []

    async def _lookup(self, key_hash: str) -> KeyRecord | None:
        now = time.monotonic()
        hit = self._cache.get(key_hash)
        if hit is not None and now - hit[0] < self._cache_seconds:
            return hit[1]
        record = await self._repo.by_hash(key_hash)
        if record is not None:
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[key_hash] = (now, record)
        return record

    def forget(self, key_id: str) -> None:
        """Drop `key_id` from the lookup cache (it was revoked somewhere)."""
        self._cache = {h: v for h, v in self._cache.items() if v[1].id != key_id}

    async def revoke(self, key_id: str) -> bool:
        revoked = await self._repo.revoke(key_id)
        self.forget(key_id)
        if revoked:
            for listener in self.on_revoke:
                await listener(key_id)
        return revoked

    async def create(
        self, scope: Scope, *, workspace_id: str, name: str = ""
    ) -> tuple[str, KeyRecord]:
        validate_workspace_id(workspace_id)
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
        record = await self._lookup(hash_key(key))
        if record is None:
            raise AuthError("invalid api_key", "unknown")
        if record.revoked_at is not None:
            raise AuthError("api_key revoked", "revoked", record.id)
        if not is_workspace_id(record.workspace_id):
            # Minted before workspace ids were validated: its tenant boundary is ambiguous.
            raise AuthError(
                "api_key belongs to an invalid workspace id; issue a new key",
                "invalid_workspace",
                record.id,
            )
        if record.scope != required.value:
            need = "UCT (qk_uct_)" if required is Scope.UCT else "ControlHub (qk_ch_)"
            raise AuthError(
                f"api_key lacks scope: this endpoint needs a {need} key", "wrong_scope", record.id
            )
        return Principal(record.id, record.workspace_id, Scope(record.scope))


class ConnectRateLimiter:
    """Token bucket per key: `rate_per_minute` refill, `burst` capacity. In process, or shared
    by every replica when given Redis buckets (server/sharedlimit.py)."""

    def __init__(
        self,
        rate_per_minute: float,
        burst: int,
        *,
        max_keys: int = 100_000,
        shared: SharedBuckets | None = None,
    ) -> None:
        self._rate = rate_per_minute / 60.0
        self._burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._max_keys = max_keys
        self._shared = shared

    async def acquire(self, key_id: str) -> None:
        """Take one connection from the key's bucket; RateLimited when it is empty."""
        if self._shared is None:
            self.check(key_id)
            return
        wait = await self._shared.take(key_id, rate=self._rate, burst=int(self._burst))
        if wait > 0:
            raise RateLimited(wait)

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
