"""Research pipeline overhead: everything but model time, as a ratio to model time.

A model on loopback (bench/model_peer.py, OpenAI-compatible, through the product's
OpenAICompatibleLLM) streams its answers at a fixed pace (simulated generation). A wrapper
records the wall time during which at least one model stream is open ("model time"). Overhead
is the rest of the job's wall time: corpus indexing and search, prompt building, citation
filtering, chunk coalescing, Markdown/PDF rendering, storing files, project bookkeeping.

Run: .venv/bin/python bench/bench_research.py [--runs 3] [--depth standard] [--real-pdf]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from agents.llm.openai_compat import OpenAICompatibleLLM
from agents.llm.port import (
    LLM,
    CompletionRequest,
    ForwardingLLM,
    LLMEvent,
    Role,
    StaticRegistry,
)
from agents.pipeline import JobContext
from agents.protocol import ResearchRequest
from agents.reports import render_pdf_async
from agents.research.config import ResearchLimits
from agents.research.deps import ResearchDeps
from agents.research.pipeline import research_pipeline
from agents.sources.corpus import CorpusProvider
from bench.model_peer import MODEL, paced_model
from bench.research_store import MemoryProjectStore
from server.storage.local import LocalArtifactStore


@dataclass
class ModelClock:
    active: int = 0
    since: float = 0.0
    busy: float = 0.0
    calls: int = 0


@dataclass
class Timed(ForwardingLLM):
    inner: LLM
    clock: ModelClock

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


async def stub_pdf(
    markdown: str, *, title: str, subtitle: str = "", meta: Mapping[str, str] | None = None
) -> bytes:
    """Not a layout: the PDF renderer's cost left out (see --real-pdf)."""
    return b"%PDF-1.4\n% bench stub\n" + markdown.encode()


async def one_run(depth: str, delay: float, real_pdf: bool, tmp: Path) -> tuple[float, ModelClock]:
    questions = {"quick": 3, "standard": 5, "deep": 8}[depth]
    clock = ModelClock()
    with paced_model(questions=questions, delay=delay) as base_url:
        async with httpx.AsyncClient(timeout=60) as http:
            model = OpenAICompatibleLLM(base_url=base_url, model=MODEL, http_client=http)
            timed = Timed(model, clock)
            deps = ResearchDeps(
                llms=StaticRegistry(default=timed, by_role={role: timed for role in Role}),
                artifacts=LocalArtifactStore(tmp / "artifacts", "http://127.0.0.1:8000"),
                sources=[CorpusProvider(None)],
                projects=MemoryProjectStore(),
                limits=ResearchLimits(concurrency=3),
                render_pdf=render_pdf_async if real_pdf else stub_pdf,
            )
            request = ResearchRequest(
                prompt="AI adoption in banking and fraud detection", company_name="TestCompany",
                company_url="https://example.com/", user_id="bench", session_id="bench",
                depth=depth,  # type: ignore[arg-type]
            )  # fmt: skip
            ctx = JobContext(job_id="bench", workspace_id="ws_bench", endpoint="research")
            start = time.perf_counter()
            events = [e async for e in research_pipeline(deps)(request, ctx)]
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
