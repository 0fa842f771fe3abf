"""`qubitz doctor`: what is configured for each part, whether it is usable, and how to fix it.

    qubitz doctor [--data-dir DIR] [--json]

Parts: model(s), research sources, database, event log, artifact storage, deploy target (with
Node.js, the AWS CDK CLI and git). Backends are contacted with short timeouts (a `SELECT 1`, a
Redis `PING`, an S3 `HeadBucket`); nothing is changed except that a SQLite file or the data dir
may be created. `qubitz serve` logs the same summary when it starts.
Exit code: 0 when every configured part is usable, 1 when one is not, 2 on a configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from server.settings import Settings

TIMEOUT = 3.0


@dataclass(frozen=True)
class Check:
    part: str  # model | sources | database | event log | storage | deploy
    what: str  # what is configured
    ok: bool
    detail: str
    fix: str | None = None  # the command (or setting) that fixes it
    required: bool = True  # False: a missing optional capability (a warning)


def without_credentials(url: str) -> str:
    """The URL without user and password (they never reach the output)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    return f"{scheme}://{rest.rpartition('@')[2]}"


def _model_fix(provider: str, model: str) -> str:
    return {
        "local": 'pip install -e ".[local-light]"'
        if model.startswith("light")
        else 'pip install -e ".[local]"',
        "anthropic": "export ANTHROPIC_API_KEY=sk-ant-…",
        "bedrock": "configure AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY) and QUBITZ_BEDROCK_REGION",
        "openai": "export QUBITZ_OPENAI_BASE_URL=http://host:port/v1",
    }.get(provider, "see docs/llm.md")


def model_checks(settings: Settings) -> list[Check]:
    from agents.llm.registry import describe_models

    return [
        Check(
            "model",
            f"{s.provider} {s.model} ({', '.join(s.roles)})",
            s.usable,
            s.reason,
            None if s.usable else _model_fix(s.provider, s.model),
        )
        for s in describe_models(settings.llm)
    ]


def source_checks(settings: Settings) -> list[Check]:
    from agents.llm.port import Role
    from agents.sources.corpus import SAMPLE_CORPUS_DIR

    out = [Check("sources", "fetch of given URLs and the company site", True, "built in")]
    corpus = settings.research.corpus_dir
    if corpus is None:
        count = sum(1 for p in SAMPLE_CORPUS_DIR.iterdir() if p.is_file())
        out.append(Check("sources", "document corpus (bundled sample)", True, f"{count} files"))
    elif corpus.is_dir():
        count = sum(1 for p in corpus.rglob("*") if p.is_file())
        out.append(
            Check(
                "sources",
                f"document corpus {corpus}",
                count > 0,
                f"{count} files",
                None if count else f"put .md/.txt/.html/.pdf files in {corpus}",
            )
        )
    else:
        out.append(
            Check(
                "sources",
                f"document corpus {corpus}",
                False,
                "no such folder",
                f"mkdir -p {corpus} (and add documents) or unset QUBITZ_CORPUS_DIR",
            )
        )
    researcher = settings.llm.for_role(Role.RESEARCHER).provider
    web = researcher == "anthropic"
    out.append(
        Check(
            "sources",
            "web search through the model",
            web,
            f"the researcher model is {researcher}"
            + ("" if web else ": no web search (the corpus and given URLs are used)"),
            None if web else "export ANTHROPIC_API_KEY=… to search the web through the model",
            required=False,
        )
    )
    return out


