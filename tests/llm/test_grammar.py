"""Closing schemas and finding what a GBNF grammar would leave unconstrained."""

from __future__ import annotations

from agents.llm.structured import closed_schema, grammar_gaps
from tests.llm.needs import needs_llama

OPEN = {
    "type": "object",
    "properties": {
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"x": {"type": "string"}}},
        },
        "either": {"anyOf": [{"type": "object", "properties": {"y": {"type": "integer"}}}]},
    },
}


def test_closed_schema_closes_every_nested_object_and_keeps_explicit_choices() -> None:
    closed = closed_schema(OPEN)
    assert closed["additionalProperties"] is False
    assert closed["properties"]["items"]["items"]["additionalProperties"] is False
    assert closed["properties"]["either"]["anyOf"][0]["additionalProperties"] is False
    kept = closed_schema({"type": "object", "properties": {}, "additionalProperties": True})
    assert kept["additionalProperties"] is True
    assert "additionalProperties" not in OPEN, "the input is not modified"


def test_grammar_gaps_name_free_values_open_objects_and_ignored_keywords() -> None:
    assert grammar_gaps(closed_schema(OPEN)) == []
    gaps = grammar_gaps(
        {
            "type": "object",
            "properties": {
                "value": {},
                "n": {"type": "integer", "minimum": 1},
                "s": {"type": "string", "pattern": "^a+$", "maxLength": 3},
            },
            "additionalProperties": False,
        }
    )
    assert any(g.startswith("/properties/value") and "free-form" in g for g in gaps)
    assert any("minimum" in g for g in gaps)
    assert any("/properties/s" in g and "pattern" in g for g in gaps)
    assert any("additionalProperties" in g for g in grammar_gaps(OPEN))


@needs_llama
def test_closed_schema_grammar_has_no_rule_for_unnamed_properties() -> None:
    """llama.cpp's converter admits exactly the named keys of a closed object."""
    from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

    from agents.llm.local import canonical_schema

    schema = canonical_schema({"type": "object", "properties": {"a": {"type": "string"}}})
    gbnf = json_schema_to_gbnf(schema)
    assert "additional" not in gbnf
    assert '"\\"a\\""' in gbnf or '\\"a\\"' in gbnf
    LlamaGrammar.from_string(gbnf, verbose=False)
