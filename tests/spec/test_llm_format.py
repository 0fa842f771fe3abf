"""The model-facing schemas are valid JSON Schema, accept good output, enumerate the catalog."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from agents.spec.deps import DEFAULT_AGENT_MODEL, SpecDeps
from agents.spec.llm_format import design_schema, patch_schema
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
    assert item["memory"]["properties"]["strategies"]["items"]["enum"] == list(MEMORY_STRATEGIES)
    assert item["model"]["enum"] == MODELS
    bad = design()
    bad["agents"][0]["tools"] = ["web_search"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_patch_schema_accepts_rfc6902_operations() -> None:
    schema = patch_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(
        {
            "patch": [
                {"op": "replace", "path": "/agents_config/a/model", "value": MODEL},
                {"op": "move", "from": "/a", "path": "/b"},
            ]
        },
        schema,
    )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"patch": [{"op": "merge", "path": "/a"}]}, schema)


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
