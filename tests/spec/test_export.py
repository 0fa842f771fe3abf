"""Open Agent Spec and A2A Agent Card exports describe the spec faithfully and resolve refs."""

from __future__ import annotations

import itertools
import json
from typing import Any

from agents.spec.export import to_agent_card, to_open_agent_spec
from agents.spec.validation import validate_spec
from tests.spec.helpers import OTHER_MODEL, spec_dict, with_change


def refs_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$component_ref"]] if "$component_ref" in value else []
        return found + [r for v in value.values() for r in refs_in(v)]
    if isinstance(value, list):
        return [r for v in value for r in refs_in(v)]
    return []


def test_single_agent_exports_as_an_agent_with_its_llm_and_tools() -> None:
    arch = validate_spec(
        with_change(
            spec_dict("helper"), lambda d: d["agents_config"]["helper"].update(tools=["calculator"])
        )
    )
    doc = to_open_agent_spec(arch, name="My App", version=3)
    assert doc["agentspec_version"] == "26.1.0"
    assert doc["component_type"] == "Agent"
    assert doc["name"] == "My App"
    assert doc["system_prompt"] == "You are the helper."
    llm = doc["$referenced_components"][doc["llm_config"]["$component_ref"]]
    assert llm["component_type"] == "LlmConfig"
    assert llm["model_id"] == "anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert llm["api_provider"] == "aws_bedrock"
    tool = doc["$referenced_components"][doc["tools"][0]["$component_ref"]]
    assert (tool["component_type"], tool["name"]) == ("ServerTool", "calculator")
    assert doc["metadata"]["qubitz"]["spec_version"] == "3"


def test_pipeline_exports_as_a_flow_in_orchestration_order() -> None:
    data = spec_dict("a", "b", "c")
    data["orchestration"]["order"] = ["a", "c", "b"]
    data["agents_config"]["c"]["model"] = OTHER_MODEL
    doc = to_open_agent_spec(validate_spec(data), name="flow app", version="7")
    json.dumps(doc)  # JSON-ready
    refs = doc["$referenced_components"]
    assert doc["component_type"] == "Flow"
    assert set(refs_in({k: v for k, v in doc.items() if k != "$referenced_components"})) | set(
        refs_in(refs)
    ) <= set(refs)
    nodes = [n["$component_ref"] for n in doc["nodes"]]
    assert nodes == ["start", "node_a", "node_c", "node_b", "end"]
    assert [refs[n]["agent"]["$component_ref"] for n in nodes[1:-1]] == ["a", "c", "b"]
    edges = [(e["from_node"]["$component_ref"], e["to_node"]["$component_ref"])
             for e in doc["control_flow_connections"]]  # fmt: skip
    assert edges == list(itertools.pairwise(nodes))
    models = {r["model_id"] for r in refs.values() if r["component_type"] == "LlmConfig"}
    assert models == {"anthropic.claude-sonnet-4-5-20250929-v1:0", OTHER_MODEL}


def test_supervisor_exports_as_a_swarm_led_by_the_entry_agent() -> None:
    data = spec_dict("boss", "w1", "w2")
    data["orchestration"] = {"pattern": "supervisor", "entry_agent": "boss", "order": []}
    doc = to_open_agent_spec(validate_spec(data), name="team", version=1)
    assert doc["component_type"] == "Swarm"
    assert doc["first_agent"] == {"$component_ref": "boss"}
    pairs = {(a["$component_ref"], b["$component_ref"]) for a, b in doc["relationships"]}
    assert pairs == {("boss", "w1"), ("boss", "w2"), ("w1", "boss"), ("w2", "boss")}
    assert set(refs_in(doc)) <= set(doc["$referenced_components"])


def test_agent_card_has_the_a2a_fields_and_one_skill_per_agent() -> None:
    arch = validate_spec(spec_dict("research_agent", "analysis_agent"))
    card = to_agent_card(
        arch, name="Fin", description="Financial research", url="https://x.test/fin", version=2
    )
    for key in ("name", "description", "url", "version", "capabilities",
                "defaultInputModes", "defaultOutputModes", "skills"):  # fmt: skip
        assert key in card
    assert card["version"] == "2"
    assert card["url"] == "https://x.test/fin"
    assert [s["id"] for s in card["skills"]] == ["research_agent", "analysis_agent"]
    assert card["skills"][0]["description"] == "The research_agent does its part."
    assert "http_fetch" in card["skills"][0]["tags"]
    assert card["securitySchemes"]["apiKey"]["name"] == "x-api-key"
    json.dumps(card)
