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
the job's log and `ctx.step` yields only its recorded `StepOutput`. The output must be picklable
(plain data: dataclasses, pydantic models, str/int/list/dict; never a client or a model).

    async for item in ctx.step("plan", plan_stage(request)):
        if isinstance(item, StepOutput):
            plan = item.value
        else:
            yield item

Everything a pipeline yields must come from inside a step (an event yielded between steps would
be sent again after a failover), and a step's name must be the same on every run of the job.
Steps run one after the other, except those placed in advance with `ctx.step.reserve()`: each
reservation is the next step's place in the job, drawn now, to be run once later from any task
(e.g. research questions in parallel). `stage()` wraps the loop above and also tells whether
the body ran in this process (`Checkpoint.replayed` is False) or its output was recorded before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from agents.protocol import Event, StrictRequest

RequestT = TypeVar("RequestT", bound=StrictRequest, contravariant=True)
OutputT = TypeVar("OutputT")


@dataclass(frozen=True, slots=True)
class StepOutput:
    """The last item of a step's body: what later steps need from it (checkpointed)."""

    value: Any


StepItem = Event | StepOutput


StepFn = Callable[[str, AsyncIterator[StepItem]], AsyncIterator[StepItem]]


class StepRunner(Protocol):
    """Runs one named stage of a job; the durable engine's runner checkpoints it."""

    def __call__(self, name: str, body: AsyncIterator[StepItem]) -> AsyncIterator[StepItem]: ...

    def reserve(self) -> StepFn:
        """The next step's place, drawn now; the returned function runs one step there later."""
        ...


class InlineSteps:
    """No engine (a pipeline called directly, as in unit tests): the body runs as it is."""

    def __call__(self, name: str, body: AsyncIterator[StepItem]) -> AsyncIterator[StepItem]:
        return body

    def reserve(self) -> StepFn:
        return self


inline_steps = InlineSteps()


@dataclass
class Checkpoint:
    """What `stage()` leaves behind: the step's output, and whether its body ran here."""

    value: Any = None
    replayed: bool = True  # the output was recorded before (a failover); the body did not run

    def output(self, kind: type[OutputT]) -> OutputT:
        """The step's output, typed. A body that ends without raising always yields its
        `StepOutput`, so anything else here is a bug in that body, not a case to handle."""
        if not isinstance(self.value, kind):
            raise TypeError(f"the step left {type(self.value).__name__}, not {kind.__name__}")
        return self.value


async def stage(
    step: StepFn, name: str, body: AsyncIterator[StepItem], out: Checkpoint
) -> AsyncIterator[Event]:
    """Run `body` as the step `name`: yields its events; its output lands in `out`."""

    async def tracked() -> AsyncIterator[StepItem]:
        out.replayed = False
        async for item in body:
            yield item

    async for item in step(name, tracked()):
        if isinstance(item, StepOutput):
            out.value = item.value
        else:
            yield item


@dataclass(frozen=True)
class JobContext:
    job_id: str
    workspace_id: str
    endpoint: str
    step: StepRunner = field(default=inline_steps, compare=False, repr=False)


Pipeline = Callable[[Any, JobContext], AsyncIterator[Event]]
