"""Failed authentication, limited per client address.

Each failed attempt (missing, malformed, unknown, revoked, wrong-scope key) takes one token from
the address's bucket (`burst` capacity, `rate_per_minute` refill). While the bucket is empty the
address is refused before any key lookup (TRY_AGAIN_LATER with an error event), whatever key it
sends. The table of addresses is bounded (`max_addresses`); when full, the oldest entries are
dropped.
"""

from __future__ import annotations

import time
from collections import OrderedDict


class FailedAuthLimiter:
    def __init__(self, *, rate_per_minute: float, burst: int, max_addresses: int = 100_000) -> None:
        self._rate = rate_per_minute / 60.0
        self._burst = float(burst)
        self._max = max_addresses
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _tokens(self, address: str, now: float) -> float:
        tokens, last = self._buckets.get(address, (self._burst, now))
        return min(self._burst, tokens + (now - last) * self._rate)

    def retry_after(self, address: str, now: float | None = None) -> float | None:
        """Seconds until `address` may try again, or None when it may try now."""
        now = time.monotonic() if now is None else now
        tokens = self._tokens(address, now)
        if tokens >= 1.0:
            return None
        return (1.0 - tokens) / self._rate if self._rate > 0 else 60.0

    def failed(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        tokens = max(0.0, self._tokens(address, now) - 1.0)
        self._buckets[address] = (tokens, now)
        self._buckets.move_to_end(address)
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
