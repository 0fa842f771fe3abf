"""/research on the embedded local model (issue 13's goal: standard depth in ≤ 300 s).

Runs the real research pipeline (agents/research) with the real local model (LocalLLM, as
agents/llm/config.py builds it for QUBITZ_LOCAL_MODEL=default) against loopback peers
(bench/research_peers.py): a SearXNG-format search server whose results point at loopback
article pages, and a loopback company website (or, for the "down" runs, a closed port).
PDFs are rendered by the real renderer. The model is loaded once before the first job (load
time printed apart). Prints per step: wall seconds, model calls, prompt tokens (and how many
llama.cpp evaluated), generated tokens, calls that stopped at max_tokens; then quality figures
(see `quality.py`). Asserts nothing. Bounded: one job per entry of --runs.

    .venv/bin/python -m bench.bench_research_embedded [--runs standard:up,quick:up,quick:down]
        [--model default] [--data-dir /tmp/qubitz-bench] [--json out.json]
        [--topics 10 --topics-depth quick]

`--topics N` runs the first N of the fixed topic set (bench/research_topics.py) offline on the
bundled sample corpus instead (no search provider, company site unreachable) and prints one
row per topic: seconds, report words, sections present, citations, resolving citations.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from agents.errors import PipelineFailed
from agents.llm.local import LocalLLM
from agents.llm.local_models import select_model
from agents.llm.port import (
    Completed,
    CompletionRequest,
    ForwardingLLM,
    LLMEvent,
    StaticRegistry,
)
from agents.netsafe import FetchPolicy
from agents.pipeline import JobContext
from agents.protocol import Event, ResearchRequest
from agents.research.config import Depth
from agents.research.deps import ResearchDeps, default_sources
from agents.research.pipeline import research_pipeline
from agents.sources.reader import ReadPolicy
from agents.sources.search.base import CallLimits
from agents.sources.search.searxng import SearxngBackend
from bench.research_peers import article_site, company_site, searxng, serving
from bench.research_quality import quality
from bench.research_store import MemoryProjectStore
from bench.research_topics import TOPICS, corpus_texts, topic_quality
from server.storage.local import LocalArtifactStore

TOPIC = "How mid-size logistics firms use AI for route planning"
COMPANY = "Northwind Freight"
WORKSPACE = "ws_bench"


@dataclass
class StepFigures:
    seconds: float = 0.0
    calls: int = 0
    prompt_tokens: int = 0
    evaluated: int = 0
    generated: int = 0
    at_max_tokens: int = 0
    model_seconds: float = 0.0
    failed: list[str] = field(default_factory=list)


@dataclass
class Recorder(ForwardingLLM):
    """Wraps the LocalLLM; books each call's stats on the step the pipeline is in."""

    inner: LocalLLM
    step: str = "setup"
    steps: dict[str, StepFigures] = field(default_factory=dict)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        fig = self.steps.setdefault(self.step, StepFigures())
        fig.calls += 1
        done: Completed | None = None
        try:
            async for event in self.inner.stream(request):
                if isinstance(event, Completed):
                    done = event
                yield event
        except Exception as exc:
            fig.failed.append(
                f"{request.schema_name or 'prose'}: {type(exc).__name__}: {exc}"[:300]
            )
            raise
        finally:
            st = self.inner.last_stats
            fig.prompt_tokens += st.prompt_tokens
            fig.evaluated += st.prompt_evaluated
            fig.generated += st.output_tokens
            fig.at_max_tokens += st.finish_reason == "length" or (
                done is not None and done.result.stop_reason == "max_tokens"
            )
            fig.model_seconds += st.prompt_seconds + st.generation_seconds


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


