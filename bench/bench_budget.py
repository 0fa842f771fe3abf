"""What the workspace budget costs a model call on the embedded SQLite database.

`--calls` calls of a model with no I/O (one text delta and a result) go through `ChargedLLM`
(agents/budget.py) over `SqlWorkspaceTokenUsage` on a fresh SQLite file, `--concurrency` at a
time, two ways: reading the row before every call (`trust_seconds=0`, what every call did
before admission learnt from its charges) and as configured (a charge's returned total stands in
for the next read while far from the limit). Prints milliseconds per call, the store's reads,
and the ratio; asserts nothing.

    .venv/bin/python -m bench.bench_budget [--calls 400] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import date
from pathlib import Path

from agents.budget import ChargedLLM, DailyBudget, charged_to
from agents.llm.port import (
    complete,
)
from bench.canned_llm import REQUEST, CannedLLM
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.token_usage import SqlWorkspaceTokenUsage


class CountedUsage(SqlWorkspaceTokenUsage):
    reads = 0

    async def used(self, workspace_id: str, day: date) -> int:
        self.reads += 1
        return await super().used(workspace_id, day)


async def run(calls: int, concurrency: int, trust_seconds: float) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'usage.sqlite'}")
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        usage = CountedUsage(make_sessionmaker(engine))
        budget = DailyBudget(usage, 10**12, trust_seconds=trust_seconds)
        llm = ChargedLLM(CannedLLM(delta="ok", output_tokens=2), budget)
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                await complete(llm, REQUEST)

        with charged_to("ws-bench"):
            started = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(calls)))
            elapsed = time.perf_counter() - started
        await engine.dispose()
        return elapsed * 1000 / calls, usage.reads


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    every, every_reads = await run(args.calls, args.concurrency, trust_seconds=0.0)
    learnt, learnt_reads = await run(args.calls, args.concurrency, trust_seconds=1.0)
    print(f"calls {args.calls}, concurrency {args.concurrency}, SQLite")
    print(f"read before every call: {every:.2f} ms/call, {every_reads} reads")
    print(f"admitted from charges:  {learnt:.2f} ms/call, {learnt_reads} reads")
    print(f"ratio: {every / learnt:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
