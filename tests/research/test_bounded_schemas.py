"""The research schemas are bounded so that a grammar-constrained small model always finishes
inside max_tokens (an unbounded array or string can run until the cut-off, and a cut-off
structured answer is lost), and the writer is shown only sources it may cite."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.research import prompts
from agents.research.claims import claims_per_round
from agents.research.config import DEPTHS
from agents.sources.base import Source

CHARS_PER_TOKEN = 3.5  # a pessimistic average for English prose and JSON punctuation


def unbounded(node: Any, path: str = "$") -> list[str]:
    """Paths of arrays without maxItems and free strings without maxLength."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "array" and "maxItems" not in node:
            found.append(path)
        if node.get("type") == "string" and "maxLength" not in node and "enum" not in node:
            found.append(path)
        for key, value in node.items():
            found += unbounded(value, f"{path}.{key}")
    return found


def worst_case(node: dict[str, Any]) -> Any:
    """The longest answer the schema admits (strings of maxLength, arrays of maxItems)."""
    kind = node.get("type")
    if kind == "object":
        return {k: worst_case(v) for k, v in node["properties"].items()}
    if kind == "array":
        return [worst_case(node["items"]) for _ in range(node["maxItems"])]
    if kind == "string":
        return "x" * node.get("maxLength", max((len(e) for e in node.get("enum", [""])), default=0))
    return 123


def requests() -> list[Any]:
    source = Source("https://a", "A", "text " * 400, "web", url="https://a")
    out = []
    for depth in DEPTHS.values():
        out.append(prompts.plan_request("T", "C", depth.questions))
        claims, _ = prompts.claims_request(
            "Q?", topic="T", company="C", sources=[(1, source)], known=[],
            excerpt_chars=500, max_tokens=depth.notes_tokens,
        )  # fmt: skip
        out.append(claims)
        out.append(
            prompts.use_cases_request(
                topic="T", company="C", discovery="D", count=depth.use_cases, language="en"
            )
        )
    return out


@pytest.mark.parametrize("request_", requests(), ids=lambda r: f"{r.schema_name}")
def test_every_structured_answer_is_bounded_and_fits_its_max_tokens(request_: Any) -> None:
    schema = request_.json_schema
    assert unbounded(schema) == []
    longest = len(json.dumps(worst_case(schema)))
    assert longest / CHARS_PER_TOKEN <= request_.max_tokens, (request_.schema_name, longest)


def test_claims_per_round_follows_the_token_budget_of_each_depth() -> None:
    """More tokens, more claims asked for; the request never asks more tokens than the
    depth's notes budget."""
    counts = [claims_per_round(d.notes_tokens) for d in DEPTHS.values()]
    assert counts == sorted(counts) and counts[0] >= 2
    for depth in DEPTHS.values():
        long = Source("doc:a", "A", "This is a sentence that a source might say. " * 20, "document")
        req, _ = prompts.claims_request(
            "Q?", topic="T", company="C", sources=[(1, long)], known=[], excerpt_chars=2000,
            max_tokens=depth.notes_tokens,
        )  # fmt: skip
        assert req.max_tokens <= depth.notes_tokens
        assert req.json_schema is not None
        n = req.json_schema["properties"]["facts"]["maxItems"]
        assert f"to {n} facts" in req.system


def test_the_fields_a_use_case_needs_cannot_be_empty_under_the_grammar() -> None:
    """minLength 1 on every field validate_use_cases requires, so a grammar-constrained model
    cannot answer "" for them (one way the small model's use-case step failed)."""
    item = prompts.use_cases_schema(5)["properties"]["use_cases"]["items"]["properties"]
    needed = {"title", "description", "business_value", "implementation"}
    assert {k for k, v in item.items() if v.get("minLength", 0) >= 1} == needed
