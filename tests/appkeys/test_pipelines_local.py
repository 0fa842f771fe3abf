"""/createapikey and /deleteapikey pipelines on the local target (real DB, real gateway)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from agents.appkeys.pipelines import (
    create_api_key_pipeline,
    delete_api_key_pipeline,
    revoke_all_for_app,
)
from agents.appkeys.ports import PlanLimits
from agents.deploy.targets.base import DeploymentRecord
from agents.errors import Conflict, InvalidRequest, NotFound
from agents.pipeline import JobContext
from agents.protocol import (
    ApiKeyCreated,
    ApiKeyCreatedData,
    ApiKeyDeleted,
    CreateApiKeyRequest,
    DeleteApiKeyRequest,
    event_to_dict,
)
from server.cli_apikey import list_report, usage_report
from tests.gateway.support import Stack, serve_asgi, stack
from tests.gateway.upstream import make_upstream

pytestmark = pytest.mark.anyio

WS, OTHER_WS = "ws-a", "ws-b"
PROJECT, APP = "proj1", "proj1-app"
DEFAULTS = PlanLimits(rate_limit=50.0, burst_limit=100, quota_limit=10_000, quota_period="MONTH")


async def create(s: Stack, workspace: str = WS, **extra: Any) -> ApiKeyCreatedData:
    run = create_api_key_pipeline(s.deps)
    req = CreateApiKeyRequest(user_id="u1", project_id=PROJECT, **extra)
    events = [e async for e in run(req, JobContext("j", workspace, "createapikey"))]
    assert [type(e) for e in events] == [ApiKeyCreated]
    assert isinstance(events[0], ApiKeyCreated)
    return events[0].data


async def delete(
    s: Stack, key_id: str, workspace: str = WS, usage_plan_id: str | None = None
) -> dict[str, Any]:
    run = delete_api_key_pipeline(s.deps)
    req = DeleteApiKeyRequest(
        user_id="u1", project_id=PROJECT, api_key_id=key_id, usage_plan_id=usage_plan_id
    )
    events = [e async for e in run(req, JobContext("j", workspace, "deleteapikey"))]
    assert [type(e) for e in events] == [ApiKeyDeleted]
    return event_to_dict(events[0])


async def invoke(s: Stack, created: ApiKeyCreatedData) -> int:
    r = await s.http.post(created.api_endpoint, headers={"x-api-key": created.api_key_value})
    return r.status_code


async def test_created_event_matches_reference_shape(tmp_path: Path) -> None:
    """api_key_created carries value, id, usage plan and endpoint; the value is only hashed."""
    async with serve_asgi(make_upstream("A")) as up, stack(tmp_path, default_limits=DEFAULTS) as s:
        await s.deploy_local(WS, PROJECT, APP, up)
        created = await create(s, key_name="production-key")
        assert len(created.api_key_value) == 40
        assert created.api_key_value.isalnum()
        assert created.usage_plan_id.startswith("up_")
        stored = await s.keys.get_key(WS, PROJECT, created.api_key_id)
        assert stored is not None
        assert stored.name == "production-key"
        assert stored.key_hash is not None
        assert created.api_key_value not in stored.key_hash
        assert await delete(s, created.api_key_id) == {
            "type": "api_key_deleted",
            "data": {"api_key_id": created.api_key_id},
        }


async def test_not_deployed_project_is_a_clear_error(tmp_path: Path) -> None:
    """No deployment, or one still deploying, -> not_deployed."""
    async with stack(tmp_path) as s:
        with pytest.raises(Conflict) as no_deploy:
            await create(s)
        assert no_deploy.value.code == "not_deployed"
        await s.deployments.save(
            DeploymentRecord(
                workspace_id=WS, project_id=PROJECT, app_id=APP, target="local", status="deploying"
            )
        )
        with pytest.raises(Conflict) as deploying:
            await create(s)
        assert deploying.value.code == "not_deployed"


async def test_deleting_twice_is_key_not_found(tmp_path: Path) -> None:
    """The second delete of a key is refused with key_not_found."""
    async with serve_asgi(make_upstream("A")) as up, stack(tmp_path) as s:
        await s.deploy_local(WS, PROJECT, APP, up)
        created = await create(s)
        await delete(s, created.api_key_id)
        with pytest.raises(NotFound) as twice:
            await delete(s, created.api_key_id)
        assert twice.value.code == "key_not_found"


async def test_concurrent_deletes_succeed_once(tmp_path: Path) -> None:
    """Two deletes racing: exactly one api_key_deleted, the other key_not_found."""
    async with serve_asgi(make_upstream("A")) as up, stack(tmp_path) as s:
        await s.deploy_local(WS, PROJECT, APP, up)
        created = await create(s)
        results = await asyncio.gather(
            delete(s, created.api_key_id), delete(s, created.api_key_id), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        assert len(errors) == 1
        assert isinstance(errors[0], NotFound)
        assert errors[0].code == "key_not_found"


async def test_another_workspace_can_neither_delete_nor_list_the_key(tmp_path: Path) -> None:
    """Workspace B gets key_not_found (as for a missing key), sees no keys; the key still works."""
    async with serve_asgi(make_upstream("A")) as up, stack(tmp_path) as s:
        await s.deploy_local(WS, PROJECT, APP, up)
        created = await create(s)
        with pytest.raises(NotFound) as foreign:
            await delete(s, created.api_key_id, workspace=OTHER_WS)
        with pytest.raises(NotFound) as missing:
            await delete(s, "doesnotexist", workspace=WS)
        assert foreign.value.code == missing.value.code == "key_not_found"
        assert await s.keys.list_keys(OTHER_WS, PROJECT) == []
        assert await list_report(s.keys, OTHER_WS, PROJECT, include_deleted=True) == []
        assert await usage_report(s.keys, OTHER_WS, PROJECT, created.api_key_id, days=7) is None
        assert await invoke(s, created) == 200


async def test_requested_limits_get_a_dedicated_plan(tmp_path: Path) -> None:
    """Keys without limits share the app's plan; different limits get their own plan."""
    async with serve_asgi(make_upstream("A")) as up, stack(tmp_path, default_limits=DEFAULTS) as s:
        await s.deploy_local(WS, PROJECT, APP, up)
        first = await create(s)
        second = await create(s, rate_limit=50.0)  # same as the app's plan
        custom = await create(s, rate_limit=2.0, quota_limit=5, quota_period="DAY")
        assert first.usage_plan_id == second.usage_plan_id
        assert custom.usage_plan_id != first.usage_plan_id
        plan = await s.keys.get_plan(WS, custom.usage_plan_id)
        assert plan is not None
        assert plan.dedicated
        assert plan.limits == PlanLimits(
            rate_limit=2.0, burst_limit=100, quota_limit=5, quota_period="DAY"
        )
        await delete(s, custom.api_key_id)
        assert await s.keys.get_plan(WS, custom.usage_plan_id) is None
        assert await s.keys.get_plan(WS, first.usage_plan_id) is not None


