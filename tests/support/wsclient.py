"""Minimal raw WebSocket helpers for tests (the product client lives in clients/python)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


@dataclass
class Outcome:
    events: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def seqs(self) -> list[int]:
        return [e["seq"] for e in self.events if "seq" in e]


async def read_all(ws: ClientConnection, out: Outcome, limit: int | None = None) -> Outcome:
    try:
        async for raw in ws:
            out.events.append(json.loads(raw))
            if limit is not None and len(out.events) >= limit:
                return out
    except ConnectionClosed:
        pass
    out.close_code = ws.close_code
    out.close_reason = ws.close_reason or ""
    return out


async def run(url: str, payload: Any = None, *, raw: str | None = None) -> Outcome:
    async with connect(url, max_size=None, open_timeout=10) as ws:
        try:
            if raw is not None:
                await ws.send(raw)
            elif payload is not None:
                await ws.send(json.dumps(payload))
        except ConnectionClosed:
            pass  # refused before the request (e.g. 1008): the error event is still buffered
        return await read_all(ws, Outcome())


RESEARCH = {
    "prompt": "Latest AI Trends 2026",
    "company_name": "TestCompany",
    "company_url": "https://example.com/",
    "user_id": "user123",
    "session_id": "session456",
}
CHAT = {
    "messages": [{"role": "user", "content": "Summarize"}],
    "report": "# Report\n\nText.",
    "user_id": "user123",
    "session_id": "session456",
}
PAYLOADS: dict[str, dict[str, Any]] = {
    "research": RESEARCH,
    "chat": CHAT,
    "getspec": {
        "user_id": "u",
        "project_id": "p",
        "use_case_name": "n",
        "use_case_description": "d",
    },
    "updatespec": {"user_id": "u", "project_id": "p", "user_input": "add an agent"},
    "deploy": {"user_id": "u", "project_id": "p"},
    "createapikey": {"user_id": "u", "project_id": "p", "key_name": "k"},
    "deleteapikey": {"user_id": "u", "project_id": "p", "api_key_id": "k"},
}
