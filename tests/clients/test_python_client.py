"""The Python client against the real service: every endpoint, resume, cancel, typed errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from qubitz_client import AuthError, Backoff, Cancelled, QubitzClient, TokenLimitExceeded
from qubitz_client import ValidationError as ClientValidationError

from agents.errors import LimitExceeded
from agents.pipeline import JobContext
from agents.protocol import (
    ChatChunk,
    ChatComplete,
    ChatMetadata,
    ChatResponse,
    ChatTurnUsage,
    Event,
    ResearchComplete,
    Scope,
    SessionInfo,
    SessionTokenUsage,
    StatusEvent,
    ToolsUsed,
)
from tests.conftest import make_settings, mint
from tests.support.pipelines import as_wiring, default_pipelines
from tests.support.server import run_server
from tests.support.tcp_proxy import CuttableProxy
from tests.support.wsclient import PAYLOADS

pytestmark = pytest.mark.anyio
FAST = Backoff(initial=0.05, maximum=0.2, attempts=20)


def research_like(count: int, delay: float) -> Any:
    async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        for i in range(count):
            await asyncio.sleep(delay)
            yield StatusEvent(message=f"step {i}", session_id=request.session_id)
        urls = {
            n: f"http://x/{n}"
            for n in (
                "deep_research_report_url",
                "deep_research_pdf_url",
                "AI_discovery_report_url",
                "AI_discovery_pdf_url",
                "use_cases_pdf_url",
                "use_cases_md_url",
            )
        }
        yield ResearchComplete(
            project_id="p1",
            user_id=request.user_id,
            session_id=request.session_id,
            s3_deep_research_report_url=urls["deep_research_report_url"],
            s3_deep_research_pdf_url=urls["deep_research_pdf_url"],
            s3_AI_discovery_report_url=urls["AI_discovery_report_url"],
            s3_AI_discovery_pdf_url=urls["AI_discovery_pdf_url"],
            s3_use_cases_pdf_url=urls["use_cases_pdf_url"],
            s3_use_cases_md_url=urls["use_cases_md_url"],
            all_s3_urls=urls,
        )

    return run


def chat_like(limit_hit: bool) -> Any:
    async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        if limit_hit:
            raise LimitExceeded("over budget")
        yield ChatChunk(chunk="Hello ", is_final=False, session_id=request.session_id)
        yield ChatChunk(chunk="world", is_final=True, session_id=request.session_id)
        usage = ChatTurnUsage(input_tokens=3, output_tokens=2, total_tokens=5)
        yield ChatComplete(
            success=True,
            response=ChatResponse(metadata=ChatMetadata(tools_used=ToolsUsed()), token_usage=usage),
            session_info=SessionInfo(
                user_id=request.user_id,
                session_id=request.session_id,
                message_count=1,
                token_usage=SessionTokenUsage(
                    input_tokens=3,
                    output_tokens=2,
                    total_tokens=5,
                    limit=request.token_limit,
                    limit_reached=False,
                ),
            ),
        )

    return run


async def test_every_endpoint_returns_its_final_event(tmp_path: Path) -> None:
    pipelines = {**default_pipelines(), "research": research_like(3, 0), "chat": chat_like(False)}
    with run_server(make_settings(tmp_path), as_wiring(pipelines)) as srv:
        uct = QubitzClient(srv.http, mint(srv, Scope.UCT))
        ch = QubitzClient(srv.http, mint(srv, Scope.CONTROL_HUB))
        finals = {
            "research": await uct.research(**PAYLOADS["research"]).result(),
            "chat": await uct.chat(**PAYLOADS["chat"]).result(),
            "getspec": await ch.get_spec(**PAYLOADS["getspec"]).result(),
            "updatespec": await ch.update_spec(**PAYLOADS["updatespec"]).result(),
            "deploy": await ch.deploy(**PAYLOADS["deploy"]).result(),
            "createapikey": await ch.create_api_key(**PAYLOADS["createapikey"]).result(),
            "deleteapikey": await ch.delete_api_key(**PAYLOADS["deleteapikey"]).result(),
        }
    assert {k: v.type for k, v in finals.items()} == {
        "research": "complete",
        "chat": "chat_complete",
        "getspec": "architecture",
        "updatespec": "architecture",
        "deploy": "complete",
        "createapikey": "api_key_created",
        "deleteapikey": "api_key_deleted",
    }
    assert finals["research"].get("all_s3_urls")["use_cases_md_url"] == "http://x/use_cases_md_url"


async def test_streamed_chat_text_concatenates(tmp_path: Path) -> None:
    pipelines = {**default_pipelines(), "chat": chat_like(False)}
    with run_server(make_settings(tmp_path), as_wiring(pipelines)) as srv:
        client = QubitzClient(srv.http, mint(srv, Scope.UCT))
        events = await client.chat(**PAYLOADS["chat"]).events()
    assert "".join(e.text for e in events) == "Hello world"


async def test_resumes_after_the_socket_is_killed_mid_job(tmp_path: Path) -> None:
    pipelines = {**default_pipelines(), "research": research_like(30, 0.02)}
    with run_server(make_settings(tmp_path), as_wiring(pipelines)) as srv:
        key = mint(srv, Scope.UCT)
        async with CuttableProxy(srv.port) as proxy:
            client = QubitzClient(f"http://127.0.0.1:{proxy.port}", key, backoff=FAST)
            stream = client.research(**PAYLOADS["research"])
            seen = []
            async for event in stream:
                seen.append(event)
                if len(seen) in (5, 17):
                    proxy.cut()
    messages = [e.message for e in seen if e.type == "status"]
    assert messages == [f"step {i}" for i in range(30)], "no event lost, duplicated or reordered"
    assert [e.seq for e in seen] == list(range(1, 32))
    assert stream.reconnects >= 2 and proxy.connections >= 3
    assert seen[-1].type == "complete"


async def test_cancel_raises_cancelled_from_result(tmp_path: Path) -> None:
    pipelines = {**default_pipelines(), "research": research_like(1000, 0.02)}
    with run_server(make_settings(tmp_path), as_wiring(pipelines)) as srv:
        client = QubitzClient(srv.http, mint(srv, Scope.UCT))
        stream = client.research(**PAYLOADS["research"])
        async for event in stream:
            if event.seq == 3:
                await stream.cancel()
        with pytest.raises(Cancelled):
            await stream.result()


async def test_typed_errors(tmp_path: Path) -> None:
    pipelines = {**default_pipelines(), "chat": chat_like(True)}
    with run_server(make_settings(tmp_path), as_wiring(pipelines)) as srv:
        uct = QubitzClient(srv.http, mint(srv, Scope.UCT))
        with pytest.raises(AuthError, match="lacks scope"):
            await uct.deploy(**PAYLOADS["deploy"]).result()
        with pytest.raises(ClientValidationError, match="company_url"):
            await uct.stream("research", {**PAYLOADS["research"], "company_url": 7}).result()
        with pytest.raises(TokenLimitExceeded):
            await uct.chat(**PAYLOADS["chat"]).result()
