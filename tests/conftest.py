"""Shared fixtures: settings in a temporary data dir, a real server, keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.protocol import Scope
from server.settings import Settings, load_settings
from tests.support.pipelines import as_wiring, default_pipelines
from tests.support.server import RunningServer, run_server

# Any real network model call is an error unless a test opts in (allow_model_requests).
pytest_plugins = ["tests.support.no_network_models", "tests.support.replicas"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow-marked tests first (stable otherwise): `make test` runs files on two workers
    (pytest-xdist, --dist loadfile), and a long file started last would run alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_settings(data_dir: Path, **env_overrides: str) -> Settings:
    env = {
        "QUBITZ_KEEPALIVE_INTERVAL": "15",
        "QUBITZ_SHUTDOWN_GRACE": "0.5",
        "QUBITZ_LOCAL_MODEL": "tiny",
    }
    db = os.environ.get("QUBITZ_TEST_DATABASE_URL")
    if db and env_overrides.pop("USE_TEST_DB", "") == "1":
        env["QUBITZ_DATABASE_URL"] = db
    env.update(env_overrides)
    return load_settings(env, data_dir=data_dir)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def server(settings: Settings) -> Iterator[RunningServer]:
    with run_server(settings, as_wiring(default_pipelines())) as srv:
        yield srv


def mint(srv: RunningServer, scope: Scope, workspace: str = "ws1") -> str:
    key, _record = srv.call(srv.services.keys.create(scope, workspace_id=workspace))
    return str(key)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database on QUBITZ_TEST_DATABASE_URL's server, dropped afterwards."""
    base = os.environ.get("QUBITZ_TEST_DATABASE_URL")
    if not base:
        pytest.skip("QUBITZ_TEST_DATABASE_URL is not set")
    import asyncio
    import uuid

    import asyncpg

    name = f"qubitz_{uuid.uuid4().hex[:12]}"
    plain = base.replace("postgresql+asyncpg://", "postgresql://")

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(plain)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test once on a SQLite file and once on a fresh PostgreSQL database."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("QUBITZ_TEST_REDIS_URL")
    if not url:
        pytest.skip("QUBITZ_TEST_REDIS_URL is not set")
    return url
