"""The architecture schema rejects every class of bad spec, with errors that name the problem."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.spec.llm_format import design_to_spec_dict
from agents.spec.schema import Architecture
from agents.spec.validation import (
    SpecValidationError,
    canonical_json,
    extract_json_object,
    parse_spec_json,
    validate_spec,
)
from tests.spec.helpers import agent, design, spec_dict, with_change


def errors_of(data: Any) -> list[str]:
    with pytest.raises(SpecValidationError) as info:
        validate_spec(data)
    return info.value.errors


def test_valid_spec_passes_and_canonical_json_is_stable() -> None:
    """A valid spec validates; canonical JSON re-validated and dumped gives the same bytes."""
    spec = validate_spec(spec_dict("a", "b", "c"))
    text = canonical_json(spec)
    assert canonical_json(parse_spec_json(text)) == text
    assert list(json.loads(text)["agents_config"]) == ["a", "b", "c"]


def test_unknown_tool_is_rejected() -> None:
    """A tool outside TOOL_CATALOG is an error naming the agent's tools field."""
    bad = with_change(
        spec_dict("a"), lambda d: d["agents_config"]["a"].update(tools=["web_search"])
    )
    errs = errors_of(bad)
    assert any(e.startswith("agents_config.a.tools.0") for e in errs), errs


def test_unknown_memory_strategy_is_rejected() -> None:
    """A memory strategy outside MEMORY_STRATEGIES is an error."""
    bad = with_change(
        spec_dict("a"),
        lambda d: d["agents_config"]["a"].update(
            memory={"enabled": True, "strategies": ["vector"]}
        ),
    )
    assert any("memory.strategies.0" in e for e in errors_of(bad))


def test_memory_strategies_without_enabled_memory_are_rejected() -> None:
    bad = with_change(
        spec_dict("a"),
        lambda d: d["agents_config"]["a"].update(
            memory={"enabled": False, "strategies": ["buffer"]}
        ),
    )
    assert any("memory.enabled is false" in e for e in errors_of(bad))


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d["orchestration"].update(entry_agent="ghost", order=["ghost"]), "entry_agent"),
        (lambda d: d["orchestration"].update(order=["a", "ghost"]), "unknown agent 'ghost'"),
        (lambda d: d["gateway_config"]["targets"].append({"path": "/x", "agent": "ghost"}), "/x"),
    ],
    ids=["entry_agent", "order", "gateway_target"],
)
def test_dangling_agent_references_are_rejected(mutate: Any, needle: str) -> None:
    """Orchestration and gateway targets may only name agents that exist."""
    errs = errors_of(with_change(spec_dict("a", "b"), mutate))
    assert any(needle in e for e in errs), errs


def test_duplicate_agent_ids_in_json_text_are_rejected() -> None:
    """A JSON object with the same agent id twice is an error, not last-one-wins."""
    body = json.dumps(agent("a"))
    text = (
        '{"agents_config": {"a": ' + body + ', "a": ' + body + "},"
        ' "orchestration": {"pattern": "pipeline", "entry_agent": "a", "order": ["a"]}}'
    )
    with pytest.raises(SpecValidationError, match="duplicate key 'a'"):
        parse_spec_json(text)
    with pytest.raises(SpecValidationError, match="duplicate key 'a'"):
        extract_json_object("Here it is:\n```json\n" + text + "\n```")


def test_duplicate_agent_ids_in_model_design_get_distinct_ids() -> None:
    """Two different agents under one id both stay (`a`, `a_2`); the same agent twice is one."""
    dup = design("a", "b")
    dup["agents"][1]["id"] = "a"
    spec = design_to_spec_dict(dup, gateway_provider="api_gateway")
    assert list(spec["agents_config"]) == ["a", "a_2"]
    twice = design("a")
    twice["agents"].append(dict(twice["agents"][0]))
    assert list(design_to_spec_dict(twice, gateway_provider="local")["agents_config"]) == ["a"]


def test_duplicate_orchestration_entries_and_gateway_paths_are_rejected() -> None:
    errs = errors_of(
        with_change(spec_dict("a", "b"), lambda d: d["orchestration"].update(order=["a", "a"]))
    )
    assert any("twice" in e for e in errs)
    errs = errors_of(
        with_change(
            spec_dict("a", "b"),
            lambda d: d["gateway_config"]["targets"].append({"path": "/invoke", "agent": "b"}),
        )
    )
    assert any("duplicate paths" in e for e in errs)


@pytest.mark.parametrize(
    "model",
    ["gpt-4o", "anthropic.claude-made-up-v9:0", "", "openai:"],
)
def test_unknown_model_ids_are_rejected(model: str) -> None:
    """Only Bedrock ids from the list (optionally region-prefixed) or openai:<model>."""
    bad = with_change(spec_dict("a"), lambda d: d["agents_config"]["a"].update(model=model))
    assert any("not a supported model id" in e for e in errors_of(bad))


@pytest.mark.parametrize(
    "model",
    [
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "openai:qwen2.5-7b",
    ],
)
def test_known_model_ids_are_accepted(model: str) -> None:
    validate_spec(
        with_change(spec_dict("a"), lambda d: d["agents_config"]["a"].update(model=model))
    )


def test_unknown_fields_and_bad_ids_are_rejected() -> None:
    """Unknown keys anywhere and agent ids that are not snake_case are errors."""
    errs = errors_of(
        with_change(spec_dict("a"), lambda d: d["agents_config"]["a"].update(temperature=0.3))
    )
    assert any("agents_config.a.temperature" in e for e in errs), errs
    errs = errors_of(with_change(spec_dict("a"), lambda d: d.update(extra_section={})))
    assert any("extra_section" in e for e in errs), errs
    bad_id = {"agents_config": {"Bad-Id": agent("x")}}
    assert errors_of(bad_id)


def test_empty_and_too_large_agent_sets_are_rejected() -> None:
    assert any("at least one agent" in e for e in errors_of({"agents_config": {}}))
    many = {f"a{i}": agent(f"a{i}") for i in range(21)}
    assert any("at most 20" in e for e in errors_of({"agents_config": many}))


def test_wrong_types_are_not_coerced() -> None:
    """Strict: a string where a list or bool belongs is an error, not a coercion."""
    errs = errors_of(
        with_change(spec_dict("a"), lambda d: d["agents_config"]["a"].update(tools="calculator"))
    )
    assert any("agents_config.a.tools" in e for e in errs)
    errs = errors_of(
        with_change(
            spec_dict("a"), lambda d: d["agents_config"]["a"]["memory"].update(enabled="yes")
        )
    )
    assert any("memory.enabled" in e for e in errs)


def test_design_defaults_gateway_target_to_entry_agent() -> None:
    """No gateway targets -> /invoke on the entry agent, with the configured provider."""
    d = design("planner", "worker")
    d["orchestration"] = {"pattern": "supervisor", "entry_agent": "worker", "order": []}
    spec = Architecture.model_validate(design_to_spec_dict(d, gateway_provider="local"))
    assert spec.gateway_config.provider == "local"
    assert [(t.path, t.agent) for t in spec.gateway_config.targets] == [("/invoke", "worker")]
