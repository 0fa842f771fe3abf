"""`ctx.step` on the durable engine: a pipeline stage as a checkpointed DBOS step.

The stage's body runs inside the step; each event it yields is handed back to the pipeline (and
so to the job's log) before the body goes on. When the body ends, the job's events are committed
to the log and only then does the step's output get recorded, so a step that counts as done has
all its events durable. A replayed step (done before a failover) yields just its output.

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
    ) -> None:
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
        handoff: asyncio.Queue[StepItem] = asyncio.Queue(maxsize=1)
        raised: list[Exception] = []

        async def execute() -> Any:
            self.current = name
            self._announce(name)
            output: Any = None
            try:
                async for item in body:
                    if isinstance(item, StepOutput):
                        output = item.value
                        continue
                    await handoff.put(item)
                    await handoff.join()  # the pipeline has passed it on to the log
            except Exception as exc:
                raised.append(exc)
                portable = _portable(exc)
                if portable is exc:
                    raise
                raise portable from exc
            await self._commit()
            return output

        step: asyncio.Task[Any] = asyncio.create_task(run_step(name, execute))
        getter: asyncio.Task[StepItem] | None = None
        try:
            while True:
                getter = asyncio.create_task(handoff.get())
                done, _ = await asyncio.wait({getter, step}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield getter.result()
                    handoff.task_done()
                    continue
                getter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getter
                break
            try:
                result = step.result()
            except Exception:
                if not raised:
                    raise
                original = raised[0]  # this run saw the failure: the original, not the record
                raise original from original.__cause__
            yield StepOutput(result)
        finally:
            if getter is not None and not getter.done():
                getter.cancel()
            if not step.done():
                step.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await step
            with contextlib.suppress(Exception):
                await body.aclose()  # type: ignore[attr-defined]
