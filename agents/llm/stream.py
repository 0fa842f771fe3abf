"""One model call as a pipeline shows it: the text as it arrives, and status notices.

In the style of the anthropic SDK's `MessageStream`: `ModelStream(llm, request)` wraps
`llm.stream(request)`. Iterating it (once) gives the text deltas and a `Notice` for each
model-side event a client should hear about: a retry scheduled after a failed attempt, a wait in
the local model's queue (once per call), a web search the provider ran. Meanwhile it keeps the
snapshot: `text` so far, `result` (the `Completed` result), `usage`, `retries`, `queue_wait`,
`searches`. `await stream.final_result()` drains what is left and returns the result.

Each pipeline turns a `Notice` into its endpoint's own status event: research prefixes its step
name (`status`), chat sends `chat_status`, the spec endpoints `status` in the data envelope.

    stream = ModelStream(llm, request)
    async for item in stream:
        if isinstance(item, Notice):
            yield StatusEvent(message=f"{step}: {item.message}", ...)
        else:
            ...  # item.text
    result = await stream.final_result()
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

from agents.llm.errors import LLMError
from agents.llm.port import (
    LLM,
    Completed,
    CompletionRequest,
    CompletionResult,
    LLMEvent,
    QueueWait,
    RetryScheduled,
    TextDelta,
    Usage,
    WebSearchPerformed,
)

REASON_CHARS = 200  # a provider's failure reason is cut to this length in notices

NoticeKind = Literal["retry", "queue", "web_search"]


@dataclass(frozen=True)
class Notice:
    """A model-side event worth a status message. `message` starts in lower case, without the
    step name: `sentence` is the same capitalised, for endpoints that show it on its own."""

    kind: NoticeKind
    message: str
    event: LLMEvent

    @property
    def sentence(self) -> str:
        return self.message[:1].upper() + self.message[1:]


def notice_for(event: LLMEvent, *, queue_seen: bool = False) -> Notice | None:
    """The notice for one stream event, or None (text, results, repeated queue reports)."""
    if isinstance(event, RetryScheduled):
        reason = event.reason[:REASON_CHARS]
        return Notice(
            "retry",
            f"model call failed ({reason}); retrying in {event.delay:.1f}s "
            f"(attempt {event.attempt + 1})",
            event,
        )
    if isinstance(event, QueueWait) and not queue_seen:
        return Notice("queue", f"waiting for the model (queue position {event.position})", event)
    if isinstance(event, WebSearchPerformed):
        return Notice("web_search", f"searched the web for {event.query!r}", event)
    return None


StreamItem = TextDelta | Notice


class ModelStream:
    """One call's stream: iterate for `TextDelta | Notice`; the snapshot fills as it goes."""

    def __init__(self, llm: LLM, request: CompletionRequest) -> None:
        self.llm = llm
        self.request = request
        self.result: CompletionResult | None = None
        self.retries = 0
        self.queue_wait = 0.0  # the longest wait the provider reported, seconds
        self.searches: list[str] = []
        self._parts: list[str] = []
        self._iterator: AsyncIterator[StreamItem] | None = None

    @property
    def text(self) -> str:
        """The text received so far (the whole reply once the stream has ended)."""
        return "".join(self._parts)

    @property
    def usage(self) -> Usage:
        return self.result.usage if self.result is not None else Usage()

    def __aiter__(self) -> AsyncIterator[StreamItem]:
        if self._iterator is not None:
            raise RuntimeError("a ModelStream can be iterated once")
        self._iterator = self._items()
        return self._iterator

    async def _items(self) -> AsyncIterator[StreamItem]:
        queue_seen = False
        async for event in self.llm.stream(self.request):
            if isinstance(event, TextDelta):
                if event.text:
                    self._parts.append(event.text)
                    yield event
                continue
            if isinstance(event, Completed):
                self.result = event.result
                continue
            if isinstance(event, RetryScheduled):
                self.retries += 1
            elif isinstance(event, QueueWait):
                self.queue_wait = max(self.queue_wait, event.waited_seconds)
            elif isinstance(event, WebSearchPerformed):
                self.searches.append(event.query)
            notice = notice_for(event, queue_seen=queue_seen)
            queue_seen = queue_seen or isinstance(event, QueueWait)
            if notice is not None:
                yield notice

    async def final_result(self) -> CompletionResult:
        """Drain the stream (what is not iterated yet is dropped) and return its result."""
        if self._iterator is None:
            async for _ in self:
                pass
        else:
            async for _ in self._iterator:
                pass
        if self.result is None:
            raise LLMError("the model's stream ended without a result", provider=self.llm.provider)
        return self.result
