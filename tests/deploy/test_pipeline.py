"""The /deploy pipeline on the local target: event order, progress, errors, teardown."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from agents.deploy.pipeline import NO_ARCHITECTURE, DeployDeps, deploy_pipeline
from agents.deploy.targets.base import DeploymentRecord
from agents.deploy.targets.local import LocalTarget, LocalTargetConfig
from agents.deploy.targets.supervisor import ProcessSupervisor
from agents.errors import PipelineFailed
from agents.pipeline import JobContext
from agents.protocol import DeployRequest, event_to_dict
from agents.spec.schema import AgentConfig, Architecture
from agents.spec.validation import canonical_json
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.deployments import SqlDeploymentStore
from server.db.specs import SqlSpecStore
from tests.deploy.support import RouterDouble, write_runtime_repo
from tests.support.failures import events_as_sent

pytestmark = pytest.mark.anyio

ARCH = Architecture(
    agents_config={
        "helper": AgentConfig(
            name="Helper",
            description="Answers questions",
            model="openai:tiny",
            prompt="You are helpful.",
            tools=["calculator"],
        )
    }
)
CTX = JobContext(job_id="job1", workspace_id="ws1", endpoint="deploy")


def fake_render(
    arch: Architecture,
    *,
    app_name: str,
    out_dir: Path,
    spec_version: int,
    region: str = "us-east-1",
    description: str = "",
) -> Path:
    """Renderer double: the stand-in runtime, versioned by spec version."""
    assert arch.agents_config
    return write_runtime_repo(out_dir, f"v{spec_version}")


@dataclass
class SynthDouble:
    fail_with: str | None = None
    calls: int = 0

    async def __call__(
        self, repo_dir: Path, *, on_step: Callable[[str, int], None] | None = None
    ) -> None:
        self.calls += 1
        assert (repo_dir / "runtime" / "serve.py").is_file()
        if on_step is not None:
            on_step("Check - Runtime tests", 15)
            on_step("Check - CDK synth", 40)
        if self.fail_with is not None:
            raise PipelineFailed("synth exited with 1", step="synth", details=[self.fail_with])


@dataclass
class World:
    deps: DeployDeps
    router: RouterDouble
    specs: SqlSpecStore
    deployments: SqlDeploymentStore
    target: LocalTarget
    synth: SynthDouble
    destroyed: list[tuple[str, str]]


@pytest.fixture
def router() -> Iterator[RouterDouble]:
    r = RouterDouble()
    yield r
    r.close()


@pytest.fixture
async def world(tmp_path: Path, router: RouterDouble) -> AsyncIterator[World]:
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
    destroyed: list[tuple[str, str]] = []

    async def on_destroyed(ws: str, project: str, record: DeploymentRecord) -> None:
        destroyed.append((ws, project))

    synth = SynthDouble()
    deps = DeployDeps(
        specs=specs,
        deployments=deployments,
        targets={"local": target},
        default_target="local",
        render=fake_render,
        synth_check=synth,
        work_dir=tmp_path / "work",
        on_destroyed=on_destroyed,
    )
    yield World(deps, router, specs, deployments, target, synth, destroyed)
    await sup.shutdown()
    await engine.dispose()


async def add_spec(w: World, project: str = "proj") -> None:
    await w.specs.append(
        "ws1",
        project,
        user_id="u1",
        action="generate",
        instruction="Helper",
        spec_json=canonical_json(ARCH),
    )


async def run(w: World, **fields: Any) -> list[dict[str, Any]]:
    req = DeployRequest(user_id="u1", project_id=fields.pop("project_id", "proj"), **fields)
    events = await events_as_sent(deploy_pipeline(w.deps), req, CTX)
    return [event_to_dict(e) for e in events]


async def test_no_spec_yields_no_architecture(world: World) -> None:
    """Without a spec the pipeline ends with the reference's no_architecture error."""
    events = await run(world)
    assert [e["type"] for e in events] == ["deployment_started", "error"]
    assert events[1]["data"] == {"error": "no_architecture", "message": NO_ARCHITECTURE}
    assert world.synth.calls == 0


async def test_deploy_streams_reference_sequence_and_serves_endpoint(world: World) -> None:
    """started → statuses → complete(cicd) → statuses → 100 → complete(deployed) → complete."""
    await add_spec(world)
    events = await run(world)
    types = [e["type"] for e in events]
    assert types[0] == "deployment_started"
    assert types[-2:] == ["deployment_complete", "complete"]
    first, second = (e["data"] for e in events if e["type"] == "deployment_complete")
    assert types.index("deployment_complete") < len(types) - 2
    assert first["deployment_status"] == "deploying_via_cicd"
    assert first["github_repo"].startswith("file://")
    assert second["deployment_status"] == "deployed"
    assert second["github_repo"] == first["github_repo"]
    statuses = [e["data"] for e in events if e["type"] == "status"]
    percents = [s["progress_percent"] for s in statuses]
    assert percents == sorted(percents)
    assert percents[-1] == 100
    assert all(" - " in s["message"] for s in statuses)
    messages = [s["message"] for s in statuses]
    assert "Check - CDK synth" in messages
    assert "Local deploy - Health check" in messages

    async with httpx.AsyncClient() as client:
        resp = await client.post(second["agent_endpoint"], json={"input": "hi"})
    assert resp.json()["output"] == "v1:hi"
    live = await world.deployments.get_deployed("ws1", "proj")
    assert live is not None
    assert live.endpoint == second["agent_endpoint"]
    current = await world.specs.current("ws1", "proj")
    assert current is not None
    assert current.status == "deployed"


async def test_synth_failure_reports_output_and_pushes_nothing(world: World) -> None:
    """A failing synth check ends with synth_failed and its output; no repo, no record."""
    await add_spec(world)
    world.synth.fail_with = "Error: Cannot find module 'aws-cdk-lib'"
    events = await run(world)
    assert events[-1]["type"] == "error"
    assert events[-1]["data"]["error"] == "synth_failed"
    assert "Error: Cannot find module 'aws-cdk-lib'" in events[-1]["data"]["details"]
    assert "deployment_complete" not in [e["type"] for e in events]
    app_id = await world.deployments.allocate_app("ws1", "proj")
    assert not world.target.bare_repo("ws1", app_id).exists()
    assert await world.deployments.get("ws1", "proj") is None
    assert list((world.deps.work_dir).iterdir()) == []


async def test_destroy_removes_app_and_calls_hook(world: World) -> None:
    """destroy stops the app, records it destroyed and calls on_destroyed (key revocation)."""
    await add_spec(world)
    deployed = await run(world)
    endpoint = deployed[-2]["data"]["agent_endpoint"]
    events = await run(world, action="destroy")
    assert [e["type"] for e in events][-2:] == ["deployment_complete", "complete"]
    assert events[-2]["data"]["deployment_status"] == "destroyed"
    percents = [e["data"]["progress_percent"] for e in events if e["type"] == "status"]
    assert percents == sorted(percents)
    assert percents[-1] == 100
    assert world.destroyed == [("ws1", "proj")]
    assert await world.deployments.get_deployed("ws1", "proj") is None
    async with httpx.AsyncClient() as client:
        assert (await client.post(endpoint, json={"input": "x"})).status_code == 404


async def test_destroy_without_deployment_is_an_error(world: World) -> None:
    """Destroying a project that was never deployed yields not_deployed."""
    events = await run(world, action="destroy")
    assert events[-1]["type"] == "error"
    assert events[-1]["data"]["error"] == "not_deployed"
