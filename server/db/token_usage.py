"""Per-workspace daily token usage on SQL (implements agents.budget.WorkspaceTokenUsage).

One row per (workspace, UTC day). `add` is one statement, one round trip: an upsert
`INSERT … ON CONFLICT (workspace_id, day) DO UPDATE SET tokens = tokens + :n RETURNING tokens`
(SQLite 3.35+ and PostgreSQL alike), so concurrent first charges of the day cannot collide and
the new total comes back with the charge.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import BigInteger, Date, String
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base


class WorkspaceTokenUsageRow(Base):
    __tablename__ = "workspace_token_usage"

    workspace_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    tokens: Mapped[int] = mapped_column(BigInteger, default=0)


# The dialects' own INSERT, both with ON CONFLICT … DO UPDATE and RETURNING.
_INSERT: dict[str, Callable[[type[Base]], sqlite.Insert | postgresql.Insert]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


class SqlWorkspaceTokenUsage:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def used(self, workspace_id: str, day: date) -> int:
        async with self._sessions() as s:
            row = await s.get(WorkspaceTokenUsageRow, (workspace_id, day))
            return row.tokens if row is not None else 0

    async def add(self, workspace_id: str, day: date, tokens: int) -> int:
        t = WorkspaceTokenUsageRow
        async with self._sessions.begin() as s:
            insert = _INSERT[s.get_bind().dialect.name]
            new = insert(t).values(workspace_id=workspace_id, day=day, tokens=tokens)
            upsert = new.on_conflict_do_update(
                index_elements=[t.workspace_id, t.day],
                set_={"tokens": t.tokens + new.excluded.tokens},
            ).returning(t.tokens)
            total = await s.scalar(upsert)
            return int(total or 0)
