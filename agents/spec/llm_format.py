"""What the model is asked to produce, and how its output becomes a spec.

The model-facing shapes are deliberately simpler than `Architecture` so that a small local model
(grammar- or prompt-constrained) can follow them: agents are a *list* of objects with an `id`
field (no free-form object keys to invent), every property is required, enums name every allowed
value, and nothing nests more than three levels. `design_to_spec_dict` turns that into the
`Architecture` shape; `Architecture` validation is the single authority on what is valid.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from agents.spec.schema import MEMORY_STRATEGIES, TOOL_CATALOG
from agents.spec.validation import SpecValidationError

AGENT_ID_PATTERN = r"^[a-z][a-z0-9_]{0,47}$"
PATH_PATTERN = r"^/[a-z0-9_/-]{1,64}$"
MAX_AGENTS = 20

# Sizes the grammar enforces on what the model writes. They are tighter than Architecture's
# limits (which also cover hand-written specs) so that the longest output the grammar admits
# still fits in the step's max_tokens: a small model that rambles or repeats itself is cut off at
# a valid value instead of running into the token limit (about 1,200 characters per agent).
MAX_DESIGN_AGENTS = 6
NAME_MAX = 60
DESCRIPTION_MAX = 200
PROMPT_MAX = 600
MAX_TARGETS = 3


def _text(max_length: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length}


def id_schema(known: Sequence[str] | None = None) -> dict[str, Any]:
    """An agent id: one of `known` when given (an enum), else any well-formed id."""
    if known:
        return {"type": "string", "enum": list(known)}
    return {"type": "string", "pattern": AGENT_ID_PATTERN}


def memory_schema() -> dict[str, Any]:
    """Memory off (no strategies), or on with one or two strategies: never the invalid mix."""
    off = {
        "type": "object",
        "properties": {
            "enabled": {"const": False},
            "strategies": {"type": "array", "items": {"type": "string"}, "maxItems": 0},
        },
        "required": ["enabled", "strategies"],
        "additionalProperties": False,
    }
    on = {
        "type": "object",
        "properties": {
            "enabled": {"const": True},
            "strategies": {
                "type": "array",
                "items": {"type": "string", "enum": list(MEMORY_STRATEGIES)},
                "minItems": 1,
                "maxItems": len(MEMORY_STRATEGIES),
            },
        },
        "required": ["enabled", "strategies"],
        "additionalProperties": False,
    }
    return {"anyOf": [off, on]}


def agent_fields(allowed_models: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The schema of each field of an agent, as the model writes it."""
    return {
        "name": _text(NAME_MAX),
        "description": _text(DESCRIPTION_MAX),
        "model": {"type": "string", "enum": list(allowed_models)},
        "prompt": _text(PROMPT_MAX),
        "tools": {
            "type": "array",
            "items": {"type": "string", "enum": list(TOOL_CATALOG)},
            "maxItems": len(TOOL_CATALOG),
        },
        "memory": memory_schema(),
    }


def agent_schema(allowed_models: Sequence[str]) -> dict[str, Any]:
    fields = {"id": id_schema(), **agent_fields(allowed_models)}
    return {
        "type": "object",
        "properties": fields,
        "required": list(fields),
        "additionalProperties": False,
    }


def orchestration_schema(known: Sequence[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "enum": ["pipeline", "supervisor"]},
            "entry_agent": id_schema(known),
            "order": {"type": "array", "items": id_schema(known), "maxItems": MAX_DESIGN_AGENTS},
        },
        "required": ["pattern", "entry_agent", "order"],
        "additionalProperties": False,
    }


def targets_schema(known: Sequence[str] | None = None) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "pattern": PATH_PATTERN},
                "agent": id_schema(known),
            },
            "required": ["path", "agent"],
            "additionalProperties": False,
        },
        "maxItems": MAX_TARGETS,
    }


def design_schema(allowed_models: Sequence[str]) -> dict[str, Any]:
    """JSON schema for /getspec's structured output (every value constrained by the grammar)."""
    return {
        "type": "object",
        "properties": {
            "agents": {
                "type": "array",
                "items": agent_schema(allowed_models),
                "minItems": 1,
                "maxItems": MAX_DESIGN_AGENTS,
            },
            "orchestration": orchestration_schema(),
            "gateway_targets": targets_schema(),
        },
        "required": ["agents", "orchestration", "gateway_targets"],
        "additionalProperties": False,
    }


