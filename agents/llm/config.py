"""The `llm` settings group: which provider and model serves each role, and how to reach each.

server/settings.py reads the environment into `LLMConfig` once (`llm_config_from_env` does the
same from a mapping, for tools and tests); nothing here reads `os.environ`. Provider modules
declare what they need from it (agents/llm/provider_spec.py). The variables (docs/llm.md):

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
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from agents.llm.errors import LLMConfigurationError
from agents.llm.port import Role
from agents.settings_model import SettingsGroup, describe_errors, env, without_empty

Provider = Literal["anthropic", "bedrock", "openai", "local"]
PROVIDERS: tuple[Provider, ...] = ("anthropic", "bedrock", "openai", "local")
StructuredMode = Literal["json_schema", "json_object", "prompt"]

ANTHROPIC_DEFAULT_MODEL = "claude-sonnet-4-6"
BEDROCK_DEFAULT_MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
_DEFAULT_MODELS: dict[str, str] = {
    "anthropic": ANTHROPIC_DEFAULT_MODEL,
    "bedrock": BEDROCK_DEFAULT_MODEL,
    "openai": "",
}
_ROLE_NAMES = tuple(
    name for role in Role for name in (f"QUBITZ_LLM_{role.name}", f"QUBITZ_MODEL_{role.name}")
)


class RoleModel(SettingsGroup):
    provider: Provider
    model: str


class LLMConfig(SettingsGroup):
    """The `llm` settings group: which provider and model serves each role, and each provider's
    connection settings (see the module docstring)."""

    extra_env_names = ("QUBITZ_LLM", "QUBITZ_MODEL", *_ROLE_NAMES)

    # The local model's files live here (set from the server group's data dir).
    data_dir: Path = Path(".qubitz")
    roles: dict[Role, RoleModel] = Field(default_factory=dict)
    # Retries and timeouts
    timeout: float = env("QUBITZ_LLM_TIMEOUT", default=600.0, gt=0)
    max_attempts: int = env("QUBITZ_LLM_MAX_ATTEMPTS", default=4, ge=1)
    # Anthropic
    anthropic_api_key: str | None = env("ANTHROPIC_API_KEY", repr=False)
    anthropic_base_url: str | None = env("ANTHROPIC_BASE_URL")
    # Bedrock
    bedrock_region: str | None = env("QUBITZ_BEDROCK_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")
    bedrock_endpoint_url: str | None = env("QUBITZ_BEDROCK_ENDPOINT_URL")
    aws_access_key_id: str | None = env("AWS_ACCESS_KEY_ID", repr=False)
    aws_secret_access_key: str | None = env("AWS_SECRET_ACCESS_KEY", repr=False)
    aws_session_token: str | None = env("AWS_SESSION_TOKEN", repr=False)
    aws_profile: str | None = env("AWS_PROFILE")
    # OpenAI-compatible
    openai_base_url: str | None = env("QUBITZ_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    openai_api_key: str | None = env("QUBITZ_OPENAI_API_KEY", "OPENAI_API_KEY", repr=False)
    openai_structured: StructuredMode = env("QUBITZ_OPENAI_STRUCTURED", default="json_schema")
    openai_context_window: int = env("QUBITZ_OPENAI_CONTEXT_WINDOW", default=8192, gt=0)
    # Local
    local_model: str = env("QUBITZ_LOCAL_MODEL", default="default")
    local_n_ctx: int = env("QUBITZ_LOCAL_CTX", default=8192, gt=0)
    local_threads: int | None = env("QUBITZ_LOCAL_THREADS", gt=0)
    # RAM for evaluated prompt prefixes kept across calls (0: off)
    local_prompt_cache_mb: int = env("QUBITZ_LOCAL_PROMPT_CACHE_MB", default=512, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _choose_roles(cls, data: Any) -> Any:
        """QUBITZ_LLM / QUBITZ_LLM_<ROLE> and QUBITZ_MODEL / QUBITZ_MODEL_<ROLE> → `roles`."""
        if not isinstance(data, Mapping) or "roles" in data:
            return data
        values = {k: v.strip() for k, v in data.items() if isinstance(v, str) and v.strip()}
        default = _provider(
            "QUBITZ_LLM",
            values.get("QUBITZ_LLM")
            or ("anthropic" if values.get("ANTHROPIC_API_KEY") else "local"),
        )
        local_model = values.get("QUBITZ_LOCAL_MODEL") or "default"
        roles: dict[Role, RoleModel] = {}
        for role in Role:
            name = f"QUBITZ_LLM_{role.name}"
            provider = _provider(name, values.get(name) or default)
            model = values.get(f"QUBITZ_MODEL_{role.name}")
            if model is None and provider == default:
                model = values.get("QUBITZ_MODEL")
            fallback = local_model if provider == "local" else _DEFAULT_MODELS[provider]
            roles[role] = RoleModel(provider=provider, model=model or fallback)
        return {**data, "roles": roles}

    @field_validator("local_threads", mode="before")
    @classmethod
    def _threads(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    def for_role(self, role: Role) -> RoleModel:
        return self.roles[role]


def llm_config_from_env(env: Mapping[str, str], data_dir: Path) -> LLMConfig:
    """Read the LLM configuration from `env` (see the module docstring). Raises
    LLMConfigurationError naming the variable when a value is invalid."""
    try:
        return LLMConfig.model_validate({**without_empty(env), "data_dir": data_dir})
    except ValidationError as exc:
        raise LLMConfigurationError(describe_errors(exc), provider="config") from exc


def _provider(name: str, value: str) -> Provider:
    lowered = value.lower()
    if lowered == "openai-compatible":
        lowered = "openai"
    for provider in PROVIDERS:
        if lowered == provider:
            return provider
    raise ValueError(f"{name}={value!r}: expected one of {', '.join(PROVIDERS)}")
