"""The engine's SQLite system database (the embedded default) is written as the service's own:
WAL, synchronous=NORMAL, so a job start is not a rollback journal created, synced and deleted."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.support.replicas import SqliteReplica
from tests.support.wsclient import RESEARCH, Outcome, read_all

pytestmark = pytest.mark.anyio


async def test_the_engine_database_is_in_wal_mode_and_keeps_its_jobs(
    sqlite_replica: SqliteReplica,
) -> None:
    data_dir = sqlite_replica.data_dir
    out = Outcome()
    async with connect(sqlite_replica.ws()) as ws:
        await ws.send(json.dumps(RESEARCH))
        await read_all(ws, out)
    job_id = out.events[0]["job_id"]
    status = await _workflow_status(data_dir / "dbos.sqlite", job_id, until="SUCCESS")
    sqlite_replica.kill()
    with sqlite3.connect(data_dir / "dbos.sqlite") as db:
        (mode,) = db.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"
    assert status == "SUCCESS"
    assert await _workflow_status(data_dir / "dbos.sqlite", job_id) == "SUCCESS", "kept"


async def _workflow_status(path: Path, job_id: str, *, until: str | None = None) -> str | None:
    status = None
    for _ in range(100):
        with sqlite3.connect(path) as db:
            row = db.execute(
                "SELECT status FROM workflow_status WHERE workflow_uuid = ?", (job_id,)
            ).fetchone()
        status = row[0] if row else None
        if until is None or status == until:
            return status
        await asyncio.sleep(0.1)
    return status
