"""Which install extra each configured backend needs, checked before anything is built.

`pip install qubitz` serves every endpoint on SQLite with a hosted or OpenAI-compatible model;
each production backend lives in an extra (pyproject.toml). The modules of an extra are imported
only by the adapter that needs them, so a missing extra shows up here, at startup, as one
configuration error naming the variable and the extra (exit 2), never as an ImportError
traceback from deep inside the lifespan.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from agents.llm.port import Role
from server.settings import Settings, SettingsError


@dataclass(frozen=True)
class Extra:
    name: str
    modules: tuple[str, ...]  # importable names the extra provides

    def missing(self) -> tuple[str, ...]:
        return tuple(m for m in self.modules if importlib.util.find_spec(m) is None)

    @property
    def pip(self) -> str:
        return f'pip install "qubitz[{self.name}]"'


POSTGRES = Extra("postgres", ("asyncpg",))
REDIS = Extra("redis", ("redis",))
AWS = Extra("aws", ("boto3", "botocore"))
DEPLOY = Extra("deploy", ("aws_cdk", "constructs", "cdk_nag", "github"))
LOCAL = Extra("local", ("llama_cpp",))


def wanted(settings: Settings) -> list[tuple[str, Extra]]:
    """(the setting that asks for it, the extra) for every configured backend."""
    wants: list[tuple[str, Extra]] = []
    url = settings.resolved_database_url
    if url.startswith("postgresql+asyncpg"):
        wants.append(("QUBITZ_DATABASE_URL=postgresql+asyncpg://…", POSTGRES))
    if settings.database.redis_url:
        wants.append(("QUBITZ_REDIS_URL", REDIS))
    if settings.storage.kind == "s3":
        wants.append(("QUBITZ_S3_BUCKET (artifacts on S3)", AWS))
    if settings.llm is not None and any(
        settings.llm.for_role(role).provider == "bedrock" for role in Role
    ):
        wants.append(("QUBITZ_LLM=bedrock", AWS))
    if settings.deploy.target == "github_aws":
        wants.append(("QUBITZ_DEPLOY_TARGET=github_aws", DEPLOY))
        wants.append(("QUBITZ_DEPLOY_TARGET=github_aws", AWS))
    return wants


def problems(settings: Settings) -> list[str]:
    """One sentence per configured backend whose extra is not installed."""
    found: list[str] = []
    for setting, extra in wanted(settings):
        missing = extra.missing()
        if missing:
            found.append(
                f"{setting} needs the [{extra.name}] extra ({', '.join(missing)} not "
                f"installed): {extra.pip}"
            )
    return found


def require_extras(settings: Settings) -> None:
    """Raise SettingsError (the CLI exits 2) when a configured backend's extra is missing."""
    found = problems(settings)
    if found:
        raise SettingsError("; ".join(found))
