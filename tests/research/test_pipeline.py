"""The /research pipeline end to end with scripted models and a local artifact store."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import get_args

from agents.protocol import ENDPOINTS, FileType, ResearchComplete
from agents.reports import render_pdf_async
from agents.research.config import ResearchLimits
from agents.research.pipeline import START_MESSAGE
from tests.research.support import (
    WORKSPACE,
    MemoryProjectStore,
    fake_pdf,
    make_deps,
    of_type,
    request,
    run_job,
    scripted_models,
)

STEPS = ["planning", "research", "writing", "analysis", "use_cases", "rendering"]


def _order(events: list) -> list[str]:
    """Event types with consecutive repeats collapsed."""
    out: list[str] = []
    for e in events:
        if not out or out[-1] != e.type:
            out.append(e.type)
    return out


def test_full_job_follows_the_reference_order(tmp_path: Path) -> None:
    """status → steps/progress (+chunks) → 8 uploads → use_cases_complete → complete, all valid."""
    models = scripted_models()
    projects = MemoryProjectStore()
    deps = make_deps(models, tmp_path, projects=projects, render_pdf=render_pdf_async)
    events = asyncio.run(run_job(deps))

    allowed = ENDPOINTS["research"].events
    assert all(isinstance(e, allowed) for e in events)
    assert events[0].type == "status" and events[0].message == START_MESSAGE
    assert all(getattr(e, "session_id", None) == "session456" for e in events)

    types = [e.type for e in events]
    first_upload = types.index("s3_upload_complete")
    last_upload = len(types) - 1 - types[::-1].index("s3_upload_complete")
    # Nothing but uploads (and their progress) between the first and the last upload.
    assert set(types[first_upload : last_upload + 1]) <= {
        "s3_upload_complete",
        "multiagent_progress",
    }
    assert "stream_chunk" not in types[first_upload:]
    assert types[-2:] == ["use_cases_complete", "complete"]
    assert types.index("multiagent_step") < first_upload
    assert [e.step for e in of_type(events, "multiagent_step")] == STEPS
    # Every step announces itself before its progress.
    for step in STEPS:
        assert types.index("multiagent_step") <= min(
            i for i, e in enumerate(events) if e.type == "multiagent_progress" and e.step == step
        )

    uploads = of_type(events, "s3_upload_complete")
    assert sorted(u.file_type for u in uploads) == sorted(get_args(FileType))
    complete = events[-1]
    assert isinstance(complete, ResearchComplete)
    urls = {u.file_type: u.s3_url for u in uploads}
    assert complete.s3_deep_research_report_url == urls["deep_research_markdown"]
    assert complete.s3_deep_research_pdf_url == urls["deep_research_pdf"]
    assert complete.s3_AI_discovery_report_url == urls["AI_discovery_markdown"]
    assert complete.s3_AI_discovery_pdf_url == urls["AI_discovery_pdf"]
    assert complete.s3_use_cases_md_url == urls["use_cases_md"]
    assert complete.s3_use_cases_pdf_url == urls["use_cases_pdf"]
    sidecar_url = complete.all_s3_urls.pop("citations_url")  # the sidecar is listed too
    assert sidecar_url.split("?")[0].endswith("/citations.json")
    assert set(complete.all_s3_urls.values()) == set(urls.values())
    assert complete.user_id == "user123"

    # Files are where the URLs say, under <workspace>/<project>/, PDFs are real PDFs.
    root = tmp_path / "artifacts" / WORKSPACE / complete.project_id
    assert sorted(p.name for p in root.iterdir()) == sorted(
        ["deep_research_report.md", "deep_research_report.pdf", "ai_discovery_report.md",
         "ai_discovery_report.pdf", "use_cases.md", "use_cases.pdf", "report.md", "report.pdf",
         "citations.json"]
    )  # fmt: skip
    for pdf in root.glob("*.pdf"):
        assert pdf.read_bytes().startswith(b"%PDF-")
    streamed = "".join(
        c.data.chunk for c in of_type(events, "stream_chunk") if c.data.step == "writing"
    )
    assert (root / "deep_research_report.md").read_text() == streamed
    combined = (root / "report.md").read_text()
    assert "# Deep Research Report" in combined and "# AI Discovery Report" in combined
    assert "# AI Use Cases for TestCompany" in combined

    # The project is recorded complete, with its reports and use cases.
    record = projects.projects[complete.project_id]
    assert record.status == "complete" and record.workspace_id == WORKSPACE
    assert {r.url for r in record.reports.values()} == {*urls.values(), sidecar_url}
    assert record.reports["citations"].content_type == "application/json"
    assert [u["id"] for u in record.use_cases] == ["uc_1", "uc_2", "uc_3"]


def test_chunks_are_coalesced_and_indexed_in_order(tmp_path: Path) -> None:
    """The writer's tiny deltas arrive as larger chunks with increasing chunk_index."""
    deps = make_deps(scripted_models(), tmp_path, limits=ResearchLimits(chunk_chars=120))
    events = asyncio.run(run_job(deps))
    chunks = of_type(events, "stream_chunk")
    assert [c.data.chunk_index for c in chunks] == list(range(len(chunks)))
    # All but the last chunk of each report reach the coalescing size (deltas are 7-9 chars).
    for step in ("writing", "analysis"):
        sizes = [len(c.data.chunk) for c in chunks if c.data.step == step]
        assert len(sizes) >= 2
        assert all(size >= 120 for size in sizes[:-1])


