"""Token buckets shared by every replica, in Redis: per-key connect limits and the local
gateway's per-key (usage-plan) rate limits hold across replicas.

A bucket is one Redis hash (`qubitz:bucket:<name>:<key>`: tokens, last refill) updated by one
Lua script, so a take is atomic however many replicas take at once, and the time is Redis's own
(`TIME`), so replicas' clocks do not matter. The hash expires once it would be full again.
Without Redis (a single process) the callers keep their in-process buckets.

Why not a library: `limits` (PyPI) has maintained Redis storage, but its strategies are fixed,
moving and sliding windows; the limits here are token buckets with a rate and a burst (the shape
of API Gateway usage plans, which the local gateway mirrors, and of the documented
QUBITZ_CONNECT_RATE_PER_MINUTE/QUBITZ_CONNECT_BURST). A window cannot express "burst N, then
R per second" without changing what the operator configured, and the bucket is one short
script.

If Redis fails, a take falls back to this process's bucket for that key (the limit then holds per
replica, as before) and logs a warning; a rate limiter never fails a request by itself.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from server.gateway.ratelimit import BucketRegistry

log = logging.getLogger("qubitz.ratelimit")

PREFIX = "qubitz:bucket:"

# KEYS[1] the bucket; ARGV: rate (tokens per second), burst. Returns the seconds to wait as a
# string ("0" when granted; Lua numbers would be truncated to integers in the reply).
TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
elseif rate > 0 then
  wait = (1 - tokens) / rate
else
  wait = 60
end
redis.call('HSET', KEYS[1],
  'tokens', string.format('%.6f', tokens), 'ts', string.format('%.6f', now))
local ttl = 60000
if rate > 0 then
  ttl = math.ceil((burst / rate) * 1000) + 1000
end
redis.call('PEXPIRE', KEYS[1], ttl)
return string.format('%.6f', wait)
"""


class SharedBuckets:
    """Token buckets in Redis under `qubitz:bucket:<name>:`; `take` is atomic across replicas."""

    def __init__(self, redis: Any, name: str) -> None:
        self._script = redis.register_script(TAKE)
        self._prefix = f"{PREFIX}{name}:"
        self._local = BucketRegistry()  # only while Redis fails

    async def take(self, key: str, *, rate: float, burst: int) -> float:
        """Take one token from `key`'s bucket: 0.0 if granted, else seconds until one is."""
        try:
            raw = await self._script(keys=[self._prefix + key], args=[repr(rate), burst])
        except Exception as exc:  # redis' errors (connection, timeout, script) all land here
            log.warning("shared rate limit unavailable (%s); limiting in this process", exc)
            return self._local.take(key, rate=rate, burst=burst)
        wait = float(raw.decode() if isinstance(raw, bytes) else raw)
        return 0.0 if wait <= 0 or math.isnan(wait) else wait
