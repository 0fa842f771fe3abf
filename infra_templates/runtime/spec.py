"""spec.json, read into plain dataclasses (the file was validated when it was generated)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class SpecError(ValueError):
    """spec.json is missing something the runtime needs."""


@dataclass(frozen=True)
class AgentSpec:
    id: str
    name: str
    description: str
    model: str
    prompt: str
    tools: tuple[str, ...] = ()
    memory_enabled: bool = False
    memory_strategies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Orchestration:
    pattern: str
    entry_agent: str
    order: tuple[str, ...]
    max_turns: int


@dataclass(frozen=True)
class Spec:
    agents: dict[str, AgentSpec]
    orchestration: Orchestration
    targets: dict[str, str] = field(default_factory=dict)  # gateway path -> agent id

    def agent(self, agent_id: str) -> AgentSpec:
        try:
            return self.agents[agent_id]
        except KeyError:
            raise SpecError(f"unknown agent {agent_id!r}") from None


def parse_spec(data: dict[str, Any]) -> Spec:
    raw_agents = data.get("agents_config")
    if not isinstance(raw_agents, dict) or not raw_agents:
        raise SpecError("spec.json has no agents_config")
    agents: dict[str, AgentSpec] = {}
    for agent_id, cfg in raw_agents.items():
        memory = cfg.get("memory") or {}
        agents[agent_id] = AgentSpec(
            id=agent_id,
            name=cfg["name"],
            description=cfg["description"],
            model=cfg["model"],
            prompt=cfg["prompt"],
            tools=tuple(cfg.get("tools") or ()),
            memory_enabled=bool(memory.get("enabled", False)),
            memory_strategies=tuple(memory.get("strategies") or ()),
        )
    ids = list(agents)
    orch = data.get("orchestration") or {}
    pattern = orch.get("pattern", "pipeline")
    if pattern not in ("pipeline", "supervisor"):
        raise SpecError(f"unknown orchestration pattern {pattern!r}")
    entry = orch.get("entry_agent", ids[0])
    order = tuple(orch.get("order") or (ids if pattern == "pipeline" else ()))
    for agent_id in (entry, *order):
        if agent_id not in agents:
            raise SpecError(f"orchestration names unknown agent {agent_id!r}")
    gateway = data.get("gateway_config") or {}
    targets = {t["path"]: t["agent"] for t in gateway.get("targets") or ()}
    for path, agent_id in targets.items():
        if agent_id not in agents:
            raise SpecError(f"gateway target {path} names unknown agent {agent_id!r}")
    return Spec(
        agents=agents,
        orchestration=Orchestration(
            pattern=pattern,
            entry_agent=entry,
            order=order,
            max_turns=int(orch.get("max_turns", 8)),
        ),
        targets=targets,
    )


def load_spec(path: Path) -> Spec:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(f"cannot read {path}: {exc}") from exc
    return parse_spec(data)
