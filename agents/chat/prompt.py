"""Build the model request for one chat turn so that it fits the model's context window.

Pure functions, no I/O. The system prompt carries the instructions and the report; the messages
carry the conversation. Budget, in estimated tokens (agents.chat.tokens):

    context_window = reserved output + safety margin + instructions + conversation + report

The conversation keeps its newest messages (the question always, cut if it alone is too long).
The report goes in whole when it fits; otherwise an outline of every section plus the sections
BM25 ranks as relevant to the question (best first, at most `max_sections`), shown in document
order. When nothing matches, the report's opening sections are shown instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agents.chat.retrieval import rank_sections
from agents.chat.sections import Section
from agents.chat.tokens import estimate_tokens
from agents.errors import InvalidRequest
from agents.llm.port import CompletionRequest, Message, WebSearchOptions

_CITE = re.compile(r"\[S(\d+)\]")
_PART = re.compile(r" \(part \d+\)$")


class ContextTooSmall(InvalidRequest):
    code = "CONTEXT_TOO_SMALL"


@dataclass(frozen=True)
class PromptLimits:
    context_window: int
    max_output_tokens: int
    max_sections: int = 8
    history_share: float = 0.35  # of the space left after instructions and output
    max_prompt_tokens: int | None = None  # a tighter cap on the prompt than the window gives


@dataclass(frozen=True)
class PromptPlan:
    request: CompletionRequest
    sections: tuple[Section, ...]  # the sections shown, in document order
    whole_report: bool
    estimated_prompt_tokens: int


def answer_instructions(company_name: str | None, *, web_search: bool, whole: bool) -> str:
    about = f" prepared for {company_name}" if company_name else ""
    lines = [
        f"You are a research assistant. Answer questions about the research report{about} "
        "given below between <report> tags.",
        "Ground every statement in the report and cite the sections you used by their labels "
        "in square brackets, for example [S3]. If the report does not cover something, say so "
        "plainly instead of guessing.",
    ]
    if not whole:
        lines.append(
            "The report is long: only the sections most relevant to the question are shown, "
            "after an outline of all sections. If the answer needs a section that is not shown, "
            "name it from the outline."
        )
    if web_search:
        lines.append(
            "You may search the web for facts the report lacks or that may have changed; say "
            "which statements come from the web and name their sources."
        )
    lines.append("Answer in Markdown. Be accurate and concise.")
    return "\n".join(lines)


def report_instructions(company_name: str | None, *, web_search: bool, whole: bool) -> str:
    about = f" for {company_name}" if company_name else ""
    lines = [
        f"You write research reports{about}. The user asks for a new or revised report. Write it "
        "in full, in Markdown, starting with a '# ' title, based on the existing report given "
        "below between <report> tags and on the user's instructions.",
        "Keep facts from the existing report accurate; do not invent figures or sources.",
    ]
    if not whole:
        lines.append("Only the most relevant sections of the existing report are shown.")
    if web_search:
        lines.append("You may search the web for newer facts; cite their sources.")
    lines.append("Output only the report, with no preamble.")
    return "\n".join(lines)


def render_section(section: Section) -> str:
    return f"[{section.label}] {section.title}\n{section.text}\n"


def build_prompt(
    *,
    sections: Sequence[Section],
    messages: Sequence[Message],
    instructions: Callable[[bool], str],
    limits: PromptLimits,
    web_search: WebSearchOptions | None = None,
    cache_system: bool = False,
) -> PromptPlan:
    """The request for this turn (see module docstring); ContextTooSmall when nothing fits."""
    window = limits.context_window
    max_out = max(16, min(limits.max_output_tokens, window // 4))
    margin = 64 + window // 50
    # Budget with the longer (partial-report) instructions; show the whole-report ones if it fits.
    frame = instructions(False) + "\n\n<report>\n\n</report>"
    available = window - max_out - margin - estimate_tokens(frame)
    if limits.max_prompt_tokens is not None:
        available = min(available, limits.max_prompt_tokens - estimate_tokens(frame))
    if available < 64:
        raise ContextTooSmall(
            f"the model's context window ({window} tokens) is too small for a chat turn"
        )
    history = fit_history(messages, max(32, int(available * limits.history_share)))
    report_budget = available - sum(estimate_tokens(m.content) for m in history)
    shown, whole, body = select_report(
        sections, _queries(messages), report_budget, max_sections=limits.max_sections
    )
    system = f"{instructions(whole)}\n\n<report>\n{body}\n</report>"
    estimate = estimate_tokens(system) + sum(estimate_tokens(m.content) for m in history)
    request = CompletionRequest(
        system=system,
        messages=history,
        max_tokens=max_out,
        web_search=web_search,
        cache_system=cache_system and whole,
    )
    return PromptPlan(request, tuple(shown), whole, estimate)


def fit_history(messages: Sequence[Message], budget: int) -> list[Message]:
    """The newest messages within `budget`, starting with a user message, roles alternating."""
    merged: list[Message] = []
    for m in messages:
        if merged and merged[-1].role == m.role:
            merged[-1] = Message(m.role, f"{merged[-1].content}\n\n{m.content}")
        else:
            merged.append(m)
    kept: list[Message] = []
    used = 0
    for m in reversed(merged):
        cost = estimate_tokens(m.content)
        if not kept:
            if cost > budget:
                m = Message(m.role, _cut(m.content, budget))
                cost = estimate_tokens(m.content)
        elif used + cost > budget:
            break
        kept.append(m)
        used += cost
    kept.reverse()
    while kept and kept[0].role != "user":
        kept.pop(0)
    return kept


def select_report(
    sections: Sequence[Section], queries: Sequence[str], budget: int, *, max_sections: int
) -> tuple[list[Section], bool, str]:
    """(sections shown, whole report?, rendered text) within `budget` estimated tokens.

    `queries` are tried in order (the question, then the question with the one before it) until
    one ranks some section above zero.
    """
    rendered = {s.number: render_section(s) for s in sections}
    full = "\n".join(rendered[s.number] for s in sections)
    if estimate_tokens(full) <= budget:
        return list(sections), True, full
    outline = _outline(_outline_lines(sections), budget // 5)
    remaining = budget - estimate_tokens(outline)
    ranked: list[Section] = []
    for query in queries:
        ranked = [s for s, _score in rank_sections(sections, query)][:max_sections]
        if ranked:
            break
    candidates = ranked or list(sections)
    chosen: list[Section] = []
    for s in candidates:
        cost = estimate_tokens(rendered[s.number]) + 1
        if cost <= remaining:
            chosen.append(s)
            remaining -= cost
    chosen.sort(key=lambda s: s.number)
    body = outline + "\n\n" + "\n".join(rendered[s.number] for s in chosen)
    return chosen, False, body


def cited_sections(answer: str, shown: Sequence[Section]) -> list[str]:
    """'S3: Title' for each shown section the answer cites, in order of first citation."""
    by_number = {s.number: s for s in shown}
    seen: list[str] = []
    for match in _CITE.finditer(answer):
        section = by_number.get(int(match.group(1)))
        if section is not None:
            entry = f"{section.label}: {section.title}"
            if entry not in seen:
                seen.append(entry)
    return seen


def _queries(messages: Sequence[Message]) -> list[str]:
    users = [m.content for m in messages if m.role == "user"]
    return [users[-1], "\n".join(users[-2:])] if users else []


def _outline_lines(sections: Sequence[Section]) -> list[str]:
    """One line per heading; the size-split parts of a heading share it as a label range."""
    groups: list[tuple[str, int, int]] = []
    for s in sections:
        base = _PART.sub("", s.title)
        if groups and groups[-1][0] == base and groups[-1][2] == s.number - 1:
            groups[-1] = (base, groups[-1][1], s.number)
        else:
            groups.append((base, s.number, s.number))
    return [
        f"[S{first}] {title}" if first == last else f"[S{first}-S{last}] {title}"
        for title, first, last in groups
    ]


def _outline(lines: list[str], budget: int) -> str:
    head = "Outline of the report (all sections):"
    out = [head]
    used = estimate_tokens(head)
    for line in lines:
        cost = estimate_tokens(line)
        if used + cost > budget:
            out.append("[... more sections not listed]")
            break
        out.append(line)
        used += cost
    return "\n".join(out)


def _cut(text: str, budget: int) -> str:
    keep = max(1, (budget - 8) * 3)
    return text[:keep] + "\n[... message shortened to fit the model's context window]"
