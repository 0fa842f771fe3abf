"""The SQLite batch writer (server/db/batchwriter.py): writes on the loop's thread, never waits
there for a lock held elsewhere, and keeps the WAL from growing without bound."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from server.db.batchwriter import CHECKPOINT_PAGES, PAGE_BYTES, SQLiteBatchWriter

pytestmark = pytest.mark.anyio

TABLE = "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"
INSERT = "INSERT INTO t (id, body) VALUES (?, ?)"


def _make(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(TABLE)
    conn.commit()
    conn.close()


def _count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM t").fetchone()[0])
    finally:
        conn.close()


async def test_a_locked_file_sends_the_batch_to_the_thread_and_the_loop_goes_on(
    tmp_path: Path,
) -> None:
    db = tmp_path / "w.db"
    _make(db)
    writer = SQLiteBatchWriter(str(db))
    try:
        await writer.write([(INSERT, [(1, "first")])])
        assert writer.fallbacks == 0
        holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
        started = time.monotonic()
        write = asyncio.create_task(writer.write([(INSERT, [(2, "second"), (3, "third")])]))
        ticks = 0
        for _ in range(10):
            await asyncio.sleep(0.02)  # the loop keeps running while the batch waits
            ticks += 1
        assert not write.done()
        assert time.monotonic() - started < 1.0
        holder.execute("COMMIT")
        holder.close()
        await asyncio.wait_for(write, 10)
        assert ticks == 10 and writer.fallbacks == 1
        assert _count(db) == 3
    finally:
        writer.close()


async def test_a_failed_statement_rolls_the_whole_batch_back(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    _make(db)
    writer = SQLiteBatchWriter(str(db))
    try:
        with pytest.raises(sqlite3.IntegrityError):
            await writer.write([(INSERT, [(1, "kept?")]), (INSERT, [(2, "x"), (2, "again")])])
        assert _count(db) == 0
        await writer.write([(INSERT, [(1, "now"), (2, "x")])])  # the connection is usable
        assert _count(db) == 2
    finally:
        writer.close()


async def test_the_wal_is_checkpointed_off_the_loop_and_stays_bounded(tmp_path: Path) -> None:
    """The loop's connection never checkpoints (autocheckpoint off); the writer's thread does,
    so writing several times the threshold leaves a WAL of about the threshold, not of it all."""
    db = tmp_path / "w.db"
    _make(db)
    writer = SQLiteBatchWriter(str(db))
    threshold = CHECKPOINT_PAGES * PAGE_BYTES
    body = "x" * 200_000
    try:
        for i in range(6 * threshold // len(body)):
            await writer.write([(INSERT, [(i, body)])])
            await asyncio.sleep(0.005)  # give the checkpoint thread its turn
        wal = db.with_name(db.name + "-wal").stat().st_size
    finally:
        writer.close()
    written = 6 * threshold
    assert wal < written / 2, (wal, written)
    assert _count(db) == 6 * threshold // len(body)
