"""Optional OpenTelemetry traces: one span per job, per durable step, per LLM call.

On when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, with
the `otel` extra installed: `tracing_from_env` then returns the SDK-backed tracing of
server/otel.py, which exports by OTLP/HTTP (protobuf) in batches. Unset, it returns
`NO_TRACING`, whose spans do nothing, and opentelemetry is never imported.

Spans (attributes in docs/operations.md):

    job <endpoint>                 the job's run on this replica (JobRunner.execute)
    ├── step <name>                each durable step that runs (ctx.step; not a replayed one)
    │   └── llm <provider> <model> each model call (server/llm_metrics.InstrumentedLLM)
    └── llm <provider> <model>     model calls outside any step
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Protocol

from agents.llm.port import CompletionRequest, CompletionResult
from server.spans import JobAttributes, JobSpan, LLMSpan

__all__ = ["NO_TRACING", "JobAttributes", "JobSpan", "LLMSpan", "Tracing", "tracing_from_env"]


class Tracing(Protocol):
    enabled: bool

    def job(self, attributes: JobAttributes) -> contextlib.AbstractContextManager[JobSpan]:
        """The job's root span, current for everything the job runs."""

    def step(self, name: str) -> contextlib.AbstractContextManager[None]:
        """A durable step's span (a child of the job's), current while the step runs."""

    def llm_call(self, provider: str, model: str, request: CompletionRequest) -> LLMSpan:
        """A started span for one model call (a child of the current span); `end()` ends it."""

    def shutdown(self) -> None:
        """Export what is buffered and stop (blocking; call it in a thread)."""


class _NoSpan:
    def finished(self, state: str, error: str | None) -> None:
        pass

    def completed(self, result: CompletionResult) -> None:
        pass

    def retried(self) -> None:
        pass

    def waited(self, seconds: float) -> None:
        pass

    def end(self, outcome: str, error: BaseException | None = None) -> None:
        pass


_NO_SPAN = _NoSpan()


class _NoTracing:
    """Tracing off: every span is a shared no-op object."""

    enabled = False

    @contextlib.contextmanager
    def job(self, attributes: JobAttributes) -> Iterator[JobSpan]:
        yield _NO_SPAN

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        yield

    def llm_call(self, provider: str, model: str, request: CompletionRequest) -> LLMSpan:
        return _NO_SPAN

    def shutdown(self) -> None:
        pass


NO_TRACING: Tracing = _NoTracing()

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


class TracingUnavailable(RuntimeError):
    """An OTLP endpoint is configured but the `otel` extra is not installed."""


def traces_endpoint(env: Mapping[str, str]) -> str | None:
    """Where spans go: the traces endpoint as given, or `<endpoint>/v1/traces`; None if unset."""
    specific = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if specific:
        return specific
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if base:
        return base.rstrip("/") + "/v1/traces"
    return None


def tracing_from_env(env: Mapping[str, str]) -> Tracing:
    """The SDK-backed tracing when an OTLP endpoint is set, else NO_TRACING."""
    endpoint = traces_endpoint(env)
    if endpoint is None or env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return NO_TRACING
    try:
        from server.otel import OtelTracing
    except ImportError as exc:
        raise TracingUnavailable(
            f"{ENDPOINT_VARIABLES[1]} is set but OpenTelemetry is not installed: "
            "pip install 'qubitz[otel]'"
        ) from exc
    return OtelTracing.create(endpoint, env)


async def shutdown_tracing(tracing: Tracing) -> None:
    """`tracing.shutdown()` in a thread of its own (the loop's default executor belongs to the
    durable engine, which has stopped by then); nothing at all when tracing is off."""
    if not tracing.enabled:
        return
    done = asyncio.get_running_loop().create_future()

    def run() -> None:
        try:
            tracing.shutdown()
        finally:
            done.get_loop().call_soon_threadsafe(done.set_result, None)

    threading.Thread(target=run, name="otel-shutdown", daemon=True).start()
    await done
