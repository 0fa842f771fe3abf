"""/updatespec: typed edit operations, untouched parts byte-identical, diff, rollback, isolation."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from agents.llm.structured import closed_schema, grammar_gaps
from agents.protocol import UpdateSpecRequest
from agents.spec.edits import apply_edits, edit_schema
from agents.spec.store import SpecStore
from agents.spec.update import NO_ARCHITECTURE_MESSAGE, updatespec_pipeline
from agents.spec.validation import canonical_json, validate_spec
from tests.spec.helpers import (
    MODEL,
    OTHER_MODEL,
    SchemaCheckedLLM,
    agent,
    collect,
    make_deps,
    spec_dict,
    sql_store,
    types,
)
from tests.support.scripted_llm import Reply, ScriptedLLM

PLAN = "Add a security agent after research; switch analysis to Haiku; keep the rest."
IDS = ("research_agent", "analysis_agent", "writer_agent")


def update(text: str | None = None, rollback: int | None = None) -> UpdateSpecRequest:
    return UpdateSpecRequest(
        user_id="user123", project_id="project21", user_input=text, rollback_to=rollback
    )


async def seed(store: SpecStore, ws: str = "ws1", *ids: str) -> str:
    text = canonical_json(validate_spec(spec_dict(*(ids or IDS))))
    await store.append(
        ws, "project21", user_id="u", action="generate", instruction="seed", spec_json=text
    )
    return text


def agent_bytes(spec_json: str, agent_id: str) -> str:
    return canonical_json(json.loads(spec_json)["agents_config"][agent_id])


def new_agent(agent_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": agent_id, **agent(agent_id), **fields}


EDITS: dict[str, Any] = {
    "operations": [
        {"op": "add_agent", "agent": new_agent("security_agent"), "after": "research_agent"},
        {"op": "update_agent", "agent_id": "analysis_agent", "changes": {"model": OTHER_MODEL}},
    ]
}


def test_update_applies_edits_and_keeps_untouched_agents_byte_identical(tmp_path: Path) -> None:
    """Only the named agents change; the others keep their exact canonical bytes."""

    async def scenario() -> None:
        llm = SchemaCheckedLLM().enqueue(PLAN, EDITS)
        async with sql_store(tmp_path) as store:
            before = await seed(store)
            events = await collect(updatespec_pipeline(make_deps(llm, store)), update("add sec"))
            n = types(events).count("stream_chunk")
            assert n > 0
            assert types(events) == [
                "ack",
                "stream_start",
                *["stream_chunk"] * n,
                "stream_end",
                "architecture",
            ]
            assert events[0]["data"]["action"] == "update"
            after = await store.current("ws1", "project21")
            assert after is not None
            assert after.version == 2
            assert after.action == "update"
            assert after.instruction == "add sec"
            for untouched in ("research_agent", "writer_agent"):
                assert agent_bytes(after.spec_json, untouched) == agent_bytes(before, untouched)
                assert agent_bytes(before, untouched) in after.spec_json
            arch = events[-1]["data"]["architecture"]
            assert arch["agents_config"]["analysis_agent"]["model"] == OTHER_MODEL
            assert list(arch["agents_config"]) == [*IDS, "security_agent"]
            assert arch["orchestration"]["order"] == [
                "research_agent",
                "security_agent",
                "analysis_agent",
                "writer_agent",
            ]
            # One conversation: the plan request is the edit request's prefix.
            plan, edit = llm.requests
            assert json.dumps(json.loads(before), ensure_ascii=False) in plan.messages[0].content
            assert edit.system == plan.system
            assert edit.messages[0] == plan.messages[0]
            assert edit.messages[1].content == PLAN
            assert edit.json_schema is not None

    asyncio.run(scenario())


def test_edit_schema_names_existing_agents_and_closes_every_object() -> None:
    """Existing ids are an enum; no operation or agent accepts a field it does not name."""
    schema = closed_schema(edit_schema(list(IDS), [MODEL, OTHER_MODEL]))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert grammar_gaps(schema) == []
    jsonschema.validate(EDITS, schema)
    for bad in (
        {"op": "remove_agent", "agent_id": "nobody"},
        {"op": "update_agent", "agent_id": "writer_agent", "changes": {"orchestration": {}}},
        {"op": "add_agent", "agent": {**new_agent("s"), "gateway_config": {}}, "after": "end"},
        {"op": "add_agent", "agent": new_agent("s", tools=["shell"]), "after": "end"},
        {"op": "add_agent", "agent": new_agent("s", model="gpt-4o"), "after": "end"},
        {"op": "set_orchestration", "pattern": "pipeline", "entry_agent": "x", "order": []},
        {"op": "replace", "path": "/agents_config/writer_agent", "value": {}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"operations": [bad]}, schema)


def test_update_diff_names_added_removed_and_changed_paths(tmp_path: Path) -> None:
    """The diff lists added/removed agents and changed fields as JSON pointers."""

    async def scenario() -> None:
        edits = {
            "operations": [
                *EDITS["operations"],
                {"op": "remove_agent", "agent_id": "writer_agent"},
            ]
        }
        llm = SchemaCheckedLLM().enqueue(PLAN, edits)
        async with sql_store(tmp_path) as store:
            await seed(store)
            events = await collect(updatespec_pipeline(make_deps(llm, store)), update("x"))
            diff = events[-1]["data"]["diff"]
            assert diff == {
                "added": ["/agents_config/security_agent"],
                "removed": ["/agents_config/writer_agent"],
                "changed": ["/agents_config/analysis_agent/model", "/orchestration/order"],
            }

    asyncio.run(scenario())


def test_removing_the_entry_agent_moves_entry_and_targets() -> None:
    """Removing an agent takes it out of the order; its gateway target goes to the new entry."""
    current = spec_dict(*IDS)
    spec = apply_edits(current, {"operations": [{"op": "remove_agent", "agent_id": IDS[0]}]})
    assert spec.orchestration is not None
    assert spec.orchestration.entry_agent == "analysis_agent"
    assert spec.orchestration.order == ["analysis_agent", "writer_agent"]
    assert [t.agent for t in spec.gateway_config.targets] == ["analysis_agent"]


def test_added_agent_with_a_taken_id_gets_a_new_one() -> None:
    """add_agent never overwrites: the existing agent stays, the new one is `<id>_2`."""
    current = spec_dict(*IDS)
    op = {"op": "add_agent", "agent": new_agent("writer_agent", prompt="New."), "after": "end"}
    spec = apply_edits(current, {"operations": [op]})
    assert spec.agents_config["writer_agent"].prompt == "You are the writer_agent."
    assert spec.agents_config["writer_agent_2"].prompt == "New."
    assert spec.orchestration is not None
    assert spec.orchestration.order[-1] == "writer_agent_2"


def test_semantic_errors_are_repaired(tmp_path: Path) -> None:
    """A target naming an agent that does not exist goes back to the model with the error."""

    async def scenario() -> None:
        dangling = {
            "operations": [
                {"op": "set_gateway", "targets": [{"path": "/sec", "agent": "security_agnt"}]}
            ]
        }
        everything = {"operations": [{"op": "remove_agent", "agent_id": i} for i in IDS]}
        target = {"path": "/w", "agent": "writer_agent"}
        fixed = {"operations": [{"op": "set_gateway", "targets": [target]}]}
        llm = SchemaCheckedLLM().enqueue(PLAN, dangling, everything, fixed)
        async with sql_store(tmp_path) as store:
            await seed(store)
            events = await collect(updatespec_pipeline(make_deps(llm, store)), update("route"))
            assert types(events)[-1] == "architecture"
            assert "unknown agent" in llm.requests[2].messages[-1].content
            assert "remove every agent" in llm.requests[3].messages[-1].content
            targets = events[-1]["data"]["architecture"]["gateway_config"]["targets"]
            assert targets == [{"path": "/w", "agent": "writer_agent"}]

    asyncio.run(scenario())


def test_update_gives_up_after_repairs_and_keeps_current_version(tmp_path: Path) -> None:
    async def scenario() -> None:
        bad = {"operations": [{"op": "update_agent", "agent_id": "writer_agent",
                               "changes": {"tools": ["shell"]}}]}  # fmt: skip
        llm = ScriptedLLM().enqueue(PLAN, bad, bad, bad)  # not what a grammar lets through
        async with sql_store(tmp_path) as store:
            await seed(store)
            events = await collect(updatespec_pipeline(make_deps(llm, store)), update("x"))
            assert events[-1]["data"]["error"] == "generation_failed"
            assert any("writer_agent.tools.0" in d for d in events[-1]["data"]["details"])
            current = await store.current("ws1", "project21")
            assert current is not None
            assert current.version == 1

    asyncio.run(scenario())


def test_rollback_stores_a_new_version_equal_to_the_old_one(tmp_path: Path) -> None:
    """rollback_to N appends version N+k whose spec bytes equal version N's."""

    async def scenario() -> None:
        llm = ScriptedLLM().enqueue(PLAN, EDITS)
        async with sql_store(tmp_path) as store:
            v1 = await seed(store)
            deps = make_deps(llm, store)
            await collect(updatespec_pipeline(deps), update("add sec"))
            events = await collect(updatespec_pipeline(deps), update(rollback=1))
            assert types(events) == ["ack", "architecture"]
            assert events[0]["data"]["action"] == "rollback"
            data = events[-1]["data"]
            assert data["version"] == 3
            assert data["diff"]["removed"] == ["/agents_config/security_agent"]
            current = await store.current("ws1", "project21")
            assert current is not None
            assert current.spec_json == v1
            assert current.action == "rollback"
            history = await store.history("ws1", "project21")
            assert [v.action for v in history] == ["generate", "update", "rollback"]
            assert len(llm.requests) == 2  # the rollback made no model call

    asyncio.run(scenario())


