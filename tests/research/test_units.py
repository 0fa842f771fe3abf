"""Pure parts of the research pipeline: prompts, policy, citations, accounting."""

from __future__ import annotations

import pytest

from agents.llm.port import Usage
from agents.research import prompts
from agents.research.accounting import Coalescer, UsageLedger
from agents.research.citations import CitationFilter, SourceRegistry, sources_section
from agents.research.gather import clean_questions, complete_plan
from agents.research.pipeline import normalize_url, urls_in
from agents.research.policy import ContentPolicy, PolicyError, parse_deny_rules, validate_query
from agents.research.rubric import RubricContext, score
from agents.research.write import validate_use_cases
from agents.sources.base import Source


def src(ref: str, title: str = "T", url: str | None = None) -> Source:
    return Source(ref=ref, title=title, text=f"text of {ref}", kind="document", url=url)


# --- prompts -----------------------------------------------------------------------------


def test_plan_prompt_asks_for_structured_questions() -> None:
    """The planner gets the count, topic and company, and a JSON schema for the answer."""
    req = prompts.plan_request("AI in retail", "Acme", 5)
    assert req.json_schema == prompts.plan_schema(5) and req.schema_name == "research_plan"
    content = req.messages[0].content
    assert "Write 5 research questions" in content and "AI in retail" in content
    assert "Acme" in content


def test_research_prompt_numbers_sources_and_clips_excerpts() -> None:
    """Sources appear with their job-wide numbers; long excerpts are clipped."""
    long = Source("doc:a", "Alpha", "word " * 500, "document")
    web = Source("https://b", "Beta", "short", "web", url="https://b")
    req = prompts.research_request(
        "Q?", topic="T", company="C", sources=[(3, long), (7, web)], excerpt_chars=100,
        max_tokens=321,
    )  # fmt: skip
    content = req.messages[0].content
    assert "[3] Alpha\n" in content and "[7] Beta (https://b)\nshort" in content
    assert "word " * 30 not in content and "…" in content
    assert req.max_tokens == 321 and "[2]" in req.system
    empty = prompts.research_request(
        "Q?", topic="T", company="C", sources=[], excerpt_chars=100, max_tokens=1
    )
    assert "(no sources were found)" in empty.messages[0].content


def test_report_prompt_lists_sections_sources_and_language() -> None:
    """The writer writes only the recommendations (the factual sections are composed from the
    claims), from the notes and the source list, in the language asked for."""
    req = prompts.report_request(
        topic="T", company="C", notes=[("Q1?", "note [1]")], sources=[(1, src("doc:a", "Alpha"))],
        language="fr", max_tokens=100,
    )  # fmt: skip
    content = req.messages[0].content
    assert "recommendations" in req.system and "Do not name the company" in req.system
    assert "[1] Alpha" in content and "### Q1?\nnote [1]" in content
    assert "Write in French." in req.system


def test_use_case_prompts_use_the_schema_and_repair_shows_problems() -> None:
    """The analyst gets the schema; the repair request replays the answer and lists problems."""
    req = prompts.use_cases_request(topic="T", company="C", discovery="D", count=4, language="en")
    assert req.json_schema == prompts.use_cases_schema(4) and "List 4 AI use cases" in (
        req.messages[0].content
    )
    repair = prompts.use_cases_repair_request(req, '{"bad": 1}', ["use case 1: impact_score"])
    assert [m.role for m in repair.messages] == ["user", "assistant", "user"]
    assert repair.messages[1].content == '{"bad": 1}'
    assert "- use case 1: impact_score" in repair.messages[2].content
    assert repair.json_schema == req.json_schema


def test_language_names_and_clip() -> None:
    """Known codes map to names (region ignored); unknown codes pass through."""
    assert prompts.language_name("pt-BR") == "Portuguese"
    assert prompts.language_name("xx") == "xx"
    assert prompts.clip("short", 10) == "short"
    assert prompts.clip("one two three four", 9) == "one two …"


# --- planning and use cases --------------------------------------------------------------


def test_clean_questions_filters_and_caps() -> None:
    """Non-strings, blanks, duplicates and fragments are dropped; at most the limit is kept."""
    raw = {
        "questions": [
            "  What is  AI? ",
            "what is ai?",
            "",
            3,
            "short",
            *[f"Q number {i}?" for i in range(9)],
        ]
    }
    cleaned = clean_questions(raw, limit=5)
    assert cleaned[0] == "What is AI?" and len(cleaned) == 5
    assert clean_questions({"questions": "nope"}, limit=5) == []
    assert clean_questions(None, limit=5) == []
    assert len(clean_questions(raw, limit=50)) == 8  # never more than 8


def test_complete_plan_pads_to_three() -> None:
    """Short plans get the standard questions until there are three."""
    assert len(complete_plan([], "AI", "Acme")) == 3
    assert complete_plan(["Mine?"], "AI", "Acme")[0] == "Mine?"


