"""A scripted model client for the runtime's tests (never used outside tests/)."""

from __future__ import annotations

import copy
from typing import Any

from runtime.models import Message, ModelReply, ToolSpec, ToolUse


class ScriptedModel:
    """Answers each converse() call with the next scripted reply and records the requests."""

    def __init__(self, *replies: ModelReply | str) -> None:
        self.replies = [ModelReply(r) if isinstance(r, str) else r for r in replies]
        self.calls: list[dict[str, Any]] = []

    def converse(
        self, *, model: str, system: str, messages: list[Message], tools: list[ToolSpec]
    ) -> ModelReply:
        self.calls.append(
            {
                "model": model,
                "system": system,
                "messages": copy.deepcopy(messages),
                "tools": [t.name for t in tools],
            }
        )
        if not self.replies:
            raise AssertionError("the scripted model ran out of replies")
        return self.replies.pop(0)


def tool_call(name: str, call_id: str = "call-1", **arguments: Any) -> ModelReply:
    return ModelReply("", [ToolUse(call_id, name, arguments)], "tool_use")


def spec_dict(pattern: str = "pipeline", **orchestration: Any) -> dict[str, Any]:
    def agent(name: str, tools: list[str] | None = None, memory: bool = False) -> dict[str, Any]:
        return {
            "name": name,
            "description": f"The {name}.",
            "model": "anthropic.claude-3-5-haiku-20241022-v1:0",
            "prompt": f"You are the {name}.",
            "tools": tools or [],
            "memory": {"enabled": memory, "strategies": ["buffer"] if memory else []},
        }

    return {
        "agents_config": {
            "lead": agent("lead", memory=True),
            "researcher": agent("researcher", tools=["calculator"]),
            "writer": agent("writer"),
        },
        "orchestration": {
            "pattern": pattern,
            "entry_agent": "lead",
            "order": ["lead", "researcher", "writer"],
            "max_turns": 4,
            **orchestration,
        },
        "gateway_config": {"targets": [{"path": "/research", "agent": "researcher"}]},
    }
