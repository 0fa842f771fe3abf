"""Research pipeline overhead: everything but model time, as a ratio to model time.

A scripted model streams its replies at a fixed pace (simulated generation). A wrapper records the
wall time during which at least one model stream is open ("model time"). Overhead is the rest of
the job's wall time: corpus indexing and search, prompt building, citation filtering, chunk
coalescing, Markdown/PDF rendering, storing files, project bookkeeping.

Run: .venv/bin/python bench/bench_research.py [--runs 3] [--depth standard] [--real-pdf]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.llm.port import Capabilities, CompletionRequest, LLMEvent
from agents.reports import render_pdf_async
from agents.research.config import ResearchLimits
from tests.research.support import (
    fake_pdf,
    make_deps,
    request,
    run_job,
    scripted_models,
)
from tests.support.scripted_llm import Reply, ScriptedLLM


@dataclass
class ModelClock:
    active: int = 0
    since: float = 0.0
    busy: float = 0.0
    calls: int = 0


@dataclass
class Timed:
    inner: ScriptedLLM
    clock: ModelClock

    @property
    def provider(self) -> str:
        return self.inner.provider

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        c = self.clock
        if c.active == 0:
            c.since = time.perf_counter()
        c.active += 1
        c.calls += 1
        try:
            async for event in self.inner.stream(request):
                yield event
        finally:
            c.active -= 1
            if c.active == 0:
                c.busy += time.perf_counter() - c.since


def paced(llm: ScriptedLLM, delay: float) -> ScriptedLLM:
    for r in llm.replies:
        r.delay, r.chunk_size = delay, 8
    if llm.fallback is not None:
        llm.fallback.delay, llm.fallback.chunk_size = delay, 8
    return llm


async def one_run(depth: str, delay: float, real_pdf: bool, tmp: Path) -> tuple[float, ModelClock]:
    report = ("## Executive Summary\nBanks invest in AI [1]. " + "Detail sentence [2]. " * 60) * 2
    models = scripted_models(report=report, notes="- Fact [1]. " * 40)
    questions = {"quick": 3, "standard": 5, "deep": 8}[depth]
    models.planner.replies.clear()
    models.planner.enqueue(
        {
            "questions": [
                f"Research question {i} on AI adoption in banking?" for i in range(questions)
            ]
        }
    )
    models.researcher.fallback = Reply(text="- Fact [1]. " * 40)
    for m in (models.planner, models.researcher, models.writer, models.analyst):
        paced(m, delay)
    clock = ModelClock()
    deps = make_deps(
        models,
        tmp,
        limits=ResearchLimits(concurrency=3),
        render_pdf=render_pdf_async if real_pdf else fake_pdf,
        planner=Timed(models.planner, clock),
        researcher=Timed(models.researcher, clock),
        writer=Timed(models.writer, clock),
        analyst=Timed(models.analyst, clock),
    )
    start = time.perf_counter()
    events = await run_job(deps, request(depth=depth))
    wall = time.perf_counter() - start
    assert events[-1].type == "complete", events[-1]
    return wall, clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--depth", default="standard", choices=["quick", "standard", "deep"])
    parser.add_argument("--delay", type=float, default=0.002, help="seconds per 8-char delta")
    parser.add_argument("--real-pdf", action="store_true", help="render PDFs with weasyprint")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        # Warm-up (imports, corpus index, renderer fonts) outside the measurement.
        asyncio.run(one_run(args.depth, 0.0, args.real_pdf, Path(tmp) / "warm"))
        print(f"research bench: depth={args.depth} delay={args.delay}s/delta "
              f"pdf={'weasyprint' if args.real_pdf else 'stub'} runs={args.runs}")  # fmt: skip
        print(
            f"{'run':>4} {'wall s':>8} {'model s':>8} {'overhead s':>11} {'ratio':>7} {'calls':>6}"
        )
        ratios = []
        for i in range(args.runs):
            wall, clock = asyncio.run(
                one_run(args.depth, args.delay, args.real_pdf, Path(tmp) / str(i))
            )
            overhead = wall - clock.busy
            ratio = overhead / clock.busy if clock.busy else float("inf")
            ratios.append(ratio)
            row = f"{i:>4} {wall:>8.3f} {clock.busy:>8.3f} {overhead:>11.3f} {ratio:>7.3f}"
            print(f"{row} {clock.calls:>6}")
        # Reference: the same job with no model pacing (pure pipeline cost).
        ref_wall, ref_clock = asyncio.run(
            one_run(args.depth, 0.0, args.real_pdf, Path(tmp) / "ref")
        )
        print(f"reference (model instant): wall {ref_wall:.3f}s, model {ref_clock.busy:.3f}s")
        ratios.sort()
        print(f"median overhead/model ratio: {ratios[len(ratios) // 2]:.3f}")


if __name__ == "__main__":
    main()
