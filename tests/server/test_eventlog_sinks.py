"""The database sink: each flush is one idempotent transaction, so a failed flush is retried."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.base import make_sessionmaker
from server.db.batchwriter import SQLiteBatchWriter
from server.db.jobs import JobRepository
from server.eventlog import EventLog, JobEnd, JobMeta
from server.sinks import DatabaseSink

pytestmark = pytest.mark.anyio


class FailOnce:
    """Makes the next statement touching `table` fail at the driver, like a dropped connection."""

    def __init__(self, engine: AsyncEngine, table: str) -> None:
        self.table = table
        self.armed = False
        event.listen(engine.sync_engine, "before_cursor_execute", self._check)

    def _check(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.armed and self.table in statement and statement.lstrip().startswith("INSERT"):
            self.armed = False
            raise ConnectionError("connection dropped")


class DenyOnce:
    """On SQLite, where the batches go by the standard driver (server/db/batchwriter.py): the
    next statement that inserts into `table` is refused by SQLite itself, after the statements
    before it in the transaction ran."""

    def __init__(self, writer: SQLiteBatchWriter, table: str) -> None:
        self.table = table
        self.armed = False
        writer.connection().set_authorizer(self._check)

    def _check(self, action: int, arg1: str | None, *_rest: object) -> int:
        if self.armed and action == sqlite3.SQLITE_INSERT and arg1 == self.table:
            self.armed = False
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK


async def test_a_flush_that_fails_half_way_is_retried_whole(engine: AsyncEngine) -> None:
    jobs = JobRepository(make_sessionmaker(engine))
    writer = jobs._sqlite  # the SQLite batch writer: where a fault must happen on SQLite
    fault = (
        DenyOnce(writer, "job_event_blocks")
        if writer is not None
        else FailOnce(engine, "job_event_blocks")
    )
    log = EventLog([DatabaseSink(jobs)])
    log.create("job_a", JobMeta("job_a", "ws", "research", "r1"))
    log.append("job_a", {"type": "status", "message": "one"})
    fault.armed = True
    with pytest.raises((ConnectionError, sqlite3.DatabaseError)):
        await log.flush()
    assert await jobs.get("job_a", "ws") is None  # the job row of the failed batch rolled back
    log.append("job_a", {"type": "status", "message": "two"})
    log.finish("job_a", JobEnd("succeeded", 1000))
    await log.flush()
    # later jobs persist too: the sink is not stuck on the first batch
    log.create("job_b", JobMeta("job_b", "ws", "research", "r1"))
    log.append("job_b", {"type": "status", "message": "three"})
    await log.flush()
    record = await jobs.get("job_a", "ws")
    assert record is not None and record.state == "succeeded" and record.last_seq == 2
    assert [seq for seq, _ in await jobs.events("job_a", 0)] == [1, 2]
    assert [seq for seq, _ in await jobs.events("job_b", 0)] == [1]


async def test_writing_the_same_batch_twice_changes_nothing(engine: AsyncEngine) -> None:
    jobs = JobRepository(make_sessionmaker(engine))
    sink = DatabaseSink(jobs)
    log = EventLog([])
    log.create("job_c")
    entry = log.append("job_c", {"type": "status"})
    from server.eventlog import Batch

    batch = Batch(
        created=[JobMeta("job_c", "ws", "research", "r1")],
        entries=[("job_c", entry)],
        ends=[("job_c", JobEnd("failed", 1011, "internal_error"))],
    )
    await sink.write(batch)
    await sink.write(batch)
    record = await jobs.get("job_c", "ws")
    assert record is not None and (record.state, record.last_seq) == ("failed", 1)
    assert len(await jobs.events("job_c", 0)) == 1
