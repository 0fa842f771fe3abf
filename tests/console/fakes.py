"""Endpoint-shaped test pipelines for the JS client and console tests (not product code).

They emit the reference's event shapes in the reference's order, store report files in a real
local artifact store (served at /artifacts by the same server), and keep specs and app keys in
memory per workspace and project. Behaviour is picked by the request, so one server serves
every test: a research prompt containing "fail" ends with PIPELINE_FAILED, "slow" runs until
cancelled, "paced" takes 0.4 s per step (for reloads mid-job), "many:<n>" emits n status events
slowly (for reconnect tests); a chat question containing "limit" ends with TOKEN_LIMIT_EXCEEDED;
a deploy of a project whose id contains "paced" takes 0.5 s per stage.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

from agents.errors import LimitExceeded, NotFound, PipelineFailed
from agents.pipeline import JobContext, Pipeline
from agents.protocol import (
    Ack,
    AckData,
    ApiKeyCreated,
    ApiKeyCreatedData,
    ApiKeyDeleted,
    ApiKeyDeletedData,
    ArchitectureData,
    ArchitectureEvent,
    ChatChunk,
    ChatComplete,
    ChatMetadata,
    ChatResponse,
    ChatStatus,
    ChatTurnUsage,
    Complete,
    DeploymentComplete,
    DeploymentCompleteData,
    DeploymentStarted,
    DeploymentStartedData,
    DeployStatus,
    DeployStatusData,
    Event,
    MultiagentProgress,
    MultiagentStep,
    ResearchChunkData,
    ResearchComplete,
    ResearchStreamChunk,
    S3UploadComplete,
    SessionInfo,
    SessionTokenUsage,
    StatusEvent,
    StreamChunk,
    StreamChunkData,
    StreamEnd,
    StreamEndData,
    StreamStart,
    StreamStartData,
    ToolsUsed,
    UseCase,
    UseCasesComplete,
)
from agents.spec.diff import spec_diff
from agents.spec.schema import AgentConfig, Architecture, Memory, Orchestration
from server.composition import Core, Wired
from server.console import console_routes
from server.storage.local import LocalArtifactStore, artifact_routes

MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
REPORT_MD = """# Deep research: {topic}

## Executive summary

