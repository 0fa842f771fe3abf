"""What the stream accumulator and the tracing hooks cost per model call and per streamed event.

A model that streams `--events` text deltas and a result with no I/O is read `--calls` times
each way: straight from `llm.stream`, through `ModelStream` (agents/llm/stream.py), through the
metrics wrapper with tracing off (`NO_TRACING`, the default), and with tracing on (the SDK with
a batch processor feeding an in-memory exporter, so no network is timed). Prints microseconds
per call and per event, medians of `--rounds`; asserts nothing.

    .venv/bin/python -m bench.bench_tracing [--calls 2000] [--events 50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from agents.llm.stream import ModelStream
from bench.canned_llm import REQUEST, CannedLLM
from server.llm_metrics import InstrumentedLLM
from server.metrics import Metrics
from server.tracing import NO_TRACING, Tracing


def sdk_tracing() -> Tracing | None:
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        from server.otel import OtelTracing
    except ImportError:
        return None
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(InMemorySpanExporter()))
    return OtelTracing(provider)


async def timed(calls: int, one: Callable[[], Coroutine[Any, Any, None]]) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        await one()
    return (time.perf_counter() - start) / calls


async def main(args: argparse.Namespace) -> None:
    llm = CannedLLM(args.events)
    metrics = Metrics()
    ways: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {}

    async def raw() -> None:
        async for _ in llm.stream(REQUEST):
            pass

    async def accumulated() -> None:
        async for _ in ModelStream(llm, REQUEST):
            pass

    def through(wrapper: InstrumentedLLM) -> Callable[[], Coroutine[Any, Any, None]]:
        async def run() -> None:
            async for _ in wrapper.stream(REQUEST):
                pass

        return run

    ways["llm.stream (raw)"] = raw
    ways["ModelStream"] = accumulated
    ways["metrics wrapper, tracing off"] = through(InstrumentedLLM(llm, metrics, NO_TRACING))
    sdk = sdk_tracing()
    if sdk is not None:
        ways["metrics wrapper, tracing on"] = through(InstrumentedLLM(llm, metrics, sdk))
    results: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, way in ways.items():
            results[name].append(await timed(args.calls, way))
    base = statistics.median(results["llm.stream (raw)"])
    print(f"{args.calls} calls x {args.events} events, median of {args.rounds} rounds")
    print(f"{'way':32} {'us/call':>9} {'us/event':>9} {'+us/call vs raw':>16}")
    for name, values in results.items():
        per_call = statistics.median(values)
        print(
            f"{name:32} {per_call * 1e6:9.1f} {per_call * 1e6 / (args.events + 1):9.2f} "
            f"{(per_call - base) * 1e6:16.1f}"
        )
    if sdk is None:
        print("(tracing on not measured: pip install 'qubitz[otel]')")
    else:
        sdk.shutdown()
    loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
    print(f"opentelemetry modules loaded by this run: {len(loaded)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
