"""Specs from the real (tiny) local model under the generated grammars are valid by construction.

SmolLM2 is far too small to design anything sensible: that is the point. Whatever it writes
under the grammar, /getspec stores a valid architecture and /updatespec stores a valid update
in which every agent its operations do not name keeps its exact bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from agents.llm.local import LocalLLM
from agents.llm.local_models import TINY
from agents.llm.port import StaticRegistry
from agents.protocol import GetSpecRequest, UpdateSpecRequest
from agents.spec.deps import SpecDeps
from agents.spec.generate import getspec_pipeline
from agents.spec.update import updatespec_pipeline
from agents.spec.validation import canonical_json, parse_spec_json, validate_spec
from tests.llm.needs import needs_tiny_model
from tests.spec.helpers import ReportLoader, collect, spec_dict, sql_store

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.slow,
    needs_tiny_model,
]

IDS = ("intake_agent", "approval_agent", "anomaly_agent")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLLM]:
    llm = LocalLLM(TINY, data_dir=tmp_path_factory.mktemp("data"), n_ctx=8192)
    yield llm
    llm.close()


def deps_for(llm: LocalLLM, store: object) -> SpecDeps:
    deps = SpecDeps(llms=StaticRegistry(default=llm), store=store, load_report=ReportLoader())  # type: ignore[arg-type]
    return replace(deps, rationale_max_tokens=48)  # the prose is not under test here


@pytest.mark.timeout(240)
async def test_short_description_gives_a_stored_valid_architecture(
    tiny: LocalLLM, tmp_path: Path
) -> None:
    """The short description that used to store nothing now yields a stored, valid spec."""
    request = GetSpecRequest(
        user_id="u",
        project_id="invoices",
        use_case_name="Invoice routing",
        use_case_description="Route supplier invoices to approvers and flag anomalies.",
    )
    async with sql_store(tmp_path) as store:
        events = await collect(getspec_pipeline(deps_for(tiny, store)), request)
        assert events[-1]["type"] == "architecture", events[-1]
        stored = await store.current("ws1", "invoices")
    assert stored is not None
    assert parse_spec_json(stored.spec_json).agents_config


@pytest.mark.timeout(240)
async def test_security_agent_instruction_gives_a_valid_update_untouched_agents_identical(
    tiny: LocalLLM, tmp_path: Path
) -> None:
    """The instruction that failed twice (extra fields inside the new agent) now always applies."""
    before = canonical_json(validate_spec(spec_dict(*IDS)))
    instruction = "Add a security agent that validates all API calls and enforces rate limiting"
    async with sql_store(tmp_path) as store:
        await store.append("ws1", "p", user_id="u", action="generate", instruction="seed",
                           spec_json=before)  # fmt: skip
        deps = deps_for(tiny, store)
        request = UpdateSpecRequest(user_id="u", project_id="p", user_input=instruction)
        events = await collect(updatespec_pipeline(deps), request)
        assert events[-1]["type"] == "architecture", events[-1]
        after = await store.current("ws1", "p")
    assert after is not None and after.version == 2
    parse_spec_json(after.spec_json)
    diff = events[-1]["data"]["diff"]
    touched = {p.split("/")[2] for p in diff["added"] + diff["removed"] + diff["changed"]
               if p.startswith("/agents_config/")}  # fmt: skip
    old, new = json.loads(before)["agents_config"], json.loads(after.spec_json)["agents_config"]
    for agent_id in set(IDS) - touched:
        assert canonical_json(new[agent_id]) == canonical_json(old[agent_id])
