"""Any OpenAI-compatible server (vLLM, llama.cpp, Ollama, LM Studio, OpenAI) over httpx + SSE.

POST `{base_url}/chat/completions` with `stream: true` and `stream_options.include_usage`; the
SSE `data:` payloads are chat.completion.chunk objects ending with `[DONE]`. Structured output:
- `json_schema`: `response_format={"type": "json_schema", "json_schema": {name, schema, strict}}`
  (OpenAI, vLLM, llama.cpp's own server);
- `json_object`: `response_format={"type": "json_object", "schema": ...}` (llama-cpp-python);
- `prompt`: the schema is put into the system prompt and the answer validated.
Usage comes from the server's usage chunk; a server that sends none gets the output counted in
chunks and the input as 0. On OpenAI itself `cost_usd` comes from agents/llm/pricing_openai.py
(None for a model it has no price for, and on every other server).

Web search: when the server is OpenAI itself (`api.openai.com`, or `responses_web_search=True`)
a request with `web_search` goes to the Responses API with its web search tool instead, streamed
too (agents/llm/openai_responses.py); other servers have no web search. Both paths share the
request, the HTTP status mapping and the transport error mapping (`_events`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any, Literal

import httpx

from agents.llm import errors as e
from agents.llm.anthropic_errors import parse_retry_after
from agents.llm.base import RetryingProvider
from agents.llm.config import LLMConfig
from agents.llm.openai_responses import is_openai, responses_body, stream_events
from agents.llm.port import (
    Capabilities,
    Completed,
    CompletionRequest,
    CompletionResult,
    LLMEvent,
    TextDelta,
    Usage,
)
from agents.llm.pricing_openai import cost_usd as openai_cost
from agents.llm.provider_spec import BuildContext, ProviderDeclaration
from agents.llm.retry import RetryPolicy
from agents.llm.sse import ServerSentEvent, decode_lines
from agents.llm.structured import parse_structured

PROVIDER = "openai"
StructuredMode = Literal["json_schema", "json_object", "prompt"]
CONTEXT_WINDOW = 8192


def capabilities_for(
    base_url: str,
    *,
    structured_mode: StructuredMode = "json_schema",
    context_window: int = CONTEXT_WINDOW,
    responses_web_search: bool | None = None,
) -> Capabilities:
    """What a model behind `base_url` does here: web search only on OpenAI itself (or when
    `responses_web_search` says so), structured output by `response_format` unless the schema
    goes into the prompt; no prompt caching of ours."""
    web_search = is_openai(base_url) if responses_web_search is None else responses_web_search
    return Capabilities(
        web_search=web_search,
        structured_output="prompt" if structured_mode == "prompt" else "json_schema",
        context_window=context_window,
    )


class OpenAICompatibleLLM(RetryingProvider):
    PROVIDER = PROVIDER

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        structured_mode: StructuredMode = "json_schema",
        retry: RetryPolicy | None = None,
        # Timeouts
        timeout: float = 600.0,
        connect_timeout: float = 10.0,
        # Limits
        context_window: int = CONTEXT_WINDOW,
        responses_web_search: bool | None = None,  # None: when base_url is OpenAI's
    ) -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._responses_url = base_url.rstrip("/") + "/responses"
        self._capabilities = capabilities_for(
            base_url,
            structured_mode=structured_mode,
            context_window=context_window,
            responses_web_search=responses_web_search,
        )
        self._model = model
        self._api_key = api_key
        self._own_client = http_client is None
        self._client = http_client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=connect_timeout)
        )
        self._structured_mode = structured_mode
        self._retry = retry or RetryPolicy()
        self._timeout = timeout

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def _attempt(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        if request.web_search is not None and self._capabilities.web_search:
            search_body = responses_body(request, self._model)
            async with (
                aclosing(self._events(self._responses_url, search_body)) as lines,
                aclosing(stream_events(lines, model=self._model, provider=PROVIDER)) as events,
            ):
                async for event in events:
                    yield event
            return
        body = build_body(request, self._model, self._structured_mode)
        texts: list[str] = []
        usage: Usage | None = None
        finish = ""
        done = False
        model = self._model
        chunks = 0
        try:
            async with aclosing(self._events(self._url, body)) as events:
                async for sse in events:
                    if sse.data.strip() == "[DONE]":
                        done = True
                        break
                    payload = json.loads(sse.data)
                    if "error" in payload:
                        raise translate_error_payload(payload["error"])
                    model = payload.get("model") or model
                    for choice in payload.get("choices") or ():
                        text = (choice.get("delta") or {}).get("content") or ""
                        if text:
                            chunks += 1
                            texts.append(text)
                            yield TextDelta(text)
                        finish = choice.get("finish_reason") or finish
                    if payload.get("usage"):
                        usage = _usage(payload["usage"])
        except json.JSONDecodeError as exc:
            raise e.LLMServerError(f"malformed stream chunk: {exc}", provider=PROVIDER) from exc
        if not done and not finish:
            # e.g. llama-cpp-python's server answers 200 and closes the stream on a prompt
            # longer than its context: never pass that off as an empty answer.
            raise e.LLMServerError(
                "the stream ended before the model finished (no finish_reason, no [DONE])",
                provider=PROVIDER,
            )
        finish = finish or "stop"
        text = "".join(texts)
        structured = None
        if request.json_schema is not None:
            if finish == "length":
                raise e.LLMStructuredOutputError(
                    "the structured output was cut off at max_tokens", provider=PROVIDER, raw=text
                )
            structured = parse_structured(text, request.json_schema, provider=PROVIDER)
        usage = usage or Usage(output_tokens=chunks)
        yield Completed(
            CompletionResult(
                text=text,
                usage=usage,
                stop_reason=_STOP_REASONS.get(finish, finish),
                model=model,
                structured=structured,
                cost_usd=self._cost(model, usage),
            )
        )

    def _cost(self, model: str, usage: Usage) -> float | None:
        """OpenAI's price for a chat completion on OpenAI itself; None on other servers."""
        if not self._capabilities.web_search:  # i.e. the server is not OpenAI
            return None
        cost = openai_cost(model, usage)
        return cost if cost is not None else openai_cost(self._model, usage)

    async def _events(
        self, url: str, body: dict[str, Any]
    ) -> AsyncGenerator[ServerSentEvent, None]:
        """POST `body` to `url` and decode the answer's SSE stream; an HTTP error status before
        the stream and transport errors during it are raised as LLMErrors."""
        headers = {"accept": "text/event-stream"}
        if self._api_key:
            headers["authorization"] = f"Bearer {self._api_key}"
        try:
            async with self._client.stream("POST", url, json=body, headers=headers) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise translate_status(resp.status_code, resp.text, resp.headers)
                async for sse in decode_lines(resp.aiter_lines()):
                    yield sse
        except httpx.HTTPError as exc:
            raise translate_transport(exc) from exc


