"""The /deploy pipeline with the real renderer and the real synth check on the local target."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from agents.deploy.pipeline import DeployDeps, deploy_pipeline
from agents.deploy.render import render_repository
from agents.deploy.synth import check_repository
from agents.deploy.targets.local import LocalTarget, LocalTargetConfig
from agents.deploy.targets.supervisor import ProcessSupervisor
from agents.pipeline import JobContext
from agents.protocol import DeployRequest, event_to_dict
from agents.spec.validation import canonical_json
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.deployments import SqlDeploymentStore
from server.db.specs import SqlSpecStore
from tests.deploy.support import RouterDouble
from tests.deploy.test_local_rendered_app import ARCH, ChatCompletionsDouble
from tests.support.failures import events_as_sent

pytestmark = pytest.mark.anyio

CDK = Path(__file__).resolve().parents[2] / ".cache" / "cdk" / "node_modules" / ".bin" / "cdk"


async def run_pipeline(tmp_path: Path, cdk_cli: list[str]) -> tuple[list[dict[str, Any]], Path]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = make_sessionmaker(engine)
    specs = SqlSpecStore(sessions)
    await specs.append(
        "ws1",
        "greeter",
        user_id="u1",
        action="generate",
        instruction="Greeter",
        spec_json=canonical_json(ARCH),
    )
    router, model = RouterDouble(), ChatCompletionsDouble()
    sup = ProcessSupervisor(python=sys.executable, health_timeout=30)
    data = tmp_path / "data"
    target = LocalTarget(
        LocalTargetConfig(
            data_dir=data,
            public_url=router.url,
            python=sys.executable,
            model_base_url=model.url,
            model_name="m",
            swap_grace_seconds=0,
        ),
        router=router,
        supervisor=sup,
    )
    deps = DeployDeps(
        specs=specs,
        deployments=SqlDeploymentStore(sessions),
        targets={"local": target},
        default_target="local",
        render=render_repository,
        synth_check=functools.partial(check_repository, cdk_cli=cdk_cli, timeout=600),
        work_dir=tmp_path / "work",
    )
    try:
        req = DeployRequest(user_id="u1", project_id="greeter")
        ctx = JobContext(job_id="j", workspace_id="ws1", endpoint="deploy")
        events = [event_to_dict(e) for e in await events_as_sent(deploy_pipeline(deps), req, ctx)]
        if events[-1]["type"] == "complete":
            async with httpx.AsyncClient(timeout=30) as client:
                resp = await client.post(events[-2]["data"]["agent_endpoint"], json={"input": "hi"})
            events.append({"type": "invoked", "output": resp.json().get("output")})
        return events, data
    finally:
        await sup.shutdown()
        router.close()
        model.close()
        await engine.dispose()


async def test_failing_cdk_synth_reports_output_and_pushes_nothing(tmp_path: Path) -> None:
    """A CDK CLI that fails ends the job with synth_failed and its output; no repo is created."""
    fake_cdk = tmp_path / "cdk"
    fake_cdk.write_text("#!/bin/sh\necho 'Error: jsii could not load aws-cdk-lib' >&2\nexit 1\n")
    fake_cdk.chmod(0o755)
    events, data = await run_pipeline(tmp_path, [str(fake_cdk)])
    assert events[-1]["type"] == "error"
    assert events[-1]["data"]["error"] == "synth_failed"
    assert any("jsii could not load" in line for line in events[-1]["data"]["details"])
    assert not (data / "repos").exists()


@pytest.mark.slow
@pytest.mark.skipif(not CDK.exists(), reason="CDK CLI not installed in .cache/cdk (make cdk)")
async def test_rendered_spec_synthesises_and_deploys_locally(tmp_path: Path) -> None:
    """Real render + real cdk synth + local target: the endpoint answers through the model."""
    events, _ = await run_pipeline(tmp_path, [str(CDK)])
    types = [e["type"] for e in events]
    assert types[-3:] == ["deployment_complete", "complete", "invoked"], events[-3:]
    assert events[-1]["output"] == "Hello! (m: hi)"
