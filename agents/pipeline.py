"""The contract between the job runner and an endpoint's pipeline.

A pipeline is `async def run(request, ctx) -> AsyncIterator[Event]`: it yields protocol events in
order. It never touches the socket, Starlette or environment variables; its collaborators are
given to the factory that builds it. To end with a domain error it either yields the endpoint's
error event and returns, or raises a `QubitzError` (the runner turns it into the error event).
Cancellation arrives as `asyncio.CancelledError` at an `await`; release resources in `finally`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from agents.protocol import Event, StrictRequest

RequestT = TypeVar("RequestT", bound=StrictRequest, contravariant=True)


@dataclass(frozen=True)
class JobContext:
    job_id: str
    workspace_id: str
    endpoint: str


Pipeline = Callable[[Any, JobContext], AsyncIterator[Event]]