async def one_job(
    recorder: Recorder, depth: Depth, site_up: bool, out: Path
) -> tuple[dict[str, Any], list[Event]]:
    with (
        serving(article_site()) as web,
        serving(searxng(web.url)) as search,
        serving(company_site(up=site_up)) as site,
    ):
        company_url = site.url + "/" if site_up else closed_port_url()
        registry = StaticRegistry(default=recorder)
        async with httpx.AsyncClient(trust_env=False) as client:
            sources = default_sources(
                registry, http_client=client, corpus_dir=None,
                fetch_policy=FetchPolicy(allow_private=True, timeout=5.0),
                search_backends=[SearxngBackend(client, search.url, limits=CallLimits(timeout=5))],
                read_policy=ReadPolicy(delay=0.0),
            )  # fmt: skip
            deps = ResearchDeps(
                llms=registry,
                artifacts=LocalArtifactStore(out / "artifacts", public_base_url="http://bench"),
                sources=sources,
                projects=MemoryProjectStore(),
            )
            request = ResearchRequest(
                prompt=TOPIC, company_name=COMPANY, company_url=company_url, depth=depth,
                user_id="bench", session_id="bench",
            )  # fmt: skip
            ctx = JobContext(job_id="bench", workspace_id=WORKSPACE, endpoint="research")
            events: list[Event] = []
            recorder.steps.clear()
            times: dict[str, float] = {}
            start = last = time.perf_counter()
            failure = ""
            try:
                async for event in research_pipeline(deps)(request, ctx):
                    events.append(event)
                    step = getattr(event, "step", None)
                    moved = isinstance(step, str) and step != recorder.step
                    if event.type == "multiagent_step" and moved and isinstance(step, str):
                        now = time.perf_counter()
                        times[recorder.step] = times.get(recorder.step, 0.0) + now - last
                        recorder.step, last = step, now
            except PipelineFailed as exc:  # a failed job is a result, with what led to it
                failure = exc.message
            end = time.perf_counter()
            times[recorder.step] = times.get(recorder.step, 0.0) + end - last
            recorder.step = "setup"
        for name, seconds in times.items():
            recorder.steps.setdefault(name, StepFigures()).seconds = seconds
        pages = {web.url: web, site.url: site}
        figures = {
            "depth": depth,
            "company_site": "up" if site_up else "unreachable",
            "outcome": "error" if failure else events[-1].type if events else "none",
            "error": failure
            or (getattr(events[-1], "message", "") if events[-1].type == "error" else ""),
            "total_seconds": round(end - start, 1),
            "load_after": os.getloadavg(),
            "steps": {k: asdict(v) for k, v in recorder.steps.items()},
            "statuses": [m for e in events if (m := getattr(e, "message", None))][:80],
            "quality": {}
            if failure
            else quality(events, out / "artifacts", WORKSPACE, pages, COMPANY),
        }
    return figures, events


async def offline_job(
    recorder: Recorder, topic: str, company: str, depth: Depth, out: Path
) -> dict[str, Any]:
    """One job on the bundled corpus only (the offline configuration), scored per topic."""
    registry = StaticRegistry(default=recorder)
    async with httpx.AsyncClient(trust_env=False) as client:
        sources = default_sources(
            registry, http_client=client, corpus_dir=None,
            fetch_policy=FetchPolicy(allow_private=True, timeout=5.0),
            search_backends=[], read_policy=ReadPolicy(delay=0.0),
        )  # fmt: skip
        deps = ResearchDeps(
            llms=registry,
            artifacts=LocalArtifactStore(out / "artifacts", public_base_url="http://bench"),
            sources=sources,
            projects=MemoryProjectStore(),
        )
        request = ResearchRequest(
            prompt=topic, company_name=company, company_url=closed_port_url(), depth=depth,
            user_id="bench", session_id="bench",
        )  # fmt: skip
        ctx = JobContext(job_id="bench", workspace_id=WORKSPACE, endpoint="research")
        start = time.perf_counter()
        events: list[Event] = []
        failure = ""
        try:
            events = [e async for e in research_pipeline(deps)(request, ctx)]
        except PipelineFailed as exc:  # one topic's failure is a row, not the end of the run
            failure = exc.message
        seconds = time.perf_counter() - start
    if failure:
        return {"topic": topic, "seconds": round(seconds, 1), "outcome": "error",
                "load": round(os.getloadavg()[0], 1), "error": failure}  # fmt: skip
    row: dict[str, Any] = {"topic": topic, "seconds": round(seconds, 1),
                           "outcome": events[-1].type if events else "none",
                           "load": round(os.getloadavg()[0], 1)}  # fmt: skip
    project = getattr(events[-1], "project_id", "") if events else ""
    root = out / "artifacts" / WORKSPACE / project
    if row["outcome"] == "complete" and root.is_dir():
        row.update(topic_quality(root, corpus_texts(), company))
    else:
        row["error"] = getattr(events[-1], "message", "") if events else ""
    return row


