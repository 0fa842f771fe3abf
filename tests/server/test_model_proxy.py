"""The OpenAI-compatible endpoint locally deployed apps call, over qubitz's own model."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from agents.llm.errors import LLMRateLimitError
from agents.llm.port import Message, StaticRegistry, Usage
from server.model_proxy import model_proxy_routes, to_port_messages
from tests.support.scripted_llm import Reply, ScriptedLLM

pytestmark = pytest.mark.anyio


def client(llm: ScriptedLLM) -> httpx.AsyncClient:
    app = Starlette(routes=model_proxy_routes(StaticRegistry(default=llm), "secret-token"))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


AUTH = {"Authorization": "Bearer secret-token"}


async def test_answers_in_the_chat_completions_format_with_usage() -> None:
    llm = ScriptedLLM().enqueue(Reply(text="Hello there", usage=Usage(12, 3)))
    async with client(llm) as http:
        res = await http.post(
            "/v1/chat/completions",
            headers=AUTH,
            json={
                "model": "qubitz",
                "max_tokens": 50,
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "hi"},
                ],
            },
        )
    body = res.json()
    assert res.status_code == 200
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hello there"}
    assert body["usage"] == {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    assert llm.requests[0].system == "Be brief."
    assert llm.requests[0].max_tokens == 50


async def test_refuses_a_wrong_token_and_bad_bodies() -> None:
    async with client(ScriptedLLM()) as http:
        wrong = await http.post(
            "/v1/chat/completions", json={"messages": []}, headers={"Authorization": "Bearer nope"}
        )
        bad = await http.post("/v1/chat/completions", headers=AUTH, content=b"{")
        stream = await http.post(
            "/v1/chat/completions", headers=AUTH, json={"messages": [], "stream": True}
        )
    assert wrong.status_code == 401
    assert bad.status_code == 400
    assert stream.status_code == 400 and "stream" in stream.json()["error"]["message"]


async def test_provider_overload_is_a_503() -> None:
    llm = ScriptedLLM().enqueue(Reply(error=LLMRateLimitError("slow down", retry_after=1)))
    async with client(llm) as http:
        res = await http.post(
            "/v1/chat/completions",
            headers=AUTH,
            json={"messages": [{"role": "user", "content": "hi"}]},
        )
    assert res.status_code == 503


def test_tool_turns_become_alternating_messages() -> None:
    system, messages = to_port_messages(
        [
            {"role": "system", "content": "S"},
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]},
            {"role": "tool", "tool_call_id": "1", "content": "42"},
        ]
    )
    assert system == "S"
    assert messages == [Message("user", "q\n\nTool result:\n42")]
