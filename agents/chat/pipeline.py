"""The /chat pipeline: one grounded, streamed answer about a report, within a session budget.

Order of one turn (events in the protocol's shapes):

1. `chat_status` "Processing chat request...".
2. The report: the request's `report`, or `s3_report_url` through agents.report_loader
   (own artifacts by workspace, allow-listed hosts, else refused). Failures end the turn with
   `chat_error` REPORT_NOT_FOUND / INVALID_REPORT_URL / REPORT_FETCH_FAILED / INVALID_REPORT.
3. Budget: the session (workspace, session_id) has used `total` tokens of `limit`, where
   `limit` is the operator's (ChatConfig.default_token_limit) unless the request's
   `token_limit` lowers it (it never raises it). When `total >= limit`, or
   `total + estimated prompt tokens >= limit`, the turn ends with `chat_error`
   TOKEN_LIMIT_EXCEEDED before any model call. The same holds for the workspace's daily budget
   (agents.budget: every model call of the workspace counts, so a new session_id does not
   reset it). The answer's `max_tokens` is capped to what is left of both budgets. The daily
   budget is charged by the model wrapper (agents.budget.ChargedRegistry), not here.
4. The prompt (agents.chat.prompt): the report whole when it fits the context window, else an
   outline plus the BM25-relevant sections; web search offered when the provider has it.
   A request for a new or revised report (agents.chat.intent) asks for a full report instead.
5. The model streams: each text delta becomes a `chat_chunk`; the last one has `is_final: true`.
   Retries and queue waits are reported as `chat_status`. A model failure (after the provider's
   own retries) ends the turn with `chat_error` MODEL_ERROR and records nothing.
6. The turn is recorded (provider-reported usage; estimates only when the provider reported
   none); a generated report is stored as
   `<workspace>/<project|chat>/chat-<session>-<n>-<128 random bits>.md` (an unguessable name;
   its URL is signed as well).
7. `chat_complete` with tools used, the turn's usage and the session's totals.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

import httpx

from agents.artifacts import ArtifactStore
from agents.budget import DailyBudget, MemoryWorkspaceTokenUsage, WorkspaceTokenUsage
from agents.chat.config import ChatConfig
from agents.chat.intent import wants_report
from agents.chat.prompt import (
    ContextTooSmall,
    PromptLimits,
    PromptPlan,
    answer_instructions,
    build_prompt,
    cited_sections,
    report_instructions,
)
from agents.chat.sections import split_report
from agents.chat.session import ChatSessionState, ChatSessionStore, TurnRecord
from agents.chat.tokens import estimate_tokens
from agents.errors import InvalidRequest, LimitExceeded, NotFound, QubitzError, UpstreamError
from agents.llm.errors import LLMContextLengthError, LLMError
from agents.llm.port import CompletionResult, LLMRegistry, Message, Role, WebSearchOptions
from agents.llm.stream import ModelStream, Notice
from agents.pipeline import Checkpoint, JobContext, Pipeline, stage
from agents.protocol import (
    ChatChunk,
    ChatComplete,
    ChatMetadata,
    ChatRequest,
    ChatResponse,
    ChatStatus,
    ChatTurnUsage,
    Event,
    ReportGenerated,
    SessionInfo,
    SessionTokenUsage,
    ToolsUsed,
)
from agents.report_loader import (
    INVALID_REPORT_URL,
    REPORT_FETCH_FAILED,
    REPORT_NOT_FOUND,
    ReportSourcePolicy,
    load_report,
)

TOKEN_LIMIT_EXCEEDED = "TOKEN_LIMIT_EXCEEDED"
MODEL_ERROR = "MODEL_ERROR"
INVALID_REPORT = "INVALID_REPORT"
TURN = "turn"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ChatDeps:
    llms: LLMRegistry  # Role.CHAT is used
    sessions: ChatSessionStore
    artifacts: ArtifactStore
    http: httpx.AsyncClient  # for allow-listed report hosts only (through agents.netsafe)
    report_sources: ReportSourcePolicy = field(default_factory=ReportSourcePolicy)
    config: ChatConfig = field(default_factory=ChatConfig)
    # Per-workspace daily usage (agents.budget), read for the checks; charged by ChargedRegistry.
    daily_usage: WorkspaceTokenUsage = field(default_factory=MemoryWorkspaceTokenUsage)


def chat_pipeline(deps: ChatDeps) -> Pipeline:
    """The /chat pipeline over `deps` (see module docstring)."""

    async def run(request: ChatRequest, ctx: JobContext) -> AsyncIterator[Event]:
        # One durable step: a turn recovered after a failover runs again whole (after the
        # `resumed` status), unless it had completed.
        async for event in stage(ctx.step, TURN, _turn(deps, request, ctx), Checkpoint()):
            yield event

    return run


def effective_limit(request: ChatRequest, config: ChatConfig) -> int:
    """The operator's session limit, lowered (never raised) by the request's token_limit."""
    operator = min(config.default_token_limit, config.max_token_limit)
    if "token_limit" in request.model_fields_set:
        return min(request.token_limit, operator)
    return operator


def artifact_key(
    workspace_id: str, project_id: str | None, session_id: str, n: int, *, token: str
) -> str:
    """`<workspace>/<project or 'chat'>/chat-<session>-<n>-<token>.md`, path-safe.

    `token` is random (`new_report_token()`), so nobody can guess another report's name.
    """
    name = f"chat-{_safe(session_id)}-{n}-{_safe(token)}.md"
    return f"{workspace_id}/{_safe(project_id or 'chat')}/{name}"


def new_report_token() -> str:
    return secrets.token_hex(16)


def _safe(part: str) -> str:
    cleaned = _SAFE.sub("_", part).strip("._") or "x"
    if cleaned != part:
        cleaned = f"{cleaned[:80]}-{hashlib.sha256(part.encode()).hexdigest()[:8]}"
    return cleaned


async def _turn(deps: ChatDeps, request: ChatRequest, ctx: JobContext) -> AsyncIterator[Event]:
    sid = request.session_id
    config = deps.config
    yield ChatStatus(message="Processing chat request...", session_id=sid)

    try:
        report = await _report_text(deps, request, ctx.workspace_id)
    except QubitzError as exc:
        raise QubitzError(exc.message, code=_report_error_code(exc)) from exc

    state = await deps.sessions.get(ctx.workspace_id, sid)
    used = state.total_tokens if state is not None else 0
    limit = effective_limit(request, config)
    if used >= limit:
        raise _limit_error(f"The session has used {used} of its {limit}-token budget.")
    daily = DailyBudget(deps.daily_usage, config.workspace_daily_tokens)
    daily_left = await daily.left(ctx.workspace_id)
    if daily_left is not None and daily_left <= 0:
        raise _daily_error(f"The workspace has used its {daily.limit}-token daily budget.")

    llm = deps.llms.for_role(Role.CHAT)
    caps = llm.capabilities
    question = request.messages[-1].content
    generate = wants_report(question)
    web = (
        WebSearchOptions(max_uses=config.web_search_max_uses)
        if caps.web_search and config.web_search
        else None
    )
    sections = split_report(report, max_tokens=config.max_section_tokens)
    make_instructions = report_instructions if generate else answer_instructions

    def instructions(whole: bool) -> str:
        return make_instructions(request.company_name, web_search=web is not None, whole=whole)

    messages = [Message(m.role, m.content) for m in request.messages]
    prompt_cap: int | None = None
    for attempt in (1, 2):
        try:
            plan = build_prompt(
                sections=sections,
                messages=messages,
                instructions=instructions,
                limits=PromptLimits(
                    context_window=caps.context_window,
                    max_output_tokens=config.report_max_tokens
                    if generate
                    else config.max_output_tokens,
                    max_sections=config.max_sections,
                    max_prompt_tokens=prompt_cap,
                ),
                web_search=web,
                cache_system=caps.prompt_caching,
            )
        except ContextTooSmall:
            raise  # an InvalidRequest: the failure map makes it the chat_error
        if used + plan.estimated_prompt_tokens >= limit:
            raise _limit_error(
                f"This turn needs about {plan.estimated_prompt_tokens} prompt tokens; the "
                f"session has used {used} of its {limit}-token budget.",
            )
        if daily_left is not None and plan.estimated_prompt_tokens >= daily_left:
            raise _daily_error(
                f"This turn needs about {plan.estimated_prompt_tokens} prompt tokens; the "
                f"workspace has {daily_left} of its {daily.limit}-token daily budget left.",
            )
        left = limit - used - plan.estimated_prompt_tokens
        if daily_left is not None:
            left = min(left, daily_left - plan.estimated_prompt_tokens)
        completion = replace(
            plan.request,
            max_tokens=max(1, min(plan.request.max_tokens, left)),
            timeout=config.model_timeout,
        )

        pending: str | None = None
        stream = ModelStream(llm, completion)
        try:
            async for item in stream:
                if isinstance(item, Notice):
                    yield ChatStatus(message=item.sentence, session_id=sid)
                    continue
                if pending is not None:
                    yield ChatChunk(chunk=pending, is_final=False, session_id=sid)
                pending = item.text
        except LLMContextLengthError as exc:
            if attempt == 1 and pending is None:
                # Our estimate was optimistic for this text: retry once with half the prompt.
                prompt_cap = plan.estimated_prompt_tokens // 2
                yield ChatStatus(
                    message="The prompt was too long for the model; retrying with less context",
                    session_id=sid,
                )
                continue
            raise UpstreamError(f"The model failed: {exc.message}", code=MODEL_ERROR) from exc
        except LLMError as exc:
            raise UpstreamError(f"The model failed: {exc.message}", code=MODEL_ERROR) from exc
        break
    result, searches = stream.result, stream.searches
    if result is None:
        raise UpstreamError("The model returned no result.", code=MODEL_ERROR)
    yield ChatChunk(chunk=pending or "", is_final=True, session_id=sid)

    answer = result.text
    input_tokens, output_tokens = _usage(result, plan, answer)
    state = await deps.sessions.record_turn(
        ctx.workspace_id,
        sid,
        TurnRecord(
            user_id=request.user_id,
            messages=2,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            token_limit=limit,
            report_generated=generate and bool(answer.strip()),
        ),
    )
    generated = ReportGenerated(success=False)
    if generate and answer.strip():
        generated = await _store_report(deps, request, ctx, state, answer)

    yield ChatComplete(
        success=True,
        response=ChatResponse(
            metadata=ChatMetadata(
                tools_used=ToolsUsed(
                    web_search=list(dict.fromkeys([*searches, *result.searches])),
                    report_generated=generated,
                ),
                citations=cited_sections(answer, plan.sections) or None,
            ),
            token_usage=ChatTurnUsage(
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                total_tokens=input_tokens + output_tokens,
            ),
        ),
        session_info=_session_info(request, state, limit),
    )


async def _report_text(deps: ChatDeps, request: ChatRequest, workspace_id: str) -> str:
    if request.report is not None:
        text = request.report
    else:
        assert request.s3_report_url is not None  # the request model guarantees one source
        text = await load_report(
            request.s3_report_url,
            workspace_id=workspace_id,
            store=deps.artifacts,
            client=deps.http,
            policy=deps.report_sources,
        )
    if not text.strip():
        raise InvalidRequest("the report is empty", code=INVALID_REPORT)
    return text


def _report_error_code(exc: QubitzError) -> str:
    if exc.code in (REPORT_NOT_FOUND, INVALID_REPORT_URL, REPORT_FETCH_FAILED, INVALID_REPORT):
        return exc.code
    if isinstance(exc, NotFound):
        return REPORT_NOT_FOUND
    if isinstance(exc, InvalidRequest):
        return INVALID_REPORT_URL
    if isinstance(exc, UpstreamError):
        return REPORT_FETCH_FAILED
    return exc.code


def _usage(result: CompletionResult, plan: PromptPlan, answer: str) -> tuple[int, int]:
    """(input, output) tokens: as the provider reported them, cache reads/writes counted as
    input; estimated only when the provider reported nothing at all."""
    u = result.usage
    input_tokens = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens
    if input_tokens == 0 and u.output_tokens == 0:
        return plan.estimated_prompt_tokens, estimate_tokens(answer) if answer else 0
    return input_tokens, u.output_tokens


async def _store_report(
    deps: ChatDeps, request: ChatRequest, ctx: JobContext, state: ChatSessionState, text: str
) -> ReportGenerated:
    key = artifact_key(
        ctx.workspace_id,
        request.project_id,
        request.session_id,
        state.reports_generated,
        token=new_report_token(),
    )
    try:
        stored = await deps.artifacts.put(key, text.encode("utf-8"), "text/markdown; charset=utf-8")
    except QubitzError:
        return ReportGenerated(success=False)
    return ReportGenerated(success=True, url=stored.url)


def _session_info(request: ChatRequest, state: ChatSessionState, limit: int) -> SessionInfo:
    return SessionInfo(
        user_id=request.user_id,
        session_id=request.session_id,
        message_count=state.message_count,
        token_usage=SessionTokenUsage(
            input_tokens=state.input_tokens,
            output_tokens=state.output_tokens,
            total_tokens=state.total_tokens,
            limit=limit,
            limit_reached=state.total_tokens >= limit,
        ),
    )


def _daily_error(detail: str) -> LimitExceeded:
    return LimitExceeded(
        f"{detail} It resets at 00:00 UTC; a new session does not reset it.",
        code=TOKEN_LIMIT_EXCEEDED,
    )


def _limit_error(detail: str) -> LimitExceeded:
    return LimitExceeded(
        f"{detail} Start a new session or raise token_limit.", code=TOKEN_LIMIT_EXCEEDED
    )
