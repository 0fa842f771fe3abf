"""Run a pipeline as a client would see it: a raised agents.errors exception ends the events
with the endpoint's error event, built by the server's failure map (server/failures.py)."""

from __future__ import annotations

from typing import Any

from agents.errors import QubitzError
from agents.pipeline import JobContext, Pipeline
from agents.protocol import ENDPOINTS, Event
from server.failures import outcome


async def events_as_sent(
    pipeline: Pipeline, request: Any, ctx: JobContext, *, endpoint: str | None = None
) -> list[Event]:
    events: list[Event] = []
    try:
        async for event in pipeline(request, ctx):
            events.append(event)
    except QubitzError as exc:
        protocol = ENDPOINTS[endpoint or ctx.endpoint]
        events.append(outcome(exc).error_event(protocol, getattr(request, "session_id", None)))
    return events
