"""Jobs and their persisted event logs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    Select,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow
from server.db.batchwriter import SQLiteBatchWriter, Statement
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


class JobEventBlockRow(Base):
    """A run of one job's events with consecutive seqs, `first_seq` to `last_seq`: their stored
    JSON texts, one per line (JSON text never holds a raw newline). One row per job per flush
    of the event log instead of one per event: fewer rows to bind, index and write
    (docs/benchmarks.md, "Event blocks and the batch writer"). A retried flush writes its
    block again from the same `first_seq`, with the same or more events."""

    __tablename__ = "job_event_blocks"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    first_seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
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
_PLACEHOLDERS = {
    "qmark": "?, ?, ?, ?",
    "numeric_dollar": "$1, $2, $3, $4",
    "format": "%s, %s, %s, %s",
}


def _insert_blocks_sql_for(paramstyle: str) -> str:
    """INSERT of event blocks in a driver's parameter style. A block written again (a retried
    flush) replaces the stored one only if it holds more events: the same events, never fewer."""
    marks = _PLACEHOLDERS[paramstyle]
    table = JobEventBlockRow.__tablename__
    return (
        f"INSERT INTO {table} (job_id, first_seq, last_seq, payload) VALUES ({marks}) "
        "ON CONFLICT (job_id, first_seq) DO UPDATE SET last_seq = excluded.last_seq, "
        f"payload = excluded.payload WHERE excluded.last_seq > {table}.last_seq"
    )


def _insert_blocks_sql(conn: AsyncConnection) -> str:
    return _insert_blocks_sql_for(conn.dialect.paramstyle)


EventRow = tuple[str, int, str]  # (job_id, seq, stored JSON text)
Block = tuple[str, int, int, str]  # (job_id, first_seq, last_seq, texts joined by newlines)


def blocks_of(events: Iterable[EventRow]) -> list[Block]:
    """Each job's events of a batch as runs of consecutive seqs, one block each (a batch holds
    one run per job, its entries in seq order; a gap would start a new block)."""
    runs: dict[str, list[Any]] = {}  # job -> [first seq, last seq, texts]
    out: list[Block] = []
    for job_id, seq, text in events:
        run = runs.get(job_id)
        if run is not None and seq == run[1] + 1:
            run[1] = seq
            run[2].append(text)
            continue
        if run is not None:
            out.append((job_id, run[0], run[1], "\n".join(run[2])))
        runs[job_id] = [seq, seq, [text]]
    out.extend(
        (job_id, first, last, "\n".join(texts)) for job_id, (first, last, texts) in runs.items()
    )
    return out


def _job_blocks(job_id: str) -> Select[int, str]:
    """(first_seq, payload) of the job's blocks: what every reader splits into events."""
    return select(JobEventBlockRow.first_seq, JobEventBlockRow.payload).where(
        JobEventBlockRow.job_id == job_id
    )


def _events_of(rows: Any, since: int) -> list[tuple[int, str]]:
    """(seq, text) after `since` from (first_seq, payload) blocks ordered by first_seq; a seq
    held by two blocks (a writer that lost its job went on writing) is taken from the first."""
    out: list[tuple[int, str]] = []
    last = since
    for first, payload in rows:
        for offset, text in enumerate(payload.split("\n")):
            seq = first + offset
            if seq > last:
                out.append((seq, text))
                last = seq
    return out


async def _write_batch(
    conn: AsyncConnection,
    created: Sequence[JobMeta],
    blocks: list[Block],
    ends: Sequence[tuple[str, JobEnd]],
    now: datetime,
) -> None:
    """The batch by SQLAlchemy Core (PostgreSQL: asyncpg, no thread between)."""
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
    if blocks:
        # The driver's own executemany of one fixed statement (SQLAlchemy's compiled insert
        # built and processed a parameter dict per row in Python).
        await conn.exec_driver_sql(_insert_blocks_sql(conn), blocks)
    for job_id, end in ends:
        last = select(func.coalesce(func.max(JobEventBlockRow.last_seq), 0)).where(
            JobEventBlockRow.job_id == job_id
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


# The same batch as plain SQL for the SQLite writer (server/db/batchwriter.py); datetimes in
# the text form SQLAlchemy stores on SQLite, by SQLAlchemy's own bind processor.
_sqlite_datetime = (
    DateTime(timezone=True).dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())
)
_SQLITE_CREATE = (
    "INSERT INTO jobs (id, workspace_id, endpoint, owner, state, created_at, last_seq, "
    "idempotency_key) VALUES (?, ?, ?, ?, 'running', ?, 0, ?) ON CONFLICT DO NOTHING"
)
_SQLITE_END = (
    "UPDATE jobs SET state = ?, close_code = ?, error = ?, finished_at = ?, last_seq = "
    "(SELECT coalesce(max(last_seq), 0) FROM job_event_blocks WHERE job_id = ?) WHERE id = ?"
)


