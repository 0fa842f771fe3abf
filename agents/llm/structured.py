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