RUBRIC = RubricContext(
    claims=[
        (1, "Route optimisation cut driven kilometres by 12 percent for regional carriers."),
        (2, "Fleets reported payback periods of 9 to 14 months for route optimisation."),
        (3, "Our planners build 900 delivery routes every night in spreadsheets."),
    ],
    company_pages={3},
    company_text="Our planners build 900 delivery routes every night in spreadsheets at depots.",
    topic="AI for logistics",
    company="Acme",
)


def test_validate_use_cases_scores_by_the_rubric_and_numbers_ids() -> None:
    """Scores come from measured evidence and fit plus the analyst's cost and risk; invalid
    entries are reported."""
    item = {k: "x" for k in prompts.USE_CASE_FIELDS} | {
        "title": "Route optimisation for nightly delivery routes",
        "description": "Plan the nightly delivery routes and cut driven kilometres; planners "
        "stop using spreadsheets at the depots.",
        "evidence": [1, 3, 99], "cost": "low", "risk": "low", "fit": "weak", "roi_basis": "",
    }  # fmt: skip
    weak = item | {"title": "Payroll bot", "description": "Answer payslip questions.",
                   "cost": "high", "risk": "medium", "fit": "strong"}  # fmt: skip
    bad = item | {"description": "  "}
    valid, problems, lines = validate_use_cases(
        {"use_cases": [bad, item, weak]}, limit=5, rubric=RUBRIC
    )
    assert [u.id for u in valid] == ["uc_1", "uc_2"]
    assert (valid[0].impact_score, valid[0].alignment_score) == ("High", "High")
    # The analyst said "strong" fit, but nothing it says is on the company's pages.
    assert (valid[1].impact_score, valid[1].alignment_score) == ("Low", "Low")
    assert valid[0].estimated_roi == "not estimated"  # no basis given
    assert "3 kept claim(s) speak of it (sources [1][2][3]" in lines["uc_1"]
    assert "strong fit" in lines["uc_1"] and "company page" in lines["uc_1"]
    assert "0 kept claim(s)" in lines["uc_2"] and "weak fit" in lines["uc_2"]
    assert len(problems) == 1 and "use case 1" in problems[0]
    _, dup, _ = validate_use_cases({"use_cases": [item, item]}, limit=5, rubric=RUBRIC)
    assert "repeats the title" in dup[0]
    capped, _, _ = validate_use_cases(
        {"use_cases": [item | {"title": str(i)} for i in range(9)]}, limit=3, rubric=RUBRIC
    )
    assert len(capped) == 3


def test_identical_ratings_still_score_differently_by_their_evidence() -> None:
    """The small model rates every use case the same; the measured parts tell them apart."""
    same = {"cost": "medium", "risk": "medium", "fit": "strong", "evidence": [1, 2, 3]}
    backed = same | {"title": "Route optimisation", "description": "Cut driven kilometres "
                     "with route optimisation for regional carriers."}  # fmt: skip
    unbacked = same | {"title": "Payroll bot", "description": "Answer payslip questions."}
    a, b = score(backed, RUBRIC), score(unbacked, RUBRIC)
    assert (a.impact, a.alignment) != (b.impact, b.alignment)
    assert a.points[0] > b.points[0]


def test_rubric_does_not_assess_fit_when_the_company_site_was_not_read() -> None:
    unread = RubricContext(claims=RUBRIC.claims[:2], topic="AI for logistics")
    item = {"title": "Route optimisation", "description": "Cut driven kilometres for regional "
            "carriers", "cost": "low", "risk": "medium", "fit": "strong",
            "estimated_roi": "20% fewer empty miles", "roi_basis": "pilot results [1]"}  # fmt: skip
    scored = score(item, unread)
    assert scored.alignment == "Low" and "website was not read" in scored.line
    assert scored.impact == "Medium"  # 2 claims + 2 + 1 = 5
    assert scored.roi == "20% fewer empty miles (basis: pilot results [1])"


# --- policy --------------------------------------------------------------------------------


def test_validate_query_reasons() -> None:
    """Empty, too long and denied queries each get their own reason; a fine one gets None."""
    policy = ContentPolicy.default(max_query_chars=50)
    assert validate_query("AI in banking", "Acme", policy) is None
    assert validate_query("  ", "Acme", policy) == "the research prompt is empty"
    assert "too long (51 characters; the limit is 50)" in (
        validate_query("a" * 51, "Acme", policy) or ""
    )
    denied = validate_query("Synthesis of chemical weapons", "Acme", policy)
    assert denied is not None and "content policy" in denied


