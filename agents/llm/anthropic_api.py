"""Anthropic Messages API provider (the `anthropic` SDK, `messages.stream`).

- text deltas stream as `TextDelta`; structured output is a forced call of a tool whose
  `input_schema` is the request's schema, its `input_json_delta`s stream as `TextDelta` too;
- the server-side web search tool (`web_search_20250305`, `max_uses`) is reported as
  `WebSearchPerformed` events and `result.sources`;
- `cache_system` marks the system prompt with `cache_control` (ephemeral);
- usage includes cache read/write tokens; cost comes from agents/llm/pricing.py;
- the SDK's own retries are off (`max_retries=0`): agents/llm/retry.py is the only policy.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic

from agents.llm.anthropic_errors import translate
from agents.llm.base import RetryingProvider
from agents.llm.config import LLMConfig
from agents.llm.errors import LLMStructuredOutputError
from agents.llm.port import (
    Capabilities,
    Completed,
    CompletionRequest,
    CompletionResult,
    LLMEvent,
    SearchHit,
    TextDelta,
    Usage,
    WebSearchPerformed,
)
from agents.llm.pricing import cost_usd
from agents.llm.provider_spec import BuildContext, ProviderDeclaration
from agents.llm.retry import RetryPolicy
from agents.llm.structured import validate_structured

PROVIDER = "anthropic"
DEFAULT_MODEL = "claude-sonnet-4-6"
WEB_SEARCH_TOOL = "web_search_20250305"
CONTEXT_WINDOW = 200_000


def capabilities_for(*, context_window: int = CONTEXT_WINDOW) -> Capabilities:
    """What an Anthropic model does here: the server-side search tool, a forced tool call for
    structured output, `cache_control` on the system prompt."""
    return Capabilities(
        web_search=True,
        structured_output="tool",
        context_window=context_window,
        prompt_caching=True,
    )


class AnthropicLLM(RetryingProvider):
    PROVIDER = PROVIDER

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        api_key: str | None = None,
        base_url: str | None = None,
        client: anthropic.AsyncAnthropic | None = None,
        retry: RetryPolicy | None = None,
        # Timeouts
        timeout: float = 600.0,
        connect_timeout: float = 10.0,
        # Limits
        context_window: int = CONTEXT_WINDOW,
    ) -> None:
        self._model = model
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._client = client or anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            # the SDK's own HTTP stack (httpx2 today) is reached only through the SDK
            timeout=anthropic.Timeout(timeout, connect=connect_timeout),
        )
        self._capabilities = capabilities_for(context_window=context_window)

    async def aclose(self) -> None:
        await self._client.close()

    async def _attempt(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        seconds = self._timeout_for(request)
        params = build_params(request, self._model)
        queries: dict[str, str] = {}
        schema_blocks: set[int] = set()  # indexes of the blocks calling the structured-output tool
        try:
            async with self._client.messages.stream(**params, timeout=seconds) as stream:
                async for event in stream:
                    if event.type == "content_block_start":
                        block = event.content_block
                        if block.type == "tool_use" and block.name == request.schema_name:
                            schema_blocks.add(event.index)
                    elif event.type == "content_block_delta":
                        delta = event.delta
                        if delta.type == "text_delta" and delta.text:
                            yield TextDelta(delta.text)
                        elif (
                            delta.type == "input_json_delta"
                            and delta.partial_json
                            and event.index in schema_blocks
                        ):
                            yield TextDelta(delta.partial_json)
                    elif event.type == "content_block_stop":
                        block = event.content_block
                        if block.type == "server_tool_use" and block.name == "web_search":
                            queries[block.id] = str(block.input.get("query", ""))
                        elif block.type == "web_search_tool_result":
                            hits = _hits(block.content)
                            query = queries.get(block.tool_use_id, "")
                            yield WebSearchPerformed(query=query, results=hits)
                message = await stream.get_final_message()
        except anthropic.AnthropicError as exc:
            raise translate(exc) from exc
        yield Completed(self._result(request, message, tuple(queries.values())))

    def _result(
        self, request: CompletionRequest, message: Any, searches: tuple[str, ...]
    ) -> CompletionResult:
        texts: list[str] = []
        structured: dict[str, Any] | None = None
        sources: dict[str, SearchHit] = {}
        for block in message.content:
            if block.type == "text":
                texts.append(block.text)
                for citation in block.citations or ():
                    url = getattr(citation, "url", None)
                    if url and url not in sources:
                        sources[url] = SearchHit(
                            url=url,
                            title=getattr(citation, "title", None) or url,
                            snippet=getattr(citation, "cited_text", "") or "",
                        )
            elif block.type == "tool_use" and block.name == request.schema_name:
                structured = validate_structured(
                    block.input,
                    request.json_schema or {},
                    provider=PROVIDER,
                    raw=json.dumps(block.input),
                )
            elif block.type == "web_search_tool_result":
                for hit in _hits(block.content):
                    sources.setdefault(hit.url, hit)
        text = "".join(texts)
        if request.json_schema is not None and structured is None:
            raise LLMStructuredOutputError(
                f"the model did not call the `{request.schema_name}` tool",
                provider=PROVIDER,
                raw=text,
            )
        if structured is not None and not text:
            text = json.dumps(structured)
        u = message.usage
        usage = Usage(
            input_tokens=u.input_tokens or 0,
            output_tokens=u.output_tokens or 0,
            cache_read_tokens=u.cache_read_input_tokens or 0,
            cache_write_tokens=u.cache_creation_input_tokens or 0,
        )
        server_tools = getattr(u, "server_tool_use", None)
        web_searches = (getattr(server_tools, "web_search_requests", 0) or 0) if server_tools else 0
        return CompletionResult(
            text=text,
            usage=usage,
            stop_reason=message.stop_reason or "end_turn",
            model=message.model or self._model,
            structured=structured,
            cost_usd=cost_usd(self._model, usage, web_searches=web_searches),
            searches=searches,
            sources=tuple(sources.values()),
        )


def build_params(request: CompletionRequest, model: str) -> dict[str, Any]:
    """The Messages API parameters for a request (pure; tested without a network)."""
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": request.max_tokens,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
    }
    if request.system:
        if request.cache_system:
            params["system"] = [
                {"type": "text", "text": request.system, "cache_control": {"type": "ephemeral"}}
            ]
        else:
            params["system"] = request.system
    if request.temperature is not None:
        # anthropic>=2 has no `temperature` argument; the API field goes in the body as it is
        params["extra_body"] = {"temperature": request.temperature}
    if request.stop:
        params["stop_sequences"] = list(request.stop)
    tools: list[dict[str, Any]] = []
    if request.web_search is not None:
        search: dict[str, Any] = {
            "type": WEB_SEARCH_TOOL,
            "name": "web_search",
            "max_uses": request.web_search.max_uses,
        }
        if request.web_search.allowed_domains:
            search["allowed_domains"] = list(request.web_search.allowed_domains)
        tools.append(search)
    if request.json_schema is not None:
        tools.append(
            {
                "name": request.schema_name,
                "description": "Return the final answer as this tool's input.",
                "input_schema": dict(request.json_schema),
            }
        )
        if request.web_search is None:
            params["tool_choice"] = {"type": "tool", "name": request.schema_name}
        else:
            # A forced tool call would forbid searching first; ask for the call instead.
            params["tool_choice"] = {"type": "any"}
    if tools:
        params["tools"] = tools
    return params


def _hits(content: Any) -> tuple[SearchHit, ...]:
    if not isinstance(content, list):  # a web_search_tool_result_error
        return ()
    return tuple(
        SearchHit(url=item.url, title=item.title or item.url, snippet=item.page_age or "")
        for item in content
        if getattr(item, "type", "") == "web_search_result"
    )


def _problem(config: LLMConfig, _model: str) -> str:
    return "" if config.anthropic_api_key else "ANTHROPIC_API_KEY is not set"


def _build(ctx: BuildContext) -> AnthropicLLM:
    return AnthropicLLM(
        model=ctx.model,
        api_key=ctx.config.anthropic_api_key,
        base_url=ctx.config.anthropic_base_url,
        retry=ctx.retry,
        timeout=ctx.config.timeout,
    )


DECLARATION = ProviderDeclaration(
    name="anthropic",
    capabilities=lambda _config, _model: capabilities_for(),
    problem=_problem,
    build=_build,
    where=lambda c: f"API key set; {c.anthropic_base_url or 'api.anthropic.com'}",
)
