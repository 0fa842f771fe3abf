"""Every environment variable qubitz reads, read once into a frozen object.

Precedence: explicit arguments (CLI flags) > environment variables > defaults. Nothing else in
the code base reads the environment: domain factories receive values from here.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from agents.llm.config import LLMConfig, llm_config_from_env
from server.research_settings import (
    ResearchSettingsError,
    ResearchWebSettings,
    research_web_settings,
)

T = TypeVar("T")


class SettingsError(ValueError):
    """An environment variable has a value qubitz cannot use."""


def _parse(
    env: Mapping[str, str], name: str, default: T, convert: Callable[[str], T], what: str
) -> T:
    """The variable converted, its default when unset or empty, or an error naming it."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return convert(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from exc


def _to_bool(raw: str) -> bool:
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ValueError(raw)


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    return _parse(env, name, default, float, "a number")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return _parse(env, name, default, int, "an integer")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    return _parse(env, name, default, _to_bool, "true or false")


def _csv(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in env.get(name, "").split(",") if p.strip())


@dataclass(frozen=True)
class Settings:
    # Where and how to serve
    host: str = "127.0.0.1"
    port: int = 8008
    data_dir: Path = Path(".qubitz")
    public_url: str = ""  # base URL clients use to reach this service; derived when empty
    # Backends
    database_url: str = ""  # default: SQLite file in data_dir
    redis_url: str | None = None  # event log on Redis Streams (several replicas)
    storage: str = "local"  # local | s3
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_prefix: str = ""
    s3_url_style: str = "presigned"  # presigned | public
    s3_presign_ttl: int = 3600
    deploy_target: str = "local"  # local | github_aws
    # Timeouts
    keepalive_interval: float = 15.0
    idle_timeout: float = 3600.0
    first_message_timeout: float = 30.0
    shutdown_grace: float = 5.0
    # Limits
    max_message_bytes: int = 8 * 1024 * 1024
    connect_rate_per_minute: float = 60.0
    connect_burst: int = 20
    coalesce_window: float = 0.04
    max_running_jobs: int = 64
    # Logging
    log_level: str = "info"
    log_json: bool = False
    # Domain configuration
    corpus_dir: Path | None = None
    research_concurrency: int = 3
    deny_rules: tuple[str, ...] = ()
    report_hosts: tuple[str, ...] = ()
    fetch_allow_private: bool = False
    chat_token_limit: int = 250_000
    github_token: str | None = None
    github_org: str | None = None
    github_api_url: str = "https://api.github.com"
    aws_role_arn: str | None = None
    aws_permissions_boundary_arn: str | None = None
    github_collaborator_permission: str = "pull"
    github_environment_reviewers: tuple[str, ...] = ()
    cdk_qualifier: str = "hnb659fds"
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    cdk_cli: tuple[str, ...] = ()
    replica_id: str = ""
    # Models
    llm: LLMConfig | None = None
    # Artifacts (local store)
    artifact_url_secret: str | None = None
    artifact_url_ttl: int = 7 * 24 * 3600
    # Research
    research_max_query_chars: int = 4000
    # Outbound fetches (company URLs, report URLs)
    fetch_max_bytes: int = 5 * 1024 * 1024
    fetch_timeout: float = 20.0
    fetch_max_redirects: int = 5
    # Chat
    chat_max_token_limit: int = 10_000_000
    chat_max_output_tokens: int = 2048
    chat_report_max_tokens: int = 8192
    chat_web_search: bool = True
    chat_web_search_max_uses: int = 5
    # Specs
    spec_default_model: str = "anthropic.claude-sonnet-4-5-20250929-v1:0"
    spec_allowed_models: tuple[str, ...] = ()
    spec_max_repairs: int = 2
    spec_report_chars: int = 24_000
    # Deploy
    deploy_synth_timeout: float = 300.0
    deploy_model_base_url: str | None = None
    deploy_model_name: str | None = None
    deploy_model_api_key: str | None = None
    deploy_run_tests: bool = True
    deploy_swap_grace: float = 5.0
    deploy_health_timeout: float = 30.0
    deploy_poll_seconds: float = 5.0
    # App keys and the local gateway
    appkeys_default_rate: float = 10.0
    appkeys_default_burst: int = 20
    appkeys_default_quota: int = 0
    appkeys_default_quota_period: str = "MONTH"
    gateway_key_cache_seconds: float = 5.0
    gateway_connect_timeout: float = 5.0
    gateway_upstream_timeout: float = 60.0
    gateway_max_connections: int = 200
    apigw_calls_per_second: float = 5.0
    apigw_max_attempts: int = 6
    # Research: web search providers, reading politeness, depth limits (research_settings.py)
    research_web: ResearchWebSettings = field(default_factory=ResearchWebSettings)
    # Security (docs/security.md)
    auth_fail_rate_per_minute: float = 10.0
    auth_fail_burst: int = 20
    revocation_poll_interval: float = 0.5
    metrics_token: str | None = None
    workspace_daily_tokens: int = 5_000_000
    model_proxy_rate_per_minute: float = 60.0
    model_proxy_max_concurrent: int = 2
    model_proxy_shared_slots: int = 2
    model_proxy_max_body_bytes: int = 1024 * 1024
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'qubitz.db').resolve()}"

    @property
    def resolved_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in {"0.0.0.0", "::", ""} else self.host
        return f"http://{host}:{self.port}"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read the environment once. `overrides` (CLI flags) win over the environment."""
    from agents.llm.errors import LLMConfigurationError

    try:
        return _load(dict(os.environ if env is None else env), **overrides)
    except LLMConfigurationError as exc:
        raise SettingsError(exc.message) from exc
    except ResearchSettingsError as exc:
        raise SettingsError(str(exc)) from exc


def _load(env: dict[str, str], **overrides: Any) -> Settings:
    data_dir = Path(overrides.pop("data_dir", None) or env.get("QUBITZ_DATA_DIR", ".qubitz"))
    storage = env.get("QUBITZ_STORAGE", "s3" if env.get("QUBITZ_S3_BUCKET") else "local")
    if storage not in {"local", "s3"}:
        raise SettingsError(f"QUBITZ_STORAGE must be local or s3, got {storage!r}")
    if storage == "s3" and not env.get("QUBITZ_S3_BUCKET"):
        raise SettingsError("QUBITZ_STORAGE=s3 needs QUBITZ_S3_BUCKET")
    target = env.get("QUBITZ_DEPLOY_TARGET", "local")
    if target not in {"local", "github_aws"}:
        raise SettingsError(f"QUBITZ_DEPLOY_TARGET must be local or github_aws, got {target!r}")
    url_style = env.get("QUBITZ_S3_URL_STYLE", "presigned")
    if url_style not in {"presigned", "public"}:
        raise SettingsError(f"QUBITZ_S3_URL_STYLE must be presigned or public, got {url_style!r}")
    corpus = env.get("QUBITZ_CORPUS_DIR")
    cdk_cli = tuple(env.get("QUBITZ_CDK_CLI", "").split()) or ()
    settings = Settings(
        host=env.get("QUBITZ_HOST", "127.0.0.1"),
        port=_int(env, "QUBITZ_PORT", 8008),
        data_dir=data_dir,
        public_url=env.get("QUBITZ_PUBLIC_URL", ""),
        database_url=env.get("QUBITZ_DATABASE_URL", ""),
        redis_url=env.get("QUBITZ_REDIS_URL") or None,
        storage=storage,
        s3_bucket=env.get("QUBITZ_S3_BUCKET") or None,
        s3_endpoint_url=env.get("QUBITZ_S3_ENDPOINT_URL") or None,
        s3_region=env.get("QUBITZ_S3_REGION") or None,
        s3_prefix=env.get("QUBITZ_S3_PREFIX", ""),
        s3_url_style=url_style,
        s3_presign_ttl=_int(env, "QUBITZ_S3_PRESIGN_TTL", 3600),
        deploy_target=target,
        keepalive_interval=_float(env, "QUBITZ_KEEPALIVE_INTERVAL", 15.0),
        idle_timeout=_float(env, "QUBITZ_IDLE_TIMEOUT", 3600.0),
        first_message_timeout=_float(env, "QUBITZ_FIRST_MESSAGE_TIMEOUT", 30.0),
        shutdown_grace=_float(env, "QUBITZ_SHUTDOWN_GRACE", 5.0),
        max_message_bytes=_int(env, "QUBITZ_MAX_MESSAGE_BYTES", 8 * 1024 * 1024),
        connect_rate_per_minute=_float(env, "QUBITZ_CONNECT_RATE_PER_MINUTE", 60.0),
        connect_burst=_int(env, "QUBITZ_CONNECT_BURST", 20),
        coalesce_window=_float(env, "QUBITZ_COALESCE_WINDOW", 0.04),
        max_running_jobs=_int(env, "QUBITZ_MAX_RUNNING_JOBS", 64),
        log_level=env.get("QUBITZ_LOG_LEVEL", "info"),
        log_json=_bool(env, "QUBITZ_LOG_JSON", False),
        corpus_dir=Path(corpus) if corpus else None,
        research_concurrency=_int(env, "QUBITZ_RESEARCH_CONCURRENCY", 3),
        deny_rules=_csv(env, "QUBITZ_DENY_RULES"),
        report_hosts=_csv(env, "QUBITZ_REPORT_HOSTS"),
        fetch_allow_private=_bool(env, "QUBITZ_FETCH_ALLOW_PRIVATE", False),
        chat_token_limit=_int(env, "QUBITZ_CHAT_TOKEN_LIMIT", 250_000),
        github_token=env.get("QUBITZ_GITHUB_TOKEN") or env.get("GITHUB_TOKEN") or None,
        github_org=env.get("QUBITZ_GITHUB_ORG") or None,
        github_api_url=env.get("QUBITZ_GITHUB_API_URL", "https://api.github.com"),
        aws_role_arn=env.get("QUBITZ_AWS_ROLE_ARN") or None,
        aws_permissions_boundary_arn=env.get("QUBITZ_AWS_PERMISSIONS_BOUNDARY_ARN") or None,
        github_collaborator_permission=env.get("QUBITZ_GITHUB_COLLABORATOR_PERMISSION", "pull"),
        github_environment_reviewers=_csv(env, "QUBITZ_GITHUB_ENVIRONMENT_REVIEWERS"),
        cdk_qualifier=env.get("QUBITZ_CDK_QUALIFIER", "hnb659fds"),
        aws_region=env.get("QUBITZ_AWS_REGION", env.get("AWS_REGION", "us-east-1")),
        aws_endpoint_url=env.get("QUBITZ_AWS_ENDPOINT_URL") or None,
        cdk_cli=cdk_cli,
        replica_id=env.get("QUBITZ_REPLICA_ID") or socket.gethostname(),
        llm=llm_config_from_env(env, data_dir),
        artifact_url_secret=env.get("QUBITZ_ARTIFACT_URL_SECRET") or None,
        artifact_url_ttl=_int(env, "QUBITZ_ARTIFACT_URL_TTL", 7 * 24 * 3600),
        research_max_query_chars=_int(env, "QUBITZ_RESEARCH_MAX_QUERY_CHARS", 4000),
        fetch_max_bytes=_int(env, "QUBITZ_FETCH_MAX_BYTES", 5 * 1024 * 1024),
        fetch_timeout=_float(env, "QUBITZ_FETCH_TIMEOUT", 20.0),
        fetch_max_redirects=_int(env, "QUBITZ_FETCH_MAX_REDIRECTS", 5),
        chat_max_token_limit=_int(env, "QUBITZ_CHAT_MAX_TOKEN_LIMIT", 10_000_000),
        chat_max_output_tokens=_int(env, "QUBITZ_CHAT_MAX_OUTPUT_TOKENS", 2048),
        chat_report_max_tokens=_int(env, "QUBITZ_CHAT_REPORT_MAX_TOKENS", 8192),
        chat_web_search=_bool(env, "QUBITZ_CHAT_WEB_SEARCH", True),
        chat_web_search_max_uses=_int(env, "QUBITZ_CHAT_WEB_SEARCH_MAX_USES", 5),
        spec_default_model=env.get(
            "QUBITZ_SPEC_DEFAULT_MODEL", "anthropic.claude-sonnet-4-5-20250929-v1:0"
        ),
        spec_allowed_models=_csv(env, "QUBITZ_SPEC_ALLOWED_MODELS"),
        spec_max_repairs=_int(env, "QUBITZ_SPEC_MAX_REPAIRS", 2),
        spec_report_chars=_int(env, "QUBITZ_SPEC_REPORT_CHARS", 24_000),
        deploy_synth_timeout=_float(env, "QUBITZ_DEPLOY_SYNTH_TIMEOUT", 300.0),
        deploy_model_base_url=env.get("QUBITZ_DEPLOY_MODEL_BASE_URL") or None,
        deploy_model_name=env.get("QUBITZ_DEPLOY_MODEL_NAME") or None,
        deploy_model_api_key=env.get("QUBITZ_DEPLOY_MODEL_API_KEY") or None,
        deploy_run_tests=_bool(env, "QUBITZ_DEPLOY_RUN_TESTS", True),
        deploy_swap_grace=_float(env, "QUBITZ_DEPLOY_SWAP_GRACE_SECONDS", 5.0),
        deploy_health_timeout=_float(env, "QUBITZ_DEPLOY_HEALTH_TIMEOUT", 30.0),
        deploy_poll_seconds=_float(env, "QUBITZ_DEPLOY_POLL_SECONDS", 5.0),
        appkeys_default_rate=_float(env, "QUBITZ_APPKEYS_DEFAULT_RATE", 10.0),
        appkeys_default_burst=_int(env, "QUBITZ_APPKEYS_DEFAULT_BURST", 20),
        appkeys_default_quota=_int(env, "QUBITZ_APPKEYS_DEFAULT_QUOTA", 0),
        appkeys_default_quota_period=env.get("QUBITZ_APPKEYS_DEFAULT_QUOTA_PERIOD", "MONTH"),
        gateway_key_cache_seconds=_float(env, "QUBITZ_GATEWAY_KEY_CACHE_SECONDS", 5.0),
        gateway_connect_timeout=_float(env, "QUBITZ_GATEWAY_CONNECT_TIMEOUT", 5.0),
        gateway_upstream_timeout=_float(env, "QUBITZ_GATEWAY_UPSTREAM_TIMEOUT", 60.0),
        gateway_max_connections=_int(env, "QUBITZ_GATEWAY_MAX_CONNECTIONS", 200),
        apigw_calls_per_second=_float(env, "QUBITZ_APIGW_CALLS_PER_SECOND", 5.0),
        apigw_max_attempts=_int(env, "QUBITZ_APIGW_MAX_ATTEMPTS", 6),
        research_web=research_web_settings(env),
        auth_fail_rate_per_minute=_float(env, "QUBITZ_AUTH_FAIL_RATE_PER_MINUTE", 10.0),
        auth_fail_burst=_int(env, "QUBITZ_AUTH_FAIL_BURST", 20),
        revocation_poll_interval=_float(env, "QUBITZ_REVOCATION_POLL_INTERVAL", 0.5),
        metrics_token=env.get("QUBITZ_METRICS_TOKEN") or None,
        workspace_daily_tokens=_int(env, "QUBITZ_WORKSPACE_DAILY_TOKENS", 5_000_000),
        model_proxy_rate_per_minute=_float(env, "QUBITZ_MODEL_PROXY_RATE_PER_MINUTE", 60.0),
        model_proxy_max_concurrent=_int(env, "QUBITZ_MODEL_PROXY_MAX_CONCURRENT", 2),
        model_proxy_shared_slots=_int(env, "QUBITZ_MODEL_PROXY_SHARED_SLOTS", 2),
        model_proxy_max_body_bytes=_int(env, "QUBITZ_MODEL_PROXY_MAX_BODY_BYTES", 1024 * 1024),
        env=env,
    )
    if target == "github_aws" and not settings.github_token:
        raise SettingsError("QUBITZ_DEPLOY_TARGET=github_aws needs QUBITZ_GITHUB_TOKEN")
    if settings.github_collaborator_permission not in ("pull", "triage", "push"):
        raise SettingsError(
            "QUBITZ_GITHUB_COLLABORATOR_PERMISSION must be pull, triage or push, got "
            f"{settings.github_collaborator_permission!r}"
        )
    return settings.with_overrides(**overrides)
