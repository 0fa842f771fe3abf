"""The local deploy target (default, offline).

publish: one commit of the rendered repository into a bare git repository under
`<data_dir>/repos/<workspace>/<app>.git`; the clone URL is its `file://` URL.
run: the workflow's steps, locally: check out the revision into its own work tree, verify the
runtime, run the runtime's tests, (synth was checked before the push), start the runtime as its
own process, wait for /health, switch the gateway route, retire the previous process after a
grace period. endpoint: `<public_url>/apps/<app>/invoke` (served by the local gateway).
Each revision gets its own work tree, `<data_dir>/apps/<workspace>/<app>/<revision[:12]>`;
`prune_checkouts` removes those untouched for the retention period, except the recorded revision
of every deployed app and any work tree a running process uses (the bare repository keeps every
revision, so a pruned one can be checked out again).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from agents.deploy.process import run_process
from agents.deploy.progress import Progress
from agents.deploy.targets import git
from agents.deploy.targets.base import (
    AppEndpoint,
    AppRouter,
    DeployError,
    DeployJob,
    DeploymentRecord,
    DeploymentStore,
    PublishResult,
)
from agents.deploy.targets.supervisor import AppProcess, ProcessSupervisor

JOB = "Local deploy"
DESTROY_JOB = "Local destroy"
STEPS = (
    "Checkout",
    "Verify runtime",
    "Runtime tests",
    "CDK synth (checked before push)",
    "Start runtime",
    "Health check",
    "Switch gateway route",
)

_VERIFY = """
import importlib.metadata as md, importlib.util as iu, pathlib, re, sys
missing = []
if iu.find_spec("runtime.serve") is None:
    missing.append("module runtime.serve")
for req in ("runtime/requirements.txt",):  # the top-level one is the CDK app's (CI only)
    p = pathlib.Path(req)
    if p.is_file():
        for line in p.read_text().splitlines():
            name = re.split(r"[\\s<>=!~;\\[]", line.strip(), maxsplit=1)[0]
            if name and not name.startswith(("#", "-")):
                try:
                    md.distribution(name)
                except md.PackageNotFoundError:
                    missing.append(name)
        break
