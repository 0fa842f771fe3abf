"""The OpenTelemetry SDK behind server/tracing.py (imported only when tracing is on).

A `TracerProvider` of our own (the global one is left alone, so libraries that trace by
themselves are not affected) with a `BatchSpanProcessor` and the OTLP/HTTP protobuf exporter.
The exporter and the processor read the standard variables themselves (OTEL_EXPORTER_OTLP_HEADERS,
_TIMEOUT, _COMPRESSION, OTEL_BSP_*); the resource reads OTEL_SERVICE_NAME and
OTEL_RESOURCE_ATTRIBUTES (service.name defaults to `qubitz`).

Span context travels in contextvars: the job span is current in the workflow's task, a step's
span in the step's task (created from it), so each model call's span finds its parent. Model
call spans are never made current (they end in the stream's `finally`, which may run in another
context after a cancel). Job and step attributes are copied onto the model call spans so each
can be found by job id or step on its own.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from agents.llm.port import CompletionRequest, CompletionResult
from server.spans import JobAttributes, JobSpan, LLMSpan

# What model calls inherit from the job and step they run in (qubitz.* attributes).
_inherited: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "qubitz_trace_attributes", default=MappingProxyType({})
)

# GenAI semantic conventions (gen_ai.*), plus qubitz.* for what they do not name.
PROVIDER_NAMES = {"anthropic": "anthropic", "bedrock": "aws.bedrock", "openai": "openai"}


class _Job:
    def __init__(self, span: Span) -> None:
        self._span = span

    def finished(self, state: str, error: str | None) -> None:
        self._span.set_attribute("qubitz.job.state", state)
        if error:
            self._span.set_attribute("qubitz.job.error", error)
        if state == "failed":
            self._span.set_status(Status(StatusCode.ERROR, error or "failed"))


class _LLMCall:
    def __init__(self, span: Span) -> None:
        self._span = span
        self._retries = 0
        self._waited = 0.0

    def completed(self, result: CompletionResult) -> None:
        usage = result.usage
        self._span.set_attributes(
            {
                "gen_ai.response.model": result.model,
                "gen_ai.response.finish_reasons": [result.stop_reason],
                "gen_ai.usage.input_tokens": usage.input_tokens,
                "gen_ai.usage.output_tokens": usage.output_tokens,
                "qubitz.llm.cache_read_tokens": usage.cache_read_tokens,
                "qubitz.llm.cache_write_tokens": usage.cache_write_tokens,
            }
        )
        if result.cost_usd is not None:
            self._span.set_attribute("qubitz.llm.cost_usd", result.cost_usd)

    def retried(self) -> None:
        self._retries += 1

    def waited(self, seconds: float) -> None:
        self._waited = max(self._waited, seconds)

    def end(self, outcome: str, error: BaseException | None = None) -> None:
        self._span.set_attribute("qubitz.llm.outcome", outcome)
        self._span.set_attribute("qubitz.llm.retries", self._retries)
        if self._waited:
            self._span.set_attribute("qubitz.llm.queue_wait_seconds", self._waited)
        if error is not None and outcome == "error":
            self._span.record_exception(error)
            self._span.set_attribute("error.type", type(error).__name__)
            self._span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        self._span.end()


class OtelTracing:
    enabled = True

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self._tracer = provider.get_tracer("qubitz")

    @classmethod
    def create(cls, endpoint: str, env: Mapping[str, str]) -> OtelTracing:
        resource = Resource.create()
        if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME: "qubitz"}))
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        return cls(provider)

    @contextlib.contextmanager
    def job(self, attributes: JobAttributes) -> Iterator[JobSpan]:
        inherited: dict[str, Any] = {
            "qubitz.job.id": attributes.job_id,
            "qubitz.endpoint": attributes.endpoint,
            "qubitz.workspace.id": attributes.workspace_id,
        }
        token = _inherited.set(inherited)
        try:
            with self._tracer.start_as_current_span(
                f"job {attributes.endpoint}",
                kind=SpanKind.INTERNAL,
                attributes={**inherited, "qubitz.job.resumed": attributes.resumed},
            ) as span:
                yield _Job(span)
        finally:
            _inherited.reset(token)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        inherited = {**_inherited.get(), "qubitz.step.name": name}
        token = _inherited.set(inherited)
        try:
            with self._tracer.start_as_current_span(f"step {name}", attributes=inherited):
                yield
        finally:
            _inherited.reset(token)

    def llm_call(self, provider: str, model: str, request: CompletionRequest) -> LLMSpan:
        attributes: dict[str, Any] = {
            **_inherited.get(),
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": PROVIDER_NAMES.get(provider, provider),
            "gen_ai.request.model": model,
            "gen_ai.request.max_tokens": request.max_tokens,
            "qubitz.llm.structured": request.json_schema is not None,
        }
        if request.temperature is not None:
            attributes["gen_ai.request.temperature"] = request.temperature
        span = self._tracer.start_span(
            f"llm {provider} {model}", kind=SpanKind.CLIENT, attributes=attributes
        )
        return _LLMCall(span)

    def shutdown(self) -> None:
        self.provider.shutdown()
