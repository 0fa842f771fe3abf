"""The /deploy pipeline: current spec → rendered repository → synth check → target.

Events, in order (shapes in agents/protocol.py, ../shared/protocol-reference.md):
deployment_started · status (render, synth, push) · deployment_complete "deploying_via_cicd"
(github_repo) · status per target step ("Job - Step", progress_percent never decreasing) ·
status 100 · deployment_complete "deployed" (agent_endpoint) · complete.
`action: "destroy"` streams the same way and ends with deployment_complete "destroyed".

Errors are raised (agents.errors; the server makes them the endpoint's error event):
no_architecture, synth_failed (the synth output in `details`; nothing is pushed), not_deployed,
and a target's own codes.

The app id comes from the deployment store's allocation (unique per workspace and project, never
derived from the request alone); a destroy acts only on the app allocated to its own workspace.
A deploy that is cancelled (or cut by shutdown) while the target runs leaves nothing half-done:
the target stops what it started, and the record goes back to the previous live deployment, or
to "failed" when there was none.

A deploy runs as durable steps (agents/pipeline.py): begin (spec, app id, previous record) ·
render (its output is the repository's files, so any replica can write them out again) · synth ·
push · dispatch · ci · promote. A job recovered after a failover goes on from the interrupted
step: the push of a tree identical to the branch head returns the revision already pushed
instead of a new commit; `ci` follows the run `dispatch` started (GitHub: by its run id), and a
run found cancelled when it is resumed (e.g. by the replica that shut down) is dispatched again.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

from agents.deploy.progress import ProgressTracker, ProgressUpdate
from agents.deploy.repository import Rendered, checkout, read_repository
from agents.deploy.targets.base import (
    DeployJob,
    DeploymentRecord,
    DeploymentStore,
    DeployTarget,
    PublishResult,
)
from agents.errors import QubitzError
from agents.pipeline import Checkpoint, JobContext, Pipeline, StepOutput, stage
from agents.protocol import (
    Complete,
    DeploymentComplete,
    DeploymentCompleteData,
    DeploymentStarted,
    DeploymentStartedData,
    DeployRequest,
    DeployStatus,
    DeployStatusData,
    Event,
)
from agents.spec.schema import Architecture
from agents.spec.store import SpecStore

T = TypeVar("T")
NO_ARCHITECTURE = "No architecture spec found. Generate one first with /getspec."


class Renderer(Protocol):
    """agents.deploy.render.render_repository (writes the repository under `out_dir`)."""

    def __call__(
        self,
        arch: Architecture,
        *,
        app_name: str,
        out_dir: Path,
        spec_version: int,
        region: str = ...,
        description: str = ...,
    ) -> Any: ...


class SynthCheck(Protocol):
    """agents.deploy.synth.check_repository with cdk_cli/timeout bound (functools.partial)."""

    def __call__(
        self, repo_dir: Path, *, on_step: Callable[[str, int], Any] | None = None
    ) -> Coroutine[Any, Any, Any]: ...


OnDestroyed = Callable[[str, str, DeploymentRecord], Awaitable[None]]


@dataclass(frozen=True)
class DeployDeps:
    specs: SpecStore
    deployments: DeploymentStore
    targets: Mapping[str, DeployTarget]
    default_target: str
    render: Renderer
    synth_check: SynthCheck
    work_dir: Path  # scratch space for rendered repositories (removed after each push)
    region: str = "us-east-1"
    on_destroyed: OnDestroyed | None = None  # e.g. revoke the app's API keys


def _status(update: ProgressUpdate) -> DeployStatus:
    return DeployStatus(
        data=DeployStatusData(
            status=update.status,
            message=update.message,
            progress_percent=update.progress_percent,
        )
    )


def _error(code: str, message: str, details: list[str] | None = None) -> QubitzError:
    return QubitzError(message, code=code, details=details)


def _details(exc: BaseException) -> list[str] | None:
    details = getattr(exc, "details", None)
    if isinstance(details, list) and details:
        return [str(d) for d in details]
    output = getattr(exc, "output", None)
    if isinstance(output, str) and output:
        return output.splitlines()[-60:]
    return None


def deploy_pipeline(deps: DeployDeps) -> Pipeline:
    if deps.default_target not in deps.targets:
        raise ValueError(f"default target {deps.default_target!r} is not configured")

    async def run(request: DeployRequest, ctx: JobContext) -> AsyncIterator[Event]:
        if request.action == "destroy":
            async for event in _destroy(deps, request, ctx):
                yield event
        else:
            async for event in _deploy(deps, request, ctx):
                yield event

    return run


async def _synth(
    deps: DeployDeps, repo_dir: Path, tracker: ProgressTracker
) -> AsyncIterator[ProgressUpdate]:
    """Run the synth check, relaying its steps ("Check - X", percent of the check) as 5..9%."""
    steps: asyncio.Queue[tuple[str, int]] = asyncio.Queue()

    def on_step(name: str, percent: int) -> None:
        steps.put_nowait((name, percent))

    task = asyncio.create_task(deps.synth_check(repo_dir, on_step=on_step))
    try:
        while not task.done() or not steps.empty():
            getter = asyncio.ensure_future(steps.get())
            await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                name, percent = getter.result()
                yield tracker.stage(5 + 4 * max(0, min(percent, 100)) // 100, "", name)
            else:
                getter.cancel()
        await task  # re-raises the check's failure
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


@dataclass(frozen=True)
class Planned:
    """The begin step's output: what is deployed (the spec as it was when the job began), and
    the project's deployment record before this job touched it."""

    job: DeployJob
    spec_json: str
    previous: DeploymentRecord | None


