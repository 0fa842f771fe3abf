"""Hand a dead replica's jobs to the live ones, without DBOS's hosted control plane.

Each replica writes a heartbeat every `failover_after / 6` seconds. A replica whose heartbeat is
older than `failover_after / 2` is dead: the first live replica to claim it (one delete of its
heartbeat row, which succeeds once) puts its pending workflows back on their queues, where any
live replica picks them up. A job of a killed replica is therefore running again within about
`failover_after` seconds (heartbeat age + one sweep + DBOS's queue poll).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from server.db.replicas import ReplicaRepository
from server.durable.engine import DurableEngine

log = logging.getLogger("qubitz.durable")


class ReplicaSweep:
    def __init__(
        self,
        replicas: ReplicaRepository,
        engine: DurableEngine,
        *,
        replica_id: str,
        failover_after: float = 30.0,
    ) -> None:
        self._replicas = replicas
        self._engine = engine
        self._id = replica_id
        self.interval = max(failover_after / 6, 0.1)
        self.dead_after = timedelta(seconds=max(failover_after / 2, 0.2))
        self._task: asyncio.Task[None] | None = None
        self.recovered = 0

    async def start(self) -> None:
        await self._replicas.beat(self._id)
        await self.sweep()
        self._task = asyncio.create_task(self._run(), name="replica-sweep")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self._replicas.beat(self._id)
                await self.sweep()
            except Exception:
                log.warning("replica heartbeat/sweep failed; retrying", exc_info=True)

    async def sweep(self) -> int:
        taken = 0
        for dead in await self._replicas.stale(self.dead_after, besides=self._id):
            if not await self._replicas.claim(dead, self.dead_after):
                continue  # another replica took it
            count = await asyncio.to_thread(self._engine.recover_executors, [dead])
            log.warning("replica %s is gone; %d of its jobs handed over", dead, count)
            taken += count
        self.recovered += taken
        return taken

    async def stop(self, *, jobs_left: bool) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            if jobs_left:
                await self._replicas.mark_dead(self._id)  # the next sweep elsewhere takes them
            else:
                await self._replicas.forget(self._id)
        except Exception:
            log.warning("could not update this replica's heartbeat on the way out", exc_info=True)
