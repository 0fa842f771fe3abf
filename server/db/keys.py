"""Service API keys (qk_uct_/qk_ch_), stored as SHA-256 hashes, and their audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, Index, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from agents.tenancy import validate_workspace_id
from server.db.base import Base, utcnow


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(200), index=True)
    scope: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(24))  # first characters, to recognise a key
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None, index=True)  # the poll
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    use_count: Mapped[int] = mapped_column(default=0)


class KeyAuditRow(Base):
    __tablename__ = "api_key_audit"
    __table_args__ = (Index("ix_api_key_audit_key_at", "key_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key_id: Mapped[str | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), default=None
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    route: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(40))  # ok | unknown | revoked | wrong_scope | ...
    remote: Mapped[str] = mapped_column(String(80), default="")
    # Attempts this row stands for: identical uses within one flush share one row.
    count: Mapped[int] = mapped_column(default=1, server_default="1")


@dataclass(frozen=True)
class KeyUse:
    key_id: str | None
    route: str
    outcome: str
    remote: str
    count: int = 1


@dataclass(frozen=True)
class KeyRecord:
    id: str
    workspace_id: str
    scope: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    use_count: int


def _record(row: ApiKeyRow) -> KeyRecord:
    return KeyRecord(
        row.id,
        row.workspace_id,
        row.scope,
        row.name,
        row.prefix,
        row.created_at,
        row.revoked_at,
        row.last_used_at,
        row.use_count,
    )


class KeyRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(
        self, *, key_id: str, workspace_id: str, scope: str, name: str, prefix: str, key_hash: str
    ) -> KeyRecord:
        validate_workspace_id(workspace_id)
        row = ApiKeyRow(
            id=key_id,
            workspace_id=workspace_id,
            scope=scope,
            name=name,
            prefix=prefix,
            key_hash=key_hash,
            created_at=utcnow(),
            use_count=0,
        )
        async with self._sessions.begin() as s:
            s.add(row)
        return _record(row)

    async def by_hash(self, key_hash: str) -> KeyRecord | None:
        async with self._sessions() as s:
            row = await s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash))
            return _record(row) if row else None

    async def list_keys(self, workspace_id: str | None = None) -> list[KeyRecord]:
        q = select(ApiKeyRow).order_by(ApiKeyRow.created_at)
        if workspace_id is not None:
            q = q.where(ApiKeyRow.workspace_id == workspace_id)
        async with self._sessions() as s:
            return [_record(r) for r in await s.scalars(q)]

    async def revoke(self, key_id: str) -> bool:
        async with self._sessions.begin() as s:
            res = await s.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            return bool(res.rowcount)  # type: ignore[attr-defined]

    async def revoked_since(self, since: datetime) -> list[tuple[str, datetime]]:
        """(key id, revoked_at) of keys revoked at or after `since` (the revocation poller)."""
        async with self._sessions() as s:
            rows = await s.execute(
                select(ApiKeyRow.id, ApiKeyRow.revoked_at).where(ApiKeyRow.revoked_at >= since)
            )
            # SQLite hands back naive datetimes (stored as UTC): make every answer aware.
            return [
                (key_id, at if at.tzinfo is not None else at.replace(tzinfo=UTC))
                for key_id, at in rows
                if at is not None
            ]

    async def record_use(
        self, key_id: str | None, *, route: str, outcome: str, remote: str
    ) -> None:
        async with self._sessions.begin() as s:
            if key_id is not None and outcome == "ok":
                await s.execute(
                    update(ApiKeyRow)
                    .where(ApiKeyRow.id == key_id)
                    .values(last_used_at=utcnow(), use_count=ApiKeyRow.use_count + 1)
                )
            s.add(KeyAuditRow(key_id=key_id, route=route, outcome=outcome, remote=remote[:80]))

    async def record_uses(self, uses: list[KeyUse]) -> None:
        """Many key uses in one transaction: audit rows, and counts per key."""
        counts: dict[str, int] = {}
        for use in uses:
            if use.key_id is not None and use.outcome == "ok":
                counts[use.key_id] = counts.get(use.key_id, 0) + use.count
        now = utcnow()
        async with self._sessions.begin() as s:
            for key_id, n in counts.items():
                await s.execute(
                    update(ApiKeyRow)
                    .where(ApiKeyRow.id == key_id)
                    .values(last_used_at=now, use_count=ApiKeyRow.use_count + n)
                )
            s.add_all(
                KeyAuditRow(
                    key_id=u.key_id,
                    route=u.route,
                    outcome=u.outcome,
                    at=now,
                    remote=u.remote[:80],
                    count=u.count,
                )
                for u in uses
            )

    async def audit(self, key_id: str) -> list[tuple[datetime, str, str]]:
        async with self._sessions() as s:
            rows = await s.scalars(
                select(KeyAuditRow).where(KeyAuditRow.key_id == key_id).order_by(KeyAuditRow.id)
            )
            return [(r.at, r.route, r.outcome) for r in rows]

    async def audit_rows(self, key_id: str | None = None) -> list[KeyUse]:
        """Audit rows (with their counts), of one key, or of unknown keys when None."""
        cond = KeyAuditRow.key_id.is_(None) if key_id is None else KeyAuditRow.key_id == key_id
        async with self._sessions() as s:
            rows = await s.scalars(select(KeyAuditRow).where(cond).order_by(KeyAuditRow.id))
            return [KeyUse(r.key_id, r.route, r.outcome, r.remote, r.count) for r in rows]
