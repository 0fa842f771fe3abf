"""The key-use audit buffer: aggregated, bounded, written in one transaction per interval.

Identical uses (same key, route, outcome and client address) within one interval become one
audit row with a count, so 300 failed attempts with random keys from one address write one row,
not 300. While the database is down the buffer keeps at most `max_pending` distinct rows; uses
beyond that are counted and reported (log line and `dropped` counter), never stored unbounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.db.keys import KeyRepository, KeyUse

log = logging.getLogger("qubitz.auth")

_Group = tuple[str | None, str, str, str]  # key_id, route, outcome, remote


class AuditBuffer:
    def __init__(
        self, repo: KeyRepository, *, interval: float = 0.5, max_pending: int = 10_000
    ) -> None:
        self._repo = repo
        self._interval = interval
        self._max_pending = max_pending
        self._pending: dict[_Group, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False
        self.dropped = 0  # uses not recorded because the buffer was full

    @property
    def pending_rows(self) -> int:
        return len(self._pending)

    def record(self, key_id: str | None, *, route: str, outcome: str, remote: str) -> None:
        self._add((key_id, route, outcome, remote[:80]), 1)
        self._wake.set()

    def _add(self, group: _Group, count: int) -> None:
        if group in self._pending:
            self._pending[group] += count
        elif len(self._pending) < self._max_pending:
            self._pending[group] = count
        else:
            self.dropped += count

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="key-audit")

    async def _run(self) -> None:
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self._interval)
            await self.flush()

    async def flush(self) -> None:
        batch, self._pending = self._pending, {}
        if not batch:
            return
        uses = [
            KeyUse(k, route, outcome, remote, n) for (k, route, outcome, remote), n in batch.items()
        ]
        try:
            await self._repo.record_uses(uses)
        except Exception:
            log.exception("could not write %d key-use rows; keeping them (bounded)", len(uses))
            for group, count in batch.items():
                self._add(group, count)
        if self.dropped:
            log.warning("audit buffer full: %d key uses were not recorded", self.dropped)

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
