"""Applying the model's change (RFC 6902 patch or full replacement) to the current spec."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from agents.spec.schema import Architecture
from agents.spec.validation import SpecValidationError, validate_spec

_OPS = {"add", "remove", "replace", "move", "copy", "test"}


def _check_ops(ops: Any) -> list[dict[str, Any]]:
    if not isinstance(ops, list):
        raise SpecValidationError(["patch: must be a list of operations"])
    errors: list[str] = []
    for i, op in enumerate(ops):
        if not isinstance(op, dict):
            errors.append(f"patch.{i}: must be an object")
            continue
        if op.get("op") not in _OPS:
            errors.append(f"patch.{i}.op: must be one of {sorted(_OPS)}")
        if not isinstance(op.get("path"), str):
            errors.append(f"patch.{i}.path: must be a JSON pointer string")
        if op.get("op") in {"add", "replace", "test"} and "value" not in op:
            errors.append(f"patch.{i}: {op.get('op')!r} needs a value")
        if op.get("op") in {"move", "copy"} and not isinstance(op.get("from"), str):
            errors.append(f"patch.{i}: {op.get('op')!r} needs a 'from' pointer")
    if errors:
        raise SpecValidationError(errors)
    return ops


def apply_patch(current: dict[str, Any], ops: Any) -> dict[str, Any]:
    """The current spec dict with the patch applied (the input is not modified)."""
    checked = _check_ops(ops)
    try:
        result = jsonpatch.JsonPatch(checked).apply(copy.deepcopy(current))
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise SpecValidationError([f"patch could not be applied: {exc}"]) from exc
    except (TypeError, KeyError, IndexError, ValueError, AttributeError) as exc:
        raise SpecValidationError([f"patch could not be applied: {exc!r}"]) from exc
    if not isinstance(result, dict):
        raise SpecValidationError(["patch: the result is not a JSON object"])
    return result


def keep_agent_order(current: dict[str, Any], replacement: dict[str, Any]) -> dict[str, Any]:
    """A full replacement with the agents that already existed kept in their old order."""
    new_agents = replacement.get("agents_config")
    old_agents = current.get("agents_config")
    if not isinstance(new_agents, dict) or not isinstance(old_agents, dict):
        return replacement
    ordered = {k: new_agents[k] for k in old_agents if k in new_agents}
    ordered.update({k: v for k, v in new_agents.items() if k not in ordered})
    return {**replacement, "agents_config": ordered}


def apply_change(current: dict[str, Any], reply: dict[str, Any]) -> Architecture:
    """Apply the model's reply ({"patch": [...]} or {"architecture": {...}}) and validate."""
    replacement = reply.get("architecture")
    if isinstance(replacement, dict):
        updated = keep_agent_order(current, replacement)
    elif "patch" in reply:
        updated = apply_patch(current, reply["patch"])
    else:
        raise SpecValidationError(['the reply must be {"patch": [...]}'])
    return validate_spec(updated)