def test_citations_to_ungathered_or_unquoted_sources_are_removed_and_counted(
    tmp_path: Path,
) -> None:
    """[99], [42], [7] (not gathered) and [2] (gathered, but no claim of it was kept, so the
    sidecar has no quote for it) disappear from the reports; the count is reported."""
    models = scripted_models()
    deps = make_deps(models, tmp_path, limits=ResearchLimits(concurrency=1))
    events = asyncio.run(run_job(deps))
    complete = events[-1]
    assert isinstance(complete, ResearchComplete)
    (sidecar,) = tmp_path.rglob("citations.json")
    quoted = {c["n"] for c in json.loads(sidecar.read_text())["citations"] if c["claims"]}
    assert quoted and 2 not in quoted
    report = "".join(
        c.data.chunk for c in of_type(events, "stream_chunk") if c.data.step == "writing"
    )
    discovery = "".join(
        c.data.chunk for c in of_type(events, "stream_chunk") if c.data.step == "analysis"
    )
    body = report.split("## Sources")[0]
    cited = {
        int(n) for n in re.findall(r"(?<!\\)\[(\d+)\]", body + discovery.split("## Sources")[0])
    }
    assert cited and cited <= quoted
    assert "[99]" not in report and "[42]" not in report and "[7]" not in discovery
    assert "[Source 2]" not in report and "[2]" not in body + discovery
    # [2], [99], [42] and [Source 2] in the report; [2] and [7] in the discovery report.
    assert complete.citations_removed == 6
    statuses = [e.message for e in of_type(events, "status")]
    assert any("removed 4 citation(s)" in m for m in statuses)
    # The sources section lists exactly the sources the report cites.
    section = report.split("## Sources")[1]
    listed = {int(n) for n in re.findall(r"\\\[(\d+)\\\]", section)}
    assert listed == {int(n) for n in re.findall(r"(?<!\\)\[(\d+)\]", body)}


def test_usage_is_summed_per_step_and_job(tmp_path: Path) -> None:
    """complete.usage has one entry per model step and a total equal to their sum."""
    events = asyncio.run(run_job(make_deps(scripted_models(), tmp_path)))
    usage = events[-1].usage
    assert set(usage) == {"planning", "research", "writing", "analysis", "use_cases", "total"}
    steps = [v for k, v in usage.items() if k != "total"]
    assert usage["total"].input_tokens == sum(u.input_tokens for u in steps) > 0
    assert usage["total"].output_tokens == sum(u.output_tokens for u in steps) > 0
    assert usage["total"].total_tokens == usage["total"].input_tokens + usage["total"].output_tokens


def test_language_reaches_the_writer_and_analyst(tmp_path: Path) -> None:
    """A German request asks the writer and the analyst to write German."""
    models = scripted_models()
    asyncio.run(run_job(make_deps(models, tmp_path), request(language="de")))
    assert "Write in German." in models.writer.requests[0].system
    assert all("Write in German." in r.system for r in models.analyst.requests)


def test_depth_controls_questions_and_lengths(tmp_path: Path) -> None:
    """quick asks for fewer questions and shorter reports than deep."""
    quick, deep = scripted_models(), scripted_models()
    asyncio.run(run_job(make_deps(quick, tmp_path / "q"), request(depth="quick")))
    asyncio.run(run_job(make_deps(deep, tmp_path / "d"), request(depth="deep")))
    assert "Write 3 research questions" in quick.planner.requests[0].messages[0].content
    assert "Write 8 research questions" in deep.planner.requests[0].messages[0].content
    assert quick.writer.requests[0].max_tokens < deep.writer.requests[0].max_tokens


def test_project_store_failure_at_start_is_an_error_naming_setup(tmp_path: Path) -> None:
    """If the project cannot be created, the job ends with an error before any model call."""

    class BrokenStore(MemoryProjectStore):
        async def create_project(self, workspace_id, project):  # type: ignore[no-untyped-def]
            raise OSError("database is locked")

    models = scripted_models()
    events = asyncio.run(run_job(make_deps(models, tmp_path, projects=BrokenStore())))
    assert events[-1].type == "error" and events[-1].step == "setup"
    assert models.total_requests() == 0


def test_fake_pdf_is_only_used_in_tests() -> None:
    """The default renderer of ResearchDeps is the real one from agents.reports."""
    from agents.research.deps import ResearchDeps

    default = ResearchDeps.__dataclass_fields__["render_pdf"].default
    assert default is render_pdf_async and default is not fake_pdf