async def _deploy(deps: DeployDeps, req: DeployRequest, ctx: JobContext) -> AsyncIterator[Event]:
    """Durable steps: begin · render · synth · push · dispatch · ci · promote. Each one's output
    is plain data; a recovered job goes on from the interrupted step (see the module docstring)."""
    target = deps.targets[deps.default_target]
    tracker = ProgressTracker(run_low=12, run_high=99)
    begun, rendered, synthesized, pushed, dispatched, followed = (Checkpoint() for _ in range(6))
    async for event in stage(ctx.step, "begin", _begin(deps, req, ctx), begun):
        yield event
    planned: Planned = begun.value
    job = planned.job
    async for event in stage(ctx.step, "render", _render(deps, planned, tracker), rendered):
        yield event
    repo: Rendered = rendered.value
    body = _synth_step(deps, job, repo, tracker)
    async for event in stage(ctx.step, "synth", body, synthesized):
        yield event
    body = _push(deps, req, target, planned, repo, tracker)
    async for event in stage(ctx.step, "push", body, pushed):
        yield event
    record: DeploymentRecord
    published: PublishResult
    record, published = pushed.value
    body = _dispatch(deps, target, job, published, record)
    async for event in stage(ctx.step, "dispatch", body, dispatched):
        yield event
    started: PublishResult = dispatched.value
    body = _ci(deps, target, planned, started, record, tracker)
    async for event in stage(ctx.step, "ci", body, followed):
        yield event
    body = _promote(deps, req, target, job, started, record, tracker)
    async for event in stage(ctx.step, "promote", body, Checkpoint()):
        yield event


async def _begin(deps: DeployDeps, req: DeployRequest, ctx: JobContext) -> AsyncIterator[Any]:
    ws, project = ctx.workspace_id, req.project_id
    yield DeploymentStarted(
        data=DeploymentStartedData(
            message="Deployment started. Generating infrastructure and pushing to GitHub..."
            if deps.default_target != "local"
            else "Deployment started. Generating infrastructure and publishing the repository...",
            user_id=req.user_id,
            project_id=project,
        )
    )
    version = await deps.specs.current(ws, project)
    if version is None:
        raise _error("no_architecture", NO_ARCHITECTURE)
    job = DeployJob(
        workspace_id=ws,
        project_id=project,
        app_name=await deps.deployments.allocate_app(ws, project),
        spec_version=version.version,
        github_username=req.github_username,
        description=version.instruction or "",
    )
    previous = await deps.deployments.get(ws, project)
    yield StepOutput(Planned(job, version.spec_json, previous))