_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


def build_body(request: CompletionRequest, model: str, mode: StructuredMode) -> dict[str, Any]:
    system = request.system
    if request.json_schema is not None and mode == "prompt":
        system += (
            "\n\nAnswer with one JSON object valid against this JSON schema, and nothing else:\n"
            + json.dumps(request.json_schema)
        )
    messages: list[dict[str, str]] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages += [{"role": m.role, "content": m.content} for m in request.messages]
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": request.max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.stop:
        body["stop"] = list(request.stop)
    if request.json_schema is not None and mode == "json_schema":
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": request.schema_name,
                "schema": dict(request.json_schema),
            },
        }
    elif request.json_schema is not None and mode == "json_object":
        body["response_format"] = {"type": "json_object", "schema": dict(request.json_schema)}
    return body


def _usage(raw: dict[str, Any]) -> Usage:
    details = raw.get("prompt_tokens_details") or {}
    return Usage(
        input_tokens=int(raw.get("prompt_tokens") or 0),
        output_tokens=int(raw.get("completion_tokens") or 0),
        cache_read_tokens=int(details.get("cached_tokens") or 0),
    )


# ----------------------------------------------------------------------------- error translation

BY_STATUS: dict[int, type[e.LLMError]] = {
    400: e.LLMBadRequestError,
    401: e.LLMAuthenticationError,
    402: e.LLMAuthenticationError,
    403: e.LLMAuthenticationError,
    404: e.LLMBadRequestError,
    408: e.LLMTimeoutError,
    409: e.LLMServerError,
    413: e.LLMBadRequestError,
    422: e.LLMBadRequestError,
    429: e.LLMRateLimitError,
    503: e.LLMOverloadedError,
    529: e.LLMOverloadedError,
}


