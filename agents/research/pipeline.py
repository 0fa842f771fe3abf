"""The /research pipeline: plan → parallel research → write → AI discovery → use cases → store.

Each stage is a durable step (agents/pipeline.py `ctx.step`): planning (with the query check
and the project), research (the job's own sources), one step per research question
(`research.q1`…, in parallel), research.summary, writing, analysis, use_cases, rendering (with
the project's completion and the final events). A job recovered after a
failover does not run a completed step again: it takes the step's checkpoint back
(agents/research/checkpoint.py) and goes on from the interrupted one. Files the rendering step
stored before the failover are neither rendered nor uploaded again (render.py).

Research is claims first: each question runs search → read → claims with quotes → follow-up
searches for up to the depth's rounds (loop.py); only claims whose quote is found in their
source are kept (claims.py); the writers compose from them, and their text passes the citation
filter and the report guard (guard.py). The store step writes a citations sidecar (sidecar.py).

Events follow protocol-reference.md's order: `status`, then per step `multiagent_step` and
`multiagent_progress` (with `stream_chunk`s while reports are written and `status` for notices,
retries and removed citations), then one `s3_upload_complete` per file, `use_cases_complete`,
and `complete`. A query that fails validation raises InvalidRequest (`error` INVALID_QUERY)
before any model call; a step that fails raises PipelineFailed (`error` PIPELINE_FAILED naming
the step; files stored before the failure have already been announced). When the workspace's
daily token budget runs out mid-job (agents.budget), the job ends at its next model call with
`error` TOKEN_LIMIT_EXCEEDED naming the step; what was stored before stays.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from agents.budget import TOKEN_LIMIT_EXCEEDED, budget_spent_in
from agents.errors import InvalidRequest, PipelineFailed
from agents.pipeline import Checkpoint, JobContext, Pipeline, stage
from agents.protocol import (
    Event,
    ResearchComplete,
    ResearchRequest,
    UseCasesComplete,
)
from agents.research.checkpoint import restore, snapshotted, take_question
from agents.research.deps import ResearchDeps
from agents.research.gather import plan, research_one, research_sources, research_summary
from agents.research.policy import validate_query
from agents.research.render import RENDER, all_urls, cancel_prerenders, render_and_store
from agents.research.state import JobState, QuestionResult, StepFailed, describe_error
from agents.research.store import NewProject
from agents.research.write import discover, find_use_cases, write_report
from agents.sources.budget import ReadBudget

log = logging.getLogger(__name__)

INVALID_QUERY = "INVALID_QUERY"
PIPELINE_FAILED = "PIPELINE_FAILED"
START_MESSAGE = "Starting multi-agent research system..."

Step = Callable[[JobState], AsyncIterator[Event]]
PLANNING = "planning"
AFTER_QUESTIONS: tuple[tuple[str, Step], ...] = (
    ("writing", write_report),
    ("analysis", discover),
    ("use_cases", find_use_cases),
)
SUMMARY = "research.summary"


def question_step(index: int) -> str:
    return f"research.q{index + 1}"


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
        step = PLANNING
        try:
            planned = Checkpoint()
            async for event in stage(ctx.step, PLANNING, _planning(state), planned):
                yield event
            if planned.replayed:
                restore(state, planned.value)
            step = "research"
            async for event in _sequential(state, step, research_sources(state)):
                yield event
            results: list[QuestionResult | None] = [None] * len(state.questions)
            async for event in _questions(state, results):
                yield event
            async for event in _sequential(state, SUMMARY, research_summary(state, results)):
                yield event
            for name, body in AFTER_QUESTIONS:
                step = name
                async for event in _sequential(state, name, body(state)):
                    yield event
            step = RENDER
            async for event in stage(ctx.step, RENDER, _render_and_complete(state), Checkpoint()):
                yield event
        except asyncio.CancelledError:
            await _mark_failed(state, "cancelled")
            raise
        except Exception as exc:
            failed = exc.step if isinstance(exc, StepFailed) else step
            message = f"Step '{failed}' failed: {describe_error(exc)}"
            code, spent = PIPELINE_FAILED, budget_spent_in(exc)
            if spent is not None:
                code, message = TOKEN_LIMIT_EXCEEDED, f"Step '{failed}' stopped: {spent.message}"
            elif not isinstance(exc, StepFailed):
                log.warning("research job %s: %s", ctx.job_id, message, exc_info=exc)
            await _mark_failed(state, message)
            raise PipelineFailed(message, step=failed, code=code) from exc
        finally:
            await cancel_prerenders(state)  # background PDF renders of a job that ended early

    return run


async def _planning(state: JobState) -> AsyncIterator[Any]:
    """The start status, the project, then the plan; the state it leaves."""
    request = state.request
    sid = request.session_id
    yield state.status(START_MESSAGE)
    try:
        project_id = await state.deps.projects.create_project(
            state.ctx.workspace_id,
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
    except Exception as exc:  # before any model call: the step is "setup"
        log.warning("research job %s: no project", state.ctx.job_id, exc_info=exc)
        raise StepFailed("setup", describe_error(exc)) from exc
    state.project_id = project_id
    async for event in snapshotted(state, plan(state)):
        yield event


async def _sequential(
    state: JobState, name: str, body: AsyncIterator[Event]
) -> AsyncIterator[Event]:
    """One durable step over the job's state: a replayed step's snapshot is taken back."""
    done = Checkpoint()
    async for event in stage(state.ctx.step, name, snapshotted(state, body), done):
        yield event
    if done.replayed:
        restore(state, done.value)


async def _questions(state: JobState, results: list[QuestionResult | None]) -> AsyncIterator[Event]:
    """One durable step per question, `limits.concurrency` at a time. Their places in the job
    are drawn first, in question order, so a recovered job finds each question's record."""
    places = [state.ctx.step.reserve() for _ in state.questions]
    semaphore = asyncio.Semaphore(max(1, state.deps.limits.concurrency))

    async def one(index: int, question: str) -> AsyncIterator[Event]:
        async with semaphore:
            done = Checkpoint()
            body = research_one(state, index, question)
            async for event in stage(places[index], question_step(index), body, done):
                yield event
            results[index] = take_question(state, done.value, replayed=done.replayed)

    async for event in merged([one(i, q) for i, q in enumerate(state.questions)]):
        yield event


