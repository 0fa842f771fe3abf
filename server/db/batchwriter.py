"""The event log's batches on SQLite: one transaction by the standard library's driver, on the
event loop's own thread, unless the file is locked.

Why not through SQLAlchemy and aiosqlite as every other write: on SQLite, a flush's cost was
almost none of it SQLite. Measured on the 2-core machine (`python -m bench.bench_flush`,
docs/benchmarks.md "Event blocks and the batch writer"), per transaction of one small row:
aiosqlite through SQLAlchemy's async engine 1,100-1,600 us of CPU (a hop to aiosqlite's thread
and back for BEGIN, each statement and COMMIT), a hop to a thread of our own about 200-400 us,
SQLAlchemy's sync Core on this thread about 180 us, `sqlite3` itself about 20 us, this writer
about 28 us. The event log writes one transaction per flush, and a job streaming at a model's
pace has a flush for every event or two.

A write on the loop's thread must never wait: the connection has no busy timeout and takes
the write lock first (BEGIN IMMEDIATE), so while another connection writes the file it fails at
once, before doing anything, and the batch goes to a thread of its own with the usual 30 s busy
timeout instead. It never checkpoints the WAL on the loop either (`wal_autocheckpoint=0`):
once about SQLite's own threshold of pages has been written, the next batch waits (off the loop)
while that thread checkpoints (PASSIVE: never blocking another connection's writes). With WAL
and synchronous=NORMAL a commit does not fsync, as for every other connection to the file
(server/db/base.py): a killed process loses no committed write.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger("qubitz.db")

BUSY_TIMEOUT = 30.0  # seconds, on the thread: as make_engine's async engine (server/db/base.py)
CHECKPOINT_PAGES = 1000  # SQLite's own auto-checkpoint threshold
PAGE_BYTES = 4096

Statement = tuple[str, Sequence[Sequence[Any]]]  # SQL with ? marks, its rows (executemany)


def _connect(path: str, timeout: float) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        # each read to its end: a statement left open holds a read lock on the WAL, which then
        # never starts over from its beginning (it grew without bound)
        conn.execute(f"PRAGMA {pragma}").fetchall()
    return conn


def _locked(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _transaction(conn: sqlite3.Connection, statements: Sequence[Statement]) -> None:
    conn.execute("BEGIN IMMEDIATE")  # the write lock first: busy fails here, having done nothing
    try:
        for sql, rows in statements:
            conn.executemany(sql, rows)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class SQLiteBatchWriter:
    def __init__(self, path: str) -> None:
        self._path = path
        self._inline: sqlite3.Connection | None = None
        self._threaded: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="qubitz-sqlite-writer")
        self._unchecked_bytes = 0
        self.fallbacks = 0  # batches that found the file locked and went to the thread

    def connection(self) -> sqlite3.Connection:
        """The connection used on the loop's thread (opened at first use)."""
        if self._inline is None:
            self._inline = _connect(self._path, 0.0)
            self._inline.execute("PRAGMA wal_autocheckpoint=0").fetchall()  # the thread does
        return self._inline

    async def write(self, statements: Sequence[Statement]) -> None:
        """All `statements` in one transaction: committed, or rolled back and raised."""
        try:
            _transaction(self.connection(), statements)
        except sqlite3.OperationalError as exc:
            if not _locked(exc):
                raise
            self.fallbacks += 1
            await asyncio.get_running_loop().run_in_executor(
                self._thread, self._write_threaded, statements
            )
        self._unchecked_bytes += sum(
            len(str(value)) for _sql, rows in statements for row in rows for value in row
        )
        if self._unchecked_bytes > CHECKPOINT_PAGES * PAGE_BYTES:
            # Awaited, on the thread: the loop goes on, and the next batch begins only after
            # the checkpoint, so that it finds the WAL fully copied and starts it over (with
            # writes going on meanwhile, the WAL grew without bound).
            self._unchecked_bytes = 0
            try:
                await asyncio.get_running_loop().run_in_executor(self._thread, self._checkpoint)
            except sqlite3.Error:
                log.warning(
                    "WAL checkpoint failed; retried after the next %d pages", CHECKPOINT_PAGES
                )

    def _threaded_conn(self) -> sqlite3.Connection:
        if self._threaded is None:
            self._threaded = _connect(self._path, BUSY_TIMEOUT)
        return self._threaded

    def _write_threaded(self, statements: Sequence[Statement]) -> None:
        _transaction(self._threaded_conn(), statements)

    def _checkpoint(self) -> None:
        self._threaded_conn().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        for conn in (self._inline, self._threaded):
            if conn is not None:
                conn.close()
        self._inline = self._threaded = None
