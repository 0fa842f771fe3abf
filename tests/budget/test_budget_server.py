"""The daily budget through the service: a research job spends it, is stopped by it at its next
model call, and then every new model job of the workspace is refused up front, whatever its
session id; other endpoints and other workspaces are untouched."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agents.budget import ChargedRegistry
from agents.chat import ChatConfig, ChatDeps, chat_pipeline
from agents.llm.port import StaticRegistry, Usage
from agents.protocol import Scope
from agents.research.pipeline import research_pipeline
from server.composition import Wired
from tests.chat.memory_store import MemoryArtifactStore, MemoryChatSessionStore
from tests.conftest import make_settings, mint
from tests.research.support import make_deps, scripted_models
from tests.support.pipelines import control_hub_pipelines
from tests.support.scripted_llm import Reply, ScriptedLLM
from tests.support.server import run_server
from tests.support.wsclient import CHAT, PAYLOADS, RESEARCH, Outcome, run

pytestmark = pytest.mark.anyio


def charged_wiring(tmp_path: Path) -> Any:
    """Research and chat over scripted models, charged as server/wiring.py charges them."""

    @contextlib.asynccontextmanager
    async def wiring(infra: Any) -> AsyncIterator[Wired]:
        import httpx

        research_deps = make_deps(scripted_models(), tmp_path)
        research_deps = dataclasses.replace(
            research_deps, llms=ChargedRegistry(research_deps.llms, infra.budget)
        )
        chat_llm = ScriptedLLM(fallback=Reply(text="An answer.", usage=Usage(50, 10)))
        async with httpx.AsyncClient() as http:
            chat = chat_pipeline(
                ChatDeps(
                    llms=ChargedRegistry(StaticRegistry(default=chat_llm), infra.budget),
                    sessions=MemoryChatSessionStore(),
                    artifacts=MemoryArtifactStore(),
                    http=http,
                    config=ChatConfig(workspace_daily_tokens=infra.budget.limit),
                )
            )
            yield Wired(
                pipelines={
                    "research": research_pipeline(research_deps),
                    "chat": chat,
                    **control_hub_pipelines(),
                }
            )

    return wiring


async def test_research_spends_the_budget_then_new_model_jobs_are_refused(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "data", QUBITZ_WORKSPACE_DAILY_TOKENS="1")
    with run_server(settings, charged_wiring(tmp_path)) as srv:
        uct, ch = mint(srv, Scope.UCT), mint(srv, Scope.CONTROL_HUB)
        other = mint(srv, Scope.UCT, workspace="ws2")
        stopped = await run(f"{srv.ws}/research?api_key={uct}", RESEARCH)
        refused: dict[str, Outcome] = {
            "research": await run(
                f"{srv.ws}/research?api_key={uct}", {**RESEARCH, "session_id": "fresh"}
            ),
            "chat": await run(f"{srv.ws}/chat?api_key={uct}", {**CHAT, "session_id": "new"}),
            "getspec": await run(f"{srv.ws}/getspec?api_key={ch}", PAYLOADS["getspec"]),
            "updatespec": await run(f"{srv.ws}/updatespec?api_key={ch}", PAYLOADS["updatespec"]),
        }
        deploy = await run(f"{srv.ws}/deploy?api_key={ch}", PAYLOADS["deploy"])
        elsewhere = await run(f"{srv.ws}/research?api_key={other}", RESEARCH)

    # The running job: the planner's call spent the budget; the next call stopped the job.
    error = stopped.events[-1]
    assert (error["type"], error["error"], error["step"]) == (
        "error",
        "TOKEN_LIMIT_EXCEEDED",
        "research",
    )
    assert stopped.close_code == 1000
    assert [e["seq"] for e in stopped.events] == list(range(1, len(stopped.events) + 1))
    assert any(e["type"] == "multiagent_step" and e["step"] == "planning" for e in stopped.events)

    # New jobs: refused up front, in each endpoint's own error shape, before any job starts.
    for name, out in refused.items():
        assert out.close_code == 1000, (name, out)
        (event,) = out.events
        code = event["data"]["error"] if "data" in event else event["error"]
        assert code.upper() == "TOKEN_LIMIT_EXCEEDED", (name, event)
        assert "job_id" not in event, "no job was started"
    assert refused["chat"].events[0]["type"] == "chat_error"
    assert refused["chat"].events[0]["session_id"] == "new"
    assert refused["getspec"].events[0]["data"]["error"] == "token_limit_exceeded"

    assert deploy.events[-1]["type"] == "complete", "deploy calls no model: not refused"
    # Another workspace has its own budget: its job starts and gets its planner's call.
    assert elsewhere.events[0]["job_id"] != stopped.events[0]["job_id"]
    assert any(e.get("step") == "planning" for e in elsewhere.events)
