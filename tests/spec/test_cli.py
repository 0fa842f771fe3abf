"""`qubitz spec history|show`: versions of a project, per workspace, from the configured DB."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from agents.spec.validation import canonical_json, validate_spec
from server.cli_spec import history_command, register, show_command
from server.db.base import make_engine, make_sessionmaker
from server.db.specs import SqlSpecStore
from tests.spec.helpers import spec_dict


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["spec", *argv])


@asynccontextmanager
async def seeded(tmp_path: Path) -> AsyncIterator[SqlSpecStore]:
    from server.db.base import Base

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    store = SqlSpecStore(make_sessionmaker(engine))
    for action, ids in (("generate", ("a",)), ("update", ("a", "b"))):
        await store.append(
            "ws", "proj", user_id="alice", action=action,  # type: ignore[arg-type]
            instruction=f"{action} it", spec_json=canonical_json(validate_spec(spec_dict(*ids))),
        )  # fmt: skip
    await store.mark_deployed("ws", "proj", 1)
    try:
        yield store
    finally:
        await engine.dispose()


def test_history_lists_versions_with_current_and_deployed_marks(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with seeded(tmp_path) as store:
            out = io.StringIO()
            args = parse("history", "proj", "--workspace", "ws", "--json")
            assert await history_command(args, store._sessions, out=out) == 0
            rows = json.loads(out.getvalue())
            assert [(r["version"], r["action"], r["current"], r["deployed"]) for r in rows] == [
                (1, "generate", False, True),
                (2, "update", True, False),
            ]
            text = io.StringIO()
            args = parse("history", "proj", "--workspace", "ws")
            assert await history_command(args, store._sessions, out=text) == 0
            lines = text.getvalue().splitlines()
            assert "deployed" in lines[1]
            assert "current" in lines[2]
            assert "update it" in lines[2]

    asyncio.run(scenario())


def test_show_prints_current_or_requested_version_and_hides_other_workspaces(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with seeded(tmp_path) as store:
            out = io.StringIO()
            args = parse("show", "proj", "--workspace", "ws")
            assert await show_command(args, store._sessions, out=out) == 0
            assert list(json.loads(out.getvalue())["agents_config"]) == ["a", "b"]
            out = io.StringIO()
            args = parse("show", "proj", "--workspace", "ws", "--version", "1")
            assert await show_command(args, store._sessions, out=out) == 0
            assert list(json.loads(out.getvalue())["agents_config"]) == ["a"]
            for argv in (("show", "proj", "--workspace", "other"), ("history", "proj")):
                args = parse(*argv)
                out = io.StringIO()
                assert await args.async_func(args, store._sessions, out=out) == 2
                assert out.getvalue() == ""
            args = parse("show", "proj", "--workspace", "ws", "--version", "9")
            assert await show_command(args, store._sessions) == 2

    asyncio.run(scenario())


def test_qubitz_main_runs_spec_commands_on_the_data_dir_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end through `qubitz spec ...`: migrations applied, then the stored versions shown."""
    from server.cli import main

    monkeypatch.delenv("QUBITZ_DATABASE_URL", raising=False)
    data_dir = tmp_path / "data"
    assert main(["spec", "history", "proj", "--data-dir", str(data_dir)]) == 2

    async def add() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{data_dir / 'qubitz.db'}")
        try:
            await SqlSpecStore(make_sessionmaker(engine)).append(
                "default", "proj", user_id="bob", action="generate", instruction="uc",
                spec_json=canonical_json(validate_spec(spec_dict("solo"))),
            )  # fmt: skip
        finally:
            await engine.dispose()

    asyncio.run(add())
    capsys.readouterr()
    assert main(["spec", "show", "proj", "--data-dir", str(data_dir)]) == 0
    assert list(json.loads(capsys.readouterr().out)["agents_config"]) == ["solo"]
