"""`qubitz spec ...`: operator view of a project's architecture spec versions.

    qubitz spec history PROJECT [--workspace WS] [--json]
    qubitz spec show PROJECT [--version N] [--workspace WS]

`history` lists every version (number, time, action, who, instruction) and marks the current and
the deployed one; `show` prints a version's spec as indented JSON (the current one by default).
The workspace defaults to "default", the workspace `qubitz keys create` uses by default.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.specs import SqlSpecStore

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
DEFAULT_WORKSPACE = "default"


def _out(stream: TextIO | None) -> TextIO:
    return stream if stream is not None else sys.stdout


async def history_command(
    args: argparse.Namespace, sessions: SessionFactory, *, out: TextIO | None = None
) -> int:
    """Print the project's versions, oldest first; 1 when the workspace has no such project."""
    store = SqlSpecStore(sessions)
    versions = await store.history(args.workspace, args.project)
    stream = _out(out)
    if not versions:
        print(f"no spec for project {args.project} in workspace {args.workspace}", file=sys.stderr)
        return 2  # not found: the usage/not-found exit code
    latest = versions[-1].version
    if args.json:
        rows: list[dict[str, Any]] = [
            {
                "version": v.version,
                "created_at": v.created_at.isoformat(),
                "action": v.action,
                "user_id": v.user_id,
                "instruction": v.instruction,
                "current": v.version == latest,
                "deployed": v.status == "deployed",
            }
            for v in versions
        ]
        print(json.dumps(rows, indent=2), file=stream)
        return 0
    print(f"{'VER':>4} {'CREATED (UTC)':19} {'ACTION':9} {'USER':14} {'MARK':17} INSTRUCTION",
          file=stream)  # fmt: skip
    for v in versions:
        marks = [m for m, on in (("current", v.version == latest),
                                 ("deployed", v.status == "deployed")) if on]  # fmt: skip
        instruction = (v.instruction or "").replace("\n", " ")
        if len(instruction) > 60:
            instruction = instruction[:59] + "…"
        print(
            f"{v.version:>4} {v.created_at.strftime('%Y-%m-%d %H:%M:%S'):19} {v.action:9} "
            f"{v.user_id[:14]:14} {','.join(marks) or '-':17} {instruction}",
            file=stream,
        )
    return 0


async def show_command(
    args: argparse.Namespace, sessions: SessionFactory, *, out: TextIO | None = None
) -> int:
    """Print one version's spec as JSON (the current version unless --version is given)."""
    store = SqlSpecStore(sessions)
    if args.version is None:
        version = await store.current(args.workspace, args.project)
    else:
        version = await store.get_version(args.workspace, args.project, args.version)
    if version is None:
        which = f"version {args.version} of " if args.version is not None else ""
        print(f"no spec {which}project {args.project} in workspace {args.workspace}",
              file=sys.stderr)  # fmt: skip
        return 2  # not found: the usage/not-found exit code
    print(
        f"# project {args.project} version {version.version} ({version.action}, {version.status})",
        file=sys.stderr,
    )
    print(json.dumps(version.spec_dict(), indent=2, ensure_ascii=False), file=_out(out))
    return 0


Command = Callable[..., Any]


def _run(command: Command) -> Callable[[argparse.Namespace], int]:
    """Adapt an async command to `qubitz`'s `func(args) -> int`, on the configured database."""

    def run(args: argparse.Namespace) -> int:
        async def go() -> int:
            from server.db.base import make_engine, make_sessionmaker
            from server.db.migrate import upgrade
            from server.settings import load_settings

            settings = load_settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            engine = make_engine(settings.resolved_database_url)
            try:
                await upgrade(engine)
                return int(await command(args, make_sessionmaker(engine)))
            finally:
                await engine.dispose()

        return asyncio.run(go())

    return run


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    spec = subparsers.add_parser("spec", help="architecture spec versions of a project")
    sub = spec.add_subparsers(dest="spec_cmd", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("project", help="project id")
        p.add_argument(
            "--workspace",
            default=DEFAULT_WORKSPACE,
            help=f"workspace the project belongs to (default {DEFAULT_WORKSPACE})",
        )
        p.add_argument("--data-dir", dest="data_dir", default=None, help="data directory")

    history = sub.add_parser("history", help="list a project's spec versions")
    common(history)
    history.add_argument("--json", action="store_true", help="print JSON")
    history.set_defaults(func=_run(history_command), async_func=history_command)

    show = sub.add_parser("show", help="print a spec version as JSON (default: current)")
    common(show)
    show.add_argument("--version", type=int, default=None, help="version number")
    show.set_defaults(func=_run(show_command), async_func=show_command)
