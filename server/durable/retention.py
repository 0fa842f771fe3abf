"""Retention: finished jobs' events, their engine records, key audit rows and what `pruners`
remove (the local deploy target's per-revision checkouts) are pruned after
`QUBITZ_JOB_RETENTION_DAYS` (default 7). A pruned job's row stays as a tombstone (`expired`),
so resuming it answers `job_expired` instead of nothing. Every replica runs the same idempotent
sweep once an hour (and at start)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.base import utcnow
from server.db.jobs import JobRepository
from server.db.keys import KeyAuditRow
from server.durable.engine import DurableEngine

log = logging.getLogger("qubitz.durable")


class Retention:
    def __init__(
        self,
        jobs: JobRepository,
        sessions: async_sessionmaker[AsyncSession],
        engine: DurableEngine,
        *,
        days: float = 7.0,
        every: float = 3600.0,
        pruners: Sequence[Callable[[float], Awaitable[list[Path]]]] = (),
    ) -> None:
        self._jobs = jobs
        self._sessions = sessions
        self._engine = engine
        self.keep = timedelta(days=days)
        self._every = every
        self._pruners = pruners  # each removes what is older than the given seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="job-retention")

    async def _run(self) -> None:
        while True:
            try:
                await self.prune()
            except Exception:
                log.warning("retention sweep failed; retrying later", exc_info=True)
            await asyncio.sleep(self._every)

    async def prune(self) -> int:
        cutoff = utcnow() - self.keep
        total = 0
        while True:
            ids = await self._jobs.expire_finished(cutoff)
            if not ids:
                break
            total += len(ids)
            await self._engine.forget(ids)
        async with self._sessions.begin() as s:
            await s.execute(delete(KeyAuditRow).where(KeyAuditRow.at < cutoff))
        if total:
            log.info("retention: expired %d finished jobs", total)
        for pruner in list(self._pruners):
            try:
                removed = await pruner(self.keep.total_seconds())
            except Exception:
                log.warning("retention: a pruner failed; retrying later", exc_info=True)
                continue
            if removed:
                log.info("retention: removed %d old deploy checkouts", len(removed))
        return total

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
