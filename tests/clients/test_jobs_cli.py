"""`qubitz jobs list|attach|cancel`, --detach, Ctrl-C while following, and the exit codes."""

from __future__ import annotations

import json
import os
import pty
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from agents.protocol import Scope
from tests.clients.test_cli import RESEARCH_ARGS, ROOT, qubitz
from tests.clients.test_python_client import chat_like
from tests.conftest import make_settings, mint
from tests.support.pipelines import as_wiring, default_pipelines, forever
from tests.support.server import RunningServer, free_port, run_server

pytestmark = pytest.mark.timeout(90)
JOB_LINE = re.compile(r"^job (job_\w+) on /(\w+)$", re.M)


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[RunningServer]:
    pipelines = {**default_pipelines(), "research": forever(), "chat": chat_like(False)}
    settings = make_settings(tmp_path / "data", QUBITZ_CONNECT_RATE_PER_MINUTE="6000")
    with run_server(settings, as_wiring(pipelines)) as server:
        yield server


def _env(srv: RunningServer, key: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUBITZ_")}
    env["QUBITZ_URL"] = srv.http
    if key:
        env["QUBITZ_API_KEY"] = key
    return env


def spawn(srv: RunningServer, *args: str, key: str, stdin: Any = subprocess.DEVNULL) -> Any:
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=_env(srv, key),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(stream: IO[str], pattern: re.Pattern[str], timeout: float = 20) -> str:
    """What `stream` printed up to the first match of `pattern` (fails after `timeout`).
    Reads the raw pipe, so a prompt without a newline is seen too."""
    seen = ""
    fd = stream.fileno()
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while not pattern.search(seen):
        if time.monotonic() > deadline or not selector.select(deadline - time.monotonic()):
            raise AssertionError(f"{pattern.pattern!r} not seen in {seen!r}")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise AssertionError(f"stream ended before {pattern.pattern!r}: {seen!r}")
        seen += chunk.decode()
    return seen


def job_state(srv: RunningServer, job_id: str, key: str) -> str:
    listed = qubitz(srv, "jobs", "list", "--json", key=key)
    assert listed.returncode == 0, listed.stderr
    return str(next(j["state"] for j in json.loads(listed.stdout) if j["job_id"] == job_id))


def wait_state(srv: RunningServer, job_id: str, key: str, state: str) -> None:
    deadline = time.monotonic() + 15
    while job_state(srv, job_id, key) != state:
        assert time.monotonic() < deadline, f"job {job_id} never became {state}"
        time.sleep(0.1)


def test_a_detached_job_is_listed_attached_to_and_cancelled(srv: RunningServer) -> None:
    """The issue's story: start with --detach (id printed, exit 0), find it with `jobs list`,
    re-attach (replay then live), cancel it from elsewhere: the attached command ends with the
    cancelled error event and exit 4, and the list shows it cancelled."""
    key = mint(srv, Scope.UCT)
    started = qubitz(srv, *RESEARCH_ARGS, "--detach", key=key)
    assert started.returncode == 0, started.stderr
    job_id = started.stdout.strip().splitlines()[-1]
    first = JOB_LINE.search(started.stderr)
    assert first is not None and first.groups() == (job_id, "research")
    assert started.stderr.index("job ") == 0  # the id comes first
    assert f"qubitz jobs attach {job_id}" in started.stderr

    listed = qubitz(srv, "jobs", "list", key=key)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(job_id))
    assert row.split()[1:3] == ["research", "running"]

    attach = spawn(srv, "jobs", "attach", job_id, "--json", key=key)
    try:
        replay = read_until(attach.stdout, re.compile(r'"seq": 3\b'))
        seqs = [json.loads(line)["seq"] for line in replay.splitlines()[:3]]
        assert seqs == [1, 2, 3]
        cancelled = qubitz(srv, "jobs", "cancel", job_id, key=key)
        assert cancelled.returncode == 0, cancelled.stderr
        assert f"cancel requested for {job_id}" in cancelled.stdout
        out, err = attach.communicate(timeout=20)
    finally:
        attach.kill()
    assert attach.returncode == 4, err
    last = json.loads(out.strip().splitlines()[-1])
    assert (last["type"], last["error"].lower()) == ("error", "cancelled")
    wait_state(srv, job_id, key, "cancelled")
    again = qubitz(srv, "jobs", "cancel", job_id, key=key)
    assert again.returncode == 2 and "already ended" in again.stderr


