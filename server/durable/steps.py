"""`ctx.step` on the durable engine: a pipeline stage as a checkpointed DBOS step.

The stage's body runs inside the step; each event it yields is handed back to the pipeline (and
so to the job's log) in order. When the body ends and the pipeline has taken every event, the
job's events are committed to the log and only then does the step's output get recorded, so a
step that counts as done has all its events durable. A replayed step (done before a failover)
yields just its output.

`reserve()` draws the next step's id now (DBOS `reserve_step`) and runs the step there later,
from any task: steps that run in parallel keep the ids, and so the names, of the first run.

A body that raises fails its step. DBOS records the exception (pickled) and raises it again
on replay; an exception that does not survive pickling is recorded as `StepError` instead. The
run that saw the failure raises the original.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from agents.pipeline import StepFn, StepItem, StepOutput
from server.tracing import NO_TRACING, Tracing

RunStep = Callable[[str, Callable[[], Awaitable[Any]]], Coroutine[Any, Any, Any]]


class StepError(Exception):
    """A recorded step failure whose own exception could not be pickled."""


def _portable(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return StepError(f"{type(exc).__name__}: {exc}")
    return exc


class DurableSteps:
    def __init__(
        self,
        *,
        commit: Callable[[], Awaitable[None]],
        announce: Callable[[str], None],
        run_step: RunStep,
        reserve_step: Callable[[], RunStep] | None = None,
        tracing: Tracing = NO_TRACING,
    ) -> None:
        self._tracing = tracing
        self._run_step = run_step
        self._reserve_step = reserve_step
        self._commit = commit
        self._announce = announce  # emits the `resumed` status once, before re-run work
        self.current = "start"

    def __call__(self, name: str, body: AsyncIterator[StepItem]) -> AsyncIterator[StepItem]:
        return self._run(self._run_step, name, body)

    def reserve(self) -> StepFn:
        run_step = self._reserve_step() if self._reserve_step is not None else self._run_step

        def run(name: str, body: AsyncIterator[StepItem]) -> AsyncIterator[StepItem]:
            return self._run(run_step, name, body)

        return run

    async def _run(
        self, run_step: RunStep, name: str, body: AsyncIterator[StepItem]
    ) -> AsyncIterator[StepItem]:
        # The body's events, in order, then the end marker (put when the step's task is done,
        # whether the body ran or was replayed). The body does not wait for each event to be
        # taken (a burst of events reaches the log together, in one write), only for all of them
        # before its step is recorded.
        handoff: asyncio.Queue[StepItem | object] = asyncio.Queue()
        raised: list[Exception] = []

        async def execute() -> Any:
            self.current = name
            self._announce(name)
            output: Any = None
            with self._tracing.step(name):  # the step's own task: its model calls nest here
                try:
                    async for item in body:
                        if isinstance(item, StepOutput):
                            output = item.value
                            continue
                        handoff.put_nowait(item)
                except Exception as exc:
                    raised.append(exc)
                    portable = _portable(exc)
                    if portable is exc:
                        raise
                    raise portable from exc
                await handoff.join()  # the pipeline has passed every event on to the log
                await self._commit()
            return output

        step: asyncio.Task[Any] = asyncio.create_task(run_step(name, execute))
        step.add_done_callback(lambda _task: handoff.put_nowait(_END))
        try:
            while (item := await handoff.get()) is not _END:
                yield item  # type: ignore[misc]
                handoff.task_done()
            try:
                result = step.result()
            except Exception:
                if not raised:
                    raise
                original = raised[0]  # this run saw the failure: the original, not the record
                raise original from original.__cause__
            yield StepOutput(result)
        finally:
            if not step.done():
                step.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await step
            with contextlib.suppress(Exception):
                await body.aclose()  # type: ignore[attr-defined]


_END = object()  # the step's task is done
