"""The SQL chat session store: atomic counting, workspace isolation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.chat import ChatSessionStore, TurnRecord
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.chat import SqlChatSessionStore
from tests.chat.memory_store import MemoryChatSessionStore

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sql", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ChatSessionStore]:
    if request.param == "memory":
        yield MemoryChatSessionStore()
        return
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield SqlChatSessionStore(make_sessionmaker(engine))
    await engine.dispose()


def _turn(inp: int, out: int, *, report: bool = False) -> TurnRecord:
    return TurnRecord(
        user_id="u1",
        messages=2,
        input_tokens=inp,
        output_tokens=out,
        token_limit=1000,
        report_generated=report,
    )


async def test_concurrent_turns_on_one_session_are_all_counted(store: ChatSessionStore) -> None:
    """Twenty turns recorded at once (first ones racing to create the row) lose no count."""
    await asyncio.gather(*(store.record_turn("ws1", "s1", _turn(i, 1)) for i in range(20)))
    state = await store.get("ws1", "s1")
    assert state is not None
    assert state.message_count == 40
    assert state.input_tokens == sum(range(20))
    assert state.output_tokens == 20


async def test_reports_are_numbered_per_session(store: ChatSessionStore) -> None:
    """reports_generated counts only turns that produced a report."""
    a = await store.record_turn("ws1", "s1", _turn(1, 1, report=True))
    b = await store.record_turn("ws1", "s1", _turn(1, 1))
    c = await store.record_turn("ws1", "s1", _turn(1, 1, report=True))
    assert (a.reports_generated, b.reports_generated, c.reports_generated) == (1, 1, 2)


async def test_sessions_are_invisible_across_workspaces(store: ChatSessionStore) -> None:
    """The same session id in two workspaces is two sessions; a third sees none."""
    await store.record_turn("ws1", "s1", _turn(10, 1))
    await store.record_turn("ws2", "s1", _turn(20, 2))
    one, two = await store.get("ws1", "s1"), await store.get("ws2", "s1")
    assert one is not None
    assert two is not None
    assert (one.total_tokens, two.total_tokens) == (11, 22)
    assert await store.get("ws3", "s1") is None
