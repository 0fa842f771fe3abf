"""One scheduler for every socket: keepalive events when a job is quiet, and the idle timeout.

A single task ticks once a second and looks at every registered session; no socket has a timer
or task of its own for this.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol


class Watched(Protocol):
    def quiet_for(self, now: float) -> float: ...

    def idle_for(self, now: float) -> float: ...

    def send_keepalive(self) -> None: ...

    def expire(self) -> None: ...

    def go_away(self) -> None: ...


class KeepaliveScheduler:
    def __init__(self, *, interval: float, idle_timeout: float, tick: float = 1.0) -> None:
        self.interval = interval
        self.idle_timeout = idle_timeout
        self._tick = min(tick, max(interval / 4, 0.01))
        self._sessions: set[Watched] = set()
        self._task: asyncio.Task[None] | None = None

    def register(self, session: Watched) -> None:
        self._sessions.add(session)

    def unregister(self, session: Watched) -> None:
        self._sessions.discard(session)

    @property
    def sessions(self) -> frozenset[Watched]:
        return frozenset(self._sessions)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="keepalive-scheduler")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._tick)
            self.tick(time.monotonic())

    def tick(self, now: float) -> None:
        for session in list(self._sessions):
            if session.idle_for(now) >= self.idle_timeout:
                session.expire()
            elif session.quiet_for(now) >= self.interval:
                session.send_keepalive()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
