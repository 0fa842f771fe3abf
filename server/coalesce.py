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
EmitEvent = Callable[[Event], object]
# Events the coalescer merges or rewrites: handled as dicts. Every other event goes on as the
# model, for the event log to serialise once, straight to JSON (EventLog.append_event).
REWRITTEN = frozenset({"chat_chunk", "stream_chunk", "stream_end"})


def _merge_key(event: Event) -> tuple[str, ...] | None:
    """Events that merge share a key: a chat turn's chunks, one step's report chunks."""
    kind = event.type
    if kind == "chat_chunk" and not getattr(event, "is_final", False):
        return ("chat_chunk", str(getattr(event, "session_id", None)))
    if kind == "stream_chunk":
        step = getattr(getattr(event, "data", None), "step", None)
        return ("stream_chunk", str(step), str(getattr(event, "session_id", None)))
    return None


class Coalescer:
    def __init__(self, emit: Emit, window: float, emit_event: EmitEvent | None = None) -> None:
        self._emit = emit
        self._emit_event = emit_event
        self._window = window
        self._pending: dict[str, Any] | None = None
        self._pending_key: tuple[str, ...] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._chunk_counts: dict[str, int] = {}

    def push(self, event: Event) -> None:
        if self._emit_event is not None and event.type not in REWRITTEN:
            self.flush()
            self._emit_event(event)
            return
        key = _merge_key(event)
        if key is not None and self._window > 0:
            if self._pending is not None and self._pending_key == key:
                self._merge_into(self._pending, event)  # a token: no dict of its own
                return
            self.flush()
            self._pending, self._pending_key = event_to_dict(event), key
            self._timer = asyncio.get_running_loop().call_later(self._window, self.flush)
            return
        self.flush()
        self._send(event_to_dict(event))

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending is not None:
            pending, self._pending, self._pending_key = self._pending, None, None
            self._send(pending)

    @staticmethod
    def _merge_into(target: dict[str, Any], extra: Any) -> None:
        if target["type"] == "chat_chunk":
            target["chunk"] += extra.chunk
        else:
            target["data"]["chunk"] += extra.data.chunk

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
