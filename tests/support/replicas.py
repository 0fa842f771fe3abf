"""qubitz servers as their own processes (tests.support.serve_app), for kill/restart tests.

The `sqlite_replica` fixture is one such server on its own data directory (SQLite, the
embedded default) with a key minted for it; tests/conftest.py registers this module as a plugin.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bench.bench_ws import mint
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]


def start_replica(
    data_dir: Path, port: int, env: dict[str, str], pipeline: str = "stepped"
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.serve_app", str(data_dir), str(port), pipeline],
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


def make_key(data_dir: Path, env: dict[str, str]) -> str:
    """A new `uct` key, by the CLI (which also creates the schema): bench's `mint`."""
    return mint(data_dir, "uct", env)


@dataclass
class SqliteReplica:
    """One server process on `data_dir`; `start()` again after `kill()` is a restart (a new
    port, the same database)."""

    data_dir: Path
    env: dict[str, str]
    key: str
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.port = free_port()
        self.proc = start_replica(self.data_dir, self.port, self.env)

    def ws(self, path: str = "/research", query: str = "") -> str:
        return f"ws://127.0.0.1:{self.port}{path}?api_key={self.key}{query}"

    def kill(self) -> None:
        """SIGKILL: the process ends between two instructions, nothing is cleaned up."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM: the server shuts down as it would in a rolling update."""
        self._end(signal.SIGTERM)

    def _end(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def sqlite_replica(tmp_path: Path) -> Iterator[SqliteReplica]:
    """A started server process on its own SQLite data directory, killed at the end."""
    env = {**os.environ, "QUBITZ_REPLICA_ID": "replica-a"}
    data_dir = tmp_path / "data"
    replica = SqliteReplica(data_dir, env, make_key(data_dir, env))
    replica.start()
    try:
        yield replica
    finally:
        replica.kill()
