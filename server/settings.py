"""Every environment variable qubitz reads, read once into one frozen object of settings groups.

Each group is declared once, in the package that takes it (docs/architecture.md lists them):

    server    ServerSettings (here)             bind, public URL, logs, WebSocket timeouts,
                                                limits and connect/auth rate limits, /metrics
    database  DatabaseSettings (here)           database URL, Redis Streams event log
    storage   server/storage/settings.py        artifact store (local folder | S3)
    jobs      server/durable/settings.py        durable jobs: caps, queue, failover, retention
    llm       agents/llm/config.py              provider and model per role
    research  agents/research/settings.py       corpus, search APIs, reading, depths
    fetch     agents/fetch_settings.py          outbound fetches of untrusted URLs
    chat      agents/chat/config.py             chat budgets and output
    spec      agents/spec/config.py             spec models and limits
    deploy    agents/deploy/config.py           deploy target, synth check, GitHub + AWS
    gateway   server/gateway/settings.py        app keys, local gateway, model proxy

A field's alias is its variable. Precedence: explicit arguments (CLI flags) > the process
environment > a `.env` file in the working directory; `NAME_FILE=/path` supplies `NAME` from a
file (container secrets) when `NAME` itself is not set. An unset and an empty variable both mean
the default. A value qubitz cannot use raises SettingsError naming the variable (the CLI exits 2).
Nothing else in the code base reads the environment.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import Field, PrivateAttr, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from agents.chat.config import ChatConfig
from agents.deploy.config import DeploySettings
from agents.fetch_settings import FetchSettings
from agents.llm.config import LLMConfig
from agents.research.settings import ResearchSettings
from agents.settings_model import SettingsGroup, describe_errors, env, without_empty
from agents.spec.config import SpecSettings
from server.durable.settings import JobSettings
from server.gateway.settings import GatewaySettings
from server.storage.settings import StorageSettings


class SettingsError(ValueError):
    """An environment variable has a value qubitz cannot use."""


LogLevel = Literal["debug", "info", "warning", "error"]


class ServerSettings(SettingsGroup):
    # Where and how to serve
    host: str = env("QUBITZ_HOST", default="127.0.0.1")
    port: int = env("QUBITZ_PORT", default=8008, ge=0, le=65535)
    data_dir: Path = env("QUBITZ_DATA_DIR", default=Path(".qubitz"))
    public_url: str = env("QUBITZ_PUBLIC_URL", default="")  # derived from host and port if empty
    replica_id: str = Field(
        default_factory=socket.gethostname, validation_alias="QUBITZ_REPLICA_ID"
    )
    # Logging
    log_level: LogLevel = env("QUBITZ_LOG_LEVEL", default="info")
    log_json: bool = env("QUBITZ_LOG_JSON", default=False)
    # Timeouts
    keepalive_interval: float = env("QUBITZ_KEEPALIVE_INTERVAL", default=15.0, gt=0)
    idle_timeout: float = env("QUBITZ_IDLE_TIMEOUT", default=3600.0, gt=0)
    first_message_timeout: float = env("QUBITZ_FIRST_MESSAGE_TIMEOUT", default=30.0, gt=0)
    shutdown_grace: float = env("QUBITZ_SHUTDOWN_GRACE", default=5.0, ge=0)
    # Limits
    max_message_bytes: int = env("QUBITZ_MAX_MESSAGE_BYTES", default=8 * 1024 * 1024, ge=1)
    connect_rate_per_minute: float = env("QUBITZ_CONNECT_RATE_PER_MINUTE", default=60.0, gt=0)
    connect_burst: int = env("QUBITZ_CONNECT_BURST", default=20, ge=1)
    coalesce_window: float = env("QUBITZ_COALESCE_WINDOW", default=0.04, ge=0)
    # Security (docs/security.md)
    auth_fail_rate_per_minute: float = env("QUBITZ_AUTH_FAIL_RATE_PER_MINUTE", default=10.0, gt=0)
    auth_fail_burst: int = env("QUBITZ_AUTH_FAIL_BURST", default=20, ge=1)
    revocation_poll_interval: float = env("QUBITZ_REVOCATION_POLL_INTERVAL", default=0.5, gt=0)
    metrics_token: str | None = env("QUBITZ_METRICS_TOKEN", repr=False)

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class DatabaseSettings(SettingsGroup):
    url: str = env("QUBITZ_DATABASE_URL", default="")  # default: SQLite file in the data dir
    redis_url: str | None = env("QUBITZ_REDIS_URL")  # event log on Redis Streams (replicas)


# The environment a load_settings call reads (the process's, or the mapping it was given).
_ENVIRONMENT: ContextVar[Mapping[str, str] | None] = ContextVar("qubitz_environment", default=None)


class _Environment(PydanticBaseSettingsSource):
    """Hands every group the whole environment; each group picks its variables by alias."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        given = _ENVIRONMENT.get()  # Settings() outside load_settings: as load_settings() would
        values = dict(given) if given is not None else environment(None, Path(".env"))
        return {name: values for name in GROUPS}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    server: ServerSettings
    database: DatabaseSettings
    storage: StorageSettings
    jobs: JobSettings
    llm: LLMConfig
    research: ResearchSettings
    fetch: FetchSettings
    chat: ChatConfig
    spec: SpecSettings
    deploy: DeploySettings
    gateway: GatewaySettings

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _Environment(settings_cls))

    @field_validator("llm", mode="after")
    @classmethod
    def _models_in_the_data_dir(cls, llm: LLMConfig, info: ValidationInfo) -> LLMConfig:
        server = info.data.get("server")
        return llm.model_copy(update={"data_dir": server.data_dir}) if server else llm

    # The variables this object was read from (OTEL_* and other libraries' own variables are
    # passed on from here: server/tracing.py).
    _env: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def env(self) -> Mapping[str, str]:
        return self._env

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    @property
    def resolved_database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'qubitz.db').resolve()}"

    @property
    def resolved_public_url(self) -> str:
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        host = "127.0.0.1" if self.server.host in {"0.0.0.0", "::", ""} else self.server.host
        return f"http://{host}:{self.server.port}"

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with server fields changed (host, port, data_dir…); None leaves one as is."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            return self
        server = ServerSettings.model_validate({**self.server.model_dump(), **changes})
        llm = self.llm.model_copy(update={"data_dir": server.data_dir})
        return self.model_copy(update={"server": server, "llm": llm})


