"""/updatespec's typed edit operations: their schema (one per current spec), and applying them.

The model does not rewrite the spec, and does not write JSON pointers: it lists operations, each
of which names what it changes —

- `add_agent`: a complete new agent (every field constrained like /getspec's), run after an
  existing agent or at the end;
- `remove_agent`: one existing agent (an enum of the current ids), also taken out of the order
  and the gateway targets;
- `update_agent`: named fields of one existing agent (only those fields change);
- `set_orchestration`: pattern, entry agent and order over the existing agents (new agents join
  the order where their `add_agent` says, removed ones leave it);
- `set_gateway`: targets and/or throttling (throttling values from fixed lists).

Applying them changes nothing else, so every agent an operation does not name keeps its exact
canonical bytes. Contradictions between operations are resolved by rule: removing an agent twice
removes it once, changing an agent removed earlier in the same reply changes nothing. What the
grammar cannot rule out is semantic: a gateway target that names an agent that does not exist
(it may name one added by the same reply), or removing every agent. Those raise
SpecValidationError, and the caller sends the errors back for a repair.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from agents.spec.llm_format import (
    MAX_AGENTS,
    agent_fields,
    agent_schema,
    dedupe_lists,
    id_schema,
    normalise_orchestration,
    targets_schema,
    unique_id,
    unique_paths,
)
from agents.spec.schema import Architecture
from agents.spec.validation import SpecValidationError, validate_spec

END = "end"
MAX_OPERATIONS = 4  # the longest reply (four new agents) fits edit_max_tokens
RATE_LIMITS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
BURST_LIMITS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
QUOTA_LIMITS = (None, 100, 1000, 10000, 100000, 1000000)


def _op(name: str, fields: dict[str, Any], optional: Sequence[str] = ()) -> dict[str, Any]:
    properties = {"op": {"const": name}, **fields}
    return {
        "type": "object",
        "properties": properties,
        "required": [k for k in properties if k not in optional],
        "additionalProperties": False,
    }


def edit_schema(agent_ids: Sequence[str], allowed_models: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of an edit reply for a spec whose agents are `agent_ids`."""
    after = [*agent_ids, END] if END not in agent_ids else [*agent_ids]
    fields = agent_fields(allowed_models)
    changes = {"type": "object", "properties": fields, "additionalProperties": False}
    throttling = {
        "type": "object",
        "properties": {
            "rate_limit": {"enum": list(RATE_LIMITS)},
            "burst_limit": {"enum": list(BURST_LIMITS)},
            "quota_limit": {"enum": list(QUOTA_LIMITS)},
            "quota_period": {"type": "string", "enum": ["DAY", "WEEK", "MONTH"]},
        },
        "additionalProperties": False,
    }
    operations = [
        _op(
            "add_agent",
            {
                "agent": agent_schema(allowed_models),
                "after": {"type": "string", "enum": after},
            },
        ),
        _op("remove_agent", {"agent_id": id_schema(agent_ids)}),
        _op("update_agent", {"agent_id": id_schema(agent_ids), "changes": changes}),
        _op(
            "set_orchestration",
            {
                "pattern": {"type": "string", "enum": ["pipeline", "supervisor"]},
                "entry_agent": id_schema(agent_ids),
                "order": {"type": "array", "items": id_schema(agent_ids), "maxItems": MAX_AGENTS},
            },
        ),
        _op(
            "set_gateway",
            {"targets": targets_schema(), "throttling": throttling},
            optional=("targets", "throttling"),
        ),
    ]
    return {
        "type": "object",
        "properties": {
            "operations": {
                "type": "array",
                "items": {"anyOf": operations},
                "minItems": 1,
                "maxItems": MAX_OPERATIONS,
            }
        },
        "required": ["operations"],
        "additionalProperties": False,
    }


def named_agents(operations: Sequence[dict[str, Any]]) -> set[str]:
    """The agent ids the operations add, remove or change (everything else stays as it is)."""
    names: set[str] = set()
    for op in operations:
        if op.get("op") == "add_agent":
            names.add(str(op.get("agent", {}).get("id")))
        elif op.get("op") in {"remove_agent", "update_agent"}:
            names.add(str(op.get("agent_id")))
    return names


