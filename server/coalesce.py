"""Coalescing of token-stream events: many tiny chunks become fewer, larger ones.

Consecutive chunk events of the same kind that arrive within `window` seconds of the first are
merged into one. Chunk indices (`stream_chunk.data.chunk_index`) are renumbered per job and
`stream_end.data.total_chunks` is rewritten to the number of chunks actually sent, so clients
see a consistent stream. A window of 0 disables coalescing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from agents.protocol import Event, event_to_dict

Emit = Callable[[dict[str, Any]], None]


def _merge_key(event: dict[str, Any]) -> tuple[str, ...] | None:
    kind = event.get("type")
    if kind == "chat_chunk" and not event.get("is_final"):
        return ("chat_chunk", str(event.get("session_id")))
    if kind == "stream_chunk":
        data = event.get("data", {})
        return ("stream_chunk", str(data.get("step")), str(event.get("session_id")))
    return None


class Coalescer:
    def __init__(self, emit: Emit, window: float) -> None:
        self._emit = emit
        self._window = window
        self._pending: dict[str, Any] | None = None
        self._pending_key: tuple[str, ...] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._chunk_counts: dict[str, int] = {}

    def push(self, event: Event) -> None:
        payload = event_to_dict(event)
        key = _merge_key(payload)
        if key is not None and self._window > 0:
            if self._pending is not None and self._pending_key == key:
                self._merge_into(self._pending, payload)
                return
            self.flush()
            self._pending, self._pending_key = payload, key
            self._timer = asyncio.get_running_loop().call_later(self._window, self.flush)
            return
        self.flush()
        self._send(payload)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending is not None:
            pending, self._pending, self._pending_key = self._pending, None, None
            self._send(pending)

    @staticmethod
    def _merge_into(target: dict[str, Any], extra: dict[str, Any]) -> None:
        if target["type"] == "chat_chunk":
            target["chunk"] += extra["chunk"]
        else:
            target["data"]["chunk"] += extra["data"]["chunk"]

    def _send(self, payload: dict[str, Any]) -> None:
        kind = payload.get("type")
        if kind == "stream_chunk":
            step = str(payload["data"].get("step"))
            index = self._chunk_counts.get(step, 0)
            payload["data"]["chunk_index"] = index
            self._chunk_counts[step] = index + 1
        elif kind == "stream_end":
            step = str(payload["data"].get("step"))
            payload["data"]["total_chunks"] = self._chunk_counts.pop(step, 0)
        self._emit(payload)