def references_schema(agent_ids: Sequence[str]) -> dict[str, Any]:
    """The repair of a design's references: orchestration and targets over the defined ids."""
    return {
        "type": "object",
        "properties": {
            "orchestration": orchestration_schema(agent_ids),
            "gateway_targets": targets_schema(agent_ids),
        },
        "required": ["orchestration", "gateway_targets"],
        "additionalProperties": False,
    }


def design_to_spec_dict(design: dict[str, Any], *, gateway_provider: str) -> dict[str, Any]:
    """Convert the model's design into the Architecture shape (not yet validated).

    Resolves by rule what a grammar-valid design can still get wrong without losing anything:
    an agent written twice is kept once, two different agents under one id get distinct ids
    (`x`, `x_2`), repeated tools, strategies, order entries and gateway paths are listed once
    (see normalise_orchestration). Raises SpecValidationError for a design that is not even
    shaped like one (no agent list, an agent without id); every other problem is left for
    Architecture validation to report, so unknown keys a provider without a grammar let through
    are kept and rejected there by name.
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
        fields = dedupe_lists(fields)
        if any(fields == other for other in agents_config.values()):
            continue  # the same agent written twice: keep one
        agents_config[unique_id(agent_id, agents_config)] = fields
    if errors:
        raise SpecValidationError(errors)

    spec: dict[str, Any] = {"agents_config": agents_config}
    for key in design:
        if key not in {"agents", "orchestration", "gateway_targets"}:
            spec[key] = design[key]  # rejected by validation as an unknown field, by name
    orchestration = design.get("orchestration")
    if isinstance(orchestration, dict):
        orchestration = normalise_orchestration(orchestration)
    if orchestration is not None:
        spec["orchestration"] = orchestration
    targets = design.get("gateway_targets")
    if not targets:
        entry = orchestration.get("entry_agent") if isinstance(orchestration, dict) else None
        first = entry if isinstance(entry, str) else next(iter(agents_config), None)
        targets = [{"path": "/invoke", "agent": first}] if first else []
    spec["gateway_config"] = {"provider": gateway_provider, "targets": unique_paths(targets)}
    return spec


def _unique(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def dedupe_lists(agent: dict[str, Any]) -> dict[str, Any]:
    """An agent with repeated tools or memory strategies listed once (order kept)."""
    out = dict(agent)
    if isinstance(out.get("tools"), list):
        out["tools"] = _unique(out["tools"])
    memory = out.get("memory")
    if isinstance(memory, dict) and isinstance(memory.get("strategies"), list):
        out["memory"] = {**memory, "strategies": _unique(memory["strategies"])}
    return out


def normalise_orchestration(orchestration: dict[str, Any]) -> dict[str, Any]:
    """Resolve the two ways a grammar-valid orchestration can contradict itself, by rule.

    An agent listed twice in `order` runs once (first place). A pipeline whose entry_agent is
    listed in `order` but not first starts at `order[0]` (`order` is the more specific
    statement); one whose entry_agent is missing from `order` gets it prepended.
    References to agents that do not exist are left for validation (and a repair) to report.
    """
    out = dict(orchestration)
    order = out.get("order")
    if isinstance(order, list):
        out["order"] = order = _unique(order)
        entry = out.get("entry_agent")
        if out.get("pattern") == "pipeline" and order and order[0] != entry:
            if entry in order:
                out["entry_agent"] = order[0]
            else:
                out["order"] = [entry, *order]
    return out


def unique_id(agent_id: str, taken: Collection[str]) -> str:
    """`agent_id`, or `agent_id_2`, `_3`... if it is taken (still a valid id)."""
    candidate, n = agent_id, 2
    while candidate in taken:
        candidate, n = f"{agent_id[:44]}_{n}", n + 1
    return candidate


def unique_paths(targets: Any) -> Any:
    """Gateway targets with each path once (the first target for a path wins)."""
    if not isinstance(targets, list):
        return targets
    seen: set[Any] = set()
    out = []
    for target in targets:
        path = target.get("path") if isinstance(target, dict) else None
        if path in seen:
            continue
        seen.add(path)
        out.append(target)
    return out
