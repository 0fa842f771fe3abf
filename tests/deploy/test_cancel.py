"""A cancelled deploy leaves nothing running and no deployment stuck in "deploying" (item 13).

The second version's runtime never becomes healthy; the job is cancelled while the local target
waits for it. Afterwards no process runs in that version's checkout, the record is the previous
live deployment again, and the previous version keeps answering.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from agents.deploy.pipeline import DeployDeps, deploy_pipeline
from agents.deploy.targets.local import LocalTarget, LocalTargetConfig
from agents.deploy.targets.supervisor import ProcessSupervisor
from agents.pipeline import JobContext
from agents.protocol import DeployRequest, event_to_dict
from agents.spec.schema import Architecture
from agents.spec.validation import canonical_json
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.deployments import SqlDeploymentStore
from server.db.specs import SqlSpecStore
from tests.deploy.support import RouterDouble, write_runtime_repo
from tests.deploy.test_pipeline import ARCH, SynthDouble

pytestmark = pytest.mark.anyio
CTX = JobContext(job_id="job1", workspace_id="ws1", endpoint="deploy")
HANGING_SERVE = "import time\ntime.sleep(120)\n"  # never listens: /health never answers


def render(
    arch: Architecture,
    *,
    app_name: str,
    out_dir: Path,
    spec_version: int,
    region: str = "us-east-1",
    description: str = "",
) -> Path:
    """v1 is a working runtime; later versions hang before listening."""
    repo = write_runtime_repo(out_dir, f"v{spec_version}")
    if spec_version > 1:
        (repo / "runtime" / "serve.py").write_text(HANGING_SERVE)
    return repo


@dataclass
class World:
    deps: DeployDeps
    router: RouterDouble
    target: LocalTarget
    deployments: SqlDeploymentStore
    specs: SqlSpecStore


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
    sup = ProcessSupervisor(python=sys.executable, health_timeout=60)
    target = LocalTarget(
        LocalTargetConfig(
            data_dir=tmp_path / "data",
            public_url=router.url,
            python=sys.executable,
            swap_grace_seconds=0,
            run_tests=False,
        ),
        router=router,
        supervisor=sup,
    )
    deps = DeployDeps(
        specs=specs,
        deployments=deployments,
        targets={"local": target},
        default_target="local",
        render=render,
        synth_check=SynthDouble(),
        work_dir=tmp_path / "work",
    )
    yield World(deps, router, target, deployments, specs)
    await sup.shutdown()
    await engine.dispose()


async def _new_version(w: World) -> None:
    await w.specs.append(
        "ws1",
        "proj",
        user_id="u",
        action="generate",
        instruction="x",
        spec_json=canonical_json(ARCH),
    )


def _processes_in(directory: Path) -> list[int]:
    """Pids of app runtimes (`-m runtime.serve`) running in `directory` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = Path(os.readlink(entry / "cwd"))
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cwd == directory.resolve() and b"runtime.serve" in argv:
                found.append(int(entry.name))
    return found


async def _deploy_and_cancel_while_starting(w: World) -> list[dict[str, Any]]:
    """Run a deploy; cancel it once its runtime process exists; return the events seen."""
    events: list[dict[str, Any]] = []
    req = DeployRequest(user_id="u", project_id="proj")

    async def consume() -> None:
        async for event in deploy_pipeline(w.deps)(req, CTX):
            events.append(event_to_dict(event))

    task = asyncio.create_task(consume())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        record = await w.deployments.get("ws1", "proj")
        if record is not None and record.status == "deploying" and record.revision:
            checkout = w.target.checkout_dir("ws1", record.app_id, record.revision)
            if _processes_in(checkout):
                break
        assert loop.time() < deadline, events
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return events


async def test_cancelled_redeploy_stops_the_new_process_and_keeps_the_live_one(
    world: World,
) -> None:
    """No process is left in v2's checkout; the record is v1's, deployed; v1 still answers."""
    await _new_version(world)
    req = DeployRequest(user_id="u", project_id="proj")
    first = [event_to_dict(e) async for e in deploy_pipeline(world.deps)(req, CTX)]
    assert first[-1]["type"] == "complete"
    live = await world.deployments.get("ws1", "proj")
    assert live is not None and live.status == "deployed"

    await _new_version(world)
    await _deploy_and_cancel_while_starting(world)
    after = await world.deployments.get("ws1", "proj")
    assert after is not None
    assert after.status == "deployed" and after.revision == live.revision
    assert after.endpoint == live.endpoint and after.spec_version == 1
    assert live.revision is not None
    checkouts = world.target.checkout_dir("ws1", live.app_id, live.revision).parent
    seen = 0
    for checkout in checkouts.iterdir():
        if checkout.name not in (live.revision[:12], "logs") and checkout.is_dir():
            seen += 1
            assert _processes_in(checkout) == [], checkout
    assert seen == 1  # v2's checkout was examined
    assert live.endpoint is not None
    async with httpx.AsyncClient(timeout=10) as client:
        resp = await client.post(live.endpoint, json={"input": "hi"})
    assert resp.json()["output"] == "v1:hi"


async def test_cancelled_first_deploy_is_failed_and_leaves_nothing(world: World) -> None:
    """Without a previous deployment the record becomes failed; no route, no process."""
    await _new_version(world)
    await _new_version(world)  # the current version (2) hangs
    await _deploy_and_cancel_while_starting(world)
    record = await world.deployments.get("ws1", "proj")
    assert record is not None and record.status == "failed"
    assert record.revision is not None
    checkout = world.target.checkout_dir("ws1", record.app_id, record.revision)
    assert checkout.is_dir()
    assert _processes_in(checkout) == []
    assert record.app_id not in world.router.routes
