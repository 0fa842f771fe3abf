"""The durable-execution engine behind jobs: DBOS Transact, in this process.

DBOS keeps its system tables (workflow status, step outputs, queues) in a SQLite file in the data
dir or in PostgreSQL (schema `dbos` of the service's database). Each replica is one DBOS executor
whose id is the replica id. DBOS is a process-wide singleton, so one app per process owns it.

Everything the rest of qubitz needs from DBOS goes through `DurableEngine`; no other module
imports `dbos` except server/durable/workflow.py, which registers the job workflow.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbos import DBOS, DBOSConfig, SetEnqueueOptions, SetWorkflowID

from server.durable import workflow
from server.durable.workflow import Executor, JobSpec, job_workflow

log = logging.getLogger("qubitz.durable")

QUEUE = "qubitz-jobs"
ALIVE = frozenset({"PENDING", "ENQUEUED", "DELAYED"})


@dataclass(frozen=True)
class Limits:
    """Cross-replica job limits; all None means jobs start directly on the submitting replica."""

    global_cap: int | None = None
    workspace_quota: int | None = None
    worker_cap: int = 64
    # Without the queue: jobs of one workspace running at once on this replica (so that one
    # workspace cannot hold every slot of a single-process install).
    replica_workspace_cap: int = 16
    queue_max: int = 100
    poll_seconds: float = 0.1

    @property
    def queued(self) -> bool:
        return self.global_cap is not None or self.workspace_quota is not None


def system_database_url(database_url: str, data_dir: str) -> str:
    """DBOS's own tables: beside the service's tables on PostgreSQL, a file of its own on SQLite."""
    if database_url.startswith("postgresql"):
        scheme, rest = database_url.split("://", 1)
        return "postgresql://" + rest if "+" in scheme else database_url
    return f"sqlite:///{data_dir}/dbos.sqlite"


def sqlite_connector(path: str) -> Callable[[], sqlite3.Connection]:
    """Connections to DBOS's SQLite file in WAL mode with synchronous=NORMAL, as the service's own
    database (server/db/base.py). SQLite's default rollback journal made each workflow start a
    journal file created, synced twice and deleted: about 30 ms of a job's start on a busy disk
    (docs/benchmarks.md). A process killed at any point loses no committed transaction; like the
    service database, a power cut may drop the last ones. DBOS adds its own settings (IMMEDIATE
    transactions, busy timeout, foreign keys) on top of each connection."""

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    return connect


class DurableEngine:
    _active: DurableEngine | None = None

    def __init__(
        self, *, system_database_url: str, executor_id: str, app_version: str, limits: Limits
    ) -> None:
        self.url = system_database_url
        self.executor_id = executor_id
        self.app_version = app_version
        self.limits = limits
        self._queue: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # A second app in a process that already hosts DBOS (tests run several servers in one
        # process; `qubitz serve` never does): its jobs run in-process, not durably.
        self.in_process = False
        self._executor: Executor | None = None
        self._local: dict[str, str] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        previous = DurableEngine._active
        if previous is not None and previous._loop is not None and previous._loop.is_running():
            log.warning("DBOS already runs in this process: this app's jobs are not durable")
            self.in_process = True
            self.limits = Limits(worker_cap=self.limits.worker_cap)
            return
        if previous is not None:  # an app whose loop is gone never stopped it (failed startup)
            DurableEngine._active = None
            await asyncio.to_thread(DBOS.destroy, workflow_completion_timeout_sec=0)
        DurableEngine._active = self
        self._loop = asyncio.get_running_loop()
        config: DBOSConfig = {
            "name": "qubitz",
            "system_database_url": self.url,
            "executor_id": self.executor_id,
            # one version for every replica of a release line, so any replica may recover any
            # job (DBOS only recovers workflows of its own application version)
            "application_version": self.app_version,
            "log_level": "WARNING",
        }
        if self.url.startswith("sqlite:///"):
            path = self.url[len("sqlite:///") :]
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # every connection sets WAL (kept by the file) and synchronous=NORMAL
            config["db_engine_kwargs"] = {"creator": sqlite_connector(path)}
        DBOS(config=config)
        # launch() adopts the running loop: recovered and dequeued jobs run on it.
        DBOS.launch()
        lim = self.limits
        if lim.queued:
            self._queue = await DBOS.register_queue_async(
                QUEUE,
                # DBOS wants the per-replica limit no larger than the global one
                worker_concurrency=min(lim.worker_cap, lim.global_cap or lim.worker_cap),
                global_concurrency=lim.global_cap,
                partition_concurrency=lim.workspace_quota,
                polling_interval_sec=lim.poll_seconds,
                on_conflict="always_update",
            )

    def bind(self, executor: Executor) -> None:
        """Where this process's `qubitz.job` workflows run (the app's job runner)."""
        if self.in_process:
            self._executor = executor
        else:
            workflow.bind(executor)

    def unbind(self) -> None:
        if not self.in_process:
            workflow.unbind()

    async def run_step(self, name: str, body: Any) -> Any:
        if self.in_process:
            return await body()
        return await workflow.run_step(name, body)

    def reserve_step(self) -> Any:
        """A place for a step drawn now (parallel steps keep their ids on replay)."""
        if self.in_process:

            async def run(name: str, body: Any) -> Any:
                return await body()

            return run
        return workflow.reserve_step()

    async def stop(self) -> None:
        if DurableEngine._active is not self:
            return
        DurableEngine._active = None
        # destroy() joins DBOS threads that may wait on this loop: run it off the loop.
        await asyncio.to_thread(DBOS.destroy, workflow_completion_timeout_sec=0)

    # -- jobs --------------------------------------------------------------------------------
    async def start_job(self, spec: JobSpec) -> None:
        """Start (or, with limits, enqueue) the job's workflow; its id is the job id, so a second
        start with the same id returns the existing workflow instead of running it twice."""
        if self.in_process:
            assert self._executor is not None
            self._local[spec.job_id] = "PENDING"
            task = asyncio.create_task(self._run_local(self._executor, spec))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        if self._queue is not None:
            partition = spec.workspace_id if self.limits.workspace_quota is not None else None
            with SetWorkflowID(spec.job_id), SetEnqueueOptions(queue_partition_key=partition):
                await self._queue.enqueue_async(job_workflow, spec.to_dict())
            return
        with SetWorkflowID(spec.job_id):
            await DBOS.start_workflow_async(job_workflow, spec.to_dict())

    async def _run_local(self, executor: Executor, spec: JobSpec) -> None:
        try:
            await executor(spec)
            if self._local.get(spec.job_id) == "PENDING":
                self._local[spec.job_id] = "SUCCESS"
        except BaseException:
            self._local[spec.job_id] = "ERROR"
            raise

    async def queued_count(self) -> int:
        if self._queue is None:
            return 0
        rows = await DBOS.list_queued_workflows_async(
            queue_name=QUEUE, status="ENQUEUED", load_input=False
        )
        return len(rows)

    async def queue_position(self, job_id: str) -> int | None:
        """1-based place of a queued job in the queue, or None once it runs (or never queued)."""
        if self._queue is None:
            return None
        rows = await DBOS.list_queued_workflows_async(
            queue_name=QUEUE, status="ENQUEUED", load_input=False, sort_desc=False
        )
        for index, row in enumerate(rows):
            if row.workflow_id == job_id:
                return index + 1
        return None

    async def cancel(self, job_id: str) -> None:
        """Mark the workflow cancelled for every executor (a finished workflow is left as is)."""
        if self.in_process:
            if self._local.get(job_id) == "PENDING":
                self._local[job_id] = "CANCELLED"
            return
        await DBOS.cancel_workflow_async(job_id)

    async def statuses(self, job_ids: list[str]) -> dict[str, str]:
        """Engine status of each job. Safe inside a job's workflow: it runs outside of it (DBOS
        would record the call as a step, and refuse it once the workflow is cancelled)."""
        if not job_ids:
            return {}
        if self.in_process:
            return {j: self._local[j] for j in job_ids if j in self._local}

        async def read() -> dict[str, str]:
            rows = await DBOS.list_workflows_async(
                workflow_ids=job_ids, load_input=False, load_output=False
            )
            return {row.workflow_id: str(row.status) for row in rows}

        return await asyncio.create_task(read(), context=contextvars.Context())

    async def alive(self, job_id: str) -> bool:
        """Whether the job's workflow can still make progress (pending, queued)."""
        status = (await self.statuses([job_id])).get(job_id)
        return status in ALIVE

    async def forget(self, job_ids: list[str]) -> None:
        """Delete finished jobs' workflow records and step outputs (retention)."""
        if self.in_process:
            for job_id in job_ids:
                self._local.pop(job_id, None)
            return
        await DBOS.delete_workflows_async(job_ids)

    def recover_executors(self, executor_ids: list[str]) -> int:
        """Put the pending workflows of dead executors back on their queues, for any live
        replica to take. DBOS makes this idempotent (a workflow another executor already took is
        not matched). This is what DBOS's admin API `/dbos-workflow-recovery` calls; DBOS offers
        no other public entry point for it without its hosted control plane."""
        if self.in_process:
            return 0
        handles = DBOS._recover_pending_workflows(executor_ids)
        return len(handles)
