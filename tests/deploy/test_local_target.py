"""The local target end to end: bare repo, runtime process, gateway route, swap, destroy."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from agents.deploy.progress import Progress
from agents.deploy.targets.base import DeployJob, DeploymentRecord, PublishResult
from agents.deploy.targets.local import LocalTarget, LocalTargetConfig
from agents.deploy.targets.supervisor import AppStartFailed, ProcessSupervisor
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.deployments import SqlDeploymentStore
from tests.deploy.support import RouterDouble, write_runtime_repo

pytestmark = pytest.mark.anyio

JOB = DeployJob(workspace_id="ws1", project_id="proj", app_name="proj-abc123", spec_version=1)


@pytest.fixture
def router() -> Iterator[RouterDouble]:
    r = RouterDouble()
    yield r
    r.close()


@pytest.fixture
async def supervisor() -> AsyncIterator[ProcessSupervisor]:
    sup = ProcessSupervisor(python=sys.executable, health_timeout=20)
    yield sup
    await sup.shutdown()


def make_target(
    tmp_path: Path, router: RouterDouble, supervisor: ProcessSupervisor, *, grace: float = 0.0
) -> LocalTarget:
    cfg = LocalTargetConfig(
        data_dir=tmp_path / "data",
        public_url=router.url,
        python=sys.executable,
        model_base_url="http://127.0.0.1:9/v1",
        model_name="tiny",
        swap_grace_seconds=grace,
    )
    return LocalTarget(cfg, router=router, supervisor=supervisor)


async def deploy(
    target: LocalTarget, repo: Path, job: DeployJob = JOB
) -> tuple[PublishResult, list[Progress]]:
    published = await target.publish(job, repo)
    steps = [p async for p in target.run(job, published)]
    return published, steps


def git_out(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


async def test_publish_makes_one_commit_per_deploy_in_a_cloneable_bare_repo(
    tmp_path: Path, router: RouterDouble, supervisor: ProcessSupervisor
) -> None:
    """Each publish is one commit by "qubitz"; a clone has the files but no build output."""
    target = make_target(tmp_path, router, supervisor)
    first = await target.publish(JOB, write_runtime_repo(tmp_path / "r1", "v1"))
    second = await target.publish(JOB, write_runtime_repo(tmp_path / "r2", "v2"))
    assert first.repo_url.startswith("file://")
    assert first.repo_url == second.repo_url
    clone = tmp_path / "clone"
    git_out("clone", "-q", second.repo_url, str(clone), cwd=tmp_path)
    assert (clone / "runtime" / "serve.py").is_file()
    assert (clone / "VERSION").read_text().strip() == "v2"
    assert not (clone / "cdk.out").exists()
    assert git_out("log", "--format=%H %an", cwd=clone).splitlines() == [
        f"{second.revision} qubitz",
        f"{first.revision} qubitz",
    ]


async def test_deploy_runs_runtime_behind_gateway_with_model_env(
    tmp_path: Path, router: RouterDouble, supervisor: ProcessSupervisor
) -> None:
    """run() reports every step, starts the runtime, and the endpoint answers via the router."""
    target = make_target(tmp_path, router, supervisor)
    published, steps = await deploy(target, write_runtime_repo(tmp_path / "r1", "v1"))
    assert steps[0].step == "Checkout"
    assert steps[-1].completed_steps == steps[-1].total_steps
    assert [p.completed_steps for p in steps] == sorted(p.completed_steps for p in steps)
    endpoint = (await target.endpoint(JOB, published)).url
    assert endpoint == f"{router.url}/apps/{JOB.app_id}/invoke"
    async with httpx.AsyncClient() as client:
        resp = await client.post(endpoint, json={"input": "hello"})
        assert resp.json()["output"] == "v1:hello"
        app = supervisor.current(JOB.app_id)
        assert app is not None
        health = (await client.get(f"{app.url}/health")).json()
    assert health["model"] == "tiny"
    assert router.routes[JOB.app_id][1:] == ("ws1", "proj")


async def test_redeploy_swaps_without_dropping_requests(
    tmp_path: Path, router: RouterDouble, supervisor: ProcessSupervisor
) -> None:
    """A request in flight on v1 completes; traffic during the swap never fails; v1 then stops."""
    target = make_target(tmp_path, router, supervisor, grace=2.0)
    await deploy(target, write_runtime_repo(tmp_path / "r1", "v1"))
    endpoint = target.endpoint_url(JOB.app_id)
    old = supervisor.current(JOB.app_id)
    assert old is not None
    results: list[str] = []
    swapping = True

    async with httpx.AsyncClient(timeout=30) as client:

        async def steady_traffic() -> None:
            for _ in range(2000):  # bounded; stops soon after the swap
                resp = await client.post(endpoint, json={"input": "ping"})
                assert resp.status_code == 200
                results.append(str(resp.json()["output"]))
                if not swapping and results[-1].startswith("v2"):
                    return

        slow = asyncio.create_task(client.post(endpoint, json={"input": "sleep:1"}))
        traffic = asyncio.create_task(steady_traffic())
        await deploy(target, write_runtime_repo(tmp_path / "r2", "v2"))
        swapping = False
        await traffic
        slow_resp = await slow
    assert slow_resp.status_code == 200
    assert slow_resp.json()["output"] == "v1:sleep:1"
    assert results[-1] == "v2:ping"
    assert results[0] == "v1:ping"
    for _ in range(200):  # bounded wait for the retired process to be stopped
        if not old.running:
            break
        await asyncio.sleep(0.05)
    assert not old.running


async def test_destroy_stops_process_and_removes_route(
    tmp_path: Path, router: RouterDouble, supervisor: ProcessSupervisor
) -> None:
    """destroy() unregisters the app and stops its process; the endpoint then answers 404."""
    target = make_target(tmp_path, router, supervisor)
    published, _ = await deploy(target, write_runtime_repo(tmp_path / "r1", "v1"))
    app = supervisor.current(JOB.app_id)
    assert app is not None
    record = DeploymentRecord(
        "ws1",
        "proj",
        JOB.app_id,
        "local",
        "deployed",
        repo_url=published.repo_url,
        revision=published.revision,
    )
    steps = [p async for p in target.destroy(JOB, record)]
    assert steps[-1].status == "destroyed"
    assert not app.running
    assert supervisor.current(JOB.app_id) is None
    async with httpx.AsyncClient() as client:
        resp = await client.post(target.endpoint_url(JOB.app_id), json={"input": "x"})
    assert resp.status_code == 404


async def test_runtime_that_crashes_is_reported_and_not_routed(
    tmp_path: Path, router: RouterDouble, supervisor: ProcessSupervisor
) -> None:
    """A runtime that exits at start fails the deploy with its log; no route is registered."""
    target = make_target(tmp_path, router, supervisor)
    repo = write_runtime_repo(tmp_path / "r1", "v1")
    (repo / "runtime" / "serve.py").write_text("raise SystemExit('boom: no config')\n")
    with pytest.raises(AppStartFailed) as info:
        await deploy(target, repo)
    assert any("boom: no config" in line for line in info.value.details or [])
    assert JOB.app_id not in router.routes


async def test_restore_apps_restarts_deployed_apps(tmp_path: Path, router: RouterDouble) -> None:
    """After a service restart, apps recorded as deployed run again from their checkouts."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    store = SqlDeploymentStore(make_sessionmaker(engine))
    first = ProcessSupervisor(python=sys.executable, health_timeout=20)
    target = make_target(tmp_path, router, first)
    published, _ = await deploy(target, write_runtime_repo(tmp_path / "r1", "v1"))
    await store.save(
        DeploymentRecord(
            "ws1",
            "proj",
            JOB.app_id,
            "local",
            "deployed",
            repo_url=published.repo_url,
            endpoint=target.endpoint_url(JOB.app_id),
            revision=published.revision,
        )
    )
    await first.shutdown()
    router.routes.clear()

    second = ProcessSupervisor(python=sys.executable, health_timeout=20)
    try:
        restarted = make_target(tmp_path, router, second)
        assert await restarted.restore_apps(store) == [JOB.app_id]
        async with httpx.AsyncClient() as client:
            resp = await client.post(restarted.endpoint_url(JOB.app_id), json={"input": "hi"})
        assert resp.json()["output"] == "v1:hi"
    finally:
        await second.shutdown()
        await engine.dispose()
