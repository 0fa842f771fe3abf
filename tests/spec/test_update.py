"""/updatespec: patch-based change, untouched parts byte-identical, diff, rollback, isolation."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from agents.protocol import UpdateSpecRequest
from agents.spec.store import SpecStore
from agents.spec.update import NO_ARCHITECTURE_MESSAGE, updatespec_pipeline
from agents.spec.validation import canonical_json, validate_spec
from tests.spec.helpers import (
    MODEL,
    OTHER_MODEL,
    agent,
    collect,
    make_deps,
    spec_dict,
    sql_store,
    types,
)
from tests.support.scripted_llm import ScriptedLLM

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


PATCH: dict[str, Any] = {
    "patch": [
        {"op": "add", "path": "/agents_config/security_agent", "value": agent("security_agent")},
        {"op": "replace", "path": "/agents_config/analysis_agent/model", "value": OTHER_MODEL},
        {"op": "add", "path": "/orchestration/order/1", "value": "security_agent"},
    ]
}


def test_update_applies_patch_and_keeps_untouched_agents_byte_identical(tmp_path: Path) -> None:
    """Only patched paths change; other agents keep their exact canonical bytes."""

    async def scenario() -> None:
        llm = ScriptedLLM().enqueue(PLAN, PATCH)
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
            # The model was shown the current spec and asked for a patch.
            assert json.dumps(json.loads(before), indent=2) in llm.requests[1].messages[-1].content
            assert llm.requests[1].json_schema is not None

    asyncio.run(scenario())


def test_update_diff_names_added_removed_and_changed_paths(tmp_path: Path) -> None:
    """The diff lists added/removed agents and changed fields as JSON pointers."""

    async def scenario() -> None:
        patch = {
            "patch": [
                *PATCH["patch"],
                {"op": "remove", "path": "/agents_config/writer_agent"},
                {"op": "remove", "path": "/orchestration/order/3"},
            ]
        }
        llm = ScriptedLLM().enqueue(PLAN, patch)
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


def test_invalid_patch_result_is_repaired(tmp_path: Path) -> None:
    """Removing an agent still referenced fails validation; the errors go back to the model."""

    async def scenario() -> None:
        dangling = {"patch": [{"op": "remove", "path": "/agents_config/writer_agent"}]}
        bad_path = {"patch": [{"op": "remove", "path": "/agents_config/nobody"}]}
        fixed = {
            "patch": [
                {"op": "remove", "path": "/agents_config/writer_agent"},
                {"op": "remove", "path": "/orchestration/order/2"},
            ]
        }
        llm = ScriptedLLM().enqueue(PLAN, dangling, bad_path, fixed)
        async with sql_store(tmp_path) as store:
            await seed(store)
            events = await collect(updatespec_pipeline(make_deps(llm, store)), update("drop w"))
            assert types(events)[-1] == "architecture"
            assert "unknown agent 'writer_agent'" in llm.requests[2].messages[-1].content
            assert "could not be applied" in llm.requests[3].messages[-1].content
            assert events[-1]["data"]["diff"]["removed"] == ["/agents_config/writer_agent"]

    asyncio.run(scenario())


def test_update_gives_up_after_repairs_and_keeps_current_version(tmp_path: Path) -> None:
    async def scenario() -> None:
        bad = {"patch": [{"op": "replace", "path": "/agents_config/writer_agent/tools/0",
                          "value": "shell"}]}  # fmt: skip
        llm = ScriptedLLM().enqueue(PLAN, bad, bad, bad)
        async with sql_store(tmp_path) as store:
            await seed(store)
            events = await collect(updatespec_pipeline(make_deps(llm, store)), update("x"))
            assert events[-1]["data"]["error"] == "generation_failed"
            assert any("writer_agent.tools.0" in d for d in events[-1]["data"]["details"])
            current = await store.current("ws1", "project21")
            assert current is not None
            assert current.version == 1

    asyncio.run(scenario())


def test_full_replacement_keeps_existing_agent_order_and_bytes(tmp_path: Path) -> None:
    """A full replacement is accepted; agents it did not change keep their bytes and order."""

    async def scenario() -> None:
        new = spec_dict(*IDS)
        new["agents_config"] = dict(reversed(list(new["agents_config"].items())))
        new["agents_config"]["writer_agent"]["model"] = OTHER_MODEL
        llm = ScriptedLLM().enqueue(PLAN, {"patch": [], "architecture": new})
        async with sql_store(tmp_path) as store:
            before = await seed(store)
            events = await collect(updatespec_pipeline(make_deps(llm, store)), update("x"))
            assert events[-1]["data"]["diff"]["changed"] == ["/agents_config/writer_agent/model"]
            after = await store.current("ws1", "project21")
            assert after is not None
            assert list(after.spec_dict()["agents_config"]) == list(IDS)
            assert agent_bytes(before, "research_agent") in after.spec_json

    asyncio.run(scenario())


def test_rollback_stores_a_new_version_equal_to_the_old_one(tmp_path: Path) -> None:
    """rollback_to N appends version N+k whose spec bytes equal version N's."""

    async def scenario() -> None:
        llm = ScriptedLLM().enqueue(PLAN, PATCH)
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
