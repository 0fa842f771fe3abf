"""Per-key rate limits hold across replicas through Redis (server/sharedlimit.py): two limiter
instances on two Redis connections stand for two replicas of the service."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.auth import ConnectRateLimiter, RateLimited
from server.gateway.ratelimit import BucketRegistry
from server.sharedlimit import SharedBuckets
from tests.support.server import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
async def replicas(redis_url: str) -> AsyncIterator[tuple[Any, Any]]:
    import redis.asyncio as aioredis

    a, b = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    yield a, b
    await a.aclose()
    await b.aclose()


def name() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


async def test_two_replicas_share_one_bucket_per_key(replicas: tuple[Any, Any]) -> None:
    tag = name()
    one, two = SharedBuckets(replicas[0], tag), SharedBuckets(replicas[1], tag)
    waits = [await (one if i % 2 else two).take("key-1", rate=0.01, burst=5) for i in range(10)]
    assert sum(w == 0.0 for w in waits) == 5, "burst 5 in all, not 5 per replica"
    assert all(w > 50 for w in waits[5:]), "one token per 100 s: about 100 s to wait"
    assert await one.take("key-2", rate=0.01, burst=5) == 0.0, "every key has its own bucket"
    # The per-process buckets this replaces would have let 10 through.
    local = [BucketRegistry(), BucketRegistry()]
    granted = sum(local[i % 2].take("key-1", rate=0.01, burst=5) == 0.0 for i in range(10))
    assert granted == 10


async def test_concurrent_takes_on_both_replicas_never_exceed_the_burst(
    replicas: tuple[Any, Any],
) -> None:
    tag = name()
    buckets = [SharedBuckets(replicas[0], tag), SharedBuckets(replicas[1], tag)]
    waits = await asyncio.gather(*(buckets[i % 2].take("k", rate=0.01, burst=7) for i in range(40)))
    assert sum(w == 0.0 for w in waits) == 7


async def test_the_bucket_refills_at_its_rate(replicas: tuple[Any, Any]) -> None:
    bucket = SharedBuckets(replicas[0], name())
    assert await bucket.take("k", rate=20.0, burst=1) == 0.0
    wait = await bucket.take("k", rate=20.0, burst=1)
    assert 0 < wait <= 0.05
    await asyncio.sleep(0.1)
    assert await bucket.take("k", rate=20.0, burst=1) == 0.0


async def test_a_keys_connect_limit_holds_across_replicas(replicas: tuple[Any, Any]) -> None:
    tag = name()
    limiters = [
        ConnectRateLimiter(1, 3, shared=SharedBuckets(replicas[0], tag)),
        ConnectRateLimiter(1, 3, shared=SharedBuckets(replicas[1], tag)),
    ]
    for i in range(3):
        await limiters[i % 2].acquire("key_a")
    for limiter in limiters:
        with pytest.raises(RateLimited) as refused:
            await limiter.acquire("key_a")
        assert refused.value.retry_after > 1
    await limiters[1].acquire("key_b")


async def test_without_redis_a_take_falls_back_to_this_process() -> None:
    import redis.asyncio as aioredis

    down = aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    bucket = SharedBuckets(down, name())
    waits = [await bucket.take("k", rate=0.01, burst=2) for _ in range(3)]
    await down.aclose()
    assert waits[:2] == [0.0, 0.0] and waits[2] > 0, "still limited, per process"
