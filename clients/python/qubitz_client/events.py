"""Typed events. Unknown fields are kept (the server may add extensions), unknown types too."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

# Event types that end a job successfully, per endpoint.
TERMINAL_SUCCESS = {
    "research": {"complete"},
    "chat": {"chat_complete"},
    "getspec": {"architecture"},
    "updatespec": {"architecture"},
    "deploy": {"complete"},
    "createapikey": {"api_key_created"},
    "deleteapikey": {"api_key_deleted"},
}
ERROR_TYPES = {"error", "chat_error"}


class Event(BaseModel):
    """Any event. `raw` is the JSON object as received."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: str
    job_id: str | None = None
    seq: int | None = None

    @property
    def raw(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)

    @property
    def data(self) -> dict[str, Any]:
        value = (self.model_extra or {}).get("data")
        return value if isinstance(value, dict) else {}

    @property
    def is_error(self) -> bool:
        return self.type in ERROR_TYPES

    @property
    def is_keepalive(self) -> bool:
        return self.type == "keepalive"

    @property
    def text(self) -> str:
        """Streamed text carried by chunk events ('' for others)."""
        extra = self.model_extra or {}
        if self.type == "chat_chunk":
            return str(extra.get("chunk", ""))
        if self.type == "stream_chunk":
            return str(self.data.get("chunk", ""))
        return ""

    @property
    def error_code(self) -> str:
        extra = self.model_extra or {}
        return str(extra.get("error") or self.data.get("error") or "")

    @property
    def message(self) -> str:
        extra = self.model_extra or {}
        return str(extra.get("message") or self.data.get("message") or "")

    @property
    def progress_percent(self) -> int | None:
        value = self.data.get("progress_percent", (self.model_extra or {}).get("progress_percent"))
        return int(value) if isinstance(value, int) else None

    def get(self, name: str, default: Any = None) -> Any:
        return (self.model_extra or {}).get(name, default)


def parse_event(obj: dict[str, Any]) -> Event:
    return Event.model_validate(obj)
