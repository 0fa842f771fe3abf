"""Per-host politeness: at most `per_host` fetches at once, each starting `delay` seconds after
the previous one started and after the previous one ended.

Shared by every job of the process (hosts are the unit of politeness, not jobs). A host's
robots.txt `Crawl-delay` raises its delay, up to `max_delay`. With several replicas the same
rules hold across all of them through Redis (agents/sources/shared_gate.py, `SharedHostGate`),
which the wiring injects where Redis is configured; both are a `Gate`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol


class Gate(Protocol):
    """Where page fetches wait their turn per host."""

    def set_crawl_delay(self, host: str, seconds: float | None) -> None: ...

    def slot(self, host: str) -> AbstractAsyncContextManager[None]: ...


@dataclass
class _Host:
    semaphore: asyncio.Semaphore
    next_at: float = 0.0
    delay: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class HostGate:
    def __init__(
        self, *, per_host: int = 2, delay: float = 1.0, max_delay: float = 10.0,
        max_hosts: int = 1024,
    ) -> None:  # fmt: skip
        self.per_host = max(1, per_host)
        self.delay = max(0.0, delay)
        self.max_delay = max_delay
        self.max_hosts = max_hosts
        self._hosts: dict[str, _Host] = {}

    def _host(self, host: str) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            if len(self._hosts) >= self.max_hosts:
                now = time.monotonic()
                for name, old in list(self._hosts.items()):
                    if old.next_at < now and not old.semaphore.locked():
                        del self._hosts[name]
            state = _Host(asyncio.Semaphore(self.per_host), delay=self.delay)
            self._hosts[host] = state
        return state

    def set_crawl_delay(self, host: str, seconds: float | None) -> None:
        if seconds is not None and seconds > 0:
            state = self._host(host)
            state.delay = max(self.delay, min(float(seconds), self.max_delay))

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of the host's fetch slots, starting no sooner than its delay allows."""
        state = self._host(host.lower())
        async with state.semaphore:
            async with state.lock:
                wait = state.next_at - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                state.next_at = time.monotonic() + state.delay
            try:
                yield
            finally:
                # The next fetch waits `delay` after this one ended, too.
                state.next_at = max(state.next_at, time.monotonic() + state.delay)
