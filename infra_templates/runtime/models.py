"""Model clients: Amazon Bedrock's Converse API, or an OpenAI-compatible chat endpoint.

Messages use the Converse shape throughout the runtime:
  {"role": "user" | "assistant", "content": [block, ...]} where a block is one of
  {"text": str}, {"toolUse": {"toolUseId", "name", "input"}},
  {"toolResult": {"toolUseId", "content": [{"text": str}], "status": "success" | "error"}}.
The OpenAI client translates to and from the chat-completions format at its edge.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

Message = dict[str, Any]


class ModelError(RuntimeError):
    """The model call failed (network, HTTP status, refused request, malformed answer)."""


@dataclass(frozen=True)
class ToolUse:
    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class ModelReply:
    text: str
    tool_uses: list[ToolUse] = field(default_factory=list)
    stop_reason: str = "end_turn"

    def as_message(self) -> Message:
        content: list[dict[str, Any]] = []
        if self.text:
            content.append({"text": self.text})
        for use in self.tool_uses:
            content.append({"toolUse": {"toolUseId": use.id, "name": use.name, "input": use.input}})
        return {"role": "assistant", "content": content or [{"text": ""}]}


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    schema: dict[str, Any]


class ModelClient(Protocol):
    def converse(
        self, *, model: str, system: str, messages: list[Message], tools: list[ToolSpec]
    ) -> ModelReply: ...


# --- Bedrock -------------------------------------------------------------------------------


class BedrockClient:
    """Calls bedrock-runtime Converse (boto3 is in the Lambda Python runtime)."""

    def __init__(self, *, region: str | None = None, max_tokens: int = 2048) -> None:
        import boto3  # imported here so the rest of the runtime stays stdlib-only

        self._client = boto3.client("bedrock-runtime", region_name=region)
        self._max_tokens = max_tokens

    def converse(
        self, *, model: str, system: str, messages: list[Message], tools: list[ToolSpec]
    ) -> ModelReply:
        if model.startswith("openai:"):
            raise ModelError(f"model {model} needs OPENAI_BASE_URL; Bedrock cannot serve it")
        from botocore.exceptions import BotoCoreError, ClientError

        request: dict[str, Any] = {
            "modelId": model,
            "system": [{"text": system}],
            "messages": messages,
            "inferenceConfig": {"maxTokens": self._max_tokens},
        }
        if tools:
            request["toolConfig"] = {
                "tools": [
                    {
                        "toolSpec": {
                            "name": t.name,
                            "description": t.description,
                            "inputSchema": {"json": t.schema},
                        }
                    }
                    for t in tools
                ]
            }
        try:
            response = self._client.converse(**request)
        except (BotoCoreError, ClientError) as exc:
            raise ModelError(f"Bedrock Converse failed for {model}: {exc}") from exc
        return parse_converse_output(response)


def parse_converse_output(response: Mapping[str, Any]) -> ModelReply:
    try:
        content = response["output"]["message"]["content"]
    except (KeyError, TypeError) as exc:
        raise ModelError("Converse response has no output message") from exc
    texts: list[str] = []
    uses: list[ToolUse] = []
    for block in content:
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            uses.append(ToolUse(use["toolUseId"], use["name"], dict(use.get("input") or {})))
    return ModelReply("".join(texts), uses, str(response.get("stopReason", "end_turn")))


# --- OpenAI-compatible ---------------------------------------------------------------------


class OpenAIClient:
    """POSTs to {base_url}/chat/completions (OpenAI's chat-completions wire format)."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_tokens: int = 2048,
    ) -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._api_key = api_key
        self._timeout = timeout
        self._max_tokens = max_tokens

    def model_name(self, model: str) -> str:
        if self._model:
            return self._model
        return model.removeprefix("openai:")

    def converse(
        self, *, model: str, system: str, messages: list[Message], tools: list[ToolSpec]
    ) -> ModelReply:
        body: dict[str, Any] = {
            "model": self.model_name(model),
            "messages": to_openai_messages(system, messages),
            "max_tokens": self._max_tokens,
        }
        if tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.schema,
                    },
                }
                for t in tools
            ]
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(
            self._url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode("utf-8", "replace")
            raise ModelError(f"{self._url} answered HTTP {exc.code}: {detail}") from exc
        except (urllib.error.URLError, TimeoutError, OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"{self._url} failed: {exc}") from exc
        return parse_openai_response(payload)


def to_openai_messages(system: str, messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for message in messages:
        texts = [b["text"] for b in message["content"] if "text" in b]
        if message["role"] == "assistant":
            calls = [
                {
                    "id": b["toolUse"]["toolUseId"],
                    "type": "function",
                    "function": {
                        "name": b["toolUse"]["name"],
                        "arguments": json.dumps(b["toolUse"]["input"]),
                    },
                }
                for b in message["content"]
                if "toolUse" in b
            ]
            entry: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
            if calls:
                entry["tool_calls"] = calls
            out.append(entry)
            continue
        for block in message["content"]:
            if "toolResult" in block:
                result = block["toolResult"]
                text = "".join(c.get("text", "") for c in result["content"])
                out.append({"role": "tool", "tool_call_id": result["toolUseId"], "content": text})
        if texts:
            out.append({"role": "user", "content": "".join(texts)})
    return out


def parse_openai_response(payload: Any) -> ModelReply:
    try:
        choice = payload["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ModelError("chat-completions response has no choices[0].message") from exc
    uses: list[ToolUse] = []
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except json.JSONDecodeError:
            arguments = {"_invalid_arguments": function.get("arguments")}
        if not isinstance(arguments, dict):
            arguments = {"value": arguments}
        uses.append(ToolUse(str(call.get("id")), str(function.get("name")), arguments))
    finish = choice.get("finish_reason") or "stop"
    return ModelReply(message.get("content") or "", uses, "tool_use" if uses else str(finish))


def client_from_env(env: Mapping[str, str] | None = None) -> ModelClient:
    """OPENAI_BASE_URL (+ OPENAI_MODEL, OPENAI_API_KEY) selects the OpenAI path; else Bedrock."""
    env = os.environ if env is None else env
    base_url = env.get("OPENAI_BASE_URL")
    if base_url:
        return OpenAIClient(
            base_url=base_url,
            model=env.get("OPENAI_MODEL") or None,
            api_key=env.get("OPENAI_API_KEY") or None,
            timeout=float(env.get("OPENAI_TIMEOUT", "120")),
        )
    return BedrockClient(region=env.get("AWS_REGION") or None)
