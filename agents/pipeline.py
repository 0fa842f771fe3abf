"""The contract between the job runner and an endpoint's pipeline.

A pipeline is `async def run(request, ctx) -> AsyncIterator[Event]`: it yields protocol events in
order. It never touches the socket, Starlette or environment variables; its collaborators are
given to the factory that builds it. To end with a domain error it either yields the endpoint's
error event and returns, or raises a `QubitzError` (the runner turns it into the error event).
Cancellation arrives as `asyncio.CancelledError` at an `await`; release resources in `finally`.

Durable stages. A job runs as a durable workflow; a pipeline that does not say otherwise is one
step, re-run from its start (after a `resumed` status event) if its replica dies. A pipeline
splits itself into steps with `ctx.step(name, body)`: `body` is an async iterator of events that
ends with one `StepOutput(value)`; the step's events and then its output are committed before
the next step starts. On recovery a completed step is not run again: its events are already in
the job's log and `ctx.step` yields only its recorded `StepOutput`. The output must be picklable.

    async for item in ctx.step("plan", plan_stage(request)):
        if isinstance(item, StepOutput):
            plan = item.value
        else:
            yield item
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from agents.protocol import Event, StrictRequest

RequestT = TypeVar("RequestT", bound=StrictRequest, contravariant=True)


@dataclass(frozen=True, slots=True)
class StepOutput:
    """The last item of a step's body: what later steps need from it (checkpointed)."""

    value: Any


StepItem = Event | StepOutput


class StepRunner(Protocol):
    """Runs one named stage of a job; the durable engine's runner checkpoints it."""

    def __call__(self, name: str, body: AsyncIterator[StepItem]) -> AsyncIterator[StepItem]: ...


def inline_steps(name: str, body: AsyncIterator[StepItem]) -> AsyncIterator[StepItem]:
    """No engine (a pipeline called directly, as in unit tests): the body runs as it is."""
    return body


@dataclass(frozen=True)
class JobContext:
    job_id: str
    workspace_id: str
    endpoint: str
    step: StepRunner = field(default=inline_steps, compare=False, repr=False)


Pipeline = Callable[[Any, JobContext], AsyncIterator[Event]]
