"""Conversation memory per (session_id, agent): buffer (last N turns) and summary strategies.

The store is pluggable (anything with get/put); the default keeps state in the process, which
on Lambda lasts as long as the warm execution environment. A shared store (e.g. DynamoDB) only
has to implement MemoryStore.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class MemoryState:
    turns: list[tuple[str, str]] = field(default_factory=list)  # (user, assistant)
    summary: str = ""


class MemoryStore(Protocol):
    def get(self, key: str) -> MemoryState | None: ...

    def put(self, key: str, state: MemoryState) -> None: ...


class InProcessStore:
    """A bounded LRU map, safe across the threads of the local HTTP server."""

    def __init__(self, *, max_sessions: int = 1000) -> None:
        self._items: OrderedDict[str, MemoryState] = OrderedDict()
        self._max = max_sessions
        self._lock = threading.Lock()

    def get(self, key: str) -> MemoryState | None:
        with self._lock:
            state = self._items.get(key)
            if state is not None:
                self._items.move_to_end(key)
                return MemoryState(list(state.turns), state.summary)
            return None

    def put(self, key: str, state: MemoryState) -> None:
        with self._lock:
            self._items[key] = MemoryState(list(state.turns), state.summary)
            self._items.move_to_end(key)
            while len(self._items) > self._max:
                self._items.popitem(last=False)


Summarizer = Callable[[str, list[tuple[str, str]]], str]  # (previous summary, old turns) -> summary


class Memory:
    """Applies an agent's strategies on top of a store."""

    def __init__(
        self,
        store: MemoryStore,
        *,
        strategies: tuple[str, ...],
        buffer_turns: int = 10,
        summarizer: Summarizer | None = None,
    ) -> None:
        self._store = store
        self._strategies = strategies or ("buffer",)
        # Summary alone keeps only the latest two turns verbatim; the rest lives in the summary.
        self._buffer_turns = buffer_turns if "buffer" in self._strategies else min(buffer_turns, 2)
        self._summarizer = summarizer

    def context(self, key: str) -> MemoryState:
        return self._store.get(key) or MemoryState()

    def record(self, key: str, user: str, assistant: str) -> MemoryState:
        state = self.context(key)
        state.turns.append((user, assistant))
        if len(state.turns) > self._buffer_turns:
            older = state.turns[: -self._buffer_turns]
            state.turns = state.turns[-self._buffer_turns :]
            if "summary" in self._strategies and self._summarizer is not None:
                state.summary = self._summarizer(state.summary, older)
        self._store.put(key, state)
        return state


def history_messages(state: MemoryState) -> list[dict[str, Any]]:
    """The remembered conversation as Converse messages, summary first."""
    messages: list[dict[str, Any]] = []
    if state.summary:
        messages.append(
            {
                "role": "user",
                "content": [{"text": f"Summary of our conversation so far:\n{state.summary}"}],
            }
        )
        messages.append({"role": "assistant", "content": [{"text": "Understood."}]})
    for user, assistant in state.turns:
        messages.append({"role": "user", "content": [{"text": user}]})
        messages.append({"role": "assistant", "content": [{"text": assistant}]})
    return messages
