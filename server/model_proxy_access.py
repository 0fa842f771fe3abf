"""Who may call the model proxy, and how much: per-app tokens, rate and concurrency limits.

Tokens: every locally deployed app gets its own bearer token,
`mpx_<base64url(workspace \\n app_id)>.<HMAC-SHA256(secret, workspace \\n app_id)>`, derived
from a secret only this process knows (so restored apps get fresh tokens on restart, and no
token of one app opens another's quota). `verify` returns the (workspace, app) it names.

Limits (per app): `rate_per_minute` requests with a `burst`, `max_concurrent` requests in
flight. Sharing: at most `shared_slots` proxy requests wait for or hold the model at once,
across every app, so research and chat jobs (which use the same model) are never queued behind
more than that many app requests. Over a limit the proxy answers 429 with Retry-After at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

TOKEN_PREFIX = "mpx_"


@dataclass(frozen=True)
class AppIdentity:
    workspace_id: str
    app_id: str


class ProxyTokens:
    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def _mac(self, ident: bytes) -> str:
        return hmac.new(self._secret, b"model-proxy\n" + ident, hashlib.sha256).hexdigest()

    def issue(self, workspace_id: str, app_id: str) -> str:
        ident = f"{workspace_id}\n{app_id}".encode()
        encoded = base64.urlsafe_b64encode(ident).decode().rstrip("=")
        return f"{TOKEN_PREFIX}{encoded}.{self._mac(ident)}"

    def verify(self, token: str) -> AppIdentity | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 600:
            return None
        encoded, _, mac = token[len(TOKEN_PREFIX) :].partition(".")
        try:
            ident = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError:
            return None
        if not hmac.compare_digest(self._mac(ident), mac):
            return None
        workspace_id, sep, app_id = ident.decode(errors="replace").partition("\n")
        return AppIdentity(workspace_id, app_id) if sep else None


@dataclass(frozen=True)
class ProxyLimits:
    # Limits
    rate_per_minute: float = 60.0  # per app
    burst: int = 10  # per app
    max_concurrent: int = 2  # per app, requests in flight
    shared_slots: int = 2  # all apps together, requests waiting for or holding the model
    max_body_bytes: int = 1024 * 1024
    max_output_tokens: int = 4096


class Busy(Exception):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class ProxyAdmission:
    """Admits one request of an app at a time through `enter`/`leave` (in process)."""

    def __init__(self, limits: ProxyLimits, *, max_apps: int = 10_000) -> None:
        self._limits = limits
        self._buckets: dict[str, tuple[float, float]] = {}
        self._in_flight: dict[str, int] = {}
        self._shared = 0
        self._max_apps = max_apps

    def enter(self, app: AppIdentity, now: float | None = None) -> None:
        lim = self._limits
        key = f"{app.workspace_id}\n{app.app_id}"
        now = time.monotonic() if now is None else now
        rate = lim.rate_per_minute / 60.0
        tokens, last = self._buckets.get(key, (float(lim.burst), now))
        tokens = min(float(lim.burst), tokens + (now - last) * rate)
        if tokens < 1.0:
            wait = (1.0 - tokens) / rate if rate > 0 else 60.0
            raise Busy("rate limit of this app's model calls reached", wait)
        if self._in_flight.get(key, 0) >= lim.max_concurrent:
            raise Busy("too many model calls of this app in flight", 1.0)
        if self._shared >= lim.shared_slots:
            raise Busy("the model is busy with other apps' calls", 1.0)
        if len(self._buckets) >= self._max_apps and key not in self._buckets:
            self._buckets.clear()
        self._buckets[key] = (tokens - 1.0, now)
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        self._shared += 1

    def leave(self, app: AppIdentity) -> None:
        key = f"{app.workspace_id}\n{app.app_id}"
        left = self._in_flight.get(key, 1) - 1
        if left > 0:
            self._in_flight[key] = left
        else:
            self._in_flight.pop(key, None)
        self._shared = max(0, self._shared - 1)
