"""The two values that pass between the app's lifespan and the wiring, one way each.

    server/app.py ──Core──▶ wiring (server/wiring.py, or a test's) ──Wired──▶ server/app.py

The lifespan builds `Core` (database, metrics, Redis), hands it to the wiring, and gets back
`Wired`: the endpoints' pipelines and whatever the wiring built around them (routes, the
artifact store, start hooks). Both are frozen; nothing is filled in afterwards. app.py imports
this module and calls the wiring it is given; the wiring imports this module, never app.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.routing import BaseRoute

from agents.artifacts import ArtifactStore
from agents.budget import DailyBudget
from agents.pipeline import Pipeline
from server.metrics import Metrics
from server.settings import Settings
from server.tracing import NO_TRACING, Tracing


class ServedArtifacts(ArtifactStore, Protocol):
    """An artifact store that can mint a fresh URL for a stored key (the read API's links)."""

    def url_for(self, key: str) -> str: ...


@dataclass(frozen=True)
class Core:
    """What the lifespan builds before the pipelines are wired."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    metrics: Metrics
    redis: Any = None  # redis.asyncio client when QUBITZ_REDIS_URL is set
    tracing: Tracing = NO_TRACING  # spans per job, step and LLM call when OTEL_* is set
    budget: DailyBudget | None = None  # the workspaces' daily token budget (agents/budget.py)


@dataclass(frozen=True)
class Wired:
    """What a wiring returns: the endpoints' pipelines and what it built for them."""

    pipelines: Mapping[str, Pipeline]
    routes: Sequence[BaseRoute] = ()  # artifacts, gateway, model proxy, console
    artifacts: ServedArtifacts | None = None  # the read API's fresh artifact URLs
    starters: Sequence[Callable[[], Awaitable[None]]] = ()  # run once the service is up
    # pruned by retention with the jobs (the local deploy target's old checkouts)
    pruners: Sequence[Callable[[float], Awaitable[list[Path]]]] = ()


Wiring = Callable[[Core], contextlib.AbstractAsyncContextManager[Wired]]
