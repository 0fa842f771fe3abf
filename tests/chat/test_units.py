"""Pure parts of chat: section splitting, BM25 ranking, report-request intent, artifact keys."""

from __future__ import annotations

import pytest

from agents.chat.intent import wants_report
from agents.chat.pipeline import artifact_key, new_report_token
from agents.chat.retrieval import rank_sections
from agents.chat.sections import split_report
from agents.chat.tokens import estimate_tokens


def test_sections_follow_heading_paths() -> None:
    """Each heading starts a section titled by its heading path; text before it is a preamble."""
    md = "intro\n\n# A\n\na text\n\n## B\n\nb text\n\n### C\n\nc\n\n## D\n\nd\n\n# E\n\ne"
    titles = [s.title for s in split_report(md)]
    assert titles == ["Preamble", "A", "A > B", "A > B > C", "A > D", "E"]
    assert [s.number for s in split_report(md)] == [1, 2, 3, 4, 5, 6]


def test_headings_inside_code_fences_are_not_sections() -> None:
    """A '#' line inside a fenced block is code, not a heading."""
    md = "# Real\n\n```python\n# a comment\nx = 1\n```\n\nafter"
    sections = split_report(md)
    assert [s.title for s in sections] == ["Real"]
    assert "# a comment" in sections[0].text


def test_long_sections_are_split_by_size() -> None:
    """A section above max_tokens is cut into numbered parts, none above the limit."""
    md = "# Big\n\n" + "\n\n".join(f"Paragraph {i} " + "word " * 40 for i in range(30))
    sections = split_report(md, max_tokens=200)
    assert len(sections) > 3
    assert all(s.tokens <= 200 for s in sections)
    assert sections[0].title == "Big (part 1)"
    assert "".join(s.text for s in sections).count("Paragraph") == 30


def test_a_single_huge_paragraph_is_split_too() -> None:
    """Without blank lines or newlines the text is still cut under the limit."""
    sections = split_report("# One\n\n" + "x" * 5000, max_tokens=100)
    assert all(estimate_tokens(s.text) <= 100 for s in sections)
    assert sum(s.text.count("x") for s in sections) == 5000


def test_bm25_ranks_the_section_about_the_question_first() -> None:
    """The section whose words match the question ranks first; unrelated ones do not score."""
    md = (
        "# Pricing\n\nSeats cost nine dollars per month.\n\n"
        "# Hiring\n\nWe hire engineers in Lisbon.\n\n"
        "# Risks\n\nPricing pressure from competitors is a risk."
    )
    ranked = rank_sections(split_report(md), "How much do seats cost?")
    assert [s.title for s, _ in ranked] == ["Pricing"]
    ranked = rank_sections(split_report(md), "pricing")
    assert ranked[0][0].title == "Pricing"
    assert "Hiring" not in [s.title for s, _ in ranked]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Write a new report on lattice cryptography", True),
        ("Please revise the report to focus on Europe", True),
        ("generate an updated version of the report", True),
        ("Can you make me a shorter report?", True),
        ("Summarize the report", False),
        ("Update me on the report's findings", False),
        ("What does the report say about making money?", False),
        ("Which risks does the report name?", False),
    ],
)
def test_report_requests_are_recognised(message: str, expected: bool) -> None:
    """Writing verbs aimed at 'report' ask for a report; questions about it do not."""
    assert wants_report(message) is expected


def test_artifact_keys_are_path_safe_and_distinct() -> None:
    """Odd session ids cannot escape the workspace prefix and do not collide."""
    assert artifact_key("ws1", "p1", "s1", 3, token="t") == "ws1/p1/chat-s1-3-t.md"
    assert artifact_key("ws1", None, "s1", 1, token="t") == "ws1/chat/chat-s1-1-t.md"
    odd = artifact_key("ws1", "../x", "a/b", 1, token="t")
    assert odd.startswith("ws1/")
    assert odd.count("/") == 2
    assert ".." not in odd
    assert artifact_key("ws1", None, "a/b", 1, token="t") != artifact_key(
        "ws1", None, "a_b", 1, token="t"
    )


def test_report_tokens_are_unguessable() -> None:
    """Each stored report's name carries 128 fresh random bits."""
    tokens = {new_report_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) == 32 and int(t, 16) >= 0 for t in tokens)
