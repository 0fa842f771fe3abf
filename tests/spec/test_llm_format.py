"""The model-facing schemas are valid JSON Schema, accept good output, enumerate the catalog."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from agents.llm.structured import closed_schema, grammar_gaps
from agents.spec.deps import DEFAULT_AGENT_MODEL, SpecDeps
from agents.spec.llm_format import design_schema, references_schema
from agents.spec.schema import BEDROCK_MODELS, MEMORY_STRATEGIES, TOOL_CATALOG
from tests.spec.helpers import MODEL, design

MODELS = sorted(BEDROCK_MODELS)


def test_design_schema_is_valid_and_accepts_a_good_design() -> None:
    schema = design_schema(MODELS)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(design(), schema)


def test_design_schema_enumerates_tools_memory_and_models() -> None:
    """A constrained decoder cannot pick a tool, strategy or model outside the lists."""
    schema = design_schema(MODELS)
    item = schema["properties"]["agents"]["items"]["properties"]
    assert item["tools"]["items"]["enum"] == list(TOOL_CATALOG)
    memory_on = item["memory"]["anyOf"][1]["properties"]
    assert memory_on["strategies"]["items"]["enum"] == list(MEMORY_STRATEGIES)
    assert item["model"]["enum"] == MODELS
    bad = design()
    bad["agents"][0]["tools"] = ["web_search"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_design_schema_is_fully_expressed_by_the_grammar() -> None:
    """Every keyword becomes a grammar rule and every object is closed: nothing free-form."""
    assert grammar_gaps(closed_schema(design_schema(MODELS))) == []
    assert grammar_gaps(closed_schema(references_schema(["a", "b"]))) == []


def test_design_schema_refuses_the_invalid_memory_mix_and_extra_fields() -> None:
    schema = design_schema(MODELS)
    for change in (
        {"memory": {"enabled": False, "strategies": ["summary"]}},
        {"memory": {"enabled": True, "strategies": []}},
        {"orchestration": {"pattern": "pipeline", "entry_agent": "a", "order": []}},
        {"prompt": ""},
        {"name": "n" * 61},
    ):
        bad = design()
        bad["agents"][0].update(change)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_references_schema_only_names_defined_agents() -> None:
    schema = references_schema(["a", "b"])
    good = {
        "orchestration": {"pattern": "pipeline", "entry_agent": "a", "order": ["a", "b"]},
        "gateway_targets": [],
    }
    jsonschema.validate(good, schema)
    good["orchestration"]["order"] = ["a", "c"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(good, schema)


def test_deps_refuse_unknown_models_and_always_offer_the_default() -> None:
    class Nothing:
        pass

    none: Any = Nothing()
    deps = SpecDeps(
        llms=none,
        store=none,
        load_report=none,
        default_model="openai:qwen2.5-7b-instruct",
        allowed_models=(MODEL,),
    )
    assert deps.allowed_models == ("openai:qwen2.5-7b-instruct", MODEL)
    with pytest.raises(ValueError, match="not a supported agent model"):
        SpecDeps(llms=none, store=none, load_report=none, allowed_models=("gpt-4o",))
    assert DEFAULT_AGENT_MODEL in BEDROCK_MODELS
