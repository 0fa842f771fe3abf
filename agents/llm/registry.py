"""Build the LLM for each role from an `LLMConfig`, and tell which configured models are usable.

One provider instance per (provider, model): roles that share a model share its instance, so the
embedded model is loaded once and serves one generation at a time across all roles.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from agents.llm.errors import LLMConfigurationError
from agents.llm.port import LLM, Role

if TYPE_CHECKING:
    from agents.llm.config import LLMConfig, RoleModel


@dataclass(frozen=True)
class ModelStatus:
    provider: str
    model: str
    usable: bool
    reason: str
    roles: tuple[str, ...] = ()


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
    for role in Role:
        choice = config.for_role(role)
        key = (choice.provider, choice.model)
        if key not in instances:
            instances[key] = _build(config, choice, http_client)
        by_role[role] = instances[key]
    return LLMProviderRegistry(by_role)


def _build(config: LLMConfig, choice: RoleModel, http_client: httpx.AsyncClient | None) -> LLM:
    from agents.llm.retry import RetryPolicy

    retry = RetryPolicy(max_attempts=config.max_attempts)
    problem = _problem(config, choice)
    if problem:
        raise LLMConfigurationError(problem, provider=choice.provider)
    llm: Any
    if choice.provider == "anthropic":
        from agents.llm.anthropic_api import AnthropicLLM

        llm = AnthropicLLM(
            model=choice.model,
            api_key=config.anthropic_api_key,
            base_url=config.anthropic_base_url,
            retry=retry,
            timeout=config.timeout,
        )
    elif choice.provider == "bedrock":
        from agents.llm.bedrock import BedrockLLM

        llm = BedrockLLM(
            model=choice.model,
            region=config.bedrock_region,
            endpoint_url=config.bedrock_endpoint_url,
            aws_access_key_id=config.aws_access_key_id,
            aws_secret_access_key=config.aws_secret_access_key,
            aws_session_token=config.aws_session_token,
            profile=config.aws_profile,
            retry=retry,
            timeout=config.timeout,
        )
    elif choice.provider == "openai":
        from agents.llm.openai_compat import OpenAICompatibleLLM

        assert config.openai_base_url is not None
        llm = OpenAICompatibleLLM(
            base_url=config.openai_base_url,
            model=choice.model,
            api_key=config.openai_api_key,
            http_client=http_client,
            structured_mode=config.openai_structured,
            retry=retry,
            timeout=config.timeout,
            context_window=config.openai_context_window,
        )
    else:
        from agents.llm.local import LocalLLM
        from agents.llm.local_models import select_model

        llm = LocalLLM(
            select_model(choice.model),
            data_dir=config.data_dir,
            n_ctx=config.local_n_ctx,
            n_threads=config.local_threads,
            timeout=config.timeout,
            prompt_cache_bytes=config.local_prompt_cache_mb * 2**20,
        )
    assert isinstance(llm, LLM)
    return llm


def _problem(config: LLMConfig, choice: RoleModel) -> str:
    """Why this provider cannot be built here ("" when it can)."""
    if choice.provider == "anthropic":
        if not config.anthropic_api_key:
            return "ANTHROPIC_API_KEY is not set"
    elif choice.provider == "bedrock":
        if importlib.util.find_spec("boto3") is None:
            return 'boto3 is not installed (pip install "qubitz[aws]")'
        if not config.bedrock_region:
            return "no AWS region: set QUBITZ_BEDROCK_REGION or AWS_REGION"
    elif choice.provider == "openai":
        if not config.openai_base_url:
            return "QUBITZ_OPENAI_BASE_URL is not set"
        if not choice.model:
            return "no model: set QUBITZ_MODEL (or QUBITZ_MODEL_<ROLE>) for the openai provider"
    elif choice.provider == "local":
        from agents.llm.local_models import select_model

        try:
            select_model(choice.model)
        except LLMConfigurationError as exc:
            return exc.message
    return ""


def describe_models(config: LLMConfig) -> list[ModelStatus]:
    """One status per configured (provider, model), with the roles it serves; no network calls."""
    from agents.llm.local_models import availability, select_model

    grouped: dict[tuple[str, str], list[str]] = {}
    for role in Role:
        choice = config.for_role(role)
        grouped.setdefault((choice.provider, choice.model), []).append(role.value)
    statuses: list[ModelStatus] = []
    for (provider, model), roles in grouped.items():
        from agents.llm.config import RoleModel

        problem = _problem(config, RoleModel(provider, model))  # type: ignore[arg-type]
        if problem:
            statuses.append(ModelStatus(provider, model, False, problem, tuple(roles)))
            continue
        if provider == "local":
            if importlib.util.find_spec("llama_cpp") is None:
                usable, reason = (
                    False,
                    'llama-cpp-python is not installed (pip install "qubitz[local]")',
                )
            else:
                source = select_model(model)
                usable, reason = availability(source, config.data_dir)
                model = f"{model} ({source.name})" if source.name != model else model
        else:
            usable, reason = True, _where(config, provider)
        statuses.append(ModelStatus(provider, model, usable, reason, tuple(roles)))
    return statuses


def _where(config: LLMConfig, provider: str) -> str:
    if provider == "anthropic":
        return f"API key set; {config.anthropic_base_url or 'api.anthropic.com'}"
    if provider == "bedrock":
        return f"region {config.bedrock_region}"
    return f"server {config.openai_base_url}"
