"""Build the LLM for each role from an `LLMConfig`, and tell which configured models are usable
and what each can do (its declared capabilities; nothing is built for that).

One provider instance per (provider, model): roles that share a model share its instance, so the
embedded model is loaded once and serves one generation at a time across all roles. Which
provider does what is read from each provider module's `DECLARATION`
(agents/llm/provider_spec.py); nothing here names a provider's settings.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import httpx

from agents.llm.config import PROVIDERS, LLMConfig, Provider
from agents.llm.errors import LLMConfigurationError
from agents.llm.port import LLM, Capabilities, Role
from agents.llm.provider_spec import BuildContext, ProviderDeclaration
from agents.llm.retry import RetryPolicy

# The module that declares each provider; imported on first use (SDKs load only when chosen).
MODULES: dict[Provider, str] = {
    "anthropic": "agents.llm.anthropic_api",
    "bedrock": "agents.llm.bedrock",
    "openai": "agents.llm.openai_compat",
    "local": "agents.llm.local",
}
assert set(MODULES) == set(PROVIDERS)


@dataclass(frozen=True)
class ModelStatus:
    provider: str
    model: str
    usable: bool
    reason: str
    roles: tuple[str, ...] = ()
    capabilities: Capabilities | None = None  # None: the provider's package is not installed


def declaration(provider: Provider) -> ProviderDeclaration:
    """The provider's declaration; LLMConfigurationError when its package is not installed."""
    try:
        module = importlib.import_module(MODULES[provider])
    except ImportError as exc:
        raise LLMConfigurationError(
            f"{exc.name or 'a package'} is not installed (needed by the {provider} provider)",
            provider=provider,
        ) from exc
    declared = module.DECLARATION
    assert isinstance(declared, ProviderDeclaration) and declared.name == provider
    return declared


class LLMProviderRegistry:
    """An `LLMRegistry` (agents/llm/port.py) over configured providers; close it on shutdown."""

    def __init__(self, by_role: dict[Role, LLM]) -> None:
        self._by_role = by_role

    def for_role(self, role: Role) -> LLM:
        return self._by_role[role]

    async def aclose(self) -> None:
        seen: set[int] = set()
        for llm in self._by_role.values():
            if id(llm) in seen:
                continue
            seen.add(id(llm))
            aclose = getattr(llm, "aclose", None)
            if aclose is not None:
                await aclose()
            close = getattr(llm, "close", None)
            if close is not None:
                close()


def build_registry(
    config: LLMConfig, *, http_client: httpx.AsyncClient | None = None
) -> LLMProviderRegistry:
    """The LLM for every role. `http_client` serves the OpenAI-compatible provider (the anthropic
    SDK brings its own client). Raises LLMConfigurationError for a provider that cannot be built
    (missing key, base URL or package); a local model's weights are checked on first use."""
    instances: dict[tuple[str, str], LLM] = {}
    by_role: dict[Role, LLM] = {}
    retry = RetryPolicy(max_attempts=config.max_attempts)
    for role in Role:
        choice = config.for_role(role)
        key = (choice.provider, choice.model)
        if key not in instances:
            declared = declaration(choice.provider)
            problem = declared.problem(config, choice.model)
            if problem:
                raise LLMConfigurationError(problem, provider=choice.provider)
            llm = declared.build(BuildContext(config, choice.model, retry, http_client))
            assert isinstance(llm, LLM)
            instances[key] = llm
        by_role[role] = instances[key]
    return LLMProviderRegistry(by_role)


def describe_models(config: LLMConfig) -> list[ModelStatus]:
    """One status per configured (provider, model), with the roles it serves; no network calls."""
    grouped: dict[tuple[Provider, str], list[str]] = {}
    for role in Role:
        choice = config.for_role(role)
        grouped.setdefault((choice.provider, choice.model), []).append(role.value)
    statuses: list[ModelStatus] = []
    for (provider, model), roles in grouped.items():
        try:
            declared = declaration(provider)
        except LLMConfigurationError as exc:
            statuses.append(ModelStatus(provider, model, False, exc.message, tuple(roles)))
            continue
        can = declared.capabilities(config, model)
        problem = declared.problem(config, model)
        if problem:
            statuses.append(ModelStatus(provider, model, False, problem, tuple(roles), can))
            continue
        usable, why = declared.usable(config, model)
        reason = why or declared.where(config)
        label = declared.label(model)
        statuses.append(ModelStatus(provider, label, usable, reason, tuple(roles), can))
    return statuses
