"""Query validation, failing steps, retries, concurrency and a blocked company URL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from agents.llm.errors import LLMOverloadedError, LLMRetriesExhaustedError
from agents.research.config import ResearchLimits
from agents.research.policy import ContentPolicy, parse_deny_rules
from agents.sources.corpus import CorpusProvider
from agents.sources.fetch import FetchProvider
from agents.sources.reader import PageReader, ReadPolicy
from agents.sources.site import CompanySiteProvider
from tests.research.support import (
    ConcurrencyProbe,
    MemoryProjectStore,
    RetryOnce,
    make_deps,
    of_type,
    request,
    run_job,
    scripted_models,
)
from tests.support.scripted_llm import Reply, ScriptedLLM


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"prompt": "   "}, "empty"),
        ({"prompt": "x" * 301}, "too long"),
        ({"prompt": "How to build a bomb at home"}, "content policy (explosives)"),
        ({"prompt": "Market for online casino games"}, "content policy (casino)"),
        ({"company_name": "  "}, "company name is empty"),
    ],
)
def test_invalid_query_is_rejected_before_any_model_call(
    tmp_path: Path, fields: dict[str, str], why: str
) -> None:
    """INVALID_QUERY names the reason; no model is called and no project is created."""
    models = scripted_models()
    projects = MemoryProjectStore()
    policy = ContentPolicy.default(
        extra=parse_deny_rules("casino, payday loans"), max_query_chars=300
    )
    deps = make_deps(models, tmp_path, projects=projects, policy=policy)
    events = asyncio.run(run_job(deps, request(**fields)))
    assert len(events) == 1
    error = events[0]
    assert error.type == "error" and error.error == "INVALID_QUERY"
    assert error.message.startswith("Query validation failed:") and why in error.message
    assert error.session_id == "session456"
    assert models.total_requests() == 0
    assert projects.projects == {}


def test_failing_writer_ends_the_job_with_an_error_naming_the_step(tmp_path: Path) -> None:
    """Retries exhausted in the writer: error PIPELINE_FAILED, step 'writing', project failed."""
    models = scripted_models()
    models.writer.replies.clear()
    last = LLMOverloadedError("overloaded", provider="scripted", status_code=529)
    models.writer.enqueue(Reply(error=LLMRetriesExhaustedError("gave up", last=last, attempts=4)))
    projects = MemoryProjectStore()
    events = asyncio.run(run_job(make_deps(models, tmp_path, projects=projects)))
    error = events[-1]
    assert error.type == "error" and error.error == "PIPELINE_FAILED"
    assert error.step == "writing" and "Step 'writing' failed" in error.message
    assert "4 attempts" in error.message
    assert not of_type(events, "complete") and not of_type(events, "s3_upload_complete")
    (record,) = projects.projects.values()
    assert record.status == "failed" and "writing" in (record.error or "")


def test_retries_are_reported_as_status_events(tmp_path: Path) -> None:
    """A RetryScheduled from the planner's provider shows up as a status message."""
    models = scripted_models()
    events = asyncio.run(run_job(make_deps(models, tmp_path, planner=RetryOnce(models.planner))))
    messages = [e.message for e in of_type(events, "status")]
    assert any(
        "planning: model call failed (overloaded_error (529)); retrying" in m for m in messages
    )
    assert events[-1].type == "complete"


def test_pdf_render_failure_is_an_error_and_earlier_uploads_stay_listed(tmp_path: Path) -> None:
    """The second PDF fails: error names 'rendering'; the files stored before it were announced."""
    calls: list[str] = []

    async def flaky_pdf(markdown: str, *, title: str, subtitle: str = "", meta=None) -> bytes:  # type: ignore[no-untyped-def]
        calls.append(title)
        if len(calls) == 2:
            raise RuntimeError("weasyprint exploded")
        return b"%PDF-1.4\n" + markdown.encode()

    events = asyncio.run(run_job(make_deps(scripted_models(), tmp_path, render_pdf=flaky_pdf)))
    uploads = [u.file_type for u in of_type(events, "s3_upload_complete")]
    assert uploads == ["deep_research_markdown", "deep_research_pdf", "AI_discovery_markdown"]
    assert all(u.s3_url for u in of_type(events, "s3_upload_complete"))
    error = events[-1]
    assert error.type == "error" and error.step == "rendering"
    assert "ai_discovery_report.pdf" in error.message


def test_renderer_returning_no_pdf_is_an_error_not_an_empty_link(tmp_path: Path) -> None:
    """An empty render result ends the job instead of uploading an empty file."""

    async def empty_pdf(markdown: str, *, title: str, subtitle: str = "", meta=None) -> bytes:  # type: ignore[no-untyped-def]
        return b""

    events = asyncio.run(run_job(make_deps(scripted_models(), tmp_path, render_pdf=empty_pdf)))
    assert [u.file_type for u in of_type(events, "s3_upload_complete")] == [
        "deep_research_markdown"
    ]
    assert events[-1].type == "error" and events[-1].step == "rendering"


