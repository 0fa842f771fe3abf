"""Grounding: a report too large for the context window still answers from the right section."""

from __future__ import annotations

import httpx
import pytest

from agents.chat.tokens import estimate_tokens
from agents.llm.errors import LLMContextLengthError
from agents.llm.port import Capabilities
from tests.chat.helpers import chat_request, make_deps, run_turn
from tests.chat.memory_store import MemoryArtifactStore, MemoryChatSessionStore
from tests.support.scripted_llm import Reply, ScriptedLLM

pytestmark = pytest.mark.anyio

TOPICS = [
    "warehouse logistics",
    "payroll processing",
    "marketing funnels",
    "retail footfall",
    "fleet maintenance",
    "customer churn",
    "energy procurement",
    "office leasing",
    "lattice cryptography",
    "supplier audits",
    "insurance claims",
    "tax planning",
]


def _big_report() -> str:
    parts = ["# Annual research report"]
    for i, topic in enumerate(TOPICS):
        parts.append(f"## Chapter {i + 1}: {topic.title()}")
        filler = f"This chapter covers {topic} in depth. Marker{i:02d}. " * 45
        parts.append(filler)
    return "\n\n".join(parts)


async def test_oversized_report_answers_from_the_relevant_section_only(
    http_client: httpx.AsyncClient,
) -> None:
    """With a report several times the context window, the prompt carries the section about the
    question (and the outline), not the unrelated sections, and fits the window."""
    report = _big_report()
    window = 3000
    assert estimate_tokens(report) > 3 * window
    llm = ScriptedLLM(capabilities=Capabilities(context_window=window)).enqueue(
        "Lattice schemes resist quantum attacks [S10]."
    )
    deps = make_deps(llm, MemoryChatSessionStore(), MemoryArtifactStore(), http_client)
    events = await run_turn(
        deps, chat_request("What does it say about lattice cryptography?", report=report)
    )
    assert events[-1].type == "chat_complete"
    request = llm.requests[0]
    assert "Marker08" in request.system  # the lattice cryptography chapter
    for i in range(len(TOPICS)):
        if i != 8:
            assert f"Marker{i:02d}" not in request.system
    assert "Chapter 1: Warehouse Logistics" in request.system  # outline lists every section
    assert "Chapter 12: Tax Planning" in request.system
    prompt = estimate_tokens(request.system) + sum(
        estimate_tokens(m.content) for m in request.messages
    )
    assert prompt + request.max_tokens <= window


async def test_unmatched_question_on_oversized_report_shows_the_opening_sections(
    http_client: httpx.AsyncClient,
) -> None:
    """A question matching no section falls back to the report's beginning, within the window."""
    report = _big_report()
    llm = ScriptedLLM(capabilities=Capabilities(context_window=3000)).enqueue("Summary.")
    deps = make_deps(llm, MemoryChatSessionStore(), MemoryArtifactStore(), http_client)
    await run_turn(deps, chat_request("Summarize please", report=report))
    system = llm.requests[0].system
    assert "Marker00" in system
    assert "Marker11" not in system


async def test_long_history_is_trimmed_to_the_newest_messages(
    http_client: httpx.AsyncClient,
) -> None:
    """A conversation longer than its share of the window keeps the newest turns, starting with
    a user message, and always the question."""
    messages = []
    for i in range(40):
        messages.append({"role": "user", "content": f"question {i} " + "words " * 60})
        messages.append({"role": "assistant", "content": f"answer {i} " + "words " * 60})
    messages.append({"role": "user", "content": "final question?"})
    llm = ScriptedLLM(capabilities=Capabilities(context_window=4000)).enqueue("ok")
    deps = make_deps(llm, MemoryChatSessionStore(), MemoryArtifactStore(), http_client)
    await run_turn(deps, chat_request("", messages=messages))
    sent = llm.requests[0].messages
    assert sent[-1].content == "final question?"
    assert sent[0].role == "user"
    assert len(sent) < len(messages)
    assert "answer 39" in sent[-2].content


async def test_context_length_rejection_retries_once_with_less_context(
    http_client: httpx.AsyncClient,
) -> None:
    """When the provider rejects the prompt as too long, the turn retries with a smaller prompt
    (fewer sections) and still completes; a second rejection is MODEL_ERROR."""
    report = _big_report()
    llm = ScriptedLLM(capabilities=Capabilities(context_window=12000)).enqueue(
        Reply(error=LLMContextLengthError("prompt is too long")), "ok"
    )
    deps = make_deps(llm, MemoryChatSessionStore(), MemoryArtifactStore(), http_client)
    events = await run_turn(deps, chat_request("lattice cryptography?", report=report))
    assert events[-1].type == "chat_complete"
    first, second = llm.requests
    assert len(second.system) < len(first.system)
    assert "Marker08" in second.system

    llm = ScriptedLLM(capabilities=Capabilities(context_window=12000)).enqueue(
        Reply(error=LLMContextLengthError("too long")), Reply(error=LLMContextLengthError("still"))
    )
    deps = make_deps(llm, MemoryChatSessionStore(), MemoryArtifactStore(), http_client)
    events = await run_turn(deps, chat_request("lattice cryptography?", report=report))
    assert events[-1].error == "MODEL_ERROR"  # type: ignore[attr-defined]
    assert len(llm.requests) == 2
