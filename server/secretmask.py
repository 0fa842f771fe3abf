"""Secrets in events are delivered live only; the copy that is stored and replayed is masked.

Today one event carries a secret: `api_key_created.data.api_key_value`, the new app key. The
event log (server/eventlog.py) calls `masked_for_storage(event)` on every event it appends:
when it returns a copy, that copy is what the database, Redis Streams and any resuming socket
get, and the original is handed only to sockets that were already subscribed when the event
happened. A client that missed the live event gets `api_key_value` masked (its first characters
and an ellipsis) and must create a new key: the value is never stored anywhere in clear.
"""

from __future__ import annotations

import copy
from typing import Any

MASK_SUFFIX = "…(shown once; create a new key if you missed it)"
VISIBLE_PREFIX = 6
SECRET_EVENT_TYPES = frozenset({"api_key_created"})  # the events masked_for_storage may change


def mask_value(value: str) -> str:
    return value[:VISIBLE_PREFIX] + MASK_SUFFIX


def masked_for_storage(event: dict[str, Any]) -> dict[str, Any] | None:
    """A copy of `event` with its secrets masked, or None when it carries none."""
    if event.get("type") not in SECRET_EVENT_TYPES:
        return None
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("api_key_value"), str):
        return None
    masked = copy.deepcopy(event)
    masked["data"]["api_key_value"] = mask_value(data["api_key_value"])
    return masked
