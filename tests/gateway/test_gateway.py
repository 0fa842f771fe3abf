"""The local gateway on 127.0.0.1: keys, rate, quota, proxying, upstream switch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agents.appkeys.pipelines import create_api_key_pipeline, delete_api_key_pipeline
from agents.pipeline import JobContext
from agents.protocol import (
    ApiKeyCreated,
    ApiKeyCreatedData,
    CreateApiKeyRequest,
    DeleteApiKeyRequest,
)
from tests.gateway.support import Stack, serve_asgi, stack
from tests.gateway.upstream import make_upstream

pytestmark = pytest.mark.anyio

WS = "ws-a"
PROJECT = "proj1"
APP = "proj1-app"


async def create_key(s: Stack, **extra: Any) -> ApiKeyCreatedData:
    run = create_api_key_pipeline(s.deps)
    request = CreateApiKeyRequest(user_id="u1", project_id=PROJECT, **extra)
    events = [e async for e in run(request, JobContext("job1", WS, "createapikey"))]
    assert len(events) == 1
    assert isinstance(events[0], ApiKeyCreated)
    return events[0].data


async def delete_key(s: Stack, key_id: str) -> None:
    run = delete_api_key_pipeline(s.deps)
    request = DeleteApiKeyRequest(user_id="u1", project_id=PROJECT, api_key_id=key_id)
    _ = [e async for e in run(request, JobContext("job2", WS, "deleteapikey"))]


async def test_key_lets_requests_through_and_deleted_key_is_refused_at_once(
    tmp_path: Path,
) -> None:
    """A new key invokes the app through the gateway; once deleted it gets 403 immediately."""
    async with serve_asgi(make_upstream("A")) as upstream, stack(tmp_path) as s:
        await s.deploy_local(WS, PROJECT, APP, upstream)
        created = await create_key(s)
        assert created.api_endpoint == f"{s.gateway_url}/apps/{APP}/invoke"

        ok = await s.http.post(
            created.api_endpoint,
            params={"q": "1"},
            content=b"hello",
            headers={"x-api-key": created.api_key_value},
        )
        assert ok.status_code == 200
        body = ok.json()
        assert body == {
            "upstream": "A",
            "method": "POST",
            "path": "/invoke",
            "query": "q=1",
            "body": "hello",
            "key_id": created.api_key_id,
            "saw_api_key": False,
            "forwarded_for": "127.0.0.1",
        }
        assert ok.headers["x-upstream"] == "A"

        await delete_key(s, created.api_key_id)
        refused = await s.http.post(
            created.api_endpoint, headers={"x-api-key": created.api_key_value}
        )
        assert refused.status_code == 403
        assert refused.json() == {"message": "Forbidden"}


async def test_missing_or_unknown_key_is_forbidden_and_unknown_app_is_not_found(
    tmp_path: Path,
) -> None:
    """No key / a wrong key -> 403 Forbidden; an app nobody registered -> 404."""
    async with serve_asgi(make_upstream("A")) as upstream, stack(tmp_path) as s:
        await s.deploy_local(WS, PROJECT, APP, upstream)
        await create_key(s)
        url = f"{s.gateway_url}/apps/{APP}/invoke"
        missing = await s.http.post(url)
        wrong = await s.http.post(url, headers={"x-api-key": "x" * 40})
        unknown_app = await s.http.post(
            f"{s.gateway_url}/apps/nope/invoke", headers={"x-api-key": "x" * 40}
        )
        assert (missing.status_code, missing.json()) == (403, {"message": "Forbidden"})
        assert (wrong.status_code, wrong.json()) == (403, {"message": "Forbidden"})
        assert unknown_app.status_code == 404


async def test_key_of_another_project_is_forbidden(tmp_path: Path) -> None:
    """A key only opens its own project's app, even on the same gateway."""
    async with serve_asgi(make_upstream("A")) as upstream, stack(tmp_path) as s:
        await s.deploy_local(WS, PROJECT, APP, upstream)
        await s.deploy_local(WS, "other", "other-app", upstream)
        created = await create_key(s)
        r = await s.http.post(
            f"{s.gateway_url}/apps/other-app/invoke",
            headers={"x-api-key": created.api_key_value},
        )
        assert r.status_code == 403


async def test_rate_limit_refuses_beyond_burst_with_retry_after(tmp_path: Path) -> None:
    """With burst 3 and a slow refill, a burst of 8 gets exactly 3 through and 5 x 429."""
    async with serve_asgi(make_upstream("A")) as upstream, stack(tmp_path) as s:
        await s.deploy_local(WS, PROJECT, APP, upstream)
        created = await create_key(s, rate_limit=0.01, burst_limit=3)
        headers = {"x-api-key": created.api_key_value}
        responses = await asyncio.gather(
            *(s.http.post(created.api_endpoint, headers=headers) for _ in range(8))
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] * 3 + [429] * 5
        for r in responses:
            if r.status_code == 429:
                assert r.json() == {"message": "Too Many Requests"}
                assert int(r.headers["retry-after"]) >= 1


