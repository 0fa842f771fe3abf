"""The architecture spec: a strict model of agents, orchestration and gateway.

The tool catalog and memory strategies here are exactly what the generated agent runtime
(infra_templates/) implements; anything else is a validation error, so a spec that validates is
a spec that deploys.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

ToolName = Literal["http_fetch", "calculator", "current_time", "json_query", "document_reader"]
MemoryStrategy = Literal["buffer", "summary"]

TOOL_CATALOG: dict[str, str] = {
    "http_fetch": "Fetch a public http(s) URL (private and loopback addresses refused) as text.",
    "calculator": "Evaluate an arithmetic expression (+ - * / ** % parentheses, math functions).",
    "current_time": "The current date and time in UTC or a named IANA time zone.",
    "json_query": "Select values from a JSON document with a dotted/indexed path (a.b[0].c).",
    "document_reader": "Read or search the documents bundled with the deployed app.",
}
MEMORY_STRATEGIES: dict[str, str] = {
    "buffer": "Keep the last N turns of the conversation verbatim.",
    "summary": "Keep a running summary of older turns, refreshed by the agent's model.",
}

# Bedrock model ids (and cross-region inference profiles) the AWS target can grant and call.
BEDROCK_MODELS: frozenset[str] = frozenset(
    {
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic.claude-opus-4-1-20250805-v1:0",
        "anthropic.claude-sonnet-4-20250514-v1:0",
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        "anthropic.claude-3-5-haiku-20241022-v1:0",
    }
)
_PROFILE_PREFIX = re.compile(r"^(us|eu|apac|global)\.")
# Non-Bedrock models for the local target / OpenAI-compatible endpoints: "openai:<model>".
_OPENAI_MODEL = re.compile(r"^openai:[A-Za-z0-9._:/-]{1,120}$")


def is_bedrock_model(model: str) -> bool:
    return _PROFILE_PREFIX.sub("", model) in BEDROCK_MODELS


def is_known_model(model: str) -> bool:
    return is_bedrock_model(model) or bool(_OPENAI_MODEL.match(model))


AgentId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=False)


class Memory(_Strict):
    enabled: bool = False
    strategies: list[MemoryStrategy] = Field(default_factory=list)

    @model_validator(mode="after")
    def _strategies_need_memory(self) -> Memory:
        if self.strategies and not self.enabled:
            raise ValueError("memory.strategies is set but memory.enabled is false")
        if len(set(self.strategies)) != len(self.strategies):
            raise ValueError("memory.strategies has duplicates")
        return self


class AgentConfig(_Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    description: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    model: str
    prompt: Annotated[str, StringConstraints(min_length=1, max_length=20000)]
    tools: list[ToolName] = Field(default_factory=list)
    memory: Memory = Field(default_factory=Memory)

    @model_validator(mode="after")
    def _check(self) -> AgentConfig:
        if not is_known_model(self.model):
            raise ValueError(
                f"model {self.model!r} is not a supported model id "
                f"(Bedrock ids such as {sorted(BEDROCK_MODELS)[0]!r}, or 'openai:<model>')"
            )
        if len(set(self.tools)) != len(self.tools):
            raise ValueError("tools has duplicates")
        return self


class Orchestration(_Strict):
    """How agents hand work to each other.

    pipeline: each agent in `order` gets the previous agent's output; the entry agent is first.
    supervisor: the entry agent decides, turn by turn, which other agent to call.
    """

    pattern: Literal["pipeline", "supervisor"] = "pipeline"
    entry_agent: AgentId
    order: list[AgentId] = Field(default_factory=list)
    max_turns: Annotated[int, Field(ge=1, le=50)] = 8


class Throttling(_Strict):
    rate_limit: Annotated[float, Field(gt=0, le=10000)] = 10.0
    burst_limit: Annotated[int, Field(ge=1, le=5000)] = 20
    quota_limit: Annotated[int, Field(ge=1)] | None = None
    quota_period: Literal["DAY", "WEEK", "MONTH"] = "MONTH"


class GatewayTarget(_Strict):
    path: Annotated[str, StringConstraints(pattern=r"^/[a-z0-9_/-]{1,64}$")] = "/invoke"
    agent: AgentId


class GatewayConfig(_Strict):
    provider: Literal["api_gateway", "local"] = "api_gateway"
    targets: list[GatewayTarget] = Field(default_factory=list)
    throttling: Throttling = Field(default_factory=Throttling)


class Architecture(_Strict):
    agents_config: dict[AgentId, AgentConfig]
    orchestration: Orchestration | None = None
    gateway_config: GatewayConfig = Field(default_factory=GatewayConfig)

    @model_validator(mode="after")
    def _references(self) -> Architecture:
        ids = list(self.agents_config)
        if not ids:
            raise ValueError("agents_config must define at least one agent")
        if len(ids) > 20:
            raise ValueError("agents_config may define at most 20 agents")
        if self.orchestration is None:
            self.orchestration = Orchestration(pattern="pipeline", entry_agent=ids[0], order=ids)
        orch = self.orchestration
        known = set(ids)
        if orch.entry_agent not in known:
            raise ValueError(f"orchestration.entry_agent {orch.entry_agent!r} is not an agent")
        for agent in orch.order:
            if agent not in known:
                raise ValueError(f"orchestration.order names unknown agent {agent!r}")
        if len(set(orch.order)) != len(orch.order):
            raise ValueError("orchestration.order lists an agent twice")
        if orch.pattern == "pipeline" and orch.order and orch.order[0] != orch.entry_agent:
            raise ValueError("a pipeline's order must start with its entry_agent")
        for target in self.gateway_config.targets:
            if target.agent not in known:
                raise ValueError(f"gateway_config target {target.path} names unknown agent")
        paths = [t.path for t in self.gateway_config.targets]
        if len(set(paths)) != len(paths):
            raise ValueError("gateway_config.targets has duplicate paths")
        return self
