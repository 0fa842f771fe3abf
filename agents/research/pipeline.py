"""The /research pipeline: plan → parallel research → write → AI discovery → use cases → store.

Research is claims first: each question runs search → read → claims with quotes → follow-up
searches for up to the depth's rounds (loop.py); only claims whose quote is found in their
source are kept (claims.py); the writers compose from them, and their text passes the citation
filter and the report guard (guard.py). The store step writes a citations sidecar (sidecar.py).

Events follow protocol-reference.md's order: `status`, then per step `multiagent_step` and
`multiagent_progress` (with `stream_chunk`s while reports are written and `status` for notices,
retries and removed citations), then one `s3_upload_complete` per file, `use_cases_complete`,
and `complete`. A query that fails validation raises InvalidRequest (`error` INVALID_QUERY)
before any model call; a step that fails raises PipelineFailed (`error` PIPELINE_FAILED naming
the step; files stored before the failure have already been announced).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable

from agents.errors import InvalidRequest, PipelineFailed
from agents.pipeline import JobContext, Pipeline
from agents.protocol import (
    Event,
    ResearchComplete,
    ResearchRequest,
    UseCasesComplete,
)
from agents.research.deps import ResearchDeps
from agents.research.gather import plan, research
from agents.research.policy import validate_query
from agents.research.render import RENDER, all_urls, cancel_prerenders, render_and_store
from agents.research.state import JobState, StepFailed, describe_error
from agents.research.store import NewProject
from agents.research.write import discover, find_use_cases, write_report
from agents.sources.budget import ReadBudget

log = logging.getLogger(__name__)

INVALID_QUERY = "INVALID_QUERY"
PIPELINE_FAILED = "PIPELINE_FAILED"
START_MESSAGE = "Starting multi-agent research system..."

Step = Callable[[JobState], AsyncIterator[Event]]
STEPS: tuple[tuple[str, Step], ...] = (
    ("planning", plan),
    ("research", research),
    ("writing", write_report),
    ("analysis", discover),
    ("use_cases", find_use_cases),
    (RENDER, render_and_store),
)

_URL = re.compile(r"https?://[^\s<>()\[\]\"']+", re.IGNORECASE)


def normalize_url(url: str) -> str:
    """A scheme-less company URL ("example.com") is read as https."""
    url = url.strip()
    if url and "://" not in url:
        return "https://" + url
    return url


def urls_in(text: str, *, limit: int) -> tuple[str, ...]:
    """URLs named in the prompt (fetched as extra sources), in order, without duplicates."""
    found = [m.group(0).rstrip(".,;:!?") for m in _URL.finditer(text)]
    return tuple(dict.fromkeys(found))[:limit]


def research_pipeline(deps: ResearchDeps) -> Pipeline:
    """The /research pipeline over `deps` (see module docstring)."""

    async def run(request: ResearchRequest, ctx: JobContext) -> AsyncIterator[Event]:
        sid = request.session_id
        reason = validate_query(request.prompt, request.company_name, deps.policy)
        if reason is not None:
            raise InvalidRequest(f"Query validation failed: {reason}", code=INVALID_QUERY)
        topic = " ".join(request.prompt.split())
        state = JobState(
            deps=deps,
            request=request,
            ctx=ctx,
            profile=deps.limits.depth(request.depth),
            topic=topic,
            company=request.company_name.strip(),
            company_url=normalize_url(request.company_url),
            urls=urls_in(request.prompt, limit=max(0, deps.limits.max_urls - 1)),
        )
        state.budget = ReadBudget(
            max_pages=state.profile.pages, max_bytes=state.profile.megabytes * 1024 * 1024
        )
        yield state.status(START_MESSAGE)
        step = "setup"
        try:
            state.project_id = await deps.projects.create_project(
                ctx.workspace_id,
                NewProject(
                    user_id=request.user_id,
                    session_id=sid,
                    company_name=state.company,
                    company_url=request.company_url,
                    prompt=request.prompt,
                    depth=request.depth,
                    language=request.language,
                ),
            )
            for name, run_step in STEPS:
                step = name
                async for event in run_step(state):
                    yield event
            step = RENDER
            usage = state.ledger.report()
            await deps.projects.complete_project(
                ctx.workspace_id,
                state.project_id,
                use_cases=[uc.model_dump(mode="json") for uc in state.use_cases],
                usage={k: v.model_dump(mode="json") for k, v in usage.items()},
            )
        except asyncio.CancelledError:
            await _mark_failed(state, "cancelled")
            raise
        except Exception as exc:
            failed = exc.step if isinstance(exc, StepFailed) else step
            message = f"Step '{failed}' failed: {describe_error(exc)}"
            if not isinstance(exc, StepFailed):
                log.warning("research job %s: %s", ctx.job_id, message, exc_info=exc)
            await _mark_failed(state, message)
            raise PipelineFailed(message, step=failed, code=PIPELINE_FAILED) from exc
        finally:
            await cancel_prerenders(state)  # background PDF renders of a job that ended early

        yield UseCasesComplete(
            use_cases=state.use_cases, total_use_cases=len(state.use_cases), session_id=sid
        )
        urls = all_urls(state)
        yield ResearchComplete(
            project_id=state.project_id,
            user_id=request.user_id,
            s3_deep_research_report_url=urls["deep_research_report_url"],
            s3_deep_research_pdf_url=urls["deep_research_pdf_url"],
            s3_AI_discovery_report_url=urls["AI_discovery_report_url"],
            s3_AI_discovery_pdf_url=urls["AI_discovery_pdf_url"],
            s3_use_cases_pdf_url=urls["use_cases_pdf_url"],
            s3_use_cases_md_url=urls["use_cases_md_url"],
            all_s3_urls=urls,
            session_id=sid,
            usage=usage,
            citations_removed=state.citations_removed,
            sources_count=len(state.registry),
        )

    return run


async def _mark_failed(state: JobState, message: str) -> None:
    if not state.project_id:
        return
    try:
        await state.deps.projects.fail_project(
            state.ctx.workspace_id, state.project_id, error=message
        )
    except Exception as exc:  # the job's own error is what the client must see
        log.warning("could not mark project %s failed: %s", state.project_id, exc)
