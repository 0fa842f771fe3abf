"""Tokens per UTC day per workspace: the operator's budget that no session, job or request resets.

Every model call made for a workspace counts: chat turns, research jobs (plan, research, claims,
writing, discovery, use cases, model-side search), spec jobs (/getspec, /updatespec) and the
calls locally deployed apps make through the model proxy. The budget is set by the operator only
(QUBITZ_WORKSPACE_DAILY_TOKENS); no request field raises or resets it.

How it is enforced:

- `ChargedRegistry` wraps the LLM registry every pipeline and the model proxy use. Each call is
  charged to the workspace named by `charged_workspace` (set by the job runner for the job's
  task, by the model proxy per request; tasks a job starts inherit it). Before a call it is
  admitted (`DailyBudget.admit`), which raises `DailyBudgetSpent` when nothing is left, so a
  running job stops at its next model call; after the call it adds the provider-reported tokens
  (input, output, cache reads and writes; an estimate when the provider reported none, or when
  the call broke off after producing text). A call that starts with budget left runs to its
  end: the overshoot is at most the calls in flight.
- `DailyBudget.check` refuses a new job up front (server/jobs.py) for the endpoints in
  CHARGED_ENDPOINTS; it always reads the shared row.

What a call costs the database: one round trip, the charge. Adding returns the new total, so
this process knows what was left as of its last charge (or read). `admit` takes that for a read
when it is at most `trust_seconds` old (default 1 s) and more than `near_share` of the limit
(default 10 %) was left; otherwise (near the limit, stale, a new day, a workspace not seen
yet) it reads the row. Near the limit every call therefore reads what every replica has
charged, and a budget spent on one replica is refused on all of them at their next call. Far
from it, what other replicas charged within the last `trust_seconds` may be seen late: a spend
of more than `near_share` of the day's budget within one second is all the cache can hide.

`WorkspaceTokenUsage` is the port: server/db/token_usage.py implements it on SQL (one atomic
upsert `tokens = tokens + n … RETURNING tokens` per call, so every replica charges the same
row), `MemoryWorkspaceTokenUsage` in process.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from agents.errors import QubitzError
from agents.llm.port import (
    LLM,
    Completed,
    CompletionRequest,
    CompletionResult,
    ForwardingLLM,
    LLMEvent,
    LLMRegistry,
    Role,
    TextDelta,
)

TOKEN_LIMIT_EXCEEDED = "TOKEN_LIMIT_EXCEEDED"
# Endpoints whose jobs call a model: a new job of these is refused once the budget is spent.
CHARGED_ENDPOINTS = frozenset({"research", "chat", "getspec", "updatespec"})

charged_workspace: ContextVar[str | None] = ContextVar("qubitz_charged_workspace", default=None)


@contextlib.contextmanager
def charged_to(workspace_id: str) -> Iterator[None]:
    """Model calls inside the block (and tasks started in it) are charged to `workspace_id`."""
    token = charged_workspace.set(workspace_id)
    try:
        yield
    finally:
        charged_workspace.reset(token)


def utc_today() -> date:
    return datetime.now(UTC).date()


def seconds_to_reset(now: datetime | None = None) -> float:
    """Seconds until the next 00:00 UTC, when a new day's budget starts."""
    now = now or datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return max(1.0, (midnight - now).total_seconds())


class DailyBudgetSpent(QubitzError):
    """The workspace has used its daily token budget (error code TOKEN_LIMIT_EXCEEDED)."""

    code = TOKEN_LIMIT_EXCEEDED


def budget_spent_in(exc: BaseException) -> DailyBudgetSpent | None:
    """The DailyBudgetSpent in `exc` (itself, or inside an exception group), if any."""
    if isinstance(exc, DailyBudgetSpent):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = budget_spent_in(inner)
            if found is not None:
                return found
    return None


class WorkspaceTokenUsage(Protocol):
    async def used(self, workspace_id: str, day: date) -> int:
        """Tokens the workspace used on `day` (UTC)."""
        ...

    async def add(self, workspace_id: str, day: date, tokens: int) -> int:
        """Add `tokens` to the workspace's `day` atomically; the new total."""
        ...


class MemoryWorkspaceTokenUsage:
    def __init__(self) -> None:
        self._used: dict[tuple[str, date], int] = {}
        self._lock = asyncio.Lock()

    async def used(self, workspace_id: str, day: date) -> int:
        return self._used.get((workspace_id, day), 0)

    async def add(self, workspace_id: str, day: date, tokens: int) -> int:
        async with self._lock:
            total = self._used.get((workspace_id, day), 0) + tokens
            self._used[(workspace_id, day)] = total
            return total


@dataclass(frozen=True)
class _Known:
    """What was left of a workspace's budget on `day`, as of `at` (the clock's seconds)."""

    day: date
    left: int
    at: float


