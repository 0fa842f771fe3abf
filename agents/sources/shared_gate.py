"""Per-host politeness shared by every replica, in Redis: at most `per_host` fetches of one
host at once across the service, each starting `delay` seconds after the previous one started
and after the previous one ended, whichever replica made it.

Same approach as the shared token buckets (server/sharedlimit.py): one Lua script per
operation, so a take is atomic however many replicas take at once, and the time is Redis's own
(`TIME`), so replicas' clocks do not matter. Per host, two keys under
`qubitz:hostgate:<name>:<host>`: a hash with `next_at` (when the next fetch may start) and a
sorted set of the fetches in flight, each a lease that ends at `lease` seconds (a replica that
dies mid-fetch frees its slot then). Both expire once idle.

The client is injected (a `redis.asyncio` client, or anything with `register_script`): agents/
imports nothing of server/. Without Redis the reader keeps its in-process `HostGate`. If Redis
fails, a fetch falls back to this process's gate for that host (politeness then holds per
replica, as without Redis) and a warning is logged; politeness never fails a fetch by itself.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from agents.sources.politeness import HostGate
from agents.sources.reader import ReadPolicy

log = logging.getLogger("qubitz.politeness")

PREFIX = "qubitz:hostgate:"
POLL = 0.05  # seconds between two tries while every slot of the host is taken

# KEYS[1] the host's hash, KEYS[2] its leases; ARGV: per_host, delay, lease, token.
# Returns the seconds to wait as a string ("0": the slot is taken, under `token`).
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local per_host = tonumber(ARGV[1])
local delay = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= per_host then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  local until_free = tonumber(first[2]) - now
  return string.format('%.6f', math.max(0.001, math.min(POLL, until_free)))
end
local next_at = tonumber(redis.call('HGET', KEYS[1], 'next_at')) or 0
if next_at > now then
  return string.format('%.6f', next_at - now)
end
redis.call('ZADD', KEYS[2], now + lease, ARGV[4])
redis.call('HSET', KEYS[1], 'next_at', string.format('%.6f', now + delay))
local ttl = math.ceil((lease + delay) * 1000) + 1000
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return '0'
""".replace("POLL", repr(POLL))

# KEYS as above; ARGV: delay, lease, token. The next fetch waits `delay` after this one ended.
RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local delay = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[3])
local next_at = tonumber(redis.call('HGET', KEYS[1], 'next_at')) or 0
if now + delay > next_at then
  redis.call('HSET', KEYS[1], 'next_at', string.format('%.6f', now + delay))
end
local ttl = math.ceil((lease + delay) * 1000) + 1000
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
"""


def _seconds(raw: Any) -> float:
    return float(raw.decode() if isinstance(raw, bytes) else raw)


class SharedHostGate:
    """The reader's host gate (`HostGate`'s interface) held in Redis for every replica."""

    def __init__(
        self, redis: Any, name: str = "research", *, per_host: int = 2, delay: float = 1.0,
        max_delay: float = 10.0, lease: float = 60.0,
    ) -> None:  # fmt: skip
        self.per_host = max(1, per_host)
        self.delay = max(0.0, delay)
        self.max_delay = max_delay
        self.lease = max(1.0, lease)  # longer than a fetch takes (netsafe's timeout is 20 s)
        self._acquire = redis.register_script(ACQUIRE)
        self._release = redis.register_script(RELEASE)
        self._prefix = f"{PREFIX}{name}:"
        self._delays: dict[str, float] = {}  # from robots.txt Crawl-delay, per host
        # Callers of this process queue here first, so at most `per_host` of them ask Redis.
        self._local = HostGate(per_host=per_host, delay=0.0, max_delay=max_delay)
        # Only while Redis fails: politeness in this process.
        self._fallback = HostGate(per_host=per_host, delay=delay, max_delay=max_delay)

    @classmethod
    def for_policy(cls, redis: Any, policy: ReadPolicy, name: str = "research") -> SharedHostGate:
        """The gate with the reader's per-host concurrency, delay and crawl-delay cap."""
        return cls(
            redis, name, per_host=policy.per_host, delay=policy.delay,
            max_delay=policy.max_crawl_delay,
        )  # fmt: skip

    def set_crawl_delay(self, host: str, seconds: float | None) -> None:
        if seconds is not None and seconds > 0:
            self._delays[host.lower()] = max(self.delay, min(float(seconds), self.max_delay))
            self._fallback.set_crawl_delay(host.lower(), seconds)
            if len(self._delays) > self._local.max_hosts:
                self._delays.pop(next(iter(self._delays)))

    def _keys(self, host: str) -> list[str]:
        return [f"{self._prefix}{host}", f"{self._prefix}{host}:leases"]

    async def _take(self, host: str, delay: float, token: str) -> bool:
        """Wait for the host's shared slot; False if Redis failed (nothing is held then)."""
        keys = self._keys(host)
        while True:
            try:
                raw = await self._acquire(keys=keys, args=[self.per_host, delay, self.lease, token])
            except Exception as exc:  # redis' errors (connection, timeout, script) all land here
                log.warning("shared host gate unavailable (%s); politeness in this process", exc)
                return False
            wait = _seconds(raw)
            if wait <= 0:
                return True
            await asyncio.sleep(wait)

    async def _give_back(self, host: str, delay: float, token: str) -> None:
        try:
            await self._release(keys=self._keys(host), args=[delay, self.lease, token])
        except Exception as exc:  # the lease ends by itself
            log.warning("could not release the shared host slot of %s: %s", host, exc)

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of the host's fetch slots across replicas (see the module docstring)."""
        host = host.lower()
        delay = self._delays.get(host, self.delay)
        token = secrets.token_hex(8)
        async with self._local.slot(host):
            if not await self._take(host, delay, token):
                async with self._fallback.slot(host):
                    yield
                return
            try:
                yield
            finally:
                await asyncio.shield(self._give_back(host, delay, token))
