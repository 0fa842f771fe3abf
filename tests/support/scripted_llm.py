"""A scripted LLM for pipeline tests: a queue of replies, and a record of every request.

Never a product default: it lives in tests/ only.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from agents.llm.port import (
    Capabilities,
    Completed,
    CompletionRequest,
    CompletionResult,
    LLMEvent,
    TextDelta,
    Usage,
)


@dataclass
class Reply:
    text: str = ""
    structured: dict[str, Any] | None = None
    error: Exception | None = None
    usage: Usage | None = None
    chunk_size: int = 8
    delay: float = 0.0  # seconds between chunks


@dataclass
class ScriptedLLM:
    provider: str = "scripted"
    model: str = "scripted-model"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(structured_output="json_schema", context_window=32000)
    )
    replies: deque[Reply] = field(default_factory=deque)
    requests: list[CompletionRequest] = field(default_factory=list)
    fallback: Reply | None = None

    def enqueue(self, *replies: Reply | str | dict[str, Any]) -> ScriptedLLM:
        for r in replies:
            if isinstance(r, str):
                self.replies.append(Reply(text=r))
            elif isinstance(r, dict):
                self.replies.append(Reply(text=json.dumps(r), structured=r))
            else:
                self.replies.append(r)
        return self

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        self.requests.append(request)
        if self.replies:
            reply = self.replies.popleft()
        elif self.fallback is not None:
            reply = self.fallback
        else:
            raise AssertionError(f"ScriptedLLM has no reply queued for: {request.messages[-1]}")
        if reply.error is not None:
            raise reply.error
        text = reply.text
        for i in range(0, len(text), reply.chunk_size):
            if reply.delay:
                await asyncio.sleep(reply.delay)
            yield TextDelta(text[i : i + reply.chunk_size])
        prompt_chars = len(request.system) + sum(len(m.content) for m in request.messages)
        usage = reply.usage or Usage(
            input_tokens=prompt_chars // 4 + 1, output_tokens=len(text) // 4 + 1
        )
        yield Completed(
            CompletionResult(
                text=text,
                usage=usage,
                stop_reason="end_turn",
                model=self.model,
                structured=reply.structured if request.json_schema is not None else None,
            )
        )
