"""What durable steps cost per job: a /research job on a real server (its own process, SQLite,
DBOS) with its stages as durable steps, against the same job run as one step (as before the
pipelines were split). The models are the product's OpenAICompatibleLLM against the paced
loopback peer bench/model_peer.py (run in this process, so its CPU is not the server's); PDFs
are stubbed (bench_research.stub_pdf).

    .venv/bin/python -m bench.bench_steps --jobs 6 --rounds 4              # models answer at once
    .venv/bin/python -m bench.bench_steps --jobs 3 --rounds 4 --delay 0.02 # 20 ms per delta

Per job: wall time connect → close (client side), and the server process's CPU time (from
/proc, over the measured jobs, divided by their number). Rounds alternate the two modes (a
fresh server each), so that drift on a shared machine hits both. `--delay` paces the model
(seconds per streamed 8-character delta); 0 is the worst case for the steps (a job of nothing
but overhead).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import connect

from bench.bench_ws import Proc, cpu_seconds, mint
from bench.model_peer import paced_model

PAYLOAD = {
    "prompt": "AI adoption in banking and fraud detection",
    "company_name": "BenchCompany",
    "company_url": "https://example.com/",
    "user_id": "bench",
    "session_id": "bench",
}
QUESTIONS = 3  # the peer's plan: 3 questions → 10 durable steps per job


async def one_job(url: str) -> float:
    started = time.perf_counter()
    last: dict[str, object] = {}
    async with connect(url, max_size=None, open_timeout=30) as ws:
        await ws.send(json.dumps(PAYLOAD))
        async for raw in ws:
            last = json.loads(raw)
    if last.get("type") != "complete":
        raise RuntimeError(f"the job did not complete: {last}")
    return time.perf_counter() - started


def measure(tmp: Path, mode: str, count: int, model_url: str) -> tuple[list[float], float]:
    """Wall time of each job, and the server's CPU seconds per job."""
    data = tmp / f"data-{mode}"
    data.mkdir(parents=True)
    key = mint(data, "uct")
    server = Proc("research", str(data), mode, model_url)
    try:
        server.wait_ready()
        url = f"ws://127.0.0.1:{server.port}/research?api_key={key}"
        for _ in range(2):  # warm-up: imports, corpus index, first workflow
            asyncio.run(one_job(url))
        before = cpu_seconds(server.proc.pid)
        walls = [asyncio.run(one_job(url)) for _ in range(count)]
        time.sleep(0.3)  # the last batched writes
        return walls, (cpu_seconds(server.proc.pid) - before) / count
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    walls: dict[str, list[float]] = {"one-step": [], "steps": []}
    cpus: dict[str, list[float]] = {"one-step": [], "steps": []}
    with (
        tempfile.TemporaryDirectory() as tmp,
        paced_model(questions=QUESTIONS, delay=args.delay) as model_url,
    ):
        for r in range(args.rounds):
            for mode in ("one-step", "steps") if r % 2 == 0 else ("steps", "one-step"):
                got, cpu = measure(Path(tmp) / str(r), mode, args.jobs, model_url)
                walls[mode].extend(got)
                cpus[mode].append(cpu)
    print(f"research job, paced loopback model (delay {args.delay}s/delta), SQLite, "
          f"{args.rounds} rounds x {args.jobs} jobs per mode")  # fmt: skip
    print(f"{'mode':>9} {'wall p50 ms':>12} {'wall mean ms':>13} {'server cpu/job ms':>18}")
    means: dict[str, tuple[float, float]] = {}
    for mode in walls:
        means[mode] = (statistics.fmean(walls[mode]), statistics.fmean(cpus[mode]))
        print(
            f"{mode:>9} {statistics.median(walls[mode]) * 1e3:>12.1f} "
            f"{means[mode][0] * 1e3:>13.1f} {means[mode][1] * 1e3:>18.1f}"
        )
    wall_ratio = means["steps"][0] / means["one-step"][0]
    cpu_ratio = means["steps"][1] / means["one-step"][1]
    print(f"durable steps / one step: wall {wall_ratio:.3f}x, cpu {cpu_ratio:.3f}x (goal <= 1.10)")


if __name__ == "__main__":
    main()
