"""One way to run a deploy step's program: `run_process` (git, the local target, the synth check).

The program starts in its own session, so it and everything it starts form one process group.
On timeout, and when the caller is cancelled, the group gets SIGTERM, then SIGKILL after
`grace` seconds: a child that ignores SIGTERM, and any grandchild, end with it. When the program
exits by itself, whatever it left running in its group is killed too (a step's processes end
with the step). Output is read as it comes and capped: the last `max_output` bytes are kept.
The supervisor of long-running app processes stops them with the same `terminate_group`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

MAX_OUTPUT = 1 << 20  # bytes kept per stream (the tail)
GRACE = 2.0  # seconds between SIGTERM and SIGKILL
_READ = 1 << 16


@dataclass(frozen=True)
class ProcessResult:
    returncode: int  # negative: killed by that signal (always so when timed_out)
    output: str  # stdout, with stderr merged unless stderr="separate"
    errors: str = ""  # stderr when stderr="separate"
    timed_out: bool = False
    dropped: int = 0  # bytes of output dropped by the cap (from the start)

    def tail(self, lines: int, *, errors: bool = False) -> list[str]:
        text = self.errors if errors else self.output
        return [line for line in text.splitlines() if line.strip()][-lines:]


class _Tail:
    """The last `limit` bytes written, and how many came before them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        extra = len(self.data) - self.limit
        if extra > 0:
            del self.data[:extra]
            self.dropped += extra

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def signal_group(pid: int, sig: int) -> None:
    """`sig` to the process group `pid` leads (gone already: nothing to do)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def exited(proc: asyncio.subprocess.Process) -> int:
    """The process's exit code, as soon as it exits. (`Process.wait()` also waits for its pipes
    to close, which a grandchild left running may hold open.)"""
    waiting = asyncio.ensure_future(proc.wait())
    try:
        while proc.returncode is None:
            await asyncio.wait({waiting}, timeout=0.05)
    finally:
        waiting.cancel()
    return proc.returncode


async def terminate_group(proc: asyncio.subprocess.Process, grace: float = GRACE) -> None:
    """SIGTERM the process's group; SIGKILL the group after `grace` s; reap the process."""
    if proc.returncode is None:
        signal_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(exited(proc), grace)
    signal_group(proc.pid, signal.SIGKILL)  # the leader if it lingers, and what is left
    await exited(proc)


async def _drain(stream: asyncio.StreamReader | None, into: _Tail) -> None:
    if stream is None:
        return
    while chunk := await stream.read(_READ):
        into.add(chunk)


async def run_process(
    argv: Sequence[str],
    *,
    time_limit: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stderr: Literal["merge", "separate"] = "merge",
    grace: float = GRACE,
    max_output: int = MAX_OUTPUT,
) -> ProcessResult:
    """Run `argv` to its end or for `time_limit` seconds; its exit code and captured output.

    Raises OSError when the program cannot be started; re-raises CancelledError after the
    group is gone. A timeout is a result (`timed_out`), not an exception: callers word it.
    """
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if stderr == "merge" else asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    out, err = _Tail(max_output), _Tail(max_output)
    readers = [
        asyncio.create_task(_drain(proc.stdout, out)),
        asyncio.create_task(_drain(proc.stderr, err)),
    ]
    timed_out = False
    try:
        try:
            async with asyncio.timeout(time_limit):
                await exited(proc)
        except TimeoutError:
            timed_out = True
            await terminate_group(proc, grace)
    except BaseException:  # cancelled: the group must not outlive the caller
        await asyncio.shield(terminate_group(proc, grace))
        for reader in readers:
            reader.cancel()
        raise
    signal_group(proc.pid, signal.SIGKILL)  # anything the program left running in its group
    # The pipes close once the group is gone; a process that left the group holding them is
    # not waited for beyond the grace period.
    _done, pending = await asyncio.wait(readers, timeout=grace)
    for reader in pending:
        reader.cancel()
    assert proc.returncode is not None
    return ProcessResult(
        returncode=proc.returncode,
        output=out.text(),
        errors=err.text(),
        timed_out=timed_out,
        dropped=out.dropped + err.dropped,
    )