class _Editor:
    def __init__(self, current: dict[str, Any]) -> None:
        self.added: list[tuple[str, Any]] = []  # (new id, the agent it runs after)
        self.removed: set[str] = set()
        self.spec = copy.deepcopy(current)
        self.agents: dict[str, Any] = self.spec.setdefault("agents_config", {})
        orchestration = self.spec.get("orchestration") or {}
        self.spec["orchestration"] = orchestration
        self.orchestration: dict[str, Any] = orchestration
        self.gateway: dict[str, Any] = self.spec.setdefault("gateway_config", {})

    def _entry(self) -> str | None:
        order = self.orchestration.get("order") or []
        return order[0] if order else next(iter(self.agents), None)

    def add_agent(self, op: dict[str, Any]) -> None:
        fields = dict(op["agent"])
        # "add" never overwrites: a clashing id gets a suffix
        agent_id = unique_id(str(fields.pop("id")), self.agents)
        self.agents[agent_id] = dedupe_lists(fields)
        self.added.append((agent_id, op.get("after")))

    def remove_agent(self, op: dict[str, Any]) -> None:
        agent_id = op["agent_id"]
        if agent_id not in self.agents:
            return  # removed twice in one reply: once is enough
        del self.agents[agent_id]
        self.removed.add(agent_id)

    def update_agent(self, op: dict[str, Any]) -> None:
        agent_id = op["agent_id"]
        if agent_id not in self.agents:
            return  # removed earlier in this reply: the removal stands
        self.agents[agent_id] = dedupe_lists({**self.agents[agent_id], **op["changes"]})

    def set_orchestration(self, op: dict[str, Any]) -> None:
        new = {k: op[k] for k in ("pattern", "entry_agent", "order")}
        self.orchestration.update(normalise_orchestration(new))

    def finish(self) -> None:
        """What follows from the operations as a whole, in any order they came.

        Removed agents leave the order (the entry moves to the first remaining agent) and their
        gateway targets go to the entry agent; each new agent joins a non-empty order after the
        agent its `after` names (or at the end).
        """
        orch = self.orchestration
        order = [a for a in orch.get("order") or [] if a not in self.removed]
        for agent_id, after in self.added:
            if order and agent_id in self.agents and agent_id not in order:
                order.insert(order.index(after) + 1 if after in order else len(order), agent_id)
        if "order" in orch or order:
            orch["order"] = order
        if orch.get("entry_agent") in self.removed or "entry_agent" not in orch:
            orch["entry_agent"] = self._entry()
        self.orchestration.update(normalise_orchestration(orch))
        entry = orch.get("entry_agent")
        for target in self.gateway.get("targets", []):
            if target.get("agent") in self.removed:
                target["agent"] = entry

    def set_gateway(self, op: dict[str, Any]) -> None:
        if "targets" in op:
            self.gateway["targets"] = unique_paths([dict(t) for t in op["targets"]])
        if "throttling" in op:
            self.gateway["throttling"] = {**self.gateway.get("throttling", {}), **op["throttling"]}
            rate = self.gateway["throttling"].get("rate_limit")
            if isinstance(rate, int):
                self.gateway["throttling"]["rate_limit"] = float(rate)


def apply_edits(current: dict[str, Any], reply: dict[str, Any]) -> Architecture:
    """Apply the model's `{"operations": [...]}` to `current` (not modified) and validate."""
    operations = reply.get("operations")
    if not isinstance(operations, list) or not operations:
        raise SpecValidationError(['the reply must be {"operations": [at least one operation]}'])
    editor = _Editor(current)
    for i, op in enumerate(operations):
        kind = op.get("op") if isinstance(op, dict) else None
        method = getattr(editor, str(kind), None) if kind in _KINDS else None
        if method is None:
            raise SpecValidationError([f"operations.{i}.op: must be one of {sorted(_KINDS)}"])
        try:
            method(op)
        except KeyError as exc:
            raise SpecValidationError([f"operations.{i}: missing field {exc}"]) from exc
    if not editor.agents:
        raise SpecValidationError(["the operations remove every agent; keep at least one"])
    editor.finish()
    return validate_spec(editor.spec)


_KINDS = frozenset(
    {"add_agent", "remove_agent", "update_agent", "set_orchestration", "set_gateway"}
)
