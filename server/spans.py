"""What a tracing backend records about a job and a model call (server/tracing.py is the
switch, server/otel.py the OpenTelemetry backend; both import these, neither the other's
internals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agents.llm.port import CompletionResult


@dataclass(frozen=True)
class JobAttributes:
    job_id: str
    endpoint: str
    workspace_id: str
    resumed: bool = False


class JobSpan(Protocol):
    def finished(self, state: str, error: str | None) -> None:
        """The job's end on this replica: its state (succeeded, failed, ...) and error code."""


class LLMSpan(Protocol):
    def completed(self, result: CompletionResult) -> None: ...

    def retried(self) -> None: ...

    def waited(self, seconds: float) -> None: ...

    def end(self, outcome: str, error: BaseException | None = None) -> None: ...
