"""OpenAI's server-side web search through the Responses API (used by OpenAICompatibleLLM for
requests with `web_search` when the server is OpenAI itself).

POST `{base_url}/responses` (not streamed) with `instructions` (the system prompt), `input`
(the messages), `tools: [{"type": "web_search"}]` (with `filters.allowed_domains` when asked),
`max_output_tokens` and `include: ["web_search_call.action.sources"]`. The answer's `output`
holds `web_search_call` items (the query in `action.query`, the pages searched in
`action.sources`) and a `message` whose `output_text` parts carry `url_citation` annotations
(`url`, `title`, `start_index`, `end_index`). The cited pages come first among the hits, each
with the text span it supports as its snippet; pages searched but not cited follow. `usage`
has `input_tokens`, `output_tokens` and `input_tokens_details.cached_tokens`; `status:
"incomplete"` with `incomplete_details.reason: "max_output_tokens"` is a max_tokens stop.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from agents.llm import errors as e
from agents.llm.port import CompletionRequest, CompletionResult, SearchHit, Usage

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
    }
    if request.system:
        body["instructions"] = request.system
    if request.temperature is not None:
        body["temperature"] = request.temperature
    return body


def parse_response(payload: Any, *, model: str, provider: str) -> CompletionResult:
    """The Responses API answer as a CompletionResult (text, hits, searches, usage)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("output"), list):
        raise e.LLMServerError("malformed Responses API answer (no output list)", provider=provider)
    if payload.get("status") == "failed" or payload.get("error"):
        detail = payload.get("error") or {}
        message = detail.get("message") if isinstance(detail, dict) else str(detail)
        raise e.LLMServerError(f"the response failed: {message}", provider=provider)
    texts: list[str] = []
    cited: dict[str, SearchHit] = {}
    searched: dict[str, SearchHit] = {}
    queries: list[str] = []
    for item in payload["output"]:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "web_search_call":
            action = item.get("action") or {}
            if isinstance(action.get("query"), str):
                queries.append(action["query"])
            for src in action.get("sources") or ():
                url = src.get("url") if isinstance(src, dict) else None
                if isinstance(url, str) and url:
                    searched.setdefault(url, SearchHit(url, str(src.get("title") or url)))
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
    usage = payload.get("usage") or {}
    details = usage.get("input_tokens_details") or {}
    incomplete = (payload.get("incomplete_details") or {}).get("reason")
    stop = "max_tokens" if incomplete == "max_output_tokens" else "end_turn"
    hits = [*cited.values(), *(h for u, h in searched.items() if u not in cited)]
    return CompletionResult(
        text="".join(texts),
        usage=Usage(
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            cache_read_tokens=int(details.get("cached_tokens") or 0),
        ),
        stop_reason=stop,
        model=str(payload.get("model") or model),
        searches=tuple(queries),
        sources=tuple(hits),
    )
