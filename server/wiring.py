"""Builds each endpoint's pipeline from the settings groups and the lifespan's `Core`.

Everything here is construction: which adapter serves each port (see DESIGN.md's table of
embedded defaults and production backends). No business logic lives here, and no field is
copied from the settings: each group is, or builds, the configuration its package takes.
`wire_pipelines(core)` returns everything the app needs as one frozen `Wired`.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from starlette.routing import BaseRoute

from agents.appkeys.pipelines import (
    create_api_key_pipeline,
    delete_api_key_pipeline,
    revoke_all_for_app,
)
from agents.budget import ChargedRegistry
from agents.chat import ChatDeps, chat_pipeline
from agents.deploy.config import DeploySettings
from agents.deploy.pipeline import DeployDeps, deploy_pipeline
from agents.deploy.render import render_repository
from agents.deploy.synth import check_repository
from agents.deploy.targets.base import DeployTarget
from agents.deploy.targets.local import LocalTarget
from agents.deploy.targets.supervisor import ProcessSupervisor
from agents.llm.registry import build_registry
from agents.pipeline import Pipeline
from agents.report_loader import load_report
from agents.research.deps import ResearchDeps, default_sources
from agents.research.pipeline import research_pipeline
from agents.sources.search.factory import build_backends
from agents.spec.config import SpecCollaborators
from agents.spec.generate import getspec_pipeline
from agents.spec.update import updatespec_pipeline
from server.composition import Core, Wired
from server.console import console_routes
from server.db.chat import SqlChatSessionStore
from server.db.deployments import SqlDeploymentStore
from server.db.research import ResearchRepository
from server.db.specs import SqlSpecStore
from server.db.token_usage import SqlWorkspaceTokenUsage
from server.gateway.runtime import app_keys_runtime
from server.llm_metrics import InstrumentedRegistry
from server.model_proxy import model_proxy_routes
from server.model_proxy_access import ProxyTokens
from server.storage import LocalArtifactStore, artifact_routes
from server.toolchain import synth_check_with_hints

ROOT = Path(__file__).resolve().parent.parent


def find_cdk_cli(deploy: DeploySettings) -> tuple[str, ...]:
    """QUBITZ_CDK_CLI, else the CLI `make` installs under .cache/cdk, else `cdk` on PATH."""
    if deploy.cdk_cli:
        return deploy.cdk_cli
    for base in (Path.cwd(), ROOT):
        local = base / ".cache" / "cdk" / "node_modules" / ".bin" / "cdk"
        if local.exists():
            return (str(local.resolve()),)
    found = shutil.which("cdk")
    return (found,) if found else ("cdk",)


def _github_target(deploy: DeploySettings) -> DeployTarget:
    config = deploy.github_aws_config()  # refuses a missing permissions boundary first
    import boto3
    from github import Auth, Github

    from agents.deploy.targets.github_aws import GitHubAwsTarget

    github = Github(auth=Auth.Token(deploy.github_token or ""), base_url=deploy.github_api_url)
    cloudformation = boto3.client(
        "cloudformation", region_name=deploy.aws_region, endpoint_url=deploy.aws_endpoint_url
    )
    return GitHubAwsTarget(
        config,
        github=github,
        cloudformation=cloudformation,
        iam=boto3.client("iam", endpoint_url=deploy.aws_endpoint_url),
    )


@contextlib.asynccontextmanager
async def wire_pipelines(core: Core) -> AsyncIterator[Wired]:
    s = core.settings
    sessions = core.sessions
    public_url = s.resolved_public_url
    routes: list[BaseRoute] = []
    pruners: list[Callable[[float], Awaitable[list[Path]]]] = []
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
        measured = InstrumentedRegistry(providers, core.metrics, core.tracing)
        registry = ChargedRegistry(measured, core.budget) if core.budget is not None else measured

        store = s.storage.store(data_dir=s.data_dir, public_url=public_url)
        if isinstance(store, LocalArtifactStore):
            routes.extend(artifact_routes(store))

        fetch = s.fetch.policy()
        report_policy = s.fetch.report_policy()
        research = s.research
        search = research.search()

        pipelines: dict[str, Pipeline] = {}
        pipelines["research"] = research_pipeline(
            ResearchDeps(
                llms=registry,
                artifacts=store,
                sources=default_sources(
                    registry,
                    http_client=fetch_http,
                    corpus_dir=research.corpus_dir,
                    fetch_policy=fetch,
                    search_backends=build_backends(search, search_http),
                    read_policy=research.read(),
                    site_pages=research.site_pages,
                    search_results=search.results,
                    read_pages=search.read_pages,
                    host_gate=research.host_gate(core.redis),  # shared by replicas via Redis
                ),
                projects=ResearchRepository(sessions),
                policy=research.content_policy(),
                limits=research.limits(),
            )
        )
        pipelines["chat"] = chat_pipeline(
            ChatDeps(
                llms=registry,
                sessions=SqlChatSessionStore(sessions),
                artifacts=store,
                http=fetch_http,
                report_sources=report_policy,
                config=s.chat,
                daily_usage=SqlWorkspaceTokenUsage(sessions),
            )
        )

        async def report_for_spec(url: str, workspace_id: str) -> str:
            return await load_report(
                url, workspace_id=workspace_id, store=store, client=fetch_http, policy=report_policy
            )

        specs = SqlSpecStore(sessions)
        spec_deps = s.spec.deps(
            SpecCollaborators(llms=registry, store=specs, load_report=report_for_spec),
            gateway_provider="local" if s.deploy.target == "local" else "api_gateway",
        )
        pipelines["getspec"] = getspec_pipeline(spec_deps)
        pipelines["updatespec"] = updatespec_pipeline(spec_deps)

        deploy = s.deploy
        deployments = SqlDeploymentStore(sessions)
        keys_rt = await stack.enter_async_context(
            app_keys_runtime(
                sessions=sessions,
                deployments=deployments,
                options=s.gateway.app_keys(
                    aws_enabled=deploy.target == "github_aws",
                    aws_region=deploy.aws_region,
                    aws_endpoint_url=deploy.aws_endpoint_url,
                ),
                redis=core.redis,
            )
        )
        routes.extend(keys_rt.gateway.routes())
        pipelines["createapikey"] = create_api_key_pipeline(keys_rt.deps)
        pipelines["deleteapikey"] = delete_api_key_pipeline(keys_rt.deps)

        # Apps on the local target call qubitz's own model unless another endpoint is set.
        model_base, model_token_for = deploy.model_base_url, None
        if model_base is None:
            proxy_tokens = ProxyTokens()  # one token per app (server/model_proxy_access.py)
            routes.extend(
                model_proxy_routes(registry, proxy_tokens, limits=s.gateway.proxy_limits())
            )
            model_base, model_token_for = f"{public_url}/v1", proxy_tokens.issue
        supervisor = ProcessSupervisor(
            python=sys.executable,
            base_env={"PATH": deploy.path, "HOME": str(Path.home())},
            health_timeout=deploy.health_timeout,
        )
        stack.push_async_callback(supervisor.shutdown)
        local = LocalTarget(
            deploy.local_target_config(
                data_dir=s.data_dir,
                public_url=public_url,
                python=sys.executable,
                model_base_url=model_base,
                model_api_key_for=model_token_for,
            ),
            router=keys_rt.gateway.router,
            supervisor=supervisor,
            deployments=deployments,
        )
        pruners.append(local.prune_checkouts)  # old revisions' work trees (retention)
        targets: dict[str, DeployTarget] = {"local": local}
        if deploy.target == "github_aws":
            targets["github_aws"] = _github_target(deploy)

        async def on_destroyed(workspace_id: str, project_id: str, _record: Any) -> None:
            await revoke_all_for_app(keys_rt.deps, workspace_id, project_id)

        cdk_cli = find_cdk_cli(deploy)
        pipelines["deploy"] = deploy_pipeline(
            DeployDeps(
                specs=specs,
                deployments=deployments,
                targets=targets,
                default_target=deploy.target,
                render=render_repository,
                synth_check=synth_check_with_hints(
                    functools.partial(
                        check_repository, cdk_cli=cdk_cli, timeout=deploy.synth_timeout
                    ),
                    cdk_cli=cdk_cli,
                    path=deploy.path,
                ),
                work_dir=s.data_dir / "deploy-work",
                region=deploy.aws_region,
                on_destroyed=on_destroyed,
            )
        )
        routes.extend(console_routes())

        async def restore() -> None:
            await local.restore_apps()

        yield Wired(
            pipelines=pipelines,
            routes=routes,
            artifacts=store,
            starters=(restore,),
            pruners=pruners,
        )
