"""Service metrics on prometheus-client, one registry per app (several apps share a test process).

What is measured, and where it is recorded:
- connections, auth refusals, close codes, events and keepalives sent — server/session.py;
- jobs started, running, finished by route and outcome, job duration, queue wait — server/jobs.py;
- event send lag (event appended → written to a socket) — the socket pump;
- LLM time to first token, call duration, tokens in/out and cost by provider and model, and the
  provider's queue wait — server/llm_metrics.py, which wraps every model the pipelines get;
- process metrics (CPU, memory, open files) and Python platform info.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Buckets, in seconds. Jobs run from a second (app keys) to half an hour (deploys).
JOB_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600)
# Socket lag and queue waits: sub-millisecond on a quiet replica; a second is already bad.
LAG_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
# Time to first token: a hosted model answers in ~0.3-3 s, the embedded one after prompt eval.
TTFT_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)
WAIT_BUCKETS = (0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class Metrics:
    """The service's metrics. Methods name what happened; `render()` is the exposition text."""

    def __init__(self, *, process: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        if process:
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
        # Sockets
        self._open = Gauge(
            "qubitz_open_connections", "WebSocket connections currently open.", registry=r
        )
        self._connections = Counter(
            "qubitz_connections", "WebSocket connections accepted, by route.", ["route"], registry=r
        )
        self._auth_failures = Counter(
            "qubitz_auth_failures",
            "Connections refused by authentication, by reason.",
            ["reason"],
            registry=r,
        )
        self._closes = Counter(
            "qubitz_close_codes", "WebSocket closes sent, by code.", ["code"], registry=r
        )
        self._events = Counter("qubitz_events_sent", "Job events sent to clients.", registry=r)
        self._keepalives = Counter(
            "qubitz_keepalives_sent", "Keepalive events sent to clients.", registry=r
        )
        self._send_lag = Histogram(
            "qubitz_event_send_lag_seconds",
            "Time from an event's append to the event log to its write on a socket.",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        # Jobs
        self._jobs_running = Gauge(
            "qubitz_jobs_running", "Jobs running in this process, by route.", ["route"], registry=r
        )
        self._jobs_started = Counter(
            "qubitz_jobs_started", "Jobs started in this process, by route.", ["route"], registry=r
        )
        self._jobs = Counter(
            "qubitz_jobs",
            "Jobs finished in this process, by route and state.",
            ["route", "state"],
            registry=r,
        )
        self._job_duration = Histogram(
            "qubitz_job_duration_seconds",
            "Wall time of a job on the replica that finished it, by route and outcome.",
            ["route", "outcome"],
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self._job_queue_wait = Histogram(
            "qubitz_job_queue_wait_seconds",
            "Time from a job's submission to its start (the wait under a cap or quota), by route.",
            ["route"],
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        # LLM calls
        self._llm_ttft = Histogram(
            "qubitz_llm_time_to_first_token_seconds",
            "Time from an LLM call to its first text, by provider and model.",
            ["provider", "model"],
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self._llm_duration = Histogram(
            "qubitz_llm_call_duration_seconds",
            "Wall time of an LLM call, by provider, model and outcome.",
            ["provider", "model", "outcome"],
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self._llm_tokens = Counter(
            "qubitz_llm_tokens",
            "Tokens used by LLM calls, by provider, model and direction (input, output).",
            ["provider", "model", "direction"],
            registry=r,
        )
        self._llm_cost = Counter(
            "qubitz_llm_cost_usd",
            "Estimated cost of LLM calls in US dollars, by provider and model.",
            ["provider", "model"],
            registry=r,
        )
        self._llm_queue_wait = Histogram(
            "qubitz_llm_queue_wait_seconds",
            "Time an LLM call waited in the provider queue (the local model runs one at a time).",
            ["provider", "model"],
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self._llm_retries = Counter(
            "qubitz_llm_retries",
            "LLM attempts that failed and were retried, by provider and model.",
            ["provider", "model"],
            registry=r,
        )

    # Sockets
    def connection_opened(self, route: str) -> None:
        self._open.inc()
        self._connections.labels(route=route).inc()

    def connection_closed(self) -> None:
        self._open.dec()

    def auth_failed(self, reason: str) -> None:
        self._auth_failures.labels(reason=reason).inc()

    def closed_with(self, code: int) -> None:
        self._closes.labels(code=str(code)).inc()

    def events_sent(self, count: int, *, lag_seconds: float | None = None) -> None:
        self._events.inc(count)
        if lag_seconds is not None:
            self._send_lag.observe(max(0.0, lag_seconds))

    def keepalive_sent(self) -> None:
        self._keepalives.inc()

    # Jobs
    def job_started(self, route: str) -> None:
        self._jobs_started.labels(route=route).inc()
        self._jobs_running.labels(route=route).inc()

    def job_finished(
        self, route: str, state: str, *, duration_seconds: float | None = None
    ) -> None:
        self._jobs_running.labels(route=route).dec()
        self._jobs.labels(route=route, state=state).inc()
        if duration_seconds is not None:
            self._job_duration.labels(route=route, outcome=state).observe(duration_seconds)

    def job_waited(self, route: str, seconds: float) -> None:
        self._job_queue_wait.labels(route=route).observe(seconds)

    # LLM calls
    def llm_first_token(self, provider: str, model: str, seconds: float) -> None:
        self._llm_ttft.labels(provider=provider, model=model).observe(seconds)

    def llm_call_finished(self, provider: str, model: str, outcome: str, seconds: float) -> None:
        self._llm_duration.labels(provider=provider, model=model, outcome=outcome).observe(seconds)

    def llm_usage(
        self,
        provider: str,
        model: str,
        *,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float | None,
    ) -> None:
        self._llm_tokens.labels(provider=provider, model=model, direction="input").inc(input_tokens)
        self._llm_tokens.labels(provider=provider, model=model, direction="output").inc(
            output_tokens
        )
        if cost_usd:
            self._llm_cost.labels(provider=provider, model=model).inc(cost_usd)

    def llm_queue_wait(self, provider: str, model: str, seconds: float) -> None:
        self._llm_queue_wait.labels(provider=provider, model=model).observe(seconds)

    def llm_retried(self, provider: str, model: str) -> None:
        self._llm_retries.labels(provider=provider, model=model).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