print("\\n".join(missing))
sys.exit(1 if missing else 0)
"""


@dataclass(frozen=True)
class LocalTargetConfig:
    data_dir: Path
    public_url: str
    python: str
    # The model the deployed runtime calls (an OpenAI-compatible endpoint), if any.
    model_base_url: str | None = None
    model_name: str | None = None
    model_api_key: str | None = None
    # Per-app model tokens, (workspace, app id) -> token; wins over model_api_key when set.
    model_api_key_for: Callable[[str, str], str] | None = None
    run_tests: bool = True  # the repository's runtime tests (stdlib unittest under tests/)
    # Timeouts
    swap_grace_seconds: float = 5.0
    test_timeout: float = 300.0
    verify_timeout: float = 60.0


async def _run(
    argv: list[str], *, cwd: Path, env: Mapping[str, str], time_limit: float
) -> tuple[int, list[str]]:
    done = await run_process(argv, cwd=cwd, env=env, time_limit=time_limit)
    if done.timed_out:
        return -1, [*done.tail(39), f"timed out after {time_limit:g}s"]
    return done.returncode, done.tail(40)


class LocalTarget:
    name = "local"

    def __init__(
        self,
        config: LocalTargetConfig,
        *,
        router: AppRouter,
        supervisor: ProcessSupervisor,
        deployments: DeploymentStore | None = None,
    ) -> None:
        self._cfg = config
        self._deployments = deployments
        self._router = router
        self._sup = supervisor
        self._locks: dict[str, asyncio.Lock] = {}

    # -- paths -------------------------------------------------------------------------------

    def bare_repo(self, workspace_id: str, app_id: str) -> Path:
        ws = git.safe_segment(workspace_id)
        return self._cfg.data_dir / "repos" / ws / f"{git.safe_segment(app_id)}.git"

    def checkout_dir(self, workspace_id: str, app_id: str, revision: str) -> Path:
        ws = git.safe_segment(workspace_id)
        return self._cfg.data_dir / "apps" / ws / git.safe_segment(app_id) / revision[:12]

    def endpoint_url(self, app_id: str) -> str:
        return f"{self._cfg.public_url.rstrip('/')}/apps/{app_id}/invoke"

    def _lock(self, app_id: str) -> asyncio.Lock:
        return self._locks.setdefault(app_id, asyncio.Lock())

    def _app_env(self, workspace_id: str, app_id: str) -> dict[str, str]:
        env: dict[str, str] = {}
        if self._cfg.model_base_url and self._cfg.model_name:
            env["OPENAI_BASE_URL"] = self._cfg.model_base_url
            env["OPENAI_MODEL"] = self._cfg.model_name
            token_for = self._cfg.model_api_key_for
            token = token_for(workspace_id, app_id) if token_for else self._cfg.model_api_key
            if token:
                env["OPENAI_API_KEY"] = token
        return env

    # -- DeployTarget --------------------------------------------------------------------------

    async def publish(self, job: DeployJob, repo_dir: Path) -> PublishResult:
        bare = self.bare_repo(job.workspace_id, job.app_id)
        message = f"Deploy {job.app_name} (spec v{job.spec_version})"
        async with self._lock(job.app_id):
            sha = await git.commit_directory(bare, repo_dir, message)
        return PublishResult(repo_url=bare.resolve().as_uri(), revision=sha, display_name=str(bare))

    async def dispatch(self, job: DeployJob, published: PublishResult) -> PublishResult:
        return published  # the local runner is `run` itself (each of its steps may run again)

    async def run(self, job: DeployJob, published: PublishResult) -> AsyncIterator[Progress]:
        total = len(STEPS)

        def at(i: int) -> Progress:
            return Progress(JOB, STEPS[i], completed_steps=i, total_steps=total)

        async with self._lock(job.app_id):
            bare = self.bare_repo(job.workspace_id, job.app_id)
            work = self.checkout_dir(job.workspace_id, job.app_id, published.revision)
            yield at(0)
            await git.checkout(bare, published.revision, work)
            yield at(1)
            await self._verify(work)
            yield at(2)
            await self._tests(work)
            yield at(3)
            yield at(4)
            app = await self._sup.start(
                job.app_id, work, self._app_env(job.workspace_id, job.app_id)
            )
            previous = self._sup.current(job.app_id)
            try:
                yield at(5)
                yield at(6)
                await self._router.register(job.app_id, app.url, job.workspace_id, job.project_id)
            except BaseException:  # failed, cancelled or closed before the switch: undo it
                await asyncio.shield(self._undo_start(job, app, previous))
                raise
            self._sup.promote(app, retire_after=self._cfg.swap_grace_seconds)
            yield Progress(
                JOB, "Deployed", completed_steps=total, total_steps=total, status="deployed"
            )

    async def _undo_start(
        self, job: DeployJob, app: AppProcess, previous: AppProcess | None
    ) -> None:
        """Stop a started-but-never-promoted process; the route goes back to the live one."""
        if previous is not None and previous.running:
            await self._router.register(job.app_id, previous.url, job.workspace_id, job.project_id)
        else:
            await self._router.unregister(job.app_id)
        await self._sup.stop(app)

    async def endpoint(self, job: DeployJob, published: PublishResult) -> AppEndpoint:
        return AppEndpoint(self.endpoint_url(job.app_id))

    async def destroy(self, job: DeployJob, record: DeploymentRecord) -> AsyncIterator[Progress]:
        async with self._lock(job.app_id):
            yield Progress(DESTROY_JOB, "Remove gateway route", 0, 2, status="destroying")
            await self._router.unregister(record.app_id)
            yield Progress(DESTROY_JOB, "Stop runtime", 1, 2, status="destroying")
            await self._sup.stop_app(record.app_id)
            yield Progress(DESTROY_JOB, "Destroyed", 2, 2, status="destroyed")

    # -- service lifecycle ---------------------------------------------------------------------

    async def restore_apps(self, store: DeploymentStore | None = None) -> list[str]:
        """Restart every app recorded as deployed on this target; return the app ids started.

        Call at service start (after the gateway exists). `store` defaults to the one given to
        the constructor. An app that fails to start is left out (and stays recorded).
        """
        store = store or self._deployments
        if store is None:
            raise ValueError("restore_apps needs a DeploymentStore")
        started: list[str] = []
        for rec in await store.list_deployed(target=self.name):
            if rec.revision is None or self._sup.current(rec.app_id) is not None:
                continue
            try:
                work = self.checkout_dir(rec.workspace_id, rec.app_id, rec.revision)
                await git.checkout(self.bare_repo(rec.workspace_id, rec.app_id), rec.revision, work)
                env = self._app_env(rec.workspace_id, rec.app_id)
                app = await self._sup.start(rec.app_id, work, env)
                await self._router.register(rec.app_id, app.url, rec.workspace_id, rec.project_id)
                self._sup.promote(app, retire_after=0)
                started.append(rec.app_id)
            except DeployError:
                continue
        return started

    async def prune_checkouts(self, older_than: float, *, now: float | None = None) -> list[Path]:
        """Remove per-revision work trees not modified for `older_than` seconds, keeping the
        current revision of every deployed app and every work tree a process runs from."""
        keep = {p.resolve() for p in self._sup.checkouts_in_use()}
        if self._deployments is not None:
            for rec in await self._deployments.list_deployed(target=self.name):
                if rec.revision:
                    work = self.checkout_dir(rec.workspace_id, rec.app_id, rec.revision)
                    keep.add(work.resolve())
        cutoff = (time.time() if now is None else now) - older_than
        removed: list[Path] = []
        for app_dir in await asyncio.to_thread(_app_dirs, self._cfg.data_dir / "apps"):
            async with self._lock(app_dir.name):  # not while a deploy of the app checks out
                removed += await asyncio.to_thread(_prune_revisions, app_dir, keep, cutoff)
        return removed

    # -- steps ---------------------------------------------------------------------------------

    async def _verify(self, work: Path) -> None:
        rc, out = await _run(
            [self._cfg.python, "-c", _VERIFY], cwd=work, env={}, time_limit=self._cfg.verify_timeout
        )
        if rc != 0:
            raise DeployError(
                "the runtime's requirements are not installed",
                step="verify",
                code="runtime_verify_failed",
                details=out,
            )

    async def _tests(self, work: Path) -> None:
        if not self._cfg.run_tests or not await asyncio.to_thread((work / "tests").is_dir):
            return
        argv = [self._cfg.python, "-m", "unittest", "discover", "-s", "tests", "-t", "."]
        rc, out = await _run(
            argv,
            cwd=work,
            env={"PYTHONDONTWRITEBYTECODE": "1"},
            time_limit=self._cfg.test_timeout,
        )
        if rc != 0:
            raise DeployError(
                "the runtime's tests failed",
                step="tests",
                code="runtime_tests_failed",
                details=out,
            )


def _app_dirs(root: Path) -> list[Path]:
    """`<root>/<workspace>/<app>` folders."""
    if not root.is_dir():
        return []
    return [app for ws in root.iterdir() if ws.is_dir() for app in ws.iterdir() if app.is_dir()]


def _prune_revisions(app_dir: Path, keep: set[Path], cutoff: float) -> list[Path]:
    removed: list[Path] = []
    for revision in app_dir.iterdir():
        if not revision.is_dir() or revision.resolve() in keep:
            continue
        if revision.stat().st_mtime >= cutoff:
            continue
        shutil.rmtree(revision, ignore_errors=True)
        removed.append(revision)
    for empty in (app_dir, app_dir.parent):
        try:
            empty.rmdir()  # only succeeds when nothing is left
        except OSError:
            break
    return removed
