"""Anthropic models on Amazon Bedrock through boto3 `bedrock-runtime` ConverseStream.

boto3 is blocking: the call and the event stream run in a worker thread (agents/llm/threaded.py);
cancelling the consumer closes the event stream. botocore's own retries are off
(`total_max_attempts=1`): agents/llm/retry.py is the only policy. Structured output is a forced
tool call (`toolChoice.tool`) whose `inputSchema.json` is the schema; `cache_system` adds a
`cachePoint` after the system prompt.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from agents.llm.base import RetryingProvider
from agents.llm.bedrock_errors import translate
from agents.llm.config import LLMConfig
from agents.llm.errors import LLMError, LLMStructuredOutputError
from agents.llm.port import (
    Capabilities,
    Completed,
    CompletionRequest,
    CompletionResult,
    LLMEvent,
    TextDelta,
    Usage,
)
from agents.llm.pricing import cost_usd
from agents.llm.provider_spec import BuildContext, ProviderDeclaration
from agents.llm.retry import RetryPolicy
from agents.llm.structured import parse_structured
from agents.llm.threaded import ThreadedIterator

PROVIDER = "bedrock"
DEFAULT_MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
CONTEXT_WINDOW = 200_000


def capabilities_for(*, context_window: int = CONTEXT_WINDOW) -> Capabilities:
    """What a Bedrock model does here: a forced tool call for structured output, a `cachePoint`
    after the system prompt; ConverseStream has no server-side web search."""
    return Capabilities(
        web_search=False,
        structured_output="tool",
        context_window=context_window,
        prompt_caching=True,
    )


class BedrockLLM(RetryingProvider):
    PROVIDER = PROVIDER

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        region: str | None = None,
        endpoint_url: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        profile: str | None = None,
        client: Any = None,
        retry: RetryPolicy | None = None,
        # Timeouts
        timeout: float = 600.0,
        connect_timeout: float = 10.0,
        # Limits
        context_window: int = CONTEXT_WINDOW,
        max_concurrent_streams: int = 16,
    ) -> None:
        self._model = model
        # boto3 blocks for a whole stream: give streams their own threads, not the loop's default
        self._executor = ThreadPoolExecutor(
            max_workers=max_concurrent_streams, thread_name_prefix="bedrock"
        )
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        if client is None:
            session = boto3.session.Session(
                aws_access_key_id=aws_access_key_id,
                aws_secret_access_key=aws_secret_access_key,
                aws_session_token=aws_session_token,
                profile_name=profile,
                region_name=region,
            )
            client = session.client(
                "bedrock-runtime",
                endpoint_url=endpoint_url,
                config=botocore.config.Config(
                    retries={"total_max_attempts": 1, "mode": "standard"},
                    read_timeout=timeout,
                    connect_timeout=connect_timeout,
                ),
            )
        self._client = client
        self._capabilities = capabilities_for(context_window=context_window)

    async def _attempt(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        params = build_params(request, self._model)
        client = self._client

        def open_iter(stop: threading.Event) -> Iterator[dict[str, Any]]:
            try:
                response = client.converse_stream(**params)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                raise translate(exc) from exc
            events = response["stream"]
            try:
                for event in events:
                    if stop.is_set():
                        return
                    yield event
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                raise translate(exc) from exc
            finally:
                events.close()

        texts: list[str] = []
        tool_input: list[str] = []
        in_tool = False
        stop_reason = "end_turn"
        usage = Usage()
        async for event in ThreadedIterator(open_iter, executor=self._executor):
            if "contentBlockStart" in event:
                start = event["contentBlockStart"].get("start", {})
                in_tool = start.get("toolUse", {}).get("name") == request.schema_name
            elif "contentBlockDelta" in event:
                delta = event["contentBlockDelta"]["delta"]
                if delta.get("text"):
                    texts.append(delta["text"])
                    yield TextDelta(delta["text"])
                elif "toolUse" in delta and in_tool:
                    piece = delta["toolUse"].get("input", "")
                    if piece:
                        tool_input.append(piece)
                        yield TextDelta(piece)
            elif "contentBlockStop" in event:
                in_tool = False
            elif "messageStop" in event:
                stop_reason = event["messageStop"].get("stopReason", stop_reason)
            elif "metadata" in event:
                u = event["metadata"].get("usage", {})
                usage = Usage(
                    input_tokens=int(u.get("inputTokens", 0)),
                    output_tokens=int(u.get("outputTokens", 0)),
                    cache_read_tokens=int(u.get("cacheReadInputTokens", 0)),
                    cache_write_tokens=int(u.get("cacheWriteInputTokens", 0)),
                )
        text = "".join(texts)
        structured = None
        if request.json_schema is not None:
            raw = "".join(tool_input)
            if not raw:
                raise LLMStructuredOutputError(
                    f"the model did not call the `{request.schema_name}` tool",
                    provider=PROVIDER,
                    raw=text,
                )
            structured = parse_structured(raw, request.json_schema, provider=PROVIDER)
            text = text or raw
        yield Completed(
            CompletionResult(
                text=text,
                usage=usage,
                stop_reason=stop_reason,
                model=self._model,
                structured=structured,
                cost_usd=cost_usd(self._model, usage),
            )
        )


def build_params(request: CompletionRequest, model: str) -> dict[str, Any]:
    """ConverseStream parameters for a request (pure)."""
    params: dict[str, Any] = {
        "modelId": model,
        "messages": [{"role": m.role, "content": [{"text": m.content}]} for m in request.messages],
    }
    inference: dict[str, Any] = {"maxTokens": request.max_tokens}
    if request.temperature is not None:
        inference["temperature"] = request.temperature
    if request.stop:
        inference["stopSequences"] = list(request.stop)
    params["inferenceConfig"] = inference
    if request.system:
        system: list[dict[str, Any]] = [{"text": request.system}]
        if request.cache_system:
            system.append({"cachePoint": {"type": "default"}})
        params["system"] = system
    if request.json_schema is not None:
        params["toolConfig"] = {
            "tools": [
                {
                    "toolSpec": {
                        "name": request.schema_name,
                        "description": "Return the final answer as this tool's input.",
                        "inputSchema": {"json": json.loads(json.dumps(request.json_schema))},
                    }
                }
            ],
            "toolChoice": {"tool": {"name": request.schema_name}},
        }
    if request.web_search is not None:
        raise LLMError("Bedrock has no server-side web search tool", provider=PROVIDER)
    return params


def _problem(config: LLMConfig, _model: str) -> str:
    return "" if config.bedrock_region else "no AWS region: set QUBITZ_BEDROCK_REGION or AWS_REGION"


def _build(ctx: BuildContext) -> BedrockLLM:
    c = ctx.config
    return BedrockLLM(
        model=ctx.model,
        region=c.bedrock_region,
        endpoint_url=c.bedrock_endpoint_url,
        aws_access_key_id=c.aws_access_key_id,
        aws_secret_access_key=c.aws_secret_access_key,
        aws_session_token=c.aws_session_token,
        profile=c.aws_profile,
        retry=ctx.retry,
        timeout=c.timeout,
    )


DECLARATION = ProviderDeclaration(
    name="bedrock",
    capabilities=lambda _config, _model: capabilities_for(),
    problem=_problem,
    build=_build,
    where=lambda c: f"region {c.bedrock_region}",
)