async def test_quota_refuses_over_limit_and_counts_usage(tmp_path: Path) -> None:
    """Quota 4/DAY under a concurrent burst of 10: exactly 4 pass; the rest get a clear 429."""
    async with serve_asgi(make_upstream("A")) as upstream, stack(tmp_path) as s:
        await s.deploy_local(WS, PROJECT, APP, upstream)
        created = await create_key(s, quota_limit=4, quota_period="DAY")
        headers = {"x-api-key": created.api_key_value}
        responses = await asyncio.gather(
            *(s.http.get(f"{s.gateway_url}/apps/{APP}/status", headers=headers) for _ in range(10))
        )
        assert sorted(r.status_code for r in responses) == [200] * 4 + [429] * 6
        over = next(r for r in responses if r.status_code == 429)
        body = over.json()
        assert body["error"] == "quota_exceeded"
        assert body["message"] == "Limit Exceeded"
        assert (body["quota_limit"], body["quota_period"], body["used"]) == (4, "DAY", 4)
        assert int(over.headers["retry-after"]) >= 1
        usage = await s.keys.usage(WS, created.api_key_id)
        assert [(u.day, u.count) for u in usage] == [(datetime.now(UTC).date(), 4)]


async def test_unreachable_upstream_is_service_unavailable(tmp_path: Path) -> None:
    """An app whose process is down answers 503, not a hang or a 500."""
    async with serve_asgi(make_upstream("gone")) as upstream:
        pass  # the server is stopped again: its port refuses connections
    async with stack(tmp_path) as s:
        await s.deploy_local(WS, PROJECT, APP, upstream)
        created = await create_key(s)
        r = await s.http.post(created.api_endpoint, headers={"x-api-key": created.api_key_value})
        assert r.status_code == 503
        assert r.json() == {"message": "Service Unavailable"}


async def test_switching_upstream_keeps_in_flight_request_alive(tmp_path: Path) -> None:
    """A response streaming from the old upstream completes after the app is re-registered."""
    release = asyncio.Event()
    async with (
        serve_asgi(make_upstream("A", release)) as old,
        serve_asgi(make_upstream("B")) as new,
        stack(tmp_path) as s,
    ):
        await s.deploy_local(WS, PROJECT, APP, old)
        created = await create_key(s)
        headers = {"x-api-key": created.api_key_value}
        async with s.http.stream(
            "GET", f"{s.gateway_url}/apps/{APP}/slow", headers=headers
        ) as in_flight:
            chunks = in_flight.aiter_raw()
            first = await anext(chunks)
            assert first == b"A:first;"

            await s.gateway.router.register(APP, new, WS, PROJECT)
            switched = await s.http.post(created.api_endpoint, headers=headers)
            assert switched.json()["upstream"] == "B"

            release.set()
            rest = b"".join([c async for c in chunks])
        assert in_flight.status_code == 200
        assert first + rest == b"A:first;A:second"


async def test_unregistered_app_is_not_found(tmp_path: Path) -> None:
    """After unregister the gateway no longer routes the app."""
    async with serve_asgi(make_upstream("A")) as upstream, stack(tmp_path) as s:
        await s.deploy_local(WS, PROJECT, APP, upstream)
        created = await create_key(s)
        await s.gateway.router.unregister(APP)
        r = await s.http.post(created.api_endpoint, headers={"x-api-key": created.api_key_value})
        assert r.status_code == 404


async def test_upstream_timeout_is_gateway_timeout(tmp_path: Path) -> None:
    """An app that never answers within the upstream timeout gets 504, not a hung client."""
    never = asyncio.Event()
    async with (
        serve_asgi(make_upstream("A", never)) as upstream,
        stack(tmp_path, upstream_timeout=0.3) as s,
    ):
        await s.deploy_local(WS, PROJECT, APP, upstream)
        created = await create_key(s)

        r = await s.http.get(
            f"{s.gateway_url}/apps/{APP}/stall", headers={"x-api-key": created.api_key_value}
        )
        assert r.status_code == 504
        assert r.json() == {"message": "Endpoint request timed out"}
        never.set()


async def test_upstream_closing_without_answer_is_bad_gateway(tmp_path: Path) -> None:
    """An upstream that drops the connection without a response yields 502."""

    async def slam(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(slam, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with stack(tmp_path) as s:
            await s.deploy_local(WS, PROJECT, APP, f"http://127.0.0.1:{port}")
            created = await create_key(s)
            r = await s.http.get(
                f"{s.gateway_url}/apps/{APP}/x", headers={"x-api-key": created.api_key_value}
            )
            assert r.status_code == 502
            assert r.json() == {"message": "Bad Gateway"}
    finally:
        server.close()
        await server.wait_closed()
