"""Replica heartbeats: which qubitz processes are alive, for handing a dead one's jobs over."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow

DEAD = datetime(1970, 1, 1, tzinfo=utcnow().tzinfo)


class ReplicaRow(Base):
    __tablename__ = "replicas"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # = the DBOS executor id
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


class ReplicaRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def beat(self, replica_id: str, at: datetime | None = None) -> None:
        at = at or utcnow()
        async with self._sessions.begin() as s:
            done = await s.execute(
                update(ReplicaRow).where(ReplicaRow.id == replica_id).values(last_seen=at)
            )
            if getattr(done, "rowcount", 0) == 0:
                s.add(ReplicaRow(id=replica_id, last_seen=at))

    async def mark_dead(self, replica_id: str) -> None:
        """Leaving with jobs unfinished: let the next sweep of any live replica take them."""
        await self.beat(replica_id, DEAD)

    async def forget(self, replica_id: str) -> None:
        async with self._sessions.begin() as s:
            await s.execute(delete(ReplicaRow).where(ReplicaRow.id == replica_id))

    async def stale(self, older_than: timedelta, *, besides: str) -> list[str]:
        cutoff = utcnow() - older_than
        async with self._sessions() as s:
            rows = await s.scalars(
                select(ReplicaRow.id).where(ReplicaRow.last_seen < cutoff, ReplicaRow.id != besides)
            )
            return list(rows)

    async def claim(self, replica_id: str, older_than: timedelta) -> bool:
        """Take over a dead replica, at most once across every live one: the delete of its
        heartbeat row succeeds for exactly one claimant (row lock / database write lock)."""
        cutoff = utcnow() - older_than
        async with self._sessions.begin() as s:
            done = await s.execute(
                delete(ReplicaRow).where(ReplicaRow.id == replica_id, ReplicaRow.last_seen < cutoff)
            )
            return bool(getattr(done, "rowcount", 0) == 1)
