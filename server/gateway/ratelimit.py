"""Token buckets, one per API key, in this process's memory.

A bucket holds up to `burst` tokens and refills at `rate` tokens per second; a request takes one.
These are a single process's buckets; with Redis configured the gateway takes from buckets
shared by every replica instead (server/sharedlimit.py), so a key's rate holds across replicas.
Quotas are counted in the database and are global either way.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    rate: float
    burst: int
    tokens: float = field(default=-1.0)
    updated: float = 0.0

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = float(self.burst)

    def take(self, now: float) -> float:
        """Take one token; 0.0 if granted, else the seconds until one is available."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


def retry_after_header(wait_seconds: float) -> str:
    """Retry-After is whole seconds; never 0 for a refused request."""
    return str(max(1, math.ceil(wait_seconds)))


class BucketRegistry:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def take(self, key_id: str, *, rate: float, burst: int) -> float:
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key_id)
            if bucket is None or bucket.rate != rate or bucket.burst != burst:
                bucket = TokenBucket(rate=rate, burst=burst, updated=now)
                self._buckets[key_id] = bucket
            return bucket.take(now)

    def forget(self, key_id: str) -> None:
        with self._lock:
            self._buckets.pop(key_id, None)