def test_deny_rules_parse_terms_and_json() -> None:
    """Comma lists are whole-word terms; JSON may carry named regexes; bad specs raise."""
    rules = parse_deny_rules("casino, payday loans")
    policy = ContentPolicy(tuple(rules))
    assert policy.check("Online CASINO market") is not None
    assert policy.check("Casinos") is None  # whole words only
    assert policy.check("payday   loans in Texas") is not None
    json_rules = parse_deny_rules(
        '["crypto", {"name": "competitor", "pattern": "rival\\\\s*corp"}]'
    )
    assert [r.name for r in json_rules] == ["crypto", "competitor"]
    assert ContentPolicy(tuple(json_rules)).check("About RivalCorp").name == "competitor"  # type: ignore[union-attr]
    assert parse_deny_rules("  ") == []
    # Already split by the settings loader; "re:" marks a regular expression.
    split = parse_deny_rules(("gambling", "re:loan\\s*shark"))
    assert ContentPolicy(tuple(split)).check("Loan  Shark lending").name == "loan\\s*shark"  # type: ignore[union-attr]
    assert len(parse_deny_rules(['["a"', '"b"]'])) == 2  # a JSON list split at its comma
    for bad in ("[1]", "[not json", '[{"pattern": "("}]'):
        with pytest.raises(PolicyError):
            parse_deny_rules(bad)


def test_default_policy_allows_ordinary_business_topics() -> None:
    """The built-in rules do not catch normal research topics."""
    policy = ContentPolicy.default()
    for ok in ("Quantum-safe payments", "Defence industry market trends", "Nuclear energy outlook",
               "Malware detection products", "Drug discovery with AI"):  # fmt: skip
        assert policy.check(ok) is None, ok


# --- citations ----------------------------------------------------------------------------


def test_registry_numbers_sources_once() -> None:
    """The same ref keeps its number; numbering is job-wide and starts at 1."""
    reg = SourceRegistry()
    assert reg.add_all([src("a"), src("b"), src("a")]) == [(1, src("a")), (2, src("b"))]
    assert reg.add_all([src("c"), src("b")]) == [(3, src("c")), (2, src("b"))]
    assert reg.numbers() == {1, 2, 3}


@pytest.mark.parametrize(
    ("text", "out", "removed"),
    [
        ("Fact [1].", "Fact [1].", 0),
        ("Fact [9].", "Fact.", 1),
        ("Fact [1, 9; 2].", "Fact [1][2].", 1),
        ("Fact [Source 2] and [sources 1-3]", "Fact [2] and [1][2][3]", 0),
        ("Range [2-5]", "Range [2][3]", 2),
        ("Years [2020-2030] and [2024]", "Years [2020-2030] and [2024]", 0),
        ("Link [text](http://x) and [^1]", "Link [text](http://x) and [^1]", 0),
    ],
)
def test_citation_filter_whole_text(text: str, out: str, removed: int) -> None:
    """Valid numbers stay; invalid ones go (with the space before an emptied citation)."""
    f = CitationFilter({1, 2, 3})
    assert f.filter(text) == out
    assert f.removed == removed


def test_citation_filter_handles_citations_split_across_deltas() -> None:
    """A citation cut between stream deltas is held back until complete."""
    text = "Growth [1] is strong [9]. Costs fall [2, 8].\n"
    for size in (1, 2, 3, 5):
        f = CitationFilter({1, 2})
        pieces = [text[i : i + size] for i in range(0, len(text), size)]
        out = "".join(f.feed(p) for p in pieces) + f.flush()
        assert out == "Growth [1] is strong. Costs fall [2].\n"
        assert f.removed == 2 and f.cited == {1, 2}


def test_sources_section_lists_numbers_titles_and_links() -> None:
    """Web sources link their URL; documents name their file; brackets are escaped."""
    section = sources_section(
        [(1, src("https://x", "X [beta]", url="https://x")), (2, src("doc:a.md", "A"))]
    )
    assert "- \\[1\\] X  beta. <https://x>" in section
    assert "- \\[2\\] A (document `a.md`)" in section
    assert "No sources were gathered." in sources_section([])


# --- accounting and helpers -------------------------------------------------------------


def test_usage_ledger_sums_per_step_and_cost_when_given() -> None:
    """Usage adds up per step; cost is None unless a provider reported one."""
    ledger = UsageLedger()
    ledger.add("plan", Usage(10, 5))
    ledger.add("write", Usage(100, 50), cost_usd=0.25)
    ledger.add("write", Usage(1, 1), cost_usd=0.5)
    report = ledger.report()
    assert report["plan"].total_tokens == 15 and report["plan"].cost_usd is None
    assert report["write"].input_tokens == 101 and report["write"].cost_usd == 0.75
    assert report["total"].total_tokens == 167 and report["total"].cost_usd == 0.75


def test_coalescer_emits_at_the_threshold() -> None:
    """Deltas accumulate until min_chars; flush returns the rest."""
    c = Coalescer(10)
    assert c.add("abc") is None and c.add("defg") is None
    assert c.add("hijk") == "abcdefghijk"
    assert c.add("") is None and c.add("z") is None
    assert c.flush() == "z" and c.flush() is None


def test_urls_and_company_url_normalisation() -> None:
    """Scheme-less company URLs get https; prompt URLs are found in order, deduplicated."""
    assert normalize_url(" example.com ") == "https://example.com"
    assert normalize_url("http://x.y/") == "http://x.y/"
    text = "See https://a.example/x, and (http://b.example). Again https://a.example/x."
    assert urls_in(text, limit=5) == ("https://a.example/x", "http://b.example")
    assert urls_in(text, limit=1) == ("https://a.example/x",)
