"""Two gateways (two replicas) on one key store and one Redis: a key's usage-plan rate limit
holds across them (server/sharedlimit.py)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from server.gateway.proxy import Gateway
from server.sharedlimit import SharedBuckets
from tests.gateway.support import serve_asgi, stack
from tests.gateway.test_gateway import APP, PROJECT, WS, create_key
from tests.gateway.upstream import make_upstream

pytestmark = pytest.mark.anyio


async def test_a_keys_burst_is_shared_by_two_gateway_replicas(
    tmp_path: Path, redis_url: str
) -> None:
    import redis.asyncio as aioredis

    tag = f"gw-{uuid.uuid4().hex[:8]}"
    r1, r2 = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    try:
        async with (
            serve_asgi(make_upstream("A")) as upstream,
            stack(tmp_path, shared_buckets=SharedBuckets(r1, tag)) as s,
            httpx.AsyncClient() as upstream_http,
        ):
            await s.deploy_local(WS, PROJECT, APP, upstream)
            second = Gateway(
                keys=s.keys,
                http=upstream_http,
                router=s.gateway.router,
                shared_buckets=SharedBuckets(r2, tag),
            )
            async with serve_asgi(Starlette(routes=second.routes())) as second_url:
                created = await create_key(s, rate_limit=0.01, burst_limit=4)
                headers = {"x-api-key": created.api_key_value}
                path = f"/apps/{APP}/invoke"
                urls = [s.gateway_url + path, second_url + path]
                responses = await asyncio.gather(
                    *(s.http.post(urls[i % 2], headers=headers) for i in range(10))
                )
    finally:
        await r1.aclose()
        await r2.aclose()
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 4 + [429] * 6, "burst 4 in all, not 4 per replica"
