"""In-memory stores for the chat tests: artifacts (URLs under https://artifacts.test/a/<key>) and
chat sessions (the ChatSessionStore port, as server/db/chat.py implements it on SQL)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

from agents.artifacts import StoredArtifact
from agents.chat.session import ChatSessionState, TurnRecord
from agents.errors import NotFound

PREFIX = "https://artifacts.test/a/"


@dataclass
class MemoryArtifactStore:
    objects: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def url_for(self, key: str) -> str:
        return PREFIX + key

    async def put(self, key: str, data: bytes, content_type: str) -> StoredArtifact:
        self.objects[key] = (data, content_type)
        return StoredArtifact(
            key=key, url=self.url_for(key), size=len(data), content_type=content_type
        )

    async def get(self, key: str) -> bytes:
        try:
            return self.objects[key][0]
        except KeyError:
            raise NotFound(f"no artifact {key}") from None

    def key_for_url(self, url: str) -> str | None:
        if url.startswith(PREFIX) and len(url) > len(PREFIX):
            return url[len(PREFIX) :]
        return None


class MemoryChatSessionStore:
    """ChatSessionStore in process memory."""

    def __init__(self) -> None:
        self._sessions: dict[tuple[str, str], ChatSessionState] = {}
        self._lock = asyncio.Lock()

    async def get(self, workspace_id: str, session_id: str) -> ChatSessionState | None:
        return self._sessions.get((workspace_id, session_id))

    async def record_turn(
        self, workspace_id: str, session_id: str, turn: TurnRecord
    ) -> ChatSessionState:
        async with self._lock:
            key = (workspace_id, session_id)
            state = self._sessions.get(key) or ChatSessionState(
                workspace_id, session_id, turn.user_id
            )
            state = replace(
                state,
                message_count=state.message_count + turn.messages,
                input_tokens=state.input_tokens + turn.input_tokens,
                output_tokens=state.output_tokens + turn.output_tokens,
                token_limit=turn.token_limit,
                reports_generated=state.reports_generated + int(turn.report_generated),
            )
            self._sessions[key] = state
            return state
