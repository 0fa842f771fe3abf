"""/chat: grounded, streamed Q&A over a stored report with a per-session token budget.

Entry point: `chat_pipeline(ChatDeps(...))`. Modules: pipeline (the turn), prompt (context-window
fitting), sections (Markdown splitting), retrieval (BM25), intent (report requests), session
(the session-store port), tokens (estimates).
"""

from agents.chat.config import ChatConfig
from agents.chat.pipeline import ChatDeps, chat_pipeline
from agents.chat.session import (
    ChatSessionState,
    ChatSessionStore,
    TurnRecord,
)

__all__ = [
    "ChatConfig",
    "ChatDeps",
    "ChatSessionState",
    "ChatSessionStore",
    "TurnRecord",
    "chat_pipeline",
]
