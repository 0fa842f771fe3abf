"""The one registered workflow, `qubitz.job`: a job's whole life, on whichever replica runs it.

The workflow is registered at import (DBOS wants its functions known before launch) and hands
the job to the executor that the running app bound, waiting for it while the app is still
starting (recovered workflows may be dispatched before the pipelines are wired).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from dbos import DBOS
from dbos._error import DBOSWorkflowCancelledError, DBOSWorkflowConflictIDError

# Raised (BaseExceptions) at a step boundary of a workflow that was cancelled from any replica
# or that another executor has taken over.
WorkflowStopped = (DBOSWorkflowCancelledError, DBOSWorkflowConflictIDError)


@dataclass(frozen=True)
class JobSpec:
    """Everything needed to run a job anywhere: the workflow's only (checkpointed) input."""

    job_id: str
    workspace_id: str
    endpoint: str
    request: dict[str, Any]
    submitted_by: str
    submitted_at: float = 0.0  # epoch seconds (0: a spec written before this field existed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> JobSpec:
        return cls(**raw)


Executor = Callable[[JobSpec], Awaitable[dict[str, Any]]]

_bound: dict[str, Executor] = {}


def bind(executor: Executor) -> None:
    _bound["executor"] = executor


def unbind() -> None:
    _bound.pop("executor", None)


BIND_WAIT = 60.0  # seconds a recovered job waits for the app to finish starting


async def _executor() -> Executor:
    deadline = asyncio.get_running_loop().time() + BIND_WAIT
    while "executor" not in _bound:
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError("no job executor bound in this process")
        await asyncio.sleep(0.05)
    return _bound["executor"]


@DBOS.workflow(name="qubitz.job")
async def job_workflow(spec: dict[str, Any]) -> dict[str, Any]:
    execute = await _executor()
    return await execute(JobSpec.from_dict(spec))


async def run_step(name: str, body: Callable[[], Awaitable[Any]]) -> Any:
    """A checkpointed step of the current workflow: on replay, the recorded output."""
    return await DBOS.run_step_async({"name": name}, body)


def reserve_step() -> Callable[[str, Callable[[], Awaitable[Any]]], Awaitable[Any]]:
    """The next step id of the current workflow, drawn now; the step runs there later."""
    reservation = DBOS.reserve_step()

    async def run(name: str, body: Callable[[], Awaitable[Any]]) -> Any:
        return await reservation.run_async({"name": name}, body)

    return run
