"""Process metrics in the Prometheus text exposition format (no client library needed)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable


def _labels(**labels: str) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}" if inner else ""


class Metrics:
    def __init__(self) -> None:
        self.open_connections = 0
        self.events_sent = 0
        self.keepalives_sent = 0
        self.auth_failures: Counter[str] = Counter()
        self.connections_total: Counter[str] = Counter()
        self.close_codes: Counter[int] = Counter()
        self.jobs_started: Counter[str] = Counter()
        self.jobs_finished: Counter[tuple[str, str]] = Counter()
        self.jobs_running: Counter[str] = Counter()
        self._collectors: list[Callable[[], list[str]]] = []

    def job_started(self, route: str) -> None:
        self.jobs_started[route] += 1
        self.jobs_running[route] += 1

    def job_finished(self, route: str, state: str) -> None:
        self.jobs_running[route] -= 1
        self.jobs_finished[(route, state)] += 1

    def add_collector(self, collector: Callable[[], list[str]]) -> None:
        """Other parts (LLM usage, research) add their own lines in exposition format."""
        self._collectors.append(collector)

    def render(self) -> str:
        out = [
            "# HELP qubitz_open_connections WebSocket connections currently open.",
            "# TYPE qubitz_open_connections gauge",
            f"qubitz_open_connections {self.open_connections}",
            "# HELP qubitz_events_sent_total Job events sent to clients.",
            "# TYPE qubitz_events_sent_total counter",
            f"qubitz_events_sent_total {self.events_sent}",
            "# HELP qubitz_keepalives_sent_total Keepalive events sent to clients.",
            "# TYPE qubitz_keepalives_sent_total counter",
            f"qubitz_keepalives_sent_total {self.keepalives_sent}",
            "# HELP qubitz_auth_failures_total Connections refused by authentication, by reason.",
            "# TYPE qubitz_auth_failures_total counter",
        ]
        out += [
            f"qubitz_auth_failures_total{_labels(reason=r)} {n}"
            for r, n in sorted(self.auth_failures.items())
        ]
        out += [
            "# HELP qubitz_connections_total WebSocket connections accepted, by route.",
            "# TYPE qubitz_connections_total counter",
        ]
        out += [
            f"qubitz_connections_total{_labels(route=r)} {n}"
            for r, n in sorted(self.connections_total.items())
        ]
        out += [
            "# HELP qubitz_close_codes_total WebSocket closes sent, by code.",
            "# TYPE qubitz_close_codes_total counter",
        ]
        out += [
            f"qubitz_close_codes_total{_labels(code=str(c))} {n}"
            for c, n in sorted(self.close_codes.items())
        ]
        out += [
            "# HELP qubitz_jobs_running Jobs running in this process, by route.",
            "# TYPE qubitz_jobs_running gauge",
        ]
        out += [
            f"qubitz_jobs_running{_labels(route=r)} {n}"
            for r, n in sorted(self.jobs_running.items())
        ]
        out += [
            "# HELP qubitz_jobs_total Jobs finished in this process, by route and state.",
            "# TYPE qubitz_jobs_total counter",
        ]
        out += [
            f"qubitz_jobs_total{_labels(route=r, state=s)} {n}"
            for (r, s), n in sorted(self.jobs_finished.items())
        ]
        for collector in self._collectors:
            out += collector()
        return "\n".join(out) + "\n"
