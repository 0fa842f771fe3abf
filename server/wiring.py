"""Builds each endpoint's pipeline from the settings and the lifespan's infrastructure.

Everything here is construction: which adapter serves each port (see DESIGN.md's table of
embedded defaults and production backends). No business logic lives here.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from agents.appkeys.pipelines import (
    create_api_key_pipeline,
    delete_api_key_pipeline,
    revoke_all_for_app,
)
from agents.budget import ChargedRegistry
from agents.chat import ChatConfig, ChatDeps, chat_pipeline
from agents.deploy.pipeline import DeployDeps, deploy_pipeline
from agents.deploy.render import render_repository
from agents.deploy.synth import check_repository
from agents.deploy.targets.base import DeployTarget
from agents.deploy.targets.local import LocalTarget, LocalTargetConfig
from agents.deploy.targets.supervisor import ProcessSupervisor
from agents.llm.config import build_registry
from agents.netsafe import FetchPolicy
from agents.pipeline import Pipeline
from agents.report_loader import ReportSourcePolicy, load_report
from agents.research.config import ResearchLimits
from agents.research.deps import ResearchDeps, default_sources
from agents.research.pipeline import research_pipeline
from agents.research.policy import ContentPolicy, parse_deny_rules
from agents.sources.search.factory import build_backends
from agents.spec.deps import SpecDeps
from agents.spec.generate import getspec_pipeline
from agents.spec.update import updatespec_pipeline
from server.app import Infra
from server.console import console_routes
from server.db.chat import SqlChatSessionStore
from server.db.deployments import SqlDeploymentStore
from server.db.research import ResearchRepository
from server.db.specs import SqlSpecStore
from server.db.token_usage import SqlWorkspaceTokenUsage
from server.gateway.runtime import AppKeysOptions, app_keys_runtime
from server.llm_metrics import InstrumentedRegistry
from server.model_proxy import model_proxy_routes
from server.model_proxy_access import ProxyLimits, ProxyTokens
from server.settings import Settings
from server.storage import LocalArtifactStore, artifact_routes, build_store
from server.storage.secret import artifact_signing_key
from server.toolchain import synth_check_with_hints

ROOT = Path(__file__).resolve().parent.parent


def find_cdk_cli(settings: Settings) -> tuple[str, ...]:
    """QUBITZ_CDK_CLI, else the CLI `make` installs under .cache/cdk, else `cdk` on PATH."""
    if settings.cdk_cli:
        return settings.cdk_cli
    for base in (Path.cwd(), ROOT):
        local = base / ".cache" / "cdk" / "node_modules" / ".bin" / "cdk"
        if local.exists():
            return (str(local.resolve()),)
    found = shutil.which("cdk")
    return (found,) if found else ("cdk",)


def _github_target(settings: Settings) -> DeployTarget:
    import boto3
    from github import Auth, Github

    from agents.deploy.targets.github_aws import GitHubAwsConfig, GitHubAwsTarget

    if not settings.aws_permissions_boundary_arn:
        raise ValueError(
            "QUBITZ_DEPLOY_TARGET=github_aws needs QUBITZ_AWS_PERMISSIONS_BOUNDARY_ARN (each app "
            "gets its own role under it; the shared QUBITZ_AWS_ROLE_ARN is no longer used)"
        )
    github = Github(auth=Auth.Token(settings.github_token or ""), base_url=settings.github_api_url)
    cloudformation = boto3.client(
        "cloudformation", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url
    )
    return GitHubAwsTarget(
        GitHubAwsConfig(
            permissions_boundary_arn=settings.aws_permissions_boundary_arn,
            organization=settings.github_org,
            region=settings.aws_region,
            poll_interval=settings.deploy_poll_seconds,
            collaborator_permission=settings.github_collaborator_permission,
            environment_reviewers=settings.github_environment_reviewers,
            cdk_qualifier=settings.cdk_qualifier,
        ),
        github=github,
        cloudformation=cloudformation,
        iam=boto3.client("iam", endpoint_url=settings.aws_endpoint_url),
    )


@contextlib.asynccontextmanager
async def wire_pipelines(infra: Infra) -> AsyncIterator[dict[str, Pipeline]]:
    s = infra.settings
    assert s.llm is not None
    sessions = infra.sessions
    async with contextlib.AsyncExitStack() as stack:
        model_http = await stack.enter_async_context(httpx.AsyncClient(timeout=None))
        # Fetches of untrusted URLs get their own client (no env proxies, no shared pool).
        fetch_http = await stack.enter_async_context(
            httpx.AsyncClient(trust_env=False, follow_redirects=False)
        )
        # Search APIs are operator-configured endpoints (not user URLs): their own client.
        search_http = await stack.enter_async_context(httpx.AsyncClient(follow_redirects=False))
        providers = build_registry(s.llm, http_client=model_http)
        stack.push_async_callback(providers.aclose)
        # Every call is measured (and traced), and charged to its workspace's daily budget
        # (agents/budget.py).
        registry = ChargedRegistry(
            InstrumentedRegistry(providers, infra.metrics, infra.tracing), infra.budget
        )

        store = build_store(
            "s3" if s.storage == "s3" else "local",
            root=s.data_dir / "artifacts",
            public_base_url=s.resolved_public_url,
            signing_key=artifact_signing_key(s.artifact_url_secret, s.data_dir),
            url_ttl=s.artifact_url_ttl,
            bucket=s.s3_bucket,
            prefix=s.s3_prefix,
            region=s.s3_region,
            endpoint_url=s.s3_endpoint_url,
            url_style=s.s3_url_style,  # type: ignore[arg-type]
            presign_ttl=s.s3_presign_ttl,
        )
        infra.artifacts = store
        if isinstance(store, LocalArtifactStore):
            infra.extra_routes.extend(artifact_routes(store))

        fetch = FetchPolicy(
            allow_private=s.fetch_allow_private,
            max_bytes=s.fetch_max_bytes,
            timeout=s.fetch_timeout,
            max_redirects=s.fetch_max_redirects,
        )
        report_policy = ReportSourcePolicy(allowed_hosts=frozenset(s.report_hosts), fetch=fetch)

        pipelines: dict[str, Pipeline] = {}
        pipelines["research"] = research_pipeline(
            ResearchDeps(
                llms=registry,
                artifacts=store,
                sources=default_sources(
                    registry,
                    http_client=fetch_http,
                    corpus_dir=s.corpus_dir,
                    fetch_policy=fetch,
                    search_backends=build_backends(s.research_web.search, search_http),
                    read_policy=s.research_web.read,
                    site_pages=s.research_web.site_pages,
                    search_results=s.research_web.search.results,
                    read_pages=s.research_web.search.read_pages,
                ),
                projects=ResearchRepository(sessions),
                policy=ContentPolicy.default(
                    extra=parse_deny_rules(s.deny_rules), max_query_chars=s.research_max_query_chars
                ),
                limits=ResearchLimits(
                    concurrency=s.research_concurrency, depths=dict(s.research_web.depths)
                ),
            )
        )
        pipelines["chat"] = chat_pipeline(
            ChatDeps(
                llms=registry,
                sessions=SqlChatSessionStore(sessions),
                artifacts=store,
                http=fetch_http,
                report_sources=report_policy,
                config=ChatConfig(
                    default_token_limit=s.chat_token_limit,
                    max_token_limit=s.chat_max_token_limit,
                    max_output_tokens=s.chat_max_output_tokens,
                    report_max_tokens=s.chat_report_max_tokens,
                    web_search=s.chat_web_search,
                    web_search_max_uses=s.chat_web_search_max_uses,
                    workspace_daily_tokens=s.workspace_daily_tokens or None,
                ),
                daily_usage=SqlWorkspaceTokenUsage(sessions),
            )
        )

        async def report_for_spec(url: str, workspace_id: str) -> str:
            return await load_report(
                url, workspace_id=workspace_id, store=store, client=fetch_http, policy=report_policy
            )

        specs = SqlSpecStore(sessions)
        spec_kw: dict[str, Any] = {}
        if s.spec_allowed_models:
            spec_kw["allowed_models"] = s.spec_allowed_models
        spec_deps = SpecDeps(
            llms=registry,
            store=specs,
            load_report=report_for_spec,
            default_model=s.spec_default_model,
            gateway_provider="local" if s.deploy_target == "local" else "api_gateway",
            max_repairs=s.spec_max_repairs,
            report_char_budget=s.spec_report_chars,
            **spec_kw,
        )
        pipelines["getspec"] = getspec_pipeline(spec_deps)
        pipelines["updatespec"] = updatespec_pipeline(spec_deps)

        deployments = SqlDeploymentStore(sessions)
        quota = s.appkeys_default_quota or None
        keys_rt = await stack.enter_async_context(
            app_keys_runtime(
                sessions=sessions,
                deployments=deployments,
                options=AppKeysOptions(
                    default_rate=s.appkeys_default_rate,
                    default_burst=s.appkeys_default_burst,
                    default_quota=quota,
                    default_quota_period=s.appkeys_default_quota_period,
                    key_cache_seconds=s.gateway_key_cache_seconds,
                    connect_timeout=s.gateway_connect_timeout,
                    upstream_timeout=s.gateway_upstream_timeout,
                    max_connections=s.gateway_max_connections,
                    aws_enabled=s.deploy_target == "github_aws",
                    aws_region=s.aws_region,
                    aws_endpoint_url=s.aws_endpoint_url,
                    apigw_calls_per_second=s.apigw_calls_per_second,
                    apigw_max_attempts=s.apigw_max_attempts,
                ),
                redis=infra.redis,
            )
        )
        infra.extra_routes.extend(keys_rt.gateway.routes())
        pipelines["createapikey"] = create_api_key_pipeline(keys_rt.deps)
        pipelines["deleteapikey"] = delete_api_key_pipeline(keys_rt.deps)

        # Apps on the local target call qubitz's own model unless another endpoint is set.
        model_base, model_token = s.deploy_model_base_url, s.deploy_model_api_key
        model_token_for = None
        if model_base is None:
            proxy_tokens = ProxyTokens()  # one token per app (server/model_proxy_access.py)
            proxy_limits = ProxyLimits(
                rate_per_minute=s.model_proxy_rate_per_minute,
                max_concurrent=s.model_proxy_max_concurrent,
                shared_slots=s.model_proxy_shared_slots,
                max_body_bytes=s.model_proxy_max_body_bytes,
            )
            infra.extra_routes.extend(
                model_proxy_routes(registry, proxy_tokens, limits=proxy_limits)
            )
            model_token, model_token_for = None, proxy_tokens.issue
            model_base = f"{s.resolved_public_url}/v1"
        supervisor = ProcessSupervisor(
            python=sys.executable,
            base_env={"PATH": _env_path(s), "HOME": str(Path.home())},
            health_timeout=s.deploy_health_timeout,
        )
        stack.push_async_callback(supervisor.shutdown)
        local = LocalTarget(
            LocalTargetConfig(
                data_dir=s.data_dir,
                public_url=s.resolved_public_url,
                python=sys.executable,
                model_base_url=model_base,
                model_name=s.deploy_model_name or "qubitz",
                model_api_key=model_token,
                model_api_key_for=model_token_for,
                run_tests=s.deploy_run_tests,
                swap_grace_seconds=s.deploy_swap_grace,
            ),
            router=keys_rt.gateway.router,
            supervisor=supervisor,
            deployments=deployments,
        )
        infra.pruners.append(local.prune_checkouts)  # old revisions' work trees (retention)
        targets: dict[str, DeployTarget] = {"local": local}
        if s.deploy_target == "github_aws":
            targets["github_aws"] = _github_target(s)

        async def on_destroyed(workspace_id: str, project_id: str, _record: Any) -> None:
            await revoke_all_for_app(keys_rt.deps, workspace_id, project_id)

        pipelines["deploy"] = deploy_pipeline(
            DeployDeps(
                specs=specs,
                deployments=deployments,
                targets=targets,
                default_target=s.deploy_target,
                render=render_repository,
                synth_check=synth_check_with_hints(
                    functools.partial(
                        check_repository, cdk_cli=find_cdk_cli(s), timeout=s.deploy_synth_timeout
                    ),
                    cdk_cli=find_cdk_cli(s),
                    path=_env_path(s),
                ),
                work_dir=s.data_dir / "deploy-work",
                region=s.aws_region,
                on_destroyed=on_destroyed,
            )
        )
        infra.extra_routes.extend(console_routes())

        async def restore() -> None:
            await local.restore_apps()

        infra.starters.append(restore)
        yield pipelines


def _env_path(settings: Settings) -> str:
    return settings.env.get("PATH", "/usr/local/bin:/usr/bin:/bin")
