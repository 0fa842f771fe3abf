"""What each research step leaves in its checkpoint, and how a recovered job takes it back.

A recovered job (docs/operations.md, "Steps") gets the recorded output of every step that
completed before the failover instead of running it again. The outputs are plain data, pickled
by the engine: no model, client, store or future.

- A sequential step records a `Snapshot` of the job's state as it left it: every
  field of `JobState` but the collaborators, the request (and what is derived from it) and the
  background PDF renders; the read budget by its counters. Taking one back is setting them.
- A research question (one step each, in parallel) records `QuestionDone`: its result, the
  sources it numbered, its own usage and dropped reasons, the budget counters. Its sources are
  numbered again on recovery (questions that run again may take numbers in another order) and
  its claims are renumbered to match.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from agents.pipeline import StepOutput
from agents.protocol import Event
from agents.research.accounting import UsageLedger
from agents.research.claims import normalize
from agents.research.state import JobState, QuestionResult
from agents.sources.base import Source

# Not checkpointed: collaborators and the request (given again to a recovered job), the
# budget (its counters are, its page cache is not) and background renders.
TRANSIENT = frozenset(
    {"deps", "request", "ctx", "profile", "topic", "company", "company_url", "urls", "budget",
     "pdf_tasks"}
)  # fmt: skip


def _counters(state: JobState) -> tuple[int, int, int]:
    b = state.budget
    return b.pages, b.bytes, b.refused


def _take_counters(state: JobState, counters: tuple[int, int, int]) -> None:
    """At least what the recorded step had read (so a recovered job never reads more)."""
    b = state.budget
    b.pages, b.bytes, b.refused = (
        max(old, new) for old, new in zip(_counters(state), counters, strict=True)
    )


@dataclass(frozen=True)
class Snapshot:
    fields: dict[str, Any]
    budget: tuple[int, int, int]


def snapshot(state: JobState) -> Snapshot:
    values = {
        f.name: getattr(state, f.name) for f in dataclasses.fields(state) if f.name not in TRANSIENT
    }
    return Snapshot(values, _counters(state))


def restore(state: JobState, snap: Snapshot) -> None:
    for name, value in snap.fields.items():
        setattr(state, name, value)
    _take_counters(state, snap.budget)


async def snapshotted(state: JobState, body: AsyncIterator[Event]) -> AsyncIterator[Any]:
    """`body`'s events, then the state it left as the step's output."""
    async for event in body:
        yield event
    yield StepOutput(snapshot(state))


@dataclass(frozen=True)
class QuestionDone:
    index: int
    result: QuestionResult | None
    ledger: UsageLedger
    dropped_reasons: list[str] = field(default_factory=list)
    budget: tuple[int, int, int] = (0, 0, 0)


def question_state(state: JobState) -> JobState:
    """The view one question works on: the job's registry, budget and progress, its own usage
    ledger and dropped reasons (so that they can be recorded with the question)."""
    return dataclasses.replace(state, ledger=UsageLedger(), dropped_reasons=[])


def question_done(state: JobState, index: int, result: QuestionResult | None) -> QuestionDone:
    return QuestionDone(index, result, state.ledger, list(state.dropped_reasons), _counters(state))


def take_question(state: JobState, done: QuestionDone, *, replayed: bool) -> QuestionResult | None:
    """Add a finished question to the job (its usage, dropped reasons, progress). A replayed
    one also puts its sources back into the registry and renumbers its claims."""
    state.ledger.merge(done.ledger)
    state.dropped_reasons.extend(done.dropped_reasons)
    state.notes_done.append(done.index)
    result = done.result
    if not replayed or result is None:
        return result
    # the sentences it kept are not offered to the questions still to run (as in a live run)
    state.kept_sentences.update(normalize(c.quote) for c in result.claims)
    _take_counters(state, done.budget)
    numbers = {old: state.registry.add(source) for old, source in result.sources}
    return _renumbered(result, numbers)


def _renumbered(result: QuestionResult, numbers: dict[int, int]) -> QuestionResult:
    claims = [dataclasses.replace(c, source=numbers.get(c.source, c.source)) for c in result.claims]
    sources: list[tuple[int, Source]] = [(numbers.get(n, n), s) for n, s in result.sources]
    return dataclasses.replace(result, claims=claims, sources=sources)