async def _render(
    deps: DeployDeps, planned: Planned, tracker: ProgressTracker
) -> AsyncIterator[Any]:
    job = planned.job
    yield _status(tracker.stage(2, "Render", "Render repository"))
    arch = Architecture.model_validate_json(planned.spec_json)
    await asyncio.to_thread(deps.work_dir.mkdir, parents=True, exist_ok=True)
    tmp = await asyncio.to_thread(tempfile.mkdtemp, prefix="render-", dir=deps.work_dir)
    try:
        repo_dir = Path(tmp) / job.app_name
        await asyncio.to_thread(
            deps.render,
            arch,
            app_name=job.app_name,
            out_dir=repo_dir,
            spec_version=job.spec_version,
            region=deps.region,
            description=job.description,
        )
        rendered = await asyncio.to_thread(read_repository, repo_dir)
    finally:
        await asyncio.to_thread(_rmtree, Path(tmp))
    yield StepOutput(rendered)


async def _synth_step(
    deps: DeployDeps, job: DeployJob, rendered: Rendered, tracker: ProgressTracker
) -> AsyncIterator[Any]:
    """True when the repository synthesizes (else the error event, and False)."""
    yield _status(tracker.stage(5, "Check", "Start"))
    async with checkout(deps.work_dir, rendered, job.app_name) as repo_dir:
        try:
            async for update in _synth(deps, repo_dir, tracker):
                yield _status(update)
        except QubitzError as exc:
            raise _error("synth_failed", f"CDK synth failed: {exc}", _details(exc)) from exc
    yield StepOutput(True)


async def _push(
    deps: DeployDeps,
    req: DeployRequest,
    target: DeployTarget,
    planned: Planned,
    rendered: Rendered,
    tracker: ProgressTracker,
) -> AsyncIterator[Any]:
    """Publish (a tree identical to the branch head is not committed again: a re-run returns
    the revision already pushed) and record the deployment as deploying."""
    job = planned.job
    yield _status(tracker.stage(10, "Publish", "Push repository"))
    async with checkout(deps.work_dir, rendered, job.app_name) as repo_dir:
        try:
            published = await target.publish(job, repo_dir)
        except QubitzError as exc:
            message = f"Publishing the repository failed: {exc}"
            raise _error(exc.code, message, _details(exc)) from exc
    record = DeploymentRecord(
        workspace_id=job.workspace_id,
        project_id=job.project_id,
        app_id=job.app_id,
        target=target.name,
        status="deploying",
        repo_url=published.repo_url,
        spec_version=job.spec_version,
        revision=published.revision,
    )
    if planned.previous is not None:
        record = replace(record, usage_plan_id=planned.previous.usage_plan_id)
    await deps.deployments.save(record)
    where = published.display_name or published.repo_url
    yield DeploymentComplete(
        data=DeploymentCompleteData(
            status="success",
            deployment_status="deploying_via_cicd",
            message=f"Code pushed to {where}. {_runner(target.name)} is deploying.",
            github_repo=published.repo_url,
            user_id=req.user_id,
            project_id=job.project_id,
            spec_version=job.spec_version,
        )
    )
    yield StepOutput((record, published))


async def _dispatch(
    deps: DeployDeps,
    target: DeployTarget,
    job: DeployJob,
    published: PublishResult,
    record: DeploymentRecord,
) -> AsyncIterator[Any]:
    """Start the target's workflow; the result names the run, so `ci` after a failover follows
    that run instead of starting a second one."""
    try:
        started = await target.dispatch(job, published)
    except QubitzError as exc:
        await deps.deployments.save(replace(record, status="failed"))
        raise _error(exc.code, f"Deployment failed: {exc}", _details(exc)) from exc
    yield StepOutput(started)


async def _ci(
    deps: DeployDeps,
    target: DeployTarget,
    planned: Planned,
    published: PublishResult,
    record: DeploymentRecord,
    tracker: ProgressTracker,
) -> AsyncIterator[Any]:
    """Follow the run to its end (True), or record the failure and raise."""
    job, previous = planned.job, planned.previous
    try:
        async with _closing(target.run(job, published)) as progressing:
            async for progress in progressing:
                yield _status(tracker.observe(progress))
    except QubitzError as exc:
        await deps.deployments.save(replace(record, status="failed"))
        raise _error(exc.code, f"Deployment failed: {exc}", _details(exc)) from exc
    except BaseException:  # cancelled, or the server is going away: never leave "deploying"
        live = previous if previous is not None and previous.status == "deployed" else None
        await _shielded(deps.deployments.save(live or replace(record, status="failed")))
        raise
    yield StepOutput(True)