async def run_topics(recorder: Recorder, count: int, depth: Depth) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    print(f"\n### {count} topics, depth={depth}, offline (bundled corpus, site unreachable)")
    print("| topic | outcome | s | load | words | sections | citations (distinct) | "
          "resolving | claims kept/dropped | uncited company sentences | "
          "distinct cited sentences |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for topic, company in TOPICS[:count]:
        with tempfile.TemporaryDirectory() as tmp:
            row = await offline_job(recorder, topic, company, depth, Path(tmp))
            keep(Path(tmp), f"topic-{len(rows) + 1}")
        rows.append(row)
        print(f"| {topic} | {row['outcome']} | {row['seconds']} | {row['load']} | "
              f"{row.get('words', '-')} | "
              f"{row.get('sections', '-')}/4 | {row.get('citations', '-')} "
              f"({row.get('distinct', '-')}) | {row.get('resolving', '-')} | "
              f"{row.get('claims kept', '-')}/{row.get('claims dropped', '-')} | "
              f"{row.get('uncited company', '-')} | {row.get('distinct sentences', '-')} |",
              flush=True)  # fmt: skip
    return rows


KEEP_DIR: Path | None = None  # --keep: where the stored files of each job are copied


def keep(tmp: Path, name: str) -> None:
    if KEEP_DIR is not None and (tmp / "artifacts").is_dir():
        shutil.copytree(tmp / "artifacts", KEEP_DIR / name, dirs_exist_ok=True)


def print_job(fig: dict[str, Any]) -> None:
    head = f"depth={fig['depth']} company site {fig['company_site']}: {fig['outcome']}"
    print(f"\n### {head} in {fig['total_seconds']} s (load after {fig['load_after'][0]:.2f})")
    if fig["error"]:
        print(fig["error"])
        for message in fig["statuses"][-6:]:
            print(f"  status: {message}")
    print("| step | wall s | calls | prompt tok | evaluated | generated | at max_tok | model s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, s in fig["steps"].items():
        print(f"| {name} | {s['seconds']:.1f} | {s['calls']} | {s['prompt_tokens']} | "
              f"{s['evaluated']} | {s['generated']} | {s['at_max_tokens']} | "
              f"{s['model_seconds']:.1f} |")  # fmt: skip
    for name, s in fig["steps"].items():
        for failure in s["failed"]:
            print(f"- {name} call failed: {failure}")
    for key, value in fig["quality"].items():
        print(f"- {key}: {value}")


async def run_all(recorder: Recorder, runs: list[str]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for spec in runs:
        name, _, site = spec.partition(":")
        depth: Depth = "quick" if name == "quick" else "deep" if name == "deep" else "standard"
        with tempfile.TemporaryDirectory() as tmp:
            fig, _ = await one_job(recorder, depth, site != "down", Path(tmp))
            keep(Path(tmp), f"{name}-{site or 'up'}-{len(results) + 1}")
        print_job(fig)
        results.append(fig)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", default="standard:up,quick:up,quick:down")
    parser.add_argument("--model", default="default")
    parser.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "qubitz-bench"))
    parser.add_argument("--json", default="")
    parser.add_argument("--topics", type=int, default=0)
    parser.add_argument("--keep", default="", help="copy each job's stored files here")
    parser.add_argument("--topics-depth", default="quick", choices=["quick", "standard", "deep"])
    args = parser.parse_args()
    global KEEP_DIR
    KEEP_DIR = Path(args.keep) if args.keep else None
    local = LocalLLM(select_model(args.model), data_dir=Path(args.data_dir), n_ctx=8192)
    recorder = Recorder(local)
    print(f"research on the embedded model {local.model}; load before {os.getloadavg()}")
    try:
        started = time.perf_counter()
        local._llama = local._load()  # outside the measurement: the server loads it once
        print(f"model load: {time.perf_counter() - started:.1f} s")
        if args.topics:
            results = asyncio.run(run_topics(recorder, args.topics, args.topics_depth))
        else:
            results = asyncio.run(run_all(recorder, args.runs.split(",")))
    finally:
        local.close()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