async def test_wrong_usage_plan_on_delete_is_refused(tmp_path: Path) -> None:
    """usage_plan_id that is not the key's plan -> usage_plan_mismatch; the key keeps working."""
    async with serve_asgi(make_upstream("A")) as up, stack(tmp_path) as s:
        await s.deploy_local(WS, PROJECT, APP, up)
        created = await create(s)
        with pytest.raises(InvalidRequest) as exc:
            await delete(s, created.api_key_id, usage_plan_id="up_other")
        assert exc.value.code == "usage_plan_mismatch"
        assert await invoke(s, created) == 200
        await delete(s, created.api_key_id, usage_plan_id=created.usage_plan_id)
        assert await invoke(s, created) == 403


async def test_quota_period_without_quota_is_invalid(tmp_path: Path) -> None:
    """quota_period alone, on an app plan without quota, is refused as invalid_limits."""
    async with serve_asgi(make_upstream("A")) as up, stack(tmp_path) as s:
        await s.deploy_local(WS, PROJECT, APP, up)
        with pytest.raises(InvalidRequest) as exc:
            await create(s, quota_period="WEEK")
        assert exc.value.code == "invalid_limits"


async def test_revoke_all_for_app_disables_every_key(tmp_path: Path) -> None:
    """Teardown deletes all live keys of the project; they stop working; others are untouched."""
    async with serve_asgi(make_upstream("A")) as up, stack(tmp_path) as s:
        await s.deploy_local(WS, PROJECT, APP, up)
        keys = [await create(s) for _ in range(3)]
        await delete(s, keys[0].api_key_id)
        assert [await invoke(s, k) for k in keys] == [403, 200, 200]
        assert await revoke_all_for_app(s.deps, OTHER_WS, PROJECT) == 0
        assert await revoke_all_for_app(s.deps, WS, PROJECT) == 2
        assert [await invoke(s, k) for k in keys] == [403, 403, 403]
        assert await s.keys.list_keys(WS, PROJECT) == []


async def test_usage_is_listed_per_key(tmp_path: Path) -> None:
    """The admin reports show accepted requests per key and per day."""
    async with serve_asgi(make_upstream("A")) as up, stack(tmp_path) as s:
        await s.deploy_local(WS, PROJECT, APP, up)
        busy, idle = await create(s, key_name="busy"), await create(s, key_name="idle")
        for _ in range(3):
            assert await invoke(s, busy) == 200
        listed = {
            k["name"]: k["usage"]
            for k in await list_report(s.keys, WS, PROJECT, include_deleted=False)
        }
        assert listed["busy"]["today"] == listed["busy"]["total"] == 3
        assert listed["idle"]["total"] == 0
        report = await usage_report(s.keys, WS, PROJECT, busy.api_key_id, days=7)
        assert report is not None
        assert report["total"] == 3
        assert [d["count"] for d in report["days"]] == [3]
        assert idle.api_key_id != busy.api_key_id
