"""The engine's SQLite system database (the embedded default) is written as the service's own:
WAL, synchronous=NORMAL, so a job start is not a rollback journal created, synced and deleted."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.support.replicas import make_key, start_replica
from tests.support.server import free_port
from tests.support.wsclient import RESEARCH, Outcome, read_all

pytestmark = pytest.mark.anyio


async def test_the_engine_database_is_in_wal_mode_and_keeps_its_jobs(tmp_path: Path) -> None:
    env = {**os.environ, "QUBITZ_REPLICA_ID": "replica-wal"}
    data_dir = tmp_path / "data"
    key = make_key(data_dir, env)
    port = free_port()
    proc = start_replica(data_dir, port, env)
    out = Outcome()
    try:
        async with connect(f"ws://127.0.0.1:{port}/research?api_key={key}") as ws:
            await ws.send(json.dumps(RESEARCH))
            await read_all(ws, out)
        job_id = out.events[0]["job_id"]
        status = await _workflow_status(data_dir / "dbos.sqlite", job_id, until="SUCCESS")
    finally:
        proc.kill()
        proc.wait(10)
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
