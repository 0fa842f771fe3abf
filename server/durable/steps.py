"""`ctx.step` on the durable engine: a pipeline stage as a checkpointed DBOS step.

The stage's body runs inside the step; each event it yields is handed back to the pipeline (and
so to the job's log) before the body goes on. When the body ends, the job's events are committed
to the log and only then does the step's output get recorded, so a step that counts as done has
all its events durable. A replayed step (done before a failover) yields just its output.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from agents.pipeline import StepItem, StepOutput
from server.tracing import NO_TRACING, Tracing


class DurableSteps:
    def __init__(
        self,
        *,
        commit: Callable[[], Awaitable[None]],
        announce: Callable[[str], None],
        run_step: Callable[[str, Callable[[], Awaitable[Any]]], Coroutine[Any, Any, Any]],
        tracing: Tracing = NO_TRACING,
    ) -> None:
        self._run_step = run_step
        self._tracing = tracing
        self._commit = commit
        self._announce = announce  # emits the `resumed` status once, before re-run work
        self.current = "start"

    def __call__(self, name: str, body: AsyncIterator[StepItem]) -> AsyncIterator[StepItem]:
        return self._run(name, body)

    async def _run(self, name: str, body: AsyncIterator[StepItem]) -> AsyncIterator[StepItem]:
        handoff: asyncio.Queue[StepItem] = asyncio.Queue(maxsize=1)

        async def execute() -> Any:
            self.current = name
            self._announce(name)
            output: Any = None
            with self._tracing.step(name):  # the step's own task: its model calls nest here
                async for item in body:
                    if isinstance(item, StepOutput):
                        output = item.value
                        continue
                    await handoff.put(item)
                    await handoff.join()  # the pipeline has passed it on to the log
                await self._commit()
            return output

        step: asyncio.Task[Any] = asyncio.create_task(self._run_step(name, execute))
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
            yield StepOutput(step.result())
        finally:
            if getter is not None and not getter.done():
                getter.cancel()
            if not step.done():
                step.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await step
            with contextlib.suppress(Exception):
                await body.aclose()  # type: ignore[attr-defined]