def test_research_runs_questions_concurrently_within_the_limit(tmp_path: Path) -> None:
    """With 5 questions and concurrency 2, two researcher calls overlap and never more."""
    models = scripted_models(
        plan={"questions": [f"Research question number {i} about AI?" for i in range(5)]}
    )
    # The probe only lets calls proceed once two are in flight together: without real
    # concurrency the job would fail (the probe's wait times out).
    probe = ConcurrencyProbe(models.researcher, hold_until=2)
    deps = make_deps(models, tmp_path, limits=ResearchLimits(concurrency=2), researcher=probe)
    events = asyncio.run(run_job(deps))
    assert events[-1].type == "complete"
    assert probe.peak == 2
    assert len(models.researcher.requests) == 5


def test_one_failed_question_does_not_stop_the_research(tmp_path: Path) -> None:
    """A question whose model call fails is reported; the others carry the report."""
    models = scripted_models()
    last = LLMOverloadedError("overloaded", provider="scripted")
    models.researcher.enqueue(
        Reply(error=LLMRetriesExhaustedError("gave up", last=last, attempts=3))
    )
    deps = make_deps(models, tmp_path, limits=ResearchLimits(concurrency=1))
    events = asyncio.run(run_job(deps))
    assert events[-1].type == "complete"
    assert any("could not be researched" in e.message for e in of_type(events, "status"))


