"""LLM configuration: which provider and model serves each role, read once from a mapping.

`llm_config_from_env(env, data_dir)` is called once by the server's settings with the process
environment; nothing here reads `os.environ`. The variables (see docs/llm.md):

  QUBITZ_LLM                    provider for every role: anthropic | bedrock | openai | local
                                (default: anthropic when ANTHROPIC_API_KEY is set, else local)
  QUBITZ_LLM_<ROLE>             provider for one role (PLANNER, RESEARCHER, WRITER, ANALYST,
                                CHAT, ARCHITECT)
  QUBITZ_MODEL                  model for every role served by QUBITZ_LLM's provider
  QUBITZ_MODEL_<ROLE>           model for one role
  QUBITZ_LLM_TIMEOUT            seconds one attempt may take (default 600)
  QUBITZ_LLM_MAX_ATTEMPTS       attempts per call incl. retries (default 4)
  ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL
  QUBITZ_BEDROCK_REGION (or AWS_REGION / AWS_DEFAULT_REGION), QUBITZ_BEDROCK_ENDPOINT_URL,
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE
  QUBITZ_OPENAI_BASE_URL (or OPENAI_BASE_URL), QUBITZ_OPENAI_API_KEY (or OPENAI_API_KEY),
  QUBITZ_OPENAI_STRUCTURED (json_schema | json_object | prompt), QUBITZ_OPENAI_CONTEXT_WINDOW
  QUBITZ_LOCAL_MODEL            default | light | tiny | /path/to/model.gguf (default: default)
  QUBITZ_LOCAL_CTX              context window of the local model (default 8192)
  QUBITZ_LOCAL_THREADS          llama.cpp threads (default: llama.cpp's choice)
  QUBITZ_LOCAL_PROMPT_CACHE_MB  RAM for evaluated prompt prefixes kept across calls (default 512,
                                0 = off)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

from agents.llm.errors import LLMConfigurationError
from agents.llm.port import Role

Provider = Literal["anthropic", "bedrock", "openai", "local"]
PROVIDERS: tuple[Provider, ...] = ("anthropic", "bedrock", "openai", "local")
StructuredMode = Literal["json_schema", "json_object", "prompt"]

ANTHROPIC_DEFAULT_MODEL = "claude-sonnet-4-6"
BEDROCK_DEFAULT_MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"


@dataclass(frozen=True)
class RoleModel:
    provider: Provider
    model: str


@dataclass(frozen=True)
class LLMConfig:
    data_dir: Path
    roles: Mapping[Role, RoleModel]
    # Retries and timeouts
    timeout: float = 600.0
    max_attempts: int = 4
    # Anthropic
    anthropic_api_key: str | None = field(default=None, repr=False)
    anthropic_base_url: str | None = None
    # Bedrock
    bedrock_region: str | None = None
    bedrock_endpoint_url: str | None = None
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)
    aws_profile: str | None = None
    # OpenAI-compatible
    openai_base_url: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)
    openai_structured: StructuredMode = "json_schema"
    openai_context_window: int = 8192
    # Local
    local_model: str = "default"
    local_n_ctx: int = 8192
    local_threads: int | None = None
    local_prompt_cache_mb: int = 512

    def for_role(self, role: Role) -> RoleModel:
        return self.roles[role]


def llm_config_from_env(env: Mapping[str, str], data_dir: Path) -> LLMConfig:
    """Read the LLM configuration from `env` (see the module docstring). Raises
    LLMConfigurationError naming the variable when a value is invalid."""

    def get(name: str, *fallbacks: str) -> str | None:
        for key in (name, *fallbacks):
            value = env.get(key, "").strip()
            if value:
                return value
        return None

    anthropic_key = get("ANTHROPIC_API_KEY")
    default_provider = _provider(
        "QUBITZ_LLM", get("QUBITZ_LLM") or ("anthropic" if anthropic_key else "local")
    )
    local_model = get("QUBITZ_LOCAL_MODEL") or "default"
    global_model = get("QUBITZ_MODEL")
    roles: dict[Role, RoleModel] = {}
    for role in Role:
        suffix = role.value.upper()
        provider = _provider(
            f"QUBITZ_LLM_{suffix}", get(f"QUBITZ_LLM_{suffix}") or default_provider
        )
        model = get(f"QUBITZ_MODEL_{suffix}")
        if model is None and provider == default_provider:
            model = global_model
        roles[role] = RoleModel(provider, model or _default_model(provider, local_model))
    return LLMConfig(
        data_dir=data_dir,
        roles=roles,
        timeout=_number("QUBITZ_LLM_TIMEOUT", get("QUBITZ_LLM_TIMEOUT"), 600.0),
        max_attempts=int(_number("QUBITZ_LLM_MAX_ATTEMPTS", get("QUBITZ_LLM_MAX_ATTEMPTS"), 4)),
        anthropic_api_key=anthropic_key,
        anthropic_base_url=get("ANTHROPIC_BASE_URL"),
        bedrock_region=get("QUBITZ_BEDROCK_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
        bedrock_endpoint_url=get("QUBITZ_BEDROCK_ENDPOINT_URL"),
        aws_access_key_id=get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=get("AWS_SESSION_TOKEN"),
        aws_profile=get("AWS_PROFILE"),
        openai_base_url=get("QUBITZ_OPENAI_BASE_URL", "OPENAI_BASE_URL"),
        openai_api_key=get("QUBITZ_OPENAI_API_KEY", "OPENAI_API_KEY"),
        openai_structured=_structured(get("QUBITZ_OPENAI_STRUCTURED") or "json_schema"),
        openai_context_window=int(
            _number("QUBITZ_OPENAI_CONTEXT_WINDOW", get("QUBITZ_OPENAI_CONTEXT_WINDOW"), 8192)
        ),
        local_model=local_model,
        local_n_ctx=int(_number("QUBITZ_LOCAL_CTX", get("QUBITZ_LOCAL_CTX"), 8192)),
        local_threads=(
            int(_number("QUBITZ_LOCAL_THREADS", threads, 0))
            if (threads := get("QUBITZ_LOCAL_THREADS"))
            else None
        ),
        local_prompt_cache_mb=(
            0
            if (cache_mb := get("QUBITZ_LOCAL_PROMPT_CACHE_MB")) in {"0", "0.0"}
            else int(_number("QUBITZ_LOCAL_PROMPT_CACHE_MB", cache_mb, 512))
        ),
    )


def _provider(name: str, value: str) -> Provider:
    lowered = value.lower()
    if lowered == "openai-compatible":
        lowered = "openai"
    if lowered not in PROVIDERS:
        raise LLMConfigurationError(
            f"{name}={value!r}: expected one of {', '.join(PROVIDERS)}", provider=value
        )
    return lowered


def _structured(value: str) -> StructuredMode:
    if value not in ("json_schema", "json_object", "prompt"):
        raise LLMConfigurationError(
            f"QUBITZ_OPENAI_STRUCTURED={value!r}: expected json_schema, json_object or prompt",
            provider="openai",
        )
    return cast(StructuredMode, value)


def _number(name: str, value: str | None, default: float) -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError as exc:
        raise LLMConfigurationError(f"{name}={value!r}: expected a number") from exc
    if number <= 0:
        raise LLMConfigurationError(f"{name}={value!r}: must be positive")
    return number


def _default_model(provider: Provider, local_model: str) -> str:
    return {
        "anthropic": ANTHROPIC_DEFAULT_MODEL,
        "bedrock": BEDROCK_DEFAULT_MODEL,
        "openai": "",
        "local": local_model,
    }[provider]


# The registry and model status live in agents/llm/registry.py; re-exported here for callers.
from agents.llm.registry import (  # noqa: E402
    LLMProviderRegistry,
    ModelStatus,
    build_registry,
    describe_models,
)

__all__ = [
    "LLMConfig",
    "LLMProviderRegistry",
    "ModelStatus",
    "RoleModel",
    "build_registry",
    "describe_models",
    "llm_config_from_env",
]