def test_attach_to_a_finished_job_replays_it_with_the_original_exit_code(
    srv: RunningServer,
) -> None:
    """Attach replays a finished job (same rendering) and exits 0; with --since past its end
    the job's state decides the exit code."""
    key = mint(srv, Scope.UCT)
    chat = qubitz(
        srv,
        "chat",
        "--report-url",
        "http://x/r.md",
        "-m",
        "hi",
        "--token-limit",
        "1000",
        "--json",
        key=key,
    )
    assert chat.returncode == 0, chat.stderr
    job_id = json.loads(chat.stdout.splitlines()[0])["job_id"]
    wait_state(srv, job_id, key, "succeeded")

    again = qubitz(srv, "jobs", "attach", job_id, "--json", key=key)
    assert again.returncode == 0, again.stderr
    assert again.stdout == chat.stdout
    tail = qubitz(srv, "jobs", "attach", job_id, "--since", "2", "--json", key=key)
    assert tail.returncode == 0, tail.stderr
    assert [json.loads(line)["seq"] for line in tail.stdout.splitlines()] == [3]
    past = qubitz(srv, "jobs", "attach", job_id, "--since", "99", key=key)
    assert past.returncode == 0, past.stderr


def test_ctrl_c_without_a_terminal_detaches_and_prints_the_attach_command(
    srv: RunningServer,
) -> None:
    key = mint(srv, Scope.UCT)
    proc = spawn(srv, *RESEARCH_ARGS, key=key)
    try:
        job_id = JOB_LINE.search(read_until(proc.stderr, JOB_LINE)).group(1)  # type: ignore[union-attr]
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    attach = re.search(rf"qubitz jobs attach {job_id} --since (\d+)", err)
    assert attach is not None and int(attach.group(1)) >= 1, err
    assert job_state(srv, job_id, key) == "running"
    assert qubitz(srv, "jobs", "cancel", job_id, key=key).returncode == 0


def test_ctrl_c_on_a_terminal_asks_and_cancel_ends_the_job(srv: RunningServer) -> None:
    """On a terminal, Ctrl-C asks once; answering 'c' cancels the job and the command ends like
    a cancelled job (exit 4)."""
    key = mint(srv, Scope.UCT)
    master, slave = pty.openpty()
    proc = spawn(srv, *RESEARCH_ARGS, key=key, stdin=slave)
    os.close(slave)
    try:
        job_id = JOB_LINE.search(read_until(proc.stderr, JOB_LINE)).group(1)  # type: ignore[union-attr]
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        read_until(proc.stderr, re.compile(r"\[c\]ancel it or \[d\]etach"), timeout=20)
        os.write(master, b"c\n")
        _out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
        os.close(master)
    assert proc.returncode == 4, err
    assert "cancel requested" in err
    wait_state(srv, job_id, key, "cancelled")


def test_deploy_no_wait_exits_once_the_deployment_started(tmp_path: Path) -> None:
    """`deploy --no-wait` prints the job id and exits 0 after `deployment_started`, while the
    deployment goes on (here: forever)."""
    from tests.support.pipelines import control_hub_pipelines

    async def deploy(request: Any, ctx: Any) -> Any:
        async for event in control_hub_pipelines()["deploy"](request, ctx):
            if event.type == "complete":
                break
            yield event
        async for event in forever()(request, ctx):
            yield event

    with run_server(
        make_settings(tmp_path), as_wiring({**default_pipelines(), "deploy": deploy})
    ) as s:
        key = mint(s, Scope.CONTROL_HUB)
        done = qubitz(s, "deploy", "p1", "--no-wait", key=key)
        assert done.returncode == 0, done.stderr
        job_id = done.stdout.strip().splitlines()[-1]
        assert job_state(s, job_id, key) == "running"


def test_jobs_commands_exit_codes(srv: RunningServer) -> None:
    """No key → 2; unknown key → 3; service unreachable → 5; an id that is not this key's
    (unknown, or a job of the other scope) → 2; a research key lists only research/chat jobs."""
    uct, ch = mint(srv, Scope.UCT), mint(srv, Scope.CONTROL_HUB)
    spec = qubitz(srv, "getspec", "--project", "p", "--name", "n", "--description", "d", key=ch)
    assert spec.returncode == 0, spec.stderr
    spec_job = JOB_LINE.search(spec.stderr).group(1)  # type: ignore[union-attr]

    assert qubitz(srv, "jobs", "list", key=None).returncode == 2
    assert qubitz(srv, "jobs", "list", key="qk_uct_" + "x" * 43).returncode == 3
    dead = f"http://127.0.0.1:{free_port()}"
    unreachable = qubitz(srv, "jobs", "list", "--url", dead, key=uct)
    assert unreachable.returncode == 5 and "cannot reach" in unreachable.stderr
    missing = qubitz(srv, "jobs", "attach", "job_nope", key=uct)
    assert missing.returncode == 2 and "no job" in missing.stderr
    assert qubitz(srv, "jobs", "attach", spec_job, key=uct).returncode == 2
    assert qubitz(srv, "jobs", "cancel", spec_job, key=uct).returncode == 2
    listed = json.loads(qubitz(srv, "jobs", "list", "--json", key=uct).stdout)
    assert spec_job not in {j["job_id"] for j in listed}
    mine = json.loads(qubitz(srv, "jobs", "list", "--json", "--route", "getspec", key=ch).stdout)
    assert [j["job_id"] for j in mine] == [spec_job]
