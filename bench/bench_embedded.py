"""Where the embedded model's time goes in /getspec, /updatespec and /chat, and what it produces.

Runs the real pipelines (agents/spec, agents/chat) on the embedded local model and records, per
model call: prompt tokens, prompt tokens llama.cpp actually evaluated (the rest was a reused
prefix), prompt-evaluation seconds, generated tokens and generation seconds; per job: wall time
and stream chunks. It also scores what the spec flows produce on the fixed set in
bench/spec_cases.py (20 use cases, 10 instructions):

- getspec: stored (schema-valid), no duplicated agents (same name or prompt), every agent's tools
  within what the use case needs, no agent prompt that echoes the use-case description;
- updatespec: stored, every agent the diff does not name byte-identical, the diff shows the kind
  of change asked for.

`--mix N` runs N rounds of getspec, updatespec and a first chat turn interleaved (each job after
one of another flow, every input distinct: use cases from the end of the set, instructions in
order, the chat report under a different company name), the order in which a server's jobs
share the one model; with `--prompt-cache-mb` it shows what the cross-job prompt cache saves.
`--lookup N` turns on prompt-lookup speculative decoding with N drafted tokens.

Prints Markdown tables with the machine's load average next to each job; asserts nothing. Runs
are bounded by the counts given (the defaults take a few minutes on 2 cores):

    .venv/bin/python -m bench.bench_embedded [--flows getspec,updatespec,chat]
        [--use-cases 2] [--instructions 1] [--runs 1] [--mix 0] [--prompt-cache-mb 0]
        [--lookup 0] [--model default] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import os
import resource
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agents.llm.local import LocalLLM
from agents.llm.local_models import select_model
from agents.llm.port import (
    Completed,
    CompletionRequest,
    ForwardingLLM,
    LLMEvent,
    StaticRegistry,
)
from agents.pipeline import JobContext, Pipeline
from agents.protocol import (
    ChatRequest,
    GetSpecRequest,
    StrictRequest,
    UpdateSpecRequest,
    event_to_dict,
)
from agents.spec.deps import SpecDeps
from agents.spec.generate import getspec_pipeline
from agents.spec.update import updatespec_pipeline
from agents.spec.validation import canonical_json, validate_spec
from bench.spec_cases import INSTRUCTIONS, SEED_SPEC, USE_CASES, Instruction, UseCase

REPORT = """# Supplier invoices at Northwind

## Findings

Northwind processes about 4,000 supplier invoices a month. 12% arrive without a purchase order
number and wait an average of 9 days for a manual match. Duplicate invoices cost 0.4% of spend
in 2024, mostly from two carriers that resend invoices after 30 days. Approvals follow a matrix
by amount: under 5,000 EUR the cost-centre owner, up to 50,000 EUR the finance controller, above
that the CFO.

## Recommendations

