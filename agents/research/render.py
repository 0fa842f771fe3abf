"""Step 6: render each report to Markdown and PDF, store the eight files, record them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from agents.protocol import (
    Event,
    FileType,
    MultiagentProgress,
    MultiagentStep,
    S3UploadComplete,
)
from agents.reports import use_cases_markdown
from agents.research.state import JobState, StepFailed, describe_error
from agents.research.store import ReportRef

RENDER = "rendering"

MARKDOWN = "text/markdown; charset=utf-8"
PDF = "application/pdf"


@dataclass(frozen=True)
class ArtifactSpec:
    file_type: FileType
    name: str
    url_key: str  # key in `complete.all_s3_urls`


ARTIFACTS: tuple[ArtifactSpec, ...] = (
    ArtifactSpec("deep_research_markdown", "deep_research_report.md", "deep_research_report_url"),
    ArtifactSpec("deep_research_pdf", "deep_research_report.pdf", "deep_research_pdf_url"),
    ArtifactSpec("AI_discovery_markdown", "ai_discovery_report.md", "AI_discovery_report_url"),
    ArtifactSpec("AI_discovery_pdf", "ai_discovery_report.pdf", "AI_discovery_pdf_url"),
    ArtifactSpec("use_cases_md", "use_cases.md", "use_cases_md_url"),
    ArtifactSpec("use_cases_pdf", "use_cases.pdf", "use_cases_pdf_url"),
    ArtifactSpec("markdown", "report.md", "markdown_url"),
    ArtifactSpec("pdf", "report.pdf", "pdf_url"),
)


def artifact_key(workspace_id: str, project_id: str, name: str) -> str:
    return f"{workspace_id}/{project_id}/{name}"


def combined_markdown(report: str, discovery: str, use_cases: str) -> str:
    """The three reports in one document, separated by rules."""
    parts = [p.strip() for p in (report, discovery, use_cases) if p.strip()]
    return "\n\n---\n\n".join(parts) + "\n"


async def render_and_store(state: JobState) -> AsyncIterator[Event]:
    yield MultiagentStep(
        step=RENDER, message="Rendering and storing the reports...", session_id=state.sid
    )
    deps = state.deps
    uc_md = use_cases_markdown(state.use_cases, company=state.company)
    combined = combined_markdown(state.report_md, state.discovery_md, uc_md)
    meta = {
        "Company": state.company,
        "Topic": state.topic,
        "Project": state.project_id,
        "Date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }

    def pdf(markdown: str, title: str) -> Callable[[], Awaitable[bytes]]:
        async def render() -> bytes:
            return await deps.render_pdf(markdown, title=title, subtitle=state.company, meta=meta)

        return render

    def text(markdown: str) -> Callable[[], Awaitable[bytes]]:
        async def encode() -> bytes:
            return markdown.encode("utf-8")

        return encode

    producers: dict[FileType, Callable[[], Awaitable[bytes]]] = {
        "deep_research_markdown": text(state.report_md),
        "deep_research_pdf": pdf(state.report_md, f"Deep Research Report: {state.topic}"),
        "AI_discovery_markdown": text(state.discovery_md),
        "AI_discovery_pdf": pdf(state.discovery_md, f"AI Discovery Report: {state.company}"),
        "use_cases_md": text(uc_md),
        "use_cases_pdf": pdf(uc_md, f"AI Use Cases for {state.company}"),
        "markdown": text(combined),
        "pdf": pdf(combined, f"Research: {state.topic}"),
    }
    for n, spec in enumerate(ARTIFACTS, start=1):
        is_pdf = spec.name.endswith(".pdf")
        try:
            data = await producers[spec.file_type]()
        except Exception as exc:  # the renderer's own errors and anything beneath it
            raise StepFailed(
                RENDER, f"could not render {spec.name}: {describe_error(exc)}"
            ) from exc
        if not data or (is_pdf and not data.startswith(b"%PDF-")):
            raise StepFailed(RENDER, f"the renderer produced no valid PDF for {spec.name}")
        key = artifact_key(state.ctx.workspace_id, state.project_id, spec.name)
        stored = await deps.artifacts.put(key, data, PDF if is_pdf else MARKDOWN)
        state.uploads[spec.file_type] = stored
        await deps.projects.add_report(
            state.ctx.workspace_id,
            state.project_id,
            ReportRef(spec.file_type, stored.key, stored.url, stored.content_type, stored.size),
        )
        yield S3UploadComplete(file_type=spec.file_type, s3_url=stored.url, session_id=state.sid)
        yield MultiagentProgress(
            step=RENDER, session_id=state.sid, progress_percent=90 + (10 * n) // len(ARTIFACTS),
            message=f"Stored {spec.name} ({len(data)} bytes)",
        )  # fmt: skip


def all_urls(state: JobState) -> dict[str, str]:
    return {s.url_key: state.uploads[s.file_type].url for s in ARTIFACTS}
