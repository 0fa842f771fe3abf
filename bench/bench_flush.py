"""What one event-log flush costs on SQLite, and where: process CPU per transaction of the ways
to write it, and per event of `EventLog.append_event` + `flush` at several batch sizes, through
the product's SQLite batch writer against the same batch by SQLAlchemy's async engine on
aiosqlite (the path every flush took before; PostgreSQL still takes it, on asyncpg).

    .venv/bin/python -m bench.bench_flush [--transactions 500] [--rounds 5]

Rounds alternate the two paths (the machine's speed drifts); medians are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from agents.protocol import StatusEvent
from server.db.base import make_engine, make_sessionmaker
from server.db.batchwriter import SQLiteBatchWriter
from server.db.jobs import JobRepository
from server.db.migrate import upgrade
from server.eventlog import EventLog, JobMeta
from server.sinks import DatabaseSink

UPSERT = (
    "INSERT INTO replicas (id, last_seen) VALUES ('bench', '2026-12-01 00:00:00') "
    "ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen"
)


async def per_call(n: int, call: Callable[[], Awaitable[object]]) -> float:
    """Process CPU microseconds per awaited call."""
    start = time.process_time()
    for _ in range(n):
        await call()
    return (time.process_time() - start) / n * 1e6


async def transactions(data: Path, n: int) -> dict[str, float]:
    engine = make_engine(f"sqlite+aiosqlite:///{data / 'tx.db'}")
    await upgrade(engine)
    writer = SQLiteBatchWriter(str(data / "tx.db"))
    loop = asyncio.get_running_loop()

    async def via_aiosqlite() -> None:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(UPSERT)

    async def thread_hop() -> None:
        await loop.run_in_executor(writer._thread, lambda: None)  # the writer's own thread

    async def via_writer() -> None:
        await writer.write([(UPSERT, [()])])

    raw = sqlite3.connect(data / "tx.db", isolation_level=None)

    async def raw_sqlite() -> None:
        raw.execute("BEGIN IMMEDIATE")
        raw.execute(UPSERT)
        raw.execute("COMMIT")

    try:
        return {
            "SQLAlchemy async engine on aiosqlite": await per_call(n, via_aiosqlite),
            "an empty hop to a thread and back": await per_call(n, thread_hop),
            "SQLiteBatchWriter (the product's)": await per_call(n, via_writer),
            "sqlite3 on this thread": await per_call(n, raw_sqlite),
        }
    finally:
        raw.close()
        writer.close()
        await engine.dispose()


async def flushes(data: Path, batch: int, events: int, *, writer: bool) -> float:
    """Process CPU microseconds per event of append_event + flush, `batch` events per flush."""
    name = f"flush-{batch}-{int(writer)}-{time.monotonic_ns()}.db"
    engine = make_engine(f"sqlite+aiosqlite:///{data / name}")
    await upgrade(engine)
    jobs = JobRepository(make_sessionmaker(engine))
    if not writer:
        jobs.close()
        jobs._sqlite = None  # the SQLAlchemy async path (as on PostgreSQL), here on aiosqlite
    log = EventLog([DatabaseSink(jobs)])
    log.create("job_bench", JobMeta("job_bench", "ws", "research", "bench"))
    await log.flush()
    event = StatusEvent(message="step 1", session_id="s")
    start = time.process_time()
    for _ in range(events // batch):
        for _ in range(batch):
            log.append_event("job_bench", event)
        await log.flush()
    spent = (time.process_time() - start) / (events // batch * batch) * 1e6
    jobs.close()
    await engine.dispose()
    return spent


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        rounds = [await transactions(data, args.transactions) for _ in range(args.rounds)]
        print(f"one small transaction, process CPU, median of {args.rounds} rounds:")
        for label in rounds[0]:
            print(f"  {label:40s} {statistics.median(r[label] for r in rounds):8.1f} us")
        print("append_event + flush per event, SQLAlchemy/aiosqlite vs SQLiteBatchWriter:")
        for batch in (1, 10, 100, 1000):
            events = max(batch, min(2000, batch * 200))
            old, new = [], []
            for _ in range(args.rounds):
                old.append(await flushes(data, batch, events, writer=False))
                new.append(await flushes(data, batch, events, writer=True))
            o, n = statistics.median(old), statistics.median(new)
            print(
                f"  {batch:5d} events per flush: {o:8.1f} vs {n:8.1f} us per event "
                f"({o / n:.1f}x less)"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
