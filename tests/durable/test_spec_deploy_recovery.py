"""/getspec and /deploy jobs whose server stops mid-way go on from the interrupted step after
the restart: the rationale is not asked for again, the spec is stored once; the repository is
rendered, checked and pushed once, and the deploy run resumed."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from agents.deploy.pipeline import DeployDeps, deploy_pipeline
from agents.deploy.targets.local import LocalTarget, LocalTargetConfig
from agents.deploy.targets.supervisor import ProcessSupervisor
from agents.llm.port import StaticRegistry
from agents.protocol import Scope
from agents.spec.deps import SpecDeps
from agents.spec.generate import getspec_pipeline
from agents.spec.schema import Architecture
from agents.spec.validation import canonical_json
from server.composition import Wired
from server.db.base import make_engine, make_sessionmaker
from server.db.deployments import SqlDeploymentStore
from server.db.specs import SqlSpecStore
from server.settings import Settings
from tests.conftest import make_settings
from tests.deploy.support import RouterDouble, write_runtime_repo
from tests.durable.support import (
    HeldLLM,
    Hold,
    assert_whole,
    resume_after_restart,
    resumed_step,
    stop_while_held,
)
from tests.spec.helpers import ReportLoader, design
from tests.support.pipelines import default_pipelines
from tests.support.scripted_llm import ScriptedLLM
from tests.support.server import run_server

pytestmark = pytest.mark.anyio

GETSPEC = {
    "user_id": "user123",
    "project_id": "project21",
    "use_case_name": "Fraud triage",
    "use_case_description": "Sort incoming fraud alerts by risk.",
}


def wiring(build: Callable[[Any], dict[str, Any]]) -> Any:
    """The test pipelines, with `build(infra)`'s product pipelines on the server's database."""

    @contextlib.asynccontextmanager
    async def wire(infra: Any) -> AsyncIterator[Wired]:
        yield Wired(pipelines={**default_pipelines(), **build(infra)})

    return wire


async def versions(settings: Settings, project: str) -> list[Any]:
    engine = make_engine(settings.resolved_database_url)
    try:
        return await SqlSpecStore(make_sessionmaker(engine)).history("ws1", project)
    finally:
        await engine.dispose()


async def test_a_getspec_job_stopped_while_validating_resumes_at_validate(tmp_path: Path) -> None:
    scripted = ScriptedLLM().enqueue("Two agents: one researches, one analyses.", design())
    hold = Hold(matches=lambda r: r.json_schema is not None)
    llm = HeldLLM(scripted, hold)

    def build(infra: Any) -> dict[str, Any]:
        deps = SpecDeps(
            llms=StaticRegistry(default=llm),
            store=SqlSpecStore(infra.sessions),
            load_report=ReportLoader(),
        )
        return {"getspec": getspec_pipeline(deps)}

    settings = make_settings(tmp_path / "data")
    first, key = await stop_while_held(
        settings, wiring(build), "getspec", GETSPEC, hold.reached, scope=Scope.CONTROL_HUB
    )
    hold.released.set()
    recovered = await resume_after_restart(settings, wiring(build), "getspec", first, key)
    assert_whole(recovered)
    assert [resumed_step(e) for e in recovered.resumed()] == ["validate"]
    assert [r.json_schema is None for r in scripted.requests] == [True, False]  # each once
    types = [e["type"] for e in recovered.events if not e.get("data", {}).get("resumed")]
    assert types[:2] == ["ack", "stream_start"] and types[-2:] == ["stream_end", "architecture"]
    assert types.count("ack") == 1 and types.count("stream_start") == 1
    stored = await versions(settings, "project21")
    assert [v.version for v in stored] == [1]
    assert recovered.events[-1]["data"]["version"] == 1


@dataclasses.dataclass
class HeldRouter:
    """The router double; the first route switch waits for the hold (the ci step is running)."""

    inner: RouterDouble
    hold: Hold

    async def register(
        self, app_id: str, upstream_url: str, workspace_id: str, project_id: str
    ) -> None:
        await self.hold.wait()
        await self.inner.register(app_id, upstream_url, workspace_id, project_id)

    async def unregister(self, app_id: str) -> None:
        await self.inner.unregister(app_id)


@dataclasses.dataclass
class Counted:
    renders: int = 0
    synths: int = 0


ARCH = Architecture.model_validate(
    {
        "agents_config": {
            "helper": {
                "name": "Helper",
                "description": "Answers questions",
                "model": "openai:tiny",
                "prompt": "You are helpful.",
                "tools": ["calculator"],
            }
        }
    }
)


async def test_a_deploy_stopped_while_its_run_goes_on_renders_and_pushes_once(
    tmp_path: Path,
) -> None:
    counted = Counted()
    hold = Hold()
    router = RouterDouble()
    data = tmp_path / "apps"

    def render(arch: Architecture, *, app_name: str, out_dir: Path, spec_version: int,
               region: str = "", description: str = "") -> Path:  # fmt: skip
        counted.renders += 1
        return write_runtime_repo(out_dir, f"v{spec_version}")

    async def synth(repo_dir: Path, *, on_step: Any = None) -> None:
        counted.synths += 1
        assert (repo_dir / "runtime" / "serve.py").is_file()

    supervisors: list[ProcessSupervisor] = []

    def build(infra: Any) -> dict[str, Any]:
        sup = ProcessSupervisor(python=sys.executable, health_timeout=20)
        supervisors.append(sup)
        target = LocalTarget(
            LocalTargetConfig(
                data_dir=data, public_url=router.url, python=sys.executable, swap_grace_seconds=0
            ),
            router=HeldRouter(router, hold),
            supervisor=sup,
        )
        deps = DeployDeps(
            specs=SqlSpecStore(infra.sessions),
            deployments=SqlDeploymentStore(infra.sessions),
            targets={"local": target},
            default_target="local",
            render=render,
            synth_check=synth,
            work_dir=tmp_path / "work",
        )
        return {"deploy": deploy_pipeline(deps)}

    settings = make_settings(tmp_path / "data")
    payload = {"user_id": "u1", "project_id": "proj"}
    try:
        first, key = await _seeded_stop(settings, wiring(build), payload, hold)
        hold.released.set()
        recovered = await resume_after_restart(settings, wiring(build), "deploy", first, key)
        assert_whole(recovered)
        assert [resumed_step(e) for e in recovered.resumed()] == ["ci"]
        assert (counted.renders, counted.synths) == (1, 1)
        done = [e["data"] for e in recovered.events if e["type"] == "deployment_complete"]
        assert [d["deployment_status"] for d in done] == ["deploying_via_cicd", "deployed"]
        bare = Path(done[0]["github_repo"].removeprefix("file://"))
        commits = await asyncio.to_thread(
            subprocess.run,
            ["git", "--git-dir", str(bare), "rev-list", "--count", "main"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert commits.stdout.strip() == "1"
        async with httpx.AsyncClient() as client:
            resp = await client.post(done[1]["agent_endpoint"], json={"input": "hi"})
        assert resp.json()["output"] == "v1:hi"
    finally:
        for sup in supervisors:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sup.shutdown(), 10)
        router.close()


async def _seeded_stop(settings: Settings, wire: Any, payload: dict[str, Any], hold: Hold) -> Any:
    """Store the spec to deploy (on the schema a first start made), then run the deploy until
    its route switch is held and stop the server."""
    with run_server(settings, wire):
        pass
    engine = make_engine(settings.resolved_database_url)
    try:
        await SqlSpecStore(make_sessionmaker(engine)).append(
            "ws1", "proj", user_id="u1", action="generate", instruction="Helper",
            spec_json=canonical_json(ARCH),
        )  # fmt: skip
    finally:
        await engine.dispose()
    return await stop_while_held(
        settings, wire, "deploy", payload, hold.reached, scope=Scope.CONTROL_HUB
    )
