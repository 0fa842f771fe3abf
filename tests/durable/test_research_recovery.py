"""A /research job whose server stops mid-way is recovered on the next start and goes on from
the interrupted step: completed steps do not call a model, render or store again, stored files
are not uploaded twice, and the client sees every event once after one `resumed` status."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from agents.llm.port import CompletionRequest
from agents.protocol import Scope
from agents.research.config import ResearchLimits
from agents.research.deps import ResearchDeps
from agents.research.pipeline import research_pipeline
from tests.conftest import make_settings
from tests.durable.support import (
    CountingStore,
    HeldLLM,
    Hold,
    assert_whole,
    resume_after_restart,
    resumed_step,
    stop_while_held,
    wiring,
)
from tests.research.support import (
    MemoryProjectStore,
    Models,
    fake_pdf,
    make_deps,
    of_type,
    request,
    run_job,
    scripted_models,
)

pytestmark = pytest.mark.anyio

PAYLOAD = request().model_dump(mode="json", exclude_unset=True)


@dataclasses.dataclass
class CountingRenderer:
    """The fake PDF renderer, counting renders per title; holds the first render of `hold_on`."""

    hold: Hold | None = None
    hold_on: str = "\x00"
    renders: dict[str, int] = dataclasses.field(default_factory=dict)

    async def __call__(
        self,
        markdown: str,
        *,
        title: str,
        subtitle: str = "",
        meta: Mapping[str, str] | None = None,
    ) -> bytes:
        self.renders[title] = self.renders.get(title, 0) + 1
        if self.hold is not None and title.startswith(self.hold_on):
            await self.hold.wait()
        return await fake_pdf(markdown, title=title, subtitle=subtitle, meta=meta)


@dataclasses.dataclass
class World:
    models: Models
    deps: ResearchDeps
    store: CountingStore
    renderer: CountingRenderer


def world(tmp_path: Path, *, limits: ResearchLimits | None = None, **held: Any) -> World:
    models = scripted_models()
    renderer = held.pop("renderer", CountingRenderer())
    store = CountingStore(tmp_path / "artifacts", "http://127.0.0.1:8000")
    deps = make_deps(
        models, tmp_path, projects=MemoryProjectStore(), limits=limits, render_pdf=renderer, **held
    )
    return World(models, dataclasses.replace(deps, artifacts=store), store, renderer)


async def recover(tmp_path: Path, w: World, hold: Hold) -> Any:
    settings = make_settings(tmp_path / "data")
    pipelines = wiring("research", research_pipeline(w.deps))
    first, key = await stop_while_held(
        settings, pipelines, "research", PAYLOAD, hold.reached, scope=Scope.UCT
    )
    hold.released.set()
    return await resume_after_restart(settings, pipelines, "research", first, key)


async def test_a_job_stopped_while_writing_resumes_at_writing(tmp_path: Path) -> None:
    hold = Hold()
    w = world(tmp_path)
    w.deps = dataclasses.replace(
        w.deps,
        llms=w.models.registry(writer=HeldLLM(w.models.writer, hold)),
    )
    recovered = await recover(tmp_path, w, hold)
    assert_whole(recovered)
    assert [resumed_step(e) for e in recovered.resumed()] == ["writing"]
    types = [e["type"] for e in recovered.events]
    assert types[-2:] == ["use_cases_complete", "complete"]
    # Planning and the three questions ran once, before the stop; the writer once, after it.
    assert len(w.models.planner.requests) == 1
    assert len(w.models.researcher.requests) == 3
    assert len(w.models.writer.requests) == 1
    assert len(w.models.analyst.requests) == 2
    assert sorted(w.store.puts.values()) == [1] * 9  # 8 files + the citations sidecar
    # The client drops the interrupted step's partial events at `resumed`: each step once.
    kept = _settle(recovered.events)
    assert [e["step"] for e in kept if e["type"] == "multiagent_step"] == [
        "planning", "research", "writing", "analysis", "use_cases", "rendering"
    ]  # fmt: skip


def _settle(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a client keeps: at a `resumed` status, the events since the step began are dropped
    (research steps announce themselves with `multiagent_step`)."""
    kept: list[dict[str, Any]] = []
    for event in events:
        if event.get("resumed"):
            step = resumed_step(event)
            starts = [i for i, e in enumerate(kept) if e.get("step") == step]
            if starts and kept[starts[0]]["type"] == "multiagent_step":
                del kept[starts[0] :]
            continue
        kept.append(event)
    return kept


