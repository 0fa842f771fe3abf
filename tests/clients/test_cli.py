"""The `qubitz` client commands: output, --json event lines, and exit codes CI relies on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agents.errors import PipelineFailed
from agents.protocol import Scope
from tests.clients.test_python_client import research_like
from tests.conftest import make_settings, mint
from tests.support.pipelines import as_wiring, default_pipelines, raising
from tests.support.server import RunningServer, run_server

ROOT = Path(__file__).resolve().parents[2]


def qubitz(srv: RunningServer, *args: str, key: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUBITZ_")}
    env["QUBITZ_URL"] = srv.http
    if key:
        env["QUBITZ_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


RESEARCH_ARGS = (
    "research",
    "--prompt",
    "AI",
    "--company",
    "Acme",
    "--company-url",
    "https://acme.example/",
)


def test_research_prints_urls_and_exits_0(tmp_path: Path) -> None:
    pipelines = {**default_pipelines(), "research": research_like(2, 0)}
    with run_server(make_settings(tmp_path), as_wiring(pipelines)) as srv:
        done = qubitz(srv, *RESEARCH_ARGS, key=mint(srv, Scope.UCT))
    assert done.returncode == 0, done.stderr
    assert "use_cases_md_url: http://x/use_cases_md_url" in done.stdout


def test_json_mode_prints_one_event_per_line(tmp_path: Path) -> None:
    pipelines = {**default_pipelines(), "research": research_like(2, 0)}
    with run_server(make_settings(tmp_path), as_wiring(pipelines)) as srv:
        done = qubitz(srv, *RESEARCH_ARGS, "--json", key=mint(srv, Scope.UCT))
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert events[-1]["type"] == "complete"


def test_exit_codes(tmp_path: Path) -> None:
    failing = raising(PipelineFailed("the writer failed", step="write"))
    with run_server(
        make_settings(tmp_path), as_wiring({**default_pipelines(), "research": failing})
    ) as srv:
        uct = mint(srv, Scope.UCT)
        no_key = qubitz(srv, *RESEARCH_ARGS, key=None)
        wrong_scope = qubitz(srv, "deploy", "p1", key=uct)
        failed = qubitz(srv, *RESEARCH_ARGS, key=uct)
    assert no_key.returncode == 2 and "no API key" in no_key.stderr
    assert wrong_scope.returncode == 3 and "authentication failed" in wrong_scope.stderr
    assert failed.returncode == 4 and "the writer failed" in failed.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("deploy", "p1"),
        ("apikey", "create", "p1"),
        ("apikey", "delete", "p1", "k1"),
        ("getspec", "--project", "p", "--name", "n", "--description", "d"),
        ("updatespec", "--project", "p", "--instruction", "x"),
    ],
)
def test_control_hub_commands_succeed(server: RunningServer, args: tuple[str, ...]) -> None:
    done = qubitz(server, *args, key=mint(server, Scope.CONTROL_HUB))
    assert done.returncode == 0, done.stderr