async def _promote(
    deps: DeployDeps,
    req: DeployRequest,
    target: DeployTarget,
    job: DeployJob,
    published: PublishResult,
    record: DeploymentRecord,
    tracker: ProgressTracker,
) -> AsyncIterator[Event]:
    """The live endpoint recorded, the spec version marked deployed, the final events."""
    try:
        endpoint = await target.endpoint(job, published)
    except QubitzError as exc:
        await deps.deployments.save(replace(record, status="failed"))
        raise _error(exc.code, f"Deployment failed: {exc}", _details(exc)) from exc
    await deps.deployments.save(
        replace(
            record,
            status="deployed",
            endpoint=endpoint.url,
            usage_plan_id=endpoint.usage_plan_id or record.usage_plan_id,
        )
    )
    await deps.specs.mark_deployed(job.workspace_id, job.project_id, job.spec_version)
    yield _status(tracker.done("Deploy", "Deployment finished"))
    yield DeploymentComplete(
        data=DeploymentCompleteData(
            status="deployed",
            deployment_status="deployed",
            message="Deployment successful!",
            agent_endpoint=endpoint.url,
            github_repo=published.repo_url,
            user_id=req.user_id,
            project_id=job.project_id,
            spec_version=job.spec_version,
        )
    )
    yield Complete()


async def _destroy(deps: DeployDeps, req: DeployRequest, ctx: JobContext) -> AsyncIterator[Event]:
    ws, project = ctx.workspace_id, req.project_id
    yield DeploymentStarted(
        data=DeploymentStartedData(
            message="Teardown started.", user_id=req.user_id, project_id=project
        )
    )
    record = await deps.deployments.get(ws, project)
    owner = await deps.deployments.app_owner(record.app_id) if record is not None else None
    if (
        record is None
        or record.status == "destroyed"
        or owner is None
        or (owner.workspace_id, owner.project_id) != (ws, project)
    ):
        raise _error("not_deployed", "This project has no deployment to destroy.")
    target = deps.targets.get(record.target)
    if target is None:
        raise _error("target_unavailable", f"The {record.target!r} target is not configured.")
    job = DeployJob(
        workspace_id=ws,
        project_id=project,
        app_name=record.app_id,
        spec_version=record.spec_version or 0,
        github_username=req.github_username,
    )
    tracker = ProgressTracker(run_low=5, run_high=99)
    await deps.deployments.save(replace(record, status="destroying"))
    yield _status(tracker.stage(2, "Destroy", "Start teardown", status="destroying"))
    try:
        async with _closing(target.destroy(job, record)) as tearing_down:
            async for progress in tearing_down:
                yield _status(tracker.observe(replace(progress, status="destroying")))
    except QubitzError as exc:
        await deps.deployments.save(replace(record, status="failed"))
        raise _error(exc.code, f"Teardown failed: {exc}", _details(exc)) from exc
    except BaseException:  # cancelled mid-teardown: the app is partly gone, say so
        await _shielded(deps.deployments.save(replace(record, status="failed")))
        raise
    await deps.deployments.save(replace(record, status="destroyed", endpoint=None))
    if deps.on_destroyed is not None:
        await deps.on_destroyed(ws, project, record)
    yield _status(tracker.done("Destroy", "App removed", status="destroyed"))
    yield DeploymentComplete(
        data=DeploymentCompleteData(
            status="destroyed",
            deployment_status="destroyed",
            message="App destroyed.",
            github_repo=record.repo_url or "",
            user_id=req.user_id,
            project_id=project,
            spec_version=record.spec_version,
        )
    )
    yield Complete()


@contextlib.asynccontextmanager
async def _closing(steps: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """Close a target's step generator however the loop over it ends (its cleanup runs now)."""
    try:
        yield steps
    finally:
        close = getattr(steps, "aclose", None)
        if close is not None:
            await close()


async def _shielded(step: Awaitable[Any]) -> None:
    """Finish `step` even when the surrounding task is cancelled again meanwhile."""
    task = asyncio.ensure_future(step)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


def _runner(target_name: str) -> str:
    return "GitHub Actions" if target_name != "local" else "The local runner"


def _rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
