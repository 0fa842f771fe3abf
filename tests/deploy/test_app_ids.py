"""App ids: allocated under a unique constraint, stable per project, never shared by workspaces.

The brute-force test finds two workspaces whose project `demo` collided under the old naming
rule (project slug + 24 bits of a hash of workspace and project) and deploys both through the
pipeline on the local target: their app ids, gateway routes, repositories and processes differ,
and destroying one leaves the other serving.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from agents.deploy.pipeline import DeployDeps, deploy_pipeline
from agents.deploy.render import APP_NAME
from agents.deploy.targets.base import AppIdTaken, AppOwner, DeploymentRecord, new_app_id
from agents.deploy.targets.local import LocalTarget, LocalTargetConfig
from agents.deploy.targets.supervisor import ProcessSupervisor
from agents.pipeline import JobContext
from agents.protocol import DeployRequest, event_to_dict
from agents.spec.validation import canonical_json
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.deployments import SqlDeploymentStore
from server.db.specs import SqlSpecStore
from tests.deploy.support import RouterDouble
from tests.deploy.test_pipeline import ARCH, SynthDouble, fake_render
from tests.support.failures import events_as_sent

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Any]:
    engine = make_engine(db_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield make_sessionmaker(engine)
    await engine.dispose()


def old_app_name(workspace_id: str, project_id: str) -> str:
    """The naming rule before allocation (slug + 6 hex digits of sha256(workspace, project))."""
    digest = hashlib.sha256(f"{workspace_id}\0{project_id}".encode()).hexdigest()[:6]
    return f"{project_id}-{digest}"


def colliding_workspaces(project: str, *, limit: int = 400_000) -> tuple[str, str]:
    """Two workspace ids whose `project` had the same app name under the old rule."""
    seen: dict[str, str] = {}
    for i in range(limit):
        ws = f"ws{i}"
        name = old_app_name(ws, project)
        if name in seen:
            return seen[name], ws
        seen[name] = ws
    raise AssertionError("no collision found")  # pragma: no cover (birthday bound ~5k tries)


async def test_allocation_is_stable_valid_and_unique(store: Any) -> None:
    """One id per (workspace, project), stable; equal project ids differ by workspace."""
    apps = SqlDeploymentStore(store)
    first = await apps.allocate_app("ws1", "My App!!")
    assert APP_NAME.match(first), first
    assert first.startswith("my-app-")
    assert await apps.allocate_app("ws1", "My App!!") == first
    other = await apps.allocate_app("ws2", "My App!!")
    assert other != first
    assert await apps.app_owner(first) == AppOwner("ws1", "My App!!")
    assert await apps.app_owner(other) == AppOwner("ws2", "My App!!")
    for project in ["123", "x" * 200, "-", "a", "Ünïcode"]:
        assert APP_NAME.match(await apps.allocate_app("ws1", project))


async def test_concurrent_allocations_agree(store: Any) -> None:
    """Ten racing allocations for one project return one id; the table holds one row for it."""
    apps = SqlDeploymentStore(store)
    ids = await asyncio.gather(*(apps.allocate_app("ws1", "race") for _ in range(10)))
    assert len(set(ids)) == 1


async def test_a_taken_candidate_is_drawn_again(store: Any) -> None:
    """A candidate id already allocated elsewhere is never reused: the next candidate is taken."""
    candidates = iter(["demo-aaaaaaaa", "demo-aaaaaaaa", "demo-bbbbbbbb"])
    apps = SqlDeploymentStore(store, candidate_id=lambda project: next(candidates))
    assert await apps.allocate_app("ws-a", "demo") == "demo-aaaaaaaa"
    assert await apps.allocate_app("ws-b", "demo") == "demo-bbbbbbbb"
    assert await apps.app_owner("demo-aaaaaaaa") == AppOwner("ws-a", "demo")


async def test_save_refuses_another_workspaces_app_id(store: Any) -> None:
    """A record naming an app id allocated to another workspace is refused and changes nothing."""
    apps = SqlDeploymentStore(store)
    theirs = await apps.allocate_app("victim", "demo")
    await apps.save(DeploymentRecord("victim", "demo", theirs, "local", "deployed", endpoint="e"))
    with pytest.raises(AppIdTaken):
        await apps.save(DeploymentRecord("attacker", "demo", theirs, "local", "deploying"))
    mine = await apps.allocate_app("attacker", "demo")
    with pytest.raises(AppIdTaken):  # nor may a project switch to someone else's id
        await apps.save(DeploymentRecord("attacker", "demo", theirs, "local", "deploying"))
    await apps.save(DeploymentRecord("attacker", "demo", mine, "local", "deploying"))
    victim = await apps.get("victim", "demo")
    assert victim is not None and victim.status == "deployed" and victim.app_id == theirs
    assert [r.workspace_id for r in await apps.list_deployed(target="local")] == ["victim"]


def test_new_ids_are_random_not_derived() -> None:
    """The same project gets a different candidate each draw: nothing to brute-force offline."""
    drawn = {new_app_id("demo") for _ in range(50)}
    assert len(drawn) == 50
    assert all(APP_NAME.match(d) for d in drawn)


@dataclass
class Two:
    deps: DeployDeps
    router: RouterDouble
    target: LocalTarget
    sup: ProcessSupervisor
    deployments: SqlDeploymentStore


@pytest.fixture
def router() -> Iterator[RouterDouble]:
    r = RouterDouble()
    yield r
    r.close()


@pytest.fixture
async def two(tmp_path: Path, router: RouterDouble) -> AsyncIterator[Two]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = make_sessionmaker(engine)
    specs, deployments = SqlSpecStore(sessions), SqlDeploymentStore(sessions)
    sup = ProcessSupervisor(python=sys.executable, health_timeout=20)
    target = LocalTarget(
        LocalTargetConfig(
            data_dir=tmp_path / "data",
            public_url=router.url,
            python=sys.executable,
            swap_grace_seconds=0,
        ),
        router=router,
        supervisor=sup,
    )
    deps = DeployDeps(
        specs=specs,
        deployments=deployments,
        targets={"local": target},
        default_target="local",
        render=fake_render,
        synth_check=SynthDouble(),
        work_dir=tmp_path / "work",
    )
    yield Two(deps, router, target, sup, deployments)
    await sup.shutdown()
    await engine.dispose()


async def _deploy(two: Two, ws: str, **fields: Any) -> list[dict[str, Any]]:
    await two.deps.specs.append(
        ws, "demo", user_id="u", action="generate", instruction="x", spec_json=canonical_json(ARCH)
    )
    req = DeployRequest(user_id="u", project_id="demo", **fields)
    ctx = JobContext(job_id=f"job-{ws}", workspace_id=ws, endpoint="deploy")
    return [event_to_dict(e) for e in await events_as_sent(deploy_pipeline(two.deps), req, ctx)]


async def test_old_name_collision_shares_nothing(two: Two) -> None:
    """Workspaces whose `demo` collided under the old rule get separate ids, routes, repos, apps."""
    ws_a, ws_b = colliding_workspaces("demo")
    assert old_app_name(ws_a, "demo") == old_app_name(ws_b, "demo")
    events_a = await _deploy(two, ws_a)
    events_b = await _deploy(two, ws_b)
    assert events_a[-1]["type"] == events_b[-1]["type"] == "complete"
    rec_a = await two.deployments.get_deployed(ws_a, "demo")
    rec_b = await two.deployments.get_deployed(ws_b, "demo")
    assert rec_a is not None and rec_b is not None
    assert rec_a.app_id != rec_b.app_id
    assert rec_a.repo_url != rec_b.repo_url and rec_a.endpoint != rec_b.endpoint
    assert two.router.routes[rec_a.app_id][1:] == (ws_a, "demo")
    assert two.router.routes[rec_b.app_id][1:] == (ws_b, "demo")
    proc_a, proc_b = two.sup.current(rec_a.app_id), two.sup.current(rec_b.app_id)
    assert proc_a is not None and proc_b is not None
    assert proc_a.running and proc_b.running and proc_a.port != proc_b.port
    assert two.target.bare_repo(ws_a, rec_a.app_id) != two.target.bare_repo(ws_b, rec_b.app_id)

    destroyed = await _destroy(two, ws_a)
    assert destroyed[-2]["data"]["deployment_status"] == "destroyed"
    assert proc_b.running and two.sup.current(rec_b.app_id) is proc_b
    assert rec_b.endpoint is not None
    async with httpx.AsyncClient(timeout=10) as client:
        resp = await client.post(rec_b.endpoint, json={"input": "still here"})
    assert resp.status_code == 200 and resp.json()["output"] == "v1:still here"
    assert rec_a.app_id not in two.router.routes


async def _destroy(two: Two, ws: str) -> list[dict[str, Any]]:
    req = DeployRequest(user_id="u", project_id="demo", action="destroy")
    ctx = JobContext(job_id=f"destroy-{ws}", workspace_id=ws, endpoint="deploy")
    return [event_to_dict(e) for e in await events_as_sent(deploy_pipeline(two.deps), req, ctx)]


async def test_destroy_from_another_workspace_touches_nothing(two: Two) -> None:
    """A workspace with no deployment of `demo` gets not_deployed; the owner's app keeps serving."""
    await _deploy(two, "owner")
    live = await two.deployments.get_deployed("owner", "demo")
    assert live is not None
    events = await _destroy(two, "intruder")
    assert events[-1]["data"]["error"] == "not_deployed"
    assert two.sup.current(live.app_id) is not None
    assert live.app_id in two.router.routes


def test_ids_are_allocated_once_per_project_in_a_table() -> None:
    """The allocation table's constraints: app_id is the key, (workspace, project) is unique."""
    table = Base.metadata.tables["apps"]
    assert [c.name for c in table.primary_key.columns] == ["app_id"]
    uniques = [
        tuple(c.name for c in con.columns)
        for con in table.constraints
        if con.__class__.__name__ == "UniqueConstraint"
    ]
    assert ("workspace_id", "project_id") in uniques
