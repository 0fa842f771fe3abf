"""Runs agents as the spec's orchestration says.

pipeline:   each agent in `order` gets the request and the previous agent's output.
supervisor: the entry agent answers each turn with a JSON decision,
            {"next": "<agent id>", "input": "<task>"} to call another agent, or
            {"final": "<answer>"} to finish; at most `max_turns` decisions.
An agent's own turn is a tool loop: the model may call its tools until it answers in text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .memory import InProcessStore, Memory, MemoryState, MemoryStore, history_messages
from .models import Message, ModelClient, ToolUse
from .spec import AgentSpec, Spec
from .tools import TOOLS, ToolContext, ToolError, run_tool

TRACE_CHARS = 2000


@dataclass
class RunResult:
    output: str
    trace: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Decision:
    next_agent: str | None = None
    input: str = ""
    final: str | None = None


def parse_decision(text: str) -> Decision:
    """Read the supervisor's JSON decision; a reply that is not one is the final answer."""
    candidates = [text.strip()]
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if match:
        candidates.append(match.group(0))
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            if isinstance(data.get("final"), str):
                return Decision(final=data["final"])
            if isinstance(data.get("next"), str):
                task = data.get("input")
                return Decision(
                    next_agent=data["next"], input=task if isinstance(task, str) else ""
                )
    return Decision(final=text.strip())


