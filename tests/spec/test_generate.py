"""/getspec: streamed rationale, validated structured spec, repair loop, versioned storage."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from agents.llm.errors import LLMServerError
from agents.protocol import GetSpecRequest
from agents.spec.generate import getspec_pipeline
from agents.spec.schema import Architecture
from tests.spec.helpers import (
    ReportLoader,
    SchemaCheckedLLM,
    collect,
    design,
    make_deps,
    sql_store,
    types,
)
from tests.support.scripted_llm import Reply, ScriptedLLM

RATIONALE = "Two agents: a research agent gathers sources, an analysis agent writes the brief."


def request(project: str = "project21", s3_uri: str | None = None) -> GetSpecRequest:
    return GetSpecRequest(
        user_id="user123",
        project_id=project,
        use_case_name="Automated Financial Research",
        use_case_description="Investment firms need accurate, scalable market research.",
        s3_uri=s3_uri,
        session_id="sess-1",
    )


def test_events_arrive_in_protocol_order_and_spec_is_stored(tmp_path: Path) -> None:
    """ack -> stream_start -> stream_chunk* -> stream_end -> architecture; version 1 pending."""

    async def scenario() -> None:
        llm = ScriptedLLM().enqueue(Reply(text=RATIONALE, chunk_size=10), design())
        async with sql_store(tmp_path) as store:
            events = await collect(getspec_pipeline(make_deps(llm, store)), request())
            kinds = types(events)
            n = kinds.count("stream_chunk")
            assert n >= 1
            assert kinds == [
                "ack",
                "stream_start",
                *["stream_chunk"] * n,
                "stream_end",
                "architecture",
            ]
            ack, start = events[0]["data"], events[1]["data"]
            assert ack == {
                "user_id": "user123",
                "session_id": "sess-1",
                "project_id": "project21",
                "action": "generate",
                "status": "processing",
            }
            assert start["model"] == "scripted-model"
            chunks = [e["data"] for e in events if e["type"] == "stream_chunk"]
            assert [c["chunk_index"] for c in chunks] == list(range(n))
            assert "".join(c["chunk"] for c in chunks) == RATIONALE
            assert events[-2]["data"]["total_chunks"] == n
            data = events[-1]["data"]
            assert data["status"] == "pending"
            assert data["version"] == 1
            assert list(data["architecture"]["agents_config"]) == [
                "research_agent",
                "analysis_agent",
            ]
            assert data["architecture"]["gateway_config"]["targets"] == [
                {"path": "/invoke", "agent": "research_agent"}
            ]
            stored = await store.current("ws1", "project21")
            assert stored is not None
            assert stored.version == 1
            assert stored.action == "generate"
            assert stored.architecture() == Architecture.model_validate(data["architecture"])
            # The structured step continues the rationale's conversation (same system prompt,
            # same first message: the local model reuses that prefix) and asks for JSON.
            draft, final = llm.requests
            assert final.json_schema is not None
            assert final.system == draft.system
            assert final.messages[0] == draft.messages[0]
            assert final.messages[1].role == "assistant"
            assert final.messages[1].content == RATIONALE
            assert "http_fetch" in final.system
            assert "summary" in final.system

    asyncio.run(scenario())


def test_invalid_first_spec_is_repaired_with_validation_errors(tmp_path: Path) -> None:
    """An invalid spec goes back to the model with its errors; the repaired spec is stored."""

    async def scenario() -> None:
        bad = design()  # what a provider without a grammar may return
        bad["agents"][0]["tools"] = ["web_search"]
        bad["orchestration"]["order"] = ["research_agent", "ghost_agent"]
        llm = ScriptedLLM().enqueue(RATIONALE, bad, design())
        async with sql_store(tmp_path) as store:
            events = await collect(getspec_pipeline(make_deps(llm, store)), request())
            assert types(events)[-1] == "architecture"
            assert len(llm.requests) == 3
            repair = llm.requests[2].messages[-1].content
            assert "agents_config.research_agent.tools.0" in repair
            tools = events[-1]["data"]["architecture"]["agents_config"]["research_agent"]["tools"]
            assert tools == ["http_fetch"]

    asyncio.run(scenario())


def test_duplicate_keys_in_the_models_json_are_sent_back_for_repair(tmp_path: Path) -> None:
    """Raw model text with a repeated key is an error even though a dict would hide it."""

    async def scenario() -> None:
        body = json.dumps(design())
        dup_text = body[:-1] + ', "gateway_targets": []}'
        llm = ScriptedLLM().enqueue(RATIONALE, Reply(text=dup_text, structured=design()), design())
        async with sql_store(tmp_path) as store:
            events = await collect(getspec_pipeline(make_deps(llm, store)), request())
            assert types(events)[-1] == "architecture"
            assert "duplicate key 'gateway_targets'" in llm.requests[2].messages[-1].content

    asyncio.run(scenario())


def test_gives_up_after_two_repairs_with_errors_in_details(tmp_path: Path) -> None:
    """Three invalid specs -> generation_failed with the last validation errors; nothing stored."""

    async def scenario() -> None:
        bad = design()
        bad["agents"][1]["memory"] = {"enabled": True, "strategies": ["vector_store"]}
        llm = ScriptedLLM().enqueue(RATIONALE, bad, bad, bad)
        async with sql_store(tmp_path) as store:
            events = await collect(getspec_pipeline(make_deps(llm, store)), request())
            assert types(events)[0:2] == ["ack", "stream_start"]
            err = events[-1]
            assert err["type"] == "error"
            assert err["data"]["error"] == "generation_failed"
            assert "stream_end" not in types(events)
            assert "architecture" not in types(events)
            assert any("memory.strategies.0" in d for d in err["data"]["details"])
            assert len(llm.requests) == 4  # rationale + 1 try + 2 repairs
            assert await store.current("ws1", "project21") is None

    asyncio.run(scenario())


def test_model_failure_is_generation_failed(tmp_path: Path) -> None:
    """A provider error surfaces as generation_failed, not a crash."""

    async def scenario() -> None:
        llm = ScriptedLLM().enqueue(RATIONALE, Reply(error=LLMServerError("boom", provider="x")))
        async with sql_store(tmp_path) as store:
            events = await collect(getspec_pipeline(make_deps(llm, store)), request())
            assert events[-1]["data"]["error"] == "generation_failed"
            assert "boom" in events[-1]["data"]["message"]

    asyncio.run(scenario())


def test_report_is_loaded_for_the_callers_workspace_and_given_to_the_model(tmp_path: Path) -> None:
    """s3_uri is resolved through the loader with (url, workspace_id); its text is in the prompt."""

    async def scenario() -> None:
        url = "https://reports.example/r.md"
        loader = ReportLoader({(url, "ws1"): "REPORT: banks adopt agents fast."})
        llm = ScriptedLLM().enqueue(RATIONALE, design())
        async with sql_store(tmp_path) as store:
            events = await collect(
                getspec_pipeline(make_deps(llm, store, loader)), request(s3_uri=url)
            )
            assert types(events)[-1] == "architecture"
            assert loader.calls == [(url, "ws1")]
            assert "banks adopt agents fast" in llm.requests[0].messages[0].content

    asyncio.run(scenario())


def test_regenerating_adds_a_version_per_workspace(tmp_path: Path) -> None:
    """A second /getspec is version 2; the same project id in another workspace starts at 1."""

    async def scenario() -> None:
        llm = ScriptedLLM(fallback=Reply(text=RATIONALE))
        async with sql_store(tmp_path) as store:
            deps = make_deps(llm, store)
            for ws, expected in [("ws1", 1), ("ws1", 2), ("ws2", 1)]:
                llm.enqueue(RATIONALE, design())
                events = await collect(getspec_pipeline(deps), request(), workspace=ws)
                assert events[-1]["data"]["version"] == expected
            assert [v.version for v in await store.history("ws1", "project21")] == [1, 2]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "reply",
    [
        Reply(text="", structured=design()),  # tool-based structured output: no text
        Reply(text="Here you go:\n```json\n" + json.dumps(design()) + "\n```\nDone."),  # prompt
    ],
    ids=["structured_only", "fenced_text_only"],
)
def test_spec_is_read_from_structured_field_or_from_fenced_text(
    tmp_path: Path, reply: Reply
) -> None:
    """Providers differ in where the JSON comes back; both places are accepted."""

    async def scenario() -> None:
        llm = ScriptedLLM().enqueue(RATIONALE, reply)
        async with sql_store(tmp_path) as store:
            events = await collect(getspec_pipeline(make_deps(llm, store)), request())
            assert types(events)[-1] == "architecture"
            assert len(llm.requests) == 2

    asyncio.run(scenario())


def test_references_to_unknown_agents_are_repaired_under_an_enum_of_the_agents(
    tmp_path: Path,
) -> None:
    """Only orchestration and targets are asked again, with the defined agent ids as an enum."""

    async def scenario() -> None:
        bad = design("intake_agent", "approver_agent")
        bad["orchestration"] = {
            "pattern": "pipeline",
            "entry_agent": "intake",
            "order": ["intake", "approver_agent"],
        }
        fixed = {
            "orchestration": {
                "pattern": "pipeline",
                "entry_agent": "intake_agent",
                "order": ["intake_agent", "approver_agent"],
            },
            "gateway_targets": [],
        }
        llm = SchemaCheckedLLM().enqueue(RATIONALE, bad, fixed)
        async with sql_store(tmp_path) as store:
            events = await collect(getspec_pipeline(make_deps(llm, store)), request())
            assert types(events)[-1] == "architecture"
            fix = llm.requests[2]
            assert fix.json_schema is not None
            entry = fix.json_schema["properties"]["orchestration"]["properties"]["entry_agent"]
            assert entry["enum"] == ["intake_agent", "approver_agent"]
            assert "'intake' is not an agent" in fix.messages[-1].content
            arch = events[-1]["data"]["architecture"]
            assert arch["orchestration"]["order"] == ["intake_agent", "approver_agent"]
            assert arch["gateway_config"]["targets"] == [
                {"path": "/invoke", "agent": "intake_agent"}
            ]
            # The agents themselves are the model's first answer, untouched by the repair.
            assert list(arch["agents_config"]) == ["intake_agent", "approver_agent"]

    asyncio.run(scenario())


def test_rationale_chunks_hold_a_window_of_tokens(tmp_path: Path) -> None:
    """Tokens 0.1 s apart are sent about one chunk per stream_window, text intact."""

    async def scenario() -> None:
        words = [f"w{i} " for i in range(300)]  # 30 s of tokens at 10 tok/s
        ticks = iter(i * 0.1 for i in range(10_000))
        llm = ScriptedLLM().enqueue(Reply(text="".join(words), chunk_size=4), design())
        async with sql_store(tmp_path) as store:
            deps = replace(make_deps(llm, store), clock=lambda: next(ticks))
            events = await collect(getspec_pipeline(deps), request())
        chunks = [e["data"]["chunk"] for e in events if e["type"] == "stream_chunk"]
        assert "".join(chunks) == "".join(words)
        assert 15 <= len(chunks) <= 60, len(chunks)
        assert events[-2]["data"]["total_chunks"] == len(chunks)

    asyncio.run(scenario())
