"""What a provider module declares about itself, so the registry needs no per-provider code.

Each provider module (anthropic_api, bedrock, openai_compat, local) ends with a `DECLARATION`:
its name, what a model of it can do (`capabilities`, from the `llm` settings group alone: known
without building the provider, e.g. for `qubitz models` or to choose a model), what it needs
from the group, how to build one model from it, and how to tell whether a configured model is
usable here. agents/llm/registry.py reads them.

The declared capabilities are the only source: a provider's constructor computes its own with
the same function of the module (`capabilities_for`), and tests/llm/test_config.py checks that
every built provider reports what its declaration says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from agents.llm.config import LLMConfig
from agents.llm.port import LLM, Capabilities
from agents.llm.retry import RetryPolicy


@dataclass(frozen=True)
class BuildContext:
    config: LLMConfig
    model: str
    retry: RetryPolicy
    http_client: httpx.AsyncClient | None  # the shared client for HTTP providers, if given


def _always_usable(_config: LLMConfig, _model: str) -> tuple[bool, str]:
    return True, ""


@dataclass(frozen=True)
class ProviderDeclaration:
    name: str  # the value of QUBITZ_LLM / QUBITZ_LLM_<ROLE> that selects it
    # What a model of this provider can do under these settings (no network, nothing built).
    capabilities: Callable[[LLMConfig, str], Capabilities]
    # Why this (config, model) cannot be built here, naming the variable to set ("" when it can).
    problem: Callable[[LLMConfig, str], str]
    build: Callable[[BuildContext], LLM]
    # Where calls go, shown by `qubitz models` and `qubitz doctor` (no network calls).
    where: Callable[[LLMConfig], str]
    # Whether the model can run here beyond its settings (weights present…), and why not.
    usable: Callable[[LLMConfig, str], tuple[bool, str]] = _always_usable
    # The label `qubitz models` shows for a model (e.g. the local model's file name).
    label: Callable[[str], str] = str
