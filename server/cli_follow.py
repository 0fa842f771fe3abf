"""Following a job from the command line: job id first, --detach, Ctrl-C, exit codes.

Exit codes (every client command, `jobs ...` and `keys ...`):

    0    success (or detached with --detach / --no-wait once the job started)
    2    usage error, refused request, or no such job / key
    3    authentication or scope
    4    the job failed (error event), or was cancelled
    5    connection lost, or the service cannot be reached
    130  interrupted with Ctrl-C and detached: the job goes on (the attach command is printed)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import getpass
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TextIO

from qubitz_client import (
    AuthError,
    ConnectionLost,
    Event,
    JobFailed,
    JobStream,
    QubitzClient,
    QubitzClientError,
    ValidationError,
)

from server.cli_render import Renderer

EXIT_OK, EXIT_USAGE, EXIT_AUTH, EXIT_FAILED, EXIT_CONNECTION = 0, 2, 3, 4, 5
EXIT_INTERRUPTED = 130

DetachWhen = Callable[[Event], bool]
CancelJob = Callable[[str], Awaitable[None]]
FinishedState = Callable[[str], Awaitable[str | None]]


def attach_command(job_id: str, since: int) -> str:
    return f"qubitz jobs attach {job_id} --since {since}"


@dataclass
class FollowOptions:
    """How to follow one job. `detach_when` ends the command (exit 0) once it returns True for
    an event; `cancel` cancels the job by id (used when Ctrl-C is answered with 'cancel');
    `job_state` gives a finished job's state when the stream ends without its final event."""

    client: QubitzClient
    detach_when: DetachWhen | None = None
    cancel: CancelJob | None = None
    job_state: FinishedState | None = None
    announce: bool = True
    interactive: bool = field(default_factory=lambda: sys.stdin.isatty())
    ask: Callable[[str], str] = field(default_factory=lambda: _ask_on_stderr)
    err: TextIO = field(default_factory=lambda: sys.stderr)


def _ask_on_stderr(prompt: str) -> str:
    """Ask on stderr (stdout may be piped to a file), read the answer from stdin."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line


class _Detached(Exception):
    """Raised inside the event loop of `_drive` to stop following (detach)."""


async def _drive(stream: JobStream, renderer: Renderer, opts: FollowOptions) -> int:
    announced = not opts.announce
    try:
        with renderer:
            async for event in stream:
                if not announced and stream.job_id:
                    announced = True
                    print(f"job {stream.job_id} on /{stream.endpoint}", file=opts.err, flush=True)
                renderer.show(event)
                if opts.detach_when is not None and stream.job_id and opts.detach_when(event):
                    raise _Detached
        await stream.result()
        return EXIT_OK
    except _Detached:
        assert stream.job_id is not None
        if renderer.json_lines:
            print(json.dumps({"job_id": stream.job_id, "detached": True}), flush=True)
        else:
            print(stream.job_id, flush=True)
        print(
            f"detached; the job goes on. Follow it with: {attach_command(stream.job_id, 0)}",
            file=opts.err,
        )
        return EXIT_OK
    except AuthError as exc:
        print(f"qubitz: authentication failed: {exc.message}", file=opts.err)
        return EXIT_AUTH
    except ValidationError as exc:
        print(f"qubitz: request refused: {exc.message}", file=opts.err)
        return EXIT_USAGE
    except JobFailed as exc:
        if exc.code == "incomplete" and stream.job_id and opts.job_state is not None:
            # Attached after the terminal event (since >= its seq): the job's state decides.
            state = await opts.job_state(stream.job_id)
            if state == "succeeded":
                return EXIT_OK
            if state is not None:
                print(f"qubitz: job {stream.job_id} ended: {state}", file=opts.err)
                return EXIT_FAILED
        print(f"qubitz: job failed ({exc.code}): {exc.message}", file=opts.err)
        return EXIT_FAILED
    except ConnectionLost as exc:
        print(f"qubitz: {exc.message}", file=opts.err)
        return EXIT_CONNECTION
    except QubitzClientError as exc:
        print(f"qubitz: {exc.message}", file=opts.err)
        return EXIT_CONNECTION


async def follow(stream: JobStream, renderer: Renderer, opts: FollowOptions) -> int:
    """Render the job's events until it ends; Ctrl-C asks once: cancel the job, or detach."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    interrupted = False

    def on_sigint() -> None:
        nonlocal interrupted
        interrupted = True
        task.cancel()

    handler_installed = False
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, on_sigint)
        handler_installed = True
    try:
        return await _drive(stream, renderer, opts)
    except asyncio.CancelledError:
        if not interrupted:
            raise
        task.uncancel()
    finally:
        if handler_installed:
            loop.remove_signal_handler(signal.SIGINT)
    return await _interrupted(stream, renderer, opts)


async def _interrupted(stream: JobStream, renderer: Renderer, opts: FollowOptions) -> int:
    job_id = stream.job_id
    print("", file=opts.err)
    if job_id is None:
        print("qubitz: interrupted before the job started", file=opts.err)
        return EXIT_INTERRUPTED
    choice = "d"
    if opts.interactive and opts.cancel is not None:
        try:
            answer = opts.ask(f"Job {job_id} is still running. [c]ancel it or [d]etach? [d] ")
        except (EOFError, KeyboardInterrupt):
            answer = "d"
        choice = (answer.strip().lower() or "d")[:1]
    if choice == "c" and opts.cancel is not None:
        await opts.cancel(job_id)
        print(f"cancel requested for {job_id}; waiting for it to end", file=opts.err)
        resumed = opts.client.resume(stream.endpoint, job_id, stream.last_seq)
        return await _drive(resumed, renderer, dataclasses.replace(opts, announce=False))
    print(
        f"detached from {job_id}; it keeps running. Re-attach with: "
        f"{attach_command(job_id, stream.last_seq)}",
        file=opts.err,
    )
    return EXIT_INTERRUPTED


def common_flags(p: argparse.ArgumentParser) -> None:
    """--url, --api-key, --user-id, --json (QUBITZ_URL, QUBITZ_API_KEY, QUBITZ_USER_ID)."""
    p.add_argument(
        "--url",
        default=os.environ.get("QUBITZ_URL", "http://127.0.0.1:8008"),
        help="service base URL (QUBITZ_URL)",
    )
    p.add_argument(
        "--api-key", default=os.environ.get("QUBITZ_API_KEY"), help="service key (QUBITZ_API_KEY)"
    )
    p.add_argument("--user-id", default=os.environ.get("QUBITZ_USER_ID") or getpass.getuser())
    p.add_argument("--json", action="store_true", help="print events as JSON lines")