def test_research_fails_when_no_question_can_be_answered(tmp_path: Path) -> None:
    """Every researcher call failing ends the job with step 'research'."""
    models = scripted_models()
    last = LLMOverloadedError("overloaded", provider="scripted")
    models.researcher.fallback = Reply(
        error=LLMRetriesExhaustedError("gave up", last=last, attempts=3)
    )
    events = asyncio.run(run_job(make_deps(models, tmp_path)))
    assert events[-1].type == "error" and events[-1].step == "research"


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        _Recorder.hits.append(self.path)
        body = (
            b"<html><head><title>Loopback Co</title></head>"
            b"<body><p>Secret intranet</p></body></html>"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def loopback_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.hits = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_ssrf_blocked_company_url_does_not_stop_the_job(tmp_path: Path, loopback_site: str) -> None:
    """A company_url on a private address is refused (never requested); the job completes."""

    async def go() -> list:
        async with httpx.AsyncClient(trust_env=False) as client:
            sources = [FetchProvider(client), CorpusProvider(None)]
            deps = make_deps(scripted_models(), tmp_path, sources=sources)
            return await run_job(deps, request(company_url=loopback_site))

    events = asyncio.run(go())
    assert events[-1].type == "complete"
    assert _Recorder.hits == []
    messages = [e.message for e in of_type(events, "status")]
    assert any(loopback_site in m and "blocked" in m for m in messages)


def test_researcher_sees_a_fetched_company_page(tmp_path: Path, loopback_site: str) -> None:
    """With a policy allowing private addresses, the page's text becomes source [1]."""
    from agents.netsafe import FetchPolicy

    models = scripted_models()

    async def go() -> list:
        async with httpx.AsyncClient(trust_env=False) as client:
            reader = PageReader(
                client, fetch_policy=FetchPolicy(allow_private=True), policy=ReadPolicy(delay=0)
            )
            site = CompanySiteProvider(reader)
            deps = make_deps(models, tmp_path, sources=[site, CorpusProvider(None)])
            return await run_job(deps, request(company_url=loopback_site))

    events = asyncio.run(go())
    assert events[-1].type == "complete"
    assert _Recorder.hits.count("/") == 1
    prompt = models.researcher.requests[0].messages[0].content
    assert f"[1] Loopback Co ({loopback_site}) [company website]\n" in prompt
    assert "Secret intranet" in prompt
    assert "About the company (from its website):\n[1] Loopback Co: Secret intranet" in (
        models.analyst.requests[0].messages[0].content
    )


def test_unknown_documents_are_reported_and_restrict_the_corpus(tmp_path: Path) -> None:
    """`documents` limits the corpus to the named files; unknown names are reported."""
    models = scripted_models()
    req = request(documents=["eu_ai_act_summary.md", "missing.pdf"])
    events = asyncio.run(run_job(make_deps(models, tmp_path), req))
    assert events[-1].type == "complete"
    assert any("missing.pdf" in e.message for e in of_type(events, "status"))
    for r in models.researcher.requests:
        content = r.messages[0].content
        assert "The EU AI Act in Brief" in content
        assert "AI in Banking" not in content


def test_web_search_sources_are_gathered_and_cited(tmp_path: Path) -> None:
    """A model with web search: its hits become numbered sources listed in the report."""
    from agents.llm.port import Capabilities, SearchHit
    from agents.sources.web_search import ModelWebSearchProvider
    from tests.research.support import WebSearchLLM

    models = scripted_models()
    web = WebSearchLLM(
        capabilities=Capabilities(web_search=True, structured_output="json_schema"),
        fallback=Reply(text="Banks spend more on AI each year."),
        hits=(SearchHit("https://news.example/ai-banks", "AI in banks 2026", "Spending up 30%"),),
    )
    sources = [ModelWebSearchProvider(web), CorpusProvider(None)]
    events = asyncio.run(run_job(make_deps(models, tmp_path, sources=sources)))
    assert events[-1].type == "complete"
    assert all(r.web_search is not None for r in web.requests)
    report = "".join(
        c.data.chunk for c in of_type(events, "stream_chunk") if c.data.step == "writing"
    )
    assert "AI in banks 2026. <https://news.example/ai-banks>" in report
    shown = models.researcher.requests[0].messages[0].content
    assert "AI in banks 2026 (https://news.example/ai-banks)" in shown
    assert "Banks spend more on AI each year." in shown  # the model's summary, citable


def test_planner_short_answer_is_padded_and_long_answer_capped(tmp_path: Path) -> None:
    """One usable question becomes three; twelve become the depth's maximum."""
    short = scripted_models(plan={"questions": ["What is AI adoption in banks?", "", 7]})
    events = asyncio.run(run_job(make_deps(short, tmp_path / "s")))
    assert len(short.researcher.requests) == 3
    assert any("usable questions" in e.message for e in of_type(events, "status"))

    many = scripted_models(
        plan={"questions": [f"Question {i} about the AI market?" for i in range(12)]}
    )
    asyncio.run(run_job(make_deps(many, tmp_path / "m"), request(depth="deep")))
    assert len(many.researcher.requests) == 8


def test_invalid_use_cases_are_dropped_and_repaired_once(tmp_path: Path) -> None:
    """A bad first answer is repaired by asking again once; ids run uc_1.. over valid ones."""
    rubric = {"evidence": [], "roi_basis": ""}
    bad = {
        "use_cases": [
            {"title": "Fraud triage", "description": "d", "business_value": "v",
             "implementation": "i", "estimated_roi": "r", "cost": "low", "risk": "low",
             "fit": "weak", **rubric},
            "not an object",
        ]
    }  # fmt: skip
    good = {
        "use_cases": [
            {"title": t, "description": "d", "business_value": "v", "implementation": "i",
             "estimated_roi": "r", "cost": "low", "risk": "low", "fit": "weak", **rubric}
            for t in ("A", "B", "C")
        ]
    }  # fmt: skip
    models = scripted_models(use_cases=bad)
    models.analyst.enqueue(good)
    events = asyncio.run(run_job(make_deps(models, tmp_path)))
    (done,) = of_type(events, "use_cases_complete")
    assert [u.id for u in done.use_cases] == ["uc_1", "uc_2", "uc_3"]
    assert [u.impact_score for u in done.use_cases] == ["Medium"] * 3  # 0 + 2 + 2
    assert [u.alignment_score for u in done.use_cases] == ["Low"] * 3
    assert [u.estimated_roi for u in done.use_cases] == ["not estimated"] * 3
    repair = models.analyst.requests[-1]
    assert repair.json_schema is not None
    assert "roi_basis" in repair.messages[-1].content
    # The status says what was wrong, not only that a repair was asked for.
    (asked,) = [e.message for e in of_type(events, "status") if "repair its answer" in e.message]
    assert "use case 2 is not an object" in asked


def test_no_valid_use_cases_after_repair_fails_the_step(tmp_path: Path) -> None:
    """Two unusable answers end the job with step 'use_cases'."""
    models = scripted_models(use_cases={"nothing": []})
    models.analyst.enqueue({"use_cases": []})
    events = asyncio.run(run_job(make_deps(models, tmp_path)))
    assert events[-1].type == "error" and events[-1].step == "use_cases"
    assert "(the answer lists no use case)" in events[-1].message


def test_empty_report_fails_the_writing_step(tmp_path: Path) -> None:
    """A writer that returns nothing ends the job instead of storing an empty report."""
    models = scripted_models(report="   ")
    events = asyncio.run(run_job(make_deps(models, tmp_path)))
    assert events[-1].type == "error" and events[-1].step == "writing"


def test_only_the_research_model_is_used_for_notes(tmp_path: Path) -> None:
    """Each role's model gets its own calls (planner 1, writer 1, analyst 2)."""
    models = scripted_models()
    asyncio.run(run_job(make_deps(models, tmp_path)))
    assert len(models.planner.requests) == 1
    assert models.planner.requests[0].json_schema is not None
    assert len(models.writer.requests) == 1
    assert len(models.analyst.requests) == 2
    assert isinstance(models.researcher, ScriptedLLM)
