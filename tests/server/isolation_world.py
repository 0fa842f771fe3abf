"""The world of the isolation suite: the production pipelines behind a real server, scripted
models only (research, chat, specs, deploy, app keys, local gateway, artifact route)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from agents.appkeys.pipelines import create_api_key_pipeline, delete_api_key_pipeline
from agents.chat import ChatDeps, chat_pipeline
from agents.deploy.pipeline import DeployDeps, deploy_pipeline
from agents.deploy.render import render_repository
from agents.deploy.targets.base import DeploymentRecord
from agents.deploy.targets.local import LocalTarget, LocalTargetConfig
from agents.deploy.targets.supervisor import ProcessSupervisor
from agents.llm.port import StaticRegistry
from agents.report_loader import ReportSourcePolicy, load_report
from agents.research.deps import ResearchDeps
from agents.research.pipeline import research_pipeline
from agents.sources.corpus import CorpusProvider
from agents.spec.deps import SpecDeps
from agents.spec.generate import getspec_pipeline
from agents.spec.update import updatespec_pipeline
from server.composition import Core, Wired
from server.db.chat import SqlChatSessionStore
from server.db.deployments import SqlDeploymentStore
from server.db.research import ResearchRepository
from server.db.specs import SqlSpecStore
from server.gateway.runtime import AppKeysOptions, app_keys_runtime
from server.storage import LocalArtifactStore, artifact_routes
from tests.research.support import fake_pdf, scripted_models
from tests.spec.helpers import design
from tests.support.scripted_llm import Reply, ScriptedLLM


class World:
    """What a test needs to reach behind the sockets: the stores and the gateway."""

    deployments: SqlDeploymentStore
    router: Any

    async def deploy_app(
        self, workspace_id: str, project_id: str, app_id: str, upstream: str, public: str
    ) -> None:
        """A deployed local app, as the local target leaves it (route + deployment record)."""
        await self.router.register(app_id, upstream, workspace_id, project_id)
        await self.deployments.save(
            DeploymentRecord(
                workspace_id=workspace_id,
                project_id=project_id,
                app_id=app_id,
                target="local",
                status="deployed",
                endpoint=f"{public}/apps/{app_id}/invoke",
            )
        )


def world_wiring(world: World) -> Any:
    @contextlib.asynccontextmanager
    async def wire(core: Core) -> AsyncIterator[Wired]:
        s = core.settings
        sessions = core.sessions
        store = LocalArtifactStore(s.data_dir / "artifacts", s.resolved_public_url)
        routes = list(artifact_routes(store))
        async with contextlib.AsyncExitStack() as stack:
            http = await stack.enter_async_context(httpx.AsyncClient(trust_env=False))
            policy = ReportSourcePolicy()

            async def report_for_spec(url: str, workspace_id: str) -> str:
                return await load_report(
                    url, workspace_id=workspace_id, store=store, client=http, policy=policy
                )

            specs = SqlSpecStore(sessions)
            spec_llm = ScriptedLLM(fallback=Reply(text="Two agents."))
            for _ in range(4):
                spec_llm.enqueue("Two agents.", design("research_agent", "analysis_agent"))
            spec_deps = SpecDeps(
                llms=StaticRegistry(default=spec_llm), store=specs, load_report=report_for_spec
            )
            deployments = SqlDeploymentStore(sessions)
            world.deployments = deployments
            keys_rt = await stack.enter_async_context(
                app_keys_runtime(
                    sessions=sessions, deployments=deployments, options=AppKeysOptions()
                )
            )
            world.router = keys_rt.gateway.router
            routes.extend(keys_rt.gateway.routes())
            supervisor = ProcessSupervisor(python=sys.executable, base_env={})
            local = LocalTarget(
                LocalTargetConfig(
                    data_dir=s.data_dir,
                    public_url=s.resolved_public_url,
                    python=sys.executable,
                    model_base_url="http://127.0.0.1:9/v1",
                    model_name="m",
                    model_api_key="t",
                    run_tests=False,
                ),
                router=keys_rt.gateway.router,
                supervisor=supervisor,
                deployments=deployments,
            )

            async def no_synth(repo_dir: Path, *, on_step: Any = None) -> None:
                raise AssertionError("the isolation suite never synthesises")

            yield Wired(
                pipelines={
                    "research": research_pipeline(
                        ResearchDeps(
                            llms=scripted_models().registry(),
                            artifacts=store,
                            sources=[CorpusProvider(None)],
                            projects=ResearchRepository(sessions),
                            render_pdf=fake_pdf,
                        )
                    ),
                    "chat": chat_pipeline(
                        ChatDeps(
                            llms=StaticRegistry(
                                default=ScriptedLLM(fallback=Reply(text="Answer."))
                            ),
                            sessions=SqlChatSessionStore(sessions),
                            artifacts=store,
                            http=http,
                        )
                    ),
                    "getspec": getspec_pipeline(spec_deps),
                    "updatespec": updatespec_pipeline(spec_deps),
                    "deploy": deploy_pipeline(
                        DeployDeps(
                            specs=specs,
                            deployments=deployments,
                            targets={"local": local},
                            default_target="local",
                            render=render_repository,
                            synth_check=no_synth,
                            work_dir=s.data_dir / "deploy-work",
                        )
                    ),
                    "createapikey": create_api_key_pipeline(keys_rt.deps),
                    "deleteapikey": delete_api_key_pipeline(keys_rt.deps),
                },
                routes=routes,
            )

    return wire
