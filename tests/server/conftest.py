"""Fixtures of the server tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.base import make_engine
from server.db.migrate import upgrade


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on `db_url` (tests/conftest.py), migrated to the newest schema."""
    engine = make_engine(db_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()
