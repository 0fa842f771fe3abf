"""Builds each endpoint's pipeline from the settings and the lifespan's infrastructure."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from agents.pipeline import Pipeline
from server.app import Infra


@contextlib.asynccontextmanager
async def wire_pipelines(infra: Infra) -> AsyncIterator[dict[str, Pipeline]]:
    pipelines: dict[str, Pipeline] = {}
    yield pipelines
