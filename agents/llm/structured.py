"""Structured output helpers shared by the providers: parse the model's JSON and validate it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jsonschema

from agents.llm.errors import LLMStructuredOutputError


def parse_structured(raw: str, schema: Mapping[str, Any], *, provider: str) -> dict[str, Any]:
    """Parse `raw` as a JSON object and validate it against `schema`.

    Raises `LLMStructuredOutputError` (keeping the raw text) when it is not JSON, not an object,
    or not valid against the schema.
    """
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise LLMStructuredOutputError(
            f"the model's output is not JSON: {exc}", provider=provider, raw=raw
        ) from exc
    return validate_structured(value, schema, provider=provider, raw=raw)


def validate_structured(
    value: object, schema: Mapping[str, Any], *, provider: str, raw: str = ""
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise LLMStructuredOutputError(
            "the model's output is not a JSON object", provider=provider, raw=raw
        )
    try:
        jsonschema.validate(value, dict(schema))
    except jsonschema.ValidationError as exc:
        raise LLMStructuredOutputError(
            f"the model's output does not match the schema: {exc.message}",
            provider=provider,
            raw=raw or json.dumps(value),
        ) from exc
    except jsonschema.SchemaError as exc:
        raise LLMStructuredOutputError(
            f"the schema itself is invalid: {exc.message}", provider=provider, raw=raw
        ) from exc
    return value


# Keywords the llama.cpp JSON-schema -> GBNF converter turns into grammar rules. Anything else in
# a schema sent to a grammar-constrained provider would be checked only after decoding, so the
# schemas our pipelines send are kept to this set (tests/llm/test_grammar.py checks them).
GRAMMAR_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "minItems",
        "maxItems", "enum", "const", "anyOf", "oneOf", "pattern", "minLength", "maxLength",
        "description", "title",
    }
)  # fmt: skip


def closed_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` with `additionalProperties: false` on every object that does not say otherwise.

    The grammar the local provider decodes under then admits exactly the named properties, and
    the post-decoding check (jsonschema) refuses the same extras the grammar cannot produce.
    """

    def close(node: Any) -> Any:
        if isinstance(node, list):
            return [close(item) for item in node]
        if not isinstance(node, Mapping):
            return node
        out = {key: close(value) for key, value in node.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out

    result = close(schema)
    assert isinstance(result, dict)
    return result


def grammar_gaps(schema: Mapping[str, Any], path: str = "") -> list[str]:
    """Where `schema` uses a keyword the GBNF converter ignores, or leaves a value unconstrained.

    An empty list means that decoding under the generated grammar can only produce values the
    schema accepts (up to string lengths the converter does support).
    """
    gaps: list[str] = []
    for key, value in schema.items():
        where = f"{path}/{key}"
        if key not in GRAMMAR_KEYWORDS:
            gaps.append(f"{where}: keyword not expressed by the grammar")
        elif key == "properties":
            for name, sub in value.items():
                gaps += grammar_gaps(sub, f"{where}/{name}")
        elif key == "items" and isinstance(value, Mapping):
            gaps += grammar_gaps(value, where)
        elif key in {"anyOf", "oneOf"}:
            for i, sub in enumerate(value):
                gaps += grammar_gaps(sub, f"{where}/{i}")
        elif key == "additionalProperties" and value is not False:
            gaps.append(f"{where}: must be false")
    if not schema or (schema.get("type") == "object" and "properties" not in schema):
        gaps.append(f"{path or '/'}: free-form value")
    if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
        gaps.append(f"{path or '/'}: object without additionalProperties: false")
    if "pattern" in schema and ("minLength" in schema or "maxLength" in schema):
        gaps.append(f"{path or '/'}: pattern and length together (the grammar keeps the pattern)")
    return gaps
