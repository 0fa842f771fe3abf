"""run_process: timeout and cancellation end the whole process group, output is capped.

The programs are real: a Python child that starts a grandchild, both ignoring SIGTERM, both
writing their pid to a file. "Gone" is checked with os.kill(pid, 0) (a zombie counts as gone:
only its parent or init can reap it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.deploy.process import run_process
from agents.deploy.targets import git as git_ops
from agents.deploy.targets.base import DeployError
from agents.deploy.targets.local import _run as local_run

pytestmark = pytest.mark.anyio

# The child writes its pid, starts a grandchild (same group) running the same script, and
# sleeps (or exits at once with "exit"); both ignore SIGTERM.
CHILD = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pids, mode = sys.argv[1], sys.argv[2]
open(pids, "a").write(f"{os.getpid()}\\n")
if mode == "child":
    subprocess.Popen([sys.executable, "-c", sys.argv[3], pids, "grandchild", sys.argv[3]])
    print("started", flush=True)
    if len(sys.argv) > 4 and sys.argv[4] == "exit":
        while len(open(pids).read().split()) < 2:  # the grandchild is up
            time.sleep(0.01)
        sys.exit(0)  # leaves the grandchild running in its group
time.sleep(600)
"""


@pytest.fixture(autouse=True)
def _no_leftovers(tmp_path: Path) -> Iterator[None]:
    """Whatever the code under test left running is killed after the test (not before)."""
    yield
    pids = tmp_path / "pids"
    for pid in (int(x) for x in (pids.read_text().split() if pids.exists() else [])):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead, only not yet reaped
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _pids(path: Path, count: int, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            pids = [int(x) for x in path.read_text().split()]
            if len(pids) >= count:
                return pids
        time.sleep(0.05)
    raise AssertionError(
        f"the processes did not start: {path.read_text() if path.exists() else ''}"
    )


async def _all_gone(pids: list[int], within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while any(_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def _family(tmp_path: Path, *extra: str) -> tuple[list[str], Path]:
    pids = tmp_path / "pids"
    return [sys.executable, "-c", CHILD, str(pids), "child", CHILD, *extra], pids


async def test_timeout_kills_the_child_and_its_grandchild_that_ignore_sigterm(
    tmp_path: Path,
) -> None:
    argv, pids_file = _family(tmp_path)
    done = await asyncio.wait_for(run_process(argv, time_limit=1.5, grace=0.3), 30)
    pids = _pids(pids_file, 2)
    assert done.timed_out and done.returncode < 0
    assert "started" in done.output
    assert await _all_gone(pids), [p for p in pids if _alive(p)]


async def test_cancellation_kills_the_group_before_it_propagates(tmp_path: Path) -> None:
    argv, pids_file = _family(tmp_path)
    task = asyncio.create_task(run_process(argv, time_limit=60, grace=0.3))
    pids = await asyncio.to_thread(_pids, pids_file, 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _all_gone(pids, 1.0), [p for p in pids if _alive(p)]


async def test_what_a_finished_program_left_in_its_group_is_killed(tmp_path: Path) -> None:
    argv, pids_file = _family(tmp_path, "exit")
    done = await asyncio.wait_for(run_process(argv, time_limit=60, grace=0.5), 30)
    pids = _pids(pids_file, 2)
    assert not done.timed_out and done.returncode == 0
    assert await _all_gone(pids)


async def test_output_is_capped_to_its_tail_and_stderr_can_be_separate() -> None:
    code = "import sys; print('x' * 100000); print('END'); sys.stderr.write('boom'); sys.exit(3)"
    done = await run_process([sys.executable, "-c", code], time_limit=30, max_output=1000)
    assert done.returncode == 3
    assert len(done.output.encode()) <= 1000 and done.output.endswith("boom")
    assert done.dropped > 0
    separate = await run_process(
        [sys.executable, "-c", code], time_limit=30, stderr="separate", max_output=1000
    )
    assert separate.output.rstrip().endswith("END") and separate.errors == "boom"


async def test_a_missing_program_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await run_process([str(tmp_path / "no-such-program")], time_limit=5)


async def test_the_local_target_step_kills_its_grandchildren_on_timeout(tmp_path: Path) -> None:
    argv, pids_file = _family(tmp_path)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    # bounded: a runner that waits for the grandchild's pipe would take its 600 s
    rc, out = await asyncio.wait_for(local_run(argv, cwd=tmp_path, env=env, time_limit=1.5), 30)
    pids = _pids(pids_file, 2)
    assert rc == -1 and out[-1] == "timed out after 1.5s"
    assert await _all_gone(pids), "a test runner's children must not outlive the deploy step"


async def test_a_git_command_that_hangs_is_killed_with_what_it_started(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    # a git alias runs through the shell: git → sh → python (which ignores SIGTERM)
    hang = f"!{sys.executable} -c '{CHILD}' {pids_file} child '{CHILD}'"
    if "'" in CHILD:
        pytest.fail("the script must not contain single quotes")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    with pytest.raises(DeployError, match="timed out"):
        await asyncio.wait_for(
            git_ops.git("-c", f"alias.hang={hang}", "hang", cwd=tmp_path, env=env, time_limit=2),
            30,
        )
    pids = _pids(pids_file, 2)
    assert await _all_gone(pids), [p for p in pids if _alive(p)]