class Runtime:
    def __init__(
        self,
        spec: Spec,
        client: ModelClient,
        *,
        tool_context: ToolContext,
        store: MemoryStore | None = None,
        max_tool_rounds: int = 8,
        buffer_turns: int = 10,
    ) -> None:
        self.spec = spec
        self.client = client
        self.tool_context = tool_context
        self.store: MemoryStore = store if store is not None else InProcessStore()
        self.max_tool_rounds = max_tool_rounds
        self.buffer_turns = buffer_turns

    # --- one agent ----------------------------------------------------------------------

    def _memory(self, agent: AgentSpec) -> Memory | None:
        if not agent.memory_enabled:
            return None

        def summarize(previous: str, turns: list[tuple[str, str]]) -> str:
            lines = [f"Previous summary: {previous or '(none)'}", "New turns:"]
            lines += [f"User: {u}\nAssistant: {a}" for u, a in turns]
            reply = self.client.converse(
                model=agent.model,
                system="You keep a concise running summary of a conversation. Reply with the "
                "updated summary only, at most 200 words, keeping names, numbers and decisions.",
                messages=[{"role": "user", "content": [{"text": "\n".join(lines)}]}],
                tools=[],
            )
            return reply.text.strip() or previous

        return Memory(
            self.store,
            strategies=agent.memory_strategies,
            buffer_turns=self.buffer_turns,
            summarizer=summarize,
        )

    def _tool_loop(
        self, agent: AgentSpec, system: str, messages: list[Message], calls: list[dict[str, Any]]
    ) -> str:
        specs = [TOOLS[name][1] for name in agent.tools if name in TOOLS]
        reply_text = ""
        for _ in range(self.max_tool_rounds + 1):
            reply = self.client.converse(
                model=agent.model, system=system, messages=messages, tools=specs
            )
            messages.append(reply.as_message())
            reply_text = reply.text
            if not reply.tool_uses:
                return reply_text
            messages.append(
                {"role": "user", "content": [self._call(u, calls) for u in reply.tool_uses]}
            )
        return reply_text or f"(stopped after {self.max_tool_rounds} rounds of tool calls)"

    def _call(self, use: ToolUse, calls: list[dict[str, Any]]) -> dict[str, Any]:
        try:
            result, status = run_tool(use.name, use.input, self.tool_context), "success"
        except ToolError as exc:
            result, status = f"error: {exc}", "error"
        calls.append({"tool": use.name, "input": use.input, "status": status})
        return {
            "toolResult": {"toolUseId": use.id, "content": [{"text": result}], "status": status}
        }

    def run_agent(self, agent_id: str, text: str, *, session_id: str) -> RunResult:
        agent = self.spec.agent(agent_id)
        memory = self._memory(agent)
        key = f"{session_id}:{agent.id}"
        state = memory.context(key) if memory else MemoryState()
        messages: list[Message] = [*history_messages(state), _user(text)]
        calls: list[dict[str, Any]] = []
        output = self._tool_loop(agent, agent.prompt, messages, calls)
        if memory:
            memory.record(key, text, output)
        return RunResult(output, [_trace(agent, text, output, calls)])

    # --- orchestration ------------------------------------------------------------------

    def run(self, text: str, *, session_id: str) -> RunResult:
        orch = self.spec.orchestration
        if orch.pattern == "supervisor":
            return self._supervise(text, session_id=session_id)
        trace: list[dict[str, Any]] = []
        current = text
        previous: tuple[str, str] | None = None
        for agent_id in orch.order or (orch.entry_agent,):
            step = self.run_agent(agent_id, pipeline_input(text, previous), session_id=session_id)
            trace += step.trace
            current = step.output
            previous = (self.spec.agent(agent_id).name, current)
        return RunResult(current, trace)

    def workers(self) -> list[AgentSpec]:
        orch = self.spec.orchestration
        ids = [a for a in (orch.order or tuple(self.spec.agents)) if a != orch.entry_agent]
        return [self.spec.agents[a] for a in ids]

    def _supervise(self, text: str, *, session_id: str) -> RunResult:
        orch = self.spec.orchestration
        boss = self.spec.agent(orch.entry_agent)
        workers = {a.id: a for a in self.workers()}
        roster = "\n".join(f"- {a.id}: {a.name}. {a.description}" for a in workers.values())
        system = (
            f"{boss.prompt}\n\nYou coordinate these agents:\n{roster}\n\n"
            "Each turn reply with JSON only: "
            '{"next": "<agent id>", "input": "<what that agent should do>"} to delegate, or '
            '{"final": "<the answer for the user>"} when the work is done.'
        )
        memory = self._memory(boss)
        key = f"{session_id}:{boss.id}"
        state = memory.context(key) if memory else MemoryState()
        messages: list[Message] = [*history_messages(state), _user(text)]
        trace: list[dict[str, Any]] = []
        last_result = ""
        output: str | None = None
        for _ in range(orch.max_turns):
            calls: list[dict[str, Any]] = []
            reply = self._tool_loop(boss, system, messages, calls)
            decision = parse_decision(reply)
            entry = _trace(boss, "", reply, calls)
            entry["role"] = "supervisor"
            trace.append(entry)
            if decision.final is not None:
                output = decision.final
                break
            if decision.next_agent not in workers:
                messages.append(
                    _user(
                        f"There is no agent {decision.next_agent!r}. Choose one of: "
                        f"{', '.join(workers)}, or give the final answer."
                    )
                )
                continue
            step = self.run_agent(
                decision.next_agent, decision.input or text, session_id=session_id
            )
            trace += step.trace
            last_result = step.output
            messages.append(
                _user(f"Result from {decision.next_agent}:\n{step.output}\n\nNext decision?")
            )
        if output is None:
            output = last_result or "(the supervisor reached max_turns without a final answer)"
            trace.append({"agent": boss.id, "role": "supervisor", "note": "max_turns reached"})
        if memory:
            memory.record(key, text, output)
        return RunResult(output, trace)


def _user(text: str) -> Message:
    return {"role": "user", "content": [{"text": text}]}


def _trace(agent: AgentSpec, text: str, output: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "agent": agent.id,
        "name": agent.name,
        "input": text[:TRACE_CHARS],
        "output": output[:TRACE_CHARS],
        "tool_calls": calls,
    }


def pipeline_input(request: str, previous: tuple[str, str] | None) -> str:
    """What a pipeline step sees: the user's request, and the previous agent's work if any."""
    if previous is None:
        return request
    name, output = previous
    return f"User request:\n{request}\n\nOutput of the previous agent ({name}):\n{output}"
