"""Prompt text for the architect model. Pure functions of their arguments."""

from __future__ import annotations

from collections.abc import Sequence

from agents.spec.schema import MEMORY_STRATEGIES, TOOL_CATALOG


def catalog_text(allowed_models: Sequence[str], default_model: str) -> str:
    """Tools, memory, model and patterns, in as few tokens as the choice needs.

    The structured step's schema enumerates the same tools, strategies and models, so a
    grammar-constrained provider can only write one of them; the text is for choosing well.
    """
    tools = "\n".join(f"- {name}: {desc}" for name, desc in TOOL_CATALOG.items())
    memory = ", ".join(
        f"{name} ({desc.rstrip('.').lower()})" for name, desc in MEMORY_STRATEGIES.items()
    )
    others = ", ".join(m for m in allowed_models if m != default_model)
    return (
        f"Tools (no others exist):\n{tools}\n"
        f"Memory strategies (need memory.enabled = true): {memory}.\n"
        f"Model: {default_model} unless the task clearly needs another of: {others}.\n"
        "Orchestration: pipeline (agents run in `order`, each gets the previous output; the "
        "first in `order` is the entry_agent) or supervisor (the entry_agent decides which agent "
        "to call next).\n"
    )


RULES = (
    "Rules:\n"
    "- 1 to 6 agents; each agent id is unique snake_case (a-z, 0-9, _; starts with a letter).\n"
    "- Every agent named in orchestration and gateway targets must be one of the agents.\n"
    "- Each agent's prompt is a complete system prompt for that agent.\n"
    "- Prefer the fewest agents that do the job well.\n"
)


def architect_system(allowed_models: Sequence[str], default_model: str) -> str:
    """The one system prompt of every spec step, /getspec and /updatespec alike, so that each
    step (and the next spec job) reuses the evaluated prefix on the local model."""
    return (
        "You are a software architect who designs and maintains multi-agent AI systems.\n\n"
        + catalog_text(allowed_models, default_model)
        + "\n"
        + RULES
    )


def use_case_message(name: str, description: str, report: str | None) -> str:
    parts = [f"Use case: {name}", f"Description: {description}"]
    if report:
        parts.append(f"Research report (context, may be truncated):\n<report>\n{report}\n</report>")
    return "\n\n".join(parts)


def rationale_request(use_case: str) -> str:
    return (
        f"{use_case}\n\n"
        "First write a short design rationale (at most 120 words, plain prose or a short list): "
        "which agents the system needs, what each is responsible for, which tools and memory "
        "each uses, and how they hand work to each other. Do not write JSON."
    )


DESIGN_REQUEST = (
    "Now return the architecture as one JSON object: `agents` (list, each with id, name, "
    "description, model, prompt, tools, memory), `orchestration` (pattern, entry_agent, order) "
    "and `gateway_targets` (list of {path, agent}; [] for the default /invoke route). Each "
    "prompt is that agent's own system prompt, written for it, not a copy of the use case."
)


def references_request(errors: Sequence[str], agent_ids: Sequence[str]) -> str:
    lines = "\n".join(f"- {e}" for e in errors)
    return (
        f"Some references in that architecture are wrong:\n{lines}\n"
        f"The agents are: {', '.join(agent_ids)}. Return `orchestration` and `gateway_targets` "
        "again, naming only these agents."
    )


def repair_message(errors: Sequence[str]) -> str:
    lines = "\n".join(f"- {e}" for e in errors)
    return (
        "That output is not a valid architecture. Problems:\n"
        f"{lines}\n"
        "Return the complete corrected JSON object (not only the changed parts), and nothing else."
    )


maintainer_system = architect_system


def update_plan_message(current_spec_json: str, instruction: str) -> str:
    return (
        f"Current spec:\n{current_spec_json}\n\nRequest: {instruction}\n\n"
        "First say, in at most 120 words, what you will change in the spec to carry out the "
        "request and what you will leave as it is. Change only what the request needs. Do not "
        "write JSON."
    )


EDIT_REQUEST = (
    'Now return the change as JSON: {"operations": [...]}, each operation one of\n'
    '- {"op": "add_agent", "agent": {id, name, description, model, prompt, tools, memory}, '
    '"after": <the existing agent it runs after, or "end">}\n'
    '- {"op": "remove_agent", "agent_id": ...}\n'
    '- {"op": "update_agent", "agent_id": ..., "changes": {only the fields that change}}\n'
    '- {"op": "set_orchestration", "pattern": ..., "entry_agent": ..., "order": [...]}\n'
    '- {"op": "set_gateway", "targets": [{path, agent}], "throttling": {rate_limit, '
    "burst_limit, quota_limit, quota_period}} (either part may be left out)\n"
    "Anything no operation names stays exactly as it is."
)


def edit_repair_message(errors: Sequence[str]) -> str:
    lines = "\n".join(f"- {e}" for e in errors)
    return (
        f"Those operations cannot be applied:\n{lines}\n"
        "Return the corrected operations JSON (all of them), and nothing else."
    )
