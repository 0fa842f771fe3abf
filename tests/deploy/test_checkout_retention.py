"""Retention of the local target's per-revision checkouts: old work trees go, the live app's
current revision and any tree a process runs from stay (docs/operations.md)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.deploy.targets import git
from agents.deploy.targets.base import DeployJob, DeploymentRecord
from agents.deploy.targets.local import LocalTarget, LocalTargetConfig
from agents.deploy.targets.supervisor import ProcessSupervisor
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.deployments import SqlDeploymentStore
from server.db.jobs import JobRepository
from server.durable.retention import Retention
from tests.deploy.support import RouterDouble, write_runtime_repo

pytestmark = pytest.mark.anyio

DAY = 86400.0
LIVE = DeployJob(workspace_id="ws1", project_id="proj", app_name="proj-k3x9q2ab", spec_version=1)
GONE = DeployJob(workspace_id="ws2", project_id="old", app_name="old-a1b2c3d4", spec_version=1)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[tuple[SqlDeploymentStore, object]]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = make_sessionmaker(engine)
    yield SqlDeploymentStore(sessions), sessions
    await engine.dispose()


@pytest.fixture
async def supervisor() -> AsyncIterator[ProcessSupervisor]:
    sup = ProcessSupervisor(python=sys.executable, health_timeout=20)
    yield sup
    await sup.shutdown()


def make_target(
    tmp_path: Path, supervisor: ProcessSupervisor, store: SqlDeploymentStore | None
) -> LocalTarget:
    router = RouterDouble()
    cfg = LocalTargetConfig(
        data_dir=tmp_path / "data", public_url=router.url, python=sys.executable
    )
    router.close()
    return LocalTarget(cfg, router=router, supervisor=supervisor, deployments=store)


async def checkout(target: LocalTarget, job: DeployJob, repo: Path, *, age_days: float) -> Path:
    published = await target.publish(job, repo)
    work = target.checkout_dir(job.workspace_id, job.app_id, published.revision)
    await git.checkout(target.bare_repo(job.workspace_id, job.app_id), published.revision, work)
    stamp = time.time() - age_days * DAY
    os.utime(work, (stamp, stamp))
    return work


async def test_old_revisions_are_pruned_but_the_live_and_recent_ones_stay(
    tmp_path: Path, supervisor: ProcessSupervisor, store: tuple[SqlDeploymentStore, object]
) -> None:
    deployments = store[0]
    target = make_target(tmp_path, supervisor, deployments)
    v1 = await checkout(target, LIVE, write_runtime_repo(tmp_path / "r1", "v1"), age_days=30)
    v2 = await checkout(target, LIVE, write_runtime_repo(tmp_path / "r2", "v2"), age_days=20)
    v3 = await checkout(target, LIVE, write_runtime_repo(tmp_path / "r3", "v3"), age_days=1)
    gone = await checkout(target, GONE, write_runtime_repo(tmp_path / "r4", "x"), age_days=9)
    await deployments.save(
        DeploymentRecord(
            workspace_id="ws1", project_id="proj", app_id=LIVE.app_id, target="local",
            status="deployed", revision=_revision_of(target, v2),
        )
    )  # fmt: skip

    removed = await target.prune_checkouts(7 * DAY)

    assert sorted(removed) == sorted([v1, gone])
    assert not v1.exists() and not gone.exists()
    assert not gone.parent.exists(), "a destroyed app's empty folders go too"
    assert (v2 / "VERSION").read_text().strip() == "v2", "the live revision stays"
    assert v3.exists(), "a checkout younger than the retention stays"
    assert target.bare_repo("ws1", LIVE.app_id).exists(), "the repository keeps every revision"
    assert await target.prune_checkouts(7 * DAY) == []


async def test_a_checkout_a_process_runs_from_is_kept(
    tmp_path: Path, supervisor: ProcessSupervisor
) -> None:
    target = make_target(tmp_path, supervisor, None)
    work = await checkout(target, LIVE, write_runtime_repo(tmp_path / "r1", "v1"), age_days=30)
    app = await supervisor.start(LIVE.app_id, work, {})
    try:
        assert await target.prune_checkouts(7 * DAY) == []
        assert work.exists()
    finally:
        await supervisor.stop(app)
    assert await target.prune_checkouts(7 * DAY) == [work]


async def test_the_retention_sweep_prunes_checkouts_with_the_jobs(
    tmp_path: Path, supervisor: ProcessSupervisor, store: tuple[SqlDeploymentStore, object]
) -> None:
    deployments, sessions = store
    target = make_target(tmp_path, supervisor, deployments)
    old = await checkout(target, LIVE, write_runtime_repo(tmp_path / "r1", "v1"), age_days=8)
    recent = await checkout(target, GONE, write_runtime_repo(tmp_path / "r2", "v2"), age_days=6)
    retention = Retention(
        JobRepository(sessions),  # type: ignore[arg-type]
        sessions,  # type: ignore[arg-type]
        engine=None,  # type: ignore[arg-type]  # no job to forget here
        days=7,
        pruners=[target.prune_checkouts],
    )
    await retention.prune()
    assert not old.exists() and recent.exists()


def _revision_of(target: LocalTarget, work: Path) -> str:
    bare = target.bare_repo(LIVE.workspace_id, LIVE.app_id)
    import subprocess

    revs = subprocess.run(
        ["git", "--git-dir", str(bare), "rev-list", "--all"],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    (rev,) = [r for r in revs if r.startswith(work.name)]
    return rev
