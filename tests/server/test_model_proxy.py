"""The OpenAI-compatible endpoint locally deployed apps call, over qubitz's own model."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from agents.deploy.targets.local import LocalTarget, LocalTargetConfig
from agents.deploy.targets.supervisor import ProcessSupervisor
from agents.llm.errors import LLMRateLimitError
from agents.llm.port import Message, StaticRegistry, Usage
from server.gateway.router import LocalAppRouter
from server.model_proxy import model_proxy_routes, to_port_messages
from server.model_proxy_access import (
    AppIdentity,
    Busy,
    ProxyAdmission,
    ProxyLimits,
    ProxyTokens,
)
from tests.support.scripted_llm import Reply, ScriptedLLM

pytestmark = pytest.mark.anyio


TOKENS = ProxyTokens()


def client(llm: ScriptedLLM, limits: ProxyLimits | None = None) -> httpx.AsyncClient:
    routes = model_proxy_routes(StaticRegistry(default=llm), TOKENS, limits=limits)
    app = Starlette(routes=routes)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def auth(workspace: str = "ws1", app: str = "app-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS.issue(workspace, app)}"}


AUTH = auth()
HI = {"messages": [{"role": "user", "content": "hi"}]}


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


def test_each_app_has_its_own_unforgeable_token() -> None:
    a, b = TOKENS.issue("ws1", "app-1"), TOKENS.issue("ws2", "app-1")
    assert a != b
    assert TOKENS.verify(a) == AppIdentity("ws1", "app-1")
    assert TOKENS.verify(b) == AppIdentity("ws2", "app-1")
    assert ProxyTokens().verify(a) is None, "another process's secret issues other tokens"
    forged = a.rsplit(".", 1)[0] + "." + "0" * 64
    for bad in (forged, "", "mpx_", "mpx_!!.x", a + "x", "Bearer " + a, "mpx_" + "A" * 700):
        assert TOKENS.verify(bad) is None, bad


async def test_a_shared_token_no_longer_opens_the_proxy() -> None:
    async with client(ScriptedLLM()) as http:
        res = await http.post(
            "/v1/chat/completions", json=HI, headers={"Authorization": "Bearer secret-token"}
        )
    assert res.status_code == 401


async def test_bodies_over_the_cap_are_refused_without_being_read_whole() -> None:
    llm = ScriptedLLM(fallback=Reply(text="ok"))
    async with client(llm, ProxyLimits(max_body_bytes=1000)) as http:
        big = await http.post(
            "/v1/chat/completions",
            headers=AUTH,
            json={"messages": [{"role": "user", "content": "x" * 5000}]},
        )

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(10):
                yield b"x" * 500

        streamed = await http.post("/v1/chat/completions", headers=AUTH, content=chunks())
    assert big.status_code == 413 and streamed.status_code == 413
    assert llm.requests == []


async def test_an_apps_rate_limit_is_its_own() -> None:
    llm = ScriptedLLM(fallback=Reply(text="ok"))
    limits = ProxyLimits(rate_per_minute=0.001, burst=2)
    async with client(llm, limits) as http:
        codes = [
            (await http.post("/v1/chat/completions", headers=AUTH, json=HI)).status_code
            for _ in range(3)
        ]
        other = await http.post("/v1/chat/completions", headers=auth(app="app-2"), json=HI)
    assert codes == [200, 200, 429]
    assert other.status_code == 200


def test_concurrency_per_app_and_shared_slots_leave_room_for_research_and_chat() -> None:
    admission = ProxyAdmission(ProxyLimits(max_concurrent=1, shared_slots=2, burst=100))
    a, b, c = (AppIdentity("ws", n) for n in ("a", "b", "c"))
    admission.enter(a)
    with pytest.raises(Busy, match="in flight"):
        admission.enter(a)
    admission.enter(b)
    with pytest.raises(Busy, match="other apps"):
        admission.enter(c)  # all apps together never hold more than shared_slots
    admission.leave(a)
    admission.enter(c)
    admission.leave(b)
    admission.leave(c)
    admission.enter(a)


def test_the_local_target_hands_each_app_its_own_token(tmp_path: Path) -> None:
    target = LocalTarget(
        LocalTargetConfig(
            data_dir=tmp_path,
            public_url="http://127.0.0.1:1",
            python=sys.executable,
            model_base_url="http://127.0.0.1:1/v1",
            model_name="qubitz",
            model_api_key_for=TOKENS.issue,
        ),
        router=LocalAppRouter(),
        supervisor=ProcessSupervisor(python=sys.executable),
    )
    env_a = target._app_env("ws1", "app-a")
    env_b = target._app_env("ws2", "app-b")
    assert TOKENS.verify(env_a["OPENAI_API_KEY"]) == AppIdentity("ws1", "app-a")
    assert TOKENS.verify(env_b["OPENAI_API_KEY"]) == AppIdentity("ws2", "app-b")


async def test_calls_are_charged_to_the_apps_workspace_and_refused_with_429_once_spent() -> None:
    from agents.budget import ChargedRegistry, DailyBudget, MemoryWorkspaceTokenUsage

    llm = ScriptedLLM(fallback=Reply(text="Hi", usage=Usage(700, 400)))
    budget = DailyBudget(MemoryWorkspaceTokenUsage(), 1000)
    routes = model_proxy_routes(ChargedRegistry(StaticRegistry(default=llm), budget), TOKENS)
    app = Starlette(routes=routes)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        first = await http.post("/v1/chat/completions", headers=auth("ws1", "a"), json=HI)
        left_after_first = await budget.left("ws1")
        spent = await http.post("/v1/chat/completions", headers=auth("ws1", "b"), json=HI)
        other = await http.post("/v1/chat/completions", headers=auth("ws2", "c"), json=HI)
    assert first.status_code == 200
    assert left_after_first == 0, "1100 tokens charged to ws1, whichever of its apps called"
    assert spent.status_code == 429
    assert spent.json()["error"]["type"] == "insufficient_quota"
    assert spent.json()["error"]["code"] == "token_limit_exceeded"
    assert int(spent.headers["Retry-After"]) >= 1
    assert len(llm.requests) == 2, "the refused call never reached the model"
    assert other.status_code == 200
