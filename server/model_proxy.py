"""An OpenAI-compatible `POST /v1/chat/completions` over qubitz's own configured model.

Apps deployed to the local target call it (OPENAI_BASE_URL=<public url>/v1), so a deployed
agent works offline with the embedded model. Each app has its own bearer token and its own rate
and concurrency limits, bodies are capped, and all apps together hold at most a few of the
model's slots so research and chat keep their share (server/model_proxy_access.py).
Every call is charged to the app's workspace's daily token budget (agents/budget.py: the
registry wiring hands over is a ChargedRegistry); when it is spent the proxy answers 429 with
`{"error": {"type": "insufficient_quota", "code": "token_limit_exceeded", …}}` and Retry-After
(seconds to 00:00 UTC). Tool definitions are accepted but not offered to the model: answers are
plain text (documented in docs/deploy.md); tool results already in the conversation are passed
on as context.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agents.budget import DailyBudgetSpent, charged_to, seconds_to_reset
from agents.llm.errors import LLMError, LLMRetryableError
from agents.llm.port import CompletionRequest, LLMRegistry, Message, Role, complete
from server.model_proxy_access import Busy, ProxyAdmission, ProxyLimits, ProxyTokens


def _error(status: int, message: str, kind: str, code: str | None = None) -> JSONResponse:
    error: dict[str, str] = {"message": message, "type": kind}
    if code is not None:
        error["code"] = code
    return JSONResponse({"error": error}, status_code=status)


def to_port_messages(raw: list[Any]) -> tuple[str, list[Message]]:
    """OpenAI messages -> (system prompt, alternating user/assistant messages)."""
    system: list[str] = []
    out: list[Message] = []

    def add(role: str, text: str) -> None:
        if not text:
            return
        if out and out[-1].role == role:
            out[-1] = Message(out[-1].role, out[-1].content + "\n\n" + text)
        else:
            out.append(Message(role, text))  # type: ignore[arg-type]

    for item in raw:
        if not isinstance(item, dict):
            raise ValueError("messages must be objects")
        role, content = item.get("role"), item.get("content") or ""
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            raise ValueError("message content must be text")
        if role == "system":
            system.append(content)
        elif role == "user":
            add("user", content)
        elif role == "assistant":
            add("assistant", content)
        elif role == "tool":
            add("user", f"Tool result:\n{content}")
        else:
            raise ValueError(f"unknown message role {role!r}")
    if not out or out[-1].role != "user":
        add("user", "Continue.")
    return "\n\n".join(system), out


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it passes `limit` bytes (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)


def model_proxy_routes(
    registry: LLMRegistry,
    tokens: ProxyTokens,
    *,
    limits: ProxyLimits | None = None,
    role: Role = Role.ANALYST,
) -> list[Route]:
    limits = limits or ProxyLimits()
    admission = ProxyAdmission(limits)

    async def completions(request: Request) -> Response:
        supplied = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        app = tokens.verify(supplied)
        if app is None:
            return _error(401, "invalid or missing bearer token", "authentication_error")
        raw = await _read_capped(request, limits.max_body_bytes)
        if raw is None:
            return _error(
                413, f"body exceeds {limits.max_body_bytes} bytes", "invalid_request_error"
            )
        try:
            admission.enter(app)
        except Busy as exc:
            response = _error(429, exc.message, "rate_limit_error")
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
            return response
        try:
            with charged_to(app.workspace_id):
                return await _complete(raw)
        except DailyBudgetSpent as exc:
            response = _error(429, exc.message, "insufficient_quota", "token_limit_exceeded")
            response.headers["Retry-After"] = str(round(seconds_to_reset()))
            return response
        finally:
            admission.leave(app)

    async def _complete(raw: bytes) -> Response:
        try:
            body = orjson.loads(raw)
            if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
                raise ValueError("body must be an object with a messages list")
            if body.get("stream"):
                raise ValueError("stream=true is not supported by this endpoint")
            system, messages = to_port_messages(body["messages"])
            max_tokens = int(body.get("max_tokens") or 1024)
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return _error(400, str(exc), "invalid_request_error")
        llm = registry.for_role(role)
        try:
            result = await complete(
                llm,
                CompletionRequest(
                    system=system,
                    messages=messages,
                    max_tokens=max(1, min(max_tokens, limits.max_output_tokens)),
                    temperature=body.get("temperature"),
                ),
            )
        except LLMRetryableError as exc:
            return _error(503, exc.message, "overloaded_error")
        except LLMError as exc:
            return _error(502, exc.message, "api_error")
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": llm.model,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "length"
                        if result.stop_reason in {"max_tokens", "length"}
                        else "stop",
                        "message": {"role": "assistant", "content": result.text},
                    }
                ],
                "usage": {
                    "prompt_tokens": result.usage.input_tokens,
                    "completion_tokens": result.usage.output_tokens,
                    "total_tokens": result.usage.total_tokens,
                },
            }
        )

    return [Route("/v1/chat/completions", completions, methods=["POST"])]
