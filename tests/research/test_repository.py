"""The SQL project store (SQLite in tmp_path), and the pipeline persisting through it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from agents.errors import NotFound
from agents.research.store import NewProject, ReportRef
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.research import ResearchRepository
from tests.research.support import WORKSPACE, make_deps, request, run_job, scripted_models

T = TypeVar("T")


def with_repo(tmp_path: Path, body: Callable[[ResearchRepository], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
        try:
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.create_all)
            return await body(ResearchRepository(make_sessionmaker(engine)))
        finally:
            await engine.dispose()

    return asyncio.run(go())


NEW = NewProject(
    user_id="u1", session_id="s1", company_name="Acme", company_url="https://acme.example",
    prompt="AI in retail",
)  # fmt: skip


def test_project_lifecycle_and_reports(tmp_path: Path) -> None:
    """Create → add reports (replacing per file type) → complete; read back with reports."""

    async def body(repo: ResearchRepository) -> None:
        pid = await repo.create_project("ws1", NEW)
        assert (await repo.get_project("ws1", pid)).status == "running"
        ref = ReportRef(
            "markdown", f"ws1/{pid}/report.md", "http://h/a/report.md", "text/markdown", 10
        )
        await repo.add_report("ws1", pid, ref)
        newer = ReportRef(
            "markdown", f"ws1/{pid}/report.md", "http://h/b/report.md", "text/markdown", 20
        )
        await repo.add_report("ws1", pid, newer)
        await repo.add_report(
            "ws1", pid, ReportRef("pdf", "k", "http://h/r.pdf", "application/pdf", 5)
        )
        await repo.complete_project(
            "ws1",
            pid,
            use_cases=[{"id": "uc_1", "title": "T"}],
            usage={"total": {"input_tokens": 3}},
        )
        record = await repo.get_project("ws1", pid)
        assert record.status == "complete" and record.company_name == "Acme"
        assert record.reports["markdown"] == newer and set(record.reports) == {"markdown", "pdf"}
        assert record.use_cases == [{"id": "uc_1", "title": "T"}]
        assert record.usage == {"total": {"input_tokens": 3}}
        found = await repo.find_report_by_url("ws1", "http://h/r.pdf")
        assert found is not None and found[0].project_id == pid and found[1].file_type == "pdf"
        assert await repo.find_report_by_url("ws1", "http://h/a/report.md") is None

    with_repo(tmp_path, body)


def test_other_workspaces_projects_are_not_found(tmp_path: Path) -> None:
    """Every method treats another workspace's project as missing."""

    async def body(repo: ResearchRepository) -> None:
        pid = await repo.create_project("ws1", NEW)
        await repo.add_report(
            "ws1", pid, ReportRef("pdf", "k", "http://h/r.pdf", "application/pdf", 5)
        )
        with pytest.raises(NotFound):
            await repo.get_project("ws2", pid)
        with pytest.raises(NotFound):
            await repo.add_report("ws2", pid, ReportRef("md", "k", "u", "t", 1))
        with pytest.raises(NotFound):
            await repo.fail_project("ws2", pid, error="x")
        with pytest.raises(NotFound):
            await repo.complete_project("ws2", pid, use_cases=[], usage={})
        assert await repo.find_report_by_url("ws2", "http://h/r.pdf") is None
        assert await repo.list_projects("ws2") == []
        assert (await repo.get_project("ws1", pid)).status == "running"

    with_repo(tmp_path, body)


def test_list_projects_newest_first_and_by_user(tmp_path: Path) -> None:
    """Listing is per workspace, newest first, optionally for one user; failures keep errors."""

    async def body(repo: ResearchRepository) -> None:
        a = await repo.create_project("ws1", NEW)
        b = await repo.create_project("ws1", NewProject("u2", "s", "B", "u", "p"))
        await repo.fail_project("ws1", b, error="Step 'writing' failed")
        assert [p.project_id for p in await repo.list_projects("ws1")] == [b, a]
        (only,) = await repo.list_projects("ws1", user_id="u2")
        assert (
            only.project_id == b
            and only.status == "failed"
            and only.error == "Step 'writing' failed"
        )

    with_repo(tmp_path, body)


def test_pipeline_persists_the_project_and_report_urls(tmp_path: Path) -> None:
    """A finished job leaves a complete project whose report URLs match the events."""

    async def body(repo: ResearchRepository) -> None:
        deps = make_deps(scripted_models(), tmp_path, projects=repo)  # type: ignore[arg-type]
        events = await run_job(deps, request())
        complete = events[-1]
        record = await repo.get_project(WORKSPACE, complete.project_id)
        assert record.status == "complete" and record.user_id == "user123"
        assert record.reports["deep_research_markdown"].url == complete.s3_deep_research_report_url
        assert len(record.reports) == 9  # the eight files and the citations sidecar
        assert record.reports["citations"].url == complete.all_s3_urls["citations_url"]
        assert [u["id"] for u in record.use_cases] == ["uc_1", "uc_2", "uc_3"]
        assert record.usage["total"]["total_tokens"] > 0

    with_repo(tmp_path, body)
