"""What the model is asked to produce, and how its output becomes a spec.

The model-facing shapes are deliberately simpler than `Architecture` so that a small local model
(grammar- or prompt-constrained) can follow them: agents are a *list* of objects with an `id`
field (no free-form object keys to invent), every property is required, enums name every allowed
value, and nothing nests more than three levels. `design_to_spec_dict` turns that into the
`Architecture` shape; `Architecture` validation is the single authority on what is valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents.spec.schema import MEMORY_STRATEGIES, TOOL_CATALOG
from agents.spec.validation import SpecValidationError

AGENT_ID_PATTERN = r"^[a-z][a-z0-9_]{0,47}$"


def design_schema(allowed_models: Sequence[str]) -> dict[str, Any]:
    """JSON schema for /getspec's structured output."""
    agent = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "pattern": AGENT_ID_PATTERN},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "model": {"type": "string", "enum": list(allowed_models)},
            "prompt": {"type": "string"},
            "tools": {"type": "array", "items": {"type": "string", "enum": list(TOOL_CATALOG)}},
            "memory": {
                "type": "object",
                "properties": {
                    "enabled": {"type": "boolean"},
                    "strategies": {
                        "type": "array",
                        "items": {"type": "string", "enum": list(MEMORY_STRATEGIES)},
                    },
                },
                "required": ["enabled", "strategies"],
                "additionalProperties": False,
            },
        },
        "required": ["id", "name", "description", "model", "prompt", "tools", "memory"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "agents": {"type": "array", "items": agent, "minItems": 1, "maxItems": 20},
            "orchestration": {
                "type": "object",
                "properties": {
                    "pattern": {"type": "string", "enum": ["pipeline", "supervisor"]},
                    "entry_agent": {"type": "string"},
                    "order": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["pattern", "entry_agent", "order"],
                "additionalProperties": False,
            },
            "gateway_targets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"path": {"type": "string"}, "agent": {"type": "string"}},
                    "required": ["path", "agent"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["agents", "orchestration", "gateway_targets"],
        "additionalProperties": False,
    }


def patch_schema() -> dict[str, Any]:
    """JSON schema for /updatespec's structured output: an RFC 6902 patch of the current spec."""
    op = {
        "type": "object",
        "properties": {
            "op": {"type": "string", "enum": ["add", "remove", "replace", "move", "copy", "test"]},
            "path": {"type": "string"},
            "value": {},
            "from": {"type": "string"},
        },
        "required": ["op", "path"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "patch": {"type": "array", "items": op},
            # Optional full replacement of the spec (then `patch` is ignored).
            "architecture": {"type": "object"},
        },
        "required": ["patch"],
        "additionalProperties": False,
    }


def design_to_spec_dict(design: dict[str, Any], *, gateway_provider: str) -> dict[str, Any]:
    """Convert the model's design into the Architecture shape (not yet validated).

    Raises SpecValidationError for problems the conversion itself sees (duplicate agent ids,
    missing ids); every other problem is left for Architecture validation to report, so unknown
    keys the model invented are kept and rejected there by name.
    """
    errors: list[str] = []
    agents = design.get("agents")
    if not isinstance(agents, list):
        raise SpecValidationError(["agents: must be a list of agent objects"])
    agents_config: dict[str, Any] = {}
    for i, item in enumerate(agents):
        if not isinstance(item, dict):
            errors.append(f"agents.{i}: must be an object")
            continue
        fields = dict(item)
        agent_id = fields.pop("id", None)
        if not isinstance(agent_id, str) or not agent_id:
            errors.append(f"agents.{i}.id: missing or not a string")
            continue
        if agent_id in agents_config:
            errors.append(f"agents.{i}.id: duplicate agent id {agent_id!r}")
            continue
        agents_config[agent_id] = fields
    if errors:
        raise SpecValidationError(errors)

    spec: dict[str, Any] = {"agents_config": agents_config}
    for key in design:
        if key not in {"agents", "orchestration", "gateway_targets"}:
            spec[key] = design[key]  # rejected by validation as an unknown field, by name
    orchestration = design.get("orchestration")
    if orchestration is not None:
        spec["orchestration"] = orchestration
    targets = design.get("gateway_targets")
    if not targets:
        entry = orchestration.get("entry_agent") if isinstance(orchestration, dict) else None
        first = entry if isinstance(entry, str) else next(iter(agents_config), None)
        targets = [{"path": "/invoke", "agent": first}] if first else []
    spec["gateway_config"] = {"provider": gateway_provider, "targets": targets}
    return spec
