"""Jobs: run an endpoint's pipeline in the background, independent of any socket.

A job's events go to the EventLog; sockets subscribe to it. A dropped socket does not stop the
job; `cancel()` does. On start, jobs this replica was running when it stopped are marked failed
(their log ends with an error event saying so); on shutdown, running jobs end the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import orjson

from agents.errors import QubitzError
from agents.pipeline import JobContext, Pipeline
from agents.protocol import ENDPOINTS, EndpointProtocol, StrictRequest, event_to_dict
from server.coalesce import Coalescer
from server.db.base import new_id
from server.db.jobs import JobRepository
from server.eventlog import EventLog, JobEnd, JobMeta
from server.logs import request_id
from server.metrics import Metrics

log = logging.getLogger("qubitz.jobs")

ERROR_TYPES = frozenset({"error", "chat_error"})
KNOWN_RETENTION = 600.0  # seconds a finished job stays in the in-memory lookup


class Overloaded(Exception):
    """Too many jobs running in this process."""


@dataclass
class _Running:
    task: asyncio.Task[None]
    workspace_id: str
    cancel_requested: bool = False


class JobRunner:
    def __init__(
        self,
        log_: EventLog,
        jobs: JobRepository,
        metrics: Metrics,
        *,
        replica_id: str,
        coalesce_window: float = 0.04,
        max_running: int = 64,
    ) -> None:
        self._log = log_
        self._jobs = jobs
        self._metrics = metrics
        self._replica = replica_id
        self._window = coalesce_window
        self._max_running = max_running
        self._running: dict[str, _Running] = {}
        # Jobs this process started: (workspace, endpoint), for lookups before the row is flushed.
        self._known: dict[str, tuple[str, str]] = {}

    @property
    def running_count(self) -> int:
        return len(self._running)

    async def submit(
        self,
        endpoint: EndpointProtocol,
        pipeline: Pipeline,
        request: StrictRequest,
        workspace_id: str,
    ) -> str:
        if len(self._running) >= self._max_running:
            raise Overloaded(f"{len(self._running)} jobs running; try again shortly")
        job_id = new_id("job")
        # The job row is written by the event log's batched flush, before the job's events.
        self._log.create(job_id, JobMeta(job_id, workspace_id, endpoint.name, self._replica))
        self._known[job_id] = (workspace_id, endpoint.name)
        ctx = JobContext(job_id=job_id, workspace_id=workspace_id, endpoint=endpoint.name)
        task = asyncio.create_task(self._run(endpoint, pipeline, request, ctx), name=job_id)
        self._running[job_id] = _Running(task, workspace_id)
        self._metrics.job_started(endpoint.name)
        return job_id

    async def _run(
        self,
        endpoint: EndpointProtocol,
        pipeline: Pipeline,
        request: StrictRequest,
        ctx: JobContext,
    ) -> None:
        job_id = ctx.job_id
        request_id.set(job_id)
        session_id = getattr(request, "session_id", None)
        last_type: list[str] = [""]

        def emit(payload: dict[str, Any]) -> None:
            last_type[0] = str(payload.get("type"))
            self._log.append(job_id, payload)

        coalescer = Coalescer(emit, self._window)

        def error(code: str, message: str, details: list[str] | None = None) -> None:
            coalescer.flush()
            emit(
                event_to_dict(
                    endpoint.error_event(code, message, session_id=session_id, details=details)
                )
            )

        end = JobEnd("succeeded", 1000)
        try:
            async for event in pipeline(request, ctx):
                coalescer.push(event)
            coalescer.flush()
            if last_type[0] in ERROR_TYPES:
                end = JobEnd("failed", 1000, last_type[0])
        except asyncio.CancelledError:
            running = self._running.get(job_id)
            if running is not None and running.cancel_requested:
                error("cancelled", "The job was cancelled by the client.")
                end = JobEnd("cancelled", 1000, "cancelled")
            else:
                error(
                    "server_shutdown",
                    "The server shut down while this job was running; start it again.",
                )
                end = JobEnd("failed", 1001, "server_shutdown")
        except QubitzError as exc:
            error(exc.code, exc.message, exc.details)
            end = JobEnd("failed", 1000, exc.code)
        except Exception:
            log.exception("job %s (%s) failed", job_id, endpoint.name)
            error("internal_error", f"An internal error ended the job (reference {job_id}).")
            end = JobEnd("failed", 1011, "internal_error")
        finally:
            self._log.finish(job_id, end)
            self._running.pop(job_id, None)
            # Past this, lookups go to the database (the row is flushed within a batch).
            asyncio.get_running_loop().call_later(KNOWN_RETENTION, self._known.pop, job_id, None)
            self._metrics.job_finished(endpoint.name, end.state)

    async def cancel(self, job_id: str, workspace_id: str) -> bool:
        """Cancel a running job of this workspace. Idempotent; False if unknown/not running."""
        running = self._running.get(job_id)
        if running is None or running.workspace_id != workspace_id:
            return False
        if not running.cancel_requested:
            running.cancel_requested = True
            running.task.cancel()
        return True

    async def find(self, job_id: str, workspace_id: str) -> tuple[str, str] | None:
        """(workspace, endpoint) of a job of this workspace, or None (also for other's jobs)."""
        known = self._known.get(job_id)
        if known is None:
            record = await self._jobs.get(job_id, workspace_id)
            known = (record.workspace_id, record.endpoint) if record else None
        if known is None or known[0] != workspace_id:
            return None
        return known

    async def recover(self) -> int:
        """Mark jobs this replica left running (a crash or kill) as failed, with an event."""
        stale = await self._jobs.running(self._replica)
        for job in stale:
            endpoint = ENDPOINTS.get(job.endpoint)
            seq = await self._jobs.max_seq(job.id)
            if endpoint is not None:
                event = event_to_dict(
                    endpoint.error_event(
                        "server_restarted",
                        "The server restarted while this job was running; it did not finish. "
                        "Start it again.",
                    )
                )
                event["job_id"] = job.id
                event["seq"] = seq + 1
                await self._jobs.append_events([(job.id, seq + 1, orjson.dumps(event).decode())])
                seq += 1
            await self._jobs.finish(
                job.id, state="failed", close_code=1011, error="server_restarted", last_seq=seq
            )
        return len(stale)

    async def shutdown(self, grace: float) -> None:
        """Let running jobs finish for `grace` seconds, then end them as failed."""
        tasks = [r.task for r in self._running.values()]
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
