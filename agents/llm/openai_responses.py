"""OpenAI's server-side web search through the Responses API (used by OpenAICompatibleLLM for
requests with `web_search` when the server is OpenAI itself).

POST `{base_url}/responses` with `stream: true`, `instructions` (the system prompt), `input`
(the messages), `tools: [{"type": "web_search"}]` (with `filters.allowed_domains` when asked),
`max_output_tokens` and `include: ["web_search_call.action.sources"]`. The answer is an SSE
stream of documented events, each a JSON object whose `type` names it (`stream_events`):

- `response.output_text.delta` (`delta`): a `TextDelta`, as it arrives;
- `response.output_item.done` with a `web_search_call` item (the query in `action.query`, the
  pages searched in `action.sources`): a `WebSearchPerformed(query, results)`;
- `response.completed` or `response.incomplete`: the final `response` object, parsed by
  `parse_response` into the `Completed` result, so a streamed answer gives exactly the result
  the same answer would give unstreamed;
- `response.failed` (`response.error`) and `error` (`code`, `message`): an LLMError (`failure`);
- `response.created`, `response.in_progress`, `response.output_item.added`,
  `response.web_search_call.in_progress/searching/completed`, `response.content_part.*`,
  `response.output_text.annotation.added` and `.done`: progress whose content the final
  response repeats; read and passed over.

A stream that ends without a final response, or an event that is not a JSON object, is an
`LLMServerError` (retryable). A final response without `output` gets the items of the stream's
`response.output_item.done` events.

The final response's `output` holds `web_search_call` items and a `message` whose `output_text`
parts carry `url_citation` annotations (`url`, `title`, `start_index`, `end_index`). The cited
pages come first among the hits, each with the text span it supports as its snippet; pages
searched but not cited follow. `usage` has `input_tokens` (cached ones included),
`output_tokens` and `input_tokens_details.cached_tokens`; `status: "incomplete"` with
`incomplete_details.reason: "max_output_tokens"` is a max_tokens stop. `cost_usd` comes from
agents/llm/pricing_openai.py, counting one web search call per `web_search_call` item.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from agents.llm import errors as e
from agents.llm.port import (
    Completed,
    CompletionRequest,
    CompletionResult,
    LLMEvent,
    SearchHit,
    TextDelta,
    Usage,
    WebSearchPerformed,
)
from agents.llm.pricing_openai import cost_usd
from agents.llm.sse import ServerSentEvent

OPENAI_HOSTS = frozenset({"api.openai.com"})


def is_openai(base_url: str) -> bool:
    """Whether an OpenAI-compatible base URL is OpenAI's own API (which has the tool)."""
    return (urlsplit(base_url).hostname or "").lower() in OPENAI_HOSTS


def responses_body(request: CompletionRequest, model: str) -> dict[str, Any]:
    tool: dict[str, Any] = {"type": "web_search"}
    options = request.web_search
    if options is not None and options.allowed_domains:
        tool["filters"] = {"allowed_domains": list(options.allowed_domains)}
    body: dict[str, Any] = {
        "model": model,
        "input": [{"role": m.role, "content": m.content} for m in request.messages],
        "tools": [tool],
        "max_output_tokens": request.max_tokens,
        "include": ["web_search_call.action.sources"],
        "stream": True,
    }
    if request.system:
        body["instructions"] = request.system
    if request.temperature is not None:
        body["temperature"] = request.temperature
    return body


# Error codes of a failed response (`response.error.code`) or an `error` event -> our classes;
# any other code is a server error (retryable).
BY_ERROR_CODE: dict[str, type[e.LLMError]] = {
    "rate_limit_exceeded": e.LLMRateLimitError,
    "server_error": e.LLMServerError,
    "context_length_exceeded": e.LLMContextLengthError,
    "invalid_prompt": e.LLMBadRequestError,
    "invalid_request_error": e.LLMBadRequestError,
}


def failure(detail: Any, *, provider: str, what: str = "the response failed") -> e.LLMError:
    """Our error for a Responses API error object (`code`, `message`)."""
    if isinstance(detail, dict):
        code, message = detail.get("code"), detail.get("message")
    else:
        code, message = None, detail
    cls = BY_ERROR_CODE.get(code, e.LLMServerError) if isinstance(code, str) else e.LLMServerError
    text = f"{what}: {message or code or 'no detail'}"
    return cls(text, provider=provider)


def search_call(item: dict[str, Any]) -> tuple[str | None, tuple[SearchHit, ...]]:
    """A `web_search_call` item's query (None for an action without one) and pages searched."""
    action = item.get("action")
    action = action if isinstance(action, dict) else {}
    query = action.get("query")
    hits: dict[str, SearchHit] = {}
    for src in action.get("sources") or ():
        url = src.get("url") if isinstance(src, dict) else None
        if isinstance(url, str) and url:
            hits.setdefault(url, SearchHit(url, str(src.get("title") or url)))
    return (query if isinstance(query, str) else None), tuple(hits.values())


