"""Benchmark of the embedded local model: tokens/s, time to first token, and the port's overhead.

For each installed model (light = Qwen2.5-Coder-0.5B, default = 1.5B; `--models` to choose) it
generates the same completion, alternately, straight through llama-cpp-python and through the
port (`LocalLLM.stream`: worker thread, queue, events) on the same loaded `Llama`, and prints
medians plus the ratio port/raw of seconds per token. Prints figures; asserts nothing.

    .venv/bin/python -m bench.bench_llm [--models light,default] [--tokens 128] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.llm.errors import LLMConfigurationError
from agents.llm.local import LocalLLM
from agents.llm.local_models import BUILTIN, availability, ensure_model_file
from agents.llm.port import Completed, CompletionRequest, Message, TextDelta

PROMPT = "Write a Python function that checks whether a string is a palindrome, with a docstring."


@dataclass
class Run:
    ttft: float
    seconds: float
    tokens: int

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    @property
    def per_token(self) -> float:
        # decoding time per token, after the first one
        return (self.seconds - self.ttft) / max(1, self.tokens - 1)


def raw_run(llama: Any, max_tokens: int) -> Run:
    start = time.perf_counter()
    ttft = 0.0
    tokens = 0
    for chunk in llama.create_chat_completion(
        messages=[{"role": "user", "content": PROMPT}],
        max_tokens=max_tokens,
        temperature=0.0,
        stream=True,
    ):
        if chunk["choices"][0]["delta"].get("content"):
            tokens += 1
            if tokens == 1:
                ttft = time.perf_counter() - start
    return Run(ttft, time.perf_counter() - start, tokens)


async def port_run(llm: LocalLLM, max_tokens: int) -> Run:
    request = CompletionRequest(
        system="", messages=[Message("user", PROMPT)], max_tokens=max_tokens, temperature=0.0
    )
    start = time.perf_counter()
    ttft = 0.0
    tokens = 0
    async for event in llm.stream(request):
        if isinstance(event, TextDelta):
            tokens += 1
            if tokens == 1:
                ttft = time.perf_counter() - start
        elif isinstance(event, Completed):
            pass
    return Run(ttft, time.perf_counter() - start, tokens)


def summarise(label: str, runs: list[Run]) -> dict[str, float]:
    figures = {
        "ttft_s": statistics.median(r.ttft for r in runs),
        "tokens_per_s": statistics.median(r.tokens_per_s for r in runs),
        "s_per_token": statistics.median(r.per_token for r in runs),
        "tokens": statistics.median(r.tokens for r in runs),
    }
    print(
        f"  {label:<5} ttft {figures['ttft_s'] * 1000:7.1f} ms   "
        f"{figures['tokens_per_s']:6.1f} tok/s   {figures['s_per_token'] * 1000:6.2f} ms/token   "
        f"({figures['tokens']:.0f} tokens)"
    )
    return figures


async def bench_model(key: str, data_dir: Path, max_tokens: int, runs: int) -> None:
    from llama_cpp import Llama

    source = BUILTIN[key]
    usable, reason = availability(source, data_dir)
    print(f"\n== {key}: {source.name}")
    if not usable:
        print(f"  skipped: {reason}")
        return
    t0 = time.perf_counter()
    try:
        path = await asyncio.to_thread(ensure_model_file, source, data_dir)
    except LLMConfigurationError as exc:
        print(f"  refused: {exc.message}")
        return
    print(f"  model file ready (join + sha256) in {time.perf_counter() - t0:.1f} s: {path}")
    t0 = time.perf_counter()
    llama = Llama(model_path=str(path), n_ctx=2048, verbose=False)
    print(f"  loaded in {time.perf_counter() - t0:.1f} s")
    llm = LocalLLM(source, data_dir=data_dir, n_ctx=2048, loader=lambda _p: llama)
    try:
        await asyncio.to_thread(raw_run, llama, 8)  # warm-up
        await port_run(llm, 8)
        raw: list[Run] = []
        port: list[Run] = []
        for _ in range(runs):
            raw.append(await asyncio.to_thread(raw_run, llama, max_tokens))
            port.append(await port_run(llm, max_tokens))
        r = summarise("raw", raw)
        p = summarise("port", port)
        print(
            f"  port/raw per-token ratio {p['s_per_token'] / r['s_per_token']:.3f}   "
            f"ttft ratio {p['ttft_s'] / r['ttft_s']:.3f}"
        )
    finally:
        llm.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="light,default")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-llm-"))
    print(f"data dir {data_dir}; {args.tokens} tokens; median of {args.runs} runs")
    for key in args.models.split(","):
        asyncio.run(bench_model(key.strip(), data_dir, args.tokens, args.runs))


if __name__ == "__main__":
    main()
