"""Tokens per UTC day per workspace: the operator's budget that no session id resets.

The per-session budget (`token_limit`) belongs to one `session_id`, which the client picks; a
new id starts a new session. The workspace's daily budget counts every chat turn of the
workspace, whatever its session, and is set by the operator only (ChatConfig
`workspace_daily_tokens`, QUBITZ_WORKSPACE_DAILY_TOKENS). `WorkspaceTokenUsage` is the port;
server/db/token_usage.py implements it on SQL, `MemoryWorkspaceTokenUsage` in process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Protocol


def utc_today() -> date:
    return datetime.now(UTC).date()


class WorkspaceTokenUsage(Protocol):
    async def used(self, workspace_id: str, day: date) -> int:
        """Tokens the workspace used on `day` (UTC)."""
        ...

    async def add(self, workspace_id: str, day: date, tokens: int) -> int:
        """Add `tokens` to the workspace's `day` atomically; the new total."""
        ...


class MemoryWorkspaceTokenUsage:
    def __init__(self) -> None:
        self._used: dict[tuple[str, date], int] = {}
        self._lock = asyncio.Lock()

    async def used(self, workspace_id: str, day: date) -> int:
        return self._used.get((workspace_id, day), 0)

    async def add(self, workspace_id: str, day: date, tokens: int) -> int:
        async with self._lock:
            total = self._used.get((workspace_id, day), 0) + tokens
            self._used[(workspace_id, day)] = total
            return total


class DailyBudget:
    """The workspace's daily limit over a usage store (None limit: no daily limit)."""

    def __init__(
        self,
        usage: WorkspaceTokenUsage,
        limit: int | None,
        *,
        today: Callable[[], date] = utc_today,
    ) -> None:
        self._usage = usage
        self.limit = limit
        self._today = today

    async def left(self, workspace_id: str) -> int | None:
        """Tokens left today, or None without a daily limit."""
        if self.limit is None:
            return None
        return max(0, self.limit - await self._usage.used(workspace_id, self._today()))

    async def spend(self, workspace_id: str, tokens: int) -> None:
        if tokens > 0:
            await self._usage.add(workspace_id, self._today(), tokens)