def parse_response(payload: Any, *, model: str, provider: str) -> CompletionResult:
    """The Responses API answer as a CompletionResult (text, hits, searches, usage, cost)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("output"), list):
        raise e.LLMServerError("malformed Responses API answer (no output list)", provider=provider)
    if payload.get("status") == "failed" or payload.get("error"):
        raise failure(payload.get("error"), provider=provider)
    texts: list[str] = []
    cited: dict[str, SearchHit] = {}
    searched: dict[str, SearchHit] = {}
    queries: list[str] = []
    calls = 0
    for item in payload["output"]:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "web_search_call":
            calls += 1
            query, found = search_call(item)
            if query is not None:
                queries.append(query)
            for hit in found:
                searched.setdefault(hit.url, hit)
        elif item.get("type") == "message":
            for part in item.get("content") or ():
                if not isinstance(part, dict) or part.get("type") != "output_text":
                    continue
                text = str(part.get("text") or "")
                texts.append(text)
                for note in part.get("annotations") or ():
                    if not isinstance(note, dict) or note.get("type") != "url_citation":
                        continue
                    url = note.get("url")
                    if not isinstance(url, str) or not url or url in cited:
                        continue
                    start, end = note.get("start_index"), note.get("end_index")
                    span = (
                        text[start:end] if isinstance(start, int) and isinstance(end, int) else ""
                    )
                    cited[url] = SearchHit(url, str(note.get("title") or url), span.strip())
    raw = payload.get("usage") or {}
    details = raw.get("input_tokens_details") or {}
    usage = Usage(
        input_tokens=int(raw.get("input_tokens") or 0),
        output_tokens=int(raw.get("output_tokens") or 0),
        cache_read_tokens=int(details.get("cached_tokens") or 0),
    )
    incomplete = (payload.get("incomplete_details") or {}).get("reason")
    stop = "max_tokens" if incomplete == "max_output_tokens" else "end_turn"
    hits = [*cited.values(), *(h for u, h in searched.items() if u not in cited)]
    served = str(payload.get("model") or model)
    cost = cost_usd(served, usage, web_search_calls=calls)
    if cost is None:
        cost = cost_usd(model, usage, web_search_calls=calls)
    return CompletionResult(
        text="".join(texts),
        usage=usage,
        stop_reason=stop,
        model=served,
        cost_usd=cost,
        searches=tuple(queries),
        sources=tuple(hits),
    )


FINAL_EVENTS = frozenset({"response.completed", "response.incomplete"})


async def stream_events(
    events: AsyncIterator[ServerSentEvent], *, model: str, provider: str
) -> AsyncGenerator[LLMEvent, None]:
    """The port events of a streamed Responses API answer (see the module docstring)."""
    items: dict[int, dict[str, Any]] = {}
    final: Any = None
    finished = False
    async for sse in events:
        try:
            data = json.loads(sse.data)
        except ValueError as exc:
            raise e.LLMServerError(
                f"malformed Responses API stream event: {exc}", provider=provider
            ) from exc
        if not isinstance(data, dict):
            raise e.LLMServerError(
                "malformed Responses API stream event (not an object)", provider=provider
            )
        kind = data.get("type") or sse.event
        if kind == "response.output_text.delta":
            delta = data.get("delta")
            if isinstance(delta, str) and delta:
                yield TextDelta(delta)
        elif kind == "response.output_item.done":
            item = data.get("item")
            if not isinstance(item, dict):
                continue
            index = data.get("output_index")
            items[index if isinstance(index, int) else len(items)] = item
            if item.get("type") == "web_search_call":
                query, hits = search_call(item)
                if query is not None:
                    yield WebSearchPerformed(query=query, results=hits)
        elif kind in FINAL_EVENTS:
            final, finished = data.get("response"), True
            break
        elif kind == "response.failed":
            response = data.get("response")
            detail = response.get("error") if isinstance(response, dict) else None
            raise failure(detail, provider=provider)
        elif kind == "error":  # `code`, `message` on the event (or in an `error` object)
            detail = data.get("error") if isinstance(data.get("error"), dict) else data
            raise failure(detail, provider=provider, what="the Responses API stream failed")
    if not finished:
        raise e.LLMServerError(
            "the Responses API stream ended before the response was completed", provider=provider
        )
    if isinstance(final, dict) and not final.get("output") and items:
        final = {**final, "output": [items[i] for i in sorted(items)]}
    yield Completed(parse_response(final, model=model, provider=provider))
