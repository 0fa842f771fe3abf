"""Collaborators and settings of the /getspec and /updatespec pipelines."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from agents.llm.port import LLMRegistry
from agents.spec.schema import BEDROCK_MODELS, is_known_model
from agents.spec.store import SpecStore

DEFAULT_AGENT_MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"

ReportLoader = Callable[[str, str], Awaitable[str]]
"""(url, workspace_id) -> report text; raises a QubitzError (e.g. NotFound) when unavailable."""


def _default_models() -> tuple[str, ...]:
    return tuple(sorted(BEDROCK_MODELS))


@dataclass(frozen=True)
class SpecDeps:
    llms: LLMRegistry  # Role.ARCHITECT is used
    store: SpecStore
    load_report: ReportLoader
    # The model each designed agent uses unless the task needs another (QUBITZ_SPEC_DEFAULT_MODEL).
    default_model: str = DEFAULT_AGENT_MODEL
    # Models offered to the architect; each must pass schema.is_known_model.
    allowed_models: tuple[str, ...] = field(default_factory=_default_models)
    # The gateway a generated spec targets: "api_gateway" (AWS) or "local".
    gateway_provider: Literal["api_gateway", "local"] = "api_gateway"
    # Limits
    max_repairs: int = 2
    report_char_budget: int = 24_000
    rationale_max_tokens: int = 240  # the prompt asks for at most 120 words
    plan_max_tokens: int = 220  # /updatespec's plan: at most 120 words
    spec_max_tokens: int = 4_000  # the grammar caps every string, see llm_format
    edit_max_tokens: int = 2_500
    # A stream_chunk carries what the model wrote in up to this many seconds (or chars).
    stream_window: float = 1.0
    stream_chunk_chars: int = 240
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        models = self.allowed_models
        if self.default_model not in models:
            object.__setattr__(self, "allowed_models", (self.default_model, *models))
        for model in self.allowed_models:
            if not is_known_model(model):
                raise ValueError(f"{model!r} is not a supported agent model id")
        if not 0 <= self.max_repairs <= 5:
            raise ValueError("max_repairs must be between 0 and 5")
