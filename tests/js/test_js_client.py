"""Runs the JavaScript client's tests (`node --test`) against a real qubitz server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.protocol import Scope
from server.settings import Settings
from tests.conftest import make_settings, mint
from tests.console.fakes import console_wiring
from tests.support.server import RunningServer, run_server

HERE = Path(__file__).resolve().parent
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def node_command(files: list[Path]) -> list[str]:
    """`node --test`; Node 20 needs --experimental-websocket for the global WebSocket."""
    assert NODE is not None
    major = int(
        subprocess.run([NODE, "--version"], capture_output=True, text=True, check=True)
        .stdout.strip()
        .lstrip("v")
        .split(".")[0]
    )
    flags = ["--experimental-websocket"] if major < 22 else []
    return [NODE, *flags, "--test", "--test-reporter=spec", *map(str, files)]


@pytest.fixture
def js_server(settings: Settings) -> Iterator[RunningServer]:
    with run_server(settings, console_wiring()) as srv:
        yield srv


def counts(report: str) -> dict[str, int]:
    """pass/fail totals from the node test reporter's summary."""
    found = dict(re.findall(r"^\S+ (pass|fail) (\d+)$", report, re.MULTILINE))
    return {k: int(v) for k, v in found.items()}


def run_node(files: list[Path], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        node_command(files),
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **env},
        cwd=HERE,
    )


def test_js_client_against_server(js_server: RunningServer) -> None:
    """The JS client's node tests pass against a live server: streaming, typed errors, cancel,
    resume after a dropped connection without loss or duplicates, every endpoint."""
    env = {
        "QUBITZ_URL": js_server.http,
        "QUBITZ_UCT_KEY": mint(js_server, Scope.UCT),
        "QUBITZ_CH_KEY": mint(js_server, Scope.CONTROL_HUB),
    }
    result = run_node([HERE / "client.test.mjs"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert counts(result.stdout) == {"pass": 12, "fail": 0}, result.stdout


def test_js_client_rate_limited(tmp_path: Path) -> None:
    """Against a server allowing one connection per minute, the second job is Overloaded."""
    settings = make_settings(
        tmp_path / "data", QUBITZ_CONNECT_RATE_PER_MINUTE="1", QUBITZ_CONNECT_BURST="1"
    )
    with run_server(settings, console_wiring()) as srv:
        env = {"QUBITZ_URL": srv.http, "QUBITZ_UCT_KEY": mint(srv, Scope.UCT)}
        result = run_node([HERE / "limits.test.mjs"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert counts(result.stdout) == {"pass": 1, "fail": 0}, result.stdout


def test_markdown_renderer() -> None:
    """The console's Markdown renderer escapes HTML, drops unsafe links, renders the syntax."""
    result = run_node([HERE / "markdown.test.mjs"], {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert counts(result.stdout)["fail"] == 0
    assert counts(result.stdout)["pass"] >= 5
