"""Prompt text for the architect model. Pure functions of their arguments."""

from __future__ import annotations

from collections.abc import Sequence

from agents.spec.schema import MEMORY_STRATEGIES, TOOL_CATALOG


def catalog_text(allowed_models: Sequence[str], default_model: str) -> str:
    tools = "\n".join(f"- {name}: {desc}" for name, desc in TOOL_CATALOG.items())
    memory = "\n".join(f"- {name}: {desc}" for name, desc in MEMORY_STRATEGIES.items())
    models = "\n".join(f"- {m}" for m in allowed_models)
    return (
        "Tools an agent may use (no others exist):\n"
        f"{tools}\n\n"
        "Memory strategies (memory.strategies needs memory.enabled = true):\n"
        f"{memory}\n\n"
        "Models an agent may use:\n"
        f"{models}\n"
        f"Use {default_model} unless the task clearly needs another.\n\n"
        "Orchestration patterns:\n"
        "- pipeline: agents run in `order`, each gets the previous agent's output; the first "
        "agent in `order` is the entry_agent.\n"
        "- supervisor: the entry_agent decides, turn by turn, which other agent to call.\n"
    )


RULES = (
    "Rules:\n"
    "- 1 to 20 agents; each agent id is unique snake_case (a-z, 0-9, _; starts with a letter).\n"
    "- Every agent named in orchestration and gateway targets must be one of the agents.\n"
    "- Each agent's prompt is a complete system prompt for that agent.\n"
    "- Prefer the fewest agents that do the job well.\n"
)


def rationale_system(allowed_models: Sequence[str], default_model: str) -> str:
    return (
        "You are a software architect who designs multi-agent AI systems.\n"
        "Write a short design rationale (at most 250 words, plain prose or a short list): which "
        "agents the system needs, what each is responsible for, which tools and memory each "
        "uses, and how they hand work to each other. Do not write JSON.\n\n"
        + catalog_text(allowed_models, default_model)
        + "\n"
        + RULES
    )


def spec_system(allowed_models: Sequence[str], default_model: str) -> str:
    return (
        "You are a software architect who designs multi-agent AI systems.\n"
        "Return the final architecture as one JSON object matching the given schema, and "
        "nothing else.\n\n" + catalog_text(allowed_models, default_model) + "\n" + RULES
    )


def use_case_message(name: str, description: str, report: str | None) -> str:
    parts = [f"Use case: {name}", f"Description: {description}"]
    if report:
        parts.append(f"Research report (context, may be truncated):\n<report>\n{report}\n</report>")
    return "\n\n".join(parts)


def design_request_message(use_case: str, rationale: str) -> str:
    return (
        f"{use_case}\n\nDesign rationale:\n{rationale.strip() or '(none)'}\n\n"
        "Now return the architecture JSON: `agents` (list, each with id, name, description, "
        "model, prompt, tools, memory), `orchestration` (pattern, entry_agent, order) and "
        "`gateway_targets` (list of {path, agent}; [] for the default /invoke route)."
    )


def repair_message(errors: Sequence[str]) -> str:
    lines = "\n".join(f"- {e}" for e in errors)
    return (
        "That output is not a valid architecture. Problems:\n"
        f"{lines}\n"
        "Return the complete corrected JSON object (not only the changed parts), and nothing else."
    )


def update_rationale_system(allowed_models: Sequence[str], default_model: str) -> str:
    return (
        "You are a software architect who maintains a multi-agent AI system's spec.\n"
        "In at most 150 words, say what you will change in the spec to carry out the request "
        "and what you will leave as it is. Change only what the request needs. Do not write "
        "JSON.\n\n" + catalog_text(allowed_models, default_model) + "\n" + RULES
    )


def update_patch_system(allowed_models: Sequence[str], default_model: str) -> str:
    return (
        "You are a software architect who maintains a multi-agent AI system's spec.\n"
        'Return {"patch": [...]}: an RFC 6902 JSON Patch against the current spec that carries '
        "out the request. Paths are JSON pointers into the spec, e.g. "
        "/agents_config/<agent_id>/model or /orchestration/order. To add an agent use "
        '{"op": "add", "path": "/agents_config/<new_id>", "value": {name, description, model, '
        "prompt, tools, memory}} and add it to /orchestration/order where it runs; to remove "
        "one, also remove it from orchestration and gateway targets. Touch nothing else.\n\n"
        + catalog_text(allowed_models, default_model)
        + "\n"
        + RULES
    )


def update_request_message(current_spec_json: str, instruction: str, rationale: str) -> str:
    return (
        f"Current spec:\n{current_spec_json}\n\nRequest: {instruction}\n\n"
        f"Plan:\n{rationale.strip() or '(none)'}\n\nReturn the JSON patch."
    )


def update_plan_message(current_spec_json: str, instruction: str) -> str:
    return f"Current spec:\n{current_spec_json}\n\nRequest: {instruction}"