async def search_checks(settings: Settings) -> list[Check]:
    """The configured search APIs: SearXNG is asked (GET its URL); Tavily and Brave are hosted
    services with a key, which is checked to be set (no call is spent on them)."""
    import httpx

    search = settings.research.search()
    if not search.providers:
        return [
            Check(
                "sources",
                "web search API",
                False,
                "none configured (QUBITZ_SEARCH_PROVIDER)",
                "export QUBITZ_SEARCH_PROVIDER=searxng QUBITZ_SEARXNG_URL=http://host:8080 "
                "(or tavily / brave with TAVILY_API_KEY / BRAVE_API_KEY)",
                required=False,
            )
        ]
    out = []
    for name in search.providers:
        if name == "searxng":

            async def ask(url: str = search.searxng_url) -> None:
                async with httpx.AsyncClient(timeout=TIMEOUT, trust_env=False) as client:
                    response = await client.get(url)
                    if response.status_code >= 500:
                        raise RuntimeError(f"HTTP {response.status_code}")

            problem = await _timed(ask)
            out.append(
                Check(
                    "sources",
                    f"SearXNG {search.searxng_url}",
                    problem is None,
                    problem or "answers",
                    None if problem is None else "start SearXNG there, or fix QUBITZ_SEARXNG_URL",
                )
            )
        else:
            key = search.tavily_api_key if name == "tavily" else search.brave_api_key
            var = "TAVILY_API_KEY" if name == "tavily" else "BRAVE_API_KEY"
            out.append(
                Check(
                    "sources",
                    f"{name} search API",
                    bool(key),
                    "API key set" if key else f"{var} is not set",
                    None if key else f"export {var}=…",
                )
            )
    return out


async def _timed(what: Callable[[], Awaitable[Any]]) -> str | None:
    """None when `what` succeeds within TIMEOUT, else the reason."""
    try:
        await asyncio.wait_for(what(), TIMEOUT)
    except TimeoutError:
        return f"no answer within {TIMEOUT:g} s"
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return None


def _extra_missing(part: str, what: str, extra: Any) -> Check | None:
    """A failed check naming the install command when `extra` (server.extras) is missing."""
    missing = extra.missing()
    if not missing:
        return None
    detail = f"the [{extra.name}] extra is not installed ({', '.join(missing)} missing)"
    return Check(part, what, False, detail, extra.pip)


async def database_check(settings: Settings) -> Check:
    from sqlalchemy import text

    from server.db.base import make_engine
    from server.extras import POSTGRES

    url = settings.resolved_database_url
    shown = without_credentials(url)
    if url.startswith("postgresql+asyncpg") and (
        absent := _extra_missing("database", f"PostgreSQL {shown}", POSTGRES)
    ):
        return absent
    engine = make_engine(url)

    async def ping() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        if url.startswith("sqlite"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        problem = await _timed(ping)
    finally:
        await engine.dispose()
    kind = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    fix = None
    if problem:
        fix = (
            f"make {settings.data_dir} writable, or set QUBITZ_DATABASE_URL"
            if kind == "SQLite"
            else "start PostgreSQL there (docker compose up -d postgres) or fix QUBITZ_DATABASE_URL"
        )
    return Check("database", f"{kind} {shown}", problem is None, problem or "answers", fix)


async def event_log_check(settings: Settings) -> Check:
    if not settings.database.redis_url:
        return Check(
            "event log",
            "in process (+ database)",
            True,
            "one replica; set QUBITZ_REDIS_URL to run several",
        )
    from server.extras import REDIS

    shown = without_credentials(settings.database.redis_url)
    if absent := _extra_missing("event log", f"Redis Streams {shown}", REDIS):
        return absent
    import redis.asyncio as aioredis

    client = aioredis.from_url(settings.database.redis_url, socket_connect_timeout=TIMEOUT)
    try:
        problem = await _timed(client.ping)
    finally:
        await client.aclose()
    return Check(
        "event log",
        f"Redis Streams {shown}",
        problem is None,
        problem or "PING answered",
        None
        if problem is None
        else "start Redis there (docker compose up -d redis), or fix QUBITZ_REDIS_URL",
    )


async def storage_check(settings: Settings) -> Check:
    if settings.storage.kind != "s3":
        root = settings.data_dir / "artifacts"
        try:
            root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=root):
                pass
        except OSError as exc:
            return Check(
                "storage",
                f"local folder {root}",
                False,
                str(exc),
                f"make {root} writable or set QUBITZ_DATA_DIR",
            )
        return Check("storage", f"local folder {root}", True, "writable; served at /artifacts")
    from server.extras import AWS

    if absent := _extra_missing("storage", f"s3://{settings.storage.s3_bucket}", AWS):
        return absent
    bucket = settings.storage.s3_bucket
    import boto3
    from botocore.config import Config

    def head() -> None:
        client = boto3.client(
            "s3",
            region_name=settings.storage.s3_region,
            endpoint_url=settings.storage.s3_endpoint_url,
            config=Config(
                connect_timeout=TIMEOUT, read_timeout=TIMEOUT, retries={"max_attempts": 1}
            ),
        )
        client.head_bucket(Bucket=settings.storage.s3_bucket or "")

    problem = await _timed(lambda: asyncio.to_thread(head))
    where = f"s3://{settings.storage.s3_bucket}" + (
        f" at {settings.storage.s3_endpoint_url}" if settings.storage.s3_endpoint_url else ""
    )
    endpoint = (
        f" --endpoint-url {settings.storage.s3_endpoint_url}"
        if settings.storage.s3_endpoint_url
        else ""
    )
    return Check(
        "storage",
        where,
        problem is None,
        problem or "bucket reachable",
        None
        if problem is None
        else f"aws s3 mb s3://{bucket}{endpoint} (and check the AWS credentials)",
    )