Automate PO matching first (largest delay), then duplicate detection on supplier, amount and
date, then route approvals by the matrix. Keep a human in the loop above 50,000 EUR.
"""
CHAT_QUESTIONS = (
    "Which problem causes the longest delay, and what does the report recommend first?",
    "Who approves an invoice of 20,000 EUR?",
)


@dataclass
class Call:
    job: str
    step: str
    prompt_tokens: int
    evaluated: int
    prompt_s: float
    generated: int
    generation_s: float
    resampled: str = ""  # grammar: rejected unconstrained choices / tokens checked


@dataclass
class Job:
    flow: str
    label: str
    ok: bool
    wall_s: float
    chunks: int
    load: float
    calls: list[Call] = field(default_factory=list)
    score: dict[str, float] = field(default_factory=dict)
    detail: str = ""


class Recording(ForwardingLLM):
    """An LLM wrapper that writes the local model's stats for each call into `calls`."""

    def __init__(self, inner: LocalLLM) -> None:
        self.inner = inner
        self.calls: list[Call] = []
        self.job = ""

    async def stream(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        async for event in self.inner.stream(request):
            if isinstance(event, Completed):
                self._record(request, event)
            yield event

    def _record(self, request: CompletionRequest, event: Completed) -> None:
        st = self.inner.last_stats
        usage = event.result.usage
        step = request.schema_name if request.json_schema is not None else "prose"
        self.calls.append(
            Call(
                job=self.job,
                step=step,
                prompt_tokens=usage.input_tokens,
                evaluated=getattr(st, "prompt_evaluated", 0) or usage.input_tokens,
                prompt_s=getattr(st, "prompt_seconds", 0.0),
                generated=usage.output_tokens,
                generation_s=getattr(st, "generation_seconds", 0.0),
                resampled=(
                    f"{st.grammar_resampled}/{st.grammar_checked}" if st.grammar_checked else ""
                ),
            )
        )


def load() -> float:
    return os.getloadavg()[0]


async def run(pipeline: Pipeline, request: StrictRequest) -> list[dict[str, Any]]:
    ctx = JobContext(job_id="bench", workspace_id="ws", endpoint="bench")
    return [event_to_dict(e) async for e in pipeline(request, ctx)]


def _chunks(events: list[dict[str, Any]]) -> int:
    return sum(e["type"] in {"stream_chunk", "chat_chunk"} for e in events)


def score_design(spec: dict[str, Any], case: UseCase) -> dict[str, float]:
    agents = list(spec["agents_config"].values())
    names = [a["name"].strip().lower() for a in agents]
    prompts = [a["prompt"].strip().lower() for a in agents]
    no_dupes = len(set(names)) == len(names) and len(set(prompts)) == len(prompts)
    tools_fit = sum(set(a["tools"]) <= case.tools for a in agents) / len(agents)
    desc = case.description.lower()

    def echo(prompt: str) -> bool:
        return desc in prompt or difflib.SequenceMatcher(None, prompt, desc).ratio() > 0.8

    not_echo = sum(not echo(p) for p in prompts) / len(prompts)
    return {
        "valid": 1.0,
        "no_duplicates": float(no_dupes),
        "tools_fit": round(tools_fit, 2),
        "prompt_not_echo": round(not_echo, 2),
        "agents": float(len(agents)),
    }


def score_update(
    before: dict[str, Any], after: dict[str, Any], diff: dict[str, list[str]], ins: Instruction
) -> dict[str, float]:
    paths = diff["added"] + diff["removed"] + diff["changed"]
    named = {p.split("/")[2] for p in paths if p.startswith("/agents_config/")}
    untouched = [a for a in before["agents_config"] if a not in named]
    identical = all(
        canonical_json(after["agents_config"][a]) == canonical_json(before["agents_config"][a])
        for a in untouched
        if a in after["agents_config"]
    )
    kind_seen = {
        "add": any(p.count("/") == 2 and p.startswith("/agents_config/") for p in diff["added"]),
        "remove": any(p.startswith("/agents_config/") for p in diff["removed"]),
        "change": any(p.count("/") >= 3 and p.startswith("/agents_config/") for p in paths),
        "orchestration": any(p.startswith("/orchestration") for p in paths),
        "gateway": any(p.startswith("/gateway_config") for p in paths),
    }[ins.kind]
    return {"valid": 1.0, "untouched_identical": float(identical), "asked_change": float(kind_seen)}


async def bench_getspec(llm: Recording, deps: SpecDeps, case: UseCase, label: str) -> Job:
    llm.job = label
    request = GetSpecRequest(
        user_id="bench",
        project_id=label,
        use_case_name=case.name,
        use_case_description=case.description,
    )
    started, at = time.monotonic(), load()
    events = await run(getspec_pipeline(deps), request)
    job = Job("getspec", label, events[-1]["type"] == "architecture",
              round(time.monotonic() - started, 1), _chunks(events), at)  # fmt: skip
    if job.ok:
        job.score = score_design(events[-1]["data"]["architecture"], case)
    else:
        job.detail = json.dumps(events[-1].get("data"))[:300]
    return job


async def bench_update(llm: Recording, deps: SpecDeps, ins: Instruction, label: str) -> Job:
    llm.job = label
    seed = canonical_json(validate_spec(SEED_SPEC))
    await deps.store.append("ws", label, user_id="bench", action="generate",
                            instruction="seed", spec_json=seed)  # fmt: skip
    request = UpdateSpecRequest(user_id="bench", project_id=label, user_input=ins.text)
    started, at = time.monotonic(), load()
    events = await run(updatespec_pipeline(deps), request)
    job = Job("updatespec", label, events[-1]["type"] == "architecture",
              round(time.monotonic() - started, 1), _chunks(events), at)  # fmt: skip
    if job.ok:
        data = events[-1]["data"]
        job.score = score_update(json.loads(seed), data["architecture"], data["diff"], ins)
    else:
        job.detail = json.dumps(events[-1].get("data"))[:300]
    return job


async def bench_chat(
    llm: Recording,
    label: str,
    sessions: Any,
    data_dir: Path,
    questions: tuple[str, ...] = CHAT_QUESTIONS,
    report: str = REPORT,
) -> list[Job]:
    """Chat turns over an inline report, on the product's SQL session store (SQLite) and the
    local artifact folder."""
    import httpx

    from agents.chat import ChatDeps, chat_pipeline
    from server.db.chat import SqlChatSessionStore
    from server.storage.local import LocalArtifactStore

    jobs = []
    async with httpx.AsyncClient() as http:
        deps = ChatDeps(
            llms=StaticRegistry(default=llm),
            sessions=SqlChatSessionStore(sessions),
            artifacts=LocalArtifactStore(data_dir / "artifacts", "http://127.0.0.1:8008"),
            http=http,
        )
        history: list[dict[str, str]] = []
        for i, question in enumerate(questions):
            llm.job = f"{label}-turn{i + 1}"
            history.append({"role": "user", "content": question})
            request = ChatRequest.model_validate(
                {"messages": history, "user_id": "bench", "session_id": label, "report": report}
            )
            started, at = time.monotonic(), load()
            events = await run(chat_pipeline(deps), request)
            answer = "".join(e.get("chunk", "") for e in events if e["type"] == "chat_chunk")
            ok = bool(answer.strip()) and events[-1]["type"] != "chat_error"
            jobs.append(Job("chat", llm.job, ok, round(time.monotonic() - started, 1),
                            _chunks(events), at, detail=answer[:120]))  # fmt: skip
            history.append({"role": "assistant", "content": answer})
    return jobs


def print_tables(jobs: list[Job], calls: list[Call], model: str) -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nmodel: {model}; cores: {os.cpu_count()}; peak RSS {peak:.0f} MiB\n")
    print("| job | ok | wall s | chunks | load (1 min) | score |")
    print("| --- | --- | --- | --- | --- | --- |")
    for j in jobs:
        score = ", ".join(f"{k} {v:g}" for k, v in j.score.items()) or j.detail[:80]
        print(f"| {j.label} | {'yes' if j.ok else 'NO'} | {j.wall_s} | {j.chunks} "
              f"| {j.load:.2f} | {score} |")  # fmt: skip
    print("\n| job | step | prompt tok | evaluated | prompt s | generated | gen s | tok/s "
          "| grammar resampled |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for c in calls:
        rate = c.generated / c.generation_s if c.generation_s else 0.0
        print(f"| {c.job} | {c.step} | {c.prompt_tokens} | {c.evaluated} | {c.prompt_s} "
              f"| {c.generated} | {c.generation_s} | {rate:.1f} | {c.resampled} |")  # fmt: skip
    print_quality(jobs)
    for flow in sorted({j.flow for j in jobs}):
        walls = [j.wall_s for j in jobs if j.flow == flow and j.ok]
        ok = sum(j.ok for j in jobs if j.flow == flow)
        n = sum(j.flow == flow for j in jobs)
        med = f"median {statistics.median(walls)} s" if walls else "no success"
        labels = {j.label for j in jobs if j.flow == flow}
        mine = [c for c in calls if c.job in labels]
        prompt = sum(c.prompt_tokens for c in mine)
        evaluated = sum(c.evaluated for c in mine)
        prompt_s = round(sum(c.prompt_s for c in mine), 1)
        gen_s = round(sum(c.generation_s for c in mine), 1)
        print(f"\n{flow}: {ok}/{n} succeeded, {med}; prompt tokens evaluated {evaluated} of "
              f"{prompt} ({prompt_s} s), generation {gen_s} s")  # fmt: skip


def print_quality(jobs: list[Job]) -> None:
    """Counts of the spec flows' scores (a score of 1 = every agent of that job passes)."""
    for flow, keys in (
        ("getspec", ("no_duplicates", "tools_fit", "prompt_not_echo")),
        ("updatespec", ("untouched_identical", "asked_change")),
    ):
        done = [j for j in jobs if j.flow == flow]
        if not done:
            continue
        ok = [j for j in done if j.ok]
        cells = [f"valid and stored {len(ok)}/{len(done)}"]
        for key in keys:
            values = [j.score.get(key, 0.0) for j in ok]
            full = sum(v == 1.0 for v in values)
            mean = statistics.mean(values) if values else 0.0
            cells.append(f"{key} {full}/{len(ok)} (mean {mean:.2f})")
        repaired = sum(j.score.get("repairs", 0.0) > 0 for j in ok)
        cells.append(f"needed a repair {repaired}/{len(ok)}")
        print(f"\n{flow} quality: " + "; ".join(cells))


async def main(args: argparse.Namespace) -> list[Job]:
    from server.db.base import make_engine, make_sessionmaker
    from server.db.models import metadata  # every table (chat sessions too)
    from server.db.specs import SqlSpecStore

    data_dir = Path(args.data_dir)
    local = LocalLLM(
        select_model(args.model),
        data_dir=data_dir,
        n_ctx=8192,
        prompt_cache_bytes=args.prompt_cache_mb * 2**20,
        prompt_lookup_tokens=args.lookup,
    )
    llm = Recording(local)
    flows = args.flows.split(",")
    jobs: list[Job] = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp}/bench.db")
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        sessions = make_sessionmaker(engine)
        store = SqlSpecStore(sessions)
        deps = SpecDeps(llms=StaticRegistry(default=llm), store=store, load_report=_no_report,
                        gateway_provider="local")  # fmt: skip
        for r in range(args.runs):
            if "getspec" in flows:
                for i, case in enumerate(USE_CASES[: args.use_cases]):
                    jobs.append(await bench_getspec(llm, deps, case, f"getspec-{i + 1}-r{r + 1}"))
                    print(jobs[-1], flush=True)
            if "updatespec" in flows:
                for i, ins in enumerate(INSTRUCTIONS[: args.instructions]):
                    jobs.append(await bench_update(llm, deps, ins, f"update-{i + 1}-r{r + 1}"))
                    print(jobs[-1], flush=True)
            if "chat" in flows:
                jobs += await bench_chat(llm, f"chat-r{r + 1}", sessions, Path(tmp))
                print(jobs[-2:], flush=True)
        for i in range(args.mix):
            case = USE_CASES[-(i + 1)]
            jobs.append(await bench_getspec(llm, deps, case, f"mix-getspec-{i + 1}"))
            ins = INSTRUCTIONS[i % len(INSTRUCTIONS)]
            jobs.append(await bench_update(llm, deps, ins, f"mix-update-{i + 1}"))
            company = ("Contoso", "Fabrikam", "Tailspin", "Litware", "Adatum")[i % 5]
            report = REPORT.replace("Northwind", company)
            jobs += await bench_chat(
                llm, f"mix-chat-{i + 1}", sessions, Path(tmp), CHAT_QUESTIONS[:1], report
            )
            print(jobs[-3:], flush=True)
        await engine.dispose()
    local.close()
    for job in jobs:
        job.calls = [c for c in llm.calls if c.job == job.label]
        structured = sum(c.step != "prose" for c in job.calls)
        if job.flow != "chat" and structured:
            job.score["repairs"] = float(structured - 1)
    print_tables(jobs, llm.calls, local.model)
    return jobs


async def _no_report(url: str, workspace_id: str) -> str:
    raise RuntimeError("the bench sends no report URL")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flows", default="getspec,updatespec,chat")
    parser.add_argument("--use-cases", type=int, default=2)
    parser.add_argument("--instructions", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--mix", type=int, default=0)
    parser.add_argument("--prompt-cache-mb", type=int, default=0)
    parser.add_argument("--lookup", type=int, default=0)
    parser.add_argument("--model", default="default")
    parser.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "qubitz-bench"))
    parser.add_argument("--json", default="")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    finished = asyncio.run(main(arguments))
    if arguments.json:
        Path(arguments.json).write_text(json.dumps([asdict(j) for j in finished], indent=1))