def test_rollback_to_unknown_version_is_a_clear_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sql_store(tmp_path) as store:
            await seed(store)
            events = await collect(
                updatespec_pipeline(make_deps(ScriptedLLM(), store)), update(rollback=7)
            )
            err = events[-1]["data"]
            assert err["error"] == "version_not_found"
            assert "Version 7" in err["message"]
            assert "1 to 1" in err["message"]
            assert [v.version for v in await store.history("ws1", "project21")] == [1]

    asyncio.run(scenario())


def test_missing_spec_is_no_architecture(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sql_store(tmp_path) as store:
            events = await collect(
                updatespec_pipeline(make_deps(ScriptedLLM(), store)), update("add x")
            )
            assert types(events) == ["ack", "error"]
            assert events[-1]["data"] == {
                "error": "no_architecture",
                "message": NO_ARCHITECTURE_MESSAGE,
            }

    asyncio.run(scenario())


def test_another_workspace_cannot_read_update_or_roll_back(tmp_path: Path) -> None:
    """Workspace B gets exactly the no_architecture answer a missing spec gets."""

    async def scenario() -> None:
        async with sql_store(tmp_path) as store:
            await seed(store, "ws_a")
            pipeline = updatespec_pipeline(make_deps(ScriptedLLM(), store))
            missing = await collect(pipeline, update("x"), workspace="ws_missing")
            for req in (update("add x"), update(rollback=1)):
                events = await collect(pipeline, req, workspace="ws_b")
                assert events[-1] == missing[-1]
            assert await store.current("ws_b", "project21") is None
            assert await store.get_version("ws_b", "project21", 1) is None
            assert await store.history("ws_b", "project21") == []
            current = await store.current("ws_a", "project21")
            assert current is not None
            assert current.version == 1
            assert MODEL in current.spec_json

    asyncio.run(scenario())


def test_contradicting_operations_resolve_by_rule() -> None:
    """Remove twice = once; a change to an agent removed earlier in the reply changes nothing."""
    ops = [
        {"op": "remove_agent", "agent_id": "writer_agent"},
        {"op": "remove_agent", "agent_id": "writer_agent"},
        {"op": "update_agent", "agent_id": "writer_agent", "changes": {"prompt": "Back."}},
    ]
    spec = apply_edits(spec_dict(*IDS), {"operations": ops})
    assert list(spec.agents_config) == ["research_agent", "analysis_agent"]


def test_a_burst_of_plan_tokens_is_tens_of_chunks(tmp_path: Path) -> None:
    """600 one-token deltas arriving at once become a handful of stream_chunks, text intact."""

    async def scenario() -> None:
        plan = "".join(f"t{i % 10} " for i in range(600))
        llm = ScriptedLLM().enqueue(Reply(text=plan, chunk_size=3), EDITS)
        async with sql_store(tmp_path) as store:
            await seed(store)
            events = await collect(updatespec_pipeline(make_deps(llm, store)), update("x"))
        chunks = [e["data"] for e in events if e["type"] == "stream_chunk"]
        assert "".join(c["chunk"] for c in chunks) == plan
        assert 2 <= len(chunks) <= 20
        assert [c["chunk_index"] for c in chunks] == list(range(len(chunks)))
        assert events[-2]["data"]["total_chunks"] == len(chunks)

    asyncio.run(scenario())
