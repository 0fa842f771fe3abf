"""Admitting a model call costs no database read while the workspace is far from its limit and
this process learnt its usage recently; near the limit every call reads the shared row, so a
budget spent through one replica is refused by every replica at its next call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from agents.budget import (
    ChargedRegistry,
    DailyBudget,
    DailyBudgetSpent,
    MemoryWorkspaceTokenUsage,
    WorkspaceTokenUsage,
    charged_to,
    utc_today,
)
from agents.llm.port import CompletionRequest, Message, Role, StaticRegistry, Usage, complete
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.token_usage import SqlWorkspaceTokenUsage
from tests.support.scripted_llm import Reply, ScriptedLLM

pytestmark = pytest.mark.anyio

ASK = CompletionRequest(system="Be brief.", messages=[Message("user", "hi")], max_tokens=50)


class CountingUsage:
    """A usage store that counts its reads (what admission saves)."""

    def __init__(self, inner: WorkspaceTokenUsage) -> None:
        self.inner = inner
        self.reads = 0

    async def used(self, workspace_id: str, day: date) -> int:
        self.reads += 1
        return await self.inner.used(workspace_id, day)

    async def add(self, workspace_id: str, day: date, tokens: int) -> int:
        return await self.inner.add(workspace_id, day, tokens)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def replica(
    usage: WorkspaceTokenUsage, limit: int, clock: Clock, *tokens: int
) -> tuple[ChargedRegistry, ScriptedLLM]:
    """One replica's charged registry; its model's calls cost `tokens` in turn."""
    llm = ScriptedLLM().enqueue(*(Reply(text="ok", usage=Usage(n, 0)) for n in tokens))
    budget = DailyBudget(usage, limit, clock=clock)
    return ChargedRegistry(StaticRegistry(default=llm), budget), llm


async def call(registry: ChargedRegistry, workspace: str = "ws1") -> None:
    with charged_to(workspace):
        await complete(registry.for_role(Role.CHAT), ASK)


@pytest.fixture
async def shared_db(tmp_path: Path) -> AsyncIterator[list[SqlWorkspaceTokenUsage]]:
    """Two usage stores on one SQLite database, each with its own engine (two replicas)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'usage.sqlite'}"
    engines = [make_engine(url), make_engine(url)]
    async with engines[0].begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield [SqlWorkspaceTokenUsage(make_sessionmaker(e)) for e in engines]
    for engine in engines:
        await engine.dispose()


async def test_far_from_the_limit_a_recent_charge_stands_in_for_a_read() -> None:
    usage = CountingUsage(MemoryWorkspaceTokenUsage())
    clock = Clock()
    registry, llm = replica(usage, 10_000, clock, 100, 100, 100)
    await call(registry)
    assert usage.reads == 1, "a workspace not seen yet is read"
    await call(registry)
    assert usage.reads == 1, "0.0 s after a charge that left 9900 of 10000: no read"
    clock.now += 1.5
    await call(registry)
    assert usage.reads == 2, "what was learnt 1.5 s ago is stale: read again"
    assert len(llm.requests) == 3


async def test_near_the_limit_every_call_reads() -> None:
    usage = CountingUsage(MemoryWorkspaceTokenUsage())
    registry, _llm = replica(usage, 1000, Clock(), 950, 10, 10)
    await call(registry)  # 950 of 1000: 50 left, less than 10 % of the limit
    await call(registry)
    await call(registry)
    assert usage.reads == 3


async def test_two_replicas_on_one_database_refuse_exactly_at_the_limit(
    shared_db: list[SqlWorkspaceTokenUsage],
) -> None:
    """Replica A charges 950; B's call brings the row to exactly 1000; A's next call and B's
    next call are both refused before their model sees them, though each spent below it."""
    clock = Clock()
    a, llm_a = replica(shared_db[0], 1000, clock, 950, 1)
    b, llm_b = replica(shared_db[1], 1000, clock, 50, 1)
    await call(a)
    await call(b)
    assert await shared_db[0].used("ws1", utc_today()) == 1000
    for registry in (a, b):
        with pytest.raises(DailyBudgetSpent):
            await call(registry)
    assert (len(llm_a.requests), len(llm_b.requests)) == (1, 1)
    await call(a, "ws2")  # another workspace has its own budget


async def test_far_from_the_limit_another_replicas_spend_is_seen_within_the_trust_window(
    shared_db: list[SqlWorkspaceTokenUsage],
) -> None:
    """What the cache can hide, and for how long. B learnt "9900 left" of ws1 and of ws2; A then
    spends the rest of both. Within the same second B admits a call on ws1 (the documented
    overshoot; its charge brings back the total, so the next is refused); after that second,
    B reads ws2's row before its call and refuses it."""
    clock = Clock()
    a, _ = replica(shared_db[0], 10_000, clock, 9_900, 9_900)
    b, llm_b = replica(shared_db[1], 10_000, clock, 100, 100, 1)
    await call(b, "ws1")
    await call(b, "ws2")
    await call(a, "ws1")
    await call(a, "ws2")
    clock.now += 0.5
    await call(b, "ws1")
    with pytest.raises(DailyBudgetSpent):
        await call(b, "ws1")
    clock.now += 1.0
    with pytest.raises(DailyBudgetSpent):
        await call(b, "ws2")
    assert len(llm_b.requests) == 3


async def test_a_charge_is_one_upsert_that_returns_the_new_total(
    shared_db: list[SqlWorkspaceTokenUsage],
) -> None:
    """The day's first charge inserts the row; later ones, from either store, add to it."""
    day = utc_today()
    assert await shared_db[0].add("ws1", day, 7) == 7
    assert await shared_db[1].add("ws1", day, 5) == 12
    assert await shared_db[0].add("ws2", day, 1) == 1
    assert await shared_db[1].used("ws1", day) == 12


async def test_a_new_day_is_read_not_taken_from_yesterday() -> None:
    days = [date(2026, 1, 1)]
    usage = CountingUsage(MemoryWorkspaceTokenUsage())
    llm = ScriptedLLM(fallback=Reply(text="ok", usage=Usage(10, 0)))
    budget = DailyBudget(usage, 10_000, today=lambda: days[0], clock=Clock())
    registry = ChargedRegistry(StaticRegistry(default=llm), budget)
    await call(registry)
    days[0] = date(2026, 1, 2)
    await call(registry)
    assert usage.reads == 2