**{company}** can use AI in three areas. See [the source](https://example.com/source) [1].

| Area | Impact |
|---|---|
| Support | High |
| Forecasting | Medium |

- Faster answers
- Lower cost
  - fewer tickets

<img src=x onerror="window.__xss = 1"> and [click](javascript:window.__xss=2)

```
code <b>stays</b> literal
```
"""
STEPS = [
    ("planning", "Planning research questions..."),
    ("research", "Researching sources..."),
    ("writing", "Writing the report..."),
    ("analysis", "Finding AI opportunities..."),
    ("use_cases", "Scoring use cases..."),
    ("render", "Rendering and storing the reports..."),
]
FILES = [
    ("deep_research_markdown", "deep_research.md", "s3_deep_research_report_url"),
    ("deep_research_pdf", "deep_research.pdf", "s3_deep_research_pdf_url"),
    ("AI_discovery_markdown", "ai_discovery.md", "s3_AI_discovery_report_url"),
    ("AI_discovery_pdf", "ai_discovery.pdf", "s3_AI_discovery_pdf_url"),
    ("use_cases_md", "use_cases.md", "s3_use_cases_md_url"),
    ("use_cases_pdf", "use_cases.pdf", "s3_use_cases_pdf_url"),
]


def research(store: LocalArtifactStore, *, step_delay: float = 0.02) -> Pipeline:
    async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        sid = request.session_id
        prompt: str = request.prompt
        if prompt.startswith("many:"):
            for i in range(1, int(prompt[5:]) + 1):
                await asyncio.sleep(0.03)
                yield StatusEvent(message=f"tick {i}", session_id=sid)
            return
        yield StatusEvent(message="Starting multi-agent research system...", session_id=sid)
        if "slow" in prompt:
            yield MultiagentStep(step="planning", message="Planning...", session_id=sid)
            await asyncio.Event().wait()  # until cancelled
        urls: dict[str, str] = {}
        project_id = f"project-{ctx.job_id[-8:]}"
        delay = 0.4 if "paced" in prompt else step_delay
        for index, (step, message) in enumerate(STEPS):
            await asyncio.sleep(delay)
            yield MultiagentStep(step=step, message=message, session_id=sid)
            if "fail" in prompt and step == "research":
                raise PipelineFailed(
                    "Step 'research' failed: no sources found",
                    step="research",
                    code="PIPELINE_FAILED",
                )
            if step == "writing":
                for i, part in enumerate(["The report ", "is being ", "written."]):
                    yield ResearchStreamChunk(
                        data=ResearchChunkData(chunk=part, chunk_index=i, step="writing"),
                        session_id=sid,
                    )
            if step == "render":
                text = REPORT_MD.format(topic=prompt, company=request.company_name)
                for file_type, name, field in FILES:
                    body = text.encode() if name.endswith(".md") else b"%PDF-1.4 test\n"
                    kind = "text/markdown" if name.endswith(".md") else "application/pdf"
                    stored = await store.put(f"{ctx.workspace_id}/{project_id}/{name}", body, kind)
                    urls[field] = stored.url
                    yield S3UploadComplete(file_type=file_type, s3_url=stored.url, session_id=sid)  # type: ignore[arg-type]
            yield MultiagentProgress(
                step=step,
                session_id=sid,
                message=f"{step} done",
                progress_percent=(index + 1) * 100 // len(STEPS),
            )
        use_cases = [
            UseCase(
                id=f"uc_{i}",
                title=title,
                description=f"{title} for {request.company_name}.",
                business_value="Saves time",
                impact_score="High" if i == 1 else "Medium",
                implementation="Agents and a gateway",
                estimated_roi="3x in a year",
                alignment_score="High",
            )
            for i, title in enumerate(["Support triage assistant", "Demand forecasting"], 1)
        ]
        yield UseCasesComplete(use_cases=use_cases, total_use_cases=len(use_cases), session_id=sid)
        yield ResearchComplete(
            project_id=project_id,
            user_id=request.user_id,
            all_s3_urls={k.removeprefix("s3_"): v for k, v in urls.items()},
            session_id=sid,
            **urls,
        )

    return run


def chat() -> Pipeline:
    async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
        sid = request.session_id
        question = request.messages[-1].content
        yield ChatStatus(message="Processing chat request...", session_id=sid)
        if "limit" in question:
            raise LimitExceeded("This session used its 250000 tokens.")
        source = request.s3_report_url or "inline report"
        words = ["The **report** ", "highlights ", "three areas ", f"(from {source})."]
        for word in words:
            await asyncio.sleep(0.01)
            yield ChatChunk(chunk=word, is_final=False, session_id=sid)
        yield ChatChunk(chunk="", is_final=True, session_id=sid)
        turns = len(request.messages)
        usage = ChatTurnUsage(input_tokens=100, output_tokens=20, total_tokens=120)
        yield ChatComplete(
            success=True,
            response=ChatResponse(metadata=ChatMetadata(tools_used=ToolsUsed()), token_usage=usage),
            session_info=SessionInfo(
                user_id=request.user_id,
                session_id=sid,
                message_count=turns + 1,
                token_usage=SessionTokenUsage(
                    input_tokens=100 * turns,
                    output_tokens=20 * turns,
                    total_tokens=120 * turns,
                    limit=request.token_limit,
                    limit_reached=False,
                ),
            ),
        )

    return run


def _agent(name: str, tools: list[str], description: str) -> AgentConfig:
    return AgentConfig(
        name=name,
        description=description,
        model=MODEL,
        prompt=f"You are the {name}.",
        tools=tools,  # type: ignore[arg-type]
        memory=Memory(enabled=True, strategies=["summary"]),
    )


def first_spec() -> Architecture:
    agents = {
        "research_agent": _agent("Research Agent", ["http_fetch"], "Gathers market data"),
        "analysis_agent": _agent("Analysis Agent", ["calculator"], "Analyses the data"),
        "writer_agent": _agent("Writer Agent", [], "Writes the answer"),
    }
    return Architecture(
        agents_config=agents,
        orchestration=Orchestration(
            pattern="pipeline", entry_agent="research_agent", order=list(agents)
        ),
    )


class ControlHub:
    """Specs, deployments and app keys, in memory (per workspace and project)."""

    def __init__(self) -> None:
        self.specs: dict[tuple[str, str], tuple[int, Architecture]] = {}
        self.keys: dict[tuple[str, str], dict[str, str]] = {}

    def _spec_events(self, request: Any, ctx: JobContext, action: str) -> AsyncIterator[Event]:
        async def run() -> AsyncIterator[Event]:
            key = (ctx.workspace_id, request.project_id)
            yield Ack(
                data=AckData(
                    user_id=request.user_id,
                    session_id=request.session_id or ctx.job_id,
                    project_id=request.project_id,
                    action=action,  # type: ignore[arg-type]
                )
            )
            previous = self.specs.get(key)
            if action == "update" and previous is None:
                raise NotFound("No architecture spec found. Generate one first with /getspec.")
            yield StreamStart(
                data=StreamStartData(message="Generating the specification...", model=MODEL)
            )
            parts = ['{"agents_config": ', "{...}", "}"]
            for i, part in enumerate(parts):
                await asyncio.sleep(0.01)
                yield StreamChunk(data=StreamChunkData(chunk=part, chunk_index=i))
            yield StreamEnd(data=StreamEndData(total_chunks=len(parts), completion_time=0.1))
            diff = None
            if previous is None or action == "generate":
                spec = first_spec()
                version = (previous[0] if previous else 0) + 1
            else:
                version, old = previous
                data = old.model_dump(mode="json")
                data["agents_config"]["security_agent"] = _agent(
                    "Security Agent", ["json_query"], "Validates API calls"
                ).model_dump(mode="json")
                data["agents_config"]["analysis_agent"]["tools"] = ["calculator", "current_time"]
                data["orchestration"]["order"].append("security_agent")
                spec = Architecture.model_validate(data)
                diff = spec_diff(old.model_dump(mode="json"), spec.model_dump(mode="json"))
                version += 1
            self.specs[key] = (version, spec)
            yield ArchitectureEvent(
                data=ArchitectureData(
                    user_id=request.user_id,
                    project_id=request.project_id,
                    architecture=spec,
                    status="pending",
                    version=version,
                    diff=diff,
                )
            )

        return run()

    def getspec(self) -> Pipeline:
        return lambda request, ctx: self._spec_events(request, ctx, "generate")

    def updatespec(self) -> Pipeline:
        return lambda request, ctx: self._spec_events(request, ctx, "update")

    def deploy(self) -> Pipeline:
        async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
            if (ctx.workspace_id, request.project_id) not in self.specs:
                raise NotFound(
                    "No architecture spec found. Generate one first with /getspec.",
                    code="no_architecture",
                )
            base = {"user_id": request.user_id, "project_id": request.project_id}
            repo = f"https://github.example/qubitz/{request.project_id}"
            yield DeploymentStarted(
                data=DeploymentStartedData(message="Deployment started.", **base)
            )
            yield DeploymentComplete(
                data=DeploymentCompleteData(
                    status="success",
                    deployment_status="deploying_via_cicd",
                    message="Code pushed. The runner is deploying.",
                    github_repo=repo,
                    **base,
                )
            )
            steps = [(10, "Install"), (40, "Synth"), (65, "Deploy CDK"), (90, "Smoke test")]
            delay = 0.5 if "paced" in request.project_id else 0.05  # for reloads mid-deploy
            for percent, label in steps:
                await asyncio.sleep(delay)
                yield DeployStatus(
                    data=DeployStatusData(
                        status="deploying", message=label, progress_percent=percent
                    )
                )
            yield DeploymentComplete(
                data=DeploymentCompleteData(
                    status="deployed",
                    deployment_status="deployed",
                    message="Deployment successful!",
                    github_repo=repo,
                    agent_endpoint=f"http://127.0.0.1/apps/{request.project_id}/invoke",
                    **base,
                )
            )
            yield Complete()

        return run

    def createapikey(self) -> Pipeline:
        async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
            key_id = "key" + secrets.token_hex(4)
            self.keys.setdefault((ctx.workspace_id, request.project_id), {})[key_id] = "plan1"
            yield ApiKeyCreated(
                data=ApiKeyCreatedData(
                    api_key_value=secrets.token_urlsafe(24),
                    api_key_id=key_id,
                    usage_plan_id="plan1",
                    api_endpoint=f"http://127.0.0.1/apps/{request.project_id}/invoke",
                )
            )

        return run

    def deleteapikey(self) -> Pipeline:
        async def run(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
            keys = self.keys.get((ctx.workspace_id, request.project_id), {})
            if keys.pop(request.api_key_id, None) is None:
                raise NotFound(f"No API key {request.api_key_id!r} in this project.")
            yield ApiKeyDeleted(data=ApiKeyDeletedData(api_key_id=request.api_key_id))

        return run


def console_wiring() -> Callable[[Any], Any]:
    """Wiring for run_server: the fakes above, the console routes and the artifact route."""

    @contextlib.asynccontextmanager
    async def wiring(core: Core) -> AsyncIterator[Wired]:
        store = LocalArtifactStore(
            core.settings.data_dir / "artifacts", core.settings.resolved_public_url
        )
        hub = ControlHub()
        pipelines = {
            "research": research(store),
            "chat": chat(),
            "getspec": hub.getspec(),
            "updatespec": hub.updatespec(),
            "deploy": hub.deploy(),
            "createapikey": hub.createapikey(),
            "deleteapikey": hub.deleteapikey(),
        }
        routes = [*artifact_routes(store), *console_routes()]
        yield Wired(pipelines=pipelines, routes=routes, artifacts=store)

    return wiring
