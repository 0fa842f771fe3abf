"""App key values reach the live socket only; the stored and replayed copies are masked."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from agents.pipeline import JobContext
from agents.protocol import ApiKeyCreated, ApiKeyCreatedData, Event, Scope
from server.db.base import make_engine, make_sessionmaker
from server.db.jobs import JobRepository
from server.db.migrate import upgrade
from server.eventlog import EventLog, JobEnd, JobMeta
from server.secretmask import mask_value
from server.sinks import DatabaseSink, RedisSink
from tests.conftest import make_settings, mint
from tests.support.pipelines import as_wiring, default_pipelines
from tests.support.server import RunningServer, run_server
from tests.support.wsclient import PAYLOADS, run

pytestmark = pytest.mark.anyio
VALUE = "gw_" + secrets.token_urlsafe(32)


async def _create(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
    yield ApiKeyCreated(
        data=ApiKeyCreatedData(
            api_key_value=VALUE, api_key_id="key_1", usage_plan_id="plan", api_endpoint="http://x"
        )
    )


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[RunningServer]:
    pipelines = {**default_pipelines(), "createapikey": _create}
    with run_server(make_settings(tmp_path / "data"), as_wiring(pipelines)) as s:
        yield s


async def test_the_live_socket_gets_the_value_a_resume_gets_it_masked(srv: RunningServer) -> None:
    key = mint(srv, Scope.CONTROL_HUB)
    live = await run(f"{srv.ws}/createapikey?api_key={key}", PAYLOADS["createapikey"])
    assert live.close_code == 1000
    created = live.events[0]
    assert created["data"]["api_key_value"] == VALUE
    job_id = created["job_id"]

    replay = await run(f"{srv.ws}/createapikey?api_key={key}&job_id={job_id}&since=0")
    assert replay.close_code == 1000
    assert replay.events[0]["data"]["api_key_value"] == mask_value(VALUE)
    assert VALUE not in str(replay.events)
    assert replay.events[0]["data"]["api_key_id"] == "key_1"  # the rest is intact

    srv.call(srv.services.log.flush())
    async with httpx.AsyncClient(base_url=srv.http) as http:  # the read API replays it masked
        api = await http.get(f"/v1/jobs/{job_id}/events", headers={"X-API-Key": key})
    assert api.status_code == 200 and VALUE not in api.text and mask_value(VALUE) in api.text
    stored = srv.call(JobRepository(srv.services.key_repo._sessions).events(job_id, 0))
    assert stored and all(VALUE not in text for _seq, text in stored)
    assert VALUE[:6] in stored[0][1]


async def test_redis_and_database_sinks_never_hold_the_value(
    tmp_path: Path, redis_url: str
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    redis = aioredis.from_url(redis_url)
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    try:
        await upgrade(engine)
        jobs = JobRepository(make_sessionmaker(engine))
        log = EventLog([RedisSink(redis, prefix=prefix), DatabaseSink(jobs)])
        log.create("job_x", JobMeta("job_x", "ws1", "createapikey", "r1"))
        sub = log.subscribe("job_x", 0)  # subscribed before the event: a live socket
        log.append("job_x", {"type": "api_key_created", "data": {"api_key_value": VALUE}})
        log.finish("job_x", JobEnd("succeeded", 1000))
        await log.flush()  # subscribers see events once they are durable (docs/protocol.md)
        live = await asyncio.wait_for(sub.next(), 5)
        assert isinstance(live, list) and VALUE in live[0].text
        late = log.subscribe("job_x", 0)  # subscribed after it: a resume
        replayed = await asyncio.wait_for(late.next(), 5)
        assert isinstance(replayed, list) and VALUE not in replayed[0].text
        await log.flush()
        rows = await redis.xrange(f"{prefix}:job:job_x")
        assert rows and all(VALUE.encode() not in b"".join(f.values()) for _id, f in rows)
        assert all(VALUE not in t for _s, t in await jobs.events("job_x", 0))
    finally:
        keys = await redis.keys(f"{prefix}:*")
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await engine.dispose()
