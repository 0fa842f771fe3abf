"""A job's events are stored as blocks (one row per job per flush): every reader gets the events
one by one, in order, exactly as they were appended; a retried flush never loses or repeats one;
the migration carries stored events over and back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.base import make_sessionmaker
from server.db.jobs import JobRepository, blocks_of
from server.db.migrate import alembic_config
from server.eventlog import EventLog, JobEnd, JobMeta
from server.sinks import DatabaseSink

pytestmark = pytest.mark.anyio


async def _rows(engine: AsyncEngine, job_id: str) -> list[tuple[int, int]]:
    async with engine.connect() as conn:
        got = await conn.execute(
            text(
                "SELECT first_seq, last_seq FROM job_event_blocks WHERE job_id = :j "
                "ORDER BY first_seq"
            ),
            {"j": job_id},
        )
        return [(int(a), int(b)) for a, b in got]


async def test_each_flush_is_one_block_and_readers_see_single_events(engine: AsyncEngine) -> None:
    jobs = JobRepository(make_sessionmaker(engine))
    log = EventLog([DatabaseSink(jobs)])
    log.create("job_blk", JobMeta("job_blk", "ws", "research", "r1"))
    log.create("job_two", JobMeta("job_two", "ws", "research", "r1"))
    messages = ["one", "two\nlines", 'quote " and \\ slash', "four", "five", "six", "seven"]
    for flush in ([0, 1, 2], [3], [4, 5, 6]):
        for i in flush:
            log.append("job_blk", {"type": "status", "message": messages[i]})
            log.append("job_two", {"type": "status", "message": f"other {i}"})
        await log.flush()
    log.finish("job_blk", JobEnd("succeeded", 1000))
    await log.flush()

    assert await _rows(engine, "job_blk") == [(1, 3), (4, 4), (5, 7)]
    events = await jobs.events("job_blk", 0)
    assert [seq for seq, _ in events] == list(range(1, 8))
    assert [json.loads(t)["message"] for _, t in events] == messages  # newlines kept, escaped
    assert [json.loads(t)["seq"] for _, t in events] == list(range(1, 8))
    assert [seq for seq, _ in await jobs.events("job_blk", 2)] == [3, 4, 5, 6, 7]  # mid-block
    assert [seq for seq, _ in await jobs.events_page("job_blk", 1, 3)] == [2, 3, 4]
    assert [seq for seq, _ in await jobs.tail("job_blk", 2)] == [7, 6]
    assert [seq for seq, _ in await jobs.tail("job_blk", 50)] == list(range(7, 0, -1))
    assert await jobs.max_seq("job_blk") == 7
    record = await jobs.get("job_blk", "ws")
    assert record is not None and record.last_seq == 7
    assert [json.loads(t)["message"] for _, t in await jobs.events("job_two", 0)] == [
        f"other {i}" for i in range(7)
    ]


async def test_a_block_written_again_with_more_events_replaces_it_never_fewer(
    engine: AsyncEngine,
) -> None:
    """A flush that committed but reported failure is retried with what arrived meanwhile:
    the bigger block wins; an older, smaller copy arriving late changes nothing."""
    jobs = JobRepository(make_sessionmaker(engine))
    await jobs.write_batch([JobMeta("job_re", "ws", "chat", "r1")], [], [])
    row = '{"type":"status","message":"m%d","seq":%d}'
    first = [("job_re", q, row % (q, q)) for q in (1, 2)]
    more = [("job_re", q, row % (q, q)) for q in (1, 2, 3, 4)]
    await jobs.write_batch([], first, [])
    await jobs.write_batch([], more, [])
    await jobs.write_batch([], first, [])
    assert await _rows(engine, "job_re") == [(1, 4)]
    assert [seq for seq, _ in await jobs.events("job_re", 0)] == [1, 2, 3, 4]


def test_blocks_of_groups_each_jobs_consecutive_events() -> None:
    events = [("a", 1, "x1"), ("b", 5, "y5"), ("a", 2, "x2"), ("b", 6, "y6"), ("a", 4, "x4")]
    assert blocks_of(events) == [
        ("a", 1, 2, "x1\nx2"),  # a gap (3 missing) starts a new block
        ("a", 4, 4, "x4"),
        ("b", 5, 6, "y5\ny6"),
    ]


def test_the_migration_carries_stored_events_over_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    cfg = alembic_config(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")  # env.py runs async
    command.upgrade(cfg, "0004")
    from sqlalchemy import create_engine

    sync = create_engine(url)
    with sync.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO jobs (id, workspace_id, endpoint, owner, state, last_seq, "
                "created_at) VALUES ('job_old', 'ws', 'chat', 'r', 'succeeded', 2, "
                "'2026-11-30 00:00:00')"
            )
        )
        conn.execute(
            text("INSERT INTO job_events (job_id, seq, payload) VALUES (:j, :s, :p)"),
            [
                {"j": "job_old", "s": 1, "p": '{"seq":1}'},
                {"j": "job_old", "s": 2, "p": '{"seq":2}'},
            ],
        )
    command.upgrade(cfg, "0005")
    with sync.connect() as conn:
        blocks = list(
            conn.execute(text("SELECT first_seq, last_seq, payload FROM job_event_blocks"))
        )
    assert sorted(tuple(b) for b in blocks) == [(1, 1, '{"seq":1}'), (2, 2, '{"seq":2}')]
    with sync.begin() as conn:  # a block of two, as the new code writes them
        conn.execute(text("DELETE FROM job_event_blocks"))
        conn.execute(
            text("INSERT INTO job_event_blocks VALUES ('job_old', 1, 2, :p)"),
            {"p": '{"seq":1}\n{"seq":2}'},
        )
    command.downgrade(cfg, "0004")
    with sync.connect() as conn:
        back = list(conn.execute(text("SELECT seq, payload FROM job_events ORDER BY seq")))
    sync.dispose()
    assert [tuple(r) for r in back] == [(1, '{"seq":1}'), (2, '{"seq":2}')]