def _sqlite_statements(
    created: Sequence[JobMeta],
    blocks: list[Block],
    ends: Sequence[tuple[str, JobEnd]],
    now: datetime,
) -> list[Statement]:
    assert _sqlite_datetime is not None
    stamp = _sqlite_datetime(now)
    out: list[Statement] = []
    if created:
        rows = [
            (j.job_id, j.workspace_id, j.endpoint, j.owner, stamp, j.idempotency_key)
            for j in created
        ]
        out.append((_SQLITE_CREATE, rows))
    if blocks:
        out.append((_insert_blocks_sql_for("qmark"), blocks))
    if ends:
        out.append(
            (
                _SQLITE_END,
                [
                    (end.state, int(end.close_code), end.error, stamp, job_id, job_id)
                    for job_id, end in ends
                ],
            )
        )
    return out


class JobRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        engine: AsyncEngine = sessions.kw["bind"]
        url = engine.url
        self._sqlite: SQLiteBatchWriter | None = None
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            self._sqlite = SQLiteBatchWriter(url.database)

    async def write_batch(
        self,
        created: Sequence[JobMeta],
        events: Sequence[EventRow],
        ends: Sequence[tuple[str, JobEnd]],
    ) -> None:
        """New jobs, events and ends in one transaction; rows already written are kept as they
        are, so a batch that failed half way (or was written already) can be written again.
        On SQLite the transaction is the SQLite batch writer's (server/db/batchwriter.py)."""
        if not (created or events or ends):
            return
        now = utcnow()
        blocks = blocks_of(events) if events else []
        if self._sqlite is not None:
            await self._sqlite.write(_sqlite_statements(created, blocks, ends, now))
            return
        async with self._sessions.begin() as s:
            await _write_batch(await s.connection(), created, blocks, ends, now)

    def close(self) -> None:
        """Close the SQLite batch writer's connections and thread."""
        if self._sqlite is not None:
            self._sqlite.close()

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
                await s.execute(delete(JobEventBlockRow).where(JobEventBlockRow.job_id.in_(ids)))
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
        async with self._sessions() as s:
            got = await s.scalar(
                select(func.max(JobEventBlockRow.last_seq)).where(JobEventBlockRow.job_id == job_id)
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

    async def events(
        self, job_id: str, since: int, limit: int | None = None
    ) -> list[tuple[int, str]]:
        """(seq, stored text) of the job's events after `since`, oldest first, at most `limit`."""
        query = (
            _job_blocks(job_id)
            .where(JobEventBlockRow.last_seq > since)
            .order_by(JobEventBlockRow.first_seq)
        )
        if limit is not None:
            query = query.limit(max(1, limit))  # every block holds at least one event
        async with self._sessions() as s:
            found = _events_of(await s.execute(query), since)
        return found if limit is None else found[: max(1, limit)]

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
        count = max(1, count)
        async with self._sessions() as s:
            rows = list(
                await s.execute(
                    _job_blocks(job_id)
                    .order_by(JobEventBlockRow.first_seq.desc())
                    .limit(count)  # every block holds at least one event
                )
            )
        rows.reverse()
        return _events_of(rows, 0)[-count:][::-1]

    async def events_page(self, job_id: str, since: int, limit: int) -> list[tuple[int, str]]:
        """Events after `since`, oldest first, at most `limit`."""
        return await self.events(job_id, since, limit)
