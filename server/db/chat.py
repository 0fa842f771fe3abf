"""Chat sessions on SQL: one row per (workspace, session id) with its running counts.

Implements agents.chat.session.ChatSessionStore. Counts are added with one UPDATE
(`col = col + :n`), so concurrent turns on a session never lose an update; the first turn
inserts the row (a concurrent first insert is caught and turned into the update).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from agents.chat.session import ChatSessionState, TurnRecord
from server.db.base import Base, utcnow


class ChatSessionRow(Base):
    __tablename__ = "chat_sessions"

    workspace_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200))
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    token_limit: Mapped[int] = mapped_column(BigInteger, default=0)
    reports_generated: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


def _state(row: ChatSessionRow) -> ChatSessionState:
    return ChatSessionState(
        workspace_id=row.workspace_id,
        session_id=row.session_id,
        user_id=row.user_id,
        message_count=row.message_count,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        token_limit=row.token_limit,
        reports_generated=row.reports_generated,
    )


class SqlChatSessionStore:
    """ChatSessionStore on the service database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, workspace_id: str, session_id: str) -> ChatSessionState | None:
        async with self._sessions() as s:
            row = await s.get(ChatSessionRow, (workspace_id, session_id))
            return _state(row) if row is not None else None

    async def record_turn(
        self, workspace_id: str, session_id: str, turn: TurnRecord
    ) -> ChatSessionState:
        for _attempt in range(3):
            try:
                return await self._add(workspace_id, session_id, turn)
            except IntegrityError:
                continue  # another connection created the row first: add to it instead
        return await self._add(workspace_id, session_id, turn)

    async def _add(self, workspace_id: str, session_id: str, turn: TurnRecord) -> ChatSessionState:
        t = ChatSessionRow
        async with self._sessions.begin() as s:
            result = await s.execute(
                update(t)
                .where(t.workspace_id == workspace_id, t.session_id == session_id)
                .values(
                    message_count=t.message_count + turn.messages,
                    input_tokens=t.input_tokens + turn.input_tokens,
                    output_tokens=t.output_tokens + turn.output_tokens,
                    token_limit=turn.token_limit,
                    reports_generated=t.reports_generated + int(turn.report_generated),
                    updated_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 0:
                now = utcnow()
                s.add(
                    ChatSessionRow(
                        workspace_id=workspace_id,
                        session_id=session_id,
                        user_id=turn.user_id,
                        message_count=turn.messages,
                        input_tokens=turn.input_tokens,
                        output_tokens=turn.output_tokens,
                        token_limit=turn.token_limit,
                        reports_generated=int(turn.report_generated),
                        created_at=now,
                        updated_at=now,
                    )
                )
                await s.flush()
            row = (
                await s.execute(
                    select(t).where(t.workspace_id == workspace_id, t.session_id == session_id)
                )
            ).scalar_one()
            await s.refresh(row)
            return _state(row)
