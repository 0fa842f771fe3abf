"""Per-workspace daily token usage on SQL (implements agents.budget.WorkspaceTokenUsage).

One row per (workspace, UTC day); `add` is one UPDATE `tokens = tokens + :n` (inserting the
row on the day's first turn; a concurrent first insert is caught and turned into the update).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base


class WorkspaceTokenUsageRow(Base):
    __tablename__ = "workspace_token_usage"

    workspace_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    tokens: Mapped[int] = mapped_column(BigInteger, default=0)


class SqlWorkspaceTokenUsage:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def used(self, workspace_id: str, day: date) -> int:
        async with self._sessions() as s:
            row = await s.get(WorkspaceTokenUsageRow, (workspace_id, day))
            return row.tokens if row is not None else 0

    async def add(self, workspace_id: str, day: date, tokens: int) -> int:
        for _attempt in range(3):
            try:
                return await self._add(workspace_id, day, tokens)
            except IntegrityError:
                continue
        return await self._add(workspace_id, day, tokens)

    async def _add(self, workspace_id: str, day: date, tokens: int) -> int:
        t = WorkspaceTokenUsageRow
        where = (t.workspace_id == workspace_id, t.day == day)
        async with self._sessions.begin() as s:
            result = await s.execute(
                update(t)
                .where(*where)
                .values(tokens=t.tokens + tokens)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 0:
                s.add(t(workspace_id=workspace_id, day=day, tokens=tokens))
                await s.flush()
            total = await s.scalar(select(t.tokens).where(*where))
            return int(total or 0)
