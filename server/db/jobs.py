"""Jobs and their persisted event logs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ForeignKey, Integer, String, Table, Text, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow
from server.eventlog import JobEnd, JobMeta


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(200), index=True)
    endpoint: Mapped[str] = mapped_column(String(40))
    owner: Mapped[str] = mapped_column(String(100), default="", index=True)  # replica id
    state: Mapped[str] = mapped_column(String(16), index=True)  # running|succeeded|failed|cancelled
    close_code: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    last_seq: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None, index=True)


class JobEventRow(Base):
    __tablename__ = "job_events"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    payload: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class JobRecord:
    id: str
    workspace_id: str
    endpoint: str
    state: str
    close_code: int | None
    error: str | None
    last_seq: int
    created_at: datetime
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.state != "running"


def _record(row: JobRow) -> JobRecord:
    return JobRecord(
        row.id,
        row.workspace_id,
        row.endpoint,
        row.state,
        row.close_code,
        row.error,
        row.last_seq,
        row.created_at,
        row.finished_at,
    )


def _insert_ignoring_duplicates(conn: AsyncConnection, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING in the connection's dialect (SQLite or PostgreSQL)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


# One row's placeholders per DBAPI parameter style (aiosqlite: qmark, asyncpg: numeric_dollar).
_PLACEHOLDERS = {"qmark": "?, ?, ?", "numeric_dollar": "$1, $2, $3", "format": "%s, %s, %s"}


def _insert_events_sql(conn: AsyncConnection) -> str:
    """INSERT of job_events rows, duplicates ignored, in the driver's parameter style."""
    marks = _PLACEHOLDERS[conn.dialect.paramstyle]
    return (
        f"INSERT INTO {JobEventRow.__tablename__} (job_id, seq, payload) VALUES ({marks}) "
        "ON CONFLICT (job_id, seq) DO NOTHING"
    )


class JobRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def write_batch(
        self,
        created: Sequence[JobMeta],
        events: Sequence[tuple[str, int, str]],
        ends: Sequence[tuple[str, JobEnd]],
    ) -> None:
        """New jobs, events and ends in one transaction; rows already written are kept as they
        are, so a batch that failed half way (or was written already) can be written again."""
        if not (created or events or ends):
            return
        now = utcnow()
        async with self._sessions.begin() as s:
            conn = await s.connection()
            if created:
                await conn.execute(
                    _insert_ignoring_duplicates(conn, cast(Table, JobRow.__table__)),
                    [
                        {
                            "id": j.job_id,
                            "workspace_id": j.workspace_id,
                            "endpoint": j.endpoint,
                            "owner": j.owner,
                            "state": "running",
                            "created_at": now,
                            "last_seq": 0,
                            "idempotency_key": j.idempotency_key,
                        }
                        for j in created
                    ],
                )
            if events:
                # The driver's own executemany of one fixed statement, in this transaction:
                # SQLAlchemy's compiled insert built and processed a parameter dict per row in
                # Python; the driver takes the tuples as they are (docs/benchmarks.md).
                rows = events if isinstance(events, list) else list(events)
                await conn.exec_driver_sql(_insert_events_sql(conn), rows)
            for job_id, end in ends:
                last = select(func.coalesce(func.max(JobEventRow.seq), 0)).where(
                    JobEventRow.job_id == job_id
                )
                await conn.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id)
                    .values(
                        state=end.state,
                        close_code=int(end.close_code),
                        error=end.error,
                        last_seq=last.scalar_subquery(),
                        finished_at=now,
                    )
                )

    async def create_many(self, jobs: Sequence[JobMeta]) -> None:
        if not jobs:
            return
        now = utcnow()
        async with self._sessions.begin() as s:
            conn = await s.connection()
            await conn.execute(
                cast(Table, JobRow.__table__).insert(),
                [
                    {
                        "id": j.job_id,
                        "workspace_id": j.workspace_id,
                        "endpoint": j.endpoint,
                        "owner": j.owner,
                        "state": "running",
                        "created_at": now,
                        "last_seq": 0,
                    }
                    for j in jobs
                ],
            )

    async def by_idempotency_key(
        self, workspace_id: str, endpoint: str, key: str, since: datetime
    ) -> str | None:
        """The id of this workspace's job on `endpoint` submitted with `key` after `since`."""
        async with self._sessions() as s:
            found = await s.scalar(
                select(JobRow.id)
                .where(
                    JobRow.workspace_id == workspace_id,
                    JobRow.endpoint == endpoint,
                    JobRow.idempotency_key == key,
                    JobRow.created_at > since,
                )
                .order_by(JobRow.created_at)
                .limit(1)
            )
            return str(found) if found else None

    async def expire_finished(self, before: datetime, *, limit: int = 500) -> list[str]:
        """Drop the events of jobs that finished before `before`, keeping each row as a
        tombstone (state `expired`) so a resume can say so. Returns the ids expired."""
        async with self._sessions.begin() as s:
            ids = list(
                await s.scalars(
                    select(JobRow.id)
                    .where(
                        JobRow.state.in_(("succeeded", "failed", "cancelled")),
                        JobRow.finished_at < before,
                    )
                    .limit(limit)
                )
            )
            if ids:
                await s.execute(delete(JobEventRow).where(JobEventRow.job_id.in_(ids)))
                await s.execute(update(JobRow).where(JobRow.id.in_(ids)).values(state="expired"))
            return ids

    async def set_owner(self, job_id: str, owner: str) -> None:
        """The replica now running the job (after a failover)."""
        async with self._sessions.begin() as s:
            await s.execute(update(JobRow).where(JobRow.id == job_id).values(owner=owner))

    async def get_any(self, job_id: str) -> JobRecord | None:
        async with self._sessions() as s:
            row = await s.get(JobRow, job_id)
            return _record(row) if row else None

    async def get(self, job_id: str, workspace_id: str) -> JobRecord | None:
        async with self._sessions() as s:
            row = await s.scalar(
                select(JobRow).where(JobRow.id == job_id, JobRow.workspace_id == workspace_id)
            )
            return _record(row) if row else None

    async def finish(
        self, job_id: str, *, state: str, close_code: int, error: str | None, last_seq: int
    ) -> None:
        async with self._sessions.begin() as s:
            await s.execute(
                update(JobRow)
                .where(JobRow.id == job_id)
                .values(
                    state=state,
                    close_code=close_code,
                    error=error,
                    last_seq=last_seq,
                    finished_at=utcnow(),
                )
            )

    async def running(self, owner: str) -> list[JobRecord]:
        async with self._sessions() as s:
            return [
                _record(r)
                for r in await s.scalars(
                    select(JobRow).where(JobRow.state == "running", JobRow.owner == owner)
                )
            ]

    async def max_seq(self, job_id: str) -> int:
        from sqlalchemy import func

        async with self._sessions() as s:
            got = await s.scalar(
                select(func.max(JobEventRow.seq)).where(JobEventRow.job_id == job_id)
            )
            return int(got or 0)

    async def count_by_state(self) -> dict[tuple[str, str], int]:
        from sqlalchemy import func

        async with self._sessions() as s:
            rows = await s.execute(
                select(JobRow.endpoint, JobRow.state, func.count()).group_by(
                    JobRow.endpoint, JobRow.state
                )
            )
            return {(e, st): int(n) for e, st, n in rows}

    async def append_events(self, rows: Sequence[tuple[str, int, str]]) -> None:
        if not rows:
            return
        # Core executemany on the table (not the ORM bulk path): one driver call per batch.
        table = cast(Table, JobEventRow.__table__)
        async with self._sessions.begin() as s:
            conn = await s.connection()
            await conn.execute(
                table.insert(), [{"job_id": j, "seq": q, "payload": p} for j, q, p in rows]
            )

    async def events(self, job_id: str, since: int) -> list[tuple[int, str]]:
        async with self._sessions() as s:
            rows = await s.execute(
                select(JobEventRow.seq, JobEventRow.payload)
                .where(JobEventRow.job_id == job_id, JobEventRow.seq > since)
                .order_by(JobEventRow.seq)
            )
            return [(int(q), str(p)) for q, p in rows]

    # -- read API (server/api): listing and the tail of a job's log --------------------------

    async def list_jobs(
        self,
        workspace_id: str,
        *,
        endpoints: Sequence[str],
        state: str | None = None,
        limit: int = 50,
    ) -> list[JobRecord]:
        """This workspace's jobs on these endpoints, newest first."""
        query = (
            select(JobRow)
            .where(JobRow.workspace_id == workspace_id, JobRow.endpoint.in_(list(endpoints)))
            .order_by(JobRow.created_at.desc(), JobRow.id.desc())
            .limit(max(1, limit))
        )
        if state is not None:
            query = query.where(JobRow.state == state)
        async with self._sessions() as s:
            return [_record(r) for r in await s.scalars(query)]

    async def tail(self, job_id: str, count: int) -> list[tuple[int, str]]:
        """The job's last `count` events, newest first."""
        async with self._sessions() as s:
            rows = await s.execute(
                select(JobEventRow.seq, JobEventRow.payload)
                .where(JobEventRow.job_id == job_id)
                .order_by(JobEventRow.seq.desc())
                .limit(max(1, count))
            )
            return [(int(q), str(p)) for q, p in rows]

    async def events_page(self, job_id: str, since: int, limit: int) -> list[tuple[int, str]]:
        """Events after `since`, oldest first, at most `limit`."""
        async with self._sessions() as s:
            rows = await s.execute(
                select(JobEventRow.seq, JobEventRow.payload)
                .where(JobEventRow.job_id == job_id, JobEventRow.seq > since)
                .order_by(JobEventRow.seq)
                .limit(max(1, limit))
            )
            return [(int(q), str(p)) for q, p in rows]
