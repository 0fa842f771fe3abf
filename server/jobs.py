"""Jobs: each one a durable workflow (server/durable) that runs an endpoint's pipeline.

A job's events go to the EventLog; sockets subscribe to it. A dropped socket does not stop the
job; `cancel()` does, from any replica (the engine's cancel is seen by the replica running it
within `cancel_poll` seconds). A job whose replica dies is recovered by a live one and continues
from its last completed step, after one `resumed` status event. On shutdown, running jobs get
the grace period to finish; what is left is recovered by the next replica (or this one's next
start), not failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

import orjson

from agents.budget import CHARGED_ENDPOINTS, DailyBudget, charged_workspace
from agents.errors import HandedOver, InternalError, JobCancelled, QubitzError
from agents.errors import Overloaded as Overloaded  # raised by submit (re-exported)
from agents.pipeline import JobContext, Pipeline
from agents.protocol import (
    ENDPOINTS,
    ChatError,
    DataError,
    EndpointProtocol,
    FlatError,
    StrictRequest,
)
from server.coalesce import Coalescer
from server.db.base import new_id, utcnow
from server.db.jobs import JobRepository
from server.durable.engine import DurableEngine
from server.durable.events import resumed_event
from server.durable.steps import DurableSteps
from server.durable.workflow import JobSpec, WorkflowStopped
from server.eventlog import EventLog, JobEnd, JobMeta
from server.failures import Outcome, outcome
from server.logs import request_id
from server.metrics import Metrics
from server.tracing import NO_TRACING, JobAttributes, Tracing

log = logging.getLogger("qubitz.jobs")

KNOWN_RETENTION = 600.0  # seconds a finished job stays in the in-memory lookup
IDEMPOTENCY_WINDOW = timedelta(hours=24)  # a repeated idempotency_key returns the first job
ERROR_EVENTS = (FlatError, ChatError, DataError)  # written by the failure map only


@dataclass
class _Running:
    task: asyncio.Task[Any]
    workspace_id: str
    cancel_requested: bool = False


@dataclass
class _Fresh:
    """A job submitted here whose workflow has not started yet."""

    pipeline: Pipeline
    started: asyncio.Event = field(default_factory=asyncio.Event)


class JobRunner:
    def __init__(
        self,
        log_: EventLog,
        jobs: JobRepository,
        metrics: Metrics,
        *,
        engine: DurableEngine,
        replica_id: str,
        coalesce_window: float = 0.04,
        max_running: int = 64,
        cancel_poll: float = 0.5,
        budget: DailyBudget | None = None,
        tracing: Tracing = NO_TRACING,
    ) -> None:
        self._log = log_
        self._budget = budget  # the workspaces' daily token budget (agents/budget.py)
        self._tracing = tracing
        self._jobs = jobs
        self._metrics = metrics
        self.engine = engine
        self._replica = replica_id
        self._window = coalesce_window
        self._max_running = max_running
        self._cancel_poll = cancel_poll
        self._running: dict[str, _Running] = {}
        self._fresh: dict[str, _Fresh] = {}
        # Jobs this process started: (workspace, endpoint), for lookups before the row is flushed.
        self._known: dict[str, tuple[str, str]] = {}
        self.pipelines: dict[str, Pipeline] = {}
        self._ready = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False
        self._keyed_submit = asyncio.Lock()
        self._recent_keys: dict[tuple[str, str, str], str] = {}
        log_.liveness = engine.alive

    @property
    def running_count(self) -> int:
        return len(self._running)

    # -- lifecycle ---------------------------------------------------------------------------
    def bind(self, pipelines: dict[str, Pipeline]) -> None:
        """The app's pipelines are wired: recovered and dequeued jobs may run now."""
        self.pipelines = dict(pipelines)
        self.engine.bind(self.execute)
        self._ready.set()
        self._watcher = asyncio.create_task(self._watch_cancels(), name="job-cancel-watch")

    async def shutdown(self, grace: float) -> bool:
        """Let running jobs finish for `grace` seconds; the rest stay pending in the engine for
        another replica (or the next start) to recover. True if jobs were left."""
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        tasks = [r.task for r in self._running.values()]
        pending: set[asyncio.Task[Any]] = set()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.engine.unbind()
        return bool(pending)

    # -- submitting --------------------------------------------------------------------------
    async def submit(
        self,
        endpoint: EndpointProtocol,
        pipeline: Pipeline,
        request: StrictRequest,
        workspace_id: str,
        *,
        idempotency_key: str | None = None,
    ) -> str:
        """Start a job; with an `idempotency_key` already used by this workspace on this
        endpoint within IDEMPOTENCY_WINDOW, return that job's id instead."""
        if idempotency_key is None:
            return await self._submit(endpoint, pipeline, request, workspace_id, None)
        scope = (workspace_id, endpoint.name, idempotency_key)
        # Keyed submissions on this replica go one at a time (a lookup and a start each), so two
        # arriving together here cannot both start. Across replicas the jobs table decides.
        async with self._keyed_submit:
            existing = self._recent_keys.get(scope)
            if existing is None:
                since = utcnow() - IDEMPOTENCY_WINDOW
                existing = await self._jobs.by_idempotency_key(*scope, since)
            if existing is not None:
                return existing
            job_id = await self._submit(endpoint, pipeline, request, workspace_id, idempotency_key)
            # until the row is flushed, this replica answers from memory
            self._recent_keys[scope] = job_id
            asyncio.get_running_loop().call_later(
                KNOWN_RETENTION, self._recent_keys.pop, scope, None
            )
            return job_id

    def _workspace_load(self, workspace_id: str) -> int:
        """Jobs of `workspace_id` running or about to start on this replica."""
        running = sum(1 for r in self._running.values() if r.workspace_id == workspace_id)
        fresh = sum(
            1
            for job_id in self._fresh
            if job_id not in self._running and self._known.get(job_id, ("", ""))[0] == workspace_id
        )
        return running + fresh

    async def _submit(
        self,
        endpoint: EndpointProtocol,
        pipeline: Pipeline,
        request: StrictRequest,
        workspace_id: str,
        idempotency_key: str | None,
    ) -> str:
        limits = self.engine.limits
        if not limits.queued and len(self._running) + len(self._fresh) >= self._max_running:
            raise Overloaded(f"{len(self._running)} jobs running; try again shortly")
        if not limits.queued and self._workspace_load(workspace_id) >= limits.replica_workspace_cap:
            raise Overloaded(
                f"this workspace already runs {limits.replica_workspace_cap} jobs; "
                "try again when one has finished"
            )
        if limits.queued and await self.engine.queued_count() >= limits.queue_max:
            raise Overloaded(f"the job queue is full ({limits.queue_max} waiting)")
        if self._budget is not None and endpoint.name in CHARGED_ENDPOINTS:
            await self._budget.check(workspace_id)  # DailyBudgetSpent: refused up front
        job_id = new_id("job")
        meta = JobMeta(job_id, workspace_id, endpoint.name, self._replica, idempotency_key)
        spec = JobSpec(
            job_id=job_id,
            workspace_id=workspace_id,
            endpoint=endpoint.name,
            request=request.model_dump(mode="json", exclude_unset=True),
            submitted_by=self._replica,
            submitted_at=time.time(),
        )
        self._known[job_id] = (workspace_id, endpoint.name)
        self.pipelines.setdefault(endpoint.name, pipeline)
        if limits.queued:
            # any replica may take it from the queue: its row must exist first
            await self._jobs.write_batch([meta], [], [])
        else:
            # The job row is written by the event log's batched flush, before the job's events.
            self._log.create(job_id, meta)
            self._fresh[job_id] = _Fresh(pipeline)
        try:
            await self.engine.start_job(spec)
        except BaseException:
            self._fresh.pop(job_id, None)
            raise
        self._metrics.job_started(endpoint.name)
        return job_id

    # -- running (inside the workflow) -------------------------------------------------------
    async def execute(self, spec: JobSpec) -> dict[str, Any]:
        """The body of the `qubitz.job` workflow, here or on the replica that recovered it."""
        await self._ready.wait()
        job_id = spec.job_id
        request_id.set(job_id)
        charged_workspace.set(spec.workspace_id)  # every model call of the job is charged here
        endpoint = ENDPOINTS[spec.endpoint]
        fresh = self._fresh.pop(job_id, None)
        stream = await self._log.adopt(
            JobMeta(job_id, spec.workspace_id, spec.endpoint, self._replica)
        )
        if stream.end is not None:  # finished before a failover; only the engine missed it
            return _end_dict(stream.end)
        pipeline = self.pipelines.get(spec.endpoint) or (fresh.pipeline if fresh else None)
        if pipeline is None:
            failed = outcome(InternalError("Endpoint not configured.", code="not_configured"))
            self._log.append(job_id, failed.event(endpoint))
            self._log.finish(job_id, failed.end)
            return _end_dict(failed.end)
        request = endpoint.request.model_validate(spec.request)
        resumed = fresh is None and stream.committed > 0
        if not resumed and spec.submitted_at:
            # from submission to start: the queue wait (about 0 when the job starts directly)
            self._metrics.job_waited(spec.endpoint, max(0.0, time.time() - spec.submitted_at))
        if fresh is None:
            await self._jobs.set_owner(job_id, self._replica)
        task = asyncio.current_task()
        assert task is not None
        self._known[job_id] = (spec.workspace_id, spec.endpoint)
        self._running[job_id] = _Running(task, spec.workspace_id)
        attributes = JobAttributes(job_id, spec.endpoint, spec.workspace_id, resumed)
        try:
            with self._tracing.job(attributes) as span:
                ran = await self._run(endpoint, pipeline, request, spec, resumed=resumed)
                end = ran or outcome(HandedOver("Another replica runs the job now.")).end
                span.finished(end.state, end.error)
        finally:
            self._running.pop(job_id, None)
            # Past this, lookups go to the database (the row is flushed within a batch).
            asyncio.get_running_loop().call_later(KNOWN_RETENTION, self._known.pop, job_id, None)
        return _end_dict(end)

    async def _run(
        self,
        endpoint: EndpointProtocol,
        pipeline: Pipeline,
        request: StrictRequest,
        spec: JobSpec,
        *,
        resumed: bool,
    ) -> JobEnd | None:
        """Run the pipeline; the job's end, or None if another replica runs it now."""
        job_id = spec.job_id
        began = time.monotonic()
        session_id = getattr(request, "session_id", None)
        must_announce = [resumed]

        def append(payload: dict[str, Any]) -> None:
            self._log.append(job_id, payload)

        # bound in C (partial): no Python frame of its own per event
        coalescer = Coalescer(append, self._window, partial(self._log.append_event, job_id))

        def announce(step: str) -> None:
            if must_announce[0]:
                must_announce[0] = False
                coalescer.flush()
                self._log.append(job_id, resumed_event(endpoint, step, session_id))

        steps = DurableSteps(
            commit=lambda: self._commit(coalescer, job_id),
            announce=announce,
            run_step=self.engine.run_step,
            reserve_step=self.engine.reserve_step,
            tracing=self._tracing,
        )

        def emit(payload: Any) -> None:
            if _is_error_event(type(payload)):
                # one writer of error events: the failure map (server/failures.py)
                raise TypeError(
                    f"the {endpoint.name} pipeline yielded {type(payload).__name__}; pipelines "
                    "raise an agents.errors exception instead"
                )
            if must_announce[0]:
                announce(steps.current)
            coalescer.push(payload)

        def ended(result: Outcome) -> JobEnd:
            if result.error is not None:
                coalescer.flush()
                announce(steps.current)
                append(result.event(endpoint, session_id))
            return result.end

        ctx = JobContext(
            job_id=job_id, workspace_id=spec.workspace_id, endpoint=spec.endpoint, step=steps
        )
        try:
            async for event in pipeline(request, ctx):
                emit(event)
            coalescer.flush()
            end = ended(outcome(None))
        except WorkflowStopped:
            # At a step boundary the engine said the workflow is no longer ours to run: it was
            # cancelled (from any replica), or another replica took it over.
            coalescer.flush()
            status = (await self.engine.statuses([job_id])).get(job_id)
            if status != "CANCELLED":
                log.warning("job %s is now run by another replica; stopping here", job_id)
                return None
            end = ended(outcome(JobCancelled()))
        except asyncio.CancelledError:
            running = self._running.get(job_id)
            if running is None or not running.cancel_requested:
                # shutdown: leave the job pending in the engine, to be recovered elsewhere
                coalescer.flush()
                raise
            end = ended(outcome(JobCancelled()))
        except QubitzError as exc:
            end = ended(outcome(exc))
        except Exception:
            log.exception("job %s (%s) failed", job_id, endpoint.name)
            message = f"An internal error ended the job (reference {job_id})."
            end = ended(outcome(InternalError(message)))
        self._log.finish(job_id, end)
        self._metrics.job_finished(
            endpoint.name, end.state, duration_seconds=time.monotonic() - began
        )
        await self._log.commit(job_id)
        return end

    async def _commit(self, coalescer: Coalescer, job_id: str) -> None:
        coalescer.flush()
        await self._log.commit(job_id)

    # -- cancelling --------------------------------------------------------------------------
    async def cancel(self, job_id: str, workspace_id: str) -> bool:
        """Cancel a job of this workspace wherever it runs. Idempotent; a finished job is left
        as it is. False if the job is unknown (or another workspace's)."""
        if await self.find(job_id, workspace_id) is None:
            return False
        running = self._running.get(job_id)
        if running is not None:
            self._cancel_local(running)
            await self.engine.cancel(job_id)
            return True
        before = (await self.engine.statuses([job_id])).get(job_id)
        await self.engine.cancel(job_id)
        if before == "ENQUEUED":
            await self._end_unstarted(job_id)
        return True

    def _cancel_local(self, running: _Running) -> None:
        if not running.cancel_requested:
            running.cancel_requested = True
            running.task.cancel()

    async def _end_unstarted(self, job_id: str) -> None:
        """A queued job cancelled before any replica took it: nobody else writes its log."""
        known = self._known.get(job_id)
        record = await self._jobs.get_any(job_id)
        endpoint = ENDPOINTS.get(known[1] if known else record.endpoint if record else "")
        if endpoint is None or (record is not None and record.finished):
            return
        cancelled = outcome(JobCancelled("The job was cancelled."))
        event = cancelled.event(endpoint)
        event["job_id"], event["seq"] = job_id, 1
        await self._jobs.write_batch(
            [], [(job_id, 1, orjson.dumps(event).decode())], [(job_id, cancelled.end)]
        )

    async def _watch_cancels(self) -> None:
        """Cancels sent to other replicas reach the engine; end those jobs here."""
        while True:
            await asyncio.sleep(self._cancel_poll)
            ids = [j for j, r in self._running.items() if not r.cancel_requested]
            if not ids:
                continue
            try:
                statuses = await self.engine.statuses(ids)
            except Exception:
                log.warning("could not read job statuses; retrying", exc_info=True)
                continue
            for job_id, status in statuses.items():
                running = self._running.get(job_id)
                if status == "CANCELLED" and running is not None:
                    self._cancel_local(running)

    # -- lookups -----------------------------------------------------------------------------
    async def find(self, job_id: str, workspace_id: str) -> tuple[str, str] | None:
        """(workspace, endpoint) of a job of this workspace, or None (also for other's jobs)."""
        known = self._known.get(job_id)
        if known is None:
            record = await self._jobs.get(job_id, workspace_id)
            known = (record.workspace_id, record.endpoint) if record else None
        if known is None or known[0] != workspace_id:
            return None
        return known

    async def is_expired(self, job_id: str, workspace_id: str) -> bool:
        """Finished long ago and pruned by retention (its events are gone)."""
        if job_id in self._known:
            return False
        record = await self._jobs.get(job_id, workspace_id)
        return record is not None and record.state == "expired"

    async def queue_position(self, job_id: str) -> int | None:
        return await self.engine.queue_position(job_id)


_ERROR_TYPES: dict[type, bool] = {}


def _is_error_event(kind: type) -> bool:
    """`issubclass(kind, ERROR_EVENTS)`, remembered per type: an `isinstance` of a pydantic
    model goes through ABCMeta's check: 0.3 µs per event against 0.1 µs."""
    known = _ERROR_TYPES.get(kind)
    if known is None:
        known = _ERROR_TYPES[kind] = issubclass(kind, ERROR_EVENTS)
    return known


def _end_dict(end: JobEnd) -> dict[str, Any]:
    return {"state": end.state, "close_code": int(end.close_code), "error": end.error}
