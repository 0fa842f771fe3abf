"""A job running when its server is killed is marked failed on restart, and resuming replays it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.support.server import free_port
from tests.support.wsclient import RESEARCH, Outcome, read_all, run

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


def _start(data_dir: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.serve_app", str(data_dir), str(port)],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not become ready")


def _key(data_dir: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "keys",
            "create",
            "--scope",
            "uct",
            "--data-dir",
            str(data_dir),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


async def test_killed_server_marks_running_job_failed_and_replays_it(tmp_path: Path) -> None:
    env = {**os.environ, "QUBITZ_REPLICA_ID": "replica-a"}
    data_dir = tmp_path / "data"
    key = _key(data_dir, env)
    port = free_port()
    proc = _start(data_dir, port, env)
    out = Outcome()
    try:
        async with connect(f"ws://127.0.0.1:{port}/research?api_key={key}") as ws:
            await ws.send(json.dumps(RESEARCH))
            await read_all(ws, out, limit=5)
            await asyncio.sleep(0.3)  # let the batched persistence write what was sent
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
    finally:
        proc.kill()
    job_id = out.events[0]["job_id"]
    port = free_port()
    proc = _start(data_dir, port, env)
    try:
        replay = await run(f"ws://127.0.0.1:{port}/research?api_key={key}&job_id={job_id}&since=0")
    finally:
        proc.terminate()
        proc.wait(10)
    assert [e["message"] for e in replay.events[:5]] == [e["message"] for e in out.events]
    assert replay.events[-1]["error"] == "SERVER_RESTARTED"
    assert "restarted" in replay.events[-1]["message"]
    assert replay.seqs() == list(range(1, len(replay.events) + 1))
    assert replay.close_code == 1011
