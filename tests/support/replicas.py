"""qubitz servers as their own processes (tests.support.serve_app), for kill/restart tests."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

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
    command = ["keys", "create", "--scope", "uct", "--data-dir", str(data_dir)]
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]