GROUPS: dict[str, type[SettingsGroup]] = {
    name: info.annotation
    for name, info in Settings.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, SettingsGroup)
}


def variables() -> Iterator[str]:
    """Every variable the service reads (docs/configuration.md lists them)."""
    for group in GROUPS.values():
        yield from group.env_names()


def environment(
    env: Mapping[str, str] | None = None, env_file: Path | None = None
) -> dict[str, str]:
    """The variables to read: `env` (default: the process environment) over `env_file`'s, with
    `NAME_FILE` read into `NAME` where `NAME` is not set, and empty values dropped."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if env is None else env)
    values = without_empty(values)
    for name in set(variables()):
        path = values.get(f"{name}_FILE")
        if name in values or path is None:
            continue
        try:
            values[name] = Path(path).read_text().rstrip("\r\n")
        except OSError as exc:
            raise SettingsError(f"{name}_FILE={path!r}: {exc.strerror or exc}") from exc
    return values


def load_settings(
    env: Mapping[str, str] | None = None, *, env_file: Path | None = None, **overrides: Any
) -> Settings:
    """Read the environment once (`env`, else the process environment and `./.env`).
    `overrides` (CLI flags: host, port, data_dir) win over both."""
    if env is None and env_file is None:
        env_file = Path(".env")
    values = environment(env, env_file)
    flags: dict[str, Any] = {}
    for name, value in overrides.items():
        if value is None:
            continue
        alias = ServerSettings.model_fields[name].validation_alias
        flags[alias if isinstance(alias, str) else name] = value
    token = _ENVIRONMENT.set(values)
    try:
        settings = Settings(server=flags) if flags else Settings()
        settings._env = values
        return settings
    except ValidationError as exc:
        raise SettingsError(describe_errors(exc)) from exc
    finally:
        _ENVIRONMENT.reset(token)
