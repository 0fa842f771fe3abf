"""A model retry during /getspec reaches the client as a `status` event (the spec endpoints'
status shape), whether it happens while the rationale streams or during the structured design
call, and the job still ends with its architecture. The architect is the real Anthropic
provider (its own retry policy); the model is a loopback peer of its wire format, scripted to
answer one of the calls with 529 (overloaded) first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from qubitz_client import QubitzClient
from qubitz_client.events import SpecStatus

from agents.protocol import Scope
from server.settings import Settings
from tests.conftest import mint
from tests.llm.anthropic_peer import AnthropicPeer
from tests.support.anthropic_spec import (
    GETSPEC,
    design_then_overloaded,
    overloaded_then_design,
    spec_wiring,
)
from tests.support.server import run_server

pytestmark = [pytest.mark.anyio, pytest.mark.allow_model_requests]


async def getspec_through(
    settings: Settings, script: Callable[[AnthropicPeer], object]
) -> tuple[list[Any], AnthropicPeer]:
    """A /getspec job on a server whose architect is the peer, scripted by `script`."""
    async with AnthropicPeer() as peer:
        script(peer)
        with run_server(settings, spec_wiring(peer)) as srv:
            async with QubitzClient(srv.http, mint(srv, Scope.CONTROL_HUB)) as client:
                return list(await client.get_spec(**GETSPEC).events()), peer


async def test_a_retry_notice_during_generation_reaches_the_client(settings: Settings) -> None:
    events, peer = await getspec_through(settings, overloaded_then_design)
    kinds = [e.type for e in events]
    assert kinds[:3] == ["ack", "stream_start", "status"], kinds
    assert kinds[-2:] == ["stream_end", "architecture"], kinds
    status = events[2]
    assert isinstance(status, SpecStatus)
    assert status.data.status == "processing"
    assert status.data.message.startswith("Model call failed (")
    assert "529" in status.data.message and "retrying in" in status.data.message
    assert "(attempt 2)" in status.data.message
    end = events[-2].raw["data"]
    assert end["total_chunks"] == kinds.count("stream_chunk") >= 1  # statuses are not chunks
    assert len(peer.requests) == 3


async def test_a_retry_of_the_structured_design_call_reaches_the_client(
    settings: Settings,
) -> None:
    """The JSON half of the sequence (the validate step) reports its retry too: after the
    rationale's chunks, before stream_end."""
    events, peer = await getspec_through(settings, design_then_overloaded)
    kinds = [e.type for e in events]
    assert kinds[:3] == ["ack", "stream_start", "stream_chunk"], kinds
    assert kinds[-3:] == ["status", "stream_end", "architecture"], kinds
    status = events[-3]
    assert isinstance(status, SpecStatus)
    assert status.data.message.startswith("Model call failed (")
    assert "529" in status.data.message and "(attempt 2)" in status.data.message
    assert kinds.count("status") == 1
    assert len(peer.requests) == 3
    assert peer.requests[1].body == peer.requests[2].body, "the same structured call, retried"