def status_class(status: int) -> type[e.LLMError]:
    if status in BY_STATUS:
        return BY_STATUS[status]
    if status >= 500:
        return e.LLMServerError
    return e.LLMBadRequestError


def translate_status(status: int, text: str, headers: httpx.Headers) -> e.LLMError:
    message = text
    try:
        detail = json.loads(text).get("error")
        if isinstance(detail, dict):
            message = str(detail.get("message") or text)
        elif isinstance(detail, str):
            message = detail
    except (ValueError, AttributeError):
        pass
    cls = status_class(status)
    if cls is e.LLMBadRequestError and "context" in message.lower():
        cls = e.LLMContextLengthError
    if issubclass(cls, e.LLMRetryableError):
        retry_after = parse_retry_after(headers.get("retry-after-ms"), headers.get("retry-after"))
        return cls(message, provider=PROVIDER, status_code=status, retry_after=retry_after)
    return cls(message, provider=PROVIDER, status_code=status)


def translate_error_payload(detail: Any) -> e.LLMError:
    if not isinstance(detail, dict):
        return e.LLMServerError(str(detail), provider=PROVIDER)
    code = detail.get("code")
    status = code if isinstance(code, int) else 500
    return translate_status(status, json.dumps({"error": detail}), httpx.Headers())


# httpx exception classes -> ours; the most specific class in an error's MRO wins.
BY_HTTPX_CLASS: dict[type[Exception], type[e.LLMError]] = {
    httpx.TimeoutException: e.LLMTimeoutError,
    httpx.ConnectError: e.LLMConnectionError,
    httpx.ReadError: e.LLMConnectionError,
    httpx.WriteError: e.LLMConnectionError,
    httpx.CloseError: e.LLMConnectionError,
    httpx.RemoteProtocolError: e.LLMConnectionError,
    httpx.LocalProtocolError: e.LLMBadRequestError,
    httpx.ProxyError: e.LLMConnectionError,
    httpx.UnsupportedProtocol: e.LLMConfigurationError,
    httpx.NetworkError: e.LLMConnectionError,
    httpx.ProtocolError: e.LLMConnectionError,
    httpx.TransportError: e.LLMConnectionError,
    httpx.DecodingError: e.LLMServerError,
    httpx.TooManyRedirects: e.LLMServerError,
    httpx.HTTPStatusError: e.LLMServerError,
    httpx.HTTPError: e.LLMConnectionError,
}


def httpx_class_target(cls: type[BaseException]) -> type[e.LLMError]:
    return next((BY_HTTPX_CLASS[c] for c in cls.__mro__ if c in BY_HTTPX_CLASS), e.LLMError)


def translate_transport(exc: httpx.HTTPError) -> e.LLMError:
    cls = httpx_class_target(type(exc))
    message = f"{type(exc).__name__}: {exc}"
    if issubclass(cls, e.LLMRetryableError):
        return cls(message, provider=PROVIDER)
    return cls(message, provider=PROVIDER)


def _problem(config: LLMConfig, model: str) -> str:
    if not config.openai_base_url:
        return "QUBITZ_OPENAI_BASE_URL is not set"
    if not model:
        return "no model: set QUBITZ_MODEL (or QUBITZ_MODEL_<ROLE>) for the openai provider"
    return ""


def _build(ctx: BuildContext) -> OpenAICompatibleLLM:
    c = ctx.config
    assert c.openai_base_url is not None
    return OpenAICompatibleLLM(
        base_url=c.openai_base_url,
        model=ctx.model,
        api_key=c.openai_api_key,
        http_client=ctx.http_client,
        structured_mode=c.openai_structured,
        retry=ctx.retry,
        timeout=c.timeout,
        context_window=c.openai_context_window,
    )


def _capabilities(config: LLMConfig, _model: str) -> Capabilities:
    return capabilities_for(
        config.openai_base_url or "",
        structured_mode=config.openai_structured,
        context_window=config.openai_context_window,
    )


DECLARATION = ProviderDeclaration(
    name="openai",
    capabilities=_capabilities,
    problem=_problem,
    build=_build,
    where=lambda c: f"server {c.openai_base_url}",
)
