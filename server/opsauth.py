"""Who may read /metrics: a bearer token when the operator set one, else loopback clients only.

With QUBITZ_METRICS_TOKEN set, `/metrics` needs `Authorization: Bearer <token>` from anywhere;
without it, only clients on the loopback interface (a sidecar or a local scraper) may read it.
"""

from __future__ import annotations

import hmac
import ipaddress

from starlette.requests import Request


def metrics_allowed(request: Request, token: str | None) -> bool:
    if token:
        supplied = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(supplied.encode(), token.encode())
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
