"""Exports of a spec to open formats, written into the generated repository by /deploy.

- Oracle Open Agent Spec (agentspec_version 26.1.0): one agent -> an `Agent` document; a
  pipeline -> a `Flow` (StartNode -> AgentNode per agent in order -> EndNode, with control and
  data flow edges); a supervisor -> a `Swarm` whose first agent is the entry agent and which can
  hand off to and from every other agent. Shared components (LLM configs, tools, agents) are
  serialised once under `$referenced_components` and referred to by `$component_ref`.
- A2A Agent Card (protocolVersion 0.3.0): name, description, url, version, capabilities,
  default input/output modes, one skill per agent, and the API-key header the gateway expects.

Pure functions of the spec; no I/O.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from agents.spec.schema import TOOL_CATALOG, AgentConfig, Architecture, is_bedrock_model

AGENTSPEC_VERSION = "26.1.0"
A2A_PROTOCOL_VERSION = "0.3.0"
API_KEY_HEADER = "x-api-key"

_TOOL_INPUTS: dict[str, list[dict[str, Any]]] = {
    "http_fetch": [{"title": "url", "type": "string", "description": "http(s) URL to fetch"}],
    "calculator": [{"title": "expression", "type": "string", "description": "expression"}],
    "current_time": [
        {"title": "timezone", "type": "string", "description": "IANA zone", "default": "UTC"}
    ],
    "json_query": [
        {"title": "document", "type": "string", "description": "JSON text"},
        {"title": "path", "type": "string", "description": "dotted/indexed path, a.b[0].c"},
    ],
    "document_reader": [{"title": "query", "type": "string", "description": "what to find"}],
}
_TEXT_IN = {"title": "input", "type": "string", "description": "the request or previous output"}
_TEXT_OUT = {"title": "output", "type": "string", "description": "the agent's answer"}


def _ref(component_id: str) -> dict[str, str]:
    return {"$component_ref": component_id}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _llm_config(model: str) -> dict[str, Any]:
    if is_bedrock_model(model):
        parts = model.split(".")
        vendor = parts[1] if parts[0] in {"us", "eu", "apac", "global"} else parts[0]
        provider, api_provider = vendor, "aws_bedrock"
        model_id = model
    else:
        provider, api_provider = None, "openai_compatible"
        model_id = model.removeprefix("openai:")
    return {
        "component_type": "LlmConfig",
        "id": f"llm_{_slug(model)}",
        "name": model,
        "description": None,
        "metadata": {},
        "model_id": model_id,
        "provider": provider,
        "api_provider": api_provider,
        "api_type": "chat_completions" if api_provider == "openai_compatible" else None,
        "default_generation_parameters": None,
    }


def _tool(name: str) -> dict[str, Any]:
    return {
        "component_type": "ServerTool",
        "id": f"tool_{name}",
        "name": name,
        "description": TOOL_CATALOG[name],
        "metadata": {},
        "inputs": _TOOL_INPUTS.get(name, []),
        "outputs": [{"title": "result", "type": "string"}],
    }


def _agent(agent_id: str, agent: AgentConfig, *, with_io: bool) -> dict[str, Any]:
    return {
        "component_type": "Agent",
        "id": agent_id,
        "name": agent.name,
        "description": agent.description,
        "metadata": {"qubitz": {"memory": agent.memory.model_dump(mode="json")}},
        "inputs": [_TEXT_IN] if with_io else [],
        "outputs": [_TEXT_OUT] if with_io else [],
        "llm_config": _ref(_llm_config(agent.model)["id"]),
        "system_prompt": agent.prompt,
        "tools": [_ref(f"tool_{t}") for t in agent.tools],
    }


def _shared(arch: Architecture) -> dict[str, dict[str, Any]]:
    refs: dict[str, dict[str, Any]] = {}
    for agent in arch.agents_config.values():
        llm = _llm_config(agent.model)
        refs.setdefault(llm["id"], llm)
        for tool in agent.tools:
            refs.setdefault(f"tool_{tool}", _tool(tool))
    return refs


def _edge(kind: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"component_type": kind, "id": name, "name": name, "metadata": {}, **fields}


def _pipeline_flow(arch: Architecture, order: list[str], refs: dict[str, Any]) -> dict[str, Any]:
    nodes: list[str] = ["start"]
    refs["start"] = {
        "component_type": "StartNode", "id": "start", "name": "start", "metadata": {},
        "inputs": [_TEXT_IN], "outputs": [_TEXT_IN],
    }  # fmt: skip
    for agent_id in order:
        node_id = f"node_{agent_id}"
        refs[agent_id] = _agent(agent_id, arch.agents_config[agent_id], with_io=True)
        refs[node_id] = {
            "component_type": "AgentNode", "id": node_id, "name": agent_id, "metadata": {},
            "inputs": [_TEXT_IN], "outputs": [_TEXT_OUT], "agent": _ref(agent_id),
        }  # fmt: skip
        nodes.append(node_id)
    refs["end"] = {
        "component_type": "EndNode", "id": "end", "name": "end", "metadata": {},
        "inputs": [_TEXT_OUT], "outputs": [_TEXT_OUT], "branch_name": "next",
    }  # fmt: skip
    nodes.append("end")
    control = [
        _edge(
            "ControlFlowEdge", f"{a}_to_{b}", from_node=_ref(a), from_branch=None, to_node=_ref(b)
        )
        for a, b in itertools.pairwise(nodes)
    ]
    data = [
        _edge(
            "DataFlowEdge",
            f"{a}_to_{b}_data",
            source_node=_ref(a),
            source_output="input" if a == "start" else "output",
            destination_node=_ref(b),
            destination_input="output" if b == "end" else "input",
        )
        for a, b in itertools.pairwise(nodes)
    ]
    return {
        "component_type": "Flow",
        "inputs": [_TEXT_IN],
        "outputs": [_TEXT_OUT],
        "start_node": _ref("start"),
        "nodes": [_ref(n) for n in nodes],
        "control_flow_connections": control,
        "data_flow_connections": data,
    }


def to_open_agent_spec(arch: Architecture, *, name: str, version: str | int) -> dict[str, Any]:
    """An Open Agent Spec document (JSON-ready dict) describing the whole architecture."""
    orch = arch.orchestration
    assert orch is not None  # Architecture validation always sets it
    refs = _shared(arch)
    ids = list(arch.agents_config)
    meta = {
        "qubitz": {
            "spec_version": str(version),
            "orchestration": orch.model_dump(mode="json"),
            "gateway_config": arch.gateway_config.model_dump(mode="json"),
        }
    }
    if len(ids) == 1:
        root = _agent(ids[0], arch.agents_config[ids[0]], with_io=False)
        root["metadata"] = {**root["metadata"], **meta}
        body = {k: v for k, v in root.items() if k not in {"id", "name"}}
    elif orch.pattern == "pipeline":
        order = orch.order or ids
        body = _pipeline_flow(arch, order, refs)
        body["metadata"] = meta
        body["description"] = f"Pipeline of {len(order)} agents: {' -> '.join(order)}"
    else:
        for agent_id in ids:
            refs[agent_id] = _agent(agent_id, arch.agents_config[agent_id], with_io=False)
        workers = [a for a in ids if a != orch.entry_agent]
        relationships = [[_ref(orch.entry_agent), _ref(w)] for w in workers]
        relationships += [[_ref(w), _ref(orch.entry_agent)] for w in workers]
        body = {
            "component_type": "Swarm",
            "description": f"Supervisor {orch.entry_agent} delegating to {', '.join(workers)}",
            "metadata": meta,
            "inputs": [],
            "outputs": [],
            "first_agent": _ref(orch.entry_agent),
            "relationships": relationships,
            "handoff": "optional",
        }
    component_type = body.pop("component_type")
    return {
        "agentspec_version": AGENTSPEC_VERSION,
        "component_type": component_type,
        "id": _slug(name) or "qubitz_app",
        "name": name,
        **body,
        "$referenced_components": refs,
    }


def to_agent_card(
    arch: Architecture, *, name: str, description: str, url: str, version: str | int
) -> dict[str, Any]:
    """An A2A Agent Card (JSON-ready dict) for the deployed app."""
    skills = [
        {
            "id": agent_id,
            "name": agent.name,
            "description": agent.description,
            "tags": [agent_id, *agent.tools],
            "inputModes": ["text/plain"],
            "outputModes": ["text/plain"],
        }
        for agent_id, agent in arch.agents_config.items()
    ]
    return {
        "protocolVersion": A2A_PROTOCOL_VERSION,
        "name": name,
        "description": description,
        "url": url,
        "version": str(version),
        "capabilities": {
            "streaming": False,
            "pushNotifications": False,
            "stateTransitionHistory": False,
        },
        "securitySchemes": {
            "apiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER},
        },
        "security": [{"apiKey": []}],
        "defaultInputModes": ["text/plain", "application/json"],
        "defaultOutputModes": ["text/plain", "application/json"],
        "skills": skills,
    }
