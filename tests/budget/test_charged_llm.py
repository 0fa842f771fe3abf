"""Every model call made for a workspace is checked against and charged to its daily budget."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.budget import (
    ChargedRegistry,
    DailyBudget,
    DailyBudgetSpent,
    MemoryWorkspaceTokenUsage,
    charged_to,
    utc_today,
)
from agents.llm.errors import LLMServerError
from agents.llm.port import (
    CompletionRequest,
    LLMEvent,
    Message,
    Role,
    StaticRegistry,
    TextDelta,
    Usage,
    complete,
)
from agents.protocol import ResearchComplete
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.token_usage import SqlWorkspaceTokenUsage
from tests.research.support import (
    WORKSPACE,
    MemoryProjectStore,
    make_deps,
    run_job,
    scripted_models,
)
from tests.support.scripted_llm import Reply, ScriptedLLM

pytestmark = pytest.mark.anyio

ASK = CompletionRequest(system="Be brief.", messages=[Message("user", "hi")], max_tokens=50)


def charged(llm: ScriptedLLM, limit: int | None = 1000) -> tuple[ChargedRegistry, DailyBudget]:
    usage = MemoryWorkspaceTokenUsage()
    budget = DailyBudget(usage, limit)
    return ChargedRegistry(StaticRegistry(default=llm), budget), budget


async def used(budget: DailyBudget, workspace: str) -> int:
    assert budget.limit is not None
    left = await budget.left(workspace)
    assert left is not None
    return budget.limit - left


async def test_a_call_is_charged_what_the_provider_reported_cache_included() -> None:
    llm = ScriptedLLM().enqueue(Reply(text="ok", usage=Usage(100, 20, 30, 5)))
    registry, budget = charged(llm)
    with charged_to("ws1"):
        await complete(registry.for_role(Role.CHAT), ASK)
    assert await used(budget, "ws1") == 155
    assert await used(budget, "ws2") == 0


async def test_a_call_without_reported_usage_is_charged_an_estimate() -> None:
    llm = ScriptedLLM().enqueue(Reply(text="x" * 300, usage=Usage()))
    registry, budget = charged(llm)
    with charged_to("ws1"):
        await complete(registry.for_role(Role.CHAT), ASK)
    assert await used(budget, "ws1") >= 100, "300 characters of output are not free"


async def test_a_call_that_breaks_off_after_text_is_charged_for_it() -> None:
    class Breaking(ScriptedLLM):
        async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
            yield TextDelta("y" * 300)
            raise LLMServerError("connection reset", provider="scripted")

    registry, budget = charged(Breaking())
    with charged_to("ws1"), pytest.raises(LLMServerError):
        await complete(registry.for_role(Role.CHAT), ASK)
    assert await used(budget, "ws1") >= 100


async def test_once_spent_the_next_call_is_refused_before_the_model_sees_it() -> None:
    llm = ScriptedLLM(fallback=Reply(text="ok", usage=Usage(600, 500)))
    registry, _budget = charged(llm, limit=1000)
    with charged_to("ws1"):
        await complete(registry.for_role(Role.CHAT), ASK)  # 1100 of 1000: the call ran to its end
        with pytest.raises(DailyBudgetSpent) as refused:
            await complete(registry.for_role(Role.WRITER), ASK)
    assert refused.value.code == "TOKEN_LIMIT_EXCEEDED"
    assert "00:00 UTC" in refused.value.message
    assert len(llm.requests) == 1
    with charged_to("ws2"):
        await complete(registry.for_role(Role.CHAT), ASK)  # another workspace has its own
    assert len(llm.requests) == 2


async def test_tasks_started_inside_a_job_are_charged_to_it() -> None:
    llm = ScriptedLLM(fallback=Reply(text="ok", usage=Usage(10, 1)))
    registry, budget = charged(llm)

    async def one() -> None:
        await complete(registry.for_role(Role.RESEARCHER), ASK)

    with charged_to("ws1"):
        async with asyncio.TaskGroup() as group:
            for _ in range(3):
                group.create_task(one())
    assert await used(budget, "ws1") == 33


async def test_two_stores_on_one_database_count_one_budget(tmp_path: Path) -> None:
    """Two replicas charging the same workspace at once: every token lands in the one row."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'usage.sqlite'}"
    engines = [make_engine(url), make_engine(url)]
    async with engines[0].begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    stores = [SqlWorkspaceTokenUsage(make_sessionmaker(e)) for e in engines]
    day = utc_today()
    await asyncio.gather(*(stores[i % 2].add("ws1", day, 7) for i in range(40)))
    assert await stores[0].used("ws1", day) == 280
    for engine in engines:
        await engine.dispose()


async def test_a_research_job_is_charged_for_every_model_call(tmp_path: Path) -> None:
    """The workspace's usage equals the job's own total (plan, research, write, discovery, use
    cases), and a chat turn of the workspace is then refused by what research spent."""
    models = scripted_models()
    deps = make_deps(models, tmp_path)
    budget = DailyBudget(MemoryWorkspaceTokenUsage(), 10_000_000)
    deps = dataclasses.replace(deps, llms=ChargedRegistry(deps.llms, budget))
    with charged_to(WORKSPACE):
        events = await run_job(deps)
    complete_ = events[-1]
    assert isinstance(complete_, ResearchComplete) and complete_.usage is not None
    total = complete_.usage["total"]
    assert models.total_requests() >= 5
    assert await used(budget, WORKSPACE) == total.input_tokens + total.output_tokens > 0


async def test_a_research_job_stops_at_its_next_call_once_the_budget_is_spent(
    tmp_path: Path,
) -> None:
    models = scripted_models()
    projects = MemoryProjectStore()
    deps = make_deps(models, tmp_path, projects=projects)
    budget = DailyBudget(MemoryWorkspaceTokenUsage(), 1)  # the planner's call spends it
    deps = dataclasses.replace(deps, llms=ChargedRegistry(deps.llms, budget))
    with charged_to(WORKSPACE):
        events = await run_job(deps)
    error = events[-1]
    assert error.type == "error"
    assert error.error == "TOKEN_LIMIT_EXCEEDED"  # type: ignore[attr-defined]
    assert error.step == "research"  # type: ignore[attr-defined]
    assert "daily budget" in error.message  # type: ignore[attr-defined]
    assert len(models.planner.requests) == 1 and models.researcher.requests == []
    assert [e.type for e in events[:2]] == ["status", "multiagent_step"]
    (project,) = projects.projects.values()
    assert project.status == "failed", "the project is kept, marked failed, not dropped"
