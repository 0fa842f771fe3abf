"""Benchmark of constrained decoding on the embedded model: llama-cpp-python's grammar-first
chain against the grammar that checks the sampled token (agents/llm/grammar_sampler.py), and
llama-cpp-python's default generation threads (half the CPUs) against one per physical core
(agents/llm/cpu_cores.py). Same prompt, same schema (a bounded list of use cases), greedy, the
modes alternated; prints the median tokens/s of each and the ratios, and whether the checked
sampler produced the same text. Then prompt evaluation (800 tokens of docs/research.md) with and
without flash attention. Asserts nothing.

    .venv/bin/python -m bench.bench_grammar [--model default] [--runs 3] [--tokens 300]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from agents.llm.cpu_cores import generation_threads
from agents.llm.local import _sequence_state_llama, canonical_schema, schema_grammar
from agents.llm.local_models import ensure_model_file, select_model

SCHEMA = {
    "type": "object",
    "properties": {
        "use_cases": {
            "type": "array",
            "maxItems": 5,
            "items": {
                "type": "object",
                "properties": {
                    "title": {"type": "string", "maxLength": 60},
                    "description": {"type": "string", "maxLength": 240},
                    "impact": {"enum": ["High", "Medium", "Low"]},
                },
                "required": ["title", "description", "impact"],
            },
        }
    },
    "required": ["use_cases"],
}
MESSAGES = [
    {"role": "system", "content": "You answer in JSON."},
    {"role": "user", "content": "List five AI use cases for a mid-size freight company."},
]


def run(llama: Any, grammar: Any, max_tokens: int) -> tuple[float, str]:
    llama.reset()
    start = time.perf_counter()
    out = llama.create_chat_completion(
        messages=MESSAGES, max_tokens=max_tokens, temperature=0.0, grammar=grammar
    )
    seconds = time.perf_counter() - start
    return out["usage"]["completion_tokens"] / seconds, str(out["choices"][0]["message"]["content"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=300)
    args = parser.parse_args()
    from llama_cpp import Llama

    path = ensure_model_file(select_model(args.model), Path(tempfile.gettempdir()) / "qubitz-bench")
    grammar = schema_grammar(canonical_schema(SCHEMA))
    half = max(1, (os.cpu_count() or 2) // 2)
    cores = generation_threads()
    modes: dict[str, Any] = {
        f"grammar first, {half} thread(s) (llama-cpp-python's defaults)": Llama(
            model_path=str(path), n_ctx=2048, verbose=False
        ),
        f"grammar first, {cores} thread(s)": Llama(
            model_path=str(path), n_ctx=2048, n_threads=cores, verbose=False
        ),
        f"checked sampler, {cores} thread(s) (qubitz)": _sequence_state_llama()(
            model_path=str(path), n_ctx=2048, n_threads=cores, verbose=False
        ),
    }
    print(f"model {path.name}; {args.runs} runs per mode, max {args.tokens} tokens; "
          f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
    for llama in modes.values():
        run(llama, grammar, 8)  # warm-up
    speeds: dict[str, list[float]] = {m: [] for m in modes}
    texts: dict[str, str] = {}
    for _ in range(args.runs):
        for mode, llama in modes.items():
            speed, text = run(llama, grammar, args.tokens)
            speeds[mode].append(speed)
            texts.setdefault(mode, text)
    base = statistics.median(next(iter(speeds.values())))
    for mode, values in speeds.items():
        median = statistics.median(values)
        print(f"  {mode:<58} {median:5.1f} tok/s  ({median / base:.2f}x)  runs {values}")
    first, *rest = texts.values()
    valid = isinstance(json.loads(texts[list(modes)[-1]]), dict)
    same = all(t == first for t in rest)
    print(f"  same text in every mode: {same}; valid JSON: {valid}; load {os.getloadavg()[0]:.2f}")
    for llama in modes.values():
        llama.close()
    prompt_eval(path, args.runs)


def prompt_eval(path: Path, runs: int) -> None:
    from llama_cpp import Llama

    text = (Path(__file__).resolve().parents[1] / "docs" / "research.md").read_text()
    for flash in (False, True):
        llama = Llama(model_path=str(path), n_ctx=2048, flash_attn=flash, verbose=False)
        tokens = llama.tokenize(text.encode())[:800]
        speeds = []
        for _ in range(runs):
            llama.reset()
            start = time.perf_counter()
            llama.eval(tokens)
            speeds.append(len(tokens) / (time.perf_counter() - start))
        print(f"  prompt evaluation, flash_attn={flash!s:<5} {statistics.median(speeds):5.1f} tok/s"
              f"  runs {[round(v, 1) for v in speeds]}")  # fmt: skip
        llama.close()


if __name__ == "__main__":
    main()