async def merged(streams: list[AsyncIterator[Event]]) -> AsyncIterator[Event]:
    """The events of `streams`, run concurrently, as they come. A stream goes on only once its
    event has been taken (so a step ends only after its events are in the job's log)."""
    queue: asyncio.Queue[tuple[Event, asyncio.Future[None]] | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    async def drain(stream: AsyncIterator[Event]) -> None:
        async for event in stream:
            taken = loop.create_future()
            queue.put_nowait((event, taken))
            await taken

    async def run_all() -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for stream in streams:
                    group.create_task(drain(stream))
        finally:
            queue.put_nowait(None)

    runner = asyncio.create_task(run_all())
    try:
        while (item := await queue.get()) is not None:
            event, taken = item
            yield event
            taken.set_result(None)
        await runner
    finally:
        if not runner.done():
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)


async def _render_and_complete(state: JobState) -> AsyncIterator[Event]:
    """The files rendered and stored, the project completed, `use_cases_complete`, `complete`."""
    async for event in render_and_store(state):
        yield event
    request = state.request
    sid = request.session_id
    usage = state.ledger.report()
    await state.deps.projects.complete_project(
        state.ctx.workspace_id,
        state.project_id,
        use_cases=[uc.model_dump(mode="json") for uc in state.use_cases],
        usage={k: v.model_dump(mode="json") for k, v in usage.items()},
    )
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


async def _mark_failed(state: JobState, message: str) -> None:
    if not state.project_id:
        return
    try:
        await state.deps.projects.fail_project(
            state.ctx.workspace_id, state.project_id, error=message
        )
    except Exception as exc:  # the job's own error is what the client must see
        log.warning("could not mark project %s failed: %s", state.project_id, exc)
