"""`qubitz apikey list|usage` against a migrated database in a temp data dir."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents.appkeys.ports import AppKey, PlanLimits, UsagePlan
from server.cli import main
from server.db.appkeys import SqlAppKeyRepository
from server.db.base import make_engine, make_sessionmaker
from server.db.migrate import upgrade

LIMITS = PlanLimits(rate_limit=1.0, burst_limit=1)


async def _seed(data_dir: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{(data_dir / 'qubitz.db').resolve()}")
    try:
        await upgrade(engine)
        repo = SqlAppKeyRepository(make_sessionmaker(engine))
        await repo.add_plan(UsagePlan("up_1", "ws", "p1", "app", LIMITS, dedicated=False))
        for key_id in ("k1", "k2"):
            await repo.add_key(
                AppKey(
                    key_id,
                    "ws",
                    "p1",
                    "app",
                    "local",
                    f"name-{key_id}",
                    "up_1",
                    False,
                    key_hash=key_id * 32,
                )
            )
        for _ in range(3):
            await repo.consume("ws", "k1", LIMITS, now=datetime.now(UTC))
        await repo.mark_deleted("ws", "k2")
    finally:
        await engine.dispose()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("QUBITZ_DATABASE_URL", raising=False)
    asyncio.run(_seed(tmp_path))
    return tmp_path


def test_list_shows_live_keys_with_usage(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """list prints the live keys (not values) with today's and total usage; --all adds deleted."""
    args = ["apikey", "list", "p1", "--workspace", "ws", "--data-dir", str(data_dir), "--json"]
    assert main(args) == 0
    keys = json.loads(capsys.readouterr().out)
    assert [(k["api_key_id"], k["usage"]["today"], k["usage"]["total"]) for k in keys] == [
        ("k1", 3, 3)
    ]
    assert main([*args, "--all"]) == 0
    keys = json.loads(capsys.readouterr().out)
    assert {k["api_key_id"]: k["status"] for k in keys} == {"k1": "active", "k2": "deleted"}


def test_usage_per_day_and_unknown_key(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """usage prints counts per day; another workspace's key is reported as not found (exit 1)."""
    base = ["apikey", "usage", "p1", "k1", "--data-dir", str(data_dir)]
    assert main([*base, "--workspace", "ws", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["total"] == 3
    assert report["days"] == [{"day": datetime.now(UTC).date().isoformat(), "count": 3}]
    assert main([*base, "--workspace", "other"]) == 2
    assert "no API key k1" in capsys.readouterr().err
