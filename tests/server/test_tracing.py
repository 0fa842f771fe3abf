"""OpenTelemetry traces of a real job: one root span per job, a child per durable step, a
grandchild per model call, exported by OTLP/HTTP to a loopback collector that decodes the
protobuf wire format; and nothing of OpenTelemetry is imported when no endpoint is set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from qubitz_client import QubitzClient

from agents.protocol import Scope
from server.tracing import NO_TRACING, traces_endpoint, tracing_from_env
from tests.conftest import make_settings, mint
from tests.llm.anthropic_peer import AnthropicPeer, Reply, error_body
from tests.support.anthropic_spec import GETSPEC, overloaded_then_design, spec_wiring
from tests.support.otlp_collector import OtlpCollector
from tests.support.server import run_server

ROOT = Path(__file__).resolve().parents[2]
SPAN_KIND_CLIENT = 3
STATUS_ERROR = 2


@pytest.mark.anyio
@pytest.mark.allow_model_requests
async def test_a_job_exports_its_job_step_and_model_call_spans(tmp_path: Path) -> None:
    with OtlpCollector() as collector:
        settings = make_settings(
            tmp_path / "data",
            OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint,
        )
        async with AnthropicPeer() as peer:
            overloaded_then_design(peer)
            with run_server(settings, spec_wiring(peer)) as srv:
                key = mint(srv, Scope.CONTROL_HUB, workspace="ws-traced")
                async with QubitzClient(srv.http, key) as client:
                    stream = client.get_spec(**GETSPEC)
                    final = await stream.result()
                    job_id = stream.job_id
            # the server has stopped: its shutdown exported what was still batched
    assert final.type == "architecture"
    spans = collector.spans
    by_name: dict[str, list[Any]] = {}
    for span in spans:
        by_name.setdefault(span.name.split(" ")[0], []).append(span)
    assert sorted(by_name) == ["job", "llm", "step"], [s.name for s in spans]
    [job], steps, calls = by_name["job"], by_name["step"], by_name["llm"]

    assert job.name == "job getspec" and job.parent_id == ""
    assert job.attributes["qubitz.job.id"] == job_id
    assert job.attributes["qubitz.endpoint"] == "getspec"
    assert job.attributes["qubitz.workspace.id"] == "ws-traced"
    assert job.attributes["qubitz.job.state"] == "succeeded"
    assert job.resource["service.name"] == "qubitz"

    # getspec's durable steps (agents/spec/sequence.py), each a child of the job's span
    step_by_name = {st.attributes["qubitz.step.name"]: st for st in steps}
    assert sorted(step_by_name) == ["begin", "design", "store", "validate"]
    for name, st in step_by_name.items():
        assert st.name == f"step {name}" and st.parent_id == job.span_id
        assert st.attributes["qubitz.job.id"] == job_id

    assert len(calls) == 2  # the rationale (after one retry) in `design`, the spec in `validate`
    calls.sort(key=lambda s: s.start_ns)
    for call, step_name in zip(calls, ["design", "validate"], strict=True):
        assert call.parent_id == step_by_name[step_name].span_id
        assert call.trace_id == job.trace_id
        assert call.kind == SPAN_KIND_CLIENT
        assert call.attributes["gen_ai.provider.name"] == "anthropic"
        assert call.attributes["qubitz.job.id"] == job_id
        assert call.attributes["qubitz.workspace.id"] == "ws-traced"
        assert call.attributes["qubitz.step.name"] == step_name
        assert call.attributes["qubitz.llm.outcome"] == "ok"
    rationale, design = calls
    assert rationale.attributes["qubitz.llm.retries"] == 1
    assert rationale.attributes["gen_ai.usage.input_tokens"] == 40
    assert rationale.attributes["gen_ai.usage.output_tokens"] == 17
    assert design.attributes["qubitz.llm.retries"] == 0
    assert design.attributes["qubitz.llm.structured"] is True
    assert design.attributes["gen_ai.usage.input_tokens"] == 90
    assert design.attributes["gen_ai.usage.output_tokens"] == 60
    assert rationale.attributes["gen_ai.request.model"] == design.attributes["gen_ai.request.model"]
    assert {s.trace_id for s in spans} == {job.trace_id}
    assert all(s.start_ns <= s.end_ns for s in spans)


@pytest.mark.anyio
@pytest.mark.allow_model_requests
async def test_a_failed_job_span_has_error_status(tmp_path: Path) -> None:
    with OtlpCollector() as collector:
        settings = make_settings(tmp_path / "data", OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint)
        async with AnthropicPeer() as peer:
            peer.enqueue(*[Reply(status=500, body=error_body("api_error", "boom"))] * 3)
            with run_server(settings, spec_wiring(peer)) as srv:
                async with QubitzClient(srv.http, mint(srv, Scope.CONTROL_HUB)) as client:
                    events = await client.get_spec(**GETSPEC).events()
    assert events[-1].type == "error"
    [job] = [s for s in collector.spans if s.name == "job getspec"]
    assert job.attributes["qubitz.job.state"] == "failed"
    assert job.status_code == STATUS_ERROR
    calls = [s for s in collector.spans if s.name.startswith("llm ")]
    assert calls and all(c.attributes["qubitz.llm.outcome"] == "error" for c in calls)
    [design] = [s for s in collector.spans if s.name == "step design"]
    assert design.parent_id == job.span_id
    assert all(c.status_code == STATUS_ERROR and c.parent_id == design.span_id for c in calls)


def test_no_endpoint_no_opentelemetry_import() -> None:
    """Unset, tracing is the no-op object and the app imports nothing of OpenTelemetry."""
    code = (
        "import sys\n"
        "from server.app import create_app\n"
        "import server.wiring, server.jobs, server.llm_metrics, server.durable.steps\n"
        "from server.settings import load_settings\n"
        "from server.tracing import NO_TRACING, tracing_from_env\n"
        "assert tracing_from_env(load_settings({}).env) is NO_TRACING\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_traces_endpoint_follows_the_otlp_variables() -> None:
    assert traces_endpoint({}) is None
    assert traces_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}) == (
        "http://c:4318/v1/traces"
    )
    specific = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:9/custom",
    }
    assert traces_endpoint(specific) == "http://t:9/custom"
    disabled = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}
    assert tracing_from_env(disabled) is NO_TRACING