async def test_a_job_stopped_while_rendering_stores_no_file_twice(tmp_path: Path) -> None:
    hold = Hold()
    renderer = CountingRenderer(hold=hold, hold_on="AI Use Cases for")
    w = world(tmp_path, renderer=renderer)
    recovered = await recover(tmp_path, w, hold)
    assert_whole(recovered)
    assert [resumed_step(e) for e in recovered.resumed()] == ["rendering"]
    assert sorted(w.store.puts.values()) == [1] * 9, w.store.puts
    # The two report PDFs were rendered once (before the stop); use cases and combined PDFs
    # were (re)rendered for the files not stored yet.
    by_title = renderer.renders
    assert by_title["Deep Research Report: AI adoption in banking and fraud detection"] == 1
    assert by_title["AI Discovery Report: TestCompany"] == 1
    assert w.models.total_requests() == 1 + 3 + 1 + 2  # no model step ran again
    # What the step announced once it ran again (a client slow to read gets the first run's
    # events after `since` too, before the `resumed` status).
    events = recovered.events
    again = events[events.index(recovered.resumed()[0]) :]
    uploads = [e for e in again if e["type"] == "s3_upload_complete"]
    assert len(uploads) == 8  # the step ran again: all eight announced, five from the record
    complete = recovered.events[-1]
    assert complete["type"] == "complete"
    urls = dict(complete["all_s3_urls"])
    # The sidecar, stored before the stop, keeps its URL in the final event (not uploaded again).
    sidecar_key = next(k for k in w.store.puts if k.endswith("/citations.json"))
    assert urls.pop("citations_url").split("?")[0].endswith(sidecar_key)
    assert set(urls.values()) == {u["s3_url"] for u in uploads}
    announced = [
        e["message"] for e in again
        if e["type"] == "status" and e["message"].startswith("Citation sidecar stored")
    ]  # fmt: skip
    assert announced and announced[0].endswith(complete["all_s3_urls"]["citations_url"])


_NOTE = re.compile(r"^- (.+) \[(\d+)\]$", re.M)
_SOURCE = re.compile(r"^\[(\d+)\] (.+)$", re.M)


def claims_by_title(writer_request: CompletionRequest) -> dict[str, str]:
    """claim → title of the source it cites, from the writer's prompt."""
    prompt = writer_request.messages[-1].content
    notes, _, listing = prompt.partition("\nSource list:\n")
    titles = dict(_SOURCE.findall(listing))
    return {claim: titles[n] for claim, n in _NOTE.findall(notes)}


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> dict[str, str]:
    """The server's database (and so the engine's): SQLite in the data dir, or PostgreSQL."""
    if request.param == "sqlite":
        return {}
    return {"QUBITZ_DATABASE_URL": request.getfixturevalue("pg_url")}


async def test_a_job_stopped_with_one_question_open_runs_only_that_question_again(
    tmp_path: Path, database: dict[str, str]
) -> None:
    """Questions 2 and 3 finished (their steps recorded) while question 1 was held; after the
    restart only question 1 calls the researcher, and every claim still cites its own source
    although the sources are numbered again in another order."""
    reference = scripted_models()
    inline = await run_job(make_deps(reference, tmp_path / "inline"))
    expected = claims_by_title(reference.writer.requests[0])

    hold = Hold(
        matches=lambda r: (
            r.schema_name == "research_claims"
            and "How large is the market" in r.messages[-1].content
        )
    )
    w = world(tmp_path)
    w.deps = dataclasses.replace(
        w.deps, llms=w.models.registry(researcher=HeldLLM(w.models.researcher, hold))
    )
    settings = make_settings(tmp_path / "data", **database)
    pipelines = wiring("research", research_pipeline(w.deps))

    async def others_done() -> None:
        while len(w.models.researcher.requests) < 2:  # noqa: ASYNC110 (another thread's list)
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)  # their steps are recorded

    first, key = await _stop_after(settings, pipelines, hold, others_done)
    assert len(w.models.researcher.requests) == 2
    hold.released.set()
    recovered = await resume_after_restart(settings, pipelines, "research", first, key)
    assert_whole(recovered)
    assert [resumed_step(e) for e in recovered.resumed()] == ["research.q1"]
    assert len(w.models.planner.requests) == 1
    assert len(w.models.researcher.requests) == 3  # question 1 once more, the others not
    # Questions share the sentences already kept (not offered twice), so which question keeps
    # a sentence depends on the order they finish in; every claim still cites its own source.
    got = claims_by_title(w.models.writer.requests[0])
    assert got and len(got) >= len(expected) - 1
    assert {c: t for c, t in got.items() if c in expected} == {
        c: expected[c] for c in got if c in expected
    }
    complete = recovered.events[-1]
    assert complete["sources_count"] == of_type(inline, "complete")[0].sources_count


async def _stop_after(settings: Any, pipelines: Any, hold: Hold, ready: Any) -> Any:
    """Stop the server once `hold` is reached and `ready()` returned."""
    reached = hold.reached
    gate = threading.Event()

    async def wait_both() -> None:
        while not reached.is_set():  # noqa: ASYNC110 (a threading.Event: servers' own loops)
            await asyncio.sleep(0.02)
        await ready()
        gate.set()

    waiter = asyncio.ensure_future(wait_both())
    try:
        return await stop_while_held(
            settings, pipelines, "research", PAYLOAD, gate, scope=Scope.UCT
        )
    finally:
        waiter.cancel()
