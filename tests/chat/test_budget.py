"""The workspace's daily token budget: every session counts; a new session_id resets nothing.

The budget is charged by the model wrapper (agents.budget.ChargedRegistry), as wiring sets it up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from agents.budget import ChargedRegistry, DailyBudget, MemoryWorkspaceTokenUsage, charged_to
from agents.chat import ChatConfig, ChatDeps
from agents.llm.port import Usage
from agents.protocol import ChatRequest, Event
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.token_usage import SqlWorkspaceTokenUsage
from tests.chat.helpers import chat_request, make_deps, run_turn
from tests.chat.memory_store import MemoryArtifactStore, MemoryChatSessionStore
from tests.support.scripted_llm import Reply, ScriptedLLM

pytestmark = pytest.mark.anyio


@pytest.fixture
def artifacts() -> MemoryArtifactStore:
    return MemoryArtifactStore()


async def charged_turn(
    deps: ChatDeps, request: ChatRequest, workspace_id: str = "ws1"
) -> list[Event]:
    """One turn as the job runner runs it: its model calls are charged to `workspace_id`."""
    with charged_to(workspace_id):
        return await run_turn(deps, request, workspace_id=workspace_id)


@pytest.fixture
async def sql_usage(tmp_path: Path) -> AsyncIterator[SqlWorkspaceTokenUsage]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'usage.sqlite'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield SqlWorkspaceTokenUsage(make_sessionmaker(engine))
    await engine.dispose()


async def test_a_new_session_id_does_not_reset_the_workspace_budget(
    http_client: httpx.AsyncClient,
    artifacts: MemoryArtifactStore,
    sql_usage: SqlWorkspaceTokenUsage,
) -> None:
    llm = ScriptedLLM(fallback=Reply(text="ok", usage=Usage(600, 100)))
    deps = make_deps(
        llm,
        MemoryChatSessionStore(),
        artifacts,
        http_client,
        config=ChatConfig(workspace_daily_tokens=1000),
    )
    budget = DailyBudget(sql_usage, 1000)
    deps = dataclasses.replace(deps, daily_usage=sql_usage, llms=ChargedRegistry(deps.llms, budget))
    first = await charged_turn(deps, chat_request("q?", session_id="s1"))
    assert first[-1].type == "chat_complete"
    second = await charged_turn(deps, chat_request("q?", session_id="s2"))
    assert second[-1].type == "chat_complete"  # 700 used, 300 left: capped, still allowed
    assert llm.requests[1].max_tokens < 300
    third = await charged_turn(deps, chat_request("q?", session_id="brand-new"))
    assert [e.type for e in third] == ["chat_status", "chat_error"]
    assert third[-1].error == "TOKEN_LIMIT_EXCEEDED"  # type: ignore[attr-defined]
    assert "daily budget" in third[-1].message  # type: ignore[attr-defined]
    assert len(llm.requests) == 2
    other = await charged_turn(deps, chat_request("q?", session_id="s1"), workspace_id="ws2")
    assert other[-1].type == "chat_complete", "another workspace has its own budget"


async def test_a_request_cannot_raise_the_session_limit(
    http_client: httpx.AsyncClient, artifacts: MemoryArtifactStore
) -> None:
    llm = ScriptedLLM(fallback=Reply(text="ok", usage=Usage(10, 10)))
    config = ChatConfig(default_token_limit=1000, max_token_limit=10_000_000)
    deps = make_deps(llm, MemoryChatSessionStore(), artifacts, http_client, config=config)
    raised = await run_turn(deps, chat_request("q?", token_limit=10_000_000))
    assert raised[-1].session_info.token_usage.limit == 1000  # type: ignore[attr-defined]
    lowered = await run_turn(deps, chat_request("q?", token_limit=500))
    assert lowered[-1].session_info.token_usage.limit == 500  # type: ignore[attr-defined]


async def test_sql_usage_adds_per_workspace_and_day(sql_usage: SqlWorkspaceTokenUsage) -> None:
    d1, d2 = date(2026, 1, 1), date(2026, 1, 2)
    assert await sql_usage.add("a", d1, 10) == 10
    assert await sql_usage.add("a", d1, 5) == 15
    assert await sql_usage.add("a", d2, 1) == 1
    assert await sql_usage.add("b", d1, 7) == 7
    assert (await sql_usage.used("a", d1), await sql_usage.used("c", d1)) == (15, 0)


async def test_the_budget_resets_with_the_utc_day() -> None:
    today = [date(2026, 1, 1)]
    budget = DailyBudget(MemoryWorkspaceTokenUsage(), 100, today=lambda: today[0])
    await budget.spend("a", 100)
    assert await budget.left("a") == 0
    today[0] = date(2026, 1, 2)
    assert await budget.left("a") == 100
    assert await DailyBudget(MemoryWorkspaceTokenUsage(), None).left("a") is None