def deploy_checks(settings: Settings) -> list[Check]:
    from server import toolchain
    from server.wiring import find_cdk_cli

    path = settings.deploy.path  # the PATH deploys run with
    target = settings.deploy.target
    out: list[Check] = []
    if target == "github_aws":
        from server.extras import AWS, DEPLOY

        for extra in (DEPLOY, AWS):
            if absent := _extra_missing("deploy", f"github_aws: qubitz[{extra.name}]", extra):
                out.append(absent)
        for name, value in (
            ("QUBITZ_GITHUB_TOKEN", settings.deploy.github_token),
            ("QUBITZ_AWS_PERMISSIONS_BOUNDARY_ARN", settings.deploy.aws_permissions_boundary_arn),
        ):
            out.append(
                Check(
                    "deploy",
                    f"github_aws: {name}",
                    bool(value),
                    "set" if value else "not set",
                    None if value else f"export {name}=…",
                )
            )
    tools = [
        toolchain.cdk_library(),
        toolchain.node(path),
        toolchain.cdk(find_cdk_cli(settings.deploy), path),
    ]
    if target == "local":
        tools.append(toolchain.git(path))
    for tool in tools:
        detail = tool.problem or " ".join(x for x in (tool.version, tool.path) if x)
        out.append(
            Check("deploy", f"{target}: {tool.name}", tool.problem is None, detail, tool.fix)
        )
    return out


async def run_checks(settings: Settings) -> list[Check]:
    checks = model_checks(settings) + source_checks(settings) + await search_checks(settings)
    checks += list(
        await asyncio.gather(
            database_check(settings), event_log_check(settings), storage_check(settings)
        )
    )
    checks += await asyncio.to_thread(deploy_checks, settings)
    return checks


def render(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        mark = "ok  " if c.ok else ("FAIL" if c.required else "warn")
        lines.append(f"{mark} {c.part:9} {c.what}: {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"     {'':9} fix: {c.fix}")
    return "\n".join(lines)


def healthy(checks: list[Check]) -> bool:
    return all(c.ok or not c.required for c in checks)


def cmd_doctor(args: argparse.Namespace) -> int:
    from server.settings import SettingsError, load_settings

    try:
        settings = load_settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    except SettingsError as exc:
        print(f"qubitz: configuration error: {exc}", file=sys.stderr)
        return 2
    checks = asyncio.run(run_checks(settings))
    if args.json:
        print(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        print(f"qubitz doctor (data dir {Path(settings.data_dir).resolve()})")
        print(render(checks))
    return 0 if healthy(checks) else 1


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("doctor", help="check what is configured and whether it is usable")
    p.add_argument("--data-dir", dest="data_dir", default=None, help="data directory")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_doctor)
