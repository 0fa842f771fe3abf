"""A /getspec pipeline whose architect is the real Anthropic provider, talking to the loopback
Anthropic peer (tests/llm/anthropic_peer.py): for tests of what reaches the client from a
provider's retries, and of the spans a job's model calls make."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from agents.llm.anthropic_api import AnthropicLLM
from agents.llm.port import StaticRegistry
from agents.llm.retry import RetryPolicy
from agents.pipeline import Pipeline
from agents.spec.deps import SpecDeps
from agents.spec.generate import getspec_pipeline
from server.composition import Wired
from server.db.specs import SqlSpecStore
from server.llm_metrics import InstrumentedRegistry
from tests.llm.anthropic_peer import (
    AnthropicPeer,
    Reply,
    error_body,
    message_end,
    message_start,
    text_block,
    tool_use_block,
)
from tests.spec.helpers import ReportLoader, design

RATIONALE = "A triage agent reads each ticket; a router agent sends it to the right queue."
GETSPEC = {
    "user_id": "user123",
    "project_id": "proj-notices",
    "use_case_name": "Ticket triage",
    "use_case_description": "Route support tickets to the right team.",
}


def overloaded_then_design(peer: AnthropicPeer) -> None:
    """The rationale call fails once with 529 (overloaded) and then streams; the design call
    answers with the spec's tool call."""
    peer.enqueue(
        Reply(status=529, body=error_body("overloaded_error", "Overloaded")),
        Reply(
            events=[
                message_start(input_tokens=40),
                *text_block(0, RATIONALE[:30], RATIONALE[30:]),
                *message_end(output_tokens=17),
            ]
        ),
        Reply(
            events=[
                message_start(input_tokens=90),
                *tool_use_block(0, "architecture", json.dumps(design("triage", "router"))),
                *message_end(stop_reason="tool_use", output_tokens=60),
            ]
        ),
    )


def design_then_overloaded(peer: AnthropicPeer) -> None:
    """The rationale call streams; the structured design call fails once with 529 (overloaded),
    then answers with the spec's tool call."""
    peer.enqueue(
        Reply(
            events=[
                message_start(input_tokens=40),
                *text_block(0, RATIONALE[:30], RATIONALE[30:]),
                *message_end(output_tokens=17),
            ]
        ),
        Reply(status=529, body=error_body("overloaded_error", "Overloaded")),
        Reply(
            events=[
                message_start(input_tokens=90),
                *tool_use_block(0, "architecture", json.dumps(design("triage", "router"))),
                *message_end(stop_reason="tool_use", output_tokens=60),
            ]
        ),
    )


def spec_wiring(
    peer: AnthropicPeer, wrap: Callable[[Pipeline], Pipeline] = lambda p: p
) -> Callable[[Any], Any]:
    """Wiring for run_server: /getspec on the peer-backed architect (wrapped like the product's
    models), specs in the server's database."""

    @contextlib.asynccontextmanager
    async def wiring(infra: Any) -> AsyncIterator[Wired]:
        llm = AnthropicLLM(
            api_key="sk-test",
            base_url=peer.base_url,
            retry=RetryPolicy(max_attempts=3, base_delay=0.01),
            timeout=30,
        )
        # as server/wiring.py does: every model call measured (and traced when tracing is on)
        llms = InstrumentedRegistry(StaticRegistry(default=llm), infra.metrics, infra.tracing)
        deps = SpecDeps(
            llms=llms,
            store=SqlSpecStore(infra.sessions),
            load_report=ReportLoader(),
        )
        yield Wired(pipelines={"getspec": wrap(getspec_pipeline(deps))})

    return wiring
