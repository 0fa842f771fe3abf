"""Parsing and validating specs: strict JSON, readable errors, one canonical serialisation.

Pure functions, no I/O. Every spec that is stored or sent passes through `validate_spec`, and is
stored as `canonical_json(spec)`: the model's own field order, agents in their given order, no
whitespace. Re-validating canonical JSON and dumping it again gives the same bytes, so an agent
that an update did not touch keeps exactly the bytes it had.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from agents.spec.schema import Architecture

MAX_ERRORS = 30


class SpecValidationError(ValueError):
    """A spec (or the model's output for one) is not acceptable; `errors` says why, one per line."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors) if errors else "invalid spec")
        self.errors = errors


class DuplicateKeyError(ValueError):
    def __init__(self, key: str):
        super().__init__(f"duplicate key {key!r} in a JSON object")
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKeyError(key)
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads_strict(text: str) -> Any:
    """`json.loads`, except duplicate object keys and NaN/Infinity are errors (ValueError)."""
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)


_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)\n\s*```", re.DOTALL)


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object in a model reply: the whole text, a fenced block, or the outermost braces.

    Returns None when no candidate parses as a JSON object. Raises SpecValidationError when one
    does parse but repeats a key (`{"a": 1, "a": 2}`): that is an error to report, never to
    resolve silently by keeping the last value.
    """
    stripped = text.strip()
    if not stripped:
        return None
    candidates = [stripped]
    candidates += [m.group(1) for m in _FENCE.finditer(text)]
    first, last = stripped.find("{"), stripped.rfind("}")
    if 0 <= first < last:
        candidates.append(stripped[first : last + 1])
    for candidate in candidates:
        try:
            value = loads_strict(candidate)
        except DuplicateKeyError as exc:
            raise SpecValidationError([f"output: {exc}"]) from exc
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _loc(loc: Iterable[int | str]) -> str:
    parts = [str(p) for p in loc]
    return ".".join(parts) if parts else "(spec)"


def format_validation_error(exc: ValidationError) -> list[str]:
    """One readable line per pydantic error: `agents_config.a.tools.0: Input should be ...`."""
    lines: list[str] = []
    for err in exc.errors(include_url=False):
        msg = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{_loc(err['loc'])}: {msg}")
    return lines[:MAX_ERRORS]


def validate_spec(data: Any) -> Architecture:
    """Validate a decoded spec (a dict); raise SpecValidationError with readable lines."""
    if not isinstance(data, dict):
        raise SpecValidationError(["the spec must be a JSON object"])
    try:
        return Architecture.model_validate(data)
    except ValidationError as exc:
        raise SpecValidationError(format_validation_error(exc)) from exc


def parse_spec_json(text: str) -> Architecture:
    """Decode (duplicate keys are errors) and validate a spec given as JSON text."""
    try:
        data = loads_strict(text)
    except ValueError as exc:
        raise SpecValidationError([f"invalid JSON: {exc}"]) from exc
    return validate_spec(data)


def spec_to_dict(spec: Architecture) -> dict[str, Any]:
    return spec.model_dump(mode="json")


def canonical_json(value: Architecture | dict[str, Any]) -> str:
    """The stored form: compact JSON in the schema's field order (agents keep their order)."""
    data = spec_to_dict(value) if isinstance(value, Architecture) else value
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