class DailyBudget:
    """The workspace's daily limit over a usage store (None limit: no daily limit)."""

    KNOWN_MAX = 10_000  # workspaces remembered; past it, the stale ones are forgotten

    def __init__(
        self,
        usage: WorkspaceTokenUsage,
        limit: int | None,
        *,
        today: Callable[[], date] = utc_today,
        # Admission without a read (see the module docstring)
        trust_seconds: float = 1.0,
        near_share: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._usage = usage
        self.limit = limit
        self._today = today
        self._trust_seconds = trust_seconds
        self._near = near_share * limit if limit is not None else 0.0
        self._clock = clock
        self._known: dict[str, _Known] = {}

    async def left(self, workspace_id: str) -> int | None:
        """Tokens left today, or None without a daily limit (always read from the store)."""
        if self.limit is None:
            return None
        day = self._today()
        return self._learn(workspace_id, day, await self._usage.used(workspace_id, day))

    async def check(self, workspace_id: str) -> None:
        """Raise DailyBudgetSpent when the workspace has no tokens left today."""
        self._refuse_if_spent(await self.left(workspace_id))

    async def admit(self, workspace_id: str) -> None:
        """`check` before one model call, answered from what this process last learnt when
        that is recent and far from the limit (no read); otherwise `check` itself."""
        if self.limit is None:
            return
        known = self._known.get(workspace_id)
        if (
            known is not None
            and known.day == self._today()
            and self._clock() - known.at <= self._trust_seconds
            and known.left > self._near
        ):
            return
        await self.check(workspace_id)

    async def spend(self, workspace_id: str, tokens: int) -> None:
        if tokens > 0:
            day = self._today()
            self._learn(workspace_id, day, await self._usage.add(workspace_id, day, tokens))

    def _learn(self, workspace_id: str, day: date, used: int) -> int | None:
        if self.limit is None:
            return None
        left = max(0, self.limit - used)
        now = self._clock()
        if len(self._known) >= self.KNOWN_MAX:
            self._known = {
                w: k for w, k in self._known.items() if now - k.at <= self._trust_seconds
            }
        self._known[workspace_id] = _Known(day, left, now)
        return left

    def _refuse_if_spent(self, left: int | None) -> None:
        if left is not None and left <= 0:
            raise DailyBudgetSpent(
                f"The workspace has used its {self.limit}-token daily budget. It resets at "
                "00:00 UTC; a new session or job does not reset it."
            )


def estimate_tokens(text: str) -> int:
    # imported here: agents.chat's package imports this module
    from agents.chat.tokens import estimate_tokens as estimate

    return estimate(text)


def call_tokens(result: CompletionResult, request: CompletionRequest) -> int:
    """Tokens one call cost: as the provider reported them (cache reads and writes counted as
    input), estimated from the texts only when the provider reported nothing at all."""
    u = result.usage
    total = u.input_tokens + u.output_tokens + u.cache_read_tokens + u.cache_write_tokens
    if total > 0:
        return total
    return prompt_tokens(request) + (estimate_tokens(result.text) if result.text else 0)


def prompt_tokens(request: CompletionRequest) -> int:
    return estimate_tokens(request.system) + sum(
        estimate_tokens(m.content) for m in request.messages
    )


class ChargedLLM(ForwardingLLM):
    """An LLM whose calls are checked against and charged to `charged_workspace`'s budget.

    Outside a workspace (no job, no proxy request) calls are neither checked nor charged.
    """

    def __init__(self, inner: LLM, budget: DailyBudget) -> None:
        self.inner = inner
        self._budget = budget

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        workspace = charged_workspace.get()
        if workspace is None:
            async for event in self.inner.stream(request):
                yield event
            return
        await self._budget.admit(workspace)
        text: list[str] = []
        charged = False
        try:
            async for event in self.inner.stream(request):
                if isinstance(event, TextDelta):
                    text.append(event.text)
                elif isinstance(event, Completed):
                    charged = True
                    await self._budget.spend(workspace, call_tokens(event.result, request))
                yield event
        finally:
            if not charged and any(text):
                # broke off after the model produced text: the provider spent those tokens
                with contextlib.suppress(Exception):
                    await self._budget.spend(
                        workspace, prompt_tokens(request) + estimate_tokens("".join(text))
                    )


class ChargedRegistry:
    """An LLMRegistry whose models are ChargedLLMs over one DailyBudget."""

    def __init__(self, inner: LLMRegistry, budget: DailyBudget) -> None:
        self._inner = inner
        self.budget = budget
        self._wrapped: dict[int, ChargedLLM] = {}

    def for_role(self, role: Role) -> LLM:
        llm = self._inner.for_role(role)
        wrapped = self._wrapped.get(id(llm))
        if wrapped is None or wrapped.inner is not llm:
            wrapped = ChargedLLM(llm, self.budget)
            self._wrapped[id(llm)] = wrapped
        return wrapped

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
