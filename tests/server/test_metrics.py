"""Metrics: prometheus-client families, and the LLM wrapper that feeds them."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from agents.llm.errors import LLMError
from agents.llm.port import (
    CompletionRequest,
    Message,
    QueueWait,
    Role,
    StaticRegistry,
    TextDelta,
    Usage,
    complete,
)
from server.llm_metrics import InstrumentedRegistry
from server.metrics import Metrics
from tests.support.scripted_llm import Reply, ScriptedLLM

pytestmark = pytest.mark.anyio

REQUEST = CompletionRequest(system="s", messages=[Message("user", "hi")])


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics).get((name, frozenset(labels.items())), 0.0)


def test_job_duration_histogram_by_route_and_outcome() -> None:
    m = Metrics(process=False)
    m.job_started("research")
    m.job_finished("research", "succeeded", duration_seconds=42.0)
    m.job_started("deploy")
    assert value(m, "qubitz_jobs_running", route="deploy") == 1
    assert value(m, "qubitz_jobs_running", route="research") == 0
    assert value(m, "qubitz_jobs_total", route="research", state="succeeded") == 1
    count = "qubitz_job_duration_seconds_count"
    assert value(m, count, route="research", outcome="succeeded") == 1
    # 42 s falls in the 60 s bucket, not the 30 s one
    bucket = "qubitz_job_duration_seconds_bucket"
    assert value(m, bucket, route="research", outcome="succeeded", le="30.0") == 0
    assert value(m, bucket, route="research", outcome="succeeded", le="60.0") == 1


def test_socket_counters_and_send_lag() -> None:
    m = Metrics(process=False)
    m.connection_opened("chat")
    m.connection_opened("chat")
    m.connection_closed()
    m.auth_failed("unknown")
    m.closed_with(1008)
    m.events_sent(3, lag_seconds=0.002)
    m.keepalive_sent()
    assert value(m, "qubitz_open_connections") == 1
    assert value(m, "qubitz_connections_total", route="chat") == 2
    assert value(m, "qubitz_auth_failures_total", reason="unknown") == 1
    assert value(m, "qubitz_close_codes_total", code="1008") == 1
    assert value(m, "qubitz_events_sent_total") == 3
    assert value(m, "qubitz_keepalives_sent_total") == 1
    assert value(m, "qubitz_event_send_lag_seconds_count") == 1
    assert value(m, "qubitz_event_send_lag_seconds_bucket", le="0.001") == 0
    assert value(m, "qubitz_event_send_lag_seconds_bucket", le="0.0025") == 1


def test_process_metrics_are_exported() -> None:
    names = {name for name, _ in samples(Metrics())}
    assert "process_cpu_seconds_total" in names
    assert "python_info" in names


async def test_llm_calls_record_first_token_tokens_cost_and_outcome() -> None:
    m = Metrics(process=False)
    llm = ScriptedLLM().enqueue(Reply(text="abcdefghij", usage=Usage(100, 7)))
    registry = InstrumentedRegistry(StaticRegistry(default=llm), m)
    model = registry.for_role(Role.WRITER)
    assert model.provider == "scripted" and model.model == "scripted-model"
    result = await complete(model, REQUEST)
    assert result.text == "abcdefghij"
    labels = {"provider": "scripted", "model": "scripted-model"}
    assert value(m, "qubitz_llm_tokens_total", direction="input", **labels) == 100
    assert value(m, "qubitz_llm_tokens_total", direction="output", **labels) == 7
    assert value(m, "qubitz_llm_time_to_first_token_seconds_count", **labels) == 1
    assert value(m, "qubitz_llm_call_duration_seconds_count", outcome="ok", **labels) == 1


async def test_failed_llm_call_is_counted_as_error_and_reraised() -> None:
    m = Metrics(process=False)
    llm = ScriptedLLM().enqueue(Reply(error=LLMError("boom", provider="scripted")))
    registry = InstrumentedRegistry(StaticRegistry(default=llm), m)
    with pytest.raises(LLMError):
        await complete(registry.for_role(Role.WRITER), REQUEST)
    labels = {"provider": "scripted", "model": "scripted-model", "outcome": "error"}
    assert value(m, "qubitz_llm_call_duration_seconds_count", **labels) == 1
    assert (
        value(
            m,
            "qubitz_llm_time_to_first_token_seconds_count",
            provider="scripted",
            model="scripted-model",
        )
        == 0
    )


async def test_queue_wait_reported_by_the_provider_is_observed() -> None:
    m = Metrics(process=False)

    class Queued(ScriptedLLM):
        async def stream(self, request: CompletionRequest):  # type: ignore[no-untyped-def]
            yield QueueWait(position=2, waited_seconds=0.5)
            yield QueueWait(position=1, waited_seconds=3.0)
            async for event in super().stream(request):
                yield event

    llm = Queued().enqueue("ok")
    await complete(
        InstrumentedRegistry(StaticRegistry(default=llm), m).for_role(Role.WRITER), REQUEST
    )
    labels = {"provider": "scripted", "model": "scripted-model"}
    assert value(m, "qubitz_llm_queue_wait_seconds_count", **labels) == 1
    assert value(m, "qubitz_llm_queue_wait_seconds_sum", **labels) == 3.0
    assert isinstance(TextDelta("x"), TextDelta)
