"""The `spec` settings group: the models a designed spec may use and the architect's limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from agents.llm.port import LLMRegistry
from agents.settings_model import Csv, SettingsGroup, env
from agents.spec.deps import DEFAULT_AGENT_MODEL, ReportLoader, SpecDeps
from agents.spec.store import SpecStore


@dataclass(frozen=True)
class SpecCollaborators:
    llms: LLMRegistry
    store: SpecStore
    load_report: ReportLoader


class SpecSettings(SettingsGroup):
    # The model each designed agent uses unless the task needs another
    default_model: str = env("QUBITZ_SPEC_DEFAULT_MODEL", default=DEFAULT_AGENT_MODEL)
    # Models offered to the architect (empty: the supported Bedrock ids)
    allowed_models: Csv = env("QUBITZ_SPEC_ALLOWED_MODELS", default=())
    # Limits
    max_repairs: int = env("QUBITZ_SPEC_MAX_REPAIRS", default=2, ge=0)
    report_chars: int = env("QUBITZ_SPEC_REPORT_CHARS", default=24_000, ge=1)

    def deps(
        self, uses: SpecCollaborators, *, gateway_provider: Literal["api_gateway", "local"]
    ) -> SpecDeps:
        """The /getspec and /updatespec dependencies under these settings."""
        optional: dict[str, Any] = {}
        if self.allowed_models:
            optional["allowed_models"] = self.allowed_models
        return SpecDeps(
            llms=uses.llms,
            store=uses.store,
            load_report=uses.load_report,
            default_model=self.default_model,
            gateway_provider=gateway_provider,
            max_repairs=self.max_repairs,
            report_char_budget=self.report_chars,
            **optional,
        )
