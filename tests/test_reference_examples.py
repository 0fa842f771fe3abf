"""The reference's Python examples, pointed at a local qubitz, work unchanged but for the URL.

The pipelines are the real research and getspec pipelines (real PDF rendering, real artifact
store and spec store); only the model is scripted.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from agents.llm.port import StaticRegistry
from agents.protocol import Scope
from agents.reports import render_pdf_async
from agents.research.deps import ResearchDeps
from agents.research.pipeline import research_pipeline
from agents.sources.corpus import CorpusProvider
from agents.spec.deps import SpecDeps
from agents.spec.generate import getspec_pipeline
from server.composition import Core, Wired
from server.db.research import ResearchRepository
from server.db.specs import SqlSpecStore
from server.storage import LocalArtifactStore, artifact_routes
from tests.conftest import make_settings, mint
from tests.research.support import scripted_models
from tests.spec.helpers import ReportLoader, design
from tests.support.scripted_llm import ScriptedLLM
from tests.support.server import run_server

pytestmark = pytest.mark.anyio


# --- from protocol-reference.md, "Python" (base URL made a parameter) ----------------------
BASE = "ws://127.0.0.1:0"


async def connect_qubitz(endpoint: str, api_key: str, payload: dict):  # type: ignore[no-untyped-def]
    """Connect to a Qubitz WebSocket endpoint and yield messages."""
    url = f"{BASE}/{endpoint}?api_key={api_key}"

    async with websockets.connect(
        url,
        ping_interval=30,
        ping_timeout=300,
        close_timeout=60,
    ) as ws:
        await ws.send(json.dumps(payload))

        async for raw in ws:
            msg = json.loads(raw)
            yield msg

            if msg.get("type") in ("complete", "error", "chat_error"):
                break


async def run_research(key: str, out: list[str]) -> None:
    async for msg in connect_qubitz(
        "research",
        key,
        {
            "prompt": "Latest AI Trends 2026",
            "company_name": "TestCompany",
            "company_url": "https://example.com/",
            "user_id": "user123",
            "session_id": "session456",
        },
    ):
        match msg["type"]:
            case "status" | "multiagent_step":
                out.append(f"[{msg['type']}] {msg.get('message', '')}")
            case "s3_upload_complete":
                out.append(f"Uploaded: {msg['s3_url']}")
            case "use_cases_complete":
                for uc in msg["use_cases"]:
                    out.append(f"  - {uc['title']} ({uc['impact_score']})")
            case "complete":
                out.append(f"Report: {msg['s3_deep_research_report_url']}")
                out.append(f"PDF:    {msg['s3_deep_research_pdf_url']}")
            case "error":
                out.append(f"ERROR: {msg.get('message')}")


async def generate_spec(key: str, out: list[str]) -> None:
    async for msg in connect_qubitz(
        "getspec",
        key,
        {
            "user_id": "user123",
            "project_id": "project21",
            "use_case_name": "Financial Research Platform",
            "use_case_description": "AI-powered investment research...",
        },
    ):
        if msg["type"] == "architecture":
            agents = msg["data"]["architecture"]["agents_config"]
            out.append(f"Generated {len(agents)} agents: {list(agents.keys())}")
            break


# --------------------------------------------------------------------------------------------


def wiring(tmp_path: Path, spec_llm: ScriptedLLM) -> Any:
    @contextlib.asynccontextmanager
    async def wire(core: Core) -> AsyncIterator[Wired]:
        store = LocalArtifactStore(tmp_path / "artifacts", core.settings.resolved_public_url)
        research = ResearchDeps(
            llms=scripted_models().registry(),
            artifacts=store,
            sources=[CorpusProvider(None)],
            projects=ResearchRepository(core.sessions),
            render_pdf=render_pdf_async,
        )
        spec = SpecDeps(
            llms=StaticRegistry(default=spec_llm),
            store=SqlSpecStore(core.sessions),
            load_report=ReportLoader(),
        )
        yield Wired(
            pipelines={"research": research_pipeline(research), "getspec": getspec_pipeline(spec)},
            routes=artifact_routes(store),
        )

    return wire


async def test_reference_python_examples_print_every_stage(tmp_path: Path) -> None:
    global BASE
    spec_llm = ScriptedLLM().enqueue(
        "Two agents: one researches, one analyses.", design("research_agent", "analysis_agent")
    )
    with run_server(make_settings(tmp_path / "data"), wiring(tmp_path, spec_llm)) as srv:
        BASE = srv.ws
        research_out: list[str] = []
        spec_out: list[str] = []
        await run_research(mint(srv, Scope.UCT), research_out)
        await generate_spec(mint(srv, Scope.CONTROL_HUB), spec_out)
        pdf_url = next(line.split()[-1] for line in research_out if line.startswith("PDF:"))
        async with httpx.AsyncClient() as http:
            pdf = await http.get(pdf_url)
    assert any(line.startswith("[multiagent_step]") for line in research_out)
    uploads = [line for line in research_out if line.startswith("Uploaded: ")]
    assert len(uploads) == 8
    assert any(line.startswith("  - ") for line in research_out)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert spec_out == ["Generated 2 agents: ['research_agent', 'analysis_agent']"]
