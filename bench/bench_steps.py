"""What durable steps cost per job: a /research job on a real server (SQLite, DBOS), with its
stages as durable steps against the same job run as one step (as before the pipelines were
split), scripted models (tests/research/support.py), the stub PDF renderer.

    .venv/bin/python -m bench.bench_steps --jobs 10 --rounds 3 [--delay 0.002]

Per job: wall time connect → close, and CPU time of the process (server and client). Rounds
alternate the two modes (a fresh server each), so that drift on a shared machine hits both.
`--delay` paces the scripted models (seconds per streamed delta, of 7-9 characters, and before
each answer); 0 is the worst case for the steps (a job of nothing but overhead).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agents.llm.port import LLM, CompletionRequest, ForwardingLLM, LLMEvent, TextDelta
from agents.pipeline import JobContext, Pipeline, inline_steps
from agents.protocol import Scope
from agents.research.config import ResearchLimits
from agents.research.pipeline import research_pipeline
from server.composition import Wired
from tests.conftest import make_settings, mint
from tests.research.support import MemoryProjectStore, fake_pdf, make_deps, scripted_models
from tests.support.pipelines import default_pipelines
from tests.support.server import run_server
from tests.support.wsclient import run

PAYLOAD = {
    "prompt": "AI adoption in banking and fraud detection",
    "company_name": "TestCompany",
    "company_url": "https://example.com/",
    "user_id": "user123",
    "session_id": "session456",
}


@dataclasses.dataclass
class Paced(ForwardingLLM):
    """A model that takes `delay` seconds per streamed text delta (and as long to answer)."""

    inner: LLM
    delay: float

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        if self.delay:
            await asyncio.sleep(self.delay)
        async for event in self.inner.stream(request):
            if self.delay and isinstance(event, TextDelta):
                await asyncio.sleep(self.delay)
            yield event


def pipeline(tmp: Path, delay: float, *, steps: bool) -> Pipeline:
    """A research pipeline with fresh scripted models per job; `steps=False` runs it as one
    step (ctx.step replaced by the inline runner)."""
    projects = MemoryProjectStore()

    async def job(request: Any, ctx: JobContext) -> AsyncIterator[Any]:
        models = scripted_models()
        deps = make_deps(
            models,
            tmp / ctx.job_id,
            projects=projects,
            limits=ResearchLimits(concurrency=3),
            render_pdf=fake_pdf,
            planner=Paced(models.planner, delay),
            researcher=Paced(models.researcher, delay),
            writer=Paced(models.writer, delay),
            analyst=Paced(models.analyst, delay),
        )
        if not steps:
            ctx = dataclasses.replace(ctx, step=inline_steps)
        async for event in research_pipeline(deps)(request, ctx):
            yield event

    return job


def wiring(p: Pipeline) -> Any:
    @contextlib.asynccontextmanager
    async def wire(_infra: Any) -> AsyncIterator[Wired]:
        yield Wired(pipelines={**default_pipelines(), "research": p})

    return wire


async def jobs(url: str, count: int) -> tuple[list[float], list[float]]:
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(count):
        cpu, wall = time.process_time(), time.perf_counter()
        out = await run(url, PAYLOAD)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        assert out.types()[-1] == "complete", out.events[-3:]
    return walls, cpus


def measure(tmp: Path, mode: str, count: int, delay: float) -> tuple[list[float], list[float]]:
    data = tmp / f"data-{mode}"
    settings = make_settings(data)
    with run_server(settings, wiring(pipeline(tmp / mode, delay, steps=mode == "steps"))) as srv:
        key = mint(srv, Scope.UCT)
        url = f"{srv.ws}/research?api_key={key}"
        asyncio.run(jobs(url, 2))  # warm-up: imports, corpus index, first workflow
        return asyncio.run(jobs(url, count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    results: dict[str, tuple[list[float], list[float]]] = {"one step": ([], []), "steps": ([], [])}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for mode in ("one step", "steps") if r % 2 == 0 else ("steps", "one step"):
                walls, cpus = measure(
                    Path(tmp) / str(r), mode.replace(" ", "-"), args.jobs, args.delay
                )
                results[mode][0].extend(walls)
                results[mode][1].extend(cpus)
    print(f"research job, scripted models (delay {args.delay}s/delta), SQLite, "
          f"{args.rounds} rounds x {args.jobs} jobs per mode")  # fmt: skip
    print(f"{'mode':>9} {'wall p50 ms':>12} {'wall mean ms':>13} {'cpu mean ms':>12}")
    means: dict[str, tuple[float, float]] = {}
    for mode, (walls, cpus) in results.items():
        means[mode] = (statistics.fmean(walls), statistics.fmean(cpus))
        print(
            f"{mode:>9} {statistics.median(walls) * 1e3:>12.1f} {means[mode][0] * 1e3:>13.1f} "
            f"{means[mode][1] * 1e3:>12.1f}"
        )
    wall_ratio = means["steps"][0] / means["one step"][0]
    cpu_ratio = means["steps"][1] / means["one step"][1]
    print(f"durable steps / one step: wall {wall_ratio:.3f}x, cpu {cpu_ratio:.3f}x (goal <= 1.10)")


if __name__ == "__main__":
    main()
