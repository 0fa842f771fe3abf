"""Step 6: render each report to Markdown and PDF, store the eight files, record them.

Each stored file is recorded in the project as it is stored (ProjectStore.add_report), the
citation sidecar too (as `citations`, not a protocol file type), so the step, run again after a
failover, renders and stores only the files not recorded yet, and announces the others (and
the sidecar's URL in `complete.all_s3_urls.citations_url`) from the record.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from agents.artifacts import StoredArtifact
from agents.protocol import (
    Event,
    FileType,
    MultiagentProgress,
    MultiagentStep,
    S3UploadComplete,
)
from agents.reports import use_cases_markdown
from agents.research.rubric import RUBRIC_TEXT
from agents.research.sidecar import SIDECAR_NAME, SIDECAR_TYPE, sidecar_bytes
from agents.research.state import JobState, StepFailed, describe_error
from agents.research.store import ReportRef

RENDER = "rendering"
SIDECAR_FILE_TYPE = "citations"  # the sidecar's record in the project; not a protocol file_type

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


def _meta(state: JobState) -> dict[str, str]:
    return {
        "Company": state.company,
        "Topic": state.topic,
        "Project": state.project_id,
        "Date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def prerender(state: JobState, file_type: FileType, markdown: str, title: str) -> None:
    """Start rendering a PDF in the background (it overlaps the next model steps)."""
    if file_type in state.pdf_tasks:
        return
    render = state.deps.render_pdf(markdown, title=title, subtitle=state.company, meta=_meta(state))
    state.pdf_tasks[file_type] = asyncio.ensure_future(render)


async def cancel_prerenders(state: JobState) -> None:
    """Stop background renders of a job that ended early."""
    pending = [t for t in state.pdf_tasks.values() if not t.done()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*state.pdf_tasks.values(), return_exceptions=True)


def report_title(state: JobState) -> str:
    return f"Deep Research Report: {state.topic}"


def discovery_title(state: JobState) -> str:
    return f"AI Discovery Report: {state.company}"


async def stored_reports(state: JobState) -> dict[str, ReportRef]:
    """The files this job's project already records (stored before a failover)."""
    record = await state.deps.projects.get_project(state.ctx.workspace_id, state.project_id)
    return dict(record.reports)


async def render_and_store(state: JobState) -> AsyncIterator[Event]:
    yield MultiagentStep(
        step=RENDER, message="Rendering and storing the reports...", session_id=state.sid
    )
    deps = state.deps
    done = await stored_reports(state)
    uc_md = use_cases_markdown(state.use_cases, company=state.company)
    uc_md += scoring_section(state)
    combined = combined_markdown(state.report_md, state.discovery_md, uc_md)
    pdfs: tuple[tuple[FileType, str, str], ...] = (
        ("deep_research_pdf", state.report_md, report_title(state)),
        ("AI_discovery_pdf", state.discovery_md, discovery_title(state)),
        ("use_cases_pdf", uc_md, f"AI Use Cases for {state.company}"),
        ("pdf", combined, f"Research: {state.topic}"),
    )
    for file_type, markdown, title in pdfs:
        if file_type not in done:
            prerender(state, file_type, markdown, title)
    texts: dict[FileType, str] = {
        "deep_research_markdown": state.report_md,
        "AI_discovery_markdown": state.discovery_md,
        "use_cases_md": uc_md,
        "markdown": combined,
    }

    async def produce(file_type: FileType) -> bytes:
        if file_type in texts:
            return texts[file_type].encode("utf-8")
        return await state.pdf_tasks[file_type]

    recorded = done.get(SIDECAR_FILE_TYPE)
    if recorded is not None:  # stored before a failover: its URL, not a second upload
        state.sidecar = StoredArtifact(
            recorded.key, recorded.url, recorded.size, recorded.content_type
        )
    else:
        key = artifact_key(state.ctx.workspace_id, state.project_id, SIDECAR_NAME)
        state.sidecar = await deps.artifacts.put(key, sidecar_bytes(state), SIDECAR_TYPE)
        await deps.projects.add_report(
            state.ctx.workspace_id,
            state.project_id,
            ReportRef(
                SIDECAR_FILE_TYPE, state.sidecar.key, state.sidecar.url,
                state.sidecar.content_type, state.sidecar.size,
            ),
        )  # fmt: skip
    yield state.status(
        f"Citation sidecar stored ({len(state.claims)} claims with quotes): {state.sidecar.url}"
    )
    for n, spec in enumerate(ARTIFACTS, start=1):
        is_pdf = spec.name.endswith(".pdf")
        ref = done.get(spec.file_type)
        if ref is not None:  # stored before a failover: not rendered or uploaded again
            state.uploads[spec.file_type] = StoredArtifact(
                ref.key, ref.url, ref.size, ref.content_type
            )
            yield S3UploadComplete(file_type=spec.file_type, s3_url=ref.url, session_id=state.sid)
            yield MultiagentProgress(
                step=RENDER, session_id=state.sid, progress_percent=90 + (10 * n) // len(ARTIFACTS),
                message=f"Stored {spec.name} ({ref.size} bytes)",
            )  # fmt: skip
            continue
        try:
            data = await produce(spec.file_type)
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


def scoring_section(state: JobState) -> str:
    """How the use cases were scored: the rubric and one justification line per use case."""
    if not state.use_cases:
        return ""
    lines = ["", "## How the scores were given", "", RUBRIC_TEXT, ""]
    for n, uc in enumerate(state.use_cases, start=1):
        why = state.use_case_scoring.get(uc.id, "")
        if why:
            lines.append(f"- **{n}. {' '.join(uc.title.split())}:** {why}")
    return "\n".join(lines) + "\n"


SIDECAR_URL_KEY = "citations_url"  # extension key of `complete.all_s3_urls`


def all_urls(state: JobState) -> dict[str, str]:
    """The report URLs by `all_s3_urls` key, the citations sidecar's (`citations_url`) too."""
    urls = {s.url_key: state.uploads[s.file_type].url for s in ARTIFACTS}
    if state.sidecar is not None:
        urls[SIDECAR_URL_KEY] = state.sidecar.url
    return urls
