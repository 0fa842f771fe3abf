"""Chat session state that outlives a connection: message count, token usage, reports made.

A session is identified by (workspace_id, session_id): the same session id in another workspace
is a different, invisible session. `ChatSessionStore` is the port; server/db/chat.py implements
it on SQL (tests/chat/memory_store.py has an in-process one for the pipeline tests).

Counts are added atomically by `record_turn`, so two connections on one session never lose an
update (the budget check before a turn is not a reservation: two turns started at the same
moment may both pass it; the totals stay exact).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ChatSessionState:
    workspace_id: str
    session_id: str
    user_id: str
    message_count: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    token_limit: int = 0
    reports_generated: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class TurnRecord:
    """What one completed turn adds to its session."""

    user_id: str
    messages: int  # messages the turn added (the question and the answer: 2)
    input_tokens: int
    output_tokens: int
    token_limit: int
    report_generated: bool = False


class ChatSessionStore(Protocol):
    async def get(self, workspace_id: str, session_id: str) -> ChatSessionState | None:
        """The session, or None when this workspace has no session with that id."""
        ...

    async def record_turn(
        self, workspace_id: str, session_id: str, turn: TurnRecord
    ) -> ChatSessionState:
        """Add a turn's counts (creating the session on its first turn); the state after it."""
        ...
